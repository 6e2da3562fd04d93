package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/store"
)

// testTerms is a small agreement whose arithmetic the tests below work out by hand.
var testTerms = mustReadFile("../agreement/testdata/terms.yaml")

var (
	marketer = tandem.Actor{Name: "mia (marketing)", Role: tandem.RoleMarketing}
	rep      = tandem.Actor{Name: "sam (sales)", Role: tandem.RoleSales}
	admin    = tandem.Actor{Name: "root", Role: tandem.RoleAdmin}
)

// now is the clock of the scoring tests: thirty days after t0.
var now = t0.Add(30 * 24 * time.Hour)

// mustActivate proposes doc as marketing, has sales approve it, and fixes the store's
// clock at now.
func mustActivate(tb testing.TB, db *store.DB, doc string) *tandem.Agreement {
	tb.Helper()
	db.Now = func() time.Time { return now }
	ctx := context.Background()
	p, err := db.ProposeAgreement(ctx, []byte(doc), "", marketer)
	if err != nil {
		tb.Fatalf("ProposeAgreement: %v", err)
	}
	a, err := db.ApproveAgreement(ctx, p.Version, rep)
	if err != nil {
		tb.Fatalf("ApproveAgreement: %v", err)
	}
	return a
}

func at(m *tandem.Message, t time.Time) *tandem.Message {
	m.Timestamp, m.ReceivedAt = t, t
	return m
}

func page(src int64, userID, path string, t time.Time) *tandem.Message {
	m := newMessage(src, tandem.TypePage, userID, "")
	m.Properties = []byte(`{"path":"` + path + `"}`)
	return at(m, t)
}

func demoRequest(src int64, userID string, t time.Time) *tandem.Message {
	return at(trackMessage(src, userID, "", "Demo Requested"), t)
}

func assertScore(tb testing.TB, c *tandem.Contact, fit, engagement float64, grade, stage string) {
	tb.Helper()
	if c.Score == nil {
		tb.Fatalf("contact %d has no score", c.ID)
	}
	if c.Score.Fit != fit || c.Score.Engagement != engagement || c.Score.Total != fit+engagement {
		tb.Errorf("score = %+v, want fit %v, engagement %v, total %v", *c.Score, fit, engagement, fit+engagement)
	}
	if c.Grade != grade || c.Stage != stage {
		tb.Errorf("grade, stage = %q, %q; want %q, %q", c.Grade, c.Stage, grade, stage)
	}
}

func mustStages(tb testing.TB, db *store.DB, id int64) []string {
	tb.Helper()
	list, err := db.ContactStages(context.Background(), id)
	if err != nil {
		tb.Fatalf("ContactStages: %v", err)
	}
	var out []string
	for _, c := range list {
		out = append(out, c.From+">"+c.To+" ("+c.Cause+")")
	}
	return out
}

func assertStages(tb testing.TB, db *store.DB, id int64, want ...string) {
	tb.Helper()
	if got := mustStages(tb, db, id); strings.Join(got, ", ") != strings.Join(want, ", ") {
		tb.Errorf("stage changes = %q, want %q", got, want)
	}
}

