package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tandem"
	"tandem/store"
	"tandem/web"
)

// newApp serves the app over a fresh SQLite store.
func newApp(tb testing.TB) (*store.DB, *httptest.Server) {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "tandem.db"), store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	app, err := web.New(db, slog.New(slog.DiscardHandler), web.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(app)
	tb.Cleanup(srv.Close)
	return db, srv
}

// browser is a client with a cookie jar that does not follow redirects, so tests see
// where the app sends it.
func browser(tb testing.TB) *http.Client {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(tb testing.TB, c *http.Client, u string) (*http.Response, string) {
	tb.Helper()
	resp, err := c.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func post(tb testing.TB, c *http.Client, u string, form url.Values) (*http.Response, string) {
	tb.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(tb testing.TB, body string) string {
	tb.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		tb.Fatalf("no CSRF token in the page:\n%s", body)
	}
	return m[1]
}

// signIn signs c in as email with password and returns the session's CSRF token.
func signIn(tb testing.TB, c *http.Client, base, email, password string) string {
	tb.Helper()
	_, body := get(tb, c, base+"/login")
	resp, _ := post(tb, c, base+"/login", url.Values{"csrf": {csrfOf(tb, body)}, "email": {email}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in as %s: status %d, want 303", email, resp.StatusCode)
	}
	_, body = get(tb, c, base+"/")
	return csrfOf(tb, body)
}

func mustUser(tb testing.TB, db *store.DB, email string, team tandem.Team) *tandem.User {
	tb.Helper()
	u, err := db.CreateUser(context.Background(), &tandem.User{Email: email, Name: strings.Split(email, "@")[0], Team: team})
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.SetPassword(context.Background(), u.ID, "a long enough password"); err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestFirstRunMakesTheFirstAdmin(t *testing.T) {
	db, srv := newApp(t)
	c := browser(t)
	resp, _ := get(t, c, srv.URL+"/")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/setup" {
		t.Fatalf("an empty install sends / to %d %q, want 303 /setup", resp.StatusCode, loc)
	}
	_, body := get(t, c, srv.URL+"/setup")
	token := csrfOf(t, body)
	resp, body = post(t, c, srv.URL+"/setup", url.Values{"csrf": {token}, "name": {"Ada"}, "email": {"ada@acme.test"}, "team": {"marketing"}, "password": {"short"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 10 characters") {
		t.Errorf("a short password: status %d, want 400 saying how long it must be", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL+"/setup", url.Values{"csrf": {token}, "name": {"Ada"}, "email": {"ada@acme.test"}, "team": {"marketing"}, "password": {"a long enough password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: status %d, want 303", resp.StatusCode)
	}
	resp, body = get(t, c, srv.URL+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ada · marketing · admin") {
		t.Errorf("after setup /: status %d, want the admin signed in", resp.StatusCode)
	}
	if n, _ := db.CountUsers(context.Background()); n != 1 {
		t.Errorf("%d users after setup, want 1", n)
	}
	// Once someone exists, the first-run page is gone.
	other := browser(t)
	if resp, _ := get(t, other, srv.URL+"/setup"); resp.Header.Get("Location") != "/login" {
		t.Errorf("/setup after the first admin sends to %q, want /login", resp.Header.Get("Location"))
	}
}

func TestSignInAndForms(t *testing.T) {
	db, srv := newApp(t)
	mustUser(t, db, "mia@acme.test", tandem.TeamMarketing)
	c := browser(t)
	resp, _ := get(t, c, srv.URL+"/reports")
	if loc := resp.Header.Get("Location"); loc != "/login?next=%2Freports" {
		t.Errorf("signed out, /reports sends to %q, want the sign-in page coming back", loc)
	}
	_, body := get(t, c, srv.URL+"/login")
	token := csrfOf(t, body)
	resp, body = post(t, c, srv.URL+"/login", url.Values{"csrf": {token}, "email": {"mia@acme.test"}, "password": {"wrong password!"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong email or password") {
		t.Errorf("a wrong password: status %d, want 401 saying so", resp.StatusCode)
	}
	resp, _ = post(t, c, srv.URL+"/login", url.Values{"csrf": {"forged"}, "email": {"mia@acme.test"}, "password": {"a long enough password"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a sign-in with a forged token: status %d, want 403", resp.StatusCode)
	}
	csrf := signIn(t, c, srv.URL, "mia@acme.test", "a long enough password")

	// Every form carries the session's token; one without is refused.
	resp, _ = post(t, c, srv.URL+"/logout", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign out without the CSRF token: status %d, want 403", resp.StatusCode)
	}
	// A marketer cannot act on sales' leads.
	resp, _ = post(t, c, srv.URL+"/leads/1/accept", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a marketer accepting a lead: status %d, want 403", resp.StatusCode)
	}
	resp, _ = get(t, c, srv.URL+"/")
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("Content-Security-Policy = %q, want scripts from the app only", csp)
	}
	if resp, _ := post(t, c, srv.URL+"/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: status %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, srv.URL+"/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out /: status %d, want a redirect to sign in", resp.StatusCode)
	}
}

func TestStaticAssetsAreEmbedded(t *testing.T) {
	_, srv := newApp(t)
	for _, p := range []string{"/static/app.css", "/static/app.js"} {
		resp, body := get(t, browser(t), srv.URL+p)
		if resp.StatusCode != http.StatusOK || len(body) < 100 {
			t.Errorf("%s: status %d, %d bytes", p, resp.StatusCode, len(body))
		}
	}
}

func TestSignInGoesNowhereElse(t *testing.T) {
	db, srv := newApp(t)
	mustUser(t, db, "mia@acme.test", tandem.TeamMarketing)
	for _, n := range []string{"//evil.test/", "/\t/evil.test", "/\\evil.test", "https://evil.test/", "/%0a/evil.test", "/reports"} {
		c := browser(t)
		_, body := get(t, c, srv.URL+"/login")
		resp, _ := post(t, c, srv.URL+"/login", url.Values{"csrf": {csrfOf(t, body)}, "email": {"mia@acme.test"},
			"password": {"a long enough password"}, "next": {n}})
		want := "/"
		if n == "/reports" || n == "/%0a/evil.test" {
			want = n // a path of this app, escapes and all
		}
		if got := resp.Header.Get("Location"); got != want {
			t.Errorf("sign in with next=%q goes to %q, want %q", n, got, want)
		}
	}
}

func TestFirstRunRefusesAHugePasswordWithoutAUser(t *testing.T) {
	db, srv := newApp(t)
	c := browser(t)
	_, body := get(t, c, srv.URL+"/setup")
	resp, _ := post(t, c, srv.URL+"/setup", url.Values{"csrf": {csrfOf(t, body)}, "name": {"Ada"}, "email": {"ada@acme.test"},
		"team": {"marketing"}, "password": {strings.Repeat("x", 2000)}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a 2,000-byte password: status %d, want 400", resp.StatusCode)
	}
	if n, _ := db.CountUsers(context.Background()); n != 0 {
		t.Errorf("%d users after a refused first run, want 0: the page must stay", n)
	}
}

func TestSignInIsThrottled(t *testing.T) {
	db, srv := newApp(t)
	mustUser(t, db, "mia@acme.test", tandem.TeamMarketing)
	c := browser(t)
	_, body := get(t, c, srv.URL+"/login")
	token := csrfOf(t, body)
	try := func(pw string) int {
		resp, _ := post(t, c, srv.URL+"/login", url.Values{"csrf": {token}, "email": {"mia@acme.test"}, "password": {pw}})
		return resp.StatusCode
	}
	for i := range 10 {
		if got := try("wrong password!"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: status %d, want 401", i+1, got)
		}
	}
	if got := try("a long enough password"); got != http.StatusTooManyRequests {
		t.Errorf("the right password after ten wrong ones: status %d, want 429 until the window passes", got)
	}
}

func TestAttributionPage(t *testing.T) {
	db, srv := newApp(t)
	mustUser(t, db, "mia@acme.test", tandem.TeamMarketing)
	ctx := context.Background()
	if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "<b>Spring</b> webinar", Channel: "webinar", Cost: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Lumen", Amount: 400, Currency: "USD"}, tandem.Actor{Name: "sam", Role: tandem.RoleSales}); err != nil {
		t.Fatal(err)
	}
	for _, cur := range []string{"USD", "EUR"} {
		if _, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Harbor " + cur, Amount: 900, Currency: cur}, tandem.Actor{Name: "sam", Role: tandem.RoleSales}); err != nil {
			t.Fatal(err)
		}
	}
	c := browser(t)
	signIn(t, c, srv.URL, "mia@acme.test", "a long enough password")
	if _, body := get(t, c, srv.URL+"/reports/attribution?currency=eur"); !strings.Contains(body, "Open and won deals in EUR (1)") {
		t.Error("the EUR report does not count the one deal in EUR alone")
	}
	resp, body := get(t, c, srv.URL+"/reports/attribution?model=w_shaped&cutoff=closed")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("attribution page: status %d", resp.StatusCode)
	}
	// Most deals are in dollars: the report is in dollars, and never adds the euros in.
	for _, want := range []string{"Open and won deals in USD (2)", `<option value="EUR">EUR (1 open or won)</option>`, "&lt;b&gt;Spring&lt;/b&gt; webinar",
		"Revenue and pipeline by campaign, w shaped", "time_decay"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>Spring</b>") {
		t.Error("a campaign's name is not escaped")
	}
}
