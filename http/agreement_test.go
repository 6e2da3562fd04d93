package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem"
)

// terms is a small agreement whose arithmetic the scoring tests work out by hand. Fit:
// a senior title gives 20, grade C. Engagement halves every 14 days: a pricing visit
// gives 10, a demo request 40 at most once a day. An MQL fits (20) and is engaged (50).
var terms = mustReadFile("../agreement/testdata/terms.yaml")

// t0 is the store's clock in the scoring tests, and the time the agreement is activated
// at: the anchor of engagement decay. Events at t0 count whole, those a half-life (14
// days) before it count half, so the expected scores are exact.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const halfLife = 14 * 24 * time.Hour

// mustCreateToken creates an API token and returns its secret.
func (ts *testServer) mustCreateToken(tb testing.TB, name string, role tandem.Role) string {
	tb.Helper()
	var tok struct{ Token string }
	ts.mustJSON(tb, ts.api(tb, "POST", "/api/v1/tokens", adminSecret, fmt.Sprintf(`{"name":%q,"role":%q}`, name, role)), 201, &tok)
	if tok.Token == "" {
		tb.Fatalf("token %s: no secret returned", name)
	}
	return tok.Token
}

// send sends an API request with a bearer token, a body and its Content-Type (none
// when contentType is empty) and other headers as name, value pairs.
func (ts *testServer) send(tb testing.TB, method, path, token, contentType, body string, header ...string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// mustText checks the response status and returns its body.
func mustText(tb testing.TB, resp *http.Response, status int) string {
	tb.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tb.Fatalf("%s %s: got status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, body)
	}
	return string(body)
}

// mustProposeAgreement proposes doc, sent as contentType, with token.
func (ts *testServer) mustProposeAgreement(tb testing.TB, token, contentType, doc string) tandem.Agreement {
	tb.Helper()
	var a tandem.Agreement
	ts.mustJSON(tb, ts.send(tb, "PUT", "/api/v1/agreement", token, contentType, doc), 201, &a)
	return a
}

// mustActivateTerms has marketing propose terms and sales approve them, and returns the
// two teams' tokens.
func (ts *testServer) mustActivateTerms(tb testing.TB) (marketing, sales string) {
	tb.Helper()
	marketing = ts.mustCreateToken(tb, "mia", tandem.RoleMarketing)
	sales = ts.mustCreateToken(tb, "sam", tandem.RoleSales)
	p := ts.mustProposeAgreement(tb, marketing, "application/yaml", terms)
	ts.mustJSON(tb, ts.api(tb, "POST", fmt.Sprintf("/api/v1/agreement/versions/%d/approve", p.Version), sales, ""), 200, nil)
	return marketing, sales
}

// documentProblem is a problem+json answer about an agreement document.
type documentProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Rule    string `json:"rule"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Message string `json:"message"`
	} `json:"errors"`
}

func TestAgreementApproval(t *testing.T) {
	ts := newTestServer(t)
	mia := ts.mustCreateToken(t, "mia", tandem.RoleMarketing)
	sam := ts.mustCreateToken(t, "sam", tandem.RoleSales)

	var p problemDoc
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement", sam, ""), 404, &p)
	if p.Code != "not_found" {
		t.Errorf("no agreement yet: code = %q, want not_found", p.Code)
	}

	resp := ts.send(t, "PUT", "/api/v1/agreement", mia, "application/yaml", terms)
	if loc := resp.Header.Get("Location"); loc != "/api/v1/agreement/versions/1" {
		t.Errorf("Location = %q, want /api/v1/agreement/versions/1", loc)
	}
	var proposed tandem.Agreement
	ts.mustJSON(t, resp, 201, &proposed)
	if proposed.Version != 1 || proposed.Status != "proposed" || proposed.Name != "test terms" || proposed.Format != "yaml" ||
		proposed.Document != terms || proposed.ProposedBy != "mia" || proposed.ProposedRole != tandem.RoleMarketing || proposed.ProposedAt.IsZero() {
		t.Errorf("proposed = %+v, want version 1 of test terms, proposed by mia (marketing) as written", proposed)
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement", sam, ""), 404, nil)

	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/1/approve", mia, ""), 403, &p)
	if p.Code != "forbidden" || !strings.Contains(p.Detail, "sales must approve") {
		t.Errorf("approval by the proposer's team: %s %q, want forbidden naming sales as the team to approve", p.Code, p.Detail)
	}
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/1/approve", adminSecret, ""), 403, &p)
	if !strings.Contains(p.Detail, "activate") {
		t.Errorf("approval by an admin: detail %q, want it to point to activating", p.Detail)
	}

	var approved tandem.Agreement
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/1/approve", sam, ""), 200, &approved)
	if approved.Status != "active" || approved.ApprovedBy != "sam" || approved.ApprovedRole != tandem.RoleSales || approved.ApprovedAt == nil || approved.ActivatedAt == nil {
		t.Errorf("approved = %+v, want active, approved by sam (sales)", approved)
	}
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/1/approve", sam, ""), 409, nil)

	var active tandem.Agreement
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement", mia, ""), 200, &active)
	if active.Version != 1 || active.Status != "active" || active.ApprovedBy != "sam" || active.ProposedBy != "mia" {
		t.Errorf("active = %+v, want version 1, proposed by mia, approved by sam", active)
	}

	// The document as written, for editors and for `git diff`.
	for _, tt := range []struct {
		name, path string
		header     []string
	}{
		{"format=yaml", "/api/v1/agreement?format=yaml", nil},
		{"Accept", "/api/v1/agreement", []string{"Accept", "application/yaml"}},
		{"one version", "/api/v1/agreement/versions/1?format=yaml", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := ts.send(t, "GET", tt.path, mia, "", "", tt.header...)
			ct, v := resp.Header.Get("Content-Type"), resp.Header.Get("Tandem-Agreement-Version")
			if got := mustText(t, resp, 200); got != terms {
				t.Errorf("got\n%s\nwant the document as written:\n%s", got, terms)
			}
			if !strings.HasPrefix(ct, "application/yaml") || v != "1" {
				t.Errorf("Content-Type %q, Tandem-Agreement-Version %q; want application/yaml, 1", ct, v)
			}
		})
	}
}

func TestAgreementRefusesBadDocument(t *testing.T) {
	ts := newTestServer(t)
	mia := ts.mustCreateToken(t, "mia", tandem.RoleMarketing)
	// Four problems, on lines 3, 9, 12 and 16.
	bad := `name: broken terms
timezone: UTC
owner: marketing
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }
      - { name: pricing visit, on: 'track:Demo Requested', points: 40 }
  fit:
    rules:
      - { name: big company, when: 'account.employees', points: 15 }