func testAgreementApproval(t *testing.T, db *store.DB) {
	ctx := t.Context()
	p, err := db.ProposeAgreement(ctx, []byte(testTerms), "", marketer)
	if err != nil {
		t.Fatalf("ProposeAgreement: %v", err)
	}
	if p.Version != 1 || p.Status != tandem.AgreementProposed || p.Format != "yaml" || p.ProposedBy != marketer.Name || p.Name != "test terms" {
		t.Errorf("proposed = %+v", p)
	}
	if _, err := db.ActiveAgreement(ctx); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("ActiveAgreement before approval: err = %v, want not_found", err)
	}
	if _, err := db.ApproveAgreement(ctx, p.Version, tandem.Actor{Name: "max", Role: tandem.RoleMarketing}); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("approval by the proposer's team: err = %v, want forbidden", err)
	}
	if _, err := db.ActivateAgreement(ctx, p.Version, rep); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("activation by sales: err = %v, want forbidden", err)
	}
	a, err := db.ApproveAgreement(ctx, p.Version, rep)
	if err != nil {
		t.Fatalf("ApproveAgreement: %v", err)
	}
	if a.Status != tandem.AgreementActive || a.ApprovedBy != rep.Name || a.ApprovedRole != tandem.RoleSales || a.ApprovedAt == nil || a.ActivatedAt == nil {
		t.Errorf("approved = %+v", a)
	}
	if _, err := db.ApproveAgreement(ctx, p.Version, rep); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("second approval: err = %v, want conflict", err)
	}

	// Sales proposes a change; an admin may bootstrap it without marketing.
	changed := strings.Replace(testTerms, "points: 10 }", "points: 15 }", 1)
	p2, err := db.ProposeAgreement(ctx, []byte(changed), "", rep)
	if err != nil {
		t.Fatalf("ProposeAgreement: %v", err)
	}
	if _, err := db.ApproveAgreement(ctx, p2.Version, admin); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("approval by an admin: err = %v, want forbidden (admins activate)", err)
	}
	if _, err := db.ActivateAgreement(ctx, p2.Version, admin); err != nil {
		t.Fatalf("ActivateAgreement: %v", err)
	}
	active, err := db.ActiveAgreement(ctx)
	if err != nil || active.Version != 2 || active.Document != changed {
		t.Fatalf("ActiveAgreement = %+v, %v; want version 2 as proposed", active, err)
	}
	list, err := db.AgreementVersions(ctx)
	if err != nil {
		t.Fatalf("AgreementVersions: %v", err)
	}
	if len(list) != 2 || list[0].Version != 2 || list[0].Status != tandem.AgreementActive || list[1].Status != tandem.AgreementSuperseded ||
		list[1].ProposedBy != marketer.Name || list[1].ApprovedBy != rep.Name || list[0].ApprovedBy != admin.Name {
		t.Errorf("versions = %+v, %+v", list[0], list[1])
	}
	d, err := db.AgreementDiff(ctx, 1, 2)
	if err != nil {
		t.Fatalf("AgreementDiff: %v", err)
	}
	if !strings.Contains(d, "-      - { name: pricing visit, on: page, when: 'properties.path startsWith \"/pricing\"', points: 10 }") ||
		!strings.Contains(d, "+      - { name: pricing visit, on: page, when: 'properties.path startsWith \"/pricing\"', points: 15 }") {
		t.Errorf("diff does not show the changed rule:\n%s", d)
	}
}

func testBadAgreementRefused(t *testing.T, db *store.DB) {
	ctx := t.Context()
	bad := strings.Replace(testTerms, "points: 10 }", "pointz: 10 }", 1)
	bad = strings.Replace(bad, "account.employees >= 200", "account.employes >= 200", 1)
	_, err := db.ProposeAgreement(ctx, []byte(bad), "", marketer)
	var e *tandem.Error
	if !errors.As(err, &e) || e.Code != tandem.EUnprocessable {
		t.Fatalf("ProposeAgreement(bad) err = %v, want unprocessable", err)
	}
	if len(e.Document) < 2 {
		t.Fatalf("errors = %+v, want at least the unknown field and the misspelt account field", e.Document)
	}
	for _, d := range e.Document {
		if d.Line == 0 || d.Column == 0 || d.Message == "" {
			t.Errorf("error without a position or message: %+v", d)
		}
	}
	if list, _ := db.AgreementVersions(ctx); len(list) != 0 {
		t.Errorf("a refused agreement was stored: %+v", list)
	}
}

func testScoreOnIngest(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test", "title": "VP Sales"}), now))
	c := mustContactByUserID(t, db, "user-1")
	assertScore(t, mustContact(t, db, c.ID), 20, 0, "C", "lead")

	// A demo request fourteen days ago counts half; a pricing visit now counts whole.
	mustIngest(t, db, demoRequest(src, "user-1", now.Add(-14*24*time.Hour)), page(src, "user-1", "/pricing", now))
	assertScore(t, mustContact(t, db, c.ID), 20, 30, "C", "lead")

	// The same day's second demo request is capped; today's is not.
	mustIngest(t, db, demoRequest(src, "user-1", now.Add(-14*24*time.Hour+time.Hour)))
	assertScore(t, mustContact(t, db, c.ID), 20, 30, "C", "lead")
	mustIngest(t, db, demoRequest(src, "user-1", now))
	assertScore(t, mustContact(t, db, c.ID), 20, 70, "C", "mql")
	assertStages(t, db, c.ID, ">lead (created)", "lead>mql (rule mql)")

	b, err := db.ContactScore(t.Context(), c.ID)
	if err != nil {
		t.Fatalf("ContactScore: %v", err)
	}
	got := map[string]tandem.ScoreLine{}
	for _, l := range b.Lines {
		got[l.Rule] = l
	}
	if l := got["demo request"]; l.Points != 60 || l.Hits != 2 || l.Kind != "engagement" {
		t.Errorf("demo request line = %+v, want 60 points from 2 hits", l)
	}
	if l := got["pricing visit"]; l.Points != 10 || l.Hits != 1 {
		t.Errorf("pricing visit line = %+v, want 10 points from 1 hit", l)
	}
	if l := got["senior title"]; l.Points != 20 || l.Kind != "fit" {
		t.Errorf("senior title line = %+v, want 20 fit points", l)
	}
	if len(b.Lines) != 3 || b.Score.Total != 90 {
		t.Errorf("breakdown = %+v, want 3 lines totalling 90", b)
	}

	// A duplicate delivery of an event adds nothing.
	dup := page(src, "user-1", "/pricing", now)
	mustIngest(t, db, dup)
	mustIngest(t, db, dup)
	assertScore(t, mustContact(t, db, c.ID), 20, 80, "C", "mql")
	// Negative points count too.
	mustIngest(t, db, page(src, "user-1", "/careers/open-roles", now))
	assertScore(t, mustContact(t, db, c.ID), 20, 75, "C", "mql")
}

