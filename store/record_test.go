package store_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/store"
)

// testRescoreReplaysRecord changes the half-life twice. The first change reads every
// event and writes the score record; the second replays it, with what happened in
// between: events stored since (one over a cap the record's hits filled, one from
// long ago), a visitor's pages joining a contact, a merge and a recycle. It must come
// out as reading every event does, rule by rule, having read only the later events.
func testRescoreReplaysRecord(t *testing.T, db *store.DB) {
	ctx := context.Background()
	capped := strings.Replace(handoffTerms, "points: 40 }", "points: 40, cap: { times: 2, per: 1d } }", 1)
	halfLife := func(h string) string { return strings.Replace(capped, "half_life: 14d", "half_life: "+h, 1) }
	mustActivate(t, db, capped)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	day := func(d int) time.Time { return now.Add(-time.Duration(d) * 24 * time.Hour) }
	var msgs []*tandem.Message
	for i := range 8 {
		u := fmt.Sprint("r", i)
		for d := 20; d > 0; d -= 2 {
			msgs = append(msgs, page(src, u, "/pricing", day(d).Add(time.Duration(i)*time.Minute)))
			if (i+d)%3 == 0 {
				for h := range 3 { // three demo requests a day, of which two count
					msgs = append(msgs, demoRequest(src, u, day(d).Add(time.Duration(h)*time.Hour)))
				}
			}
		}
	}
	for d := range 3 {
		msgs = append(msgs, at(pageMessage(src, "anon-r"), day(d+1)))
	}
	msgs = append(msgs, at(identifyMessage(src, "", "anon-e", map[string]any{"email": "eve@example.org"}), day(5)),
		at(pageMessage(src, "anon-e"), day(5)))
	mustIngest(t, db, msgs...)
	later := now.Add(time.Minute) // after every stage move, so that none is scored afresh
	rescore := func(doc string) *tandem.Rescore { t.Helper(); return rescoreLater(t, db, &later, doc) }
	first := rescore(halfLife("10d"))
	if first.EventsTotal == 0 {
		t.Fatal("a changed half-life read no events before a score record was written")
	}

	mustIngest(t, db,
		demoRequest(src, "r0", day(18).Add(5*time.Hour)), // r0's two of that day are recorded
		demoRequest(src, "r1", day(17)),
		page(src, "r3", "/pricing", day(40)),
		at(identifyMessage(src, "r4", "anon-r", nil), later),                                  // the visitor's pages join r4
		at(identifyMessage(src, "r5", "", map[string]any{"email": "eve@example.org"}), later), // eve merges into r5
	)
	c := qualify(t, db, src, "r6", "US")
	later = later.Add(time.Minute)
	db.Now = func() time.Time { return later }
	if _, err := db.Reject(ctx, openAssignment(t, db, c.ID).ID, "no_budget", rep); err != nil {
		t.Fatal(err)
	}

	replayed := rescore(halfLife("21d"))
	var ids []int64
	for i := range 8 {
		ids = append(ids, mustContactByUserID(t, db, fmt.Sprint("r", i)).ID)
	}
	judged := later.Add(time.Hour) // both sets of scores as of the same time
	scores := func() map[int64]*tandem.ScoreBreakdown {
		t.Helper()
		db.Now = func() time.Time { return judged }
		all, err := db.ContactScores(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	fromRecord := scores()
	db.SetNoRecord(true)
	read := rescore("")
	if replayed.EventsTotal == 0 || replayed.EventsTotal*2 > read.EventsTotal {
		t.Errorf("the rescore that replays the record read %d events of %d; want those stored after it", replayed.EventsTotal, read.EventsTotal)
	}
	fromEvents := scores()
	for i, id := range ids {
		if !reflect.DeepEqual(fromRecord[id], fromEvents[id]) {
			t.Errorf("r%d: replayed %+v; read from every event %+v", i, *fromRecord[id], *fromEvents[id])
		}
	}
	if s := fromEvents[ids[0]].Score.Engagement; s == 0 {
		t.Errorf("r0 has no engagement")
	}
}

// testRecycleAsReplayBegins recycles a lead just as a rescore has found the score record
// it replays, after it read which contacts are stale: the recycle restarts the lead's
// engagement, and the rescore must not bring back what the record holds from before.
func testRecycleAsReplayBegins(t *testing.T, db *store.DB) {
	ctx := context.Background()
	halfLife := func(h string) string { return strings.Replace(handoffTerms, "half_life: 14d", "half_life: "+h, 1) }
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	c := qualify(t, db, src, "rq", "US")
	later := now.Add(time.Minute)
	rescore := func(doc string) { t.Helper(); rescoreLater(t, db, &later, doc) }
	rescore(halfLife("10d")) // reads every event and keeps the record
	var rejected error
	defer store.BeforeReplay(func() {
		later = later.Add(time.Minute) // the recycle's transaction begins after the rescore did
		_, rejected = db.Reject(ctx, openAssignment(t, db, c.ID).ID, "no_budget", rep)
		later = later.Add(time.Minute)
	})()
	rescore(halfLife("21d"))
	if rejected != nil {
		t.Fatal(rejected)
	}
	if got := mustContact(t, db, c.ID); got.Score == nil || got.Score.Engagement != 0 || got.Stage != "lead" {
		t.Errorf("after a recycle as the replay began: %+v in %q, want engagement 0 in lead", got.Score, got.Stage)
	}
}

// testRescoreFromEvents asks for a rescore by hand from the events: refused while a
// rescore runs, which may be replaying the record; started when none does, it reads
// every event and keeps a record that the next rescore by hand replays.
func testRescoreFromEvents(t *testing.T, db *store.DB) {
	ctx := context.Background()
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	qualify(t, db, src, "rq", "US")
	mustIngest(t, db, page(src, "rp", "/pricing", now.Add(-time.Hour)))
	later := now.Add(time.Minute)
	run := func() *tandem.Rescore { t.Helper(); return rescoreLater(t, db, &later, "") }
	mustActivate(t, db, strings.Replace(handoffTerms, "half_life: 14d", "half_life: 10d", 1))
	if r := run(); r.EventsTotal == 0 {
		t.Fatal("the half-life change read no events, and kept no record")
	}

	running, err := db.StartRescore(ctx, store.FromRecord)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.StartRescore(ctx, store.FromEvents); tandem.ErrorCode(err) != tandem.EConflict {
		t.Fatalf("a rescore from the events while rescore %d runs: %v, want a conflict", running.ID, err)
	}
	if r := run(); r.ID != running.ID || r.EventsTotal != 0 {
		t.Fatalf("the rescore by hand that ran meanwhile = %+v, want rescore %d replaying the record, which the refused request left", r, running.ID)
	}

	started, err := db.StartRescore(ctx, store.FromEvents)
	if err != nil {
		t.Fatal(err)
	}
	if r := run(); r.ID != started.ID || r.EventsTotal == 0 {
		t.Fatalf("the rescore from the events = %+v, want rescore %d reading every event", r, started.ID)
	}
	if _, err := db.StartRescore(ctx, store.FromRecord); err != nil {
		t.Fatal(err)
	}
	if r := run(); r.EventsTotal != 0 {
		t.Errorf("the rescore by hand after it read %d events, want it to replay the record kept from the events", r.EventsTotal)
	}
}

// rescoreLater activates doc, unless it is empty, and runs a rescore to its end with the
// store's clock a minute after *later, which it moves there.
func rescoreLater(t *testing.T, db *store.DB, later *time.Time, doc string) *tandem.Rescore {
	t.Helper()
	if doc != "" {
		mustActivate(t, db, doc)
	}
	*later = later.Add(time.Minute)
	db.Now = func() time.Time { return *later }
	r, err := db.Rescore(t.Context(), nil)
	if err != nil || r.State != "done" {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	return r
}
