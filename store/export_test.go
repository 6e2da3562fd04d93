package store

import (
	"cmp"
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// RetagTouches clears the events' touch tags and the contacts' lead times and sets them
// again from the events, as the migration that added them does for an upgraded store.
func (db *DB) RetagTouches(ctx context.Context) error {
	return db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		for _, q := range []string{`UPDATE events SET touch = NULL`, `UPDATE contacts SET lead_at = NULL`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return fillTouches(ctx, tx, db.dialect.name(), nil)
	})
}

// BeforeImportCreates runs f in each contacts import batch between the reading of what
// the batch names and the creating of its new people, until the returned func is called.
func BeforeImportCreates(f func()) (restore func()) {
	testHookBeforeCreate = f
	return func() { testHookBeforeCreate = nil }
}

// ForgetAddress deletes the row that knows a contact by email address, which nothing
// but a damaged store lacks: tests use it to reach what only such a store allows.
func (db *DB) ForgetAddress(ctx context.Context, email string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM identities WHERE kind = 'email' AND value = $1`, email)
	return err
}

// SetLogRestart sets the length of a SQLite store's write-ahead log, in pages, past
// which the checkpointer restarts it.
func (db *DB) SetLogRestart(pages int) {
	db.checkpointer.restartAt.Store(int64(pages))
}

// ReadLikeRescore reads the events table, properties and all, as a rescore's first phase
// does, until stop is closed: two readers taking turns at stretches of it, so that one
// query or another is always open, each ending early when a restart of the log asks.
// It returns how many events it read.
func (db *DB) ReadLikeRescore(ctx context.Context, stop <-chan struct{}) (int, error) {
	const stretch = 2000
	var (
		a     = &active{readsProperties: true}
		all   = &condition{sql: "1 = 1"}
		read  atomic.Int64
		first error
		mu    sync.Mutex
		wg    sync.WaitGroup
	)
	read1 := func(seq int64, pace *pacer) error {
		var last int64
		if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&last); err != nil {
			return err
		}
		after := seq * stretch % max(last, 1)
		events, err := db.readStretch(ctx, a, all, after, min(after+stretch, last), -1, pace)
		read.Add(int64(len(events)))
		return err
	}
	for r := range 2 {
		wg.Go(func() {
			pace := newPacer(db)
			for seq := int64(r); ; seq += 2 {
				select {
				case <-stop:
					return
				default:
				}
				if err := read1(seq, pace); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return int(read.Load()), first
}

// ForgetScoreForTest makes a contact's score as if no version had ever scored it.
func (db *DB) ForgetScoreForTest(ctx context.Context, id int64) error {
	db.scoreGen.Add(1)
	return db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE contacts SET scored_version = 0, score_eng = 0, score_fit = 0, score_caps = '{}' WHERE id = $1`, id)
		return err
	})
}

// ScoredVersionForTest returns the version label of a contact's score columns.
func (db *DB) ScoredVersionForTest(ctx context.Context, id int64) (int, error) {
	var v int
	err := db.read.QueryRowContext(ctx, `SELECT scored_version FROM contacts WHERE id = $1`, id).Scan(&v)
	return v, err
}

// FileEvents files the events stored since the last filing, as the flusher does once
// a second.
func (db *DB) FileEvents(ctx context.Context) error { return db.fileTail(ctx) }

// SetNoRecord keeps rescores from writing or replaying the score record, so that they
// read every event.
func (db *DB) SetNoRecord(v bool) { db.noRecord = v }

// BeforeReplay runs f when a rescore has found the score record it replays, until the
// returned func is called.
func BeforeReplay(f func()) (restore func()) {
	testHookBeforeReplay = f
	return func() { testHookBeforeReplay = nil }
}
