package csvio

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The uses a column can be put to.
const (
	UseField   = "field"   // it fills a canonical field
	UseTrait   = "trait"   // it is kept among a contact's or an account's traits
	UseIgnored = "ignored" // it is not imported
)

// Column is what one column of a file is used for.
type Column struct {
	Index  int    `json:"index"`
	Header string `json:"header"`
	Use    string `json:"use"`
	// Field is the canonical field the column fills, when Use is UseField.
	Field string `json:"field,omitempty"`
	// Trait is the key the column's values are kept under, when Use is UseTrait.
	Trait string `json:"trait,omitempty"`
	// Note says why a column is ignored, or that the user mapped it.
	Note string `json:"note,omitempty"`
}

// Mapping is what each column of a file is used for.
type Mapping struct {
	Object  Object   `json:"object"`
	Columns []Column `json:"columns"`

	byField map[string]int // field → index in Columns
}

// Override is the user's say on one column: Target is a field's name, "ignore", or, for
// contacts and accounts, "trait" or "trait:KEY" to keep it among the traits.
type Override struct {
	Column string
	Target string
}

// ParseOverrides reads overrides written as "Column=field,Other Column=ignore".
func ParseOverrides(s string) ([]Override, error) {
	var out []Override
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		i := strings.LastIndexByte(part, '=')
		if i < 0 {
			return nil, fmt.Errorf("mapping %q: want COLUMN=FIELD or COLUMN=ignore", strings.TrimSpace(part))
		}
		col, target := strings.TrimSpace(part[:i]), strings.TrimSpace(part[i+1:])
		if col == "" || target == "" {
			return nil, fmt.Errorf("mapping %q: want COLUMN=FIELD or COLUMN=ignore", strings.TrimSpace(part))
		}
		out = append(out, Override{Column: col, Target: target})
	}
	return out, nil
}

// normalize makes column names that differ only in case, spaces and punctuation equal:
// "Company Domain Name", "company_domain_name" and "CompanyDomainName" all match.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// traitKey turns a column's name into a trait key: "Lead Status" → "lead_status".
func traitKey(s string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
		} else {
			gap = true
		}
	}
	return b.String()
}

// aliasIndex finds, for each object, the field and rank a normalized column name has:
// rank 0 is the field's own name, then its aliases in order.
var aliasIndex = func() map[Object]map[string]aliasHit {
	idx := map[Object]map[string]aliasHit{}
	for o, fs := range fields {
		m := map[string]aliasHit{}
		for _, f := range fs {
			for rank, name := range append([]string{f.Name}, f.Aliases...) {
				k := normalize(name)
				if prev, ok := m[k]; ok && prev.field != f.Name {
					panic(fmt.Sprintf("csvio: %s column %q means both %s and %s", o, name, prev.field, f.Name))
				}
				if _, ok := m[k]; !ok {
					m[k] = aliasHit{f.Name, rank}
				}
			}
		}
		idx[o] = m
	}
	return idx
}()

type aliasHit struct {
	field string
	rank  int
}

