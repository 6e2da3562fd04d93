package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/pressly/goose/v3"
)

// On SQLite, the events of each known contact are found through contact_events, a
// table keyed by (contact_id, timestamp, id) that holds each event's touch too, rather
// than through an index on events. An ingest commit does not write it: the events
// stored since the last filing, the tail, are filed into it in contact order about
// once a second, and contact_events_filed holds the id of the last event filed.
//
// Why: a group commit's events come from hundreds of people spread over the whole key
// range, so an index by contact took an entry on a page of its own for nearly each
// event, and each dirty page is a 4 KiB frame in the write-ahead log and a copy at the
// checkpoint: 45 % of what batch ingest wrote. Filed a second at a time, the entries
// of one person share a page, and each page is written once for all the commits of
// that second.
//
// Nothing is read short: a query of a contact's events (sqlite.contactEvents) reads the
// filed entries and the tail of events after contact_events_filed.upto, in the same
// snapshot. The tail is read by id range: a second's tail under a flood of events,
// 40,000 rows, takes about 4 ms to read (a narrow index in id order made no difference:
// the cost is SQLite's per row), so a contact's timeline takes the read side of the
// checkpointer's breaks (see checkpointer) and a restart of the log waits for it rather
// than failing on it. Two triggers keep filed entries in step with the events they
// point at: a merge that moves events to another contact moves their entries, and a
// campaign that re-tags events re-tags their entries. Events in the tail need neither:
// they are filed as they are when filed. An event's timestamp and id never change.
//
// PostgreSQL keeps its index on events: it writes an index page to its log only once
// between checkpoints, and its batch budget is met with it.

// fileEvery is how often the ingesting process files the tail.
const fileEvery = time.Second

// fileBatch is the most events one filing transaction reads and sorts.
const fileBatch = 100_000

// fileKeep is how long a tail an ingest transaction that must read contacts' events
// leaves as it is; a longer one it files first, so that the tail it reads is short.
const fileKeep = 4096

func (sqlite) contactEvents(cols, cond, order string) string {
	filed := `SELECT ` + cols + ` FROM contact_events WHERE ` + cond
	if order != "" {
		filed = `SELECT ` + cols + ` FROM (` + filed + ` ` + order + `)`
	}
	return filed + ` UNION ALL SELECT ` + cols + ` FROM events
		WHERE id > (SELECT upto FROM contact_events_filed) AND contact_id IS NOT NULL AND (` + cond + `)`
}

func (postgres) contactEvents(cols, cond, order string) string {
	return `SELECT ` + cols + ` FROM events WHERE contact_id IS NOT NULL AND (` + cond + `) ` + order
}

// filedEvent is an entry of contact_events.
type filedEvent struct {
	contact, ts, id int64
	touch           sql.NullString
}

// tail is the events after the last filing, up to fileBatch of them, as one snapshot
// of the store saw them: entries in key order.
type tail struct {
	upto, last, moved int64
	entries           []filedEvent
}

// readTail reads the tail through q when it is longer than keep, and returns nil when
// it is not.
func readTail(ctx context.Context, q querier, keep int64) (*tail, error) {
	t := &tail{}
	err := q.QueryRowContext(ctx, `SELECT upto, moved, (SELECT COALESCE(MAX(id), 0) FROM events) FROM contact_events_filed`).Scan(&t.upto, &t.moved, &t.last)
	if err != nil {
		return nil, fmt.Errorf("file events: %w", err)
	}
	if t.last-t.upto <= keep {
		return nil, nil
	}
	t.last = min(t.last, t.upto+fileBatch)
	t.entries, err = rowsOf(ctx, q, "file events", `SELECT contact_id, timestamp, id, touch FROM events
		WHERE id > $1 AND id <= $2 AND contact_id IS NOT NULL`, []any{t.upto, t.last},
		func(s interface{ Scan(...any) error }) (filedEvent, error) {
			var e filedEvent
			err := s.Scan(&e.contact, &e.ts, &e.id, &e.touch)
			return e, err
		})
	if err != nil {
		return nil, err
	}
	// In key order, the entries of a page go in one after another.
	slices.SortFunc(t.entries, func(x, y filedEvent) int {
		return cmp.Or(cmp.Compare(x.contact, y.contact), cmp.Compare(x.ts, y.ts), cmp.Compare(x.id, y.id))
	})
	return t, nil
}

