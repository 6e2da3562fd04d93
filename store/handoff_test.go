package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem"
	"tandem/internal/mailpittest"
	"tandem/notify"
	"tandem/store"
)

// handoffTerms route North American leads round robin to alice (weight 2) and bob, and
// everyone else to chen, with a 4-business-hour accept clock in New York hours.
var handoffTerms = mustReadFile("../agreement/testdata/handoff.yaml")

// now is Wednesday 1 April 2026, 11:04:05 in New York (EDT, UTC-4). Four business hours
// later is 15:04:05 the same day; eight is 11:04:05 on Thursday.
var (
	acceptDue = time.Date(2026, 4, 1, 19, 4, 5, 0, time.UTC)
	warnAt    = time.Date(2026, 4, 1, 18, 4, 5, 0, time.UTC)
	touchDue  = time.Date(2026, 4, 2, 15, 4, 5, 0, time.UTC)
)

var quiet = slog.New(slog.DiscardHandler)

// mustUsers creates sales users by email.
func mustUsers(tb testing.TB, db *store.DB, emails ...string) map[string]*tandem.User {
	tb.Helper()
	out := map[string]*tandem.User{}
	for _, e := range emails {
		u, err := db.CreateUser(context.Background(), &tandem.User{Email: e, Name: strings.Split(e, "@")[0], Team: tandem.TeamSales})
		if err != nil {
			tb.Fatalf("CreateUser %s: %v", e, err)
		}
		out[e] = u
	}
	return out
}

// qualify makes a senior person from country cross into MQL: fit 20 (title) and
// engagement 50 (a demo request and a pricing page), all at now.
func qualify(tb testing.TB, db *store.DB, src int64, user, country string) *tandem.Contact {
	tb.Helper()
	mustIngest(tb, db,
		at(identifyMessage(src, user, "", map[string]any{"email": user + "@example.org", "title": "VP Sales", "country": country}), now),
		demoRequest(src, user, now), page(src, user, "/pricing", now))
	c := mustContactByUserID(tb, db, user)
	if c.Stage != "mql" {
		tb.Fatalf("%s is in stage %q, want mql", user, c.Stage)
	}
	return c
}

func mustAssignments(tb testing.TB, db *store.DB, f tandem.AssignmentFilter) []*tandem.Assignment {
	tb.Helper()
	list, err := db.Assignments(context.Background(), f, tandem.Page{Limit: 1000})
	if err != nil {
		tb.Fatalf("Assignments: %v", err)
	}
	return list
}

func openAssignment(tb testing.TB, db *store.DB, contactID int64) *tandem.Assignment {
	tb.Helper()
	list := mustAssignments(tb, db, tandem.AssignmentFilter{ContactID: contactID, Open: true})
	if len(list) != 1 {
		tb.Fatalf("contact %d has %d open assignments, want 1", contactID, len(list))
	}
	return list[0]
}

func mustWork(tb testing.TB, db *store.DB) int {
	tb.Helper()
	n, err := db.WorkJobs(context.Background(), "test", quiet)
	if err != nil {
		tb.Fatalf("WorkJobs: %v", err)
	}
	return n
}

func testHandoffRoundRobin(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)

	var got []string
	for i := range 6 {
		c := qualify(t, db, src, fmt.Sprintf("u%d", i), "US")
		a := openAssignment(t, db, c.ID)
		got = append(got, a.Rep)
		if a.Status != tandem.AssignmentAssigned || a.Route != "north america" || !strings.HasPrefix(a.Reason, "round robin na: ") {
			t.Errorf("assignment %d: status %s, route %q, reason %q; want assigned by the north america round robin", a.ID, a.Status, a.Route, a.Reason)
		}
		if a.AcceptDue == nil || !a.AcceptDue.Equal(acceptDue) || a.TouchDue == nil || !a.TouchDue.Equal(touchDue) || a.Due == nil || !a.Due.Equal(acceptDue) {
			t.Errorf("assignment %d: accept due %v, touch due %v, due %v; want %v, %v, %v", a.ID, a.AcceptDue, a.TouchDue, a.Due, acceptDue, touchDue, acceptDue)
		}
	}
	want := []string{"alice@acme.test", "bob@acme.test", "alice@acme.test", "alice@acme.test", "bob@acme.test", "alice@acme.test"}
	if !slices.Equal(got, want) {
		t.Errorf("reps = %v, want %v (weights 2 and 1)", got, want)
	}

	c := qualify(t, db, src, "abroad", "FR")
	if a := openAssignment(t, db, c.ID); a.Rep != "chen@acme.test" || a.Route != "everyone else" {
		t.Errorf("a lead from France went to %s by %q, want chen by everyone else", a.Rep, a.Route)
	}

	// More activity of an assigned lead hands nothing over again.
	mustIngest(t, db, page(src, "u0", "/pricing", now))
	if n := len(mustAssignments(t, db, tandem.AssignmentFilter{})); n != 7 {
		t.Errorf("%d assignments after more activity, want 7", n)
	}
	queue := mustAssignments(t, db, tandem.AssignmentFilter{Rep: "alice@acme.test", Status: tandem.AssignmentAssigned})
	if len(queue) != 4 {
		t.Errorf("alice's queue holds %d leads, want 4", len(queue))
	}
}

