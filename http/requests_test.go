package http_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem"
)

// handoffTerms is an agreement with request turnarounds: collateral 24 business hours,
// social 8, leads 40, on New York's 9 to 5, Monday to Friday.
var handoffTerms = mustReadFile("../agreement/testdata/handoff.yaml")

// filedAt is when the tests' requests are filed: Wednesday 1 April 2026, 11:04:05 in New
// York. Collateral's 24 business hours end on Monday 6 April at 11:04:05 there; social's
// 8, on Thursday 2 April.
var filedAt = time.Date(2026, 4, 1, 15, 4, 5, 0, time.UTC)

// requestDetail is a request with its history and comments, as GET /requests/{id}
// answers.
type requestDetail struct {
	tandem.Request
	History  []tandem.RequestChange `json:"history"`
	Comments []tandem.Comment       `json:"comments"`
}

type requestPage struct {
	Data       []tandem.Request `json:"data"`
	NextCursor *string          `json:"next_cursor"`
}

// requestTeams activates handoffTerms, adds sam (sales) and mia (marketing) as users,
// and returns a token of each team. The store's clock stands at filedAt until the
// returned function moves it.
func (ts *testServer) requestTeams(tb testing.TB) (sales, marketing string, setNow func(time.Time)) {
	tb.Helper()
	var mu sync.Mutex
	now := filedAt
	ts.db.Now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	setNow = func(t time.Time) {
		mu.Lock()
		defer mu.Unlock()
		now = t
	}
	marketing = ts.mustCreateToken(tb, "mia's token", tandem.RoleMarketing)
	sales = ts.mustCreateToken(tb, "sam's token", tandem.RoleSales)
	p := ts.mustProposeAgreement(tb, marketing, "application/yaml", handoffTerms)
	ts.mustJSON(tb, ts.api(tb, "POST", fmt.Sprintf("/api/v1/agreement/versions/%d/approve", p.Version), sales, ""), 200, nil)
	for _, u := range []string{
		`{"email":"sam@acme.test","name":"Sam","team":"sales"}`,
		`{"email":"mia@acme.test","name":"Mia","team":"marketing"}`,
		`{"email":"kim@acme.test","name":"Kim","team":"sales"}`,
	} {
		ts.mustJSON(tb, ts.api(tb, "POST", "/api/v1/users", adminSecret, u), 201, nil)
	}
	return sales, marketing, setNow
}

// mustFile files a request with token and returns it.
func (ts *testServer) mustFile(tb testing.TB, token, body string) tandem.Request {
	tb.Helper()
	var r tandem.Request
	resp := ts.api(tb, "POST", "/api/v1/requests", token, body)
	ts.mustJSON(tb, resp, 201, &r)
	if loc := fmt.Sprintf("/api/v1/requests/%d", r.ID); resp.Header.Get("Location") != loc {
		tb.Errorf("Location = %q, want %q", resp.Header.Get("Location"), loc)
	}
	return r
}

// mustProblem checks that a response is a problem of status, and, when pointer is not
// empty, that its errors point at it.
func (ts *testServer) mustProblem(tb testing.TB, resp *http.Response, status int, pointer string) problemDoc {
	tb.Helper()
	var p problemDoc
	ts.mustJSON(tb, resp, status, &p)
	if pointer != "" && (len(p.Errors) == 0 || p.Errors[0].Pointer != pointer) {
		tb.Errorf("%s %s: errors = %+v, want one at %s (detail %q)", resp.Request.Method, resp.Request.URL.Path, p.Errors, pointer, p.Detail)
	}
	return p
}

