package store

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/agreement"
)

// TestCarriedLines pins which changes between two versions let engagement carry over,
// which rules are then counted again from the events, with the points they count (an
// old rule's negated, to take out what it gave), and which fit rules keep the stored
// fits.
func TestCarriedLines(t *testing.T) {
	const base = `name: t
timezone: UTC
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }
      - { name: pricing, on: page, when: 'properties.path startsWith "/pricing"', points: 5, cap: { times: 3, per: 1d } }
      - { name: pages, on: page, points: 1 }
  fit:
    rules:
      - { name: senior, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 50' }
`
	tests := []struct {
		name     string
		old, new string // replaced in base
		events   bool
		scale    map[string]float64
		drop     []string
		recount  []string
		fit      bool
	}{
		{"stage bound only", "score.engagement >= 50", "score.engagement >= 40", false, map[string]float64{}, nil, nil, true},
		{"capped points", "points: 40,", "points: 30,", false, map[string]float64{"demo": 0.75}, nil, nil, true},
		{"capped rule dropped", "      - { name: demo, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }\n", "", false, map[string]float64{}, []string{"demo"}, nil, true},
		{"uncapped points", "points: 1 }", "points: 3 }", false, map[string]float64{}, nil, []string{"pages +2"}, true},
		{"uncapped rule dropped", "      - { name: pages, on: page, points: 1 }\n", "", false, map[string]float64{}, nil, []string{"pages -1"}, true},
		{"condition", `startsWith "/pricing"`, `== "/pricing"`, false, map[string]float64{}, []string{"pricing"}, []string{"pricing +5"}, true},
		{"cap", "times: 3", "times: 4", false, map[string]float64{}, []string{"pricing"}, []string{"pricing +5"}, true},
		{"rule added", "      - { name: pages,", "      - { name: docs, on: 'page:Docs', points: 3 }\n      - { name: pages,", false, map[string]float64{}, nil, []string{"docs +3"}, true},
		{"rule renamed", "name: pages,", "name: views,", false, map[string]float64{}, nil, []string{"views +1", "pages -1"}, true},
		{"half-life", "half_life: 14d", "half_life: 7d", true, nil, nil, nil, true},
		{"fit points", "points: 20 }", "points: 25 }", false, map[string]float64{}, nil, nil, false},
		{"fit condition", `traits.title == "VP"`, `traits.title == "CEO"`, false, map[string]float64{}, nil, nil, false},
	}
	parse := func(doc string) *agreement.Scoring {
		a, err := agreement.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return &a.Scoring
	}
	from := parse(base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(base, tt.old, tt.new, 1)
			if doc == base {
				t.Fatalf("%q is not in the agreement", tt.old)
			}
			c := carryOverOf(from, parse(doc))
			if c.events != tt.events || c.fit != tt.fit {
				t.Errorf("events %v, fit %v; want %v, %v", c.events, c.fit, tt.events, tt.fit)
			}
			if tt.events {
				return
			}
			var recount []string
			for _, r := range c.recount {
				recount = append(recount, fmt.Sprintf("%s %+g", r.Name, r.Points))
			}
			if !maps.Equal(c.scale, tt.scale) || !slices.Equal(c.drop, tt.drop) || !slices.Equal(recount, tt.recount) {
				t.Errorf("scale %v, drop %v, recount %v; want %v, %v, %v", c.scale, c.drop, recount, tt.scale, tt.drop, tt.recount)
			}
		})
	}
}

// carryTerms is an agreement for the tests below, with its half-life, demo points, MQL
// bound and any further engagement rules filled in.
const carryTerms = `name: t
timezone: UTC
scoring:
  engagement:
    half_life: HALF
    rules:
      - { name: demo, on: 'track:Demo Requested', points: DEMO, cap: { times: 1, per: 1d } }
      - { name: pages, on: page, points: 10 }
EXTRA
FIT
stages:
  - { key: lead, meaning: a }
  - { key: mql, meaning: b, enter_when: 'score.engagement >= 500' }
`

func carryDoc(half, demo, extra, fit string) string {
	return strings.NewReplacer("HALF", half, "DEMO", demo, "EXTRA", extra, "FIT", fit).Replace(carryTerms)
}

func carryMessage(src int64, typ, user, event string, at time.Time) *tandem.Message {
	return &tandem.Message{SourceID: src, MessageID: rand.Text(), UserID: user, Type: typ, Event: event,
		Timestamp: at, ReceivedAt: at, Properties: []byte(`{}`), Context: []byte(`{}`)}
}

