package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tandem"
)

// requestTerms are the least agreement with request types, on a clock that never stops.
const requestTerms = `name: requests
timezone: UTC
business_hours: { days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00" }
stages: [{ key: lead }, { key: mql, enter_on: accept }]
scoring:
  fit:
    rules:
      - { name: r, when: 'traits.x == 1', points: 1 }
sla:
  marketing:
    request_turnaround: { collateral: 24h, social: 8h }
`

// TestRequestPages walks a request through the pages: a rep files it, a marketer
// triages, starts and delivers it, and only the rep confirms it.
func TestRequestPages(t *testing.T) {
	db, srv := newApp(t)
	ctx := context.Background()
	mustUser(t, db, "sam@acme.test", tandem.TeamSales)
	mustUser(t, db, "mia@acme.test", tandem.TeamMarketing)
	admin := tandem.Actor{Name: "setup", Role: tandem.RoleAdmin}
	if _, err := db.ProposeAgreement(ctx, []byte(requestTerms), "yaml", admin); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ActivateAgreement(ctx, 1, admin); err != nil {
		t.Fatal(err)
	}
	rep, mkt := browser(t), browser(t)
	repCSRF := signIn(t, rep, srv.URL, "sam@acme.test", "a long enough password")
	mktCSRF := signIn(t, mkt, srv.URL, "mia@acme.test", "a long enough password")

	if resp, body := get(t, rep, srv.URL+"/requests"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/requests/new"`) {
		t.Errorf("the rep's board: status %d, want 200 with a New request button", resp.StatusCode)
	}
	if _, body := get(t, mkt, srv.URL+"/requests"); strings.Contains(body, `href="/requests/new"`) {
		t.Errorf("the marketer's board offers a New request button")
	}
	if resp, body := get(t, rep, srv.URL+"/requests/new"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "collateral — turnaround 24h") {
		t.Errorf("the new request form: status %d, want 200 listing collateral with its turnaround:\n%s", resp.StatusCode, body)
	}
	if resp, _ := get(t, mkt, srv.URL+"/requests/new"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a marketer's new request form: status %d, want 403", resp.StatusCode)
	}
	form := url.Values{"csrf": {repCSRF}, "type": {"collateral"}, "title": {""}, "links": {"https://drive.example.com/brief"}, "accounts": {"12, x"}}
	if resp, body := post(t, rep, srv.URL+"/requests", form); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "target accounts") ||
		!strings.Contains(body, "https://drive.example.com/brief") {
		t.Errorf("a request with a bad account id: status %d, want 422 saying so, the form filled in", resp.StatusCode)
	}
	form.Set("accounts", "")
	if resp, body := post(t, rep, srv.URL+"/requests", form); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "title: must be") {
		t.Errorf("a request without a title: status %d, want 422 saying so", resp.StatusCode)
	}
	form.Set("title", "Deck for Lumen")
	resp, _ := post(t, rep, srv.URL+"/requests", form)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/1?done=") {
		t.Fatalf("filing: status %d to %q, want 303 to /requests/1", resp.StatusCode, loc)
	}
	_, body := get(t, mkt, srv.URL+"/requests/1")
	if !strings.Contains(body, `action="/requests/1/triage"`) || strings.Contains(body, `action="/requests/1/confirm"`) {
		t.Errorf("the marketer's request page: want a triage form and no confirm")
	}
	if !strings.Contains(body, `<a href="https://drive.example.com/brief" rel="noopener noreferrer">`) {
		t.Errorf("the request page does not link the brief safely")
	}
	if _, body := get(t, rep, srv.URL+"/requests/1"); strings.Contains(body, `action="/requests/1/triage"`) {
		t.Errorf("the rep's request page offers triage")
	}
	act := func(c *http.Client, csrf, action string, v url.Values, want int) {
		t.Helper()
		if v == nil {
			v = url.Values{}
		}
		v.Set("csrf", csrf)
		if resp, body := post(t, c, srv.URL+"/requests/1/"+action, v); resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d\n%s", action, resp.StatusCode, want, body)
		}
	}
	act(rep, repCSRF, "triage", url.Values{"committed": {time.Now().Format(time.DateOnly)}}, http.StatusForbidden)
	act(mkt, mktCSRF, "start", nil, http.StatusConflict)
	act(mkt, mktCSRF, "triage", url.Values{"committed": {"soon"}}, http.StatusBadRequest)
	act(mkt, mktCSRF, "triage", url.Values{"committed": {time.Now().AddDate(0, 0, 2).Format(time.DateOnly)}, "assignee": {"mia@acme.test"}}, http.StatusSeeOther)
	act(mkt, mktCSRF, "start", nil, http.StatusSeeOther)
	act(mkt, mktCSRF, "deliver", url.Values{"links": {"https://drive.example.com/deck\n"}}, http.StatusSeeOther)
	act(mkt, mktCSRF, "confirm", nil, http.StatusForbidden)
	act(mkt, mktCSRF, "comment", url.Values{"body": {"Here it is."}}, http.StatusSeeOther)
	act(mkt, mktCSRF, "nap", nil, http.StatusNotFound)
	if _, body := get(t, rep, srv.URL+"/requests/1"); !strings.Contains(body, `action="/requests/1/confirm"`) || !strings.Contains(body, "Here it is.") {
		t.Errorf("the rep's delivered request: want a confirm form and mia's comment")
	}
	act(rep, repCSRF, "confirm", nil, http.StatusSeeOther)
	if _, body := get(t, rep, srv.URL+"/requests/1"); !strings.Contains(body, `id="status">confirmed<`) {
		t.Errorf("after confirming the request page does not read confirmed")
	}
	if _, body := get(t, mkt, srv.URL+"/requests"); !strings.Contains(body, "Recently confirmed or declined (1)") {
		t.Errorf("the board does not list the confirmed request")
	}
	_, body = get(t, mkt, srv.URL+"/reports")
	for _, want := range []string{`id="requests-filed">1<`, `id="requests-on-time">100%<`, `id="requests"`, `/reports/csv/requests-age`} {
		if !strings.Contains(body, want) {
			t.Errorf("the reports page lacks %s", want)
		}
	}
	if resp, body := get(t, mkt, srv.URL+"/reports/csv/requests"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "collateral,100") {
		t.Errorf("the requests CSV: status %d:\n%s", resp.StatusCode, body)
	}
}
