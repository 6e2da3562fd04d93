package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"time"
)

// On SQLite, the ingesting process does not update a contact's score columns in the
// commit that stores its events. It appends them to score_log in that commit instead,
// and applies the log to the contacts table, the latest line of each contact, later.
//
// Why: a group commit of a thousand events touches hundreds of contacts, and updating
// their rows dirties a 4 KiB page of the contacts table for nearly each one, written to
// the write-ahead log at every commit: about 2 KB of log per event, a fifth of what
// batch ingest writes with an agreement active. The log's lines are appended, a few
// hundred bytes each, and applying them once a second writes each contact's page once
// for all the commits of that second.
//
// Nothing is lost or read stale by a writer: the lines commit with their events, and
// the log is applied
//   - once its oldest line is applyAfter old (the flusher);
//   - at the start of every other write transaction of any process (DB.tx), so no
//     writer reads a contact's row behind the log or overwrites what it holds;
//   - inside an ingest transaction before it reads the row of a contact that has lines
//     (not in the score cache, scored afresh, merged);
//   - before the reads that show contacts' scores and stages (settle);
//   - when the store closes, and by the first transaction after a crash.
//
// Reports and dashboards that read the contacts table otherwise may lag up to a second.
type scoreLog struct {
	// ingester says this process is the one that appends lines. Only it can know that
	// the table is empty; other processes look at the table in every write transaction.
	ingester bool

	mu sync.Mutex
	// known says latest holds the latest line of every contact the table has lines
	// for, as this process appended them. It starts false: lines of an earlier run may
	// be there, and the flusher applies them first.
	known  bool
	latest map[int64]scoreRow
	oldest time.Time // when the oldest line was appended
	// seen is SQLite's data_version as this process's writer last saw it: it changes
	// when another process commits, which may have applied the log and written
	// contacts since, so that the lines in latest no longer hold. applying is the
	// version an applying transaction saw, for applied.
	seen, applying int64
	// present says the store has the table: commands that do not migrate may open an
	// older store.
	present bool
}

// applyAfter is how old the log's oldest line may grow before the flusher applies it.
const applyAfter = time.Second

func newScoreLog(ingester bool) *scoreLog {
	return &scoreLog{ingester: ingester, latest: map[int64]scoreRow{}}
}

// defers reports whether this process's ingest appends to the log.
func (db *DB) defers() bool { return db.scoreLog != nil && db.scoreLog.ingester }

// empty reports whether the log is known to hold no lines.
func (l *scoreLog) empty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.known && len(l.latest) == 0
}

// holdsAny reports whether any of ids may have lines in the log.
func (l *scoreLog) holdsAny(ids []int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.known {
		return true
	}
	for _, id := range ids {
		if _, ok := l.latest[id]; ok {
			return true
		}
	}
	return false
}

// due reports whether the flusher should apply the log.
func (l *scoreLog) due(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return (!l.known || len(l.latest) > 0) && now.Sub(l.oldest) >= applyAfter
}

// applied takes in that a committed transaction applied the log and emptied it.
func (l *scoreLog) applied() {
	if !l.ingester {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.known, l.seen = true, l.applying
	clear(l.latest)
	l.oldest = time.Time{}
}

// appended takes in the lines a committed transaction appended; version is the
// data_version it saw.
func (l *scoreLog) appended(rows []scoreRow, at time.Time, version int64) {
	if len(rows) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if version != l.seen {
		// Another process committed since: the lines known may be applied already,
		// and the table is what tells.
		l.known, l.seen = false, version
		clear(l.latest)
	}
	if len(l.latest) == 0 {
		l.oldest = at
	}
	for _, r := range rows {
		l.latest[r.id] = r.after(l.latest[r.id])
	}
}

// after is line r, appended after prev (the zero row if none), as the two apply: the
// stage moved when the later of them says it did, and its columns need writing if
// either changed them.
func (r scoreRow) after(prev scoreRow) scoreRow {
	r.staged = r.staged || prev.staged
	if r.stageAt == 0 {
		r.stageAt = prev.stageAt
	}
	return r
}

// lines returns the latest line of each contact, in id order, if the log knows them
// and no other process committed since (version is the data_version now).
func (l *scoreLog) lines(version int64) ([]scoreRow, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applying = version
	if !l.known || version != l.seen {
		return nil, false
	}
	out := make([]scoreRow, 0, len(l.latest))
	for _, r := range l.latest {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b scoreRow) int { return cmp.Compare(a.id, b.id) })
	return out, true
}