func testFitFollowsAccount(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db,
		at(identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test", "title": "Director of IT"}), now),
		at(identifyMessage(src, "user-2", "", map[string]any{"email": "bob@acme.test"}), now),
		at(identifyMessage(src, "user-3", "", map[string]any{"email": "carol@gmail.com"}), now))
	ada, bob, carol := mustContactByUserID(t, db, "user-1"), mustContactByUserID(t, db, "user-2"), mustContactByUserID(t, db, "user-3")
	assertScore(t, ada, 20, 0, "C", "lead")
	assertScore(t, bob, 0, 0, "D", "lead")
	assertScore(t, carol, -25, 0, "D", "lead")

	// The company turns out to have 500 employees: everyone there fits better.
	mustIngest(t, db, at(groupMessage(src, "user-2", "acme", map[string]any{"domain": "acme.test", "employees": 500}), now))
	assertScore(t, mustContact(t, db, ada.ID), 35, 0, "B", "lead")
	assertScore(t, mustContact(t, db, bob.ID), 15, 0, "C", "lead")
}

func testVisitorEventsScoreOnIdentify(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db, at(pageMessage(src, "anon-1"), now), at(pageMessage(src, "anon-1"), now))
	mustIngest(t, db, at(identifyMessage(src, "user-1", "anon-1", map[string]any{"title": "Head of Growth"}), now))
	c := mustContactByUserID(t, db, "user-1")
	assertScore(t, mustContact(t, db, c.ID), 20, 20, "C", "lead")
}

func testMergeKeepsScores(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	// One person, first known by email, then by a user id; each profile engaged.
	mustIngest(t, db, at(identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test", "title": "VP"}), now))
	mustIngest(t, db, at(pageMessage(src, "anon-1"), now), demoRequest(src, "user-1", now))
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"}), now))
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	c := mustContactByUserID(t, db, "user-1")
	assertScore(t, mustContact(t, db, c.ID), 20, 50, "C", "mql")
}

func testContactsByEngagement(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	var msgs []*tandem.Message
	for i, user := range []string{"u1", "u2", "u3", "u4"} {
		msgs = append(msgs, at(identifyMessage(src, user, "", map[string]any{"title": "VP"}), now))
		for range i + 5 {
			msgs = append(msgs, page(src, user, "/pricing", now))
		}
	}
	mustIngest(t, db, msgs...)
	var order []string
	p := tandem.Page{Limit: 2}
	for {
		list, next, err := db.ContactsPage(t.Context(), tandem.ContactFilter{Stage: "mql", Order: "-engagement"}, p)
		if err != nil {
			t.Fatalf("ContactsPage: %v", err)
		}
		for _, c := range list {
			order = append(order, c.UserIDs[0])
		}
		if len(list) < p.Limit {
			break
		}
		p = next
	}
	// u1 has 50 points, u2 60, u3 70, u4 80: all MQLs, hottest first.
	if strings.Join(order, ",") != "u4,u3,u2,u1" {
		t.Errorf("MQLs by engagement = %v, want u4,u3,u2,u1", order)
	}
	if list, err := db.Contacts(t.Context(), tandem.ContactFilter{Order: "-fit"}, tandem.Page{}); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("unknown order: %v, %v; want invalid", list, err)
	}
}

func testRescoreOnActivation(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	db.Now = func() time.Time { return now }
	// Activity from before any agreement existed.
	mustIngest(t, db,
		at(identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}), now),
		demoRequest(src, "user-1", now), page(src, "user-1", "/pricing", now),
		at(identifyMessage(src, "user-2", "", map[string]any{}), now))
	u1, u2 := mustContactByUserID(t, db, "user-1"), mustContactByUserID(t, db, "user-2")
	if u1.Score != nil || u1.Stage != "" {
		t.Fatalf("before any agreement: score %+v, stage %q; want none", u1.Score, u1.Stage)
	}
	mustActivate(t, db, testTerms)
	var calls int
	r, err := db.Rescore(t.Context(), func(phase string, done, total int64) { calls++ })
	if err != nil {
		t.Fatalf("Rescore: %v", err)
	}
	if r.State != "done" || r.Done != 2 || r.Total != 2 || r.Version != 1 || calls == 0 {
		t.Errorf("rescore = %+v after %d progress calls; want done 2 of 2", r, calls)
	}
	assertScore(t, mustContact(t, db, u1.ID), 20, 50, "C", "mql")
	assertScore(t, mustContact(t, db, u2.ID), 0, 0, "D", "lead")
	assertStages(t, db, u1.ID, ">lead (agreement v1)", "lead>mql (agreement v1)")

	// A new version that values pricing visits more: rescoring records it as the cause.
	doc := strings.Replace(testTerms, "score.engagement >= 50", "score.engagement >= 45", 1)
	doc = strings.Replace(doc, "Known person", "Known person, by email or user id", 1)
	p, err := db.ProposeAgreement(t.Context(), []byte(doc), "", rep)
	if err != nil {
		t.Fatalf("ProposeAgreement: %v", err)
	}
	if _, err := db.ApproveAgreement(t.Context(), p.Version, marketer); err != nil {
		t.Fatalf("ApproveAgreement: %v", err)
	}
	// Ingest before the rescore runs: the contact is rescored by it, at once.
	mustIngest(t, db, page(src, "user-2", "/pricing", now))
	if r, err := db.Rescore(t.Context(), nil); err != nil || r.State != "done" || r.Version != 2 {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	assertScore(t, mustContact(t, db, u2.ID), 0, 10, "D", "lead")
	// u1 scores the same under version 2: the rescore wrote only its version.
	assertScore(t, mustContact(t, db, u1.ID), 20, 50, "C", "mql")
	if b, err := db.ContactScore(t.Context(), u1.ID); err != nil || b.Version != 2 {
		t.Errorf("u1's score breakdown = %+v, %v; want it scored under version 2", b, err)
	}
	latest, err := db.LatestRescore(t.Context())
	if err != nil || latest.Version != 2 || latest.State != "done" {
		t.Errorf("LatestRescore = %+v, %v", latest, err)
	}
}

