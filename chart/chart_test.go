package chart_test

import (
	"encoding/xml"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"tandem/chart"
)

var kinds = []struct {
	name string
	draw func(chart.Data, chart.Options) template.HTML
}{
	{"bars", chart.Bars},
	{"hbars", chart.HBars},
	{"funnel", chart.Funnel},
}

const hostile = "<script>alert('x')</script> & \"]]> \x00\x1b\xff =cmd"

func weeks(n int) []string {
	l := make([]string, n)
	for i := range l {
		l[i] = "W" + strconv.Itoa(i+1)
	}
	return l
}

func TestWellFormed(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name      string
		d         chart.Data
		o         chart.Options
		wantEmpty bool
	}{
		{name: "zero data", wantEmpty: true},
		{name: "labels without series", d: chart.Data{Title: "MQLs", Labels: []string{"W1"}}, wantEmpty: true},
		{name: "series without labels", d: chart.Data{Title: "MQLs", Series: []chart.Series{{Values: []float64{1}}}}, wantEmpty: true},
		{name: "only NaN and Inf", d: chart.Data{Title: "MQLs", Labels: []string{"W1", "W2"}, Series: []chart.Series{{Values: []float64{nan, -inf}}}}, wantEmpty: true},
		{name: "one value", d: chart.Data{Title: "MQLs", Labels: []string{"W1"}, Series: []chart.Series{{Name: "MQLs", Values: []float64{7}}}}},
		{name: "all zeros", d: chart.Data{Title: "MQLs", Labels: weeks(4), Series: []chart.Series{{Values: []float64{0, 0, 0, 0}}}}},
		{name: "negative", d: chart.Data{Title: "Net", Labels: weeks(4), Series: []chart.Series{{Values: []float64{-5, 3, -40, 12}}}}},
		{name: "all negative", d: chart.Data{Title: "Net", Labels: weeks(2), Series: []chart.Series{{Values: []float64{-5, -1}}}}},
		{name: "NaN, Inf and missing among values", d: chart.Data{Title: "MQLs", Labels: weeks(5), Series: []chart.Series{
			{Name: "MQLs", Values: []float64{3, nan, inf, 4}},
			{Name: "Total", Kind: "line", Values: []float64{3, nan, 7, 11, 20}},
			{Name: "Pace", Kind: "target", Values: []float64{2, nan, 6}},
		}}},
		{name: "huge", d: chart.Data{Title: "Revenue", Labels: weeks(3), Series: []chart.Series{{Values: []float64{math.MaxFloat64, -math.MaxFloat64, 1e-320}}}}},
		{name: "huge percent", d: chart.Data{Title: "Share", Labels: weeks(2), Series: []chart.Series{{Values: []float64{math.MaxFloat64, 0.5}}}}, o: chart.Options{Percent: true}},
		{name: "long labels", d: chart.Data{Title: "Reasons", Labels: []string{strings.Repeat("Not a fit for our product ", 20), "Budget"}, Series: []chart.Series{
			{Name: strings.Repeat("Rejected ", 10), Values: []float64{12, 3}}, {Name: "Accepted", Values: []float64{40, 9}},
		}}},
		{name: "hostile text", d: chart.Data{Title: hostile, Desc: hostile, Unit: hostile, Labels: []string{hostile, hostile},
			Series: []chart.Series{{Name: hostile, Values: []float64{1, 2}}, {Name: hostile, Kind: "line", Values: []float64{1, 3}}}}},
		{name: "a year of weeks", d: chart.Data{Title: "MQLs", Labels: weeks(52), Series: []chart.Series{{Values: make([]float64, 52)}, {Kind: "target", Values: []float64{1, 2}}}}},
		{name: "tiny size", d: chart.Data{Title: "MQLs", Labels: weeks(3), Series: []chart.Series{{Values: []float64{1, 2, 3}}}}, o: chart.Options{Width: 1, Height: 1}},
		{name: "lines only", d: chart.Data{Title: "MQLs", Labels: weeks(3), Series: []chart.Series{{Kind: "line", Values: []float64{1, 2, 3}}, {Kind: "target", Values: []float64{2}}}}},
		{name: "shares", d: chart.Data{Title: "SLA met", Unit: "%", Labels: []string{"Ana", "Bo"}, Series: []chart.Series{{Values: []float64{0.875, 1}}, {Kind: "target", Values: []float64{0.9, 0.9}}}}, o: chart.Options{Percent: true}},
	}
	for _, k := range kinds {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				got := string(k.draw(tt.d, tt.o))
				checkSVG(t, got)
				if empty := strings.Contains(got, "No data yet"); empty != tt.wantEmpty {
					t.Errorf("says No data yet: %v, want %v", empty, tt.wantEmpty)
				}
				if again := string(k.draw(tt.d, tt.o)); again != got {
					t.Errorf("drawn twice, got two different charts")
				}
			})
		}
	}
}