func TestRequestTypes(t *testing.T) {
	ts := newTestServer(t)
	p := ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests/types", adminSecret, ""), 409, "")
	if !strings.Contains(p.Detail, "no agreement is active") {
		t.Errorf("types without an agreement: detail %q", p.Detail)
	}
	sales, _, _ := ts.requestTeams(t)
	var types struct {
		Data []struct {
			Type              string  `json:"type"`
			Turnaround        string  `json:"turnaround"`
			TurnaroundSeconds float64 `json:"turnaround_seconds"`
		} `json:"data"`
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/requests/types", sales, ""), 200, &types)
	got := fmt.Sprint(types.Data)
	if want := "[{collateral 24h0m0s 86400} {leads 40h0m0s 144000} {social 8h0m0s 28800}]"; got != want {
		t.Errorf("types = %s, want %s", got, want)
	}
}

// TestRequestWorkflow walks a request from filing to confirmation through the API, with
// each team refused what the other does.
func TestRequestWorkflow(t *testing.T) {
	ts := newTestServer(t)
	sales, marketing, _ := ts.requestTeams(t)

	r := ts.mustFile(t, sales, `{"type":"collateral","title":"Deck for Lumen","priority":"high","requester":"sam@acme.test",
		"opportunity":"Lumen renewal","links":["https://drive.example.com/brief"],"due_asked":"2026-04-10"}`)
	if want := time.Date(2026, 4, 6, 15, 4, 5, 0, time.UTC); r.DueAt == nil || !r.DueAt.Equal(want) {
		t.Errorf("due_at = %v, want %v", r.DueAt, want)
	}
	if want := time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC); r.DueAsked == nil || !r.DueAsked.Equal(want) {
		t.Errorf("due_asked = %v, want %v", r.DueAsked, want)
	}
	if r.Status != tandem.RequestNew || r.Requester != "sam@acme.test" || r.Priority != "high" || r.Overdue ||
		fmt.Sprint(r.Watchers) != "[sam@acme.test]" || len(r.Links) != 1 {
		t.Errorf("filed request = %+v", r)
	}
	// An RFC 3339 time will do for a date too.
	ts.mustFile(t, sales, `{"type":"social","title":"Posts for the launch","requester":"sam@acme.test","due_asked":"2026-04-03T17:00:00-04:00"}`)

	// Filing is sales' (and admin's); the body is checked field by field.
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", marketing, `{"type":"social","title":"Posts","requester":"sam@acme.test"}`), 403, "")
	p := ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", sales, `{"type":"social","title":"Posts","requester":"sam@acme.test","deadline":"2026-04-10"}`), 400, "")
	if !strings.Contains(p.Detail, "deadline") {
		t.Errorf("an unknown field: detail %q does not name it", p.Detail)
	}
	p = ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", sales, `{"type":"social","title":"Posts","requester":"sam@acme.test","due_asked":"next Friday"}`), 400, "/due_asked")
	if !strings.Contains(p.Detail, "due_asked") || !strings.Contains(p.Detail, "next Friday") {
		t.Errorf("a bad date: detail %q", p.Detail)
	}
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", sales, `{"type":"social","title":"Posts"}`), 400, "/requester")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", sales, `{"type":"podcast","title":"Posts","requester":"sam@acme.test"}`), 400, "/type")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests", sales, `{"type":"social","title":"Posts","requester":"mia@acme.test"}`), 400, "/requester")

	path := fmt.Sprintf("/api/v1/requests/%d", r.ID)
	accept := `{"accept":true,"committed":"2026-04-06","assignee":"mia@acme.test"}`
	ts.mustProblem(t, ts.api(t, "POST", path+"/triage", sales, accept), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/triage", marketing, `{"accept":true,"committed":"06/04/2026","assignee":"mia@acme.test"}`), 400, "/committed")
	ts.mustProblem(t, ts.api(t, "POST", path+"/triage", marketing, `{"committed":"2026-04-06","assignee":"mia@acme.test"}`), 400, "/accept")
	// A token is nobody in particular: it names the assignee.
	ts.mustProblem(t, ts.api(t, "POST", path+"/triage", marketing, `{"accept":true,"committed":"2026-04-06"}`), 400, "/assignee")
	ts.mustProblem(t, ts.api(t, "POST", path+"/start", marketing, ""), 409, "")

	var got tandem.Request
	ts.mustJSON(t, ts.api(t, "POST", path+"/triage", marketing, accept), 200, &got)
	if want := time.Date(2026, 4, 6, 0, 0, 0, 0, time.UTC); got.Status != tandem.RequestTriaged || got.Assignee != "mia@acme.test" ||
		got.CommittedAt == nil || !got.CommittedAt.Equal(want) || got.TriagedAt == nil {
		t.Errorf("triaged request = %+v", got)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/start", sales, ""), 403, "")
	ts.mustJSON(t, ts.api(t, "POST", path+"/start", marketing, "{}"), 200, &got)
	if got.Status != tandem.RequestInProgress {
		t.Errorf("started request is %s", got.Status)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/start", marketing, `{"now":true}`), 400, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/deliver", sales, `{"links":["https://drive.example.com/deck"]}`), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/deliver", marketing, `{"links":["ftp://drive.example.com/deck"]}`), 400, "/links/0")
	ts.mustProblem(t, ts.api(t, "POST", path+"/confirm", sales, ""), 409, "")
	ts.mustJSON(t, ts.api(t, "POST", path+"/deliver", marketing, `{"links":["https://drive.example.com/deck"]}`), 200, &got)
	if got.Status != tandem.RequestDelivered || got.DeliveredAt == nil || len(got.Links) != 2 || got.Overdue {
		t.Errorf("delivered request = %+v", got)
	}

	// Only the requester (or a sales token, for them) confirms or reopens.
	ts.mustProblem(t, ts.api(t, "POST", path+"/confirm", marketing, ""), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/reopen", marketing, `{"reason":"wrong logo"}`), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/reopen", sales, `{"reason":""}`), 400, "/reason")
	ts.mustJSON(t, ts.api(t, "POST", path+"/confirm", sales, ""), 200, &got)
	if got.Status != tandem.RequestConfirmed || got.ConfirmedAt == nil {
		t.Errorf("confirmed request = %+v", got)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/reopen", sales, `{"reason":"wrong logo"}`), 409, "")

	// Anyone comments and watches.
	var c tandem.Comment
	ts.mustJSON(t, ts.api(t, "POST", path+"/comments", marketing, `{"body":"The deck is in the drive."}`), 201, &c)
	if c.ID == 0 || c.By != "mia's token" || c.Body != "The deck is in the drive." {
		t.Errorf("comment = %+v", c)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/comments", sales, `{"body":" "}`), 400, "/body")
	ts.mustJSON(t, ts.api(t, "POST", path+"/watchers", sales, `{"email":"Kim@Acme.test"}`), 200, &got)
	if fmt.Sprint(got.Watchers) != "[kim@acme.test mia@acme.test sam@acme.test]" {
		t.Errorf("watchers = %v", got.Watchers)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/watchers", sales, `{"email":"kim"}`), 400, "/email")
	// Watchers read titles, reasons and comments: nobody outside the company.
	ts.mustProblem(t, ts.api(t, "POST", path+"/watchers", sales, `{"email":"x@attacker.test"}`), 400, "/email")

	var d requestDetail
	ts.mustJSON(t, ts.api(t, "GET", path, sales, ""), 200, &d)
	var moves []string
	for _, h := range d.History {
		moves = append(moves, fmt.Sprintf("%s>%s", h.From, h.To))
	}
	if got, want := strings.Join(moves, " "), ">new new>triaged triaged>in_progress in_progress>delivered delivered>confirmed"; got != want {
		t.Errorf("history = %s, want %s", got, want)
	}
	if len(d.History) == 5 && (d.History[0].By != "sam's token" || d.History[1].Note != "committed to 2026-04-06") {
		t.Errorf("history = %+v", d.History)
	}
	if d.ID != r.ID || d.Status != tandem.RequestConfirmed || len(d.Comments) != 1 || d.Comments[0].ID != c.ID {
		t.Errorf("request with history = %+v", d)
	}

	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests/999", sales, ""), 404, "")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/requests/999/start", marketing, ""), 404, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests/abc", sales, ""), 400, "")
}

func TestRequestListing(t *testing.T) {
	ts := newTestServer(t)
	sales, marketing, setNow := ts.requestTeams(t)
	deck := ts.mustFile(t, sales, `{"type":"collateral","title":"Deck for Lumen","requester":"sam@acme.test"}`)
	posts := ts.mustFile(t, sales, `{"type":"social","title":"Posts for the launch","requester":"sam@acme.test"}`)
	event := ts.mustFile(t, sales, `{"type":"social","title":"A booth at the fair","requester":"sam@acme.test"}`)
	var got tandem.Request
	ts.mustJSON(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/requests/%d/triage", event.ID), marketing, `{"accept":false,"reason":"No budget for fairs this quarter."}`), 200, &got)
	if got.Status != tandem.RequestDeclined || got.DeclineReason != "No budget for fairs this quarter." {
		t.Errorf("declined request = %+v", got)
	}
	ts.mustJSON(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/requests/%d/triage", deck.ID), marketing, `{"accept":true,"committed":"2026-04-03T12:00:00Z","assignee":"mia@acme.test"}`), 200, nil)

	ids := func(query string) string {
		t.Helper()
		var p requestPage
		ts.mustJSON(t, ts.api(t, "GET", "/api/v1/requests"+query, sales, ""), 200, &p)
		var s []string
		for _, r := range p.Data {
			s = append(s, fmt.Sprint(r.ID))
		}
		return strings.Join(s, " ")
	}
	want := func(rs ...tandem.Request) string {
		var s []string
		for _, r := range rs {
			s = append(s, fmt.Sprint(r.ID))
		}
		return strings.Join(s, " ")
	}
	// Thursday 2 April at noon in New York: social's 8 business hours ran out at 11:04:05.
	setNow(time.Date(2026, 4, 2, 16, 0, 0, 0, time.UTC))
	for _, tt := range []struct {
		query string
		want  string
	}{
		{"", want(deck, posts, event)},
		{"?status=open", want(deck, posts)},
		{"?status=new", want(posts)},
		{"?status=triaged", want(deck)},
		{"?status=declined", want(event)},
		{"?type=social", want(posts, event)},
		{"?overdue=true", want(posts)},
		{"?overdue=true&type=collateral", ""},
		{"?assignee=mia@acme.test", want(deck)},
		{"?requester=" + url.QueryEscape("Sam@acme.test"), want(deck, posts, event)},
		{"?requester=kim@acme.test", ""},
	} {
		if got := ids(tt.query); got != tt.want {
			t.Errorf("GET /api/v1/requests%s = [%s], want [%s]", tt.query, got, tt.want)
		}
	}
	var d tandem.Request
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/requests/%d", posts.ID), sales, ""), 200, &d)
	if !d.Overdue {
		t.Errorf("a social request past its 8 business hours is not overdue: %+v", d)
	}

	// Pages continue after the last id.
	var p requestPage
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/requests?limit=2", sales, ""), 200, &p)
	if len(p.Data) != 2 || p.NextCursor == nil {
		t.Fatalf("first page = %+v", p)
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/requests?limit=2&cursor="+*p.NextCursor, sales, ""), 200, &p)
	if len(p.Data) != 1 || p.Data[0].ID != event.ID || p.NextCursor != nil {
		t.Errorf("second page = %+v", p)
	}

	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests?status=done", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests?overdue=maybe", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/requests?limit=0", sales, ""), 400, "")
}
