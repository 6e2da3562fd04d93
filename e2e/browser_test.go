package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"
)

// chromium is where Debian's chromium package puts the browser the web app tests drive.
const chromium = "/usr/bin/chromium"

// The people of the browser tests, created with passwords through the CLI.
var (
	alice = webUser{email: "alice@acme.test", name: "Alice", team: "sales", password: "alice-password-1"}
	bob   = webUser{email: "bob@acme.test", name: "Bob", team: "sales", password: "bob-password-22"}
	mia   = webUser{email: "mia@acme.test", name: "Mia", team: "marketing", password: "mia-password-333"}
)

// xss is a name an attacker gives themselves in a form on the company's website; the
// app must show it as text and run none of it.
const xss = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`

// TestBrowserHandoff drives the web app as its people do: a rep works her queue and
// reads the reports; a marketer proposes a change to the agreement, first with a
// mistake the editor points at, and a rep approves it for sales.
func TestBrowserHandoff(t *testing.T) {
	b := startBrowser(t)
	srv := startWebServer(t, alice, bob, mia)
	key := mustCreateSource(t, srv, "website")
	doc := mustActivateYAML(t, srv, handoffTerms(alice.email, bob.email))

	// Round robin alternates between the two reps, so four leads give Alice two.
	var batch []map[string]any
	for i := range 4 {
		batch = append(batch, qualifyingLead(fmt.Sprintf("buyer-%d", i), fmt.Sprintf("buyer%d@harbor-freight.test", i), nil)...)
	}
	postSegment(t, srv, key, batch)
	var mine []apiAssignment
	for _, a := range waitAssignments(t, srv, 4) {
		if a.Rep == alice.email {
			mine = append(mine, a)
		}
	}
	if len(mine) != 2 {
		t.Fatalf("alice got %d of the 4 leads, want 2 by round robin", len(mine))
	}
	emails := map[int64]string{}
	for _, a := range mine {
		var c apiContact
		srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d", a.ContactID), &c)
		emails[a.ID] = c.Email
	}
	accepted, rejected := mine[0], mine[1]

	t.Run("rep works her queue", func(t *testing.T) {
		p := b.newTab(t, srv)
		if status := p.open("/leads"); status != http.StatusOK || !strings.HasSuffix(p.location(), "/login?next=%2Fleads") {
			t.Fatalf("/leads signed out: status %d at %s, want the sign-in page with next=/leads", status, p.location())
		}
		p.screenshot("login")
		if status := p.signIn(alice); status != http.StatusOK || p.path() != "/leads" {
			t.Fatalf("signing in: status %d at %s, want 200 back at /leads", status, p.location())
		}
		main := p.text("main")
		for _, e := range emails {
			if !strings.Contains(main, e) {
				t.Errorf("/leads does not show %s:\n%s", e, main)
			}
		}
		p.screenshot("leads")
		p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch))
		p.screenshot("leads-phone")
		p.do(chromedp.EmulateViewport(1280, 900))

		// The actions post in the background and swap the page's main part: a mark on
		// the window survives them, as it would not a reload.
		p.do(chromedp.Evaluate[chromedp.Void](`window.__stayed = true`))
		p.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#lead-%d form[action$='/accept'] button", accepted.ID))))
		p.waitText("main .flash", "Accepted.")
		if got := p.text(fmt.Sprintf("#lead-%d .due", accepted.ID)); !strings.HasPrefix(got, "accepted") {
			t.Errorf("the accepted lead's status line reads %q, want it to start with accepted", got)
		}
		p.do(
			chromedp.SetValue(chromedp.CSS(fmt.Sprintf("#reason-%d", rejected.ID)), "poor_fit"),
			chromedp.Click(chromedp.CSS(fmt.Sprintf("#lead-%d form.reject button", rejected.ID))),
		)
		p.waitText("main .flash", "Rejected: it went back to marketing.")
		if !get(p, chromedp.Evaluate[bool](`window.__stayed === true`)) {
			t.Errorf("accepting and rejecting reloaded the page, want them done in the background")
		}
		if p.count(fmt.Sprintf("#lead-%d", rejected.ID)) != 0 {
			t.Errorf("the rejected lead is still in alice's queue")
		}
		for _, tt := range []struct {
			a      apiAssignment
			status string
			reason string
		}{{accepted, "accepted", ""}, {rejected, "rejected", "poor_fit"}} {
			var got struct {
				Status       string
				RejectReason string `json:"reject_reason"`
			}
			srv.mustGet(t, fmt.Sprintf("/api/v1/assignments/%d", tt.a.ID), &got)
			if got.Status != tt.status || got.RejectReason != tt.reason {
				t.Errorf("assignment %d: status %q, reason %q; want %q, %q", tt.a.ID, got.Status, got.RejectReason, tt.status, tt.reason)
			}
		}

		if status := p.open("/"); status != http.StatusOK {
			t.Fatalf("home: status %d", status)
		}
		if got := p.text("main .cards a.card strong"); got != "1" {
			t.Errorf("alice's home page counts %s open leads, want 1", got)
		}
		p.screenshot("home-rep")
	})

	t.Run("marketer proposes a change", func(t *testing.T) {
		p := b.newTab(t, srv)
		p.open("/login")
		if status := p.signIn(mia); status != http.StatusOK || p.path() != "/" {
			t.Fatalf("signing in: status %d at %s, want 200 at /", status, p.location())
		}
		if got := p.text("main h1"); got != "Marketing dashboard" {
			t.Errorf("mia's home page is titled %q, want Marketing dashboard", got)
		}
		p.screenshot("home-marketer")
		p.open("/agreement")
		p.screenshot("agreement")

		p.load(chromedp.Click(chromedp.CSS(`a[href="/agreement/edit"]`)))
		if got := p.value("#document"); strings.TrimSpace(got) != strings.TrimSpace(doc) {
			t.Fatalf("the editor holds:\n%s\nwant the active document:\n%s", got, doc)
		}
		lines := strings.Split(doc, "\n")
		n := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, `startsWith "/pricing"`) }) + 1
		if n == 0 {
			t.Fatalf("no pricing rule in the active document:\n%s", doc)
		}
		broken := slices.Clone(lines)
		broken[n-1] = strings.Replace(lines[n-1], `properties.path startsWith "/pricing"`, `'properties.path startsWith'`, 1)
		p.paste("#document", strings.Join(broken, "\n"))
		p.waitText("#live .problem", "pricing visit")
		if got := p.attr("#live .problem", "data-line"); got != strconv.Itoa(n) {
			t.Errorf("the live check puts the problem on line %s, want %d", got, n)
		}

		if status := p.load(chromedp.Click(chromedp.CSS(`form[action="/agreement"] button[type=submit]`))); status != http.StatusUnprocessableEntity {
			t.Fatalf("proposing a broken document: status %d, want 422", status)
		}
		problem := fmt.Sprintf("section.problems li[value='%d'] p.problem[data-line='%d']", n, n)
		if p.count(problem) != 1 {
			t.Fatalf("no problem shown beside line %d:\n%s", n, p.text("main"))
		}
		if got := p.text(problem); !strings.Contains(got, "pricing visit") {
			t.Errorf("the problem on line %d reads %q, want it to name the rule pricing visit", n, got)
		}
		if got := p.textContent(fmt.Sprintf("section.problems li[value='%d'] code", n)); got != broken[n-1] {
			t.Errorf("the problem is shown beside %q, want the broken line %q", got, broken[n-1])
		}
		p.screenshot("agreement-edit-error")

		// The fix keeps the rule and changes its points, on the line before.
		fixed := slices.Clone(lines)
		fixed[n-2] = strings.Replace(lines[n-2], "points: 10", "points: 15", 1)
		if fixed[n-2] == lines[n-2] {
			t.Fatalf("line %d is %q, want the pricing rule's points", n-1, lines[n-2])
		}
		p.paste("#document", strings.Join(fixed, "\n"))
		p.waitText("#live", "No problems.")
		if status := p.load(chromedp.Click(chromedp.CSS(`form[action="/agreement"] button[type=submit]`))); status != http.StatusOK || p.path() != "/agreement/versions/2" {
			t.Fatalf("proposing the fixed document: status %d at %s, want 200 at /agreement/versions/2", status, p.location())
		}
		if got := p.text("p.meta"); !strings.HasPrefix(got, "proposed") {
			t.Errorf("version 2 reads %q, want it proposed", got)
		}
		// The browser sends the text with CRLF line breaks; the diff is of the one line
		// mia changed all the same.
		del, add := p.texts("pre.diff span.del"), p.texts("pre.diff span.add")
		if want := []string{"--- version 1", "-" + lines[n-2]}; !slices.Equal(del, want) {
			t.Errorf("the diff takes away %q, want %q", del, want)
		}
		if want := []string{"+++ version 2", "+" + fixed[n-2]}; !slices.Equal(add, want) {
			t.Errorf("the diff adds %q, want %q", add, want)
		}

		// Marketing proposed it, so marketing cannot approve it.
		if status := p.load(chromedp.Click(chromedp.CSS(`form[action="/agreement/versions/2/approve"] button`))); status != http.StatusForbidden {
			t.Errorf("mia approving her own team's proposal: status %d, want 403", status)
		}
		if got := p.text("main .error"); !strings.Contains(got, "someone from sales must approve it") {
			t.Errorf("mia approving her own team's proposal: error %q, want it to say sales must approve", got)
		}
	})

	t.Run("rep approves for sales", func(t *testing.T) {
		p := b.newTab(t, srv)
		p.open("/agreement/versions/2")
		if status := p.signIn(bob); status != http.StatusOK || p.path() != "/agreement/versions/2" {
			t.Fatalf("signing in: status %d at %s, want 200 back at /agreement/versions/2", status, p.location())
		}
		if status := p.load(chromedp.Click(chromedp.CSS(`form[action="/agreement/versions/2/approve"] button`))); status != http.StatusOK || p.path() != "/agreement" {
			t.Fatalf("approving: status %d at %s, want 200 at /agreement", status, p.location())
		}
		if got := p.text("main p.meta"); !strings.Contains(got, "version 2,") || !strings.Contains(got, "approved by Bob") {
			t.Errorf("the agreement page reads %q, want version 2 approved by Bob", got)
		}
		var active struct{ Version int }
		srv.mustGet(t, "/api/v1/agreement", &active)
		if active.Version != 2 {
			t.Errorf("the API's active agreement is version %d, want 2", active.Version)
		}
	})

	t.Run("reports show the rep's answers", func(t *testing.T) {
		p := b.newTab(t, srv)
		p.open("/login")
		p.signIn(alice)
		p.open("/reports")
		for _, tt := range []struct{ sel, want string }{
			{"dd#acceptance", "50%"},        // one accepted, one rejected
			{"dd#sales-within", "100% (2)"}, // both answered at once
			{"dd#sales-breaches", "0"},      // nothing ran late
			{"dd#mqls", "4 of 300"},         // the four leads
		} {
			if got := p.text(tt.sel); got != tt.want {
				t.Errorf("%s reads %q, want %q", tt.sel, got, tt.want)
			}
		}
		p.screenshot("reports")
		p.open(fmt.Sprintf("/contacts/%d", accepted.ContactID))
		if got := p.text("main h1"); got != emails[accepted.ID] {
			t.Errorf("the contact page is titled %q, want %s", got, emails[accepted.ID])
		}
		p.screenshot("contact")
	})
}

// TestBrowserEscapesLeadData has a lead call themselves a piece of HTML and opens every
// page that shows them: the name must read as text and run nothing, and every page must
// carry a Content-Security-Policy that forbids inline script.
func TestBrowserEscapesLeadData(t *testing.T) {
	b := startBrowser(t)
	srv := startWebServer(t, alice, bob)
	key := mustCreateSource(t, srv, "website")
	mustActivateYAML(t, srv, handoffTerms(alice.email, bob.email))
	msgs := qualifyingLead("mallory", "mallory@evil-corp.test", map[string]any{"name": xss, "company": xss})
	msgs = append(msgs, map[string]any{"type": "group", "userId": "mallory", "messageId": "mallory-group", "groupId": "acct-evil",
		"traits": map[string]any{"name": xss, "website": "evil-corp.test"}})
	postSegment(t, srv, key, msgs)
	a := waitAssignments(t, srv, 1)[0]
	var c apiContact
	srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d", a.ContactID), &c)
	if c.AccountID == nil {
		t.Fatalf("mallory has no account: %+v", c)
	}
	rep, ok := map[string]webUser{alice.email: alice, bob.email: bob}[a.Rep]
	if !ok {
		t.Fatalf("mallory went to %q, want alice or bob", a.Rep)
	}

	p := b.newTab(t, srv)
	p.open("/login")
	if status := p.signIn(rep); status != http.StatusOK {
		t.Fatalf("signing in as %s: status %d", rep.email, status)
	}
	for _, tt := range []struct {
		path string
		// shows is whether the page shows the name.
		shows bool
	}{
		{"/leads", true},
		{fmt.Sprintf("/contacts/%d", a.ContactID), true},
		{fmt.Sprintf("/accounts/%d", *c.AccountID), true},
		{"/", false},
		{"/reports", false},
		{"/agreement", false},
	} {
		if status := p.open(tt.path); status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", tt.path, status)
			continue
		}
		if got := get(p, chromedp.Evaluate[string](`typeof window.__xss`)); got != "undefined" {
			t.Errorf("%s ran the lead's script: window.__xss is a %s", tt.path, got)
		}
		if n := p.count(`script:not([src="/static/app.js"]), img[onerror], img[src="x"]`); n != 0 {
			t.Errorf("%s: %d elements came from the lead's name", tt.path, n)
		}
		if shown := strings.Contains(p.textContent("main"), xss); shown != tt.shows {
			t.Errorf("%s shows the name as text: %t, want %t", tt.path, shown, tt.shows)
		}
	}

	// Every page, and what it is built from, forbids inline script.
	cookie := p.cookie("tandem_session")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/login", "/setup", "/leads", "/reports", "/agreement", "/agreement/edit", "/agreement/versions/1",
		fmt.Sprintf("/contacts/%d", a.ContactID), fmt.Sprintf("/accounts/%d", *c.AccountID), "/contacts/999999", "/static/app.js", "/static/app.css"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.AddCookie(&http.Cookie{Name: "tandem_session", Value: cookie})
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		switch {
		case csp == "":
			t.Errorf("GET %s (status %d): no Content-Security-Policy", path, resp.StatusCode)
		case strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'"):
			t.Errorf("GET %s: Content-Security-Policy %q allows more script than the app's own", path, csp)
		}
	}
}

// TestBrowserRequests follows a request of sales to marketing through the web app: a rep
// files one, a marketer triages, starts and delivers it from the board, the rep confirms
// it, and the reports count it delivered on time. Each sees only their own actions.
func TestBrowserRequests(t *testing.T) {
	b := startBrowser(t)
	srv := startWebServer(t, alice, mia)
	mustActivateYAML(t, srv, handoffTerms(alice.email))

	rep := b.newTab(t, srv)
	rep.open("/requests/new")
	if status := rep.signIn(alice); status != http.StatusOK || rep.path() != "/requests/new" {
		t.Fatalf("signing in: status %d at %s, want 200 back at /requests/new", status, rep.location())
	}
	rep.do(
		chromedp.SetValue(chromedp.CSS("#type"), "collateral"),
		chromedp.SendKeys(chromedp.CSS("#title"), "Deck for Lumen"),
		chromedp.SendKeys(chromedp.CSS("#description"), "A deck for Lumen's buying committee."),
		chromedp.SendKeys(chromedp.CSS("#links"), "https://drive.example.com/lumen-brief"),
	)
	if status := rep.load(chromedp.Click(chromedp.CSS(`form[action="/requests"] button[type=submit]`))); status != http.StatusOK ||
		!strings.HasPrefix(rep.path(), "/requests/") {
		t.Fatalf("filing: status %d at %s, want 200 at the request's page", status, rep.location())
	}
	page := rep.path()
	id := strings.TrimPrefix(page, "/requests/")
	if got := rep.text("#status"); got != "new" {
		t.Errorf("the filed request reads %q, want new", got)
	}
	if n := rep.count(`form[action$="/triage"], form[action$="/decline"]`); n != 0 {
		t.Errorf("alice sees %d triage forms on her request, want none", n)
	}

	mkt := b.newTab(t, srv)
	mkt.open("/requests")
	if status := mkt.signIn(mia); status != http.StatusOK || mkt.path() != "/requests" {
		t.Fatalf("signing in: status %d at %s, want 200 back at /requests", status, mkt.location())
	}
	if got := mkt.text("#col-new #request-" + id + " h3"); got != "Deck for Lumen" {
		t.Errorf("the board's new column shows %q, want Deck for Lumen", got)
	}
	mkt.screenshot("requests-board")
	if status := mkt.load(chromedp.Click(chromedp.CSS("#request-" + id + " h3 a"))); status != http.StatusOK || mkt.path() != page {
		t.Fatalf("opening the card: status %d at %s, want %s", status, mkt.location(), page)
	}
	mkt.screenshot("request-triage")
	committed := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	mkt.do(
		chromedp.SetValue(chromedp.CSS("#committed-date"), committed),
		chromedp.SetValue(chromedp.CSS("#assignee-select"), mia.email),
		chromedp.Click(chromedp.CSS(`form[action$="/triage"] button[type=submit]`)),
	)
	mkt.waitText("main .flash", "Accepted")
	if got := mkt.text("#status"); got != "triaged" {
		t.Errorf("after triage the request reads %q, want triaged", got)
	}
	if got := mkt.text("#assignee"); !strings.Contains(got, mia.email) {
		t.Errorf("after triage the assignee reads %q, want mia", got)
	}
	mkt.do(chromedp.Click(chromedp.CSS(`form[action$="/start"] button[type=submit]`)))
	mkt.waitText("main .flash", "Started")
	mkt.do(
		chromedp.SendKeys(chromedp.CSS("#deliver-links"), "https://drive.example.com/lumen-deck"),
		chromedp.Click(chromedp.CSS(`form[action$="/deliver"] button[type=submit]`)),
	)
	mkt.waitText("main .flash", "Delivered")
	if got := mkt.text("#status"); got != "delivered" {
		t.Errorf("after delivery the request reads %q, want delivered", got)
	}
	if n := mkt.count(`form[action$="/confirm"]`); n != 0 {
		t.Errorf("mia sees %d Confirm buttons on alice's request, want none", n)
	}
	if got := mkt.attr(`ul.links a[href="https://drive.example.com/lumen-deck"]`, "rel"); got != "noopener noreferrer" {
		t.Errorf("the delivered link has rel %q, want noopener noreferrer", got)
	}
	mkt.screenshot("request")

	rep.open(page)
	rep.do(chromedp.Click(chromedp.CSS(`form[action$="/confirm"] button[type=submit]`)))
	rep.waitText("main .flash", "Confirmed")
	if got := rep.text("#status"); got != "confirmed" {
		t.Errorf("after confirming the request reads %q, want confirmed", got)
	}
	if got := rep.texts("ol.history strong"); !slices.Equal(got, []string{"new", "triaged", "in progress", "delivered", "confirmed"}) {
		t.Errorf("the history reads %q, want every step", got)
	}
	rep.open("/reports")
	for _, tt := range []struct{ sel, want string }{
		{"dd#requests-filed", "1"},
		{"dd#requests-on-time", "100%"},
	} {
		if got := rep.text(tt.sel); got != tt.want {
			t.Errorf("%s reads %q, want %q", tt.sel, got, tt.want)
		}
	}
}

// webUser is someone who signs in to the web app.
type webUser struct {
	email, name, team, password string
}

// startWebServer creates users with the CLI, as an operator does, in a new SQLite
// file, and starts tandem serve over it.
func startWebServer(tb testing.TB, users ...webUser) *server {
	tb.Helper()
	db := filepath.Join(tb.TempDir(), "tandem.db")
	for _, u := range users {
		cmd := exec.Command(tandemBinary(tb), "users", "create", "--db", db, "--email", u.email, "--name", u.name, "--team", u.team)
		cmd.Env = append(os.Environ(), "TANDEM_PASSWORD="+u.password)
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Fatalf("tandem users create %s: %v\n%s", u.email, err, out)
		}
	}
	return startServer(tb, db)
}

// mustActivateYAML proposes terms as a YAML document, as people write it, activates it
// with the admin token, and returns the document.
func mustActivateYAML(tb testing.TB, s *server, terms map[string]any) string {
	tb.Helper()
	doc, err := yaml.Marshal(terms)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPut, s.URL+"/api/v1/agreement", bytes.NewReader(doc))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		tb.Fatalf("PUT /api/v1/agreement: status %d, want 201: %s", resp.StatusCode, body)
	}
	if status, body := s.do(tb, http.MethodPost, "/api/v1/agreement/versions/1/activate", nil); status != http.StatusOK {
		tb.Fatalf("activate: status %d, want 200: %s", status, body)
	}
	return string(doc)
}

// qualifyingLead is the Segment calls that make someone an MQL under handoffTerms: a
// senior title, a demo request and a look at the pricing page.
func qualifyingLead(user, email string, traits map[string]any) []map[string]any {
	tr := map[string]any{"email": email, "title": "VP Sales"}
	for k, v := range traits {
		tr[k] = v
	}
	return []map[string]any{
		{"type": "identify", "userId": user, "messageId": user + "-id", "traits": tr},
		{"type": "track", "userId": user, "messageId": user + "-demo", "event": "Demo Requested"},
		{"type": "page", "userId": user, "messageId": user + "-page", "name": "Pricing", "properties": map[string]any{"path": "/pricing"}},
	}
}

// waitAssignments waits until n leads have been handed to sales, and returns them.
func waitAssignments(tb testing.TB, s *server, n int) []apiAssignment {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var l apiList[apiAssignment]
		s.mustGet(tb, "/api/v1/assignments?limit=100", &l)
		if len(l.Data) >= n {
			return l.Data
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d leads assigned after 10s, want %d", len(l.Data), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// browser is a headless Chromium. Each person gets a browser context of their own, as
// in a separate incognito window, so that cookies do not mix.
type browser struct {
	ctx   context.Context // the first tab, which holds the browser
	shots string          // the folder screenshots go to
}

// startBrowser starts Chromium for the length of tb. Without it the test is skipped,
// unless TANDEM_TEST_REQUIRE_BROWSER is set, as in CI.
func startBrowser(tb testing.TB) *browser {
	tb.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("TANDEM_TEST_REQUIRE_BROWSER") != "" {
			tb.Fatalf("TANDEM_TEST_REQUIRE_BROWSER is set, but there is no browser: %v", err)
		}
		tb.Skipf("the browser tests need Chromium at %s (apt-get install chromium); set TANDEM_TEST_REQUIRE_BROWSER=1 to fail instead", chromium)
	}
	shots := os.Getenv("TANDEM_TEST_ARTIFACTS")
	if shots == "" {
		shots = filepath.Join(moduleRoot, "test-artifacts", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := &logBuffer{}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(out),
	)...)
	ctx, cancel := chromedp.NewContext(alloc)
	tb.Cleanup(func() {
		cancel()
		cancelAlloc()
		if tb.Failed() {
			tb.Logf("chromium output:\n%s", out.tail(4<<10))
		}
	})
	// The first action binds the browser's life to its context, so it gets no timeout
	// of its own; a timer ends a browser that does not start.
	timer := time.AfterFunc(30*time.Second, cancel)
	err := chromedp.Do(ctx)
	if !timer.Stop() {
		err = fmt.Errorf("not started after 30s (%v)", err)
	}
	if err != nil {
		tb.Fatalf("start %s: %v\n%s", chromium, err, out.tail(8<<10))
	}
	return &browser{ctx: ctx, shots: shots}
}

// tab is one person's window on the app, in a browser context of its own, with a
// laptop's viewport. Its methods fail the test when an action fails.
type tab struct {
	tb  testing.TB
	ctx context.Context
	srv *server
	b   *browser
}

func (b *browser) newTab(tb testing.TB, srv *server) *tab {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	tb.Cleanup(cancel)
	// As for the browser, the first action opens the tab for the life of its context.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		tb.Fatalf("open a tab: %v", err)
	}
	return &tab{tb: tb, ctx: ctx, srv: srv, b: b}
}

// actionTimeout bounds each step, so that a missing element fails the test quickly.
const actionTimeout = 10 * time.Second

// get runs an action in p and returns its value.
func get[T any](p *tab, a chromedp.Action[T]) T {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		p.tb.Fatalf("in the browser at %s: %v", p.location(), err)
	}
	return v
}

// do runs steps in order.
func (p *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.tb.Helper()
	get(p, chromedp.Steps(steps...))
}

// load runs steps that lead to another page (a click on a link or a submit button),
// waits until that page has loaded, and returns its status after any redirects; 0
// when the steps lead nowhere.
func (p *tab) load(steps ...chromedp.Action[chromedp.Void]) int {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		p.tb.Fatalf("in the browser at %s: %v", p.location(), err)
	}
	return int(resp.Status)
}

// open loads a path of the app and returns its status.
func (p *tab) open(path string) int {
	p.tb.Helper()
	return p.load(chromedp.Navigate(p.srv.URL + path))
}

// signIn fills in and sends the sign-in form the tab shows, and returns the status of
// the page it leads to.
func (p *tab) signIn(u webUser) int {
	p.tb.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS("#email"), u.email), chromedp.SendKeys(chromedp.CSS("#password"), u.password))
	return p.load(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
}

// location is the URL the tab shows, or why it cannot tell.
func (p *tab) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	l, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(no location: %v)", err)
	}
	return l
}

// path is the path of the URL the tab shows.
func (p *tab) path() string {
	l := strings.TrimPrefix(p.location(), p.srv.URL)
	l, _, _ = strings.Cut(l, "?")
	return l
}

// text is the text of the first element sel matches, as the person reads it.
func (p *tab) text(sel string) string {
	p.tb.Helper()
	return strings.TrimSpace(get(p, chromedp.Text(chromedp.CSS(sel))))
}

// textContent is the text in the DOM of the first element sel matches, including
// what is hidden.
func (p *tab) textContent(sel string) string {
	p.tb.Helper()
	return get(p, chromedp.TextContent(chromedp.CSS(sel)))
}

// texts is the DOM text of every element sel matches.
func (p *tab) texts(sel string) []string {
	p.tb.Helper()
	return get(p, chromedp.Evaluate[[]string](fmt.Sprintf(`Array.from(document.querySelectorAll(%s), e => e.textContent)`, jsString(sel))))
}

// value is the value of a form field.
func (p *tab) value(sel string) string {
	p.tb.Helper()
	return get(p, chromedp.Value(chromedp.CSS(sel)))
}

// attr is an attribute of the first element sel matches.
func (p *tab) attr(sel, name string) string {
	p.tb.Helper()
	return get(p, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%s).getAttribute(%s) ?? ""`, jsString(sel), jsString(name))))
}

