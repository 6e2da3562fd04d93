package csvio

import (
	"encoding/json"
	"strconv"
	"strings"
)

// traitKinds are the kinds of the traits each object's fields fill; other traits are
// text.
var traitKinds = func() map[Object]map[string]Kind {
	out := map[Object]map[string]Kind{}
	for o, fs := range fields {
		m := map[string]Kind{}
		for _, f := range fs {
			if f.Trait != "" {
				m[f.Trait] = f.Kind
			}
		}
		out[o] = m
	}
	return out
}()

// TraitText returns the text an export writes for a stored trait: strings, numbers and
// booleans have one; objects, lists and nulls do not, and an export leaves them blank.
func TraitText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return FormatNumber(v), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// SameTraits reports whether every trait a row of o gives is stored already, compared
// as an import reads a cell: a number stored as text is the same number, an address in
// other case the same address, a date in another format the same instant. It is what
// makes re-importing an export change nothing.
func SameTraits(o Object, stored, read map[string]any) bool {
	for k, v := range read {
		if !sameTrait(traitKinds[o][k], stored[k], v) {
			return false
		}
	}
	return true
}

func sameTrait(k Kind, stored, read any) bool {
	if stored == read {
		return true
	}
	text, ok := TraitText(stored)
	if !ok {
		return false
	}
	text, err := cleanCell(text)
	if err != nil {
		return false
	}
	switch k {
	case Number:
		f, err := ParseNumber(text)
		return err == nil && f == read
	case Date:
		a, err1 := ParseDate(text)
		b, err2 := ParseDate(read.(string))
		return err1 == nil && err2 == nil && a.Equal(b)
	case Email:
		return strings.EqualFold(text, read.(string))
	}
	return text == read
}
