package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/store"
)

var (
	sam = tandem.Person{Email: "sam@acme.test", Name: "Sam", Role: tandem.RoleSales}
	kim = tandem.Person{Email: "kim@acme.test", Name: "Kim", Role: tandem.RoleSales}
	mia = tandem.Person{Email: "mia@acme.test", Name: "Mia", Role: tandem.RoleMarketing}
)

// requestPeople makes sam and kim (sales) and mia (marketing).
func requestPeople(tb testing.TB, db *store.DB) {
	tb.Helper()
	for _, p := range []tandem.Person{sam, kim, mia} {
		team := tandem.TeamSales
		if p.Role == tandem.RoleMarketing {
			team = tandem.TeamMarketing
		}
		if _, err := db.CreateUser(context.Background(), &tandem.User{Email: p.Email, Name: p.Name, Team: team}); err != nil {
			tb.Fatal(err)
		}
	}
}

func mustRequest(tb testing.TB, db *store.DB, typ string) *tandem.Request {
	tb.Helper()
	r, err := db.CreateRequest(context.Background(), &tandem.Request{Type: typ, Title: "Deck for Lumen", Links: []string{"https://drive.example.com/brief"}}, sam)
	if err != nil {
		tb.Fatalf("CreateRequest: %v", err)
	}
	return r
}

func testRequestDueInBusinessTime(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	requestPeople(t, db)
	// Filed Wednesday 1 April 11:04:05 in New York. Collateral's 24 business hours are
	// 5:55:55 on Wednesday, 8 on Thursday, 8 on Friday and 2:04:05 on Monday; social's
	// 8 end on Thursday.
	for typ, want := range map[string]time.Time{
		"collateral": time.Date(2026, 4, 6, 15, 4, 5, 0, time.UTC),
		"social":     time.Date(2026, 4, 2, 15, 4, 5, 0, time.UTC),
	} {
		r := mustRequest(t, db, typ)
		if r.DueAt == nil || !r.DueAt.Equal(want) {
			t.Errorf("%s request due %v, want %v", typ, r.DueAt, want)
		}
		if r.Status != tandem.RequestNew || r.Requester != sam.Email || r.Priority != "normal" || len(r.Watchers) != 1 {
			t.Errorf("new %s request = %+v", typ, r)
		}
	}
	_, err := db.CreateRequest(context.Background(), &tandem.Request{Type: "podcast", Title: ""}, sam)
	var e *tandem.Error
	if !asError(err, &e) || len(e.Fields) != 2 || !strings.Contains(e.Fields[1].Detail, "collateral, leads, social") {
		t.Errorf("a request of an unknown type without a title: %v, want both problems, naming the agreement's types", err)
	}
	if _, err := db.CreateRequest(context.Background(), &tandem.Request{Type: "leads", Title: "More leads"}, sam); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a leads request without accounts: %v, want invalid", err)
	}
	if _, err := db.CreateRequest(context.Background(), &tandem.Request{Type: "social", Title: "Posts"}, mia); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("marketing filing a request: %v, want forbidden", err)
	}
}

