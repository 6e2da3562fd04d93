package http

import (
	"context"
	"net/http"
	"slices"
	"strings"

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
