// Package chart draws the dashboards' charts as SVG on the server and gives every chart's
// numbers as an HTML table and as CSV. The SVG needs no script, stylesheet or font: it
// colours itself with presentation attributes, and its class names (bar, line, target,
// grid, axis, tick, label, value, legend, conversion, empty) let the app's own stylesheet
// restyle it under a strict Content Security Policy. It is pure: no I/O but the writer
// WriteCSV is given.
package chart

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Series is a named sequence of values over the labels of the Data holding it: Values[i]
// belongs to Labels[i]. A value that is missing (Values shorter than Labels), NaN or
// infinite is drawn as nothing and written as an empty cell; values past the last label
// are ignored.
type Series struct {
	Name   string
	Values []float64
	// Kind is how Bars draws the series: "bar" (also when empty or unknown), "line", or
	// "target", a dashed line such as a pacing goal.
	Kind string
}

// Data is what a chart shows and what its table and CSV hold.
type Data struct {
	Title  string   // also the SVG <title>, for screen readers
	Desc   string   // SVG <desc>: one sentence summarising the numbers (caller writes it)
	Labels []string // x axis categories (weeks, stages, reps, reasons...)
	Series []Series
	Unit   string // e.g. "MQLs", "%", "hours", shown on the axis and table header
}

// Options are how a chart is drawn; the zero value draws it at its default size.
type Options struct {
	// Width and Height are the size in pixels. Zero Width is 640; zero Height is 260 for
	// Bars, and for HBars and Funnel as high as their rows need.
	Width, Height int
	// Percent says the values are shares from 0 to 1, to show as percentages. Table and
	// WriteCSV, which have no Options, keep the shares as they are.
	Percent bool
	// ID prefixes the ids of the chart's <title> and <desc>, which must be unique in the
	// page. Empty derives one from a hash of the chart's kind and data, which is unique
	// unless the page shows the same chart twice. Characters other than ASCII letters,
	// digits, '-' and '_' are replaced by '-'.
	ID string
}

const (
	defaultWidth  = 640
	defaultHeight = 260
	fontSize      = 12
	// charWidth estimates the mean advance of a sans-serif character at fontSize, to fit
	// text without measuring it.
	charWidth = 7.0
	// maxValue bounds the values drawn, so that no span of the axis overflows.
	maxValue = 1e300
	noData   = "No data yet"
)

// palette colours series by their index in Data.Series when no stylesheet does.
var palette = [...]string{"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#e15759"}

const targetColor = "#c0392b"

func kind(s Series) string {
	if s.Kind == "line" || s.Kind == "target" {
		return s.Kind
	}
	return "bar"
}

func color(i int, s Series) string {
	if kind(s) == "target" {
		return targetColor
	}
	return palette[i%len(palette)]
}

// value returns the i-th value of s as drawn, ok false when there is none to draw.
func value(s Series, i int, percent bool) (v float64, ok bool) {
	if i >= len(s.Values) || math.IsNaN(s.Values[i]) || math.IsInf(s.Values[i], 0) {
		return 0, false
	}
	v = max(-maxValue, min(s.Values[i], maxValue))
	if percent {
		v *= 100
	}
	if math.Abs(v) < 1e-9 {
		v = 0 // keeps the axis span far from underflow; shown as 0 anyway
	}
	return v, true
}

// extent returns the smallest and largest values of ss over d's labels, zero included.
func extent(d Data, ss []Series, percent bool) (lo, hi float64, ok bool) {
	for _, s := range ss {
		for i := range d.Labels {
			if v, vok := value(s, i, percent); vok {
				lo, hi, ok = min(lo, v), max(hi, v), true
			}
		}
	}
	return lo, hi, ok
}

func (o Options) size(height int) (w, h float64) {
	w, h = defaultWidth, float64(height)
	if o.Width > 0 {
		w = float64(o.Width)
	}
	if o.Height > 0 {
		h = float64(o.Height)
	}
	return w, h
}