func testDecayIntoDetour(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db,
		at(identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}), now),
		demoRequest(src, "user-1", now), page(src, "user-1", "/pricing", now))
	c := mustContactByUserID(t, db, "user-1")
	assertScore(t, mustContact(t, db, c.ID), 20, 50, "C", "mql")

	// Three half-lives later 50 points are 6.25: below the bound of 10.
	db.Now = func() time.Time { return now.Add(42 * 24 * time.Hour) }
	moved, err := db.Decay(t.Context())
	if err != nil {
		t.Fatalf("Decay: %v", err)
	}
	if moved != 1 {
		t.Errorf("Decay moved %d contacts, want 1", moved)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 6.25, "C", "inactive")
	if moved, _ := db.Decay(t.Context()); moved != 0 {
		t.Errorf("second Decay moved %d contacts, want 0", moved)
	}
	// Engaging again brings the contact back to the funnel stage it left.
	later := now.Add(42 * 24 * time.Hour)
	mustIngest(t, db, page(src, "user-1", "/pricing", later))
	assertScore(t, mustContact(t, db, c.ID), 20, 16.25, "C", "mql")
	assertStages(t, db, c.ID, ">lead (created)", "lead>mql (rule mql)", "mql>inactive (rule inactive)", "inactive>mql (left inactive)")
}

func testScoresWithoutAgreement(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}))
	if _, err := db.ContactScore(t.Context(), mustContactByUserID(t, db, "user-1").ID); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("ContactScore without an agreement: %v, want not_found", err)
	}
	if _, err := db.LatestRescore(t.Context()); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("LatestRescore without one: %v, want not_found", err)
	}
}

func testFutureEventCountsFromReceipt(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}), now))
	// A sender whose clock is eighty years ahead: the visit counts as of its receipt.
	m := page(src, "user-1", "/pricing", now.AddDate(80, 0, 0))
	m.ReceivedAt = now
	mustIngest(t, db, m)
	c := mustContactByUserID(t, db, "user-1")
	assertScore(t, mustContact(t, db, c.ID), 20, 10, "C", "lead")
	if _, err := db.Rescore(t.Context(), nil); err != nil {
		t.Fatalf("Rescore: %v", err)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 10, "C", "lead")
}

func testStaleScoreKeepsItsScale(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}), now), demoRequest(src, "user-1", now))
	c := mustContactByUserID(t, db, "user-1")
	// Seventy days (five half-lives) later a new version is activated; before the
	// rescore reaches the contact its 40 points still show decayed: 1.25.
	now := now.Add(70 * 24 * time.Hour)
	db.Now = func() time.Time { return now }
	p, err := db.ProposeAgreement(t.Context(), []byte(strings.Replace(testTerms, "Known person", "A known person", 1)), "", rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ApproveAgreement(t.Context(), p.Version, marketer); err != nil {
		t.Fatal(err)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 1.25, "C", "lead")
	if _, err := db.Rescore(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 1.25, "C", "lead")
}

