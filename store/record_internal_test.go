package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"tandem"
)

// TestRecordOfResumedRescore stops a rescore that writes the score record after its
// first commit and lets it resume. The resumed run reads only the contacts after its
// cursor, so the record it leaves covers part of the store: it must not hold, and the
// next change of half-life reads every event, coming out as a rescore without the
// record does.
func TestRecordOfResumedRescore(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	doc := func(halfLife string) string {
		return `name: t
timezone: UTC
scoring:
  engagement:
    half_life: ` + halfLife + `
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 30' }
`
	}
	activate(t, db, doc("7d"))
	var msgs []*tandem.Message
	for i := range 300 {
		for d := range 3 {
			msgs = append(msgs, &tandem.Message{SourceID: src.ID, MessageID: fmt.Sprint("m", i, "-", d), UserID: fmt.Sprint("u", i),
				Type: tandem.TypeTrack, Event: "Demo Requested", Timestamp: now.Add(-time.Duration(i%5+d*7) * 24 * time.Hour),
				ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)})
		}
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	db.rescoreBatch, db.rescoreTx = 100, 100
	later := now
	rescore := func(ctx context.Context, progress Progress) (*tandem.Rescore, error) {
		later = later.Add(time.Minute) // after every stage move, so that none is scored afresh
		db.Now = func() time.Time { return later }
		return db.Rescore(ctx, progress)
	}
	activate(t, db, doc("10d"))
	ctx, stop := context.WithCancel(t.Context())
	if _, err := rescore(ctx, func(phase string, done, total int64) {
		if phase == "contacts" && done > 0 {
			stop()
		}
	}); err == nil {
		t.Fatal("the rescore went on after it was stopped")
	}
	if r, err := rescore(t.Context(), nil); err != nil || r.State != "done" || r.Done != 300 {
		t.Fatalf("resumed: %+v, %v", r, err)
	}
	if g, err := readRecordGen(t.Context(), db.read); err != nil || g.state == "complete" {
		t.Fatalf("after a resumed rescore the record is %+v (%v), want it not to hold", g, err)
	}

	activate(t, db, doc("21d"))
	r, err := rescore(t.Context(), nil)
	if err != nil || r.EventsTotal == 0 {
		t.Fatalf("the next change of half-life: %+v, %v; want every event read", r, err)
	}
	judged := later.Add(time.Hour) // both sets of scores as of the same time
	scores := func() map[int64]tandem.Score {
		db.Now = func() time.Time { return judged }
		out := map[int64]tandem.Score{}
		list, err := db.Contacts(t.Context(), tandem.ContactFilter{}, tandem.Page{Limit: 1000})
		if err != nil || len(list) != 300 {
			t.Fatalf("Contacts: %d, %v", len(list), err)
		}
		for _, c := range list {
			out[c.ID] = *c.Score
		}
		return out
	}
	first := scores()
	db.noRecord = true
	if r, err := rescore(t.Context(), nil); err != nil || r.State != "done" {
		t.Fatalf("rescore without the record: %+v, %v", r, err)
	}
	for id, s := range scores() {
		if first[id] != s {
			t.Errorf("contact %d: %+v, and %+v without the record", id, first[id], s)
		}
	}
}
