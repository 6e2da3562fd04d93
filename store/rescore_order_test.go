package store

import (
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem"
)

// TestRescoreKeepsArrivalOrder has a rescore read the events table in stretches of
// three ids, across both readers, and checks that it arrives at the scores ingest
// computed, for events sent late with timestamps out of order and a capped rule whose
// window depends on the order events are applied in. (Whether the readers hand over
// stretches out of order in a given run is up to the scheduler.)
func TestRescoreKeepsArrivalOrder(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	db.rescoreStretch = 3
	doc := `name: t
timezone: UTC
scoring:
  engagement:
    half_life: 7d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 2, per: 1d } }
      - { name: page, on: page, points: 1 }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 100' }
`
	activate(t, db, doc)
	// Events sent late: timestamps out of order, so order decides what the cap lets in.
	offsets := []int{0, -30, -25, 5, -50, 10, -20, 15, 20, -60, 25, 30, -70, 35}
	users := []string{"u1", "u2", "u3"}
	for i, off := range offsets {
		var msgs []*tandem.Message
		for _, u := range users {
			at := now.Add(time.Duration(off) * time.Hour)
			m := &tandem.Message{SourceID: src.ID, MessageID: rand.Text(), UserID: u, Type: tandem.TypeTrack, Event: "Demo Requested",
				Timestamp: at, ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)}
			if i%3 == 1 {
				m.Type, m.Event = tandem.TypePage, ""
			}
			msgs = append(msgs, m)
		}
		if _, err := db.Ingest(t.Context(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	before := map[int64]tandem.Score{}
	list, err := db.Contacts(t.Context(), tandem.ContactFilter{}, tandem.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		before[c.ID] = *c.Score
	}
	if _, err := db.Rescore(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	for id, want := range before {
		c, err := db.Contact(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if *c.Score != want {
			t.Errorf("contact %d: rescored %+v, ingest had %+v", id, *c.Score, want)
		}
	}
}

// TestRescoreWithManyNamedRules rescores under an agreement with more event-named rules
// than SQLite lets a query OR together, and past the number a rescore's query lists,
// and checks it arrives at the scores ingest computed.
func TestRescoreWithManyNamedRules(t *testing.T) {
	for _, rules := range []int{3, 1200} {
		t.Run(fmt.Sprint(rules), func(t *testing.T) {
			now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			db, src := rescoreStore(t, now)
			var doc strings.Builder
			doc.WriteString("name: t\ntimezone: UTC\nscoring:\n  engagement:\n    half_life: 7d\n    rules:\n")
			for i := range rules {
				fmt.Fprintf(&doc, "      - { name: r%d, on: 'track:E%d', points: %d }\n", i, i, 1+i%5)
			}
			doc.WriteString("      - { name: docs, on: 'page:Docs', points: 7 }\n")
			doc.WriteString("stages:\n  - { key: lead, meaning: a }\n  - { key: mql, meaning: b, enter_when: 'score.engagement >= 1000' }\n")
			activate(t, db, doc.String())
			var msgs []*tandem.Message
			for i, ev := range []string{"E0", "E2", fmt.Sprintf("E%d", rules-1), "Unscored", "", "E2"} {
				m := &tandem.Message{SourceID: src.ID, MessageID: rand.Text(), UserID: fmt.Sprintf("u%d", i%2), Type: tandem.TypeTrack, Event: ev,
					Timestamp: now, ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)}
				if ev == "" {
					m.Type, m.Name = tandem.TypePage, "Docs"
				}
				msgs = append(msgs, m)
			}
			if _, err := db.Ingest(t.Context(), msgs); err != nil {
				t.Fatal(err)
			}
			list, err := db.Contacts(t.Context(), tandem.ContactFilter{}, tandem.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			r, err := db.Rescore(t.Context(), nil)
			if err != nil || r.State != "done" {
				t.Fatalf("rescore: %+v, %v", r, err)
			}
			for _, before := range list {
				if before.Score.Engagement == 0 {
					t.Errorf("contact %d: no engagement from ingest", before.ID)
				}
				c, err := db.Contact(t.Context(), before.ID)
				if err != nil {
					t.Fatal(err)
				}
				if *c.Score != *before.Score {
					t.Errorf("contact %d: rescored %+v, ingest had %+v", c.ID, *c.Score, *before.Score)
				}
			}
		})
	}
}

// rescoreStore opens a new SQLite store whose clock stands at now, with a source.
func rescoreStore(t *testing.T, now time.Time) (*DB, *tandem.Source) {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "rescore.db"), Options{Ingester: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return now }
	src, _, err := db.CreateSource(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	return db, src
}

// activate proposes doc as an admin and activates it, and returns its version.
func activate(t *testing.T, db *DB, doc string) int {
	t.Helper()
	by := tandem.Actor{Name: "root", Role: tandem.RoleAdmin}
	p, err := db.ProposeAgreement(t.Context(), []byte(doc), "", by)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ActivateAgreement(t.Context(), p.Version, by); err != nil {
		t.Fatal(err)
	}
	return p.Version
}
