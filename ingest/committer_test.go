package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"

	"tandem"
	"tandem/metrics"
)

// gate is an Ingester that holds each commit until released and records group sizes,
// so a test can see what the committer groups together.
type gate struct {
	mu      sync.Mutex
	groups  []int
	seen    map[string]bool
	entered chan struct{}
	release chan struct{}
	poison  string // a message id whose group fails
}

func (g *gate) Ingest(ctx context.Context, msgs []*tandem.Message) ([]tandem.Outcome, error) {
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]tandem.Outcome, len(msgs))
	for i, m := range msgs {
		if m.MessageID == g.poison {
			return nil, errors.New("poisoned")
		}
		out[i] = tandem.Stored
		if g.seen[m.MessageID] {
			out[i] = tandem.Duplicate
		}
	}
	for _, m := range msgs {
		g.seen[m.MessageID] = true
	}
	g.groups = append(g.groups, len(msgs))
	return out, nil
}

func newGate() *gate {
	return &gate{seen: map[string]bool{}, entered: make(chan struct{}, 100), release: make(chan struct{}, 100)}
}

func msgs(ids ...string) []*tandem.Message {
	var ms []*tandem.Message
	for _, id := range ids {
		ms = append(ms, &tandem.Message{MessageID: id})
	}
	return ms
}

func TestCommitterGroupsWaitingRequests(t *testing.T) {
	g := newGate()
	c := NewCommitter(g, 0, metrics.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer c.Close()

	var wg sync.WaitGroup
	submit := func(ids ...string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Submit(context.Background(), msgs(ids...)); err != nil {
				t.Error(err)
			}
		}()
	}
	submit("a")
	<-g.entered // the first commit is under way; the next requests queue behind it
	submit("b", "c")
	submit("d")
	for len(c.queue) < 2 {
		// wait until both are queued
	}
	g.release <- struct{}{}
	<-g.entered
	g.release <- struct{}{}
	wg.Wait()
	if len(g.groups) != 2 || g.groups[0] != 1 || g.groups[1] != 3 {
		t.Errorf("commit groups = %v, want [1 3]: the two waiting requests share one commit", g.groups)
	}
}

func TestCommitterIsolatesAFailingRequest(t *testing.T) {
	g := newGate()
	g.poison = "bad"
	c := NewCommitter(g, 0, metrics.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer c.Close()
	for range 10 {
		g.release <- struct{}{}
	}
	go func() {
		for range g.entered {
		}
	}()
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, ids := range [][]string{{"x"}, {"bad"}, {"y"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Submit(context.Background(), msgs(ids...))
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Errorf("errors = %v, want only the poisoned request to fail", errs)
	}
}

func TestCommitterCloseDrainsAndRefuses(t *testing.T) {
	g := newGate()
	c := NewCommitter(g, 0, metrics.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	done := make(chan []tandem.Outcome)
	go func() {
		out, _ := c.Submit(context.Background(), msgs("a", "a2"))
		done <- out
	}()
	<-g.entered
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	g.release <- struct{}{}
	if out := <-done; len(out) != 2 || out[0] != tandem.Stored {
		t.Errorf("in-flight request got %v, want it committed", out)
	}
	<-closed
	if _, err := c.Submit(context.Background(), msgs("b")); !IsClosed(err) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
}
