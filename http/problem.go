package http

import (
	"encoding/json"
	"errors"
	"net/http"

	"tandem"
)

// statusOf maps each application error code to one HTTP status.
var statusOf = map[string]int{
	tandem.EInvalid:       http.StatusBadRequest,
	tandem.EUnprocessable: http.StatusUnprocessableEntity,
	tandem.ENotFound:      http.StatusNotFound,
	tandem.EConflict:      http.StatusConflict,
	tandem.EUnauthorized:  http.StatusUnauthorized,
	tandem.EForbidden:     http.StatusForbidden,
	tandem.ETooLarge:      http.StatusRequestEntityTooLarge,
	tandem.EUnavailable:   http.StatusServiceUnavailable,
	tandem.EInternal:      http.StatusInternalServerError,
}

// problem is an RFC 9457 problem details document.
type problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance,omitempty"`
	Code     string `json:"code"`
	// Errors lists each problem of an input that has several, with where it is.
	Errors any `json:"errors,omitempty"`
	// Line and Column locate a syntax error in the request body.
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Imported is what an import stored before it failed.
	Imported any `json:"imported,omitempty"`
}

// problem writes err as problem+json. Internal errors are logged here, once, and shown
// only as "internal error".
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	s.writeProblem(w, s.problemOf(r, err))
}

// problemOf is the problem document of err, logging it if it is internal.
func (s *Server) problemOf(r *http.Request, err error) problem {
	code := tandem.ErrorCode(err)
	if code == tandem.EInternal {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := problem{Type: "about:blank", Code: code, Detail: tandem.ErrorMessage(err), Instance: r.URL.Path}
	p.Status = statusOf[code]
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	p.Title = http.StatusText(p.Status)
	if e := (*tandem.Error)(nil); errors.As(err, &e) && len(e.Fields) > 0 {
		p.Errors = e.Fields
	} else if e != nil && len(e.Document) > 0 {
		p.Errors = e.Document
	}
	return p
}

func (s *Server) writeProblem(w http.ResponseWriter, p problem) {
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tandem"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