func testMergedStageHistoryIsLabelled(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustActivate(t, db, testTerms)
	mustIngest(t, db, at(identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test"}), now))
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"title": "VP"}), now))
	loser := mustContactByUserID(t, db, "user-1")
	mustIngest(t, db, at(identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"}), now))
	c := mustContactByUserID(t, db, "user-1")
	got := mustStages(t, db, c.ID)
	want := fmt.Sprintf(">lead (created (as contact %d, merged))", loser.ID)
	if len(got) != 2 || !slices.Contains(got, ">lead (created)") || !slices.Contains(got, want) {
		t.Errorf("stage changes = %q, want the survivor's own creation and %q", got, want)
	}
}

// mustReadFile returns a file's text; the test agreement is shared with another
// package's tests.
func mustReadFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// carryTerms is the agreement of testRescoreCarriesScoresOver: the points of its demo
// and pricing rules, the line of its webinar rule, its pricing rule's condition and its
// MQL bound are filled in.
const carryTerms = `name: carry
timezone: UTC
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: demo, on: 'track:Demo Requested', points: %v, cap: { times: 2, per: 1d } }
      - { name: pricing, on: page, when: '%s', points: %v, cap: { times: 3, per: 1d } }
      - { name: pages, on: page, points: 1 }
%s
  fit:
    rules:
      - { name: senior title, when: 'traits.title == "VP"', points: 20 }
  grades: { A: 40, B: 25, C: 10 }
stages:
  - { key: lead, meaning: "Known person" }
  - { key: mql, meaning: "Engaged", enter_when: 'score.engagement >= %v' }
`

// testRescoreCarriesScoresOver activates a version that changes only the points of
// capped rules, drops a capped rule and lowers the MQL bound, and checks that its
// rescore reads no events and arrives at the scores, grades and stages that a store
// which had that version all along computed from the same events; a contact scored
// under neither version is scored from its own events on the way. A version that
// changes what a rule counts reads the events again, and keeps the fits.
func testRescoreCarriesScoresOver(t *testing.T, db *store.DB) {
	const (
		pricingPath = `properties.path startsWith "/pricing"`
		webinar     = `      - { name: webinar, on: 'track:Webinar Attended', points: 10, cap: { times: 1 } }`
	)
	before := fmt.Sprintf(carryTerms, 40, pricingPath, 5, webinar, 60)
	after := fmt.Sprintf(carryTerms, 30, pricingPath, 8, "", 50)
	send := func(db *store.DB) {
		src := mustCreateSource(t, db)
		var msgs []*tandem.Message
		for i, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
			traits := map[string]any{"email": u + "@example.com"}
			if i%2 == 0 {
				traits["title"] = "VP"
			}
			msgs = append(msgs, at(identifyMessage(src, u, "", traits), now.Add(-20*24*time.Hour)))
		}
		hour := func(h int) time.Time { return now.Add(time.Duration(-h) * time.Hour) }
		msgs = append(msgs,
			// u1: two demos, four pricing pages (the cap lets in three).
			demoRequest(src, "u1", hour(1)), demoRequest(src, "u1", hour(2)),
			page(src, "u1", "/pricing", hour(3)), page(src, "u1", "/pricing", hour(3)),
			page(src, "u1", "/pricing", hour(4)), page(src, "u1", "/pricing", hour(4)),
			// u2: a demo, a webinar (dropped later), two other pages.
			demoRequest(src, "u2", hour(1)), at(trackMessage(src, "u2", "", "Webinar Attended"), hour(2)),
			page(src, "u2", "/blog", hour(2)), page(src, "u2", "/docs", hour(2)),
			// u3: a demo two weeks ago, decayed to half, and a pricing page whose path
			// its client wrote with an escaped letter.
			demoRequest(src, "u3", now.Add(-14*24*time.Hour)), page(src, "u3", `/pr\u0069cing`, hour(5)),
			// u4: 40 + 15 + 3 = 58 under the first version, short of its 60; 30 + 24 + 3 = 57
			// under the second, past its 50.
			demoRequest(src, "u4", hour(1)), page(src, "u4", "/pricing", hour(2)),
			page(src, "u4", "/pricing", hour(2)), page(src, "u4", "/pricing", hour(3)),
			// u5: nothing but a blog post.
			page(src, "u5", "/blog", hour(6)),
		)
		for _, m := range msgs {
			mustIngest(t, db, m)
		}
	}
	// The store that had the second version all along.
	want := mustOpen(t, "sqlite")
	mustActivate(t, want, after)
	send(want)

	mustActivate(t, db, before)
	send(db)
	if _, err := db.Rescore(t.Context(), nil); err != nil {
		t.Fatalf("Rescore: %v", err)
	}
	u4 := mustContactByUserID(t, db, "u4")
	if u4.Stage != "lead" {
		t.Fatalf("u4 under the first version: stage %q, want lead", u4.Stage)
	}
	// A contact whose scores were lost: it is scored from its events.
	stray := mustContactByUserID(t, db, "u5")
	if err := db.ForgetScoreForTest(t.Context(), stray.ID); err != nil {
		t.Fatal(err)
	}
	second := mustActivate(t, db, after)
	// A minute later: a contact whose stage changed since the rescore began is scored
	// afresh, and with the clock standing still that would be every contact.
	later := now.Add(time.Minute)
	db.Now = func() time.Time { return later }
	want.Now = db.Now
	r, err := db.Rescore(t.Context(), nil)
	if err != nil || r.State != "done" || r.Version != second.Version {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	if r.EventsTotal != 0 {
		t.Errorf("the rescore read %d events; a version that changes only points and stages needs none", r.EventsTotal)
	}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		got, exp := mustContactByUserID(t, db, u), mustContactByUserID(t, want, u)
		if *got.Score != *exp.Score || got.Grade != exp.Grade || got.Stage != exp.Stage {
			t.Errorf("%s: carried over %+v %s %s; from the events %+v %s %s", u, *got.Score, got.Grade, got.Stage, *exp.Score, exp.Grade, exp.Stage)
		}
	}
	if got := mustStages(t, db, u4.ID); len(got) == 0 || got[len(got)-1] != fmt.Sprintf("lead>mql (agreement v%d)", second.Version) {
		t.Errorf("u4's stage changes = %q, want the last to be its move to mql caused by version %d", got, second.Version)
	}

	// Pricing pages counted by another condition: only the events tell.
	third := mustActivate(t, db, fmt.Sprintf(carryTerms, 30, `properties.path == "/pricing"`, 8, "", 50))
	// Another minute on, past the stage changes of the last rescore, which would be
	// scored afresh.
	later = later.Add(time.Minute)
	db.Now = func() time.Time { return later }
	want.Now = db.Now
	r, err = db.Rescore(t.Context(), nil)
	if err != nil || r.State != "done" || r.Version != third.Version {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	if r.EventsTotal == 0 {
		t.Errorf("a version that changes a rule's condition was rescored without reading events")
	}
	// The pages here are all "/pricing" itself: the same scores, fits carried over.
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		got, exp := mustContactByUserID(t, db, u), mustContactByUserID(t, want, u)
		if *got.Score != *exp.Score || got.Grade != exp.Grade || got.Stage != exp.Stage {
			t.Errorf("%s: read again %+v %s %s; want %+v %s %s", u, *got.Score, got.Grade, got.Stage, *exp.Score, exp.Grade, exp.Stage)
		}
	}

	// Rules that count other events than before: the capped pricing rule counts every
	// page, the uncapped pages rule gives 3 rather than 1, and a docs rule is new. They
	// are counted again; the rest carries over, and the scores come out as a store
	// that had this version all along computed them.
	fourth := strings.Replace(fmt.Sprintf(carryTerms, 30, `properties.path startsWith "/"`, 8,
		`      - { name: docs, on: page, when: 'properties.path == "/docs"', points: 4 }`, 50),
		"name: pages, on: page, points: 1", "name: pages, on: page, points: 3", 1)
	wantFourth := mustOpen(t, "sqlite")
	mustActivate(t, wantFourth, fourth)
	send(wantFourth)
	v4 := mustActivate(t, db, fourth)
	later = later.Add(time.Minute)
	db.Now = func() time.Time { return later }
	want.Now, wantFourth.Now = db.Now, db.Now
	if r, err = db.Rescore(t.Context(), nil); err != nil || r.State != "done" || r.Version != v4.Version {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		got, exp := mustContactByUserID(t, db, u), mustContactByUserID(t, wantFourth, u)
		if *got.Score != *exp.Score || got.Grade != exp.Grade || got.Stage != exp.Stage {
			t.Errorf("%s: counted again %+v %s %s; from the events %+v %s %s", u, *got.Score, got.Grade, got.Stage, *exp.Score, exp.Grade, exp.Stage)
		}
		if got.Score.Engagement == mustContactByUserID(t, want, u).Score.Engagement && u != "u3" {
			t.Errorf("%s: engagement %v, as under the version before: the new rules were not counted", u, got.Score.Engagement)
		}
	}
	u2 := mustContactByUserID(t, db, "u2")
	lines, err := db.ContactScore(t.Context(), u2.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantLines, err := wantFourth.ContactScore(t.Context(), mustContactByUserID(t, wantFourth, "u2").ID)
	if err != nil {
		t.Fatal(err)
	}
	// Line by line, to the cent: the two stores anchor their sums at different times, and
	// a line a hair from half a cent may round either way.
	same := lines.Score == wantLines.Score && len(lines.Lines) == len(wantLines.Lines)
	for i := 0; same && i < len(lines.Lines); i++ {
		got, exp := lines.Lines[i], wantLines.Lines[i]
		same = got.Rule == exp.Rule && got.Hits == exp.Hits && math.Abs(got.Points-exp.Points) <= 0.011
	}
	if !same {
		t.Errorf("u2's score explained: %+v %+v; want %+v %+v", lines.Score, lines.Lines, wantLines.Score, wantLines.Lines)
	}
}

// testRescoreLeavesUnchangedRows checks that a rescore writes only the contacts whose
// score moved, and that those it left alone still count as scored under the new
// version: ingest adds to them as to any other, the next version carries their scores
// over, and a rescore by hand starts every contact afresh. At each step the scores
// are those a store that had the version all along computed.
func testRescoreLeavesUnchangedRows(t *testing.T, db *store.DB) {
	const pricingPath = `properties.path startsWith "/pricing"`
	var (
		vA = fmt.Sprintf(carryTerms, 40, pricingPath, 5, "", 60)
		vB = fmt.Sprintf(carryTerms, 30, pricingPath, 5, "", 60) // demos give less: u1 moves
		vC = fmt.Sprintf(carryTerms, 30, pricingPath, 7, "", 60) // pricing gives more: u2 moves
	)
	hour := func(h int) time.Time { return now.Add(time.Duration(-h) * time.Hour) }
	first := func(src int64) []*tandem.Message {
		var msgs []*tandem.Message
		for _, u := range []string{"u1", "u2", "u3"} {
			msgs = append(msgs, at(identifyMessage(src, u, "", map[string]any{"email": u + "@example.com"}), now.Add(-20*24*time.Hour)))
		}
		return append(msgs,
			demoRequest(src, "u1", hour(1)),
			page(src, "u2", "/pricing", hour(2)), page(src, "u2", "/pricing", hour(2)),
			page(src, "u3", "/blog", hour(3)))
	}
	second := func(src int64) []*tandem.Message {
		// The third pricing page of the day reaches u2's cap.
		return []*tandem.Message{page(src, "u2", "/pricing", hour(1)), page(src, "u2", "/pricing", hour(1)), page(src, "u3", "/docs", hour(1))}
	}
	send := func(db *store.DB, msgs []*tandem.Message) {
		for _, m := range msgs {
			mustIngest(t, db, m)
		}
	}
	rescore := func(v *tandem.Agreement) {
		t.Helper()
		r, err := db.Rescore(t.Context(), nil)
		if err != nil || r.State != "done" || r.Version != v.Version {
			t.Fatalf("Rescore = %+v, %v; want version %d done", r, err, v.Version)
		}
	}
	labels := func(want map[string]int) {
		t.Helper()
		for u, v := range want {
			got, err := db.ScoredVersionForTest(t.Context(), mustContactByUserID(t, db, u).ID)
			if err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("%s's row is labelled version %d, want %d", u, got, v)
			}
		}
	}
	same := func(want *store.DB, step string) {
		t.Helper()
		want.Now = db.Now
		for _, u := range []string{"u1", "u2", "u3"} {
			got, exp := mustContactByUserID(t, db, u), mustContactByUserID(t, want, u)
			if got.Score == nil || *got.Score != *exp.Score || got.Grade != exp.Grade || got.Stage != exp.Stage {
				t.Errorf("%s, %s: %+v %s %s; a store that had the version all along: %+v %s %s", step, u, got.Score, got.Grade, got.Stage, *exp.Score, exp.Grade, exp.Stage)
			}
		}
	}
	clock := now
	tick := func() {
		// A minute on (activating sets the clock back): contacts whose stage moved since
		// a rescore began are scored afresh.
		clock = clock.Add(time.Minute)
		db.Now = func() time.Time { return clock }
	}
	wantB, wantC := mustOpen(t, "sqlite"), mustOpen(t, "sqlite")
	mustActivate(t, wantB, vB)
	mustActivate(t, wantC, vC)
	srcB, srcC := mustCreateSource(t, wantB), mustCreateSource(t, wantC)
	send(wantB, first(srcB))
	send(wantC, first(srcC))

	a := mustActivate(t, db, vA)
	src := mustCreateSource(t, db)
	send(db, first(src))
	rescore(a)
	b := mustActivate(t, db, vB)
	tick()
	rescore(b)
	labels(map[string]int{"u1": b.Version, "u2": a.Version, "u3": a.Version})
	same(wantB, "after the rescore")
	if r, _ := db.LatestRescore(t.Context()); r.Total != 1 {
		t.Errorf("the rescore to version %d read %d contacts; a version that changes one capped rule's points needs only those with its line, u1", b.Version, r.Total)
	}

	// Events for contacts the rescore left alone add to their scores, caps and all.
	send(db, second(src))
	send(wantB, second(srcB))
	send(wantC, second(srcC))
	same(wantB, "after more events")
	labels(map[string]int{"u1": b.Version, "u2": b.Version, "u3": b.Version})

	// u1's row, still labelled as the first rescore left it, carries over too; u3,
	// whose score was lost, is scored from its events.
	if err := db.ForgetScoreForTest(t.Context(), mustContactByUserID(t, db, "u3").ID); err != nil {
		t.Fatal(err)
	}
	c := mustActivate(t, db, vC)
	tick()
	rescore(c)
	if r, _ := db.LatestRescore(t.Context()); r.EventsTotal != 0 || r.Total != 2 {
		t.Errorf("the rescore to version %d read %d events and %d contacts; carried over, it needs no event, and only u2's pricing line and u3's lost score", c.Version, r.EventsTotal, r.Total)
	}
	same(wantC, "carried over")
	labels(map[string]int{"u1": b.Version, "u2": c.Version, "u3": c.Version})

	// A rescore by hand scores everyone afresh, whatever their row's label.
	tick()
	if _, err := db.StartRescore(t.Context(), store.FromRecord); err != nil {
		t.Fatal(err)
	}
	rescore(c)
	if r, _ := db.LatestRescore(t.Context()); r.EventsTotal == 0 {
		t.Errorf("a rescore by hand read no events")
	}
	same(wantC, "rescored by hand")
	labels(map[string]int{"u1": c.Version, "u2": c.Version, "u3": c.Version})
}

