package agreement

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// A rule's expression is the value of a YAML scalar, and expr reports its errors by
// offset in that value. To point at the document instead, the scalar is read again
// from the raw text, undoing what YAML did to it (quotes, escapes, folded lines, block
// indentation), noting where each character of the value was written.

// pos is a 1-based line and column in the document; columns count characters, as the
// YAML parser does.
type pos struct{ line, column int }

// source is the document split into lines, for finding characters of scalars.
type source [][]rune

func newSource(doc []byte) source {
	lines := strings.Split(string(doc), "\n")
	src := make(source, len(lines))
	for i, l := range lines {
		src[i] = []rune(strings.TrimSuffix(l, "\r"))
	}
	return src
}

// positions returns where each character of n.Value was written in the document, or
// nil when the raw text cannot be matched up with the value.
func (src source) positions(n *yaml.Node) []pos {
	c := cursor{src: src, line: n.Line - 1, col: n.Column - 1}
	switch n.Style {
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		c.col++ // past the opening quote
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// The text starts on the line after the indicator, indented by the first line
		// that is not blank; that indentation is not part of the value.
		c.line, c.col = n.Line, 0
		for l := c.line; l < len(src); l++ {
			if t := strings.TrimLeft(string(src[l]), " "); t != "" {
				c.indent = utf8.RuneCountInString(string(src[l])) - utf8.RuneCountInString(t)
				break
			}
		}
		c.col = min(c.indent, c.lineLen())
	}
	if c.line < 0 || c.line >= len(src) {
		return nil
	}

	out := make([]pos, 0, len(n.Value))
	for i, want := range n.Value {
		for {
			r, ok := c.peek()
			if !ok {
				if strings.TrimSpace(n.Value[i:]) == "" {
					return out // a block scalar's final line break, at the end of the document
				}
				return nil
			}
			if r == '\\' && n.Style == yaml.DoubleQuotedStyle {
				at := c.pos()
				got, isBreak, ok := c.escape()
				if !ok {
					return nil
				}
				if isBreak {
					continue // an escaped line break stands for nothing
				}
				if got != want {
					return nil
				}
				out = append(out, at)
				break
			}
			if r == want {
				out = append(out, c.pos())
				c.next()
				break
			}
			if isBlank(r) || (r == '\'' && n.Style == yaml.SingleQuotedStyle) {
				// Line breaks and indentation that folding turned into one space or
				// dropped, or the first quote of a doubled ''.
				c.next()
				continue
			}
			if isBlank(want) {
				// A space folding made out of a line break already passed.
				out = append(out, c.pos())
				break
			}
			return nil
		}
	}
	return out
}

// offsetPos returns where the character at rune offset off of n.Value was written; an
// offset at or past the end is placed just after the last character.
func (src source) offsetPos(n *yaml.Node, off int) pos {
	ps := src.positions(n)
	switch {
	case len(ps) == 0:
		// Not found in the raw text: count along the scalar's first line instead.
		col := n.Column + off
		if n.Style == yaml.SingleQuotedStyle || n.Style == yaml.DoubleQuotedStyle {
			col++
		}
		return pos{n.Line, col}
	case off < 0:
		return ps[0]
	case off < len(ps):
		return ps[off]
	default:
		last := ps[len(ps)-1]
		return pos{last.line, last.column + 1}
	}
}

func isBlank(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// cursor walks the raw document character by character, giving '\n' at the end of
// each line but the last.
type cursor struct {
	src       source
	line, col int // 0-based
	// indent is the indentation of a block scalar, skipped at the start of each line.
	indent int
}

func (c *cursor) lineLen() int { return len(c.src[c.line]) }

func (c *cursor) pos() pos { return pos{c.line + 1, c.col + 1} }

func (c *cursor) peek() (rune, bool) {
	if c.line >= len(c.src) {
		return 0, false
	}
	if c.col < c.lineLen() {
		return c.src[c.line][c.col], true
	}
	if c.line+1 < len(c.src) {
		return '\n', true
	}
	return 0, false
}

func (c *cursor) next() {
	if c.col < c.lineLen() {
		c.col++
		return
	}
	c.line++
	if c.line < len(c.src) {
		c.col = min(c.indent, c.lineLen())
		// Only blanks may sit in a block scalar's indentation; a shorter line's text
		// would be outside the scalar, which cannot happen while matching its value.
	}
}

// escape reads the double-quoted escape sequence at the cursor and returns the character
// it stands for, or isBreak for an escaped line break, which YAML drops along with the
// next line's leading blanks.
func (c *cursor) escape() (r rune, isBreak, ok bool) {
	c.next() // the backslash
	e, ok := c.peek()
	if !ok {
		return 0, false, false
	}
	c.next()
	switch e {
	case '\n':
		for {
			b, ok := c.peek()
			if !ok || (b != ' ' && b != '\t') {
				break
			}
			c.next()
		}
		return 0, true, true
	case 'x', 'u', 'U':
		n := map[rune]int{'x': 2, 'u': 4, 'U': 8}[e]
		var hex strings.Builder
		for range n {
			h, ok := c.peek()
			if !ok {
				return 0, false, false
			}
			hex.WriteRune(h)
			c.next()
		}
		v, err := strconv.ParseUint(hex.String(), 16, 32)
		if err != nil {
			return 0, false, false
		}
		r = rune(v)
		if utf16.IsSurrogate(r) {
			// Only in JSON: the second half of a UTF-16 pair follows as its own \u
			// escape of four hex digits.
			return c.lowSurrogate(r)
		}
		return r, false, true
	}
	r, ok = yamlEscapes[e]
	return r, false, ok
}

// lowSurrogate reads the \u escape (four hex digits) that completes the surrogate
// pair starting with high.
func (c *cursor) lowSurrogate(high rune) (r rune, isBreak, ok bool) {
	var esc strings.Builder
	for range 6 {
		ch, ok := c.peek()
		if !ok {
			return 0, false, false
		}
		esc.WriteRune(ch)
		c.next()
	}
	s := esc.String()
	if !strings.HasPrefix(s, `\u`) {
		return 0, false, false
	}
	low, err := strconv.ParseUint(s[2:], 16, 32)
	if err != nil {
		return 0, false, false
	}
	r = utf16.DecodeRune(high, rune(low))
	return r, false, r != utf8.RuneError
}

// yamlEscapes are YAML's one-character escapes in double-quoted scalars.
var yamlEscapes = map[rune]rune{
	'0': 0, 'a': '\a', 'b': '\b', 't': '\t', '\t': '\t', 'n': '\n', 'v': '\v', 'f': '\f',
	'r': '\r', 'e': 0x1b, ' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xa0,
	'L': 0x2028, 'P': 0x2029,
}
