package http_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"tandem"
)

// dealTerms are the handoff terms with the stages a deal moves people to.
var dealTerms = strings.Replace(handoffTerms,
	`  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }`,
	`  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }
  - { key: opportunity, meaning: "An open deal", enter_on: opportunity_created }
  - { key: customer, meaning: "They bought", enter_on: opportunity_won }`, 1)

type opportunityPage struct {
	Data       []tandem.Opportunity `json:"data"`
	NextCursor *string              `json:"next_cursor"`
}

// dealTeams activates dealTerms and returns a sales and a marketing token.
func (ts *testServer) dealTeams(tb testing.TB) (sales, marketing string) {
	tb.Helper()
	if !strings.Contains(dealTerms, "opportunity_won") {
		tb.Fatal("the deal terms lack the deal stages")
	}
	marketing = ts.mustCreateToken(tb, "mia's token", tandem.RoleMarketing)
	sales = ts.mustCreateToken(tb, "sam's token", tandem.RoleSales)
	p := ts.mustProposeAgreement(tb, marketing, "application/yaml", dealTerms)
	ts.mustJSON(tb, ts.api(tb, "POST", fmt.Sprintf("/api/v1/agreement/versions/%d/approve", p.Version), sales, ""), 200, nil)
	return sales, marketing
}

// mustDeal creates an opportunity with token and returns it.
func (ts *testServer) mustDeal(tb testing.TB, token, body string) tandem.Opportunity {
	tb.Helper()
	var o tandem.Opportunity
	resp := ts.api(tb, "POST", "/api/v1/opportunities", token, body)
	ts.mustJSON(tb, resp, 201, &o)
	if loc := fmt.Sprintf("/api/v1/opportunities/%d", o.ID); resp.Header.Get("Location") != loc {
		tb.Errorf("Location = %q, want %q", resp.Header.Get("Location"), loc)
	}
	return o
}

func (ts *testServer) contactStage(tb testing.TB, id int64) string {
	tb.Helper()
	var c tandem.Contact
	ts.mustJSON(tb, ts.api(tb, "GET", fmt.Sprintf("/api/v1/contacts/%d", id), adminSecret, ""), 200, &c)
	return c.Stage
}