func testHandoffSkipsAwayAndCapped(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	users := mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	ctx := context.Background()
	one := 1
	if _, err := db.UpdateUser(ctx, users["alice@acme.test"].ID, tandem.UserChange{DailyCap: &one}); err != nil {
		t.Fatal(err)
	}
	away, err := db.AddAway(ctx, users["bob@acme.test"].ID, tandem.Away{Start: now.Add(-time.Hour), End: now.Add(48 * time.Hour), Note: "conference"})
	if err != nil {
		t.Fatal(err)
	}
	src := mustCreateSource(t, db)
	if a := openAssignment(t, db, qualify(t, db, src, "first", "US").ID); a.Rep != "alice@acme.test" {
		t.Errorf("first lead went to %s, want alice", a.Rep)
	}
	a := openAssignment(t, db, qualify(t, db, src, "second", "US").ID)
	if a.Rep != "chen@acme.test" || a.Route != "everyone else" {
		t.Errorf("second lead went to %s by %q, want chen: alice is at her cap and bob away", a.Rep, a.Route)
	}
	if !slices.ContainsFunc(a.Skipped, func(s string) bool { return strings.Contains(s, "alice@acme.test: at daily cap (1 of 1)") }) ||
		!slices.ContainsFunc(a.Skipped, func(s string) bool { return strings.Contains(s, "bob@acme.test: unavailable") }) {
		t.Errorf("skipped = %q, want alice at her cap and bob unavailable", a.Skipped)
	}
	u, err := db.User(ctx, users["bob@acme.test"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Away) != 1 || u.Away[0].ID != away.ID || !slices.Equal(u.Teams, []string{"na"}) {
		t.Errorf("bob: away %+v, teams %v; want the conference and team na", u.Away, u.Teams)
	}
	if err := db.DeleteAway(ctx, u.ID, away.ID); err != nil {
		t.Fatal(err)
	}
	if a := openAssignment(t, db, qualify(t, db, src, "third", "US").ID); a.Rep != "bob@acme.test" {
		t.Errorf("third lead went to %s, want bob, back from away", a.Rep)
	}
}

func testHandoffWithoutReps(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	src := mustCreateSource(t, db)
	a := openAssignment(t, db, qualify(t, db, src, "orphan", "US").ID)
	if a.Status != tandem.AssignmentUnassigned || a.Rep != "" || a.Due != nil {
		t.Errorf("with no reps: status %s, rep %q, due %v; want unassigned with no clock", a.Status, a.Rep, a.Due)
	}
	if !strings.Contains(a.Reason, "nobody available") {
		t.Errorf("reason = %q, want it to say nobody was available", a.Reason)
	}

	// A manager hands it to a rep who joined since.
	ctx := context.Background()
	if _, err := db.Assign(ctx, a.ID, "chen@acme.test", admin); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("assign to someone who is not a user: %v, want invalid", err)
	}
	mustUsers(t, db, "chen@acme.test")
	got, err := db.Assign(ctx, a.ID, "chen@acme.test", admin)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rep != "chen@acme.test" || got.Status != tandem.AssignmentAssigned || got.Route != "manual" || got.Reason != "assigned by root" ||
		got.PreviousID == nil || *got.PreviousID != a.ID || got.AcceptDue == nil || !got.AcceptDue.Equal(acceptDue) {
		t.Errorf("assigned by hand: %+v; want chen's, manual, with a fresh accept clock", got)
	}
	if old, _ := db.Assignment(ctx, a.ID); old.Status != tandem.AssignmentReassigned {
		t.Errorf("the unassigned lead's old assignment is %s, want reassigned", old.Status)
	}
	if _, err := db.Assign(ctx, a.ID, "chen@acme.test", admin); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("assigning a closed assignment: %v, want conflict", err)
	}
}