// Map decides what each column of header is used for in a file of o: the column names
// of HubSpot and Salesforce exports and Tandem's own are recognised whatever their case
// and spacing; overrides have the last word. A column that fills no field is kept as a
// trait for contacts and accounts, and ignored for opportunities. It fails when a column
// the object cannot do without is missing, or an override names no column or field.
func Map(o Object, header []string, overrides []Override) (*Mapping, error) {
	if _, ok := fields[o]; !ok {
		return nil, fmt.Errorf("unknown object %q", o)
	}
	m := &Mapping{Object: o, Columns: make([]Column, len(header)), byField: map[string]int{}}
	byName := map[string]int{} // normalized header → first column of that name
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // the byte order mark Excel writes
		}
		h = strings.TrimSpace(h)
		m.Columns[i] = Column{Index: i, Header: h}
		if _, ok := byName[normalize(h)]; !ok {
			byName[normalize(h)] = i
		}
	}
	forced := map[int]Override{}
	for _, ov := range overrides {
		i, ok := byName[normalize(ov.Column)]
		if !ok || normalize(ov.Column) == "" {
			return nil, fmt.Errorf("mapping %s=%s: the file has no column %q (its columns: %s)", ov.Column, ov.Target, ov.Column, m.headers())
		}
		if _, dup := forced[i]; dup {
			return nil, fmt.Errorf("mapping %s=%s: column %q is mapped twice", ov.Column, ov.Target, ov.Column)
		}
		t := strings.TrimSpace(ov.Target)
		switch lower := strings.ToLower(t); {
		case lower == "ignore":
			t = lower
		case lower == "trait" || strings.HasPrefix(lower, "trait:"):
			if !keepsTraits(o) {
				return nil, fmt.Errorf("mapping %s=%s: %s keep no traits", ov.Column, ov.Target, o)
			}
			if lower != "trait" && traitKey(t[len("trait:"):]) == "" {
				return nil, fmt.Errorf("mapping %s=%s: want trait:KEY with letters or digits in KEY", ov.Column, ov.Target)
			}
			t = "trait" + t[len("trait"):]
		default:
			f, ok := field(o, t)
			if !ok {
				return nil, fmt.Errorf("mapping %s=%s: %s have no field %q (fields: %s)", ov.Column, ov.Target, o, t, strings.Join(writable(o), ", "))
			}
			if f.ReadOnly {
				return nil, fmt.Errorf("mapping %s=%s: %s is computed by Tandem and cannot be imported", ov.Column, ov.Target, t)
			}
		}
		forced[i] = Override{Column: ov.Column, Target: t}
	}

	// Each field goes to the column whose name means it most specifically; a user's
	// mapping beats any name.
	type claim struct{ col, rank int }
	best := map[string]claim{}
	want := make([]string, len(header)) // the field each column would fill
	for i := range m.Columns {
		c := &m.Columns[i]
		if ov, ok := forced[i]; ok {
			switch {
			case ov.Target == "ignore":
				c.Use, c.Note = UseIgnored, "ignored as mapped"
			case ov.Target == "trait" || strings.HasPrefix(ov.Target, "trait:"):
				key := traitKey(c.Header)
				if k := strings.TrimPrefix(ov.Target, "trait:"); k != ov.Target {
					key = traitKey(k)
				}
				c.Use, c.Trait, c.Note = UseTrait, key, "kept as a trait, as mapped"
			default:
				want[i] = ov.Target
				c.Note = "as mapped"
				if b, ok := best[ov.Target]; !ok || b.rank >= 0 {
					best[ov.Target] = claim{i, -1}
				}
			}
			continue
		}
		hit, ok := aliasIndex[o][normalize(c.Header)]
		if !ok || byName[normalize(c.Header)] != i {
			continue
		}
		if f, _ := field(o, hit.field); f.ReadOnly {
			c.Use, c.Note = UseIgnored, "computed by Tandem: exported, not imported"
			continue
		}
		want[i] = hit.field
		if b, ok := best[hit.field]; !ok || hit.rank < b.rank {
			best[hit.field] = claim{i, hit.rank}
		}
	}
	traitsTaken := map[string]bool{}
	for _, f := range fields[o] {
		if f.Trait != "" {
			traitsTaken[f.Trait] = true
		}
	}
	for i := range m.Columns {
		c := &m.Columns[i]
		if c.Use == UseTrait {
			traitsTaken[c.Trait] = true
		}
	}
	for i := range m.Columns {
		c := &m.Columns[i]
		switch {
		case c.Use != "":
		case want[i] != "" && best[want[i]].col == i:
			c.Use, c.Field = UseField, want[i]
			m.byField[want[i]] = i
		case want[i] != "":
			c.Use, c.Note = UseIgnored, fmt.Sprintf("%s comes from column %q", want[i], header[best[want[i]].col])
		case c.Header == "":
			c.Use, c.Note = UseIgnored, "the column has no name"
		case byName[normalize(c.Header)] != i:
			c.Use, c.Note = UseIgnored, "a column of the same name comes first"
		case !keepsTraits(o):
			c.Use, c.Note = UseIgnored, fmt.Sprintf("%s keep no other fields; --map %q to use it", o, c.Header+"=FIELD")
		default:
			key := traitKey(c.Header)
			if key == "" || traitsTaken[key] {
				c.Use, c.Note = UseIgnored, fmt.Sprintf("its trait %q is another column's", key)
				continue
			}
			traitsTaken[key] = true
			c.Use, c.Trait = UseTrait, key
		}
	}
	if err := m.required(); err != nil {
		return nil, err
	}
	return m, nil
}