stages:
  - { key: lead, meaning: "Known person" }
  - { key: mql, meaning: "Fits and engaged", enter_when: 'score.fit >= 20 && score.engagement >= 50' }
recycle: { to: leed, reasons: [no_budget] }
`
	lines := strings.Split(bad, "\n")
	want := []struct {
		line    int
		at      string // the text the line and column point at
		message string // part of the message
	}{
		{3, "owner", `unknown field "owner"`},
		{9, "pricing visit", "duplicate rule name"},
		{12, "account.employees", "bool"},
		{16, "leed", `unknown stage "leed"`},
	}
	for _, req := range []struct{ method, path string }{
		{"PUT", "/api/v1/agreement"},
		{"POST", "/api/v1/agreement/validate"},
	} {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			resp := ts.send(t, req.method, req.path, mia, "application/yaml", bad)
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			var p documentProblem
			ts.mustJSON(t, resp, 422, &p)
			if p.Status != 422 || p.Code != "unprocessable" || !strings.Contains(p.Detail, "4 problem") {
				t.Errorf("problem = %d %s %q, want 422 unprocessable counting 4 problems", p.Status, p.Code, p.Detail)
			}
			if len(p.Errors) != len(want) {
				t.Fatalf("errors = %+v, want %d", p.Errors, len(want))
			}
			for i, w := range want {
				e := p.Errors[i]
				if e.Line != w.line || e.Column < 1 || !strings.Contains(e.Message, w.message) || e.Rule == "" {
					t.Errorf("error %d = %+v, want one on line %d with a column, a rule and a message containing %q", i, e, w.line, w.message)
					continue
				}
				if l := lines[e.Line-1]; e.Column > len(l) || !strings.HasPrefix(l[e.Column-1:], w.at) {
					t.Errorf("error %d points at %d:%d in %q, want at %q", i, e.Line, e.Column, l, w.at)
				}
			}
		})
	}

	var versions struct{ Data []tandem.Agreement }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions", mia, ""), 200, &versions)
	if versions.Data == nil || len(versions.Data) != 0 {
		t.Errorf("versions = %+v, want an empty list: nothing refused is stored", versions.Data)
	}

	var ok struct{ Valid bool }
	ts.mustJSON(t, ts.send(t, "POST", "/api/v1/agreement/validate", mia, "application/yaml", terms), 200, &ok)
	if !ok.Valid {
		t.Error("validate terms: valid = false, want true")
	}
	var p problemDoc
	ts.mustJSON(t, ts.send(t, "PUT", "/api/v1/agreement", mia, "image/png", terms), 400, &p)
	if !strings.Contains(p.Detail, "application/yaml") {
		t.Errorf("unknown Content-Type: detail %q, want it to name the ones accepted", p.Detail)
	}
}

// jsonTerms is an agreement in JSON; its third line has an unknown field, owner, when
// bad.
func jsonTerms(bad bool) string {
	line := `"timezone": "UTC",`
	if bad {
		line += ` "owner": "sam",`
	}
	return `{
  "name": "json terms",
  ` + line + `
  "scoring": { "fit": { "rules": [{ "name": "senior title", "when": "traits.title == \"VP\"", "points": 20 }] } },
  "stages": [{ "key": "lead" }, { "key": "mql", "enter_on": "accept" }]
}
`
}

func TestAgreementInJSON(t *testing.T) {
	ts := newTestServer(t)
	sam := ts.mustCreateToken(t, "sam", tandem.RoleSales)
	for _, tt := range []struct{ name, contentType string }{
		{"application/json", "application/json"},
		{"no Content-Type", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.mustProposeAgreement(t, sam, tt.contentType, jsonTerms(false))
			if a.Format != "json" || a.Name != "json terms" || a.Document != jsonTerms(false) || a.ProposedRole != tandem.RoleSales {
				t.Errorf("proposed = %+v, want json terms in format json, as written", a)
			}
			// Asked for the text, it comes as it was written: JSON.
			resp := ts.send(t, "GET", fmt.Sprintf("/api/v1/agreement/versions/%d?format=yaml", a.Version), sam, "", "")
			ct := resp.Header.Get("Content-Type")
			if got := mustText(t, resp, 200); got != jsonTerms(false) || !strings.HasPrefix(ct, "application/json") {
				t.Errorf("document as written: %s %q, want the JSON as proposed", ct, got)
			}
		})
	}
	var p documentProblem
	ts.mustJSON(t, ts.send(t, "PUT", "/api/v1/agreement", sam, "application/json", jsonTerms(true)), 422, &p)
	// The column is that of the field's name, quote included.
	column := strings.Index(strings.Split(jsonTerms(true), "\n")[2], `"owner"`) + 1
	if len(p.Errors) != 1 || p.Errors[0].Line != 3 || p.Errors[0].Column != column || !strings.Contains(p.Errors[0].Message, `unknown field "owner"`) {
		t.Errorf("errors = %+v, want the unknown field owner at 3:%d", p.Errors, column)
	}
}

func TestAgreementVersionsAndDiff(t *testing.T) {
	ts := newTestServer(t)
	mia, sam := ts.mustActivateTerms(t)
	changed := strings.Replace(terms, "points: 10 }", "points: 15 }", 1)
	if p := ts.mustProposeAgreement(t, sam, "text/yaml", changed); p.Version != 2 {
		t.Fatalf("second proposal is version %d, want 2", p.Version)
	}

	var versions struct{ Data []tandem.Agreement }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions", mia, ""), 200, &versions)
	if len(versions.Data) != 2 {
		t.Fatalf("versions = %+v, want 2", versions.Data)
	}
	v2, v1 := versions.Data[0], versions.Data[1]
	if v2.Version != 2 || v2.Status != "proposed" || v2.ProposedBy != "sam" || v2.ApprovedBy != "" || v2.ApprovedAt != nil {
		t.Errorf("newest = %+v, want version 2 proposed by sam, not approved", v2)
	}
	if v1.Version != 1 || v1.Status != "active" || v1.ProposedBy != "mia" || v1.ApprovedBy != "sam" || v1.ApprovedAt == nil || v1.ActivatedAt == nil {
		t.Errorf("oldest = %+v, want version 1 proposed by mia, approved by sam", v1)
	}
	var one tandem.Agreement
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/2", mia, ""), 200, &one)
	if one.Version != 2 || one.Document != changed {
		t.Errorf("version 2 = %+v, want the changed document", one)
	}

	const (
		was = `      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }`
		is  = `      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 15 }`
	)
	for _, tt := range []struct {
		path          string
		from, to      int
		removed, kept string
	}{
		{"/api/v1/agreement/versions/2/diff", 1, 2, was, is},
		{"/api/v1/agreement/versions/1/diff?against=2", 2, 1, is, was},
	} {
		t.Run(tt.path, func(t *testing.T) {
			var d struct {
				From, To int
				Diff     string
			}
			ts.mustJSON(t, ts.api(t, "GET", tt.path, mia, ""), 200, &d)
			if d.From != tt.from || d.To != tt.to {
				t.Errorf("from %d to %d, want %d to %d", d.From, d.To, tt.from, tt.to)
			}
			lines := strings.Split(d.Diff, "\n")
			for _, want := range []string{"-" + tt.removed, "+" + tt.kept} {
				if !slices.Contains(lines, want) {
					t.Errorf("diff lacks the line %q:\n%s", want, d.Diff)
				}
			}
			if strings.Contains(d.Diff, "-  - { key: lead") {
				t.Errorf("diff shows an unchanged line as changed:\n%s", d.Diff)
			}
		})
	}
	var p problemDoc
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/1/diff", mia, ""), 400, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/2/diff?against=0", mia, ""), 400, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/2/diff?against=9", mia, ""), 404, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/9", mia, ""), 404, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions/two", mia, ""), 400, &p)
}

func TestAgreementActivate(t *testing.T) {
	ts := newTestServer(t)
	mia, sam := ts.mustActivateTerms(t)
	changed := strings.Replace(terms, "points: 10 }", "points: 15 }", 1)
	ts.mustProposeAgreement(t, sam, "application/yaml", changed)

	for _, token := range []string{sam, mia} {
		var p problemDoc
		ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/2/activate", token, ""), 403, &p)
		if p.Code != "forbidden" {
			t.Errorf("activation by a team: code %q, want forbidden", p.Code)
		}
	}
	var a tandem.Agreement
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/2/activate", adminSecret, ""), 200, &a)
	if a.Version != 2 || a.Status != "active" || a.ApprovedBy != "admin" || a.ActivatedAt == nil {
		t.Errorf("activated = %+v, want version 2 active, approved by admin", a)
	}
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/2/activate", adminSecret, ""), 409, nil)

	var versions struct{ Data []tandem.Agreement }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/versions", sam, ""), 200, &versions)
	if len(versions.Data) != 2 || versions.Data[0].Status != "active" || versions.Data[1].Status != "superseded" {
		t.Errorf("versions = %+v, want 2 active and 1 superseded", versions.Data)
	}
	// An admin goes back to version 1.
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/versions/1/activate", adminSecret, ""), 200, &a)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement", sam, ""), 200, &a)
	if a.Version != 1 || a.Document != terms || a.ApprovedBy != "sam" {
		t.Errorf("active = %+v, want version 1 again, still approved by sam", a)
	}
}

// contactsByEmail maps the emails of every contact to their ids.
func (ts *testServer) contactsByEmail(tb testing.TB) map[string]int64 {
	tb.Helper()
	var list struct{ Data []tandem.Contact }
	ts.mustJSON(tb, ts.api(tb, "GET", "/api/v1/contacts", adminSecret, ""), 200, &list)
	ids := map[string]int64{}
	for _, c := range list.Data {
		ids[c.Email] = c.ID
	}
	return ids
}

func TestScoringOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	ts.db.Now = func() time.Time { return t0 }
	_, sam := ts.mustActivateTerms(t)

	people := []string{"ada", "bob", "cat", "dan", "eve"}
	ts.mustJSON(t, ts.track(t, "/v1/batch", batchOf(len(people), func(i int) string {
		title := "VP Marketing"
		if people[i] == "dan" {
			title = "Engineer"
		}
		return fmt.Sprintf(`{"type":"identify","userId":%q,"traits":{"email":"%s@acme.test","title":%q},"timestamp":%q}`,
			people[i], people[i], title, t0.Format(time.RFC3339))
	})), 200, nil)

	at := func(d time.Duration) string { return t0.Add(-d).Format(time.RFC3339) }
	pricing := func(user string, d time.Duration) string {
		return fmt.Sprintf(`{"type":"page","userId":%q,"properties":{"path":"/pricing"},"timestamp":%q}`, user, at(d))
	}
	demo := func(user string, d time.Duration) string {
		return fmt.Sprintf(`{"type":"track","userId":%q,"event":"Demo Requested","timestamp":%q}`, user, at(d))
	}
	events := []string{
		// ada: a demo request (the second that day is capped) and two pricing visits: 60.
		demo("ada", 0), demo("ada", 0), pricing("ada", 0), pricing("ada", 0),
		// bob: a demo request a half-life ago counts 20, three pricing visits 30: 50.
		demo("bob", halfLife), pricing("bob", 0), pricing("bob", 0), pricing("bob", 0),
		// cat: a demo request and four pricing visits: 80.
		demo("cat", 0), pricing("cat", 0), pricing("cat", 0), pricing("cat", 0), pricing("cat", 0),
		// dan: engaged but not senior, so no MQL.
		demo("dan", 0), pricing("dan", 0), pricing("dan", 0),
		// eve: as hot as ada.
		demo("eve", 0), pricing("eve", 0), pricing("eve", 0),
	}
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[`+strings.Join(events, ",")+`]}`), 200, nil)

	ids := ts.contactsByEmail(t)
	for _, tt := range []struct {
		name            string
		fit, engagement float64
		grade, stage    string
	}{
		{"ada", 20, 60, "C", "mql"},
		{"bob", 20, 50, "C", "mql"},
		{"cat", 20, 80, "C", "mql"},
		{"dan", 0, 60, "D", "lead"},
		{"eve", 20, 60, "C", "mql"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c tandem.Contact
			ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d", ids[tt.name+"@acme.test"]), sam, ""), 200, &c)
			want := tandem.Score{Fit: tt.fit, Engagement: tt.engagement, Total: tt.fit + tt.engagement}
			if c.Score == nil || *c.Score != want {
				t.Errorf("score = %+v, want %+v", c.Score, want)
			}
			if c.Grade != tt.grade || c.Stage != tt.stage || c.StageAt == nil || !c.StageAt.Equal(t0) {
				t.Errorf("grade %q, stage %q since %v; want %q, %q since %v", c.Grade, c.Stage, c.StageAt, tt.grade, tt.stage, t0)
			}
		})
	}

	// Why ada has her score, rule by rule: engagement rules in the agreement's order,
	// then fit rules.
	var b tandem.ScoreBreakdown
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/score", ids["ada@acme.test"]), sam, ""), 200, &b)
	if b.ContactID != ids["ada@acme.test"] || b.Score != (tandem.Score{Fit: 20, Engagement: 60, Total: 80}) || b.Grade != "C" || b.Version != 1 {
		t.Errorf("ada's score = %+v, want 20 + 60 = 80, grade C, under version 1", b)
	}
	assertLines(t, b.Lines, "pricing visit engagement 20 × 2 at "+t0.Format(time.RFC3339), "demo request engagement 40 × 1 at "+t0.Format(time.RFC3339), "senior title fit 20 × 1")
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/score", ids["bob@acme.test"]), sam, ""), 200, &b)
	assertLines(t, b.Lines, "pricing visit engagement 30 × 3 at "+t0.Format(time.RFC3339), "demo request engagement 20 × 1 at "+at(halfLife), "senior title fit 20 × 1")
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts/999999/score", sam, ""), 404, nil)

	var stages struct{ Data []tandem.StageChange }
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/stages", ids["ada@acme.test"]), sam, ""), 200, &stages)
	assertStages(t, stages.Data, ">lead (created, v1)", "lead>mql (rule mql, v1)")
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/stages", ids["dan@acme.test"]), sam, ""), 200, &stages)
	assertStages(t, stages.Data, ">lead (created, v1)")
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts/999999/stages", sam, ""), 404, nil)

	// The MQLs, hottest first: cat, then ada and eve (60 each; the newer first), then bob.
	want := []int64{ids["cat@acme.test"], ids["eve@acme.test"], ids["ada@acme.test"], ids["bob@acme.test"]}
	if ids["ada@acme.test"] > ids["eve@acme.test"] {
		want[1], want[2] = want[2], want[1]
	}
	var all struct {
		Data       []tandem.Contact
		NextCursor *string `json:"next_cursor"`
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?stage=mql&order=-engagement", sam, ""), 200, &all)
	if got := contactIDs(all.Data); fmt.Sprint(got) != fmt.Sprint(want) || all.NextCursor != nil {
		t.Errorf("MQLs = %v (next cursor %v), want %v and no next page", got, all.NextCursor, want)
	}
	var paged []int64
	cursor := ""
	for range len(want) + 2 {
		var page struct {
			Data       []tandem.Contact
			NextCursor *string `json:"next_cursor"`
		}
		ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?stage=mql&order=-engagement&limit=1&cursor="+cursor, sam, ""), 200, &page)
		paged = append(paged, contactIDs(page.Data)...)
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Errorf("paging one at a time = %v, want %v", paged, want)
	}
	for _, order := range []string{"-fit", "engagement", "name"} {
		var p problemDoc
		ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?order="+order, sam, ""), 400, &p)
		if !strings.Contains(p.Detail, "-engagement") {
			t.Errorf("order=%s: detail %q, want it to name the orders there are", order, p.Detail)
		}
	}
}