func testUserValidation(t *testing.T, db *store.DB) {
	ctx := context.Background()
	_, err := db.CreateUser(ctx, &tandem.User{Email: "not an address", Name: "", Team: "finance", Role: "boss", DailyCap: -1})
	var e *tandem.Error
	if !asError(err, &e) || e.Code != tandem.EInvalid || len(e.Fields) != 5 {
		t.Fatalf("CreateUser with five bad fields: %v, want invalid listing all five", err)
	}
	mustUsers(t, db, "Alice@Acme.test")
	_, err = db.CreateUser(ctx, &tandem.User{Email: "alice@acme.test", Name: "Alice again", Team: tandem.TeamSales})
	if tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("second user with the same email: %v, want conflict", err)
	}
	if _, err := db.AddAway(ctx, 999, tandem.Away{Start: now, End: now.Add(time.Hour)}); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("away of a missing user: %v, want not found", err)
	}
	if _, err := db.AddAway(ctx, 1, tandem.Away{Start: now, End: now}); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("empty away window: %v, want invalid", err)
	}
}

func testSalesActions(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()

	c := qualify(t, db, src, "won", "US")
	a := openAssignment(t, db, c.ID)
	acc, err := db.Accept(ctx, a.ID, rep)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Status != tandem.AssignmentAccepted || acc.AcceptedAt == nil || acc.Due == nil || !acc.Due.Equal(touchDue) || acc.ActedBy != rep.Name {
		t.Errorf("accepted: %+v; want accepted, now due for first touch at %v", acc, touchDue)
	}
	if _, err := db.Accept(ctx, a.ID, rep); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("accepting twice: %v, want conflict", err)
	}
	if got := mustContact(t, db, c.ID).Stage; got != "sal" {
		t.Errorf("stage after accept = %q, want sal", got)
	}
	touch, err := db.AddTouch(ctx, a.ID, tandem.Touch{Kind: "call", Note: "left a voicemail"}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddTouch(ctx, a.ID, tandem.Touch{Kind: "fax"}, rep); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a fax: %v, want invalid", err)
	}
	if _, err := db.AddTouch(ctx, a.ID, tandem.Touch{Kind: "call", At: now.Add(time.Hour)}, rep); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a call in the future: %v, want invalid", err)
	}
	touched, err := db.Assignment(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if touched.FirstTouchAt == nil || !touched.FirstTouchAt.Equal(touch.At) || touched.Due != nil {
		t.Errorf("after a call: first touch %v, due %v; want %v and no deadline", touched.FirstTouchAt, touched.Due, touch.At)
	}
	q, err := db.Qualify(ctx, a.ID, rep)
	if err != nil {
		t.Fatal(err)
	}
	if q.Status != tandem.AssignmentQualified || q.QualifiedAt == nil {
		t.Errorf("qualified: %+v", q)
	}
	stages, err := db.ContactStages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, s := range stages {
		path = append(path, s.To+" by "+s.Cause)
	}
	if want := []string{"lead by created", "mql by rule mql", "sal by action accept", "sql by action qualify"}; !slices.Equal(path, want) {
		t.Errorf("stage history = %q, want %q", path, want)
	}

	// A rejected lead goes back to marketing and must earn the handoff anew.
	c = qualify(t, db, src, "lost", "US")
	a = openAssignment(t, db, c.ID)
	if _, err := db.Reject(ctx, a.ID, "too expensive", rep); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("reject for a reason the agreement does not list: %v, want invalid", err)
	}
	recycled := now.Add(time.Minute)
	db.Now = func() time.Time { return recycled }
	r, err := db.Reject(ctx, a.ID, "poor_fit", rep)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != tandem.AssignmentRejected || r.RejectReason != "poor_fit" || r.ClosedAt == nil || r.Due != nil {
		t.Errorf("rejected: %+v", r)
	}
	got := mustContact(t, db, c.ID)
	assertScore(t, got, 20, 0, "B", "lead")
	mustIngest(t, db, page(src, "lost", "/pricing", recycled.Add(time.Minute)))
	got = mustContact(t, db, c.ID)
	assertScore(t, got, 20, 10, "B", "lead")
	if n := len(mustAssignments(t, db, tandem.AssignmentFilter{ContactID: c.ID})); n != 1 {
		t.Errorf("rejected lead has %d assignments after one more page view, want 1", n)
	}
	stages, err = db.ContactStages(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := stages[len(stages)-1]; last.From != "mql" || last.To != "lead" || last.Cause != "recycle poor_fit" {
		t.Errorf("last stage change = %+v, want mql → lead by recycle poor_fit", last)
	}
	// Anonymous browsing from before the rejection, linked when the visitor says who
	// they are afterwards, earns nothing either.
	mustIngest(t, db, at(pageMessage(src, "anon-lost"), now), at(trackMessage(src, "", "anon-lost", "Demo Requested"), now))
	mustIngest(t, db, at(identifyMessage(src, "lost", "anon-lost", map[string]any{"title": "VP Sales"}), recycled.Add(2*time.Minute)))
	assertScore(t, mustContact(t, db, c.ID), 20, 10, "B", "lead")
	if n := len(mustAssignments(t, db, tandem.AssignmentFilter{ContactID: c.ID})); n != 1 {
		t.Errorf("rejected lead has %d assignments after its old browsing was linked, want 1", n)
	}
	// A rescore does not count what it did before it was recycled.
	if _, err := db.ActivateAgreement(ctx, mustPropose(t, db, handoffTerms+"\n# again\n").Version, admin); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Rescore(ctx, nil); err != nil {
		t.Fatal(err)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 10, "B", "lead")
}

