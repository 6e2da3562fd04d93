package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("tandem_events_total", "Events stored.")
	h := r.Histogram("tandem_batch_size", "Events per commit.", []float64{1, 10, 100})
	r.Gauge("tandem_up", "Whether the server is up.", func() float64 { return 1 })
	c.Add(3)
	for _, v := range []float64{1, 5, 50, 500} {
		h.Observe(v)
	}
	var b strings.Builder
	r.Write(&b)
	for _, want := range []string{
		"# TYPE tandem_batch_size histogram\n",
		`tandem_batch_size_bucket{le="1"} 1`,
		`tandem_batch_size_bucket{le="10"} 2`,
		`tandem_batch_size_bucket{le="100"} 3`,
		`tandem_batch_size_bucket{le="+Inf"} 4`,
		"tandem_batch_size_sum 556\n",
		"tandem_batch_size_count 4\n",
		"# TYPE tandem_events_total counter\ntandem_events_total 3\n",
		"tandem_up 1\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q:\n%s", want, b.String())
		}
	}
}
