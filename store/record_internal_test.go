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
	activate(t, db, halfLifeDoc("7d"))
	ingestDemos(t, db, src.ID, now, 0, 3)
	db.rescoreBatch, db.rescoreTx = 100, 100
	later := now
	rescore := func(ctx context.Context, progress Progress) (*tandem.Rescore, error) {
		later = later.Add(time.Minute) // after every stage move, so that none is scored afresh
		db.Now = func() time.Time { return later }
		return db.Rescore(ctx, progress)
	}
	activate(t, db, halfLifeDoc("10d"))
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

	activate(t, db, halfLifeDoc("21d"))
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

// halfLifeDoc is an agreement with one capped rule and the half-life given.
func halfLifeDoc(halfLife string) string {
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

// ingestDemos stores demo requests of 300 people, rounds from..to-1 of them a week
// apart.
func ingestDemos(t *testing.T, db *DB, src int64, now time.Time, from, to int) {
	t.Helper()
	var msgs []*tandem.Message
	for i := range 300 {
		for d := from; d < to; d++ {
			msgs = append(msgs, &tandem.Message{SourceID: src, MessageID: fmt.Sprint("m", i, "-", d), UserID: fmt.Sprint("u", i),
				Type: tandem.TypeTrack, Event: "Demo Requested", Timestamp: now.Add(-time.Duration(i%5+d*7) * 24 * time.Hour),
				ReceivedAt: now, Properties: []byte(`{}`), Context: []byte(`{}`)})
		}
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
}

// TestRecordRenewedWhenOld stores, after the score record, more events than a quarter
// of all: the next change of half-life reads every event rather than replay so old a
// record, and keeps a new one, which the change after that replays.
func TestRecordRenewedWhenOld(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, halfLifeDoc("7d"))
	ingestDemos(t, db, src.ID, now, 0, 2)
	rescore := func(halfLife string) (*tandem.Rescore, *recordGen) {
		t.Helper()
		activate(t, db, halfLifeDoc(halfLife))
		r, err := db.Rescore(t.Context(), nil)
		if err != nil || r.State != "done" {
			t.Fatalf("Rescore = %+v, %v", r, err)
		}
		g, err := readRecordGen(t.Context(), db.read)
		if err != nil {
			t.Fatal(err)
		}
		return r, g
	}
	if r, g := rescore("10d"); r.EventsTotal != 600 || g.state != "complete" || g.upto != 600 {
		t.Fatalf("the first change of half-life read %d events and left the record %+v; want 600 read, and a record up to them", r.EventsTotal, g)
	}
	ingestDemos(t, db, src.ID, now, 2, 3) // 300 more: a third of the 900
	r, g := rescore("14d")
	if r.EventsTotal != 900 || g.gen != 2 || g.upto != 900 {
		t.Errorf("with a third of the events after the record, the rescore read %d events and left the record %+v; want all 900 read and a new one", r.EventsTotal, g)
	}
	if r, _ := rescore("21d"); r.EventsTotal != 0 {
		t.Errorf("the change after read %d events; want the new record replayed", r.EventsTotal)
	}
}
