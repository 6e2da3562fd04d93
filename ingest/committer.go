package ingest

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"tandem"
	"tandem/metrics"
)

// ErrClosed is returned by Submit once the committer has begun to shut down.
var ErrClosed = tandem.Errorf(tandem.EUnavailable, "the server is shutting down; retry")

// Committer commits the messages of concurrent requests together. It commits as soon as
// the previous commit ends, with everything that arrived meanwhile: a lone request waits
// for one commit, and a flood shares each commit, so its cost is paid once per group
// rather than once per request.
type Committer struct {
	store     tandem.Ingester
	maxEvents int
	log       *slog.Logger

	queue chan *request
	quit  chan struct{}
	done  chan struct{}

	mu     sync.RWMutex // guards closed against Submit racing Close
	closed bool

	events, dups, commits, failures *metrics.Counter
	batchSize, commitSeconds        *metrics.Histogram
}

type request struct {
	ctx  context.Context
	msgs []*tandem.Message
	out  []tandem.Outcome
	err  error
	done chan struct{}
}

// NewCommitter starts a committer that stores into s, committing at most maxEvents
// messages at once, and registers its metrics in reg.
func NewCommitter(s tandem.Ingester, maxEvents int, reg *metrics.Registry, log *slog.Logger) *Committer {
	if maxEvents <= 0 {
		maxEvents = 10000
	}
	c := &Committer{
		store: s, maxEvents: maxEvents, log: log,
		queue: make(chan *request, 4096), quit: make(chan struct{}), done: make(chan struct{}),
		events:        reg.Counter("tandem_ingest_events_total", "Events stored."),
		dups:          reg.Counter("tandem_ingest_duplicates_total", "Messages not stored again because their messageId was seen before."),
		commits:       reg.Counter("tandem_ingest_commits_total", "Ingest transactions committed."),
		failures:      reg.Counter("tandem_ingest_commit_failures_total", "Ingest transactions that failed."),
		batchSize:     reg.Histogram("tandem_ingest_commit_events", "Messages per ingest commit.", []float64{1, 10, 100, 500, 1000, 2500, 5000, 10000}),
		commitSeconds: reg.Histogram("tandem_ingest_commit_seconds", "Time an ingest commit takes.", []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1}),
	}
	reg.Gauge("tandem_ingest_queue_requests", "Requests waiting for the next commit.", func() float64 { return float64(len(c.queue)) })
	go c.run()
	return c
}

// Submit commits msgs and returns one outcome per message, once they are durable. If it
// returns an error, none of them was stored.
func (c *Committer) Submit(ctx context.Context, msgs []*tandem.Message) ([]tandem.Outcome, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	r := &request{ctx: ctx, msgs: msgs, done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return nil, ErrClosed
	}
	c.queue <- r
	c.mu.RUnlock()
	// Once queued, the request is committed even if the client goes away, so that what
	// the commit did and what the client was told can never disagree in a harmful way:
	// a client that gave up retries, and the retry is a duplicate.
	<-r.done
	return r.out, r.err
}

// Close stops taking requests, commits those already queued, and returns when done.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	<-c.done
}

// smallRequest is the size under which a request alone is worth waiting a moment for
// company: a commit's fixed cost is most of the cost of so few events.
const smallRequest = 10

func (c *Committer) run() {
	defer close(c.done)
	for {
		var first *request
		select {
		case first = <-c.queue:
		case <-c.quit:
			// Submit holds the read lock while queueing, and closed is set, so nothing
			// more arrives: drain what is there.
			for {
				select {
				case r := <-c.queue:
					c.commit([]*request{r})
				default:
					return
				}
			}
		}
		group, n := []*request{first}, len(first.msgs)
		if len(first.msgs) < smallRequest && len(c.queue) == 0 {
			// A lone small request: others being decoded may be a moment from the queue,
			// so they run first. On an idle server this costs nothing; under many single
			// calls it turns commits of one event into fewer, larger ones. A writer with
			// requests waiting, or with a batch to commit, does not give up its turn: it
			// would wait behind the decoding of other batches.
			runtime.Gosched()
		}
	more:
		for n < c.maxEvents {
			select {
			case r := <-c.queue:
				group = append(group, r)
				n += len(r.msgs)
			default:
				break more
			}
		}
		c.commit(group)
	}
}

// commit stores a group of requests in one transaction. If that fails, each request is
// tried alone, so one bad request cannot fail the others.
func (c *Committer) commit(group []*request) {
	err := c.store1(group)
	if err != nil && len(group) > 1 {
		for _, r := range group {
			c.store1([]*request{r})
		}
		return
	}
}

func (c *Committer) store1(group []*request) error {
	var msgs []*tandem.Message
	if len(group) == 1 {
		msgs = group[0].msgs
	} else {
		for _, r := range group {
			msgs = append(msgs, r.msgs...)
		}
	}
	start := time.Now()
	out, err := c.store.Ingest(context.WithoutCancel(group[0].ctx), msgs)
	c.commitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		c.failures.Add(1)
		if len(group) == 1 {
			c.log.Error("ingest commit failed", "messages", len(msgs), "err", err)
			group[0].err = err
			close(group[0].done)
		}
		return err
	}
	c.commits.Add(1)
	c.batchSize.Observe(float64(len(msgs)))
	var stored, dup uint64
	for _, o := range out {
		if o == tandem.Stored {
			stored++
		} else {
			dup++
		}
	}
	c.events.Add(stored)
	c.dups.Add(dup)
	for _, r := range group {
		r.out, out = out[:len(r.msgs)], out[len(r.msgs):]
		close(r.done)
	}
	return nil
}

// IsClosed reports whether err means the committer is shutting down.
func IsClosed(err error) bool { return errors.Is(err, ErrClosed) }
