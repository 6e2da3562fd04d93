package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"tandem"
	"tandem/report"
)

// person is who the signed-in person is to the requests they act on.
func (s *session) person() tandem.Person {
	return tandem.Person{Email: s.user.Email, Name: s.user.Name, Role: s.role}
}

// requestCard is a request as the board and the request page show it: with the names of
// the people on it.
type requestCard struct {
	*tandem.Request
	RequesterName, AssigneeName string
}

type boardColumn struct {
	Status tandem.RequestStatus
	Title  string
	Cards  []requestCard
}

type requestsData struct {
	Columns []boardColumn
	// Closed are the latest confirmed or declined requests, newest first.
	Closed []requestCard
	// Full says the board holds only the first page of open requests.
	Full bool
	// The filters, and what they choose from.
	Types           []string
	Reps            []*tandem.User
	Type, Requester string
	Teams           []string
	Team            string
	Mine, Overdue   bool
	MineLabel       string
	CanFile         bool
}

const (
	boardLimit  = 1000
	closedShown = 15
)

// people returns the active users by email, and those of team.
func (a *App) people(ctx context.Context, team tandem.Team) (map[string]string, []*tandem.User, error) {
	users, err := a.store.Users(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	var of []*tandem.User
	for _, u := range users {
		names[u.Email] = u.Name
		if u.Active && u.Team == team {
			of = append(of, u)
		}
	}
	return names, of, nil
}

func card(r *tandem.Request, names map[string]string) requestCard {
	name := func(e string) string {
		if n := names[e]; n != "" {
			return n
		}
		return e
	}
	return requestCard{Request: r, RequesterName: name(r.Requester), AssigneeName: name(r.Assignee)}
}

// sortedTypes are the request types of the active agreement, none when none is active.
func (a *App) sortedTypes(ctx context.Context) (map[string]time.Duration, []string, error) {
	types, err := a.store.RequestTypes(ctx)
	if tandem.ErrorCode(err) == tandem.EConflict || tandem.ErrorCode(err) == tandem.ENotFound {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	keys := make([]string, 0, len(types))
	for k := range types {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return types, keys, nil
}

// requests is the board of sales' requests of marketing: a column per open status, the
// latest closed ones below, with filters by type, requester, the signed-in person's own
// and the overdue.
func (a *App) requests(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	q := r.URL.Query()
	d := requestsData{Type: q.Get("type"), Requester: q.Get("requester"), Mine: q.Get("mine") != "", Overdue: q.Get("overdue") != "",
		CanFile: s.role == tandem.RoleSales || s.role == tandem.RoleAdmin, MineLabel: "Assigned to me"}
	sales := s.user.Team == tandem.TeamSales
	if sales {
		d.MineLabel = "Filed by me"
	}
	f := tandem.RequestFilter{Type: d.Type, Requester: d.Requester, Open: true, Overdue: d.Overdue}
	if d.Mine {
		if sales {
			f.Requester = s.user.Email
		} else {
			f.Assignee = s.user.Email
		}
	}
	names, reps, err := a.people(ctx, tandem.TeamSales)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d.Reps = reps
	// A team is one of the agreement's sales teams: its members' requests.
	terms, err := a.activeTerms(ctx)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if terms != nil {
		for _, t := range terms.Teams {
			d.Teams = append(d.Teams, t.Name)
			if t.Name == q.Get("team") {
				d.Team = t.Name
				for _, m := range t.Members {
					f.Requesters = append(f.Requesters, strings.ToLower(m.Rep))
				}
			}
		}
	}
	if _, d.Types, err = a.sortedTypes(ctx); err != nil {
		a.fail(w, r, err)
		return
	}
	open, err := a.store.Requests(ctx, f, tandem.Page{Limit: boardLimit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d.Full = len(open) == boardLimit
	for _, st := range []struct {
		s     tandem.RequestStatus
		title string
	}{{tandem.RequestNew, "New"}, {tandem.RequestTriaged, "Triaged"}, {tandem.RequestInProgress, "In progress"}, {tandem.RequestDelivered, "Delivered"}} {
		col := boardColumn{Status: st.s, Title: st.title}
		for _, q := range open {
			if q.Status == st.s {
				col.Cards = append(col.Cards, card(q, names))
			}
		}
		d.Columns = append(d.Columns, col)
	}
	if !d.Overdue {
		var closed []*tandem.Request
		for _, st := range []tandem.RequestStatus{tandem.RequestConfirmed, tandem.RequestDeclined} {
			cf := f
			cf.Open, cf.Status, cf.Newest = false, st, true
			page, err := a.store.Requests(ctx, cf, tandem.Page{Limit: closedShown})
			if err != nil {
				a.fail(w, r, err)
				return
			}
			closed = append(closed, page...)
		}
		slices.SortFunc(closed, func(x, y *tandem.Request) int { return y.UpdatedAt.Compare(x.UpdatedAt) })
		for _, q := range closed[:min(len(closed), closedShown)] {
			d.Closed = append(d.Closed, card(q, names))
		}
	}
	a.render(w, r, http.StatusOK, "requests", page{Title: "Requests", Data: d})
}

// requestType is a type of request with its turnaround, for the form.
type requestType struct {
	Key, Turnaround string
}

type requestForm struct {
	Types      []requestType
	Priorities []string
	// Reps are the sales users an admin may file for.
	Reps                                                       []*tandem.User
	Type, Title, Description, Priority, AccountID, Opportunity string
	Accounts, Links, DueAsked, Requester                       string
}

func (a *App) requestForm(ctx context.Context, s *session, f *requestForm) error {
	types, keys, err := a.sortedTypes(ctx)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return tandem.Errorf(tandem.EConflict, "no agreement with request types is active: its sla.marketing.request_turnaround lists them")
	}
	for _, k := range keys {
		f.Types = append(f.Types, requestType{Key: k, Turnaround: report.Duration(types[k]).String()})
	}
	f.Priorities = tandem.RequestPriorities
	if f.Priority == "" {
		f.Priority = "normal"
	}
	if s.role == tandem.RoleAdmin {
		if _, f.Reps, err = a.people(ctx, tandem.TeamSales); err != nil {
			return err
		}
	}
	return nil
}

// requestNew is the form sales files a request with.
func (a *App) requestNew(w http.ResponseWriter, r *http.Request) {
	var f requestForm
	if err := a.requestForm(r.Context(), sessionOf(r), &f); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "request_new", page{Title: "New request", Data: f})
}

// ids reads a list of account ids separated by commas or spaces.
func ids(field, s string) ([]int64, error) {
	var out []int64
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, tandem.Errorf(tandem.EInvalid, "%s: want account ids (numbers), got %q", field, v)
		}
		out = append(out, n)
	}
	return out, nil
}

// date reads a date of a form, in UTC; nil when empty.
func date(field, s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return nil, tandem.Errorf(tandem.EInvalid, "%s: want a date such as 2026-04-30, got %q", field, s)
	}
	return &t, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// requestCreate files a request and shows it; an invalid one shows the form again with
// what to fix.
func (a *App) requestCreate(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	f := requestForm{Type: r.PostFormValue("type"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Priority: r.PostFormValue("priority"), AccountID: strings.TrimSpace(r.PostFormValue("account_id")), Opportunity: r.PostFormValue("opportunity"),
		Accounts: r.PostFormValue("accounts"), Links: r.PostFormValue("links"), DueAsked: r.PostFormValue("due_asked"), Requester: r.PostFormValue("requester")}
	in := &tandem.Request{Type: f.Type, Title: f.Title, Description: f.Description, Priority: f.Priority, Opportunity: f.Opportunity,
		Links: lines(f.Links), Requester: f.Requester}
	err := func() error {
		if f.AccountID != "" {
			n, err := ids("account id", f.AccountID)
			if err != nil {
				return err
			}
			if len(n) != 1 {
				return tandem.Errorf(tandem.EInvalid, "account id: want one account id, got %q", f.AccountID)
			}
			in.AccountID = &n[0]
		}
		var err error
		if in.Accounts, err = ids("target accounts", f.Accounts); err != nil {
			return err
		}
		if in.DueAsked, err = date("date asked", f.DueAsked); err != nil {
			return err
		}
		created, err := a.store.CreateRequest(ctx, in, s.person())
		if err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/requests/%d?done=%s", created.ID, url.QueryEscape("Filed: marketing will triage it.")), http.StatusSeeOther)
		return nil
	}()
	if err == nil {
		return
	}
	if tandem.ErrorCode(err) != tandem.EInvalid {
		a.fail(w, r, err)
		return
	}
	msg := tandem.ErrorMessage(err)
	if e := (*tandem.Error)(nil); errors.As(err, &e) && len(e.Fields) > 1 {
		var b []string
		for _, fe := range e.Fields {
			b = append(b, strings.TrimPrefix(fe.Pointer, "/")+": "+fe.Detail)
		}
		msg = strings.Join(b, "; ")
	}
	if ferr := a.requestForm(ctx, s, &f); ferr != nil {
		a.fail(w, r, ferr)
		return
	}
	a.render(w, r, http.StatusUnprocessableEntity, "request_new", page{Title: "New request", Error: msg, Data: f})
}

type requestData struct {
	requestCard
	Turnaround string
	Changes    []*tandem.RequestChange
	Comments   []*tandem.Comment
	Marketers  []*tandem.User
	// What the signed-in person may do now.
	CanTriage, CanStart, CanDeliver, CanConfirm, Watching bool
	// Committed is the date the triage form proposes.
	Committed string
	Me        string
}

func requestID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, tandem.Errorf(tandem.ENotFound, "no such request")
	}
	return id, nil
}