// applyScoreLog writes the latest line of each contact in the log to its row and
// empties the log, in tx. It reports whether it looked, which the caller passes on to
// scoreLog.applied once tx commits.
func (db *DB) applyScoreLog(ctx context.Context, tx *sql.Tx) (bool, error) {
	l := db.scoreLog
	if l == nil || l.empty() {
		return false, nil
	}
	var version int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&version); err != nil {
		return false, fmt.Errorf("apply score log: %w", err)
	}
	if lines, ok := l.lines(version); ok {
		return true, db.writeLines(ctx, tx, lines)
	}
	if !l.present {
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'score_log')`).Scan(&l.present)
		if err != nil {
			return false, fmt.Errorf("apply score log: %w", err)
		}
		if !l.present {
			return true, nil // a store not migrated to it has no lines
		}
	}
	// The latest line holds a contact's columns; its stage moved at the latest time any
	// line says it did, and the stage columns need writing if any line changed them.
	lines, err := rowsOf(ctx, tx, "apply score log", `SELECT g.seq, g.contact_id, g.score_fit, g.score_eng, g.grade, g.stage, g.funnel_stage,
			COALESCE(l.stage_at, 0), l.staged, g.scored_version, g.score_caps
		FROM (SELECT MAX(seq) AS seq, MAX(stage_at) AS stage_at, MAX(staged) AS staged FROM score_log GROUP BY contact_id) l
		JOIN score_log g ON g.seq = l.seq ORDER BY g.contact_id`, nil, func(s interface{ Scan(...any) error }) (scoreRow, error) {
		var r scoreRow
		err := s.Scan(&r.seq, &r.id, &r.fit, &r.eng, &r.grade, &r.stage, &r.funnel, &r.stageAt, &r.staged, &r.version, &r.caps)
		return r, err
	})
	if err != nil {
		return false, err
	}
	return true, db.writeLines(ctx, tx, lines)
}

// writeLines writes the latest lines of the log to contacts and takes them, and the
// lines before them, out of the log. Lines appended after the latest of them stay: a
// writer that knew of fewer lines than the table holds must not drop the others.
func (db *DB) writeLines(ctx context.Context, tx *sql.Tx, lines []scoreRow) error {
	if len(lines) == 0 {
		return nil
	}
	if _, err := db.dialect.updateScores(ctx, tx, lines, false); err != nil {
		return fmt.Errorf("apply score log: %w", err)
	}
	last := int64(0)
	for _, l := range lines {
		last = max(last, l.seq)
	}
	// Emptying the table whole is far cheaper than deleting its lines one by one.
	var newest int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM score_log`).Scan(&newest); err != nil {
		return fmt.Errorf("apply score log: %w", err)
	}
	var err error
	if newest <= last {
		_, err = tx.ExecContext(ctx, `DELETE FROM score_log`)
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM score_log WHERE seq <= $1`, last)
	}
	if err != nil {
		return fmt.Errorf("apply score log: %w", err)
	}
	return nil
}

// appendScores appends score rows to the log in tx, in place of updating contacts, and
// sets each row's seq.
func appendScores(ctx context.Context, tx *sql.Tx, rows []scoreRow) (map[int64]bool, error) {
	st, err := tx.PrepareContext(ctx, `INSERT INTO score_log (contact_id, score_fit, score_eng, grade, stage, funnel_stage,
		stage_at, staged, scored_version, score_caps) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`)
	if err != nil {
		return nil, fmt.Errorf("log scores: %w", err)
	}
	defer st.Close()
	out := make(map[int64]bool, len(rows))
	for i, r := range rows {
		var at any
		if r.stageAt != 0 {
			at = r.stageAt
		}
		res, err := st.ExecContext(ctx, r.id, r.fit, r.eng, r.grade, r.stage, r.funnel, at, r.staged, r.version, r.caps)
		if err != nil {
			return nil, fmt.Errorf("log scores of contact %d: %w", r.id, err)
		}
		if rows[i].seq, err = res.LastInsertId(); err != nil {
			return nil, fmt.Errorf("log scores of contact %d: %w", r.id, err)
		}
		out[r.id] = true
	}
	return out, nil
}

// settle applies the log before a read that shows contacts' scores or stages, so that
// it shows what ingest acknowledged. Only the ingesting process knows the log holds
// lines; in others it does nothing, and such reads may lag up to applyAfter.
func (db *DB) settle(ctx context.Context) error {
	if !db.defers() || db.scoreLog.empty() {
		return nil
	}
	return db.flushTx(ctx, true, func(*sql.Tx) error { return nil })
}

// flushScores applies the log whenever its oldest line is applyAfter old, until stop
// closes; then once more, so that a closing store leaves it empty. Every fileEvery it
// also files the events stored since the last filing (see filing.go).
func (db *DB) flushScores(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(applyAfter / 8)
	defer tick.Stop()
	ctx := context.Background()
	var filed time.Time
	for {
		select {
		case <-stop:
			if err := db.settle(ctx); err != nil && db.log != nil {
				db.log.Error("apply score log on close", "err", err)
			}
			return
		case now := <-tick.C:
			if now.Sub(filed) >= fileEvery {
				filed = now
				if err := db.fileTail(ctx); err != nil && db.log != nil {
					db.log.Error("file events", "err", err)
				}
			}
			if !db.scoreLog.due(now) {
				continue
			}
			if err := db.settle(ctx); err != nil && db.log != nil {
				db.log.Error("apply score log", "err", err)
			}
		}
	}
}
