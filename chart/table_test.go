package chart_test

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"tandem/chart"
)

var reasons = chart.Data{
	Title:  "Rejections by reason",
	Unit:   "leads",
	Labels: []string{"No budget", "=HYPERLINK(\"x\")", "Wrong \"fit\", too small", "Other"},
	Series: []chart.Series{
		{Name: "Rejected", Values: []float64{12, 3, 1e21, math.NaN()}},
		{Name: "Share", Values: []float64{0.5, 1.0 / 8, 0.0001}},
	},
}

func TestWriteCSV(t *testing.T) {
	var b strings.Builder
	if err := chart.WriteCSV(&b, reasons); err != nil {
		t.Fatalf("WriteCSV: %v", err)
	}
	want := `,Rejected (leads),Share (leads)
No budget,12,0.5
"'=HYPERLINK(""x"")",3,0.12
"Wrong ""fit"", too small",1000000000000000000000,0
Other,,
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSVError(t *testing.T) {
	if err := chart.WriteCSV(failingWriter{}, reasons); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("got %v, want the writer's error", err)
	}
}

func TestTable(t *testing.T) {
	tests := []struct {
		name string
		d    chart.Data
		want []string
	}{
		{name: "reasons", d: reasons, want: []string{
			`<caption>Rejections by reason</caption>`,
			`<th scope="col" class="num">Rejected (leads)</th>`,
			`<th scope="row">Wrong &#34;fit&#34;, too small</th><td class="num">1000000000000000000000</td><td class="num">0</td></tr>`,
			`<th scope="row">Other</th><td class="num"></td><td class="num"></td></tr>`,
		}},
		{name: "hostile", d: chart.Data{Title: hostile, Labels: []string{hostile}, Series: []chart.Series{{Name: hostile, Values: []float64{1}}}}, want: []string{
			`<caption>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;`, `<th scope="row">&lt;script&gt;`, `<th scope="col" class="num">&lt;script&gt;`,
		}},
		{name: "empty", d: chart.Data{Title: "MQLs", Series: []chart.Series{{Name: "MQLs"}}}, want: []string{
			`<caption>MQLs</caption>`, `<td colspan="2" class="empty">No data yet</td>`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(chart.Table(tt.d))
			if strings.Contains(strings.ToLower(got), "<script") {
				t.Errorf("output holds a raw <script: %s", got)
			}
			dec := xml.NewDecoder(strings.NewReader(got))
			for {
				_, err := dec.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v\n%s", err, got)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got no %s in\n%s", w, got)
				}
			}
		})
	}
}