func mustPropose(tb testing.TB, db *store.DB, doc string) *tandem.Agreement {
	tb.Helper()
	p, err := db.ProposeAgreement(context.Background(), []byte(doc), "", marketer)
	if err != nil {
		tb.Fatalf("ProposeAgreement: %v", err)
	}
	return p
}

func testBreachReassigns(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	c := qualify(t, db, src, "slow", "US")
	first := openAssignment(t, db, c.ID)
	if n := mustWork(t, db); n != 0 {
		t.Errorf("%d jobs ran before any clock ran out, want 0", n)
	}

	db.Now = func() time.Time { return acceptDue.Add(time.Second) }
	mustWork(t, db) // the warning and the breach
	if n := mustWork(t, db); n != 0 {
		t.Errorf("a second round ran %d more jobs, want 0", n)
	}
	old, err := db.Assignment(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != tandem.AssignmentReassigned || old.BreachedAt == nil {
		t.Errorf("breached assignment: status %s, breached at %v; want reassigned", old.Status, old.BreachedAt)
	}
	second := openAssignment(t, db, c.ID)
	if second.Rep != "bob@acme.test" || second.PreviousID == nil || *second.PreviousID != first.ID {
		t.Errorf("after the breach the lead is with %s (previous %v), want bob taking over from %d", second.Rep, second.PreviousID, first.ID)
	}
	if !slices.Contains(second.Skipped, "alice@acme.test: had the lead before") {
		t.Errorf("skipped = %q, want alice, who had the lead", second.Skipped)
	}
	// From the breach at 15:04:06 EDT on Wednesday, four business hours are 1:55:54
	// until closing and 2:04:06 on Thursday: 11:04:06 EDT.
	if want := time.Date(2026, 4, 2, 15, 4, 6, 0, time.UTC); second.AcceptDue == nil || !second.AcceptDue.Equal(want) {
		t.Errorf("new accept clock due %v, want %v", second.AcceptDue, want)
	}

	// Bob lets it run out too: nobody in the team is left, so the next route decides.
	db.Now = func() time.Time { return second.AcceptDue.Add(time.Second) }
	mustWork(t, db)
	third := openAssignment(t, db, c.ID)
	if third.Rep != "chen@acme.test" || third.Route != "everyone else" {
		t.Errorf("third owner %s by %q, want chen by everyone else", third.Rep, third.Route)
	}
	if all := mustAssignments(t, db, tandem.AssignmentFilter{ContactID: c.ID}); len(all) != 3 {
		t.Errorf("%d assignments, want 3: one per breach", len(all))
	}
}

func testAcceptStopsTheClock(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	a := openAssignment(t, db, qualify(t, db, src, "quick", "US").ID)
	if _, err := db.Accept(context.Background(), a.ID, rep); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return acceptDue.Add(time.Hour) }
	if n := mustWork(t, db); n != 0 {
		t.Errorf("%d jobs ran after the lead was accepted in time, want 0", n)
	}
	if got, _ := db.Assignment(context.Background(), a.ID); got.Status != tandem.AssignmentAccepted || got.BreachedAt != nil {
		t.Errorf("accepted lead after its clock: %+v", got)
	}
}