// TestOpportunityWorkflow creates a deal over a tracked contact, changes and wins it,
// with the contact moved to the agreement's deal stages.
func TestOpportunityWorkflow(t *testing.T) {
	ts := newTestServer(t)
	sales, marketing := ts.dealTeams(t)
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[{"type":"identify","userId":"ada","traits":{"email":"ada@lumen.test","title":"VP Sales"}}]}`), 200, nil)
	ada, ok := ts.contactsByEmail(t)["ada@lumen.test"]
	if !ok {
		t.Fatal("the identified contact is not stored")
	}
	if got := ts.contactStage(t, ada); got != "lead" {
		t.Fatalf("a new contact is in %q, want lead", got)
	}

	body := fmt.Sprintf(`{"name":"Lumen 2027","external_id":"006ABC","amount":48000,"currency":"usd","stage":"discovery",
		"expected_close":"2026-06-30","owner":"sam@acme.test","contacts":[{"contact_id":%d,"role":"decision maker"}]}`, ada)
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", marketing, body), 403, "")
	o := ts.mustDeal(t, sales, body)
	if want := time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC); o.Status != tandem.OpportunityOpen || o.Currency != "USD" || o.Amount != 48000 ||
		o.ExternalID != "006ABC" || o.ExpectedClose == nil || !o.ExpectedClose.Equal(want) || o.ClosedAt != nil ||
		len(o.Contacts) != 1 || o.Contacts[0].ContactID != ada || o.Contacts[0].Role != "decision maker" {
		t.Errorf("created opportunity = %+v", o)
	}
	if got := ts.contactStage(t, ada); got != "opportunity" {
		t.Errorf("the deal's contact is in %q, want opportunity", got)
	}
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", sales, body), 409, "")

	// The body is checked field by field, and unknown fields are refused.
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", sales, `{"name":"Deal","currency":"dollars"}`), 400, "/currency")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", sales, `{"name":"Deal","currency":"EUR","contacts":[{"contact_id":999}]}`), 400, "/contacts/0/contact_id")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", sales, `{"name":"Deal","currency":"EUR","expected_close":"next spring"}`), 400, "/expected_close")
	p := ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities", sales, `{"name":"Deal","currency":"EUR","probability":0.4}`), 400, "")
	if !strings.Contains(p.Detail, "probability") {
		t.Errorf("an unknown field: detail %q does not name it", p.Detail)
	}

	path := fmt.Sprintf("/api/v1/opportunities/%d", o.ID)
	var got tandem.Opportunity
	ts.mustJSON(t, ts.api(t, "GET", path, marketing, ""), 200, &got)
	if got.ID != o.ID || got.Name != "Lumen 2027" || len(got.Contacts) != 1 {
		t.Errorf("GET %s = %+v", path, got)
	}
	ts.mustProblem(t, ts.api(t, "PATCH", path, marketing, `{"stage":"proposal"}`), 403, "")
	ts.mustProblem(t, ts.api(t, "PATCH", path, sales, `{"currency":"euro"}`), 400, "/currency")
	ts.mustProblem(t, ts.api(t, "PATCH", path, sales, `{"status":"won"}`), 400, "")
	ts.mustJSON(t, ts.api(t, "PATCH", path, sales, `{"stage":"proposal","amount":52000,"expected_close":"2026-07-15T12:00:00Z"}`), 200, &got)
	if want := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC); got.Stage != "proposal" || got.Amount != 52000 || got.Name != "Lumen 2027" ||
		got.Currency != "USD" || got.ExpectedClose == nil || !got.ExpectedClose.Equal(want) {
		t.Errorf("changed opportunity = %+v", got)
	}

	ts.mustProblem(t, ts.api(t, "POST", path+"/won", marketing, ""), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/won", sales, `{"now":true}`), 400, "")
	ts.mustJSON(t, ts.api(t, "POST", path+"/won", sales, ""), 200, &got)
	if got.Status != tandem.OpportunityWon || got.ClosedAt == nil {
		t.Errorf("won opportunity = %+v", got)
	}
	if got := ts.contactStage(t, ada); got != "customer" {
		t.Errorf("the contact of a won deal is in %q, want customer", got)
	}
	ts.mustProblem(t, ts.api(t, "POST", path+"/won", sales, "{}"), 409, "")
	ts.mustProblem(t, ts.api(t, "POST", path+"/lost", sales, `{"reason":"budget cut"}`), 409, "")
	ts.mustProblem(t, ts.api(t, "PATCH", path, sales, `{"stage":"closed"}`), 409, "")

	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities/999", sales, ""), 404, "")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/opportunities/999/won", sales, ""), 404, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities/abc", sales, ""), 400, "")
}

func TestOpportunityListing(t *testing.T) {
	ts := newTestServer(t)
	sales, marketing := ts.dealTeams(t)
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[{"type":"identify","userId":"ada","traits":{"email":"ada@lumen.test"}}]}`), 200, nil)
	var c tandem.Contact
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", ts.contactsByEmail(t)["ada@lumen.test"]), adminSecret, ""), 200, &c)
	if c.AccountID == nil {
		t.Fatalf("contact = %+v, want one with an account", c)
	}
	won := ts.mustDeal(t, sales, fmt.Sprintf(`{"name":"Lumen 2027","currency":"USD","account_id":%d}`, *c.AccountID))
	lost := ts.mustDeal(t, adminSecret, `{"name":"Initech pilot","currency":"EUR"}`)
	open := ts.mustDeal(t, sales, `{"name":"Globex renewal","currency":"GBP","amount":12000.5}`)
	ts.mustJSON(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/opportunities/%d/won", won.ID), sales, "{}"), 200, nil)
	ts.mustProblem(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/opportunities/%d/lost", lost.ID), marketing, `{"reason":"chose a competitor"}`), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/opportunities/%d/lost", lost.ID), sales, `{"reason":" "}`), 400, "/reason")
	var got tandem.Opportunity
	ts.mustJSON(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/opportunities/%d/lost", lost.ID), sales, `{"reason":"chose a competitor"}`), 200, &got)
	if got.Status != tandem.OpportunityLost || got.LostReason != "chose a competitor" || got.ClosedAt == nil {
		t.Errorf("lost opportunity = %+v", got)
	}

	ids := func(query string) string {
		t.Helper()
		var p opportunityPage
		ts.mustJSON(t, ts.api(t, "GET", "/api/v1/opportunities"+query, marketing, ""), 200, &p)
		var s []string
		for _, o := range p.Data {
			s = append(s, fmt.Sprint(o.ID))
		}
		return strings.Join(s, " ")
	}
	want := func(os ...tandem.Opportunity) string {
		var s []string
		for _, o := range os {
			s = append(s, fmt.Sprint(o.ID))
		}
		return strings.Join(s, " ")
	}
	for _, tt := range []struct {
		query string
		want  string
	}{
		{"", want(won, lost, open)},
		{"?status=open", want(open)},
		{"?status=won", want(won)},
		{"?status=lost", want(lost)},
		{fmt.Sprintf("?account_id=%d", *c.AccountID), want(won)},
		{fmt.Sprintf("?status=open&account_id=%d", *c.AccountID), ""},
	} {
		if got := ids(tt.query); got != tt.want {
			t.Errorf("GET /api/v1/opportunities%s = [%s], want [%s]", tt.query, got, tt.want)
		}
	}

	// Pages continue after the last id.
	var p opportunityPage
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/opportunities?limit=2", sales, ""), 200, &p)
	if len(p.Data) != 2 || p.NextCursor == nil {
		t.Fatalf("first page = %+v", p)
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/opportunities?limit=2&cursor="+*p.NextCursor, sales, ""), 200, &p)
	if len(p.Data) != 1 || p.Data[0].ID != open.ID || p.NextCursor != nil {
		t.Errorf("second page = %+v", p)
	}

	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities?status=closed", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities?account_id=x", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities?limit=0", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/opportunities", "", ""), 401, "")
}