func carryScore(t *testing.T, db *DB, user string) (tandem.Score, *tandem.Rescore) {
	t.Helper()
	r, err := db.Rescore(t.Context(), nil)
	if err != nil {
		t.Fatalf("Rescore: %v", err)
	}
	c, err := db.Contact(t.Context(), contactOf(t, db, user))
	if err != nil {
		t.Fatal(err)
	}
	return *c.Score, r
}

// TestCarryOverTwice drops a capped rule after its points changed: the second carry-over
// takes out the line as the first rescaled it.
func TestCarryOverTwice(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, carryDoc("14d", "40", "", ""))
	if _, err := db.Ingest(t.Context(), []*tandem.Message{
		carryMessage(src.ID, tandem.TypeTrack, "u1", "Demo Requested", now.Add(-time.Hour)),
		carryMessage(src.ID, tandem.TypePage, "u1", "", now.Add(-time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute) // else every contact's stage_at is the rescore's start
	db.Now = func() time.Time { return later }
	activate(t, db, carryDoc("14d", "30", "", ""))
	if s, r := carryScore(t, db, "u1"); r.EventsTotal != 0 || s.Engagement != 39.92 {
		t.Fatalf("demo at 30: engagement %v (%d events read), want 39.92 with none read", s.Engagement, r.EventsTotal)
	}
	noDemo := strings.Replace(carryDoc("14d", "30", "", ""), "      - { name: demo, on: 'track:Demo Requested', points: 30, cap: { times: 1, per: 1d } }\n", "", 1)
	activate(t, db, noDemo)
	if s, r := carryScore(t, db, "u1"); r.EventsTotal != 0 || s.Engagement != 9.98 {
		t.Errorf("demo dropped: engagement %v (%d events read), want 9.98 with none read", s.Engagement, r.EventsTotal)
	}
	var lines string
	if err := db.read.QueryRowContext(t.Context(), `SELECT score_caps FROM contacts c JOIN identities i ON i.contact_id = c.id
		WHERE i.kind = 'user' AND i.value = 'u1'`).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(lines, "demo") {
		t.Errorf("the dropped rule's line is still stored: %s", lines)
	}
}

// TestCarryOverNewFit changes only a fit rule: engagement carries over, and the fit is
// computed from the profile.
func TestCarryOverNewFit(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	fit := func(points string) string {
		return carryDoc("14d", "40", "", "  fit:\n    rules:\n      - { name: vp, when: 'traits.title == \"VP\"', points: "+points+" }")
	}
	activate(t, db, fit("20"))
	id := carryMessage(src.ID, tandem.TypeIdentify, "u1", "", now)
	id.Traits = map[string]any{"title": "VP"}
	if _, err := db.Ingest(t.Context(), []*tandem.Message{id, carryMessage(src.ID, tandem.TypePage, "u1", "", now)}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	db.Now = func() time.Time { return later }
	activate(t, db, fit("25"))
	if s, r := carryScore(t, db, "u1"); r.EventsTotal != 0 || s.Fit != 25 || s.Engagement != 10 {
		t.Errorf("score %+v (%d events read), want fit 25 and engagement 10 with none read", s, r.EventsTotal)
	}
}

// TestCarryOverAfterRebase has the rescore of a version fail, the version's sums rebased
// 300 half-lives later, and the rescore started again: the contacts still under the
// version before are on the old anchor, so the events are read.
func TestCarryOverAfterRebase(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, carryDoc("1h", "40", "", ""))
	if _, err := db.Ingest(t.Context(), []*tandem.Message{carryMessage(src.ID, tandem.TypePage, "u1", "", now)}); err != nil {
		t.Fatal(err)
	}
	activate(t, db, strings.Replace(carryDoc("1h", "40", "", ""), ">= 500", ">= 400", 1))
	if _, err := db.write.ExecContext(t.Context(), `UPDATE rescores SET state = 'failed' WHERE state = 'running'`); err != nil {
		t.Fatal(err)
	}
	later := now.Add(300 * time.Hour)
	db.Now = func() time.Time { return later }
	if _, err := db.Decay(t.Context()); err != nil { // rebases: no rescore runs
		t.Fatal(err)
	}
	if s, _ := carryScore(t, db, "u1"); s.Engagement != 0 {
		t.Errorf("engagement %v after 300 half-lives, want 0", s.Engagement)
	}
}

// TestCarryOverFromUnreadableVersion rescores when the version most contacts were scored
// under no longer parses (a newer binary may be stricter): the events are read.
func TestCarryOverFromUnreadableVersion(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	v1 := activate(t, db, carryDoc("14d", "40", "", ""))
	if _, err := db.Ingest(t.Context(), []*tandem.Message{carryMessage(src.ID, tandem.TypePage, "u1", "", now)}); err != nil {
		t.Fatal(err)
	}
	activate(t, db, carryDoc("14d", "30", "", ""))
	if _, err := db.write.ExecContext(t.Context(), `UPDATE agreements SET document = 'name: [' WHERE version = $1`, v1); err != nil {
		t.Fatal(err)
	}
	if s, r := carryScore(t, db, "u1"); s.Engagement != 10 || r.State != "done" || r.EventsTotal == 0 {
		t.Errorf("engagement %v, rescore %+v; want 10, done, from the events", s.Engagement, r)
	}
}

// TestCarryOverKeepsArrivalOrder joins a visitor's demo request of ten days ago to a
// contact after the contact's own of an hour ago, under a cap of one a day, and checks
// that carrying the score over and reading the events agree: ingest scores the contact
// from its events in the order they arrived.
func TestCarryOverKeepsArrivalOrder(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	activate(t, db, carryDoc("14d", "40", "", ""))
	visitor := carryMessage(src.ID, tandem.TypeTrack, "", "Demo Requested", now.Add(-10*24*time.Hour))
	visitor.AnonymousID = "anon-1"
	join := carryMessage(src.ID, tandem.TypeIdentify, "u1", "", now)
	join.AnonymousID = "anon-1"
	for _, m := range []*tandem.Message{
		visitor,
		carryMessage(src.ID, tandem.TypeIdentify, "u1", "", now.Add(-20*24*time.Hour)),
		carryMessage(src.ID, tandem.TypeTrack, "u1", "Demo Requested", now.Add(-time.Hour)),
		join,
	} {
		if _, err := db.Ingest(t.Context(), []*tandem.Message{m}); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Minute)
	db.Now = func() time.Time { return later }
	activate(t, db, carryDoc("14d", "30", "", ""))
	carried, r := carryScore(t, db, "u1")
	if r.EventsTotal != 0 {
		t.Fatalf("%d events read, want none", r.EventsTotal)
	}
	// The same scoring and a rule that matches nothing: the events are read.
	activate(t, db, carryDoc("14d", "30", "      - { name: none, on: 'track:Nothing', points: 1 }", ""))
	if read, r := carryScore(t, db, "u1"); r.EventsTotal == 0 || read != carried {
		t.Errorf("carried over %+v, read from %d events %+v", carried, r.EventsTotal, read)
	}
}

// TestRecountLeavesLaterEventsAlone drops an uncapped rule, whose points come out of
// each contact's stored sum by counting its events again, while page views arrive
// between the activation and the rescore: the new version does not count them, so
// ingest leaves the contact under the version before, and no stored sum holds them.
// The rescore must not take out points they never gave.
func TestRecountLeavesLaterEventsAlone(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	noPages := strings.Replace(carryDoc("14d", "40", "", ""), "      - { name: pages, on: page, points: 10 }\n", "", 1)
	before := []func(src int64) *tandem.Message{
		func(src int64) *tandem.Message {
			return carryMessage(src, tandem.TypeTrack, "u1", "Demo Requested", now.Add(-time.Hour))
		},
		func(src int64) *tandem.Message {
			return carryMessage(src, tandem.TypePage, "u1", "", now.Add(-time.Hour))
		},
	}
	late := func(src int64) []*tandem.Message {
		var msgs []*tandem.Message
		for i := range 5 {
			msgs = append(msgs, carryMessage(src, tandem.TypePage, "u1", "", now.Add(time.Duration(i)*time.Second)))
		}
		return msgs
	}

	db, src := rescoreStore(t, now)
	activate(t, db, carryDoc("14d", "40", "", ""))
	for _, m := range before {
		if _, err := db.Ingest(t.Context(), []*tandem.Message{m(src.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	later := now.Add(time.Minute)
	db.Now = func() time.Time { return later }
	activate(t, db, noPages)
	if _, err := db.Ingest(t.Context(), late(src.ID)); err != nil {
		t.Fatal(err)
	}
	got, r := carryScore(t, db, "u1")
	if r.EventsTotal == 0 {
		t.Fatalf("the rescore read no events; a dropped uncapped rule is counted again")
	}

	all, src2 := rescoreStore(t, now)
	activate(t, all, noPages)
	for _, m := range before {
		if _, err := all.Ingest(t.Context(), []*tandem.Message{m(src2.ID)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := all.Ingest(t.Context(), late(src2.ID)); err != nil {
		t.Fatal(err)
	}
	all.Now = db.Now
	want, _ := carryScore(t, all, "u1")
	if got != want {
		t.Errorf("u1 after the pages rule was dropped: %+v; a store that never had it: %+v", got, want)
	}
}

// TestCarriedLabelsRebase rebases the sums after a rescore left a contact's row alone:
// its sum is rebased with those the rescore wrote, and decays to nothing.
func TestCarriedLabelsRebase(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	v1 := activate(t, db, carryDoc("1h", "40", "", ""))
	if _, err := db.Ingest(t.Context(), []*tandem.Message{
		carryMessage(src.ID, tandem.TypeTrack, "u1", "Demo Requested", now),
		carryMessage(src.ID, tandem.TypePage, "u2", "", now),
	}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute) // else every contact's stage_at is the rescore's start
	db.Now = func() time.Time { return later }
	activate(t, db, carryDoc("1h", "30", "", "")) // u1's demo gives less; u2 stays
	if s, r := carryScore(t, db, "u2"); r.State != "done" || s.Engagement != 9.89 {
		t.Fatalf("u2: engagement %v, rescore %+v; want 9.89, done", s.Engagement, r)
	}
	var label int
	if err := db.read.QueryRowContext(t.Context(), `SELECT scored_version FROM contacts WHERE id = $1`, contactOf(t, db, "u2")).Scan(&label); err != nil {
		t.Fatal(err)
	}
	if label != v1 {
		t.Fatalf("u2's row is labelled %d: the rescore wrote it, so this test tests nothing", label)
	}
	later = now.Add(300 * time.Hour)
	if _, err := db.Decay(t.Context()); err != nil { // rebases
		t.Fatal(err)
	}
	engagement := func(u string) float64 {
		c, err := db.Contact(t.Context(), contactOf(t, db, u))
		if err != nil {
			t.Fatal(err)
		}
		return c.Score.Engagement
	}
	for _, u := range []string{"u1", "u2"} {
		if e := engagement(u); e != 0 {
			t.Errorf("%s: engagement %v after 300 half-lives, want 0", u, e)
		}
	}
	if _, err := db.Ingest(t.Context(), []*tandem.Message{carryMessage(src.ID, tandem.TypePage, "u2", "", later)}); err != nil {
		t.Fatal(err)
	}
	if e := engagement("u2"); e != 10 {
		t.Errorf("u2: engagement %v after a page view, want 10", e)
	}
}

// TestCarriedLabelsRollback goes back to a version after a later one's rescore left most
// rows labelled with it: those rows hold the later version's scores, so the way back
// carries them over, reading no event, and comes out where the first version was.
func TestCarriedLabelsRollback(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db, src := rescoreStore(t, now)
	v1 := activate(t, db, carryDoc("14d", "40", "", ""))
	var msgs []*tandem.Message
	for i := range 30 {
		u := fmt.Sprintf("u%d", i)
		msgs = append(msgs, carryMessage(src.ID, tandem.TypePage, u, "", now.Add(-time.Hour)))
		if i%10 == 0 {
			msgs = append(msgs, carryMessage(src.ID, tandem.TypeTrack, u, "Demo Requested", now.Add(-time.Hour)))
		}
	}
	if _, err := db.Ingest(t.Context(), msgs); err != nil {
		t.Fatal(err)
	}
	first, _ := carryScore(t, db, "u0")
	later := now.Add(time.Minute) // else every contact's stage_at is the rescore's start
	db.Now = func() time.Time { return later }
	activate(t, db, carryDoc("14d", "30", "", ""))
	if s, _ := carryScore(t, db, "u0"); s.Engagement == first.Engagement {
		t.Fatalf("u0's engagement %v under the second version, as under the first", s.Engagement)
	}
	labelled := func(v int) (n int) {
		if err := db.read.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM contacts WHERE scored_version = $1`, v).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := labelled(v1); n != 27 {
		t.Fatalf("%d rows labelled %d after the second version's rescore, want the 27 without a demo", n, v1)
	}
	if _, err := db.ActivateAgreement(t.Context(), v1, tandem.Actor{Name: "root", Role: tandem.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if n := labelled(0); n != 0 {
		t.Errorf("going back marked %d contacts unscored", n)
	}
	later = later.Add(time.Minute)
	r, err := db.Rescore(t.Context(), nil)
	if err != nil || r.State != "done" {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	if r.EventsTotal != 0 {
		t.Errorf("going back read %d events; carried over, it needs none", r.EventsTotal)
	}
	// A rescore by hand, without the score record, reads every event: the scores as
	// the first version gives them.
	db.noRecord = true
	carried := map[string]tandem.Score{}
	for _, u := range []string{"u0", "u1"} {
		c, err := db.Contact(t.Context(), contactOf(t, db, u))
		if err != nil {
			t.Fatal(err)
		}
		carried[u] = *c.Score
	}
	for u, s := range carried {
		if want, r := carryScore(t, db, u); s != want || r.EventsTotal == 0 {
			t.Errorf("%s: %+v after going back; %+v from the events (%d read)", u, s, want, r.EventsTotal)
		}
	}
}
