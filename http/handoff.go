package http

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"tandem"
)

// The handoff API: the people of both teams and their availability, the leads handed to
// sales with the actions reps take on them, where notifications go, and the SLA report.

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var u tandem.User
	if err := decodeJSON(r, &u); err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.CreateUser(r.Context(), &u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+strconv.FormatInt(created.ID, 10))
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.store.Users(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.User]{Data: users})
}

func (s *Server) user(w http.ResponseWriter, r *http.Request) {
	byID(s, w, r, s.store.User)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var c tandem.UserChange
	if err := decodeJSON(r, &c); err != nil {
		s.problem(w, r, err)
		return
	}
	u, err := s.store.UpdateUser(r.Context(), id, c)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) addAway(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var a tandem.Away
	if err := decodeJSON(r, &a); err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.AddAway(r.Context(), id, a)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) deleteAway(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	away, err := positivePathInt(r, "away")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.store.DeleteAway(r.Context(), id, away); err != nil {
		s.problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listAssignments is a rep's queue (owner=email) or any listing of assignments: sorted
// by the deadline still running, the most pressing first.
func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	f := tandem.AssignmentFilter{Rep: q.Get("owner"), Status: tandem.AssignmentStatus(q.Get("status"))}
	switch f.Status {
	case "", tandem.AssignmentUnassigned, tandem.AssignmentAssigned, tandem.AssignmentAccepted, tandem.AssignmentQualified,
		tandem.AssignmentRejected, tandem.AssignmentReassigned:
	case "open":
		f.Status, f.Open = "", true
	default:
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "status: want open, unassigned, assigned, accepted, qualified, rejected or reassigned, got %q", f.Status))
		return
	}
	if c := q.Get("contact_id"); c != "" {
		if f.ContactID, err = strconv.ParseInt(c, 10, 64); err != nil || f.ContactID <= 0 {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "contact_id: %q is not a positive integer", c))
			return
		}
	}
	list, err := s.store.Assignments(r.Context(), f, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := listOf(list)
	if len(list) == p.Limit {
		last := list[len(list)-1]
		c := cursor(last.ID, last.Due)
		res.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, res)
}

func listOf[T any](data []T) list[T] { return list[T]{Data: data} }

func (s *Server) assignment(w http.ResponseWriter, r *http.Request) {
	byID(s, w, r, s.store.Assignment)
}

// byID answers with the thing get finds by the {id} path value.
func byID[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(context.Context, int64) (T, error)) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	v, err := get(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) acceptAssignment(w http.ResponseWriter, r *http.Request) {
	withoutInput(s, w, r, func(ctx context.Context, id int64) (*tandem.Assignment, error) {
		return s.store.Accept(ctx, id, actor(r))
	})
}

func (s *Server) qualifyAssignment(w http.ResponseWriter, r *http.Request) {
	withoutInput(s, w, r, func(ctx context.Context, id int64) (*tandem.Assignment, error) {
		return s.store.Qualify(ctx, id, actor(r))
	})
}

// withoutInput answers an action on the {id} of the path that takes no input (the
// body is empty or an empty object) with what act returns.
func withoutInput[T any](s *Server, w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id int64) (T, error)) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if r.ContentLength > 0 {
		var none struct{}
		if err := decodeJSON(r, &none); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	v, err := act(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) rejectAssignment(w http.ResponseWriter, r *http.Request) {
	withReason(s, w, r, func(ctx context.Context, id int64, reason string) (*tandem.Assignment, error) {
		return s.store.Reject(ctx, id, reason, actor(r))
	})
}

// withReason answers an action on the {id} of the path whose body is {"reason": …}
// with what act returns.
func withReason[T any](s *Server, w http.ResponseWriter, r *http.Request, act func(ctx context.Context, id int64, reason string) (T, error)) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	v, err := act(r.Context(), id, body.Reason)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) assignAssignment(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Rep string `json:"rep"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	a, err := s.store.Assign(r.Context(), id, body.Rep, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) addTouch(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var t tandem.Touch
	if err := decodeJSON(r, &t); err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.AddTouch(r.Context(), id, t, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) touches(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.store.Touches(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.Touch]{Data: list})
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) {
	var c tandem.Channel
	if err := decodeJSON(r, &c); err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.CreateChannel(r.Context(), &c)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Channels(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.Channel]{Data: list})
}

func (s *Server) deleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.store.DeleteChannel(r.Context(), id); err != nil {
		s.problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.store.Deliveries(r.Context(), id, p)
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

// slaReport answers both teams' SLA figures for the period of marketing's target that
// holds on the "at" date (today when not given), per month or quarter.
func (s *Server) slaReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rep, err := s.store.SLAReport(r.Context(), q.Get("at"), strings.ToLower(q.Get("per")))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
