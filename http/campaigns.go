package http

import (
	"strings"

	"net/http"
	"strconv"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/attribution"
	"tandem/store"
)

// The campaigns API: marketing's efforts, and the touches they made on each contact.

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	var c tandem.Campaign
	if err := decodeJSON(r, &c); err != nil {
		s.problem(w, r, err)
		return
	}
	created, err := s.store.CreateCampaign(r.Context(), &c)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+strconv.FormatInt(created.ID, 10))
	writeJSON(w, http.StatusCreated, created)
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.Campaigns(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.Campaign]{Data: list})
}

func (s *Server) addCampaignMembers(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var body struct {
		Contacts []int64 `json:"contacts"`
	}
	if err := decodeJSON(r, &body); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.store.AddCampaignMembers(r.Context(), id, body.Contacts); err != nil {
		s.problem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) contactTouches(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.store.ContactTouches(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[tandem.CampaignTouch]{Data: list})
}

// attributionReport answers revenue, pipeline and won deals by campaign and channel
// under every model, or the one asked for, with the cutoff (created or closed), lookback
// (e.g. 90d) and currency given.
func (s *Server) attributionReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var lookback time.Duration
	if v := q.Get("lookback"); v != "" {
		d, err := agreement.ParseDuration(v)
		if err != nil || d < 0 {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "lookback: want a duration such as 90d, got %q", v))
			return
		}
		lookback = d
	}
	cutoff := q.Get("cutoff")
	if cutoff != "" && cutoff != "created" && cutoff != "closed" {
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "cutoff: want created or closed, got %q", cutoff))
		return
	}
	currency := strings.ToUpper(q.Get("currency"))
	if currency != "" && (len(currency) != 3 || strings.Trim(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "") {
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "currency: want an ISO 4217 code such as USD, got %q", q.Get("currency")))
		return
	}
	rep, err := s.store.Attribution(r.Context(), store.AttributionQuery{Cutoff: cutoff, Lookback: lookback, Currency: currency,
		Model: attribution.Kind(q.Get("model"))})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// conversionReport answers how the MQLs of a month or quarter converted to opportunity
// and won, and how long it took, by the source they came through.
func (s *Server) conversionReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rep, err := s.store.SourceConversion(r.Context(), q.Get("at"), strings.ToLower(q.Get("per")))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
