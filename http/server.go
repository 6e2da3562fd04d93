// Package http serves Tandem over HTTP: the Segment-compatible tracking API under /v1,
// the JSON API under /api/v1, health and metrics.
package http

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tandem"
	"tandem/csvio"
	"tandem/ingest"
	"tandem/metrics"
	"tandem/report"
	"tandem/store"
)

// Store is what the server needs of a store.
type Store interface {
	tandem.ContactService
	tandem.AccountService
	tandem.SourceService
	tandem.TokenService
	tandem.AgreementService
	tandem.ScoreService
	tandem.HandoffService
	tandem.CampaignService
	// Attribution credits open and won deals to campaigns under every model.
	Attribution(ctx context.Context, q store.AttributionQuery) (*store.AttributionReport, error)
	tandem.RequestService
	tandem.OpportunityService
	// RequestTypes returns the active agreement's request types with their turnaround.
	RequestTypes(ctx context.Context) (map[string]time.Duration, error)
	// SLAReport returns both teams' SLA figures for the period (month or quarter) that
	// holds on the day when names (a date or an RFC 3339 time; empty for now).
	SLAReport(ctx context.Context, when, per string) (*report.SLAReport, error)
	// SourceConversion follows a period's MQLs by source to opportunity and won.
	SourceConversion(ctx context.Context, when, per string) (*store.SourceConversion, error)
	Sources(ctx context.Context) ([]*tandem.Source, error)
	// ValidateAgreement checks a document as ProposeAgreement would, storing nothing.
	ValidateAgreement(doc []byte) error
	AgreementDiff(ctx context.Context, from, to int) (string, error)
	StartRescore(ctx context.Context, from store.RescoreFrom) (*tandem.Rescore, error)
	// Import stores the rows of a CSV file of contacts, accounts or opportunities.
	Import(ctx context.Context, r *csvio.Reader, opt store.ImportOptions) (*store.ImportSummary, error)
	// Export writes every contact, account or opportunity as CSV, returning how many.
	Export(ctx context.Context, o csvio.Object, w io.Writer) (int64, error)
	// ContactsPage is Contacts with the page that continues the listing.
	ContactsPage(ctx context.Context, f tandem.ContactFilter, p tandem.Page) ([]*tandem.Contact, tandem.Page, error)
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

	// ui serves everything outside the APIs: the web app, when there is one.
	ui http.Handler

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

// route is one entry of the site map.
type route struct {
	pattern string // method and path, as http.ServeMux takes them
	handler http.Handler
}

// routeTable is the site map.
func (s *Server) routeTable() []route {
	token := func(h http.HandlerFunc, roles ...tandem.Role) http.Handler { return s.auth(h, roles...) }
	open := func(h http.HandlerFunc) http.Handler { return h }
	rs := []route{
		{"GET /healthz", open(s.healthz)},
		{"GET /readyz", open(s.readyz)},
		{"GET /metrics", open(s.metricsPage)},

		{"POST /v1/batch", open(s.ingestBatch)},
		{"POST /v1/import", open(s.ingestBatch)}, // the name RudderStack and older Segment clients use
		{"OPTIONS /v1/", open(s.preflight)},

		{"GET /api/v1/openapi.json", open(s.openAPI)},
		{"POST /api/v1/sources", token(s.createSource, tandem.RoleAdmin, tandem.RoleMarketing)},
		{"GET /api/v1/sources", token(s.listSources, tandem.RoleAdmin, tandem.RoleMarketing)},
		{"POST /api/v1/tokens", token(s.createToken, tandem.RoleAdmin)},
		{"GET /api/v1/contacts", token(s.listContacts)},
		{"GET /api/v1/contacts/{id}", token(s.contact)},
		{"GET /api/v1/contacts/{id}/events", token(s.contactEvents)},
		{"GET /api/v1/contacts/{id}/score", token(s.contactScore)},
		{"GET /api/v1/contacts/{id}/stages", token(s.contactStages)},
		{"GET /api/v1/agreement", token(s.activeAgreement)},
		{"PUT /api/v1/agreement", token(s.proposeAgreement, tandem.RoleMarketing, tandem.RoleSales)},
		{"POST /api/v1/agreement/validate", token(s.validateAgreement)},
		{"GET /api/v1/agreement/versions", token(s.agreementVersions)},
		{"GET /api/v1/agreement/versions/{n}", token(s.agreementVersion)},
		{"GET /api/v1/agreement/versions/{n}/diff", token(s.agreementDiff)},
		{"POST /api/v1/agreement/versions/{n}/approve", token(s.approveAgreement, tandem.RoleMarketing, tandem.RoleSales)},
		{"POST /api/v1/agreement/versions/{n}/activate", token(s.activateAgreement, tandem.RoleAdmin)},
		{"GET /api/v1/agreement/rescore", token(s.rescore)},
		{"POST /api/v1/agreement/rescore", token(s.startRescore, tandem.RoleAdmin)},
		{"GET /api/v1/accounts/{id}", token(s.account)},
		{"POST /api/v1/users", token(s.createUser, tandem.RoleAdmin)},
		{"GET /api/v1/users", token(s.listUsers)},
		{"GET /api/v1/users/{id}", token(s.user)},
		{"PATCH /api/v1/users/{id}", token(s.updateUser, tandem.RoleAdmin)},
		{"POST /api/v1/users/{id}/away", token(s.addAway, tandem.RoleAdmin, tandem.RoleSales)},
		{"DELETE /api/v1/users/{id}/away/{away}", token(s.deleteAway, tandem.RoleAdmin, tandem.RoleSales)},
		{"GET /api/v1/assignments", token(s.listAssignments)},
		{"GET /api/v1/assignments/{id}", token(s.assignment)},
		{"POST /api/v1/assignments/{id}/assign", token(s.assignAssignment, tandem.RoleSales)},
		{"POST /api/v1/assignments/{id}/accept", token(s.acceptAssignment, tandem.RoleSales)},
		{"POST /api/v1/assignments/{id}/reject", token(s.rejectAssignment, tandem.RoleSales)},
		{"POST /api/v1/assignments/{id}/qualify", token(s.qualifyAssignment, tandem.RoleSales)},
		{"POST /api/v1/assignments/{id}/touches", token(s.addTouch, tandem.RoleSales)},
		{"GET /api/v1/assignments/{id}/touches", token(s.touches)},
		{"POST /api/v1/channels", token(s.createChannel, tandem.RoleAdmin)},
		{"GET /api/v1/channels", token(s.listChannels, tandem.RoleAdmin)},
		{"DELETE /api/v1/channels/{id}", token(s.deleteChannel, tandem.RoleAdmin)},
		{"GET /api/v1/channels/{id}/deliveries", token(s.deliveries, tandem.RoleAdmin)},
		{"POST /api/v1/requests", token(s.createRequest, tandem.RoleSales)},
		{"GET /api/v1/requests", token(s.listRequests)},
		{"GET /api/v1/requests/types", token(s.requestTypes)},
		{"GET /api/v1/requests/{id}", token(s.request)},
		{"POST /api/v1/requests/{id}/triage", token(s.triageRequest, tandem.RoleMarketing)},
		{"POST /api/v1/requests/{id}/start", token(s.startRequest, tandem.RoleMarketing)},
		{"POST /api/v1/requests/{id}/deliver", token(s.deliverRequest, tandem.RoleMarketing)},
		{"POST /api/v1/requests/{id}/confirm", token(s.confirmRequest, tandem.RoleSales)},
		{"POST /api/v1/requests/{id}/reopen", token(s.reopenRequest, tandem.RoleSales)},
		{"POST /api/v1/requests/{id}/comments", token(s.commentRequest)},
		{"POST /api/v1/requests/{id}/watchers", token(s.watchRequest)},
		{"POST /api/v1/campaigns", token(s.createCampaign, tandem.RoleMarketing)},
		{"GET /api/v1/campaigns", token(s.listCampaigns)},
		{"POST /api/v1/campaigns/{id}/members", token(s.addCampaignMembers, tandem.RoleMarketing)},
		{"GET /api/v1/contacts/{id}/touches", token(s.contactTouches)},
		{"GET /api/v1/reports/attribution", token(s.attributionReport)},
		{"POST /api/v1/opportunities", token(s.createOpportunity, tandem.RoleSales)},
		{"GET /api/v1/opportunities", token(s.listOpportunities)},
		{"GET /api/v1/opportunities/{id}", token(s.opportunity)},
		{"PATCH /api/v1/opportunities/{id}", token(s.updateOpportunity, tandem.RoleSales)},
		{"POST /api/v1/opportunities/{id}/won", token(s.winOpportunity, tandem.RoleSales)},
		{"POST /api/v1/opportunities/{id}/lost", token(s.loseOpportunity, tandem.RoleSales)},
		{"GET /api/v1/reports/sla", token(s.slaReport)},
		{"POST /api/v1/imports/{object}", token(s.importCSV, tandem.RoleMarketing)},
		{"GET /api/v1/exports/{object}", token(s.exportCSV, tandem.RoleMarketing)},
		{"GET /api/v1/reports/conversion", token(s.conversionReport)},
		{"/api/", open(s.noEndpoint)},
		{"/", open(s.app)},
		{"/v1/", open(s.noEndpoint)},
	}
	for _, typ := range []string{tandem.TypeIdentify, tandem.TypeTrack, tandem.TypePage, tandem.TypeScreen, tandem.TypeGroup, tandem.TypeAlias} {
		rs = append(rs, route{"POST /v1/" + typ, s.ingestSingle(typ)})
	}
	return rs
}

func (s *Server) routes() {
	for _, r := range s.routeTable() {
		s.mux.Handle(r.pattern, r.handler)
	}
}

// WithUI serves ui at every path outside the APIs and health checks, and returns s.
func (s *Server) WithUI(ui http.Handler) *Server {
	s.ui = ui
	return s
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	if s.ui == nil {
		http.NotFound(w, r)
		return
	}
	s.ui.ServeHTTP(w, r)
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

// noEndpoint answers requests that match no route of the APIs with problem+json, as
// clients of a JSON API expect, rather than net/http's plain text.
func (s *Server) noEndpoint(w http.ResponseWriter, r *http.Request) {
	s.problem(w, r, tandem.Errorf(tandem.ENotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
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

// Routes lists the patterns the server serves, for documentation checks.
func Routes() []string {
	var s Server
	var ps []string
	for _, r := range s.routeTable() {
		ps = append(ps, r.pattern)
	}
	return ps
}
