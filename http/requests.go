package http

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"tandem"
)

// The requests API: what sales asks of marketing (a deck, posts for social, an event,
// leads at target accounts), triaged, worked and delivered by marketing and confirmed
// by the requester, against the agreement's turnaround for its type.

// person is who makes the request, as the store's request workflow takes it. API tokens
// belong to no user, so the email is empty: a sales token names the requester when it
// files, and acts for the requester when it confirms or reopens.
func person(r *http.Request) tandem.Person {
	a := actor(r)
	return tandem.Person{Name: a.Name, Role: a.Role}
}

// parseDate reads a date of a request body: a date (2006-01-02, midnight UTC) or an RFC
// 3339 time. A bad one is invalid, pointing at field.
func parseDate(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fieldError(field, fmt.Sprintf("want a date (2006-01-02) or an RFC 3339 time, got %q", s))
}

// optionalDate is parseDate for a field that may be left out, null or empty.
func optionalDate(field string, s *string) (*time.Time, error) {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil, nil
	}
	t, err := parseDate(field, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// fieldError is an invalid input error about one field of the body.
func fieldError(field, detail string) error {
	return &tandem.Error{Code: tandem.EInvalid, Message: field + ": " + detail,
		Fields: []tandem.FieldError{{Pointer: "/" + field, Detail: detail}}}
}

// newRequest is the body that files a request.
type newRequest struct {
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Priority    string   `json:"priority"`
	Requester   string   `json:"requester"`
	AccountID   *int64   `json:"account_id"`
	Opportunity string   `json:"opportunity"`
	Accounts    []int64  `json:"accounts"`
	Links       []string `json:"links"`
	DueAsked    *string  `json:"due_asked"`
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request) {
	var body newRequest
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	asked, err := optionalDate("due_asked", body.DueAsked)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.CreateRequest(r.Context(), &tandem.Request{
		Type: body.Type, Title: body.Title, Description: body.Description, Priority: body.Priority,
		Requester: body.Requester, AccountID: body.AccountID, Opportunity: body.Opportunity,
		Accounts: body.Accounts, Links: body.Links, DueAsked: asked,
	}, person(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/requests/"+strconv.FormatInt(created.ID, 10))
	writeJSON(w, http.StatusCreated, created)
}

// listRequests lists requests in the order they were filed, filtered by type, status
// (open is any but declined and confirmed), requester, assignee and overdue.
func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	f := tandem.RequestFilter{Type: q.Get("type"), Requester: q.Get("requester"), Assignee: q.Get("assignee"),
		Status: tandem.RequestStatus(q.Get("status"))}
	switch f.Status {
	case "", tandem.RequestNew, tandem.RequestTriaged, tandem.RequestDeclined, tandem.RequestInProgress,
		tandem.RequestDelivered, tandem.RequestConfirmed:
	case "open":
		f.Status, f.Open = "", true
	default:
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "status: want open, new, triaged, declined, in_progress, delivered or confirmed, got %q", f.Status))
		return
	}
	if o := q.Get("overdue"); o != "" {
		if f.Overdue, err = strconv.ParseBool(o); err != nil {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "overdue: want true or false, got %q", o))
			return
		}
	}
	list, err := s.store.Requests(r.Context(), f, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := listOf(list)
	if len(list) == p.Limit {
		c := cursor(list[len(list)-1].ID, nil)
		res.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, res)
}

// requestType is a request type of the active agreement with its turnaround, in
// business time.
type requestType struct {
	Type              string  `json:"type"`
	Turnaround        string  `json:"turnaround"`
	TurnaroundSeconds float64 `json:"turnaround_seconds"`
}

func (s *Server) requestTypes(w http.ResponseWriter, r *http.Request) {
	types, err := s.store.RequestTypes(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list := make([]requestType, 0, len(types))
	for t, d := range types {
		list = append(list, requestType{Type: t, Turnaround: d.String(), TurnaroundSeconds: d.Seconds()})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Type < list[j].Type })
	writeJSON(w, http.StatusOK, all[requestType]{Data: list})
}

// requestDetail is a request with its transitions and comments, oldest first.
type requestDetail struct {
	*tandem.Request
	History  []*tandem.RequestChange `json:"history"`
	Comments []*tandem.Comment       `json:"comments"`
}

func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	req, err := s.store.Request(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	history, comments, err := s.store.RequestHistory(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, requestDetail{Request: req, History: history, Comments: comments})
}

// triage is the body of marketing's decision on a new request.
type triage struct {
	Accept    *bool   `json:"accept"`
	Committed *string `json:"committed"`
	Assignee  string  `json:"assignee"`
	Reason    string  `json:"reason"`
}

func (s *Server) triageRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body triage
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	if body.Accept == nil {
		s.problem(w, r, fieldError("accept", "required: true to accept with a committed date and an assignee, false to decline with a reason"))
		return
	}
	t := tandem.Triage{Accept: *body.Accept, Assignee: body.Assignee, Reason: body.Reason}
	if committed, err := optionalDate("committed", body.Committed); err != nil {
		s.problem(w, r, err)
		return
	} else if committed != nil {
		t.Committed = *committed
	}
	req, err := s.store.TriageRequest(r.Context(), id, t, person(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) startRequest(w http.ResponseWriter, r *http.Request) {
	withoutInput(s, w, r, func(ctx context.Context, id int64) (*tandem.Request, error) {
		return s.store.StartRequest(ctx, id, person(r))
	})
}

func (s *Server) confirmRequest(w http.ResponseWriter, r *http.Request) {
	withoutInput(s, w, r, func(ctx context.Context, id int64) (*tandem.Request, error) {
		return s.store.ConfirmRequest(ctx, id, person(r))
	})
}

func (s *Server) deliverRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Links []string `json:"links"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &body); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	req, err := s.store.DeliverRequest(r.Context(), id, body.Links, person(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) reopenRequest(w http.ResponseWriter, r *http.Request) {
	withReason(s, w, r, func(ctx context.Context, id int64, reason string) (*tandem.Request, error) {
		return s.store.ReopenRequest(ctx, id, reason, person(r))
	})
}

func (s *Server) commentRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	c, err := s.store.CommentRequest(r.Context(), id, body.Body, person(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) watchRequest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	req, err := s.store.WatchRequest(r.Context(), id, body.Email, person(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}
