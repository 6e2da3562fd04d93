package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

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

// leadsPerPage is how many leads a page of the queue shows.
const leadsPerPage = 25

type leadsData struct {
	Rep     string
	More    string // the next page, empty on the last
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
	if q := r.URL.Query().Get("rep"); q != "" && leadsManager(s) {
		rep = q
	}
	ctx := r.Context()
	// A page holds the most pressing leads; each brings its score's explanation, which
	// replays the lead's events, so pages stay short.
	p := tandem.Page{Limit: leadsPerPage}
	q := r.URL.Query()
	if v, err := strconv.ParseInt(q.Get("after"), 10, 64); err == nil && v > 0 {
		p.After = v
		if due, err := strconv.ParseInt(q.Get("due"), 10, 64); err == nil {
			p.AfterTime = time.UnixMicro(due)
		}
	}
	list, err := a.store.Assignments(ctx, tandem.AssignmentFilter{Rep: rep, Open: true}, p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := leadsData{Rep: rep, Kinds: tandem.TouchKinds}
	if len(list) == leadsPerPage {
		last := list[len(list)-1]
		v := url.Values{"after": {strconv.FormatInt(last.ID, 10)}}
		if last.Due != nil {
			v.Set("due", strconv.FormatInt(last.Due.UnixMicro(), 10))
		}
		if rep != s.user.Email {
			v.Set("rep", rep)
		}
		d.More = "/leads?" + v.Encode()
	}
	if terms, err := a.activeTerms(ctx); err == nil && terms != nil {
		d.Reasons = terms.Recycle.Reasons
	}
	now := a.now()
	ids := make([]int64, len(list))
	for i, as := range list {
		ids[i] = as.ContactID
	}
	why, err := a.store.ContactScores(ctx, ids)
	if err != nil && tandem.ErrorCode(err) != tandem.ENotFound {
		a.fail(w, r, err)
		return
	}
	for _, as := range list {
		l := lead{Assignment: as, Overdue: as.Due != nil && as.Due.Before(now)}
		if l.Contact, err = a.store.Contact(ctx, as.ContactID); err != nil {
			a.fail(w, r, err)
			return
		}
		if b := why[as.ContactID]; b != nil {
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
	if as.Rep != s.user.Email && !leadsManager(s) {
		a.fail(w, r, tandem.Errorf(tandem.EForbidden, "this lead is %s's", as.Rep))
		return
	}
	if r.PathValue("action") == "assign" && !leadsManager(s) {
		a.fail(w, r, tandem.Errorf(tandem.EForbidden, "a sales manager hands leads to other reps"))
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
	u, err := url.Parse(localPath(r.PostFormValue("back"), "/leads"))
	if err != nil {
		u = &url.URL{Path: "/leads"}
	}
	q := u.Query()
	q.Set("done", done)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// leadsManager says whether s may look at and act on other reps' leads: an admin or a
// sales manager.
func leadsManager(s *session) bool {
	return s.role == tandem.RoleAdmin || s.user.Team == tandem.TeamSales && s.user.Role == tandem.UserManager
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
