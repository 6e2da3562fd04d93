package http

import (
	"net/http"
	"strconv"

	"tandem"
)

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
	writeJSON(w, http.StatusOK, all[*tandem.Source]{list})
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
