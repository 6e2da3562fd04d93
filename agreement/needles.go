package agreement

import (
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Needles says what an event's stored JSON text must contain for an engagement rule's
// `when` to hold, so that a rescore can ask the database for the few events a page rule
// may fire on instead of reading every page view: whenever the expression holds, the
// text of the event's Root ("properties" or "context") contains one of Any, or a
// backslash (a client may escape any character of a JSON string).
type Needles struct {
	Root string
	Any  []string
}

// Needles returns the expression's needles, or false when it has none: when it can hold
// with no particular text in the event, such as a comparison of numbers or a negation.
func (e *Expr) Needles() (Needles, bool) {
	if e == nil || e.needles == nil {
		return Needles{}, false
	}
	return *e.needles, true
}

// needlesOf finds needles in an expression's parsed tree: a string property compared
// with a literal (==, startsWith, endsWith, contains, in a list of literals), either
// side of an `and`, or both sides of an `or` over the same root.
func needlesOf(node ast.Node) *Needles {
	switch n := node.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "and", "&&":
			if l := needlesOf(n.Left); l != nil {
				return l
			}
			return needlesOf(n.Right)
		case "or", "||":
			l, r := needlesOf(n.Left), needlesOf(n.Right)
			if l == nil || r == nil || l.Root != r.Root {
				return nil
			}
			return &Needles{Root: l.Root, Any: append(append([]string{}, l.Any...), r.Any...)}
		case "==", "startsWith", "endsWith", "contains":
			root, lit := textRoot(n.Left), n.Right
			if n.Operator == "==" && root == "" {
				root, lit = textRoot(n.Right), n.Left
			}
			if s, ok := lit.(*ast.StringNode); ok && root != "" && verbatim(s.Value) {
				return &Needles{Root: root, Any: []string{s.Value}}
			}
		case "in":
			root, list := textRoot(n.Left), n.Right
			a, ok := list.(*ast.ArrayNode)
			if root == "" || !ok || len(a.Nodes) == 0 {
				return nil
			}
			out := &Needles{Root: root}
			for _, item := range a.Nodes {
				s, ok := item.(*ast.StringNode)
				if !ok || !verbatim(s.Value) {
					return nil
				}
				out.Any = append(out.Any, s.Value)
			}
			return out
		}
	}
	return nil
}

// textRoot returns "properties" or "context" if node reads a member of one of them,
// such as properties.path or context.page.url, and "" otherwise.
func textRoot(node ast.Node) string {
	if c, ok := node.(*ast.ChainNode); ok {
		node = c.Node
	}
	m, ok := node.(*ast.MemberNode)
	if !ok {
		return ""
	}
	for {
		switch {
		case isName(m.Node, "properties"):
			return "properties"
		case isName(m.Node, "context"):
			return "context"
		}
		inner, ok := m.Node.(*ast.MemberNode)
		if !ok {
			return ""
		}
		m = inner
	}
}

// verbatim reports whether a string literal appears as itself in any JSON text that
// holds it unescaped: it is not empty, and has no quote, backslash or control
// character, which JSON must escape.
func verbatim(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r == '"' || r == '\\' || r < 0x20 })
}
