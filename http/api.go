package http

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"tandem"
)

type tokenKey struct{}

// auth wraps an /api/v1 handler so that it runs only for a valid bearer token of one of
// roles (any role when none is given).
func (s *Server) auth(h http.HandlerFunc, roles ...tandem.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || secret == "" {
			s.problem(w, r, tandem.Errorf(tandem.EUnauthorized, "an API token is required: send it as Authorization: Bearer TOKEN"))
			return
		}
		tok, err := s.store.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			s.problem(w, r, err)
			return
		}
		if len(roles) > 0 && tok.Role != tandem.RoleAdmin && !slices.Contains(roles, tok.Role) {
			s.problem(w, r, tandem.Errorf(tandem.EForbidden, "a %s token may not %s %s", tok.Role, r.Method, r.URL.Path))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok)))
	})
}

// decodeJSON decodes a JSON request body into v, refusing unknown fields.
func decodeJSON(r *http.Request, v any) error {
	body, err := readBody(r, 1<<20)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return tandem.Errorf(tandem.EInvalid, "invalid JSON body: %v", err)
	}
	return nil
}

func (s *Server) createSource(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.problem(w, r, err)
		return
	}
	src, key, err := s.store.CreateSource(r.Context(), in.Name)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/sources/"+strconv.FormatInt(src.ID, 10))
	writeJSON(w, http.StatusCreated, map[string]any{"id": src.ID, "name": src.Name, "write_key": key, "created_at": src.CreatedAt})
}

func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Sources(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": list})
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string      `json:"name"`
		Role tandem.Role `json:"role"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.problem(w, r, err)
		return
	}
	tok, secret, err := s.store.CreateToken(r.Context(), in.Name, in.Role)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": tok.ID, "name": tok.Name, "role": tok.Role, "token": secret, "created_at": tok.CreatedAt})
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, tandem.Errorf(tandem.EInvalid, "id: %q is not a positive integer", r.PathValue("id"))
	}
	return id, nil
}

// page reads the limit and cursor query parameters. A cursor is opaque to clients: the
// last row's id, and for listings ordered by time, its time.
func page(r *http.Request) (tandem.Page, error) {
	var p tandem.Page
	q := r.URL.Query()
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return p, tandem.Errorf(tandem.EInvalid, "limit: %q is not a number from 1 to 1000", l)
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		id, ts, _ := strings.Cut(string(raw), ".")
		p.After, err = parsePositive(id, err)
		if ts != "" {
			var us int64
			us, err = parsePositive(ts, err)
			p.AfterTime = time.UnixMicro(us)
		}
		if err != nil {
			return p, tandem.Errorf(tandem.EInvalid, "cursor: %q is not a cursor this API returned", c)
		}
	}
	return p, nil
}

func parsePositive(s string, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n <= 0 {
		err = fmt.Errorf("not positive")
	}
	return n, err
}

func cursor(id int64, t *time.Time) string {
	s := strconv.FormatInt(id, 10)
	if t != nil {
		s += "." + strconv.FormatInt(t.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// list is a page of a listing.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	f := tandem.ContactFilter{Email: r.URL.Query().Get("email")}
	if a := r.URL.Query().Get("account_id"); a != "" {
		if f.AccountID, err = strconv.ParseInt(a, 10, 64); err != nil {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "account_id: %q is not an integer", a))
			return
		}
	}
	if p.Limit == 0 {
		p.Limit = 100
	}
	cs, err := s.store.Contacts(r.Context(), f, p)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	res := list[*tandem.Contact]{Data: cs}
	if len(cs) == p.Limit {
		c := cursor(cs[len(cs)-1].ID, nil)
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
	if p.Limit == 0 {
		p.Limit = 100
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
	cs, err := s.store.Contacts(r.Context(), tandem.ContactFilter{AccountID: id}, tandem.Page{Limit: 1000})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*tandem.Account
		Contacts []*tandem.Contact `json:"contacts"`
	}{a, cs})
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}