// receiver is a webhook endpoint that checks signatures.
type receiver struct {
	mu     sync.Mutex
	secret string
	fail   int // answer 500 to this many requests first
	got    []map[string]any
	errs   []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	if err := notify.Verify(rc.secret, r.Header, body, time.Now()); err != nil {
		rc.errs = append(rc.errs, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		rc.errs = append(rc.errs, err)
	}
	rc.got = append(rc.got, m)
}

func testWebhookOnHandoff(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	ctx := context.Background()
	rc := &receiver{fail: 1}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ch, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "webhook", Name: "crm", URL: srv.URL, Events: []string{"lead.assigned", "lead.rejected"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.Secret, "whsec_") {
		t.Fatalf("webhook secret %q, want whsec_…", ch.Secret)
	}
	rc.secret = ch.Secret
	// The delivery log uses the real clock for signatures; the store clock stays at now.
	src := mustCreateSource(t, db)
	c := qualify(t, db, src, "hooked", "US")
	mustWork(t, db) // the first attempt fails with a 500
	log, err := db.Deliveries(ctx, ch.ID, tandem.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].OK || log[0].Status != 500 || log[0].NextAt == nil || log[0].Type != "lead.assigned" {
		t.Fatalf("delivery log after a 500 = %+v, want one failed attempt with a retry planned", log)
	}
	db.Now = func() time.Time { return log[0].NextAt.Add(time.Millisecond) }
	mustWork(t, db)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.errs) > 0 || len(rc.got) != 1 {
		t.Fatalf("receiver got %d requests, errors %v; want one signed lead.assigned", len(rc.got), rc.errs)
	}
	data, _ := rc.got[0]["data"].(map[string]any)
	contact, _ := data["contact"].(map[string]any)
	if rc.got[0]["type"] != "lead.assigned" || data["rep"] != "alice@acme.test" || contact["id"] != float64(c.ID) {
		t.Errorf("payload = %v, want lead.assigned of contact %d to alice", rc.got[0], c.ID)
	}
	log, err = db.Deliveries(ctx, ch.ID, tandem.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 2 || !log[0].OK || log[0].Status != 200 || log[0].Attempt != 2 || log[0].NextAt != nil {
		t.Errorf("delivery log = %+v, want the second attempt on top, delivered", log)
	}
}

func testChannelValidation(t *testing.T, db *store.DB) {
	ctx := context.Background()
	_, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "pager", Name: "", Events: []string{"lead.sold"}})
	var e *tandem.Error
	if !asError(err, &e) || len(e.Fields) != 3 {
		t.Errorf("bad channel: %v, want three problems", err)
	}
	if _, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "email", Name: "reps", To: []string{"rep", "nobody"}, Events: []string{"lead.assigned"}}); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("email channel with a bad address: %v, want invalid", err)
	}
	c, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "email", Name: "reps", To: []string{"rep", "Ops@Acme.test"}, Events: []string{"lead.assigned"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.To, []string{"rep", "ops@acme.test"}) || c.Secret != "" {
		t.Errorf("email channel = %+v", c)
	}
	list, err := db.Channels(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("Channels = %v, %v", list, err)
	}
	if err := db.DeleteChannel(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteChannel(ctx, c.ID); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("deleting twice: %v, want not found", err)
	}
}