// required checks that the file has the columns its object cannot do without.
func (m *Mapping) required() error {
	need := func(fs ...string) error {
		for _, f := range fs {
			if m.Has(f) {
				return nil
			}
		}
		alts := strings.Join(fs, " or ")
		return fmt.Errorf("no column of the file is %s (its columns: %s); name one with --map \"COLUMN=%s\"", alts, m.headers(), fs[0])
	}
	switch m.Object {
	case Contacts:
		return need("email")
	case Accounts:
		return need("external_id", "domain", "tandem_id")
	case Opportunities:
		if err := need("external_id", "tandem_id"); err != nil {
			return err
		}
		return need("name")
	}
	return nil
}

func (m *Mapping) headers() string {
	hs := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		hs[i] = fmt.Sprintf("%q", c.Header)
	}
	return strings.Join(hs, ", ")
}

// writable lists the fields of o that an import fills.
func writable(o Object) []string {
	var out []string
	for _, f := range fields[o] {
		if !f.ReadOnly {
			out = append(out, f.Name)
		}
	}
	return out
}

// Has reports whether a column fills field.
func (m *Mapping) Has(field string) bool {
	_, ok := m.byField[field]
	return ok
}

// HeaderOf returns the name of the column that fills field, or the field's own name
// when none does.
func (m *Mapping) HeaderOf(field string) string {
	if i, ok := m.byField[field]; ok {
		return m.Columns[i].Header
	}
	return field
}

// Unmapped returns the columns that fill no field: kept as traits, or ignored.
func (m *Mapping) Unmapped() []Column {
	var out []Column
	for _, c := range m.Columns {
		if c.Use != UseField {
			out = append(out, c)
		}
	}
	return out
}

// WritePreview writes, for people, what each column is used for, then the columns
// that fill no field.
func (m *Mapping) WritePreview(w io.Writer) error {
	width := 0
	for _, c := range m.Columns {
		width = max(width, utf8.RuneCountInString(c.Header))
	}
	width = min(width, 40)
	var b strings.Builder
	fmt.Fprintf(&b, "Columns of the %s file:\n", m.Object)
	for _, c := range m.Columns {
		pad := strings.Repeat(" ", max(0, width-utf8.RuneCountInString(c.Header)))
		var what string
		switch c.Use {
		case UseField:
			what = c.Field
			if f, _ := field(m.Object, c.Field); f.Trait != "" && f.Trait != c.Field {
				what += " (trait " + f.Trait + ")"
			}
		case UseTrait:
			what = "trait " + c.Trait + " (no field of its own: kept among the traits)"
		default:
			what = "ignored"
		}
		if c.Note != "" {
			what += ": " + c.Note
		}
		fmt.Fprintf(&b, "  %s%s → %s\n", c.Header, pad, what)
	}
	var kept, ignored []string
	for _, c := range m.Unmapped() {
		if c.Use == UseTrait {
			kept = append(kept, fmt.Sprintf("%q", c.Header))
		} else {
			ignored = append(ignored, fmt.Sprintf("%q", c.Header))
		}
	}
	if len(kept)+len(ignored) == 0 {
		b.WriteString("Every column maps to a field.\n")
	}
	if len(kept) > 0 {
		fmt.Fprintf(&b, "Unmapped, kept as traits: %s\n", strings.Join(kept, ", "))
	}
	if len(ignored) > 0 {
		fmt.Fprintf(&b, "Unmapped, ignored: %s\n", strings.Join(ignored, ", "))
	}
	if missing := m.missing(); len(missing) > 0 {
		fmt.Fprintf(&b, "No column for: %s\n", strings.Join(missing, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// missing lists the fields of the CRMs' files no column fills; tandem_id, which only
// an export writes, is not missed.
func (m *Mapping) missing() []string {
	return slices.DeleteFunc(writable(m.Object), func(f string) bool { return f == "tandem_id" || m.Has(f) })
}
