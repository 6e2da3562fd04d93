package store

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tandem"
)

// TestContactEventsMigration upgrades a SQLite store whose events are indexed by contact
// to contact_events, and follows filed and unfiled events through a merge, a re-tag
// and a filing.
func TestContactEventsMigration(t *testing.T) {
	ctx := t.Context()
	db := openMigratedTo(t, 19)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO sources (id, name, write_key_hash, created_at) VALUES (1, 'web', 'h', 0)`)
	exec(`INSERT INTO contacts (id, created_at, updated_at) VALUES (1, 0, 0), (2, 0, 0)`)
	event := func(id int64, contact, visitor any, ts int64, touch any) {
		exec(`INSERT INTO events (id, source_id, message_id, type, contact_id, visitor_id, timestamp, client_ts, received_at, touch)
			VALUES ($1, 1, $2, 'track', $3, $4, $5, $5, $5, $6)`, id, fmt.Sprint("m", id), contact, visitor, ts, touch)
	}
	event(1, 1, nil, 30, nil)
	event(2, nil, 7, 10, nil) // a visitor's, not filed under anyone
	event(3, 2, nil, 20, "event:demo")
	event(4, 1, nil, 10, "utm:spring")
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	filed := func(want ...string) {
		t.Helper()
		got, err := rowsOf(ctx, db.read, "entries", `SELECT contact_id, timestamp, id, touch FROM contact_events ORDER BY contact_id, timestamp, id`, nil,
			func(s interface{ Scan(...any) error }) (string, error) {
				var c, ts, id int64
				var touch sql.NullString
				err := s.Scan(&c, &ts, &id, &touch)
				return fmt.Sprint(c, "/", ts, "/", id, "/", touch.String), err
			})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("contact_events = %q, want %q", got, want)
		}
	}
	timeline := func(contact int64, want ...int64) {
		t.Helper()
		evs, err := db.ContactEvents(ctx, contact, tandem.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, e := range evs {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("contact %d's events = %v, want %v", contact, got, want)
		}
	}
	upto := func(want int64) {
		t.Helper()
		var got int64
		if err := db.read.QueryRowContext(ctx, `SELECT upto FROM contact_events_filed`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("filed up to event %d, want %d", got, want)
		}
	}
	filed("1/10/4/utm:spring", "1/30/1/", "2/20/3/event:demo")
	upto(4)
	timeline(1, 1, 4)
	var index int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'events_contact'`).Scan(&index); err != nil || index != 0 {
		t.Errorf("events_contact still there (%d, %v)", index, err)
	}

	// Two events after the last filing: one of contact 2, one of the visitor.
	event(5, 2, nil, 5, "event:demo")
	event(6, nil, 7, 40, nil)
	timeline(2, 3, 5)
	// The visitor turns out to be contact 1, and contact 2 merges into 1: filed entries
	// move with their events; the unfiled are read from events as they are now.
	exec(`UPDATE events SET contact_id = 1 WHERE visitor_id = 7 AND contact_id IS NULL`)
	exec(`UPDATE events SET contact_id = 1 WHERE id IN (`+db.dialect.contactEvents("id", "contact_id = $1", "")+`)`, 2)
	exec(`UPDATE events SET touch = 'utm:fall' WHERE id IN (3, 4)`)
	filed("1/10/2/", "1/10/4/utm:fall", "1/20/3/utm:fall", "1/30/1/")
	timeline(1, 6, 1, 3, 4, 2, 5)
	timeline(2)

	if err := db.fileTail(ctx); err != nil {
		t.Fatal(err)
	}
	upto(6)
	filed("1/5/5/event:demo", "1/10/2/", "1/10/4/utm:fall", "1/20/3/utm:fall", "1/30/1/", "1/40/6/")
	timeline(1, 6, 1, 3, 4, 2, 5)
}

// TestTailReadAsideMayGoStale checks that a tail read before the writer is taken is not
// filed when an event of it moved meanwhile, and that the filing then reads it again.
func TestTailReadAsideMayGoStale(t *testing.T) {
	ctx := t.Context()
	db := openMigratedTo(t, 0)
	for _, q := range []string{
		`INSERT INTO sources (id, name, write_key_hash, created_at) VALUES (1, 'web', 'h', 0)`,
		`INSERT INTO contacts (id, created_at, updated_at) VALUES (1, 0, 0), (2, 0, 0)`,
		`INSERT INTO events (id, source_id, message_id, type, contact_id, timestamp, client_ts, received_at)
			VALUES (1, 1, 'm1', 'track', 1, 10, 10, 10), (2, 1, 'm2', 'track', 1, 20, 20, 20)`,
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	read, err := db.readTailAside(ctx)
	if err != nil || read == nil || len(read.entries) != 2 {
		t.Fatalf("tail read aside = %+v, %v; want its two events", read, err)
	}
	if _, err := db.write.ExecContext(ctx, `UPDATE events SET contact_id = 2 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	err = db.txAside(ctx, func(tx *sql.Tx, _ time.Time) error {
		if filed, err := read.file(ctx, tx); err != nil || filed {
			t.Errorf("filing a tail read before a move = %v, %v; want false", filed, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.fileTail(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	got, err = rowsOf(ctx, db.read, "entries", `SELECT contact_id || '/' || id FROM contact_events ORDER BY id`, nil,
		func(s interface{ Scan(...any) error }) (string, error) {
			var e string
			return e, s.Scan(&e)
		})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1/1", "2/2"}; !slices.Equal(got, want) {
		t.Errorf("filed %q, want %q", got, want)
	}
}

// TestFilingWaitsForMigration checks that the flusher of a store opened before it is
// migrated files nothing, and reports no error, until migration 20 is there.
func TestFilingWaitsForMigration(t *testing.T) {
	ctx := t.Context()
	db := openMigratedTo(t, 19)
	if err := db.fileTail(ctx); err != nil {
		t.Errorf("filing before migration 20: %v, want nothing done", err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.fileTail(ctx); err != nil || !db.filing.Load() {
		t.Errorf("filing after migration 20: %v, filing %v; want it to run", err, db.filing.Load())
	}
}

// openMigratedTo opens a new SQLite store, closed when t ends, migrated up to version
// (all migrations with 0).
func openMigratedTo(t *testing.T, version int64) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "tandem.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.migrate(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return db
}
