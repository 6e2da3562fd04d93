package agreement

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	exprparser "github.com/expr-lang/expr/parser"
	"go.yaml.in/yaml/v3"
)

const (
	// maxExprBytes and maxExprNodes keep one rule from costing much to compile or run;
	// real rules are a line or two.
	maxExprBytes = 2000
	maxExprNodes = 500
)

// env is one of the environments rules are compiled against.
type env struct {
	zero any
	// fields are the top-level names of zero, for finding which of them a rule reads.
	fields map[string]bool
}

var (
	eventEnv   = newEnv(Event{})
	profileEnv = newEnv(Profile{})
	factsEnv   = newEnv(Facts{})
)

func newEnv(zero any) env {
	fields := make(map[string]bool)
	t := reflect.TypeOf(zero)
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("expr")
		if name == "" {
			name = t.Field(i).Name
		}
		fields[name] = true
	}
	return env{zero: zero, fields: fields}
}

// expr compiles the expression in n against env. It reports problems at their place
// in the document and returns nil, or the expression with its parsed tree.
func (p *parser) expr(s at, n *yaml.Node, env env) (*Expr, exprTree) {
	n = deref(n)
	v, ok := p.str(s, n)
	if !ok {
		return nil, exprTree{}
	}
	// A block scalar ends in a line break that is no part of the rule; trimming the end
	// keeps offsets into the value valid.
	src := strings.TrimRight(v, " \t\r\n")
	if src == "" {
		p.errorf(s, n, "want an expression, got an empty string")
		return nil, exprTree{}
	}
	e, tree, eerr := compile(src, env)
	if eerr != nil {
		p.report(s, p.src.offsetPos(n, eerr.offset), eerr.message)
		return nil, exprTree{}
	}
	start := p.src.offsetPos(n, 0)
	e.Line, e.Column = start.line, start.column
	return e, exprTree{node: tree, scalar: n}
}

// checkStages reports each string an expression compares the current stage with that
// is not a stage key.
func (p *parser) checkStages(s at, t exprTree) {
	if t.node == nil {
		return
	}
	for _, lit := range stageLiterals(t.node) {
		if !slices.Contains(p.stageKeys, lit.Value) {
			p.report(s, p.src.offsetPos(t.scalar, lit.Location().From),
				fmt.Sprintf("unknown stage %q%s", lit.Value, oneOf(p.stageKeys)))
		}
	}
}

// exprTree is a compiled expression's parsed tree and the scalar it was written in.
type exprTree struct {
	node   ast.Node
	scalar *yaml.Node
}

// exprError is a problem in an expression at a rune offset of its source.
type exprError struct {
	offset  int
	message string
}

// compile compiles src against env and returns it with its parsed tree, whose nodes
// still carry the positions expr's optimizer may fold away.
func compile(src string, env env) (*Expr, ast.Node, *exprError) {
	if len(src) > maxExprBytes {
		return nil, nil, &exprError{0, fmt.Sprintf("expression is longer than %d bytes", maxExprBytes)}
	}
	program, err := expr.Compile(src, expr.Env(env.zero), expr.AsBool(), expr.MaxNodes(maxExprNodes))
	if err != nil {
		return nil, nil, toExprError(src, err)
	}
	tree, err := exprparser.Parse(src)
	if err != nil {
		// Cannot happen: expr.Compile parsed the same source.
		return nil, nil, toExprError(src, err)
	}
	e := &Expr{Source: src, program: program, roots: roots(tree.Node, env.fields), needles: needlesOf(tree.Node)}
	return e, tree.Node, nil
}

// toExprError finds where in src expr placed an error. expr's Line is 1-based and its
// Column 0-based, both counting characters; an error without a place (such as a rule
// that is not a boolean) is put at the start.
func toExprError(src string, err error) *exprError {
	var fe *file.Error
	if !errors.As(err, &fe) {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return &exprError{0, msg}
	}
	off := fe.From
	if fe.Line > 0 {
		off = 0
		for i, line := range strings.SplitAfter(src, "\n") {
			if i == fe.Line-1 {
				off += fe.Column
				break
			}
			off += len([]rune(line))
		}
	}
	msg, _, _ := strings.Cut(fe.Message, "\n")
	return &exprError{off, msg}
}

// roots returns the top-level names of the environment that node reads. Reading the
// environment as a whole through $env counts as reading every name.
func roots(node ast.Node, fields map[string]bool) map[string]bool {
	v := &rootVisitor{fields: fields, roots: make(map[string]bool)}
	ast.Walk(&node, v)
	if v.envs > v.envFields {
		for f := range fields {
			v.roots[f] = true
		}
	}
	return v.roots
}

