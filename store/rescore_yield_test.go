package store

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"tandem"
)

// TestRescoreStepsAsideForWaitingWriters checks that a rescore, while another writer
// waits for the write slot, commits every rescorePiece contacts so that the writer gets
// its turn, rather than a whole batch at a time; that alone, it writes several batches
// in one transaction; and that all of these add up to the same scores. A trigger
// records the rescore's cursor at each of its commits.
func TestRescoreStepsAsideForWaitingWriters(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, `name: t
timezone: UTC
scoring:
  engagement:
    half_life: 7d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 40 }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 30' }
`)
	const people = 4*rescorePiece + rescorePiece/2
	var msgs []*tandem.Message
	for i := range people {
		m := &tandem.Message{SourceID: src.ID, MessageID: fmt.Sprint("m", i), UserID: fmt.Sprint("u", i), Type: tandem.TypeTrack,
			Event: "Signed Up", Timestamp: now.Add(-time.Hour), ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)}
		if i%3 == 0 {
			m.Event = "Demo Requested"
		}
		msgs = append(msgs, m)
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE cursor_log (cursor INTEGER NOT NULL)`,
		`CREATE TRIGGER cursor_moved AFTER UPDATE OF cursor ON rescores WHEN NEW.cursor <> OLD.cursor
			BEGIN INSERT INTO cursor_log VALUES (NEW.cursor); END`,
	} {
		if _, err := db.write.ExecContext(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := contactIDsAfter(t.Context(), db.read, 0, people+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != people {
		t.Fatalf("%d contacts, want %d", len(ids), people)
	}
	rescore := func() (steps []int64, scores map[int64]tandem.Score) {
		t.Helper()
		if _, err := db.write.ExecContext(t.Context(), `DELETE FROM cursor_log`); err != nil {
			t.Fatal(err)
		}
		// With ingest's score log applied and its events filed, the store's own
		// writer wants the slot for neither while the rescore runs: a rescore alone
		// would step aside for it, as for any writer.
		if err := db.settle(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.fileTail(t.Context()); err != nil {
			t.Fatal(err)
		}
		if r, err := db.Rescore(t.Context(), nil); err != nil || r.State != "done" {
			t.Fatalf("rescore: %+v, %v", r, err)
		}
		rows, err := db.read.QueryContext(t.Context(), `SELECT cursor FROM cursor_log ORDER BY rowid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var c int64
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			steps = append(steps, c)
		}
		scores = map[int64]tandem.Score{}
		for _, id := range ids {
			c, err := db.Contact(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			scores[id] = *c.Score
		}
		return steps, scores
	}

	alone, want := rescore()
	if !slices.Equal(alone, ids[len(ids)-1:]) {
		t.Errorf("with no writer waiting, the rescore committed its cursor at %v, want once, at %d", alone, ids[len(ids)-1])
	}
	// Alone, a transaction goes on with the next batches until it has written
	// rescoreTx contacts: batches of a piece each, three pieces a transaction.
	db.rescoreBatch, db.rescoreTx = rescorePiece, 3*rescorePiece-rescorePiece/2
	spanned, got := rescore()
	db.rescoreBatch, db.rescoreTx = rescoreBatch, rescoreTxContacts
	if want := []int64{ids[3*rescorePiece-1], ids[len(ids)-1]}; !slices.Equal(spanned, want) {
		t.Errorf("with batches of %d contacts and %d a transaction, the rescore committed its cursor at %v, want at %v",
			rescorePiece, 3*rescorePiece-rescorePiece/2, spanned, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("contact %d: scored %+v in batches, %+v in one", id, got[id], w)
		}
	}
	var pieces []int64
	for i := rescorePiece - 1; i < len(ids); i += rescorePiece {
		pieces = append(pieces, ids[i])
	}
	pieces = append(pieces, ids[len(ids)-1])
	for _, c := range []struct {
		name  string
		begin func()
		end   func()
	}{{
		name:  "with a writer waiting",
		begin: func() { db.writing.waiting.Add(1) }, // as a writer does while it waits for the slot
		end:   func() { db.writing.waiting.Add(-1) },
	}, {
		name: "with ingest busy",
		begin: func() {
			testHookWriterPacer = func(p *pacer) {
				p.load = 1                             // ingest transactions all the time
				p.windowAt = time.Now().Add(time.Hour) // and no measure before the end
			}
		},
		end: func() { testHookWriterPacer = nil },
	}} {
		c.begin()
		stepped, got := rescore()
		c.end()
		if !slices.Equal(stepped, pieces) {
			t.Errorf("%s, the rescore committed its cursor at %v, want after every %d contacts: %v", c.name, stepped, rescorePiece, pieces)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s, contact %d: scored %+v in pieces, %+v in one batch", c.name, id, got[id], w)
			}
		}
	}
	if want[ids[0]].Engagement == 0 {
		t.Errorf("contact %d, who asked for a demo, has no engagement: %+v", ids[0], want[ids[0]])
	}
}

// TestLongReadBreaksOffWhenAsked reads a stretch of events once in one query, and once
// with a restart of the log asking all along, so that the read breaks off after every
// few hundred events and begins again where it stopped: the two must read the same.
func TestLongReadBreaksOffWhenAsked(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	const events = 5*yieldEvery + 7
	var msgs []*tandem.Message
	for i := range events {
		msgs = append(msgs, &tandem.Message{SourceID: src.ID, MessageID: fmt.Sprint("m", i), UserID: fmt.Sprint("u", i%40),
			Type: tandem.TypeTrack, Event: fmt.Sprint("E", i), Timestamp: now.Add(time.Duration(i) * time.Second), ReceivedAt: now,
			Properties: []byte(fmt.Sprintf(`{"n":%d}`, i)), Context: []byte(`{}`)})
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	a, all := &active{readsProperties: true}, &condition{sql: "1 = 1"}
	read := func() []pastEvent {
		t.Helper()
		got, err := db.readStretch(t.Context(), a, all, 0, events+100, -1, newPacer(db))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	var queries int
	testHookStretchQuery = func() { queries++ }
	defer func() { testHookStretchQuery = nil }()
	whole := read()
	if len(whole) != events || queries != 1 {
		t.Fatalf("read %d events in %d queries, want %d in one", len(whole), queries, events)
	}
	queries = 0
	db.checkpointer.asked.Store(true)
	broken := read()
	db.checkpointer.asked.Store(false)
	if queries < events/yieldEvery {
		t.Errorf("asked to break off all along, the read made %d queries, want one every %d events or so", queries, yieldEvery)
	}
	if !slices.Equal(broken, whole) {
		t.Errorf("read %d events breaking off, %d in one query; they differ", len(broken), len(whole))
	}
}
