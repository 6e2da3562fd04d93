package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"tandem"
	"tandem/agreement"
)

// lead is one row of a rep's queue: the assignment with what the rep needs to decide.
type lead struct {
	*tandem.Assignment
	Contact *tandem.Contact
	Why     []tandem.ScoreLine
	Recent  []*tandem.Event
	Overdue bool
}

type leadsData struct {
	Rep     string
	Leads   []lead
	Reasons []string
	Kinds   []string
	Reps    []*tandem.User
}

// leads is "my leads": the signed-in rep's open assignments, the most pressing first,
// each with its score, the rules that gave it, and the latest activity. Managers and
// admins may look at another rep's queue with ?rep=.
func (a *App) leads(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	rep := s.user.Email
	if q := r.URL.Query().Get("rep"); q != "" && (s.role == tandem.RoleAdmin || s.user.Role == tandem.UserManager) {
		rep = q
	}
	ctx := r.Context()
	list, err := a.store.Assignments(ctx, tandem.AssignmentFilter{Rep: rep, Open: true}, tandem.Page{Limit: 200})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := leadsData{Rep: rep, Kinds: tandem.TouchKinds}
	if terms, err := a.activeTerms(ctx); err == nil && terms != nil {
		d.Reasons = terms.Recycle.Reasons
	}
	now := a.now()
	for _, as := range list {
		l := lead{Assignment: as, Overdue: as.Due != nil && as.Due.Before(now)}
		if l.Contact, err = a.store.Contact(ctx, as.ContactID); err != nil {
			a.fail(w, r, err)
			return
		}
		if b, err := a.store.ContactScore(ctx, as.ContactID); err == nil {
			l.Why = b.Lines
		}
		if evs, err := a.store.ContactEvents(ctx, as.ContactID, tandem.Page{Limit: 3}); err == nil {
			l.Recent = evs
		}
		d.Leads = append(d.Leads, l)
	}
	a.render(w, r, http.StatusOK, "leads", page{Title: "My leads", Data: d})
}

// leadAction runs a rep's action on one of their leads: accept, reject (with a
// reason), qualify, or touch (log a call, email or meeting). Only the lead's rep, a
// manager or an admin may act on it.
func (a *App) leadAction(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such lead"))
		return
	}
	ctx := r.Context()
	as, err := a.store.Assignment(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if as.Rep != s.user.Email && s.role != tandem.RoleAdmin && s.user.Role != tandem.UserManager {
		a.fail(w, r, tandem.Errorf(tandem.EForbidden, "this lead is %s's", as.Rep))
		return
	}
	by := s.actor()
	var done string
	switch r.PathValue("action") {
	case "accept":
		err, done = ignore(a.store.Accept(ctx, id, by)), "Accepted."
	case "qualify":
		err, done = ignore(a.store.Qualify(ctx, id, by)), "Qualified: it is an SQL now."
	case "reject":
		err, done = ignore(a.store.Reject(ctx, id, r.PostFormValue("reason"), by)), "Rejected: it went back to marketing."
	case "touch":
		_, err = a.store.AddTouch(ctx, id, tandem.Touch{Kind: r.PostFormValue("kind"), Note: r.PostFormValue("note")}, by)
		done = "Logged."
	case "assign":
		err, done = ignore(a.store.Assign(ctx, id, r.PostFormValue("rep"), by)), "Assigned."
	default:
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no such action"))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	back := r.PostFormValue("back")
	if back == "" || back[0] != '/' || len(back) > 1 && back[1] == '/' {
		back = "/leads"
	}
	u, _ := url.Parse(back)
	q := u.Query()
	q.Set("done", done)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func ignore[T any](_ T, err error) error { return err }

// activeTerms parses the active agreement, nil when none is active.
func (a *App) activeTerms(ctx context.Context) (*agreement.Agreement, error) {
	act, err := a.store.ActiveAgreement(ctx)
	if tandem.ErrorCode(err) == tandem.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t, err := agreement.Parse([]byte(act.Document))
	if err != nil {
		return nil, fmt.Errorf("agreement v%d: %w", act.Version, err)
	}
	return t, nil
}
