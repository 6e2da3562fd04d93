package http

import (
	"net/http"
	"strconv"

	"tandem"
)

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	q := r.URL.Query()
	f := tandem.ContactFilter{Email: q.Get("email"), Stage: q.Get("stage"), Order: q.Get("order")}
	if a := q.Get("account_id"); a != "" {
		if f.AccountID, err = strconv.ParseInt(a, 10, 64); err != nil {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "account_id: %q is not an integer", a))
			return
		}
	}
	cs, next, err := s.store.ContactsPage(r.Context(), f, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := list[*tandem.Contact]{Data: cs}
	if len(cs) == p.Limit {
		c := cursor(next.After, nil)
		if f.Order == "-engagement" {
			c = scoreCursor(next)
		}
		res.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) contact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	c, err := s.store.Contact(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) contactEvents(w http.ResponseWriter, r *http.Request) {
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
	evs, err := s.store.ContactEvents(r.Context(), id, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := list[*tandem.Event]{Data: evs}
	if len(evs) == p.Limit {
		last := evs[len(evs)-1]
		c := cursor(last.ID, &last.Timestamp)
		res.NextCursor = &c
	}
	writeJSON(w, http.StatusOK, res)
}

// accountContacts is how many contacts an account's page embeds; the rest are paged
// through the contact listing that contacts_next points to.
const accountContacts = 100

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	a, err := s.store.Account(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// One more than shown, to know whether there is a next page.
	cs, err := s.store.Contacts(r.Context(), tandem.ContactFilter{AccountID: id}, tandem.Page{Limit: accountContacts + 1})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var next *string
	if len(cs) > accountContacts {
		cs = cs[:accountContacts]
		u := "/api/v1/contacts?account_id=" + strconv.FormatInt(id, 10) + "&cursor=" + cursor(cs[len(cs)-1].ID, nil)
		next = &u
	}
	writeJSON(w, http.StatusOK, struct {
		*tandem.Account
		Contacts     []*tandem.Contact `json:"contacts"`
		ContactsNext *string           `json:"contacts_next"`
	}{a, cs, next})
}
