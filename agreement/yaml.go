package agreement

import (
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Generic readers. Each reports what is wrong with a value and says whether it got one;
// a missing or null value is no error unless the field is required.

// fields returns the values of mapping n by key, reporting keys not among known and keys
// given twice. It reports and returns false when n is not a mapping.
func (p *parser) fields(s at, n *yaml.Node, known ...string) (map[string]*yaml.Node, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.errorf(s, n, "want a mapping, got %s", describe(n))
		return nil, false
	}
	f := make(map[string]*yaml.Node, len(known))
	for _, kv := range p.pairs(s, n, "field") {
		if !slices.Contains(known, kv.key) {
			// In a rule, the rule's name says where; elsewhere, the field's path does.
			es := s
			if s.rule == "" {
				es = s.field(kv.key)
			}
			p.errorf(es, kv.keyNode, "unknown field %q (want one of %s)", kv.key, strings.Join(known, ", "))
			continue
		}
		f[kv.key] = kv.value
	}
	return f, true
}

type pair struct {
	key            string
	keyNode, value *yaml.Node
}

// pairs returns the entries of mapping n in document order, reporting and leaving out
// keys that are not strings or that repeat an earlier key; noun names what the keys
// are, for that report.
func (p *parser) pairs(s at, n *yaml.Node, noun string) []pair {
	seen := make(map[string]bool, len(n.Content)/2)
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			p.errorf(s, k, "want a %s name, got %s", noun, describe(k))
			continue
		}
		if seen[k.Value] {
			p.errorf(s.field(k.Value), k, "duplicate %s %q", noun, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, pair{key: k.Value, keyNode: k, value: v})
	}
	return out
}

// list returns the items of sequence n, reporting n when it is not one.
func (p *parser) list(s at, n *yaml.Node) ([]*yaml.Node, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		p.errorf(s, n, "want a list, got %s", describe(n))
		return nil, false
	}
	return n.Content, true
}

// str returns the text of scalar n. Numbers and booleans are text too: a name may be
// 2027, and an expression may be true.
func (p *parser) str(s at, n *yaml.Node) (string, bool) {
	n = deref(n)
	if isNull(n) {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		p.errorf(s, n, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

// text is str for a value that must be there, such as an item of a list.
func (p *parser) text(s at, n *yaml.Node) (string, bool) {
	if isNull(deref(n)) {
		p.errorf(s, deref(n), "want a string, got nothing")
		return "", false
	}
	return p.str(s, n)
}

// items returns the items of the list n, which may be absent.
func (p *parser) items(s at, n *yaml.Node) []*yaml.Node {
	if isNull(deref(n)) {
		return nil
	}
	items, _ := p.list(s, n)
	return items
}

// peek returns the value of field key of mapping n, or nil, without checking anything:
// it finds a rule's name before the rule is read, to name the rule in its errors.
func peek(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := deref(n.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// requiredString returns the non-blank text of field name of mapping parent, and its
// node; the node is nil when there is a problem.
func (p *parser) requiredString(s at, parent *yaml.Node, f map[string]*yaml.Node, name string) (string, *yaml.Node) {
	n := deref(f[name])
	if isNull(n) {
		p.missing(s, parent, name)
		return "", nil
	}
	v, ok := p.str(s.field(name), n)
	if !ok {
		return "", nil
	}
	if strings.TrimSpace(v) == "" {
		p.errorf(s.field(name), n, "must not be empty")
		return "", nil
	}
	return v, n
}

// missing reports that mapping parent lacks its required field name.
func (p *parser) missing(s at, parent *yaml.Node, name string) {
	if s.rule == "" {
		s = s.field(name)
	}
	p.errorf(s, parent, "missing field %q", name)
}

func (p *parser) number(s at, n *yaml.Node) (float64, bool) {
	n = deref(n)
	if isNull(n) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		p.errorf(s, n, "want a number, got %s", describe(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		p.errorf(s, n, "want a number, got %s", describe(n))
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		p.errorf(s, n, "want a finite number, got %s", n.Value)
		return 0, false
	}
	return f, true
}

func (p *parser) integer(s at, n *yaml.Node) (int, bool) {
	f, ok := p.number(s, n)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		p.errorf(s, n, "want a whole number, got %s", deref(n).Value)
		return 0, false
	}
	return int(f), true
}

func (p *parser) boolean(s at, n *yaml.Node) (bool, bool) {
	n = deref(n)
	if isNull(n) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		p.errorf(s, n, "want true or false, got %s", describe(n))
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		p.errorf(s, n, "want true or false, got %s", describe(n))
		return false, false
	}
	return b, true
}

func (p *parser) duration(s at, n *yaml.Node) time.Duration {
	v, ok := p.str(s, n)
	if !ok {
		return 0
	}
	d, err := ParseDuration(v)
	if err != nil {
		p.errorf(s, deref(n), "%v", err)
		return 0
	}
	return d
}

// email returns the plain address in n, such as alice@acme.test.
func (p *parser) email(s at, n *yaml.Node) (string, bool) {
	v, ok := p.str(s, n)
	if !ok {
		return "", false
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v {
		p.errorf(s, deref(n), "want an email address such as alice@acme.test, got %q", v)
		return "", false
	}
	return v, true
}

func deref(n *yaml.Node) *yaml.Node {
	// Aliases are followed a bounded number of times, though yaml refuses cycles.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// describe names the kind of value n is, for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil || isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!str":
		return fmt.Sprintf("string %q", n.Value)
	default:
		return n.Value
	}
}
