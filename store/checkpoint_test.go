package store_test

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tandem"
	"tandem/ingest"
	"tandem/metrics"
)

// The write-ahead log starts over while writers keep the store busy without a pause, so
// it stays near the restart length rather than holding everything written since the
// server started.
func TestLogStartsOverUnderSteadyWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	db := mustOpenDSN(t, path)
	const restart = 256 // pages of 4 KiB
	db.SetLogRestart(restart)
	src := mustCreateSource(t, db)

	// Under the race detector the writer is tens of times slower: fewer rounds still
	// write the store's size to the log many times over, though so slow a writer may
	// let the log start over without help; there the test looks for data races.
	rounds, least := 300, int64(32<<20)
	if raceEnabled {
		rounds, least = 30, 4<<20
	}
	var (
		mu      sync.Mutex
		g       = &trafficGen{src: src, rng: rand.New(rand.NewPCG(1, 2)), now: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
		longest int64
		wg      sync.WaitGroup
	)
	// Four clients of one committer, as a server has: while it commits, the others'
	// requests queue for the next commit, so the store never has a moment without a
	// writer.
	c := ingest.NewCommitter(db, 0, metrics.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for range 4 {
		wg.Go(func() {
			for range rounds {
				mu.Lock()
				msgs := make([]*tandem.Message, 100)
				g.fill(msgs, func() int { return g.rng.IntN(20000) })
				mu.Unlock()
				if _, err := c.Submit(t.Context(), msgs); err != nil {
					t.Error(err)
					return
				}
				if fi, err := os.Stat(path + "-wal"); err == nil {
					mu.Lock()
					longest = max(longest, fi.Size())
					mu.Unlock()
				}
			}
		})
	}
	// A reader reads contacts' timelines all along, as the API does: a restart waits
	// for those reading older frames of the log.
	stop := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		for id := int64(1); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.ContactEvents(t.Context(), id%1000+1, tandem.Page{Limit: 50}); err != nil && tandem.ErrorCode(err) != tandem.ENotFound {
				t.Error(err)
				return
			}
		}
	})
	// Long reads, as a rescore's first phase makes: two readers taking turns, so that
	// one query is always open, each pausing while ingest is busy. A restart waits for
	// them too, so they break off their queries when it asks.
	var longRead int
	reader.Go(func() {
		var err error
		if longRead, err = db.ReadLikeRescore(t.Context(), stop); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	close(stop)
	reader.Wait()
	c.Close()
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// The writers' events make a store of megabytes, and many times that is written
	// to the log, which rewrites a page for every commit that changes it. A log that
	// starts over stays near what the writers add while the checkpointer copies; it
	// does not shrink, so its file's size is the longest it was.
	if fi.Size() < least {
		t.Fatalf("the store is %d bytes: too little was written to tell", fi.Size())
	}
	if longest > fi.Size() {
		t.Errorf("the log grew to %d bytes, longer than the store (%d bytes), under steady writing: it never started over", longest, fi.Size())
	}
	if longRead == 0 {
		t.Error("the long reads read no events")
	}
	t.Logf("store %d bytes, longest log %d bytes; %d events read by the long reads", fi.Size(), longest, longRead)
}