func (o Options) id(kind string, d Data) string {
	if o.ID != "" {
		return strings.Map(func(r rune) rune {
			if r == '-' || r == '_' || r < utf8.RuneSelf && (r|0x20 >= 'a' && r|0x20 <= 'z' || r >= '0' && r <= '9') {
				return r
			}
			return '-'
		}, o.ID)
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%q\x00%t", kind, d.Title, d.Unit, d.Labels, o.Percent)
	for _, s := range d.Series {
		fmt.Fprintf(h, "\x00%q\x00%s", s.Name, s.Kind)
		for _, v := range s.Values {
			fmt.Fprintf(h, "\x00%x", math.Float64bits(v))
		}
	}
	return fmt.Sprintf("chart-%016x", h.Sum64())
}

// canvas is an SVG document being written.
type canvas struct {
	strings.Builder
	percent bool
}

// begin opens the SVG of a chart of the given kind, with its title and description.
func begin(kind string, d Data, o Options, w, h float64) *canvas {
	c := &canvas{percent: o.Percent}
	id := o.id(kind, d)
	title := d.Title
	if title == "" {
		title = "Chart"
	}
	labelledBy := id + "-title"
	if d.Desc != "" {
		labelledBy += " " + id + "-desc"
	}
	fmt.Fprintf(c, `<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-%s" width="%s" height="%s" viewBox="0 0 %[2]s %[3]s" role="img" aria-labelledby="%s" font-family="sans-serif" font-size="%d">`,
		kind, coord(w), coord(h), labelledBy, fontSize)
	fmt.Fprintf(c, `<title id="%s-title">%s</title>`, id, esc(title))
	if d.Desc != "" {
		fmt.Fprintf(c, `<desc id="%s-desc">%s</desc>`, id, esc(d.Desc))
	}
	return c
}

func (c *canvas) end() template.HTML {
	c.WriteString("</svg>")
	return template.HTML(c.String())
}

// empty returns the chart that says there is nothing to show yet.
func empty(kind string, d Data, o Options, height int) template.HTML {
	w, h := o.size(height)
	if d.Desc == "" {
		d.Desc = noData + "."
	}
	c := begin(kind, d, o, w, h)
	c.text(w/2, h/2+4, `class="empty" text-anchor="middle" fill="#767676"`, noData, -1)
	return c.end()
}

// text writes s at x, y with the given trusted attributes, cut to n characters when n is
// not negative. A cut text carries its whole in a <title>, which browsers show on hover.
func (c *canvas) text(x, y float64, attrs, s string, n int) {
	cut := truncate(s, n)
	if cut != s {
		fmt.Fprintf(c, `<g><title>%s</title>`, esc(s))
	}
	fmt.Fprintf(c, `<text x="%s" y="%s" %s>%s</text>`, coord(x), coord(y), attrs, esc(cut))
	if cut != s {
		c.WriteString("</g>")
	}
}

// unitAndLegend writes the unit at the top left and, when there are several series, a
// key to them at the top right, ending at x right.
func (c *canvas) unitAndLegend(d Data, right float64) {
	if d.Unit != "" {
		c.text(4, 14, `class="unit" fill="#555"`, d.Unit, 24)
	}
	if len(d.Series) < 2 {
		return
	}
	x := right
	for i := len(d.Series) - 1; i >= 0; i-- {
		s := d.Series[i]
		x -= textWidth(truncate(s.Name, 20))
		c.text(x, 14, `class="legend" fill="#333"`, s.Name, 20)
		x -= 16
		switch col := color(i, s); kind(s) {
		case "bar":
			fmt.Fprintf(c, `<rect class="bar series-%d" x="%s" y="5" width="12" height="10" fill="%s"/>`, i, coord(x), col)
		default:
			fmt.Fprintf(c, `<line class="%s series-%d" x1="%s" y1="10" x2="%s" y2="10" stroke="%s" stroke-width="2"%s/>`,
				kind(s), i, coord(x), coord(x+12), col, dash(s))
		}
		x -= 12
	}
}

func dash(s Series) string {
	if kind(s) == "target" {
		return ` stroke-dasharray="6 4"`
	}
	return ""
}

// label formats a drawn value for reading on the chart.
func (c *canvas) label(v float64, dec int) string {
	if c.percent {
		return short(v, dec) + "%"
	}
	return short(v, dec)
}

// short formats v with at most dec decimals, large values in thousands (k), millions (M),
// billions (B) and trillions (T), and beyond those in exponent form.
func short(v float64, dec int) string {
	switch a := math.Abs(v); {
	case a >= 1e15:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 1e12:
		return num(v/1e12, 1) + "T"
	case a >= 1e9:
		return num(v/1e9, 1) + "B"
	case a >= 1e6:
		return num(v/1e6, 1) + "M"
	case a >= 1e4:
		return num(v/1e3, 1) + "k"
	}
	return num(v, dec)
}

// num formats v with at most dec decimals and no exponent.
func num(v float64, dec int) string {
	s := strconv.FormatFloat(v, 'f', dec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// coord formats a coordinate to a tenth of a pixel.
func coord(x float64) string {
	return num(x, 1)
}

// truncate cuts s to n characters, the last an ellipsis; a negative n does not cut.
func truncate(s string, n int) string {
	if n < 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:max(n-1, 0)]
	return strings.TrimRight(string(r), " ") + "…"
}

func textWidth(s string) float64 {
	return charWidth * float64(utf8.RuneCountInString(s))
}

// esc escapes s as XML character data, which is also HTML; characters XML does not allow
// become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
