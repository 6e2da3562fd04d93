// Package http serves Tandem over HTTP: the Segment-compatible tracking API under /v1,
// the JSON API under /api/v1, health and metrics.
package http

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tandem"
	"tandem/ingest"
	"tandem/metrics"
)

// Store is what the server needs of a store.
type Store interface {
	tandem.ContactService
	tandem.AccountService
	tandem.SourceService
	tandem.TokenService
	Sources(ctx context.Context) ([]*tandem.Source, error)
	Ping(ctx context.Context) error
}

// Server is Tandem's HTTP handler.
type Server struct {
	store     Store
	committer *ingest.Committer
	metrics   *metrics.Registry
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux

	writeKeys sync.Map // write key → *tandem.Source; sources are never deleted

	requests *metrics.Counter
	rejected *metrics.Counter
}

// NewServer returns a server over the given store and committer.
func NewServer(s Store, c *ingest.Committer, reg *metrics.Registry, log *slog.Logger) *Server {
	srv := &Server{
		store: s, committer: c, metrics: reg, log: log, now: time.Now, mux: http.NewServeMux(),
		requests: reg.Counter("tandem_ingest_requests_total", "Tracking API requests answered."),
		rejected: reg.Counter("tandem_ingest_rejected_total", "Messages refused as invalid."),
	}
	srv.routes()
	return srv
}

// routes is the site map.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.HandleFunc("GET /metrics", s.metricsPage)

	for _, typ := range []string{tandem.TypeIdentify, tandem.TypeTrack, tandem.TypePage, tandem.TypeScreen, tandem.TypeGroup, tandem.TypeAlias} {
		s.mux.HandleFunc("POST /v1/"+typ, s.ingestSingle(typ))
	}
	s.mux.HandleFunc("POST /v1/batch", s.ingestBatch)
	s.mux.HandleFunc("POST /v1/import", s.ingestBatch) // the name RudderStack and older Segment clients use
	s.mux.HandleFunc("OPTIONS /v1/", s.preflight)

	s.mux.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	s.mux.Handle("POST /api/v1/sources", s.auth(s.createSource, tandem.RoleAdmin, tandem.RoleMarketing))
	s.mux.Handle("GET /api/v1/sources", s.auth(s.listSources, tandem.RoleAdmin, tandem.RoleMarketing))
	s.mux.Handle("POST /api/v1/tokens", s.auth(s.createToken, tandem.RoleAdmin))
	s.mux.Handle("GET /api/v1/contacts", s.auth(s.listContacts))
	s.mux.Handle("GET /api/v1/contacts/{id}", s.auth(s.contact))
	s.mux.Handle("GET /api/v1/contacts/{id}/events", s.auth(s.contactEvents))
	s.mux.Handle("GET /api/v1/accounts/{id}", s.auth(s.account))
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, r, tandem.Errorf(tandem.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v)
			s.problem(w, r, tandem.Errorf(tandem.EInternal, "internal error"))
		}
	}()
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		s.problem(w, r, tandem.Errorf(tandem.EUnavailable, "the store does not answer"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) metricsPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.Write(w)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
