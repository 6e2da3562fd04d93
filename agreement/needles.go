package agreement

import (
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// Needles says what an event's stored JSON text must contain for an engagement rule's
// `when` to hold, so that a rescore can ask the database for the few events a page rule
// may fire on instead of reading every page view: whenever the expression holds, the
// text of the event's Root ("properties" or "context") contains one of Any, or a
// backslash (a client may escape any character of a JSON string). When Path is set,
// the member of Root at Path (["path"] for properties.path) is a string that contains
// one of Any: a store that keeps the JSON decoded can look there alone.
type Needles struct {
	Root string
	Path []string
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
			out := &Needles{Root: l.Root, Any: append(append([]string{}, l.Any...), r.Any...)}
			if slices.Equal(l.Path, r.Path) {
				out.Path = l.Path
			}
			return out
		case "==", "startsWith", "endsWith", "contains":
			side, lit := n.Left, n.Right
			root, path := textRoot(side)
			if n.Operator == "==" && root == "" {
				side, lit = n.Right, n.Left
				root, path = textRoot(side)
			}
			if s, ok := lit.(*ast.StringNode); ok && root != "" && verbatim(s.Value) {
				return &Needles{Root: root, Path: path, Any: []string{s.Value}}
			}
		case "in":
			root, path := textRoot(n.Left)
			a, ok := n.Right.(*ast.ArrayNode)
			if root == "" || !ok || len(a.Nodes) == 0 {
				return nil
			}
			out := &Needles{Root: root, Path: path}
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
// such as properties.path or context.page.url, and "" otherwise; and the names of the
// members it reads under it (["page", "url"]), or nil if one is not a name written out.
func textRoot(node ast.Node) (string, []string) {
	if c, ok := node.(*ast.ChainNode); ok {
		node = c.Node
	}
	m, ok := node.(*ast.MemberNode)
	if !ok {
		return "", nil
	}
	var path []string
	named := true
	for {
		if s, ok := m.Property.(*ast.StringNode); ok && named {
			path = append(path, s.Value)
		} else {
			named = false
		}
		for _, root := range []string{"properties", "context"} {
			if isName(m.Node, root) {
				if !named {
					path = nil
				}
				slices.Reverse(path)
				return root, path
			}
		}
		inner, ok := m.Node.(*ast.MemberNode)
		if !ok {
			return "", nil
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