// request shows one request: its fields, dates and links, its history and comments, and
// the actions the signed-in person may take.
func (a *App) request(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	id, err := requestID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := a.store.Request(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	changes, comments, err := a.store.RequestHistory(ctx, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	names, marketers, err := a.people(ctx, tandem.TeamMarketing)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	mkt := s.role == tandem.RoleMarketing || s.role == tandem.RoleAdmin
	d := requestData{requestCard: card(q, names), Changes: changes, Comments: comments, Marketers: marketers, Me: s.user.Email,
		CanTriage:  mkt && q.Status == tandem.RequestNew,
		CanStart:   mkt && q.Status == tandem.RequestTriaged,
		CanDeliver: mkt && (q.Status == tandem.RequestTriaged || q.Status == tandem.RequestInProgress),
		CanConfirm: q.Requester == s.user.Email && q.Status == tandem.RequestDelivered,
		Watching:   slices.Contains(q.Watchers, s.user.Email)}
	if types, _, err := a.sortedTypes(ctx); err == nil {
		if t, ok := types[q.Type]; ok {
			d.Turnaround = report.Duration(t).String()
		}
	}
	committed := a.now()
	if q.DueAt != nil && q.DueAt.After(committed) {
		committed = *q.DueAt
	}
	d.Committed = committed.UTC().Format(time.DateOnly)
	a.render(w, r, http.StatusOK, "request", page{Title: q.Title, Data: d})
}

// requestAction runs an action on a request: marketing's triage (accept or decline),
// start and deliver; the requester's confirm and reopen; anyone's comment and watch.
// The store decides who may.
func (a *App) requestAction(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	id, err := requestID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	by := s.person()
	var done string
	switch r.PathValue("action") {
	case "triage":
		var committed *time.Time
		if committed, err = date("committed date", r.PostFormValue("committed")); err == nil {
			t := tandem.Triage{Accept: true, Assignee: r.PostFormValue("assignee")}
			if committed != nil {
				t.Committed = *committed
				done = "Accepted: committed to " + committed.Format("Mon 2 Jan 2006") + "."
			}
			err = ignore(a.store.TriageRequest(ctx, id, t, by))
		}
	case "decline":
		err, done = ignore(a.store.TriageRequest(ctx, id, tandem.Triage{Reason: r.PostFormValue("reason")}, by)), "Declined."
	case "start":
		err, done = ignore(a.store.StartRequest(ctx, id, by)), "Started: it is in progress."
	case "deliver":
		err, done = ignore(a.store.DeliverRequest(ctx, id, lines(r.PostFormValue("links")), by)), "Delivered: the requester will confirm."
	case "confirm":
		err, done = ignore(a.store.ConfirmRequest(ctx, id, by)), "Confirmed. Thank you!"
	case "reopen":
		err, done = ignore(a.store.ReopenRequest(ctx, id, r.PostFormValue("reason"), by)), "Reopened: it went back to marketing."
	case "comment":
		err, done = ignore(a.store.CommentRequest(ctx, id, r.PostFormValue("body"), by)), "Commented."
	case "watch":
		err, done = ignore(a.store.WatchRequest(ctx, id, s.user.Email, by)), "Watching: you will hear of its changes."
	default:
		err = tandem.Errorf(tandem.ENotFound, "no such action")
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/requests/%d?done=%s", id, url.QueryEscape(done)), http.StatusSeeOther)
}