func contactIDs(cs []tandem.Contact) []int64 {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// assertLines checks the lines of a score breakdown, each written as "rule kind points ×
// hits" and " at last_at" for engagement.
func assertLines(tb testing.TB, lines []tandem.ScoreLine, want ...string) {
	tb.Helper()
	got := make([]string, len(lines))
	for i, l := range lines {
		got[i] = fmt.Sprintf("%s %s %v × %d", l.Rule, l.Kind, l.Points, l.Hits)
		if l.LastAt != nil {
			got[i] += " at " + l.LastAt.UTC().Format(time.RFC3339)
		}
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		tb.Errorf("score lines = %q, want %q", got, want)
	}
}

// assertStages checks stage changes, each written as "from>to (cause, vN)".
func assertStages(tb testing.TB, changes []tandem.StageChange, want ...string) {
	tb.Helper()
	got := make([]string, len(changes))
	for i, c := range changes {
		got[i] = fmt.Sprintf("%s>%s (%s, v%d)", c.From, c.To, c.Cause, c.Version)
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		tb.Errorf("stage changes = %q, want %q", got, want)
	}
}

// runRescores works on rescores in the background until the test ends, as `tandem serve`
// does beside its server; the test server does not.
func (ts *testServer) runRescores(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ts.db.RunRescores(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))) })
	tb.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// rescoreProgress is what GET /api/v1/agreement/rescore answers.