// testEventUnderUnfinishedVersion stores an event that no rule of the active version
// names while that version's rescore has not reached the contact, then activates a
// version that carries scores over from the one before: the event counts, as in a store
// that had the last version all along.
func testEventUnderUnfinishedVersion(t *testing.T, db *store.DB) {
	terms := func(demo int, pages bool) string {
		doc := fmt.Sprintf(carryTerms, demo, `properties.path startsWith "/pricing"`, 5, "", 60)
		if !pages { // no rule on page views at all
			doc = strings.Replace(doc, "      - { name: pages, on: page, points: 1 }\n", "", 1)
			doc = strings.Replace(doc, `      - { name: pricing, on: page, when: 'properties.path startsWith "/pricing"', points: 5, cap: { times: 3, per: 1d } }`+"\n", "", 1)
			if strings.Contains(doc, "on: page") {
				t.Fatalf("the version in between still has a page rule:\n%s", doc)
			}
		}
		return doc
	}
	src := mustCreateSource(t, db)
	l := mustActivate(t, db, terms(40, true))
	mustIngest(t, db, at(identifyMessage(src, "u1", "", map[string]any{"email": "u1@example.com"}), now.Add(-20*24*time.Hour)))
	mustIngest(t, db, page(src, "u1", "/blog", now.Add(-3*time.Hour)))
	if r, err := db.Rescore(t.Context(), nil); err != nil || r.Version != l.Version {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	mustActivate(t, db, terms(40, false)) // no rule for pages; its rescore does not run
	mustIngest(t, db, page(src, "u1", "/blog", now.Add(-2*time.Hour)))
	z := mustActivate(t, db, terms(30, true))
	clock := now.Add(time.Minute)
	db.Now = func() time.Time { return clock }
	if r, err := db.Rescore(t.Context(), nil); err != nil || r.Version != z.Version {
		t.Fatalf("Rescore = %+v, %v", r, err)
	}
	want := mustOpen(t, "sqlite")
	mustActivate(t, want, terms(30, true))
	wsrc := mustCreateSource(t, want)
	mustIngest(t, want, at(identifyMessage(wsrc, "u1", "", map[string]any{"email": "u1@example.com"}), now.Add(-20*24*time.Hour)))
	mustIngest(t, want, page(wsrc, "u1", "/blog", now.Add(-3*time.Hour)))
	mustIngest(t, want, page(wsrc, "u1", "/blog", now.Add(-2*time.Hour)))
	want.Now = db.Now
	got, exp := mustContactByUserID(t, db, "u1"), mustContactByUserID(t, want, "u1")
	if *got.Score != *exp.Score {
		t.Errorf("u1: %+v; a store that had the last version all along: %+v (the page view under the version in between lost?)", *got.Score, *exp.Score)
	}
}
