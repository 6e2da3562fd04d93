package store

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"tandem"
)

const scoreLogTerms = `name: t
timezone: UTC
scoring:
  engagement:
    half_life: 3650d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 10 }
      - { name: page, on: page, points: 1, cap: { times: 2, per: 1d } }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 30' }
`

// scoreLogEvents ingests, for user, n demo requests and n page views.
func scoreLogEvents(t *testing.T, db *DB, src *tandem.Source, now time.Time, user string, n int) {
	t.Helper()
	var msgs []*tandem.Message
	for range n {
		for _, typ := range []string{tandem.TypeTrack, tandem.TypePage} {
			m := &tandem.Message{SourceID: src.ID, MessageID: rand.Text(), UserID: user, Type: typ,
				Timestamp: now, ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)}
			if typ == tandem.TypeTrack {
				m.Event = "Demo Requested"
			}
			msgs = append(msgs, m)
		}
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
}

// rowOf reads a contact's score columns from its row, as a report would, and the
// number of lines the score log holds.
func rowOf(t *testing.T, db *DB, user string) (eng float64, stage string, lines int) {
	t.Helper()
	err := db.read.QueryRowContext(t.Context(), `SELECT c.score_eng, c.stage, (SELECT COUNT(*) FROM score_log)
		FROM contacts c JOIN identities i ON i.contact_id = c.id WHERE i.kind = 'user' AND i.value = $1`, user).Scan(&eng, &stage, &lines)
	if err != nil {
		t.Fatal(err)
	}
	return eng, stage, lines
}

func mustEngagement(t *testing.T, db *DB, user string) (float64, string) {
	t.Helper()
	c, err := db.Contact(t.Context(), contactOf(t, db, user))
	if err != nil {
		t.Fatal(err)
	}
	return c.Score.Engagement, c.Stage
}

// TestScoreLogShowsWhatIngestAcknowledged: ingest appends scores to the log rather than
// to contact rows, and a read of the contact shows them at once, stage included.
func TestScoreLogShowsWhatIngestAcknowledged(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, scoreLogTerms)
	scoreLogEvents(t, db, src, now, "u1", 2) // 2×10 + 2×1
	scoreLogEvents(t, db, src, now, "u1", 1) // +10, the page capped: 32, mql
	if eng, stage, lines := rowOf(t, db, "u1"); lines == 0 || eng != 0 {
		t.Fatalf("before a read: row engagement %v stage %q with %d log lines; want the row unwritten and lines in the log", eng, stage, lines)
	}
	if eng, stage := mustEngagement(t, db, "u1"); eng != 32 || stage != "mql" {
		t.Errorf("read after ingest: engagement %v, stage %q; want 32, mql", eng, stage)
	}
	if eng, stage, lines := rowOf(t, db, "u1"); lines != 0 || eng != 32 || stage != "mql" {
		t.Errorf("after the read: row engagement %v stage %q with %d log lines; want 32, mql, none", eng, stage, lines)
	}
	stages, err := db.ContactStages(t.Context(), contactOf(t, db, "u1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[1].To != "mql" {
		t.Errorf("stage history %+v; want lead then mql, once each", stages)
	}
}

// TestScoreLogAppliedByAnotherProcess: another process's write transaction applies the
// log first, and what it then writes to a contact is not undone by lines this process
// still remembers.
func TestScoreLogAppliedByAnotherProcess(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, scoreLogTerms)
	other, err := Open(t.Context(), db.dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	other.Now = db.Now

	scoreLogEvents(t, db, src, now, "u1", 1) // 11, in the log
	if _, _, err := other.CreateSource(t.Context(), "app"); err != nil {
		t.Fatal(err)
	}
	if eng, _, lines := rowOf(t, other, "u1"); eng != 11 || lines != 0 {
		t.Fatalf("after the other process wrote: row engagement %v with %d log lines; want 11 and none", eng, lines)
	}
	scoreLogEvents(t, other, src, now, "u1", 1) // 22, written to the row by the other process
	scoreLogEvents(t, db, src, now, "u1", 1)    // 32 (page capped), in the log again
	if eng, stage := mustEngagement(t, db, "u1"); eng != 32 || stage != "mql" {
		t.Errorf("engagement %v, stage %q; want 32, mql", eng, stage)
	}
}

// contactOf returns the id of the contact with user id user.
func contactOf(t *testing.T, db *DB, user string) int64 {
	t.Helper()
	var id int64
	if err := db.read.QueryRowContext(t.Context(), `SELECT contact_id FROM identities WHERE kind = 'user' AND value = $1`, user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestScoreLogUnderConcurrentWriters ingests new people in a stream of commits while
// another goroutine runs write transactions (each applies the log) and the flusher
// applies it once a second, then checks, as another process would after a crash, that
// the log and the contact rows together hold every acknowledged score: a writer that
// slipped in between an ingest's commit and its note of the lines it appended would
// have applied the lines it knew of and emptied the table of the others.
func TestScoreLogUnderConcurrentWriters(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, scoreLogTerms)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := db.tx(t.Context(), func(*sql.Tx, time.Time) error { return nil }); err != nil {
				done <- err
				return
			}
			time.Sleep(3 * time.Millisecond) // lines of a few commits build up meanwhile
		}
	}()
	people := 0
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
		for range 50 {
			scoreLogEvents(t, db, src, now, fmt.Sprintf("p%d", people), 1)
			people++
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	other, err := Open(t.Context(), db.dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, _, err := other.CreateSource(t.Context(), "app"); err != nil { // applies the log from the table
		t.Fatal(err)
	}
	var total, wrong int
	if err := other.read.QueryRowContext(t.Context(), `SELECT COUNT(*), COALESCE(SUM(score_eng <> 11), 0) FROM contacts`).Scan(&total, &wrong); err != nil {
		t.Fatal(err)
	}
	if total != people || wrong != 0 {
		t.Errorf("%d contacts for %d people, %d of them without the 11 points acknowledged", total, people, wrong)
	}
}

// TestScoreLogNotedBeforeTheNextWriter has a write transaction begin the moment an
// ingest transaction that appended lines has committed and let go of the write slot:
// applying the log then must find those lines, and leave none behind in memory only.
func TestScoreLogNotedBeforeTheNextWriter(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, scoreLogTerms)
	scoreLogEvents(t, db, src, now, "u1", 1) // lines the log knows of
	testHookIngested = func() {
		testHookIngested = nil
		if err := db.tx(t.Context(), func(*sql.Tx, time.Time) error { return nil }); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookIngested = nil }()
	scoreLogEvents(t, db, src, now, "u2", 1)
	other, err := Open(t.Context(), db.dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for _, u := range []string{"u1", "u2"} {
		if eng, _, lines := rowOf(t, other, u); eng != 11 || lines != 0 {
			t.Errorf("%s as another process reads it: row engagement %v with %d log lines; want 11 in the row", u, eng, lines)
		}
	}
}
