package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"tandem"
	"tandem/metrics"
)

// gate is an Ingester that holds each commit until released and records group sizes,
// so a test can see what the committer groups together.
type gate struct {
	mu      sync.Mutex // guards groups, failed and seen
	groups  []int      // sizes of the commits that succeeded, in order
	failed  []int      // sizes of the commits that failed, in order
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
			g.failed = append(g.failed, len(msgs))
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

// waitQueued waits until n requests wait in c's queue.
func waitQueued(tb testing.TB, c *Committer, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.queue) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("%d requests queued after 5 s, want %d", len(c.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
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
	waitQueued(t, c, 2)
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

	var wg sync.WaitGroup
	submit := func(ids ...string) *error {
		err := new(error)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, *err = c.Submit(context.Background(), msgs(ids...))
		}()
		return err
	}
	first := submit("w")
	<-g.entered // the first commit is held, so the next three queue behind it and share one
	x, bad, y := submit("x"), submit("bad"), submit("y")
	waitQueued(t, c, 3)
	for range 5 { // the first commit, the group of three, then each of the three alone
		g.release <- struct{}{}
	}
	wg.Wait()
	if *first != nil || *x != nil || *bad == nil || *y != nil {
		t.Errorf("errors w=%v x=%v bad=%v y=%v, want only the poisoned request to fail", *first, *x, *bad, *y)
	}
	if !slices.Equal(g.failed, []int{3, 1}) {
		t.Errorf("failed commits = %v, want [3 1]: the group of three, then the poisoned request alone", g.failed)
	}
	if !slices.Equal(g.groups, []int{1, 1, 1}) {
		t.Errorf("commits = %v, want [1 1 1]: the first request, then the two good ones one by one", g.groups)
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