// testRequestWorkflow walks every transition of the workflow from every status, by
// the people allowed and refused.
func testRequestWorkflow(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	requestPeople(t, db)
	ctx := context.Background()
	committed := now.Add(48 * time.Hour)
	accept := tandem.Triage{Accept: true, Committed: committed}
	type step struct {
		name string
		do   func(id int64) (*tandem.Request, error)
	}
	triage := func(by tandem.Person) step {
		return step{"triage by " + by.Name, func(id int64) (*tandem.Request, error) { return db.TriageRequest(ctx, id, accept, by) }}
	}
	decline := step{"decline", func(id int64) (*tandem.Request, error) {
		return db.TriageRequest(ctx, id, tandem.Triage{Reason: "no budget for events this quarter"}, mia)
	}}
	start := func(by tandem.Person) step {
		return step{"start by " + by.Name, func(id int64) (*tandem.Request, error) { return db.StartRequest(ctx, id, by) }}
	}
	deliver := func(by tandem.Person) step {
		return step{"deliver by " + by.Name, func(id int64) (*tandem.Request, error) {
			return db.DeliverRequest(ctx, id, []string{"https://drive.example.com/deck"}, by)
		}}
	}
	confirm := func(by tandem.Person) step {
		return step{"confirm by " + by.Name, func(id int64) (*tandem.Request, error) { return db.ConfirmRequest(ctx, id, by) }}
	}
	reopen := func(by tandem.Person) step {
		return step{"reopen by " + by.Name, func(id int64) (*tandem.Request, error) { return db.ReopenRequest(ctx, id, "logo is old", by) }}
	}
	// path leads a new request to each status.
	path := map[tandem.RequestStatus][]step{
		tandem.RequestNew:        nil,
		tandem.RequestTriaged:    {triage(mia)},
		tandem.RequestDeclined:   {decline},
		tandem.RequestInProgress: {triage(mia), start(mia)},
		tandem.RequestDelivered:  {triage(mia), start(mia), deliver(mia)},
		tandem.RequestConfirmed:  {triage(mia), start(mia), deliver(mia), confirm(sam)},
	}
	all := []step{triage(mia), triage(sam), decline, start(mia), start(sam), deliver(mia), deliver(sam),
		confirm(sam), confirm(mia), confirm(kim), reopen(sam), reopen(mia)}
	// allowed lists, per status, the steps that may be taken and where they lead.
	allowed := map[tandem.RequestStatus]map[string]tandem.RequestStatus{
		tandem.RequestNew:        {"triage by Mia": tandem.RequestTriaged, "decline": tandem.RequestDeclined},
		tandem.RequestTriaged:    {"start by Mia": tandem.RequestInProgress, "deliver by Mia": tandem.RequestDelivered},
		tandem.RequestInProgress: {"deliver by Mia": tandem.RequestDelivered},
		tandem.RequestDelivered:  {"confirm by Sam": tandem.RequestConfirmed, "reopen by Sam": tandem.RequestInProgress},
		tandem.RequestDeclined:   {},
		tandem.RequestConfirmed:  {},
	}
	for from, steps := range path {
		for _, s := range all {
			t.Run(fmt.Sprintf("%s/%s", from, s.name), func(t *testing.T) {
				r := mustRequest(t, db, "collateral")
				for _, p := range steps {
					if _, err := p.do(r.ID); err != nil {
						t.Fatalf("on the way to %s, %s: %v", from, p.name, err)
					}
				}
				got, err := s.do(r.ID)
				to, ok := allowed[from][s.name]
				switch {
				case ok && err != nil:
					t.Errorf("%s from %s: %v, want it allowed", s.name, from, err)
				case ok && got.Status != to:
					t.Errorf("%s from %s went to %s, want %s", s.name, from, got.Status, to)
				case !ok && err == nil:
					t.Errorf("%s from %s was allowed, want it refused", s.name, from)
				case !ok && tandem.ErrorCode(err) != tandem.EConflict && tandem.ErrorCode(err) != tandem.EForbidden:
					t.Errorf("%s from %s: %v, want conflict or forbidden", s.name, from, err)
				}
			})
		}
	}
	// Who may do what, where the status would allow it.
	r := mustRequest(t, db, "collateral")
	if _, err := db.TriageRequest(ctx, r.ID, accept, sam); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("a rep triaging: %v, want forbidden", err)
	}
	for _, s := range path[tandem.RequestDelivered] {
		if _, err := s.do(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ConfirmRequest(ctx, r.ID, mia); tandem.ErrorCode(err) != tandem.EForbidden {
		t.Errorf("marketing confirming on the requester's behalf: %v, want forbidden", err)
	}
	if _, err := db.ReopenRequest(ctx, r.ID, "", sam); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("reopening without a reason: %v, want invalid", err)
	}
	got, err := db.ReopenRequest(ctx, r.ID, "logo is old", sam)
	if err != nil || got.Reopened != 1 || got.DeliveredAt != nil || got.Assignee != mia.Email || !got.CommittedAt.Equal(committed) {
		t.Errorf("reopened: %+v, %v", got, err)
	}
	if _, err := db.CommentRequest(ctx, r.ID, "new logo is in the brand folder", mia); err != nil {
		t.Fatal(err)
	}
	changes, comments, err := db.RequestHistory(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, c := range changes {
		trail = append(trail, fmt.Sprintf("%s>%s by %s", c.From, c.To, c.By))
	}
	want := ">new by Sam <sam@acme.test>,new>triaged by Mia <mia@acme.test>,triaged>in_progress by Mia <mia@acme.test>," +
		"in_progress>delivered by Mia <mia@acme.test>,delivered>in_progress by Sam <sam@acme.test>"
	if strings.Join(trail, ",") != want || len(comments) != 1 || comments[0].By != "Mia <mia@acme.test>" {
		t.Errorf("history = %s, %d comments; want %s and Mia's comment", strings.Join(trail, ","), len(comments), want)
	}
}

// testLeadsRequestCountsMQLs asks marketing for leads at one account and sees the
// report count the MQLs it produced after the request, not before.
func testLeadsRequestCountsMQLs(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	requestPeople(t, db)
	ctx := context.Background()
	src := mustCreateSource(t, db)
	before := qualify(t, db, src, "early", "US") // early@example.org, an MQL before the request
	if before.AccountID == nil {
		t.Fatal("the lead has no account")
	}
	db.Now = func() time.Time { return now.Add(30 * time.Minute) }
	req, err := db.CreateRequest(ctx, &tandem.Request{Type: "leads", Title: "More at example.org", Accounts: []int64{*before.AccountID}}, sam)
	if err != nil {
		t.Fatal(err)
	}
	db.Now = func() time.Time { return now.Add(time.Hour) }
	mustIngest(t, db,
		at(identifyMessage(src, "late", "", map[string]any{"email": "late@example.org", "title": "VP Sales"}), now.Add(time.Hour)),
		demoRequest(src, "late", now.Add(time.Hour)), page(src, "late", "/pricing", now.Add(time.Hour)))
	r, err := db.SLAReport(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == nil || len(r.Requests.Leads) != 1 || r.Requests.Leads[0].ID != req.ID || r.Requests.Leads[0].MQLs != 1 {
		t.Errorf("leads requests in the report = %+v, want request %d with the one MQL since", r.Requests, req.ID)
	}
	if r.Requests.Filed != 1 || len(r.Requests.PerRep) != 1 || r.Requests.PerRep[0].Key != sam.Email {
		t.Errorf("requests report = %+v, want sam's one request", r.Requests)
	}
}

// testStageFlows qualifies three leads at once, accepts one an hour later, and follows
// the quarter's entries down the funnel.
func testStageFlows(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	var leads []*tandem.Contact
	for i := range 3 {
		leads = append(leads, qualify(t, db, src, fmt.Sprintf("flow%d", i), "US"))
	}
	db.Now = func() time.Time { return now.Add(time.Hour) }
	if _, err := db.Accept(ctx, openAssignment(t, db, leads[0].ID).ID, rep); err != nil {
		t.Fatal(err)
	}
	_, flows, err := db.StageFlows(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range flows {
		s := fmt.Sprintf("%s>%s %d/%d", f.Stage, f.Next, f.Reached, f.Entered)
		if f.MedianTime != nil {
			s += " " + time.Duration(*f.MedianTime).String()
		}
		got = append(got, s)
	}
	if want := "lead>mql 3/3 0s, mql>sal 1/3 1h0m0s, sal>sql 0/1"; strings.Join(got, ", ") != want {
		t.Errorf("flows = %s, want %s", strings.Join(got, ", "), want)
	}
	if _, _, err := db.StageFlows(ctx, "", "year"); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("per year: %v, want invalid", err)
	}
}

func testRequestListing(t *testing.T, db *store.DB) {
	mustActivate(t, db, handoffTerms)
	requestPeople(t, db)
	ctx := context.Background()
	var ids []int64
	for i, by := range []tandem.Person{sam, kim, sam} {
		r, err := db.CreateRequest(ctx, &tandem.Request{Type: "social", Title: fmt.Sprintf("Posts %d", i)}, by)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	list := func(f tandem.RequestFilter, p tandem.Page) []int64 {
		t.Helper()
		rs, err := db.Requests(ctx, f, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := list(tandem.RequestFilter{Requesters: []string{kim.Email}}, tandem.Page{}); len(got) != 1 || got[0] != ids[1] {
		t.Errorf("kim's team's requests = %v, want [%d]", got, ids[1])
	}
	if got := list(tandem.RequestFilter{Newest: true}, tandem.Page{Limit: 2}); len(got) != 2 || got[0] != ids[2] || got[1] != ids[1] {
		t.Errorf("newest two = %v, want [%d %d]", got, ids[2], ids[1])
	}
	if got := list(tandem.RequestFilter{Newest: true}, tandem.Page{After: ids[1]}); len(got) != 1 || got[0] != ids[0] {
		t.Errorf("newest after %d = %v, want [%d]", ids[1], got, ids[0])
	}
	// Eight business hours after filing on Wednesday 11:04 the posts are overdue.
	db.Now = func() time.Time { return now.Add(48 * time.Hour) }
	if got := list(tandem.RequestFilter{Overdue: true}, tandem.Page{}); len(got) != 3 {
		t.Errorf("overdue = %v, want all three", got)
	}
}
