// Package metrics keeps counters and histograms and writes them in the Prometheus text
// exposition format, for /metrics.
package metrics

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
)

// Registry holds named metrics and writes them in name order.
type Registry struct {
	mu      sync.Mutex // guards metrics
	metrics map[string]writer
}

type writer interface {
	write(w io.Writer, name string)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{metrics: map[string]writer{}} }

// Write writes every metric in the text exposition format.
func (r *Registry) Write(w io.Writer) {
	r.mu.Lock()
	names := make([]string, 0, len(r.metrics))
	for n := range r.metrics {
		names = append(names, n)
	}
	ms := r.metrics
	r.mu.Unlock()
	sort.Strings(names)
	for _, n := range names {
		ms[n].write(w, n)
	}
}

func (r *Registry) add(name string, m writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.metrics[name]; dup {
		panic("metrics: " + name + " registered twice")
	}
	r.metrics[name] = m
}

// Counter is a count that only goes up.
type Counter struct {
	help string
	n    atomic.Uint64
}

// Counter registers and returns a counter.
func (r *Registry) Counter(name, help string) *Counter {
	c := &Counter{help: help}
	r.add(name, c)
	return c
}

// Add adds n to the counter.
func (c *Counter) Add(n uint64) { c.n.Add(n) }

// Value returns the current count.
func (c *Counter) Value() uint64 { return c.n.Load() }

func (c *Counter) write(w io.Writer, name string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, c.help, name, name, c.n.Load())
}

// Gauge is a value that goes up and down, read when metrics are written.
type Gauge struct {
	help string
	f    func() float64
}

// Gauge registers a gauge whose value f returns.
func (r *Registry) Gauge(name, help string, f func() float64) {
	r.add(name, &Gauge{help: help, f: f})
}

func (g *Gauge) write(w io.Writer, name string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, g.help, name, name, formatFloat(g.f()))
}

// Histogram counts observations into buckets with upper bounds.
type Histogram struct {
	help   string
	mu     sync.Mutex // guards counts, sum and total
	bounds []float64
	counts []uint64
	sum    float64
	total  uint64
}

// Histogram registers a histogram with the given ascending bucket bounds.
func (r *Registry) Histogram(name, help string, bounds []float64) *Histogram {
	h := &Histogram{help: help, bounds: bounds, counts: make([]uint64, len(bounds))}
	r.add(name, h)
	return h
}

// Observe records one value.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.mu.Lock()
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.sum += v
	h.total++
	h.mu.Unlock()
}

func (h *Histogram) write(w io.Writer, name string) {
	// Copy under the lock and write without it: a slow scraper must not hold up Observe,
	// which the ingest committer calls on every commit.
	h.mu.Lock()
	counts := slices.Clone(h.counts)
	sum, total := h.sum, h.total
	h.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s histogram\n", name, h.help, name)
	var cum uint64
	for i, b := range h.bounds {
		cum += counts[i]
		fmt.Fprintf(w, "%s_bucket{le=%q} %d\n", name, formatFloat(b), cum)
	}
	fmt.Fprintf(w, "%s_bucket{le=\"+Inf\"} %d\n%s_sum %s\n%s_count %d\n", name, total, name, formatFloat(sum), name, total)
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
