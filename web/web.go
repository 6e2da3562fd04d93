// Package web is the app both teams sign in to: server-rendered pages over the same
// store as the JSON API, with the project's own stylesheet and a little of its own
// JavaScript for actions without a full reload. Every asset is embedded, so the binary
// works offline, and the Content-Security-Policy forbids inline script.
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"tandem"
	"tandem/report"
	"tandem/store"
)

//go:embed templates static
var assets embed.FS

// Store is what the app needs of a store.
type Store interface {
	tandem.ContactService
	tandem.AccountService
	tandem.AgreementService
	tandem.ScoreService
	tandem.HandoffService
	tandem.RequestService
	// RequestTypes are the request types of the active agreement with their turnaround.
	RequestTypes(ctx context.Context) (map[string]time.Duration, error)
	ValidateAgreement(doc []byte) error
	AgreementDiff(ctx context.Context, from, to int) (string, error)
	SLAReport(ctx context.Context, when, per string) (*report.SLAReport, error)
	StageCounts(ctx context.Context) ([]store.StageCount, error)
	StageFlows(ctx context.Context, when, per string) (report.Period, []report.StageFlow, error)
	SourceConversion(ctx context.Context, when, per string) (*store.SourceConversion, error)
	Attribution(ctx context.Context, q store.AttributionQuery) (*store.AttributionReport, error)
	ContactScores(ctx context.Context, ids []int64) (map[int64]*tandem.ScoreBreakdown, error)
	CountUsers(ctx context.Context) (int, error)
	SetPassword(ctx context.Context, userID int64, pw string) error
	CreateFirstAdmin(ctx context.Context, u *tandem.User, pw string) (*tandem.User, error)
	Login(ctx context.Context, email, pw string) (*tandem.User, string, string, error)
	Session(ctx context.Context, secret string) (*tandem.User, string, error)
	Logout(ctx context.Context, secret string) error
}

// App serves the web app.
type App struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	// secure marks cookies Secure: set when the app is reached over HTTPS.
	secure bool
	pages  map[string]*template.Template
	static http.Handler
	mux    *http.ServeMux
	// signIns throttles failed sign-ins per address and per email.
	byIP, byEmail *throttle
}

// Options tune the app.
type Options struct {
	// SecureCookies marks the session cookie Secure, for an app served over HTTPS (as
	// it should be anywhere but a laptop).
	SecureCookies bool
}

// New returns the app over s.
func New(s Store, log *slog.Logger, opt Options) (*App, error) {
	a := &App{store: s, log: log, now: time.Now, secure: opt.SecureCookies, pages: map[string]*template.Template{}, mux: http.NewServeMux(),
		byIP: newThrottle(30, 15*time.Minute), byEmail: newThrottle(10, 15*time.Minute)}
	if err := a.parse(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	a.static = http.StripPrefix("/static/", http.FileServerFS(static))
	a.routes()
	return a, nil
}

// parse reads every page template once, each with the layout.
func (a *App) parse() error {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New(page).Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return err
		}
		a.pages[page] = t
	}
	return nil
}

// routes is the app's site map. Pages for signed-in people go through signedIn, which
// also checks the CSRF token of every POST; roles narrow some.
func (a *App) routes() {
	in := func(h handler, roles ...tandem.Role) http.Handler { return a.signedIn(h, roles...) }
	for _, r := range []struct {
		pattern string
		h       http.Handler
	}{
		{"GET /static/", a.static},
		{"GET /setup", http.HandlerFunc(a.setupPage)},
		{"POST /setup", http.HandlerFunc(a.setup)},
		{"GET /login", http.HandlerFunc(a.loginPage)},
		{"POST /login", http.HandlerFunc(a.login)},
		{"POST /logout", in(a.logout)},
		{"GET /{$}", in(a.home)},
		{"GET /leads", in(a.leads)},
		{"POST /leads/{id}/{action}", in(a.leadAction, tandem.RoleSales)},
		{"GET /contacts/{id}", in(a.contact)},
		{"GET /accounts/{id}", in(a.account)},
		{"GET /agreement", in(a.agreementPage)},
		{"GET /agreement/edit", in(a.agreementEdit, tandem.RoleMarketing, tandem.RoleSales)},
		{"POST /agreement/validate", in(a.agreementValidate, tandem.RoleMarketing, tandem.RoleSales)},
		{"POST /agreement", in(a.agreementPropose, tandem.RoleMarketing, tandem.RoleSales)},
		{"GET /agreement/versions/{n}", in(a.agreementVersion)},
		{"POST /agreement/versions/{n}/approve", in(a.agreementApprove, tandem.RoleMarketing, tandem.RoleSales)},
		{"GET /requests", in(a.requests)},
		{"GET /requests/new", in(a.requestNew, tandem.RoleSales)},
		{"POST /requests", in(a.requestCreate, tandem.RoleSales)},
		{"GET /requests/{id}", in(a.request)},
		{"POST /requests/{id}/{action}", in(a.requestAction)},
		{"GET /reports", in(a.reports)},
		{"GET /reports/attribution", in(a.attributionPage)},
		{"GET /reports/csv/{chart}", in(a.reportCSV)},
	} {
		a.mux.Handle(r.pattern, r.h)
	}
}

// ServeHTTP implements http.Handler, with the headers every page carries.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	a.mux.ServeHTTP(w, r)
}

// page is what every template gets.
type page struct {
	Title string
	User  *tandem.User
	Role  tandem.Role
	CSRF  string
	Path  string
	Flash string
	Error string
	Data  any
}

// render writes a page with status.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t := a.pages[name]
	if t == nil {
		a.log.Error("no template", "page", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if s := sessionOf(r); s != nil {
		p.User, p.Role, p.CSRF = s.user, s.role, s.csrf
	}
	p.Path = r.URL.Path
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("done")
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		a.log.Error("render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// fail shows an error page for err: a message for what the person can fix, "internal
// error" (and a log line) for the rest.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := tandem.ErrorCode(err)
	status := map[string]int{
		tandem.EInvalid: http.StatusBadRequest, tandem.EUnprocessable: http.StatusUnprocessableEntity,
		tandem.ENotFound: http.StatusNotFound, tandem.EConflict: http.StatusConflict,
		tandem.EUnauthorized: http.StatusUnauthorized, tandem.EForbidden: http.StatusForbidden,
	}[code]
	msg := tandem.ErrorMessage(err)
	if status == 0 {
		status, msg = http.StatusInternalServerError, "internal error"
		a.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	a.render(w, r, status, "error", page{Title: http.StatusText(status), Error: msg})
}

// errForbidden is the answer to a page a role may not see.
var errForbidden = errors.New("forbidden")
