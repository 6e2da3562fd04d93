package agreement

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// JSON documents are read by the YAML parser, of which JSON is nearly a subset. A few
// valid JSON documents are not valid YAML to go.yaml.in/yaml/v3: a tab before the
// top-level value, the escape \/, or a character outside the BMP escaped as a UTF-16
// surrogate pair. Those are read by encoding/json instead into the same node tree,
// with the positions the YAML parser would have given.

// jsonNodes builds the YAML node tree of a valid JSON document.
func jsonNodes(doc []byte) (*yaml.Node, error) {
	b := &jsonBuilder{doc: doc, dec: json.NewDecoder(bytes.NewReader(doc))}
	b.dec.UseNumber()
	n, err := b.value()
	if err != nil {
		return nil, err
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: 1, Column: 1, Content: []*yaml.Node{n}}, nil
}

type jsonBuilder struct {
	doc []byte
	dec *json.Decoder
}

// value reads the next value from the decoder as a node.
func (b *jsonBuilder) value() (*yaml.Node, error) {
	line, col := b.position()
	tok, err := b.dec.Token()
	if err != nil {
		return nil, err
	}
	n := &yaml.Node{Line: line, Column: col}
	switch t := tok.(type) {
	case json.Delim:
		n.Kind, n.Style = yaml.MappingNode, yaml.FlowStyle
		if t == '[' {
			n.Kind = yaml.SequenceNode
		}
		for b.dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := b.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, k)
			}
			v, err := b.value()
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := b.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		n.Tag = map[yaml.Kind]string{yaml.MappingNode: "!!map", yaml.SequenceNode: "!!seq"}[n.Kind]
	case string:
		n.Kind, n.Style, n.Tag, n.Value = yaml.ScalarNode, yaml.DoubleQuotedStyle, "!!str", t
	case json.Number:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!int", t.String()
		if strings.ContainsAny(n.Value, ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", fmt.Sprint(t)
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	}
	return n, nil
}

// position returns the 1-based line and column, in characters, of the next token.
func (b *jsonBuilder) position() (line, col int) {
	off := int(b.dec.InputOffset())
	// The decoder stops after a token, before the blanks and separators ahead of the
	// next one.
	for off < len(b.doc) && strings.IndexByte(" \t\r\n,:", b.doc[off]) >= 0 {
		off++
	}
	start := bytes.LastIndexByte(b.doc[:off], '\n') + 1
	return bytes.Count(b.doc[:off], []byte("\n")) + 1, utf8.RuneCount(b.doc[start:off]) + 1
}