// checkSVG fails t unless s is one well-formed, accessible SVG element with finite
// coordinates, and no script.
func checkSVG(tb testing.TB, s string) {
	tb.Helper()
	if strings.Contains(strings.ToLower(s), "<script") {
		tb.Errorf("output holds a raw <script: %s", s)
	}
	dec := xml.NewDecoder(strings.NewReader(s))
	ids := map[string]bool{}
	var labelledBy string
	depth, roots := 0, 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("not well-formed XML: %v\n%s", err, s)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if tok.Name.Local != "svg" || tok.Name.Space != "http://www.w3.org/2000/svg" {
					tb.Errorf("root element %v, want svg in the SVG namespace", tok.Name)
				}
				if attr(tok, "role") != "img" {
					tb.Errorf("role %q, want img", attr(tok, "role"))
				}
				labelledBy = attr(tok, "aria-labelledby")
			}
			depth++
			for _, a := range tok.Attr {
				switch a.Name.Local {
				case "style":
					tb.Errorf("inline style attribute on <%s>", tok.Name.Local)
				case "id":
					ids[a.Value] = true
				case "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height":
					v, err := strconv.ParseFloat(a.Value, 64)
					if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
						tb.Errorf("<%s %s=%q>: want a finite number", tok.Name.Local, a.Name.Local, a.Value)
					}
					if (a.Name.Local == "width" || a.Name.Local == "height") && v < 0 {
						tb.Errorf("<%s %s=%q>: want no negative size", tok.Name.Local, a.Name.Local, a.Value)
					}
				case "d", "viewBox":
					if strings.ContainsAny(a.Value, "NIa") {
						tb.Errorf("<%s %s=%q>: want numbers", tok.Name.Local, a.Name.Local, a.Value)
					}
				}
			}
			if tok.Name.Local == "style" || tok.Name.Local == "script" {
				tb.Errorf("<%s> element", tok.Name.Local)
			}
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		tb.Errorf("%d root elements, want 1", roots)
	}
	if labelledBy == "" {
		tb.Errorf("no aria-labelledby")
	}
	for _, id := range strings.Fields(labelledBy) {
		if !ids[id] {
			tb.Errorf("aria-labelledby names %q, which no element has", id)
		}
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestText(t *testing.T) {
	long := "Not a fit for our product this year"
	mqls := chart.Data{
		Title:  "MQLs per week",
		Desc:   "MQLs rose from 12 to 40.",
		Unit:   "MQLs",
		Labels: []string{"W1", "W2", long},
		Series: []chart.Series{
			{Name: "MQLs", Values: []float64{12, 40, 7}},
			{Name: "Cumulative", Kind: "line", Values: []float64{12, 52, 59}},
			{Name: "Pace", Kind: "target", Values: []float64{20, 40, 60}},
		},
	}
	funnel := chart.Data{Title: "Funnel", Labels: []string{"Lead", "MQL", "SQL", "Won"}, Series: []chart.Series{{Values: []float64{200, 50, 10, 0}}}}
	shares := chart.Data{Title: "SLA met", Labels: []string{"Ana", "Bo"}, Series: []chart.Series{{Values: []float64{0.875, 1}}}}
	tests := []struct {
		name     string
		got      template.HTML
		want     []string
		wantNone []string
	}{
		{name: "bars", got: chart.Bars(mqls, chart.Options{}), want: []string{
			`>40</text>`, `>MQLs</text>`, `class="target series-2"`, `stroke-dasharray="6 4"`, `class="line series-1"`,
			`<desc id="`, `>Cumulative</text>`, `>W2, MQLs: 40</title>`,
		}},
		{name: "bars cut a long label", got: chart.Bars(mqls, chart.Options{Width: 300}), want: []string{"…</text>", "<title>" + long + "</title>"}},
		{name: "bars with no room for values", got: chart.Bars(chart.Data{Labels: weeks(52), Series: []chart.Series{{Values: repeat(123456789, 52)}}}, chart.Options{}),
			wantNone: []string{`class="value"`}},
		{name: "hbars", got: chart.HBars(mqls, chart.Options{Width: 800}), want: []string{">" + long + "</text>", `>40</text>`}},
		{name: "hbars in percent", got: chart.HBars(shares, chart.Options{Percent: true}), want: []string{`>87.5%</text>`, `>100%</text>`, `>25%</text>`}},
		{name: "funnel", got: chart.Funnel(funnel, chart.Options{}), want: []string{`>↓ 25%</text>`, `>↓ 20%</text>`, `>↓ 0%</text>`, `>200</text>`}},
		{name: "funnel from nothing", got: chart.Funnel(chart.Data{Labels: []string{"A", "B"}, Series: []chart.Series{{Values: []float64{0, 5}}}}, chart.Options{}),
			wantNone: []string{`↓`}},
		{name: "empty keeps its title", got: chart.Bars(chart.Data{Title: "MQLs per week"}, chart.Options{}), want: []string{`>MQLs per week</title>`, `>No data yet</text>`}},
		{name: "hostile text is escaped", got: chart.HBars(chart.Data{Title: hostile, Labels: []string{hostile}, Series: []chart.Series{{Name: hostile, Values: []float64{1}}}}, chart.Options{}),
			want: []string{"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &#34;]]&gt; \uFFFD\uFFFD\uFFFD =cmd"}},
		{name: "given ID", got: chart.Bars(mqls, chart.Options{ID: "mqls <1>"}), want: []string{`aria-labelledby="mqls--1--title mqls--1--desc"`, `<title id="mqls--1--title">`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkSVG(t, string(tt.got))
			for _, w := range tt.want {
				if !strings.Contains(string(tt.got), w) {
					t.Errorf("got no %s in\n%s", w, tt.got)
				}
			}
			for _, w := range tt.wantNone {
				if strings.Contains(string(tt.got), w) {
					t.Errorf("got %s, want none, in\n%s", w, tt.got)
				}
			}
		})
	}
}

func repeat(v float64, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

func TestIDsDiffer(t *testing.T) {
	d := chart.Data{Title: "MQLs", Labels: []string{"W1"}, Series: []chart.Series{{Values: []float64{1}}}}
	e := d
	e.Title = "SQLs"
	ids := map[string]string{}
	for name, svg := range map[string]template.HTML{
		"bars": chart.Bars(d, chart.Options{}), "bars of another title": chart.Bars(e, chart.Options{}),
		"hbars": chart.HBars(d, chart.Options{}), "funnel": chart.Funnel(d, chart.Options{}),
	} {
		_, rest, _ := strings.Cut(string(svg), `<title id="`)
		id, _, _ := strings.Cut(rest, `"`)
		if other, ok := ids[id]; ok {
			t.Errorf("%s and %s share the id %q", name, other, id)
		}
		ids[id] = name
	}
}