// TestPostgresBreachOnce lets the accept clocks of many leads run out while two nodes
// work the job queue at once: each lead is reassigned exactly once.
func TestPostgresBreachOnce(t *testing.T) {
	dsn := mustCreateSchema(t)
	nodes := []*store.DB{mustOpenDSN(t, dsn), mustOpenDSN(t, dsn)}
	db := nodes[0]
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	const leads = 40
	for i := range leads {
		qualify(t, db, src, fmt.Sprintf("p%d", i), "US")
	}
	late := func() time.Time { return acceptDue.Add(time.Minute) }
	var wg sync.WaitGroup
	for i, n := range nodes {
		n.Now = late
		wg.Go(func() {
			if _, err := n.WorkJobs(context.Background(), fmt.Sprintf("node%d", i), quiet); err != nil {
				t.Errorf("node %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	all := mustAssignments(t, db, tandem.AssignmentFilter{})
	byStatus := map[tandem.AssignmentStatus]int{}
	for _, a := range all {
		byStatus[a.Status]++
	}
	if byStatus[tandem.AssignmentReassigned] != leads || byStatus[tandem.AssignmentAssigned] != leads || len(all) != 2*leads {
		t.Errorf("assignments by status = %v of %d, want %d reassigned and %d assigned anew", byStatus, len(all), leads, leads)
	}
	// Each breach acted once: one notice each, each timer done after one attempt.
	conn, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var notices, done, once int
	if err := conn.QueryRow(`SELECT (SELECT count(*) FROM notifications WHERE type = 'sla.breached'),
		(SELECT count(*) FROM jobs WHERE kind = 'sla.breach' AND state = 'done'),
		(SELECT count(*) FROM jobs WHERE kind = 'sla.breach' AND state = 'done' AND attempts = 1)`).Scan(&notices, &done, &once); err != nil {
		t.Fatal(err)
	}
	if notices != leads || done != leads || once != leads {
		t.Errorf("%d breach notices, %d breach timers done (%d at the first attempt), want %d of each", notices, done, once, leads)
	}
}

func asError(err error, e **tandem.Error) bool {
	x, ok := err.(*tandem.Error)
	if !ok {
		return false
	}
	*e = x
	return true
}

// testSLAReport hands three leads to alice and bob: alice accepts hers after an hour,
// bob rejects his for poor fit, and alice lets the third run out of time.
func testSLAReport(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	first := openAssignment(t, db, qualify(t, db, src, "r1", "US").ID)  // alice
	second := openAssignment(t, db, qualify(t, db, src, "r2", "US").ID) // bob
	third := openAssignment(t, db, qualify(t, db, src, "r3", "US").ID)  // alice
	db.Now = func() time.Time { return now.Add(time.Hour) }
	if _, err := db.Accept(ctx, first.ID, rep); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reject(ctx, second.ID, "poor_fit", rep); err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return acceptDue.Add(time.Second) }
	mustWork(t, db) // the third breaches and goes to bob, who has not had it
	if a := openAssignment(t, db, third.ContactID); a.Rep != "bob@acme.test" {
		t.Fatalf("breached lead went to %s, want bob", a.Rep)
	}

	r, err := db.SLAReport(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Q2 2026 in New York.
	if want := time.Date(2026, 4, 1, 4, 0, 0, 0, time.UTC); !r.Period.From.Equal(want) {
		t.Errorf("period from %v, want %v", r.Period.From, want)
	}
	s := r.Sales
	if s.Assigned != 4 || s.Accepted != 1 || s.Rejected != 1 || s.Breached != 1 || s.Open != 1 {
		t.Errorf("sales = %d assigned, %d accepted, %d rejected, %d breached, %d open; want 4, 1, 1, 1, 1",
			s.Assigned, s.Accepted, s.Rejected, s.Breached, s.Open)
	}
	// Accepted and rejected in time; the breach was late; bob's new one is not yet due.
	if s.WithinSLA != 2 || s.WithinSLAShare == nil || *s.WithinSLAShare != 2.0/3 {
		t.Errorf("within SLA = %d (share %v), want 2 of 3", s.WithinSLA, s.WithinSLAShare)
	}
	if s.MedianTimeToAccept == nil || time.Duration(*s.MedianTimeToAccept) != time.Hour {
		t.Errorf("median time to accept = %v, want 1h", s.MedianTimeToAccept)
	}
	breaches := map[string]int{}
	for _, x := range s.Reps {
		breaches[x.Rep] = x.Breached
	}
	if breaches["alice@acme.test"] != 1 || breaches["bob@acme.test"] != 0 {
		t.Errorf("breaches per rep = %v, want alice 1", breaches)
	}
	m := r.Marketing
	if m.MQLs != 3 || m.Target != 300 || m.AcceptanceRate == nil || *m.AcceptanceRate != 0.5 {
		t.Errorf("marketing = %d MQLs of %d, acceptance %v; want 3 of 300, 0.5", m.MQLs, m.Target, m.AcceptanceRate)
	}
	if m.Rejections[2].Reason != "poor_fit" || m.Rejections[2].Count != 1 || m.Rejections[0].Count != 0 {
		t.Errorf("rejections = %+v, want poor_fit once", m.Rejections)
	}
	if monthly, err := db.SLAReport(ctx, "", "month"); err != nil || monthly.Marketing.Target != 100 {
		t.Errorf("monthly report target = %v (%v), want a third of the quarter's 300", monthly, err)
	}
	// 30 June is in the second quarter in New York, whatever the time in UTC.
	if june, err := db.SLAReport(ctx, "2026-06-30", ""); err != nil || !june.Period.From.Equal(r.Period.From) {
		t.Errorf("report at 2026-06-30 covers %v (%v), want the quarter from %v", june.Period, err, r.Period.From)
	}
	if _, err := db.SLAReport(ctx, "June", ""); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("report at June: %v, want invalid", err)
	}
}

// testEmailAndChatOnRejection sends the rep an email over a real SMTP server when a lead
// is assigned, and tells marketing's chat channel when sales rejects it.
func testEmailAndChatOnRejection(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	ctx := context.Background()
	mp := mailpittest.Start(t)
	smtp, err := notify.ParseSMTP("smtp://"+mp.SMTPAddr+"?tls=none", "tandem@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		chat []string
	)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ Text string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("chat message: %v", err)
		}
		mu.Lock()
		chat = append(chat, m.Text)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer slack.Close()
	db.Notifier = store.Notifier{SMTP: smtp, BaseURL: "https://tandem.acme.test"}
	if _, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "email", Name: "reps", To: []string{"rep"}, Events: []string{"lead.assigned"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateChannel(ctx, &tandem.Channel{Kind: "slack", Name: "#marketing", URL: slack.URL, Events: []string{"lead.rejected", "lead.recycled"}}); err != nil {
		t.Fatal(err)
	}
	src := mustCreateSource(t, db)
	c := qualify(t, db, src, "mailed", "US")
	mustWork(t, db)
	msgs := mp.WaitMessages(t, 1)
	m := mp.Message(t, msgs[0].ID)
	if len(m.To) != 1 || m.To[0].Address != "alice@acme.test" || m.Subject != "New lead for alice@acme.test: mailed@example.org" ||
		!strings.Contains(m.Text, fmt.Sprintf("https://tandem.acme.test/contacts/%d", c.ID)) {
		t.Errorf("email to %v, subject %q, text %q; want alice told of the lead with a link", m.To, m.Subject, m.Text)
	}
	if _, err := db.Reject(ctx, openAssignment(t, db, c.ID).ID, "bad_timing", rep); err != nil {
		t.Fatal(err)
	}
	mustWork(t, db)
	mu.Lock()
	defer mu.Unlock()
	if len(chat) != 2 || !strings.Contains(chat[0], "alice@acme.test rejected mailed@example.org") || !strings.Contains(chat[0], "bad_timing") ||
		!strings.Contains(chat[1], "went back to marketing") {
		t.Errorf("chat = %q, want the rejection with its reason, then the recycle", chat)
	}
}

// testDeliveredAtOnce runs the job queue as a server does, polling only once an hour:
// the webhook of a lead that qualifies still goes out as soon as its commit is done.
func testDeliveredAtOnce(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ch, err := db.CreateChannel(context.Background(), &tandem.Channel{Kind: "webhook", Name: "crm", URL: srv.URL, Events: []string{"lead.assigned"}})
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = ch.Secret
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.RunJobs(ctx, time.Hour, quiet)
	}()
	defer func() {
		cancel()
		<-done
	}()
	// The runner's first pass finds nothing; from then on it sleeps for the hour.
	time.Sleep(100 * time.Millisecond)
	src := mustCreateSource(t, db)
	for i := range 3 {
		qualify(t, db, src, fmt.Sprintf("fast%d", i), "US")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc.mu.Lock()
		n, errs := len(rc.got), rc.errs
		rc.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("receiver: %v", errs)
		}
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 webhooks arrived while the queue polls hourly, want all three at once", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testMergeKeepsTheOwner hands one person's two profiles to sales, each as it
// qualified, then learns they are one person: the person keeps one open assignment,
// which the rep can act on.
func testMergeKeepsTheOwner(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	byEmail := qualify(t, db, src, "ada", "US") // ada@example.org, by user id "ada"
	mustIngest(t, db,
		at(identifyMessage(src, "ada-2", "", map[string]any{"title": "VP Sales", "country": "US"}), now),
		demoRequest(src, "ada-2", now), page(src, "ada-2", "/pricing", now))
	other := mustContactByUserID(t, db, "ada-2")
	first, second := openAssignment(t, db, byEmail.ID), openAssignment(t, db, other.ID)
	// ada-2 turns out to be ada: the profile known by email survives.
	mustIngest(t, db, at(identifyMessage(src, "ada-2", "", map[string]any{"email": "ada@example.org"}), now))
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("%d contacts after the merge, want 1", n)
	}
	survivor := mustContactByUserID(t, db, "ada-2")
	open := openAssignment(t, db, survivor.ID)
	all := mustAssignments(t, db, tandem.AssignmentFilter{ContactID: survivor.ID})
	if len(all) != 2 {
		t.Fatalf("the merged person has %d assignments, want both profiles' 2", len(all))
	}
	if open.ID != first.ID && open.ID != second.ID {
		t.Fatalf("open assignment %d is neither profile's", open.ID)
	}
	if _, err := db.Accept(ctx, open.ID, rep); err != nil {
		t.Errorf("accepting the merged person's lead: %v", err)
	}
}

// testRescoreKeepsTheRecycle rejects a lead while a rescore is reading events: the
// rescore must not write back the engagement the lead had before sales sent it back.
func testRescoreKeepsTheRecycle(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	c := qualify(t, db, src, "midway", "US")
	a := openAssignment(t, db, c.ID)
	// A new rule, so that the rescore reads the events and the reject lands between its
	// reading them and its writing the contact.
	v2 := strings.Replace(handoffTerms, "      - { name: demo request,", "      - { name: webinar, on: 'track:Webinar Attended', points: 5 }\n      - { name: demo request,", 1)
	if _, err := db.ActivateAgreement(ctx, mustPropose(t, db, v2).Version, admin); err != nil {
		t.Fatal(err)
	}
	var rejected error
	once := sync.Once{}
	if _, err := db.Rescore(ctx, func(phase string, done, total int64) {
		if phase == "events" {
			once.Do(func() {
				db.Now = func() time.Time { return now.Add(time.Minute) }
				_, rejected = db.Reject(ctx, a.ID, "no_budget", rep)
			})
		}
	}); err != nil {
		t.Fatal(err)
	}
	if rejected != nil {
		t.Fatal(rejected)
	}
	assertScore(t, mustContact(t, db, c.ID), 20, 0, "B", "lead")
	if n := len(mustAssignments(t, db, tandem.AssignmentFilter{ContactID: c.ID})); n != 1 {
		t.Errorf("%d assignments after the rescore, want the rejected one alone", n)
	}
}

// testRescoreHandsOffInTurn lowers the bar so that a rescore qualifies five leads at
// once: they go round robin in one go, and a rep's daily cap counts the leads the
// rescore gave them before.
func testRescoreHandsOffInTurn(t *testing.T, db *store.DB) {
	high := strings.Replace(handoffTerms, "score.engagement >= 50", "score.engagement >= 60", 1)
	mustActivate(t, db, high)
	users := mustUsers(t, db, "alice@acme.test", "bob@acme.test", "chen@acme.test")
	ctx := context.Background()
	two := 2
	if _, err := db.UpdateUser(ctx, users["alice@acme.test"].ID, tandem.UserChange{DailyCap: &two}); err != nil {
		t.Fatal(err)
	}
	src := mustCreateSource(t, db)
	var ids []int64
	for i := range 5 {
		user := fmt.Sprint("v", i)
		mustIngest(t, db,
			at(identifyMessage(src, user, "", map[string]any{"email": user + "@example.org", "title": "VP Sales", "country": "US"}), now),
			demoRequest(src, user, now), page(src, user, "/pricing", now))
		c := mustContactByUserID(t, db, user)
		if c.Stage != "lead" {
			t.Fatalf("%s is in stage %q before the bar is lowered, want lead", user, c.Stage)
		}
		ids = append(ids, c.ID)
	}
	v := mustActivate(t, db, handoffTerms)
	if _, err := db.Rescore(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, id := range ids {
		if c := mustContact(t, db, id); c.Stage != "mql" {
			t.Errorf("contact %d is in stage %q after the rescore, want mql", id, c.Stage)
		}
		a := openAssignment(t, db, id)
		if a.Status != tandem.AssignmentAssigned || a.Route != "north america" || a.Version != v.Version {
			t.Errorf("assignment of contact %d: %s by %q under v%d, want assigned by north america under v%d", id, a.Status, a.Route, a.Version, v.Version)
		}
		got[a.Rep]++
	}
	// alice, bob, alice; then alice is at her cap of two and bob takes the rest.
	if want := map[string]int{"alice@acme.test": 2, "bob@acme.test": 3}; !maps.Equal(got, want) {
		t.Errorf("leads by rep: %v, want %v", got, want)
	}
}

func testPasswordsAndSessions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on an empty store = %d, %v", n, err)
	}
	u := mustUsers(t, db, "alice@acme.test")["alice@acme.test"]
	if err := db.SetPassword(ctx, u.ID, "short"); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a five-letter password: %v, want invalid", err)
	}
	if _, _, _, err := db.Login(ctx, "alice@acme.test", "anything at all"); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("login before a password was set: %v, want unauthorized", err)
	}
	if err := db.SetPassword(ctx, u.ID, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"alice@acme.test", "wrong horse battery"}, {"bob@acme.test", "correct horse battery"}, {"not an email", "x"}} {
		if _, _, _, err := db.Login(ctx, bad[0], bad[1]); tandem.ErrorCode(err) != tandem.EUnauthorized || err.Error() != "wrong email or password" {
			t.Errorf("login as %q with %q: %v, want the one answer for a wrong email or password", bad[0], bad[1], err)
		}
	}
	got, secret, csrf, err := db.Login(ctx, " Alice@Acme.test ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || secret == "" || csrf == "" {
		t.Fatalf("login = %+v, %q, %q", got, secret, csrf)
	}
	who, c, err := db.Session(ctx, secret)
	if err != nil || who.ID != u.ID || c != csrf {
		t.Errorf("Session = %v, %q, %v; want alice with the login's CSRF token", who, c, err)
	}
	if _, _, err := db.Session(ctx, secret+"x"); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("a made-up session: %v, want unauthorized", err)
	}
	if err := db.Logout(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Session(ctx, secret); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("after logout: %v, want unauthorized", err)
	}
	// A new password signs every browser out; so does deactivation.
	_, secret, _, _ = db.Login(ctx, "alice@acme.test", "correct horse battery")
	if err := db.SetPassword(ctx, u.ID, "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Session(ctx, secret); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("after a new password: %v, want unauthorized", err)
	}
	_, secret, _, _ = db.Login(ctx, "alice@acme.test", "another long password")
	off := false
	if _, err := db.UpdateUser(ctx, u.ID, tandem.UserChange{Active: &off}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Session(ctx, secret); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("a deactivated user's session: %v, want unauthorized", err)
	}
}