// file writes t's entries in tx and reports true, unless tx sees the tail other than
// t does: filed since, or an event of it moved or re-tagged since.
func (t *tail) file(ctx context.Context, tx *sql.Tx) (bool, error) {
	var upto, moved int64
	if err := tx.QueryRowContext(ctx, `SELECT upto, moved FROM contact_events_filed`).Scan(&upto, &moved); err != nil {
		return false, fmt.Errorf("file events: %w", err)
	}
	if upto != t.upto || moved != t.moved {
		return false, nil
	}
	// No entry can be there already: the triggers add none for the tail.
	if _, err := insertValues(ctx, tx, sqlite{}, `INSERT OR IGNORE INTO contact_events (contact_id, timestamp, id, touch)`, "", 4, len(t.entries),
		func(i int, args []any) []any {
			e := &t.entries[i]
			return append(args, e.contact, e.ts, e.id, e.touch)
		}, nil); err != nil {
		return false, fmt.Errorf("file events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contact_events_filed SET upto = $1`, t.last); err != nil {
		return false, fmt.Errorf("file events: %w", err)
	}
	return true, nil
}

func (sqlite) fileEvents(ctx context.Context, tx *sql.Tx, keep int64) error {
	t, err := readTail(ctx, tx, keep)
	if err != nil || t == nil {
		return err
	}
	_, err = t.file(ctx, tx)
	return err
}

func (postgres) fileEvents(context.Context, *sql.Tx, int64) error { return nil }

// fileTail files the whole tail, a batch a transaction, each taking its turn at the
// writer with ingest. It reads each batch before it takes the writer, and reads it
// again in the writer's transaction only if the batch changed meanwhile.
func (db *DB) fileTail(ctx context.Context) error {
	if !db.filing.Load() {
		var ok bool
		err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'contact_events_filed')`).Scan(&ok)
		if err != nil || !ok {
			return err
		}
		db.filing.Store(true)
	}
	for {
		t, err := db.readTailAside(ctx)
		if err != nil || t == nil {
			return err
		}
		began := time.Now()
		if err := db.flushTx(ctx, false, func(tx *sql.Tx) error {
			filed, err := t.file(ctx, tx)
			if err == nil && !filed {
				err = db.dialect.fileEvents(ctx, tx, 0)
			}
			return err
		}); err != nil {
			return err
		}
		if db.log != nil {
			db.log.Debug("filed events by contact", "events", len(t.entries), "took", time.Since(began))
		}
		if t.last-t.upto < fileBatch {
			return nil
		}
	}
}

// readTailAside reads the tail in a read transaction of its own, one snapshot. It
// reads for tens of milliseconds under a flood of events, as a long read: a restart of
// the log waits for it to end rather than failing on it.
func (db *DB) readTailAside(ctx context.Context) (*tail, error) {
	var t *tail
	err := db.readAside(ctx, func(conn *sql.Conn) error {
		tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return fmt.Errorf("file events: %w", err)
		}
		defer tx.Rollback()
		t, err = readTail(ctx, tx, 0)
		return err
	})
	return t, err
}

// readAside runs fn on a connection of the read pool as a long read (see
// checkpointer). It takes the connection first: a restart of the log, which waits for
// long reads, must never wait for one that waits for a connection.
func (db *DB) readAside(ctx context.Context, fn func(conn *sql.Conn) error) error {
	conn, err := db.read.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if db.checkpointer != nil {
		defer db.checkpointer.longRead()()
	}
	return fn(conn)
}

// contactEventsMigration moves SQLite's index of events by contact to contact_events,
// filed up to the last event. PostgreSQL keeps its index.
func contactEventsMigration(engine string, log *slog.Logger) *goose.Migration {
	return sqliteMigration(engine, log, 20, "filing the events by contact, once; on a large store this takes a minute",
		[]string{
			`CREATE TABLE contact_events (
				contact_id INTEGER NOT NULL,
				timestamp INTEGER NOT NULL,
				id INTEGER NOT NULL,
				touch TEXT,
				PRIMARY KEY (contact_id, timestamp, id)
			) WITHOUT ROWID`,
			`INSERT INTO contact_events SELECT contact_id, timestamp, id, touch FROM events
				WHERE contact_id IS NOT NULL ORDER BY contact_id, timestamp, id`,
			// moved counts the moves and re-tags of events not filed yet: the filer
			// reads the tail before it takes the writer, and reads it again if it
			// changed meanwhile.
			`CREATE TABLE contact_events_filed (upto INTEGER NOT NULL, moved INTEGER NOT NULL)`,
			`INSERT INTO contact_events_filed SELECT COALESCE(MAX(id), 0), 0 FROM events`,
			`DROP INDEX events_contact`,
			// A merge moves a filed event to its survivor, and a visitor's filed event
			// to the contact it turned out to be.
			`CREATE TRIGGER contact_events_moved AFTER UPDATE OF contact_id ON events
			WHEN NEW.id <= (SELECT upto FROM contact_events_filed) AND OLD.contact_id IS NOT NEW.contact_id
			BEGIN
				DELETE FROM contact_events WHERE contact_id = OLD.contact_id AND timestamp = OLD.timestamp AND id = OLD.id;
				INSERT INTO contact_events SELECT NEW.contact_id, NEW.timestamp, NEW.id, NEW.touch WHERE NEW.contact_id IS NOT NULL;
			END`,
			`CREATE TRIGGER contact_events_touched AFTER UPDATE OF touch ON events
			WHEN NEW.id <= (SELECT upto FROM contact_events_filed) AND NEW.contact_id IS NOT NULL AND OLD.touch IS NOT NEW.touch
			BEGIN
				UPDATE contact_events SET touch = NEW.touch WHERE contact_id = NEW.contact_id AND timestamp = NEW.timestamp AND id = NEW.id;
			END`,
			`CREATE TRIGGER contact_events_tail_moved AFTER UPDATE OF contact_id, touch ON events
			WHEN NEW.id > (SELECT upto FROM contact_events_filed)
			BEGIN
				UPDATE contact_events_filed SET moved = moved + 1;
			END`,
		},
		[]string{`DROP TRIGGER contact_events_tail_moved`, `DROP TRIGGER contact_events_touched`, `DROP TRIGGER contact_events_moved`,
			`CREATE INDEX events_contact ON events (contact_id, timestamp, id, touch) WHERE contact_id IS NOT NULL`,
			`DROP TABLE contact_events_filed`, `DROP TABLE contact_events`})
}