// count is how many elements sel matches now.
func (p *tab) count(sel string) int {
	p.tb.Helper()
	return get(p, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(sel))))
}

// waitText waits until the first element sel matches contains want.
func (p *tab) waitText(sel, want string) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%s)?.textContent.includes(%s) === true`, jsString(sel), jsString(want)),
		chromedp.WithPollingTimeout(actionTimeout-time.Second)))
	if err != nil {
		p.tb.Fatalf("waiting for %q in %s: %v; the page at %s reads:\n%s", want, sel, err, p.location(), p.textContent("main"))
	}
}

// paste replaces the text of a field as pasting over a selection of all of it does,
// firing the events typing fires.
func (p *tab) paste(sel, text string) {
	p.tb.Helper()
	p.do(
		chromedp.Focus(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).select()`, jsString(sel))),
	)
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
		p.tb.Fatalf("paste into %s: %v", sel, err)
	}
}

// cookie is the value of the tab's cookie for the app named name.
func (p *tab) cookie(name string) string {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.srv.URL}})
	if err != nil {
		p.tb.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return c.Value
		}
	}
	p.tb.Fatalf("no cookie %s in the browser", name)
	return ""
}

// screenshot saves the whole page as name.png in the screenshot folder.
func (p *tab) screenshot(name string) {
	p.tb.Helper()
	png := get(p, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(p.b.shots, name+".png"), png, 0o644); err != nil {
		p.tb.Fatal(err)
	}
}

// jsString quotes s as a JavaScript string.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