type rootVisitor struct {
	fields map[string]bool
	roots  map[string]bool
	// envs counts uses of $env and envFields those that name a field, as $env.score.
	envs, envFields int
}

func (v *rootVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if n.Value == "$env" {
			v.envs++
		} else if v.fields[n.Value] {
			v.roots[n.Value] = true
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "$env" {
			return
		}
		if s, ok := n.Property.(*ast.StringNode); ok {
			v.envFields++
			if v.fields[s.Value] {
				v.roots[s.Value] = true
			}
		}
	}
}

// isName reports whether node reads the top-level name, directly or through $env.
func isName(node ast.Node, name string) bool {
	switch n := node.(type) {
	case *ast.IdentifierNode:
		return n.Value == name
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		s, isString := n.Property.(*ast.StringNode)
		return ok && id.Value == "$env" && isString && s.Value == name
	}
	return false
}

// stageLiterals returns the string literals that node compares the current stage
// with, as in stage == "mql" or stage in ["mql", "sal"], so that a misspelt stage
// key is caught on save rather than making a rule silently never hold.
func stageLiterals(node ast.Node) []*ast.StringNode {
	var lits []*ast.StringNode
	ast.Walk(&node, visitor(func(n ast.Node) {
		b, ok := n.(*ast.BinaryNode)
		if !ok {
			return
		}
		var other ast.Node
		switch {
		case isName(b.Left, "stage"):
			other = b.Right
		case isName(b.Right, "stage") && (b.Operator == "==" || b.Operator == "!="):
			other = b.Left
		default:
			return
		}
		switch b.Operator {
		case "==", "!=":
			if s, ok := other.(*ast.StringNode); ok {
				lits = append(lits, s)
			}
		case "in":
			if a, ok := other.(*ast.ArrayNode); ok {
				for _, item := range a.Nodes {
					if s, ok := item.(*ast.StringNode); ok {
						lits = append(lits, s)
					}
				}
			}
		}
	}))
	return lits
}

// engagementBelow finds the engagement bound of a detour rule: the N of a top-level
// conjunct score.engagement < N (or <= N, or N > score.engagement). With several, the
// lowest wins, since all must hold. It returns 0 when the rule has no such conjunct.
func engagementBelow(node ast.Node) float64 {
	var bound float64
	found := false
	for _, c := range conjuncts(node) {
		b, ok := c.(*ast.BinaryNode)
		if !ok {
			continue
		}
		var n float64
		var isNum bool
		switch b.Operator {
		case "<", "<=":
			if isScoreEngagement(b.Left) {
				n, isNum = number(b.Right)
			}
		case ">", ">=":
			if isScoreEngagement(b.Right) {
				n, isNum = number(b.Left)
			}
		}
		if isNum && (!found || n < bound) {
			bound, found = n, true
		}
	}
	return bound
}

// enterFrom finds, among the top-level conjuncts of a detour's rule, one that names the
// stages the rule applies from: stage == "k" or stage in ["k", ...]. Nil if none.
func enterFrom(node ast.Node) []string {
	for _, c := range conjuncts(node) {
		b, ok := c.(*ast.BinaryNode)
		if !ok || !isName(b.Left, "stage") {
			continue
		}
		switch b.Operator {
		case "==":
			if s, ok := b.Right.(*ast.StringNode); ok {
				return []string{s.Value}
			}
		case "in":
			arr, ok := b.Right.(*ast.ArrayNode)
			if !ok {
				continue
			}
			var keys []string
			for _, n := range arr.Nodes {
				s, ok := n.(*ast.StringNode)
				if !ok {
					keys = nil
					break
				}
				keys = append(keys, s.Value)
			}
			if keys != nil {
				return keys
			}
		}
	}
	return nil
}

// conjuncts splits node at its top-level chain of && (or "and").
func conjuncts(node ast.Node) []ast.Node {
	if b, ok := node.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		return append(conjuncts(b.Left), conjuncts(b.Right)...)
	}
	return []ast.Node{node}
}

func isScoreEngagement(node ast.Node) bool {
	m, ok := node.(*ast.MemberNode)
	if !ok || m.Optional || !isName(m.Node, "score") {
		return false
	}
	s, ok := m.Property.(*ast.StringNode)
	return ok && s.Value == "engagement"
}

// number returns the value of a numeric literal, possibly negated.
func number(node ast.Node) (float64, bool) {
	switch n := node.(type) {
	case *ast.IntegerNode:
		return float64(n.Value), true
	case *ast.FloatNode:
		return n.Value, true
	case *ast.UnaryNode:
		if v, ok := number(n.Node); ok && n.Operator == "-" {
			return -v, true
		}
	}
	return 0, false
}

// visitor adapts a function to ast.Visitor.
type visitor func(ast.Node)

func (f visitor) Visit(node *ast.Node) { f(*node) }
