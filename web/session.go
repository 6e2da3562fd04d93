package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"tandem"
	"tandem/store"
)

const (
	sessionCookie = "tandem_session"
	// loginCookie carries the CSRF token of the sign-in and first-run forms, which are
	// posted before there is a session (a double-submit cookie).
	loginCookie = "tandem_login"
)

// session is the signed-in person of a request.
type session struct {
	user   *tandem.User
	role   tandem.Role
	csrf   string
	secret string
}

type sessionKey struct{}

func sessionOf(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// roleOf is what a user may do: admins everything, the others their team's side.
func roleOf(u *tandem.User) tandem.Role {
	switch {
	case u.Role == tandem.UserAdmin:
		return tandem.RoleAdmin
	case u.Team == tandem.TeamSales:
		return tandem.RoleSales
	}
	return tandem.RoleMarketing
}

// actor is who a signed-in person is in the records they leave.
func (s *session) actor() tandem.Actor {
	return tandem.Actor{Name: s.user.Name + " <" + s.user.Email + ">", Role: s.role}
}

type handler func(http.ResponseWriter, *http.Request)

// signedIn runs h for a signed-in person of one of roles (any when none; admins
// always), checking the CSRF token of every POST. Others are sent to sign in, or to the
// first-run page when nobody can yet.
func (a *App) signedIn(h handler, roles ...tandem.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, csrf, err := a.store.Session(r.Context(), c.Value)
			switch {
			case err == nil:
				s = &session{user: u, role: roleOf(u), csrf: csrf, secret: c.Value}
			case tandem.ErrorCode(err) != tandem.EUnauthorized:
				a.fail(w, r, err)
				return
			}
		}
		if s == nil {
			if n, err := a.store.CountUsers(r.Context()); err == nil && n == 0 {
				http.Redirect(w, r, "/setup", http.StatusSeeOther)
				return
			}
			next := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				next += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if r.Method == http.MethodPost && !sameToken(r.PostFormValue("csrf"), s.csrf) {
			a.fail(w, r, tandem.Errorf(tandem.EForbidden, "this form expired or came from another site: reload the page and try again"))
			return
		}
		if len(roles) > 0 && s.role != tandem.RoleAdmin && !slices.Contains(roles, s.role) {
			a.fail(w, r, tandem.Errorf(tandem.EForbidden, "%s may not do this", s.role))
			return
		}
		h(w, r)
	})
}

func sameToken(got, want string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// loginToken returns the CSRF token of the pre-session forms, setting its cookie when
// the browser has none.
func (a *App) loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 20 {
		return c.Value
	}
	t := rand.Text()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: t, Path: "/", HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode})
	return t
}

func (a *App) checkLoginToken(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	return err == nil && sameToken(r.PostFormValue("csrf"), c.Value)
}

func (a *App) setSession(w http.ResponseWriter, secret string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true, Secure: a.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int(store.SessionTTL.Seconds())})
}

// next is where to go after signing in: a path of this app, never another site.
func next(r *http.Request) string {
	return localPath(r.FormValue("next"), "/")
}

// localPath returns p if it is a path of this app, or or: never another site, however
// written (//host, /\host, or with tabs and newlines that browsers strip).
func localPath(p, or string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\x00") {
		return or
	}
	for _, c := range p {
		if c < 0x20 || c == 0x7f {
			return or
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "//") {
		return or
	}
	return p
}

type loginData struct {
	Email, Next, Token string
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if n, err := a.store.CountUsers(r.Context()); err == nil && n == 0 {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Data: loginData{Next: next(r), Token: a.loginToken(w, r)}})
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	if !a.checkLoginToken(r) {
		a.render(w, r, http.StatusForbidden, "login", page{Title: "Sign in", Error: "This form expired: please try again.",
			Data: loginData{Next: next(r), Token: a.loginToken(w, r)}})
		return
	}
	email := r.PostFormValue("email")
	now, ip := a.now(), clientIP(r)
	if a.byIP.blocked(ip, now) || a.byEmail.blocked(emailKey(email), now) {
		a.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Sign in",
			Error: "Too many failed sign-ins: wait a quarter of an hour and try again.",
			Data:  loginData{Email: email, Next: next(r), Token: a.loginToken(w, r)}})
		return
	}
	_, secret, _, err := a.store.Login(r.Context(), email, r.PostFormValue("password"))
	if err != nil {
		status := http.StatusUnauthorized
		if tandem.ErrorCode(err) != tandem.EUnauthorized {
			a.fail(w, r, err)
			return
		}
		a.byIP.fail(ip, now)
		a.byEmail.fail(emailKey(email), now)
		a.render(w, r, status, "login", page{Title: "Sign in", Error: tandem.ErrorMessage(err),
			Data: loginData{Email: email, Next: next(r), Token: a.loginToken(w, r)}})
		return
	}
	a.setSession(w, secret)
	http.Redirect(w, r, next(r), http.StatusSeeOther)
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.store.Logout(r.Context(), sessionOf(r).secret); err != nil {
		a.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: a.secure})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type setupData struct {
	Email, Name, Team, Token string
}

// setupPage is the first-run page: while nobody can sign in, it creates the first
// admin. Once a user exists it is gone.
func (a *App) setupPage(w http.ResponseWriter, r *http.Request) {
	if n, err := a.store.CountUsers(r.Context()); err != nil || n > 0 {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "setup", page{Title: "Welcome to Tandem", Data: setupData{Team: "marketing", Token: a.loginToken(w, r)}})
}

func (a *App) setup(w http.ResponseWriter, r *http.Request) {
	if n, err := a.store.CountUsers(r.Context()); err != nil || n > 0 {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	d := setupData{Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Team: r.PostFormValue("team"), Token: a.loginToken(w, r)}
	again := func(msg string) {
		a.render(w, r, http.StatusBadRequest, "setup", page{Title: "Welcome to Tandem", Error: msg, Data: d})
	}
	if !a.checkLoginToken(r) {
		again("This form expired: please try again.")
		return
	}
	pw := r.PostFormValue("password")
	if len([]rune(pw)) < store.MinPasswordLen {
		again("The password needs at least 10 characters.")
		return
	}
	u, err := a.store.CreateFirstAdmin(r.Context(), &tandem.User{Email: d.Email, Name: d.Name, Team: tandem.Team(d.Team)}, pw)
	if err != nil {
		switch tandem.ErrorCode(err) {
		case tandem.EInvalid:
			again(tandem.ErrorMessage(err))
		case tandem.EConflict:
			http.Redirect(w, r, "/login", http.StatusSeeOther)
		default:
			a.fail(w, r, err)
		}
		return
	}
	_, secret, _, err := a.store.Login(r.Context(), u.Email, pw)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.setSession(w, secret)
	http.Redirect(w, r, "/?done=Welcome! You are the first admin.", http.StatusSeeOther)
}
