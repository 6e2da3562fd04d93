package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies SQLite's write-ahead log into the database file in the background,
// off the writer's path. A passive checkpoint never waits for the writer or readers; it
// copies what it can, and the next one continues.
//
// The log only starts over from its beginning once every frame in it is copied, which a
// busy writer never lets a background checkpoint see: it appends while the copy runs.
// So once the log is long, the checkpointer copies without holding anything until few
// frames are left, then takes the process's write slot (writeSlot, which every DB.tx
// holds) and restarts the log: SQLite's write lock is free then, so the restart only
// copies the last frames and waits, briefly, for readers of older ones. The writer waits
// for the slot on a channel, which wakes it the moment the restart ends. Before, the
// restart took SQLite's write lock while the writer polled for it with SQLite's busy
// handler (sleeps of 1, 2, 5, 10 ms, ...), waiting up to twice as long as the copy took.
//
// A restart also waits for readers of the log's frames, and long reads (a rescore's first
// phase, two readers taking turns for a minute or more) always held one: the log grew to
// 2 GB under ingest, and cutting it back to the journal_size_limit held the next write
// for two seconds. So long reads take the read side of breaks, and end their queries
// early when breakAsked says a restart waits: it takes the write side first.
type checkpointer struct {
	conn   *sql.DB
	writer *writeSlot
	breaks sync.RWMutex
	asked  atomic.Bool // a restart waits for breaks
	// restartAt is the length of the log, in pages, past which it is restarted:
	// restartFrames, but for tests.
	restartAt atomic.Int64
	stop      chan struct{}
	wg        sync.WaitGroup
}

// writeSlot is held by each write transaction that DB.tx runs, and by the checkpointer
// while it restarts the log. Waiting for it ends with the waiter's context. It counts
// its waiters, so that long work (a rescore's writes) can step aside for them.
type writeSlot struct {
	held    chan struct{}
	waiting atomic.Int32
}

func newWriteSlot() *writeSlot { return &writeSlot{held: make(chan struct{}, 1)} }

func (w *writeSlot) acquire(done <-chan struct{}) bool {
	select {
	case w.held <- struct{}{}:
		return true
	default:
	}
	w.waiting.Add(1)
	defer w.waiting.Add(-1)
	select {
	case w.held <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

func (w *writeSlot) release() { <-w.held }

// wanted reports whether a writer waits for the slot.
func (w *writeSlot) wanted() bool { return w.waiting.Load() > 0 }

// restartFrames is the length of the log, in pages, past which it is restarted. What the
// writer waits for at a restart no longer grows with the log, so restarts are rare:
// at 2,048 pages a flood of batches passed the length every round and lost a tenth of
// its throughput to them. A log of 15,360 pages and their frame headers stays within
// the 64 MiB journal_size_limit, so the file is not cut back after each restart.
const restartFrames = 15360

// Busy timeouts of the checkpointer's connection, in milliseconds: a restart holds this
// process's writers while it waits for readers of older frames, so it gives up soon and a
// later round tries again; the last checkpoint, at close, waits longer.
const (
	restartBusyMillis = 20
	closeBusyMillis   = 1000
)

// After readers keep a restart from ending, the checkpointer waits before it tries
// again: a round at first, twice as long after each failure since, up to restartRetry.
// A reader that overlapped one try costs the log little growth; readers that keep at
// it (a rescore's, a long report's) cost the writers at most a fiftieth of their time.
const restartRetry = time.Second

func newCheckpointer(conn *sql.DB, writer *writeSlot) *checkpointer {
	c := &checkpointer{conn: conn, writer: writer, stop: make(chan struct{})}
	c.restartAt.Store(restartFrames)
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer c.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var (
		retryAt time.Time     // after a restart that readers kept from ending
		backoff time.Duration // how long the last wait was
	)
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// A busy checkpoint (another process checkpoints) only means this round
			// copied less.
			logged, copied, ok := c.checkpoint("PASSIVE")
			if !ok || int64(logged) <= c.restartAt.Load() || time.Now().Before(retryAt) {
				continue
			}
			// What the writer waits for is syncing and copying the frames written
			// since the last copy, so copies without the slot go first until few are
			// left: under a flood of batches the writer adds megabytes during each.
			logged, copied = c.copyDown(logged, copied)
			c.asked.Store(true)
			c.breaks.Lock()
			// The long reads kept the copies from reaching their frames: copy those
			// now, with the writer still running.
			c.copyDown(logged, copied)
			if !c.writer.acquire(c.stop) {
				c.asked.Store(false)
				c.breaks.Unlock()
				return
			}
			// If readers of older frames outlast the busy timeout, or another
			// process is writing, the log grows until a later round. Each try holds
			// this process's writers for the timeout, so the next waits.
			_, _, ok = c.checkpoint("RESTART")
			c.writer.release()
			c.asked.Store(false)
			c.breaks.Unlock()
			if ok {
				backoff = 0
				continue
			}
			backoff = min(max(2*backoff, 100*time.Millisecond), restartRetry)
			retryAt = time.Now().Add(backoff)
		}
	}
}

// copyDown copies the log until few frames are left to copy, for at most eight
// passive checkpoints, and returns the log's length and how much of it is copied.
func (c *checkpointer) copyDown(logged, copied int) (int, int) {
	for i := 0; i < 8 && logged-copied > 256; i++ {
		var ok bool
		if logged, copied, ok = c.checkpoint("PASSIVE"); !ok {
			break
		}
	}
	return logged, copied
}

// longRead begins a read that may run long; it should end early when breakAsked
// reports true, and call done after.
func (c *checkpointer) longRead() (done func()) {
	c.breaks.RLock()
	return c.breaks.RUnlock
}

// breakAsked reports whether a restart of the log waits for long reads to end.
func (c *checkpointer) breakAsked() bool { return c.asked.Load() }

// checkpoint runs a checkpoint of the given mode and returns the length of the log and
// how much of it is copied, in pages; ok is false if it could not run to its end.
func (c *checkpointer) checkpoint(mode string) (logged, copied int, ok bool) {
	var busy int
	err := c.conn.QueryRow(`PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &logged, &copied)
	return logged, copied, err == nil && busy == 0
}

// close stops the background checkpoints and folds the whole log into the database
// file, so that a stopped store is one file. Transactions of this process end first.
func (c *checkpointer) close() error {
	close(c.stop)
	c.wg.Wait()
	c.writer.acquire(nil)
	defer c.writer.release()
	_, err := c.conn.Exec(`PRAGMA busy_timeout = ` + strconv.Itoa(closeBusyMillis))
	if err == nil {
		// Busy (another process is reading or writing) is no failure: everything is
		// committed, and the log is folded in when the last process closes the store.
		_, err = c.conn.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := c.conn.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("final checkpoint: %w", err)
	}
	return nil
}