type rescoreProgress struct {
	tandem.Rescore
	Percent   float64  `json:"percent"`
	PerSecond float64  `json:"per_second"`
	ETA       *float64 `json:"eta_seconds"`
}

// mustRescoreEnd polls the rescore's progress until it is no longer running.
func (ts *testServer) mustRescoreEnd(tb testing.TB, token string) rescoreProgress {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var p rescoreProgress
		ts.mustJSON(tb, ts.api(tb, "GET", "/api/v1/agreement/rescore", token, ""), 200, &p)
		if p.State != "running" {
			return p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("rescore still running after 10s: %+v", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRescoreOverHTTP(t *testing.T) {
	ts := newTestServer(t)
	ts.db.Now = func() time.Time { return t0 }
	ts.runRescores(t)

	// Activity from before any agreement: it counts once one is active.
	ts.mustJSON(t, ts.track(t, "/v1/batch", fmt.Sprintf(`{"batch":[
		{"type":"identify","userId":"ada","traits":{"email":"ada@acme.test","title":"Head of Growth"},"timestamp":%[1]q},
		{"type":"identify","userId":"bob","traits":{"email":"bob@acme.test"},"timestamp":%[1]q},
		{"type":"track","userId":"ada","event":"Demo Requested","timestamp":%[1]q},
		{"type":"page","userId":"ada","properties":{"path":"/pricing/enterprise"},"timestamp":%[1]q}]}`, t0.Format(time.RFC3339))), 200, nil)
	ids := ts.contactsByEmail(t)
	ada := fmt.Sprintf("/api/v1/contacts/%d", ids["ada@acme.test"])
	var raw map[string]json.RawMessage
	ts.mustJSON(t, ts.api(t, "GET", ada, adminSecret, ""), 200, &raw)
	if string(raw["score"]) != "null" || string(raw["stage"]) != `""` {
		t.Errorf("before any agreement: score %s, stage %s; want null and empty", raw["score"], raw["stage"])
	}
	ts.mustJSON(t, ts.api(t, "GET", ada+"/score", adminSecret, ""), 404, nil)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement/rescore", adminSecret, ""), 404, nil)
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/rescore", adminSecret, ""), 404, nil)

	_, sam := ts.mustActivateTerms(t)
	p := ts.mustRescoreEnd(t, sam)
	if p.State != "done" || p.Version != 1 || p.Done != 2 || p.Total != 2 || p.Percent != 100 || p.FinishedAt == nil || p.ETA != nil {
		t.Errorf("rescore = %+v, want done: 2 of 2 contacts, 100%%, under version 1", p)
	}
	var c tandem.Contact
	ts.mustJSON(t, ts.api(t, "GET", ada, sam, ""), 200, &c)
	if c.Score == nil || *c.Score != (tandem.Score{Fit: 20, Engagement: 50, Total: 70}) || c.Grade != "C" || c.Stage != "mql" {
		t.Errorf("ada after the rescore: %+v, %q, %q; want 20 + 50 = 70, C, mql", c.Score, c.Grade, c.Stage)
	}
	var stages struct{ Data []tandem.StageChange }
	ts.mustJSON(t, ts.api(t, "GET", ada+"/stages", sam, ""), 200, &stages)
	assertStages(t, stages.Data, ">lead (agreement v1, v1)", "lead>mql (agreement v1, v1)")

	// Rescoring again is an admin's call.
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/rescore", sam, ""), 403, nil)
	var again rescoreProgress
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/rescore", adminSecret, ""), 202, &again)
	if again.ID <= p.ID || again.Version != 1 || again.Total != 2 {
		t.Errorf("new rescore = %+v, want a new one of 2 contacts under version 1", again)
	}
	if p := ts.mustRescoreEnd(t, sam); p.ID != again.ID || p.State != "done" || p.Done != 2 || p.EventsTotal != 0 {
		t.Errorf("rescore = %+v, want rescore %d done, replaying the score record the first one kept", p, again.ID)
	}
	// From the events themselves, should the record be in doubt.
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/rescore?from=record", adminSecret, ""), 400, nil)
	var fromEvents rescoreProgress
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/agreement/rescore?from=events", adminSecret, ""), 202, &fromEvents)
	if p := ts.mustRescoreEnd(t, sam); p.ID != fromEvents.ID || p.State != "done" || p.EventsTotal == 0 {
		t.Errorf("rescore from the events = %+v, want rescore %d done, every event read", p, fromEvents.ID)
	}
	ts.mustJSON(t, ts.api(t, "GET", ada, sam, ""), 200, &c)
	if c.Score == nil || c.Score.Total != 70 || c.Stage != "mql" {
		t.Errorf("ada after rescoring again: %+v, %q; want 70, mql", c.Score, c.Stage)
	}
	ts.mustJSON(t, ts.api(t, "GET", ada+"/stages", sam, ""), 200, &stages)
	if len(stages.Data) != 2 {
		t.Errorf("rescoring under the same version moved ada: %+v", stages.Data)
	}
}

// TestAgreementShowsStageMeanings checks that the active agreement lists its stages
// in funnel order with their meanings beside their rules, as both teams read them.
func TestAgreementShowsStageMeanings(t *testing.T) {
	ts := newTestServer(t)
	marketing, _ := ts.mustActivateTerms(t)
	var got struct {
		Status string `json:"status"`
		Stages []struct {
			Key, Meaning string
			EnterWhen    string `json:"enter_when"`
			EnterOn      string `json:"enter_on"`
			Detour       bool
		} `json:"stages"`
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/agreement", marketing, ""), 200, &got)
	var keys []string
	for _, s := range got.Stages {
		keys = append(keys, s.Key)
	}
	if got.Status != "active" || strings.Join(keys, ",") != "lead,mql,sal,inactive" {
		t.Fatalf("status %q, stages %q; want active with lead,mql,sal,inactive", got.Status, keys)
	}
	if s := got.Stages[1]; s.Meaning != "Fits and engaged" || s.EnterWhen != "score.fit >= 20 && score.engagement >= 50" {
		t.Errorf("mql = %+v, want its meaning beside its rule", s)
	}
	if s := got.Stages[2]; s.EnterOn != "accept" || s.EnterWhen != "" {
		t.Errorf("sal = %+v, want it entered on accept", s)
	}
	if !got.Stages[3].Detour {
		t.Errorf("inactive = %+v, want a detour", got.Stages[3])
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
