package chart

import (
	"encoding/csv"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// Table returns d as an HTML table, the numbers behind its chart for readers who want
// them rather than the picture: a caption of the title, a column per series headed by
// its name and the unit, a row per label. Number cells have class "num" so that the
// stylesheet can right-align them; a missing, NaN or infinite value is an empty cell.
// Values are shown as given, with at most two decimals.
func Table(d Data) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<table class="chart-table"><caption>%s</caption><thead><tr><td></td>`, esc(d.Title))
	for _, s := range d.Series {
		fmt.Fprintf(&b, `<th scope="col" class="num">%s</th>`, esc(header(s, d.Unit)))
	}
	b.WriteString(`</tr></thead><tbody>`)
	if len(d.Labels) == 0 {
		fmt.Fprintf(&b, `<tr><td colspan="%d" class="empty">%s</td></tr>`, len(d.Series)+1, noData)
	}
	for i, l := range d.Labels {
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th>`, esc(l))
		for _, s := range d.Series {
			fmt.Fprintf(&b, `<td class="num">%s</td>`, cell(s, i))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table>`)
	return template.HTML(b.String())
}

// WriteCSV writes d as CSV: a header of an empty cell over the labels and then the
// column headers of Table, and a row per label. Numbers are written as in Table: no
// exponent, at most two decimals, empty when missing, NaN or infinite. A label or name
// that a spreadsheet would run as a formula, one beginning with =, +, -, @, tab or
// carriage return, is written with a leading apostrophe.
func WriteCSV(w io.Writer, d Data) error {
	cw := csv.NewWriter(w)
	rec := []string{""}
	for _, s := range d.Series {
		rec = append(rec, inert(header(s, d.Unit)))
	}
	if err := cw.Write(rec); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	for i, l := range d.Labels {
		rec = append(rec[:0], inert(l))
		for _, s := range d.Series {
			rec = append(rec, cell(s, i))
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

func header(s Series, unit string) string {
	switch {
	case unit == "":
		return s.Name
	case s.Name == "":
		return unit
	}
	return s.Name + " (" + unit + ")"
}

// cell formats the i-th value of s for a table or CSV.
func cell(s Series, i int) string {
	if i >= len(s.Values) || math.IsNaN(s.Values[i]) || math.IsInf(s.Values[i], 0) {
		return ""
	}
	return num(s.Values[i], 2)
}

// inert defuses text a spreadsheet would take for a formula (CSV injection).
func inert(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
