package http

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/store"
)

// maxAgreement caps an agreement document; real ones are a few kilobytes.
const maxAgreement = 1 << 20

// actor is who makes the request: the token's name and role.
func actor(r *http.Request) tandem.Actor {
	tok, _ := r.Context().Value(tokenKey{}).(*tandem.Token)
	if tok == nil {
		return tandem.Actor{}
	}
	return tandem.Actor{Name: tok.Name, Role: tok.Role}
}

// documentFormat reads the format of an agreement body from its Content-Type: JSON, or
// YAML (application/yaml, text/yaml, text/plain). Without one the store tells them apart.
func documentFormat(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", tandem.Errorf(tandem.EInvalid, "Content-Type %q: %v", ct, err)
	}
	switch mt {
	case "application/json":
		return "json", nil
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain":
		return "yaml", nil
	}
	return "", tandem.Errorf(tandem.EInvalid, "Content-Type %q: send the agreement as application/yaml or application/json", mt)
}

func (s *Server) proposeAgreement(w http.ResponseWriter, r *http.Request) {
	format, err := documentFormat(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	doc, err := readBody(r, maxAgreement)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	a, err := s.store.ProposeAgreement(r.Context(), doc, format, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agreement/versions/"+strconv.Itoa(a.Version))
	writeJSON(w, http.StatusCreated, a)
}

// validateAgreement checks a document without proposing it, for editors that show
// problems as the user types.
func (s *Server) validateAgreement(w http.ResponseWriter, r *http.Request) {
	doc, err := readBody(r, maxAgreement)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.store.ValidateAgreement(doc); err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"valid": true})
}

func (s *Server) activeAgreement(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.ActiveAgreement(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeAgreement(w, r, a)
}

// writeAgreement answers with a version as JSON, or with its document as written when
// the client asks for YAML (?format=yaml or Accept: application/yaml).
func (s *Server) writeAgreement(w http.ResponseWriter, r *http.Request, a *tandem.Agreement) {
	if r.URL.Query().Get("format") == "yaml" || strings.Contains(r.Header.Get("Accept"), "application/yaml") {
		ct := "application/yaml"
		if a.Format == "json" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct+"; charset=utf-8")
		w.Header().Set("Tandem-Agreement-Version", strconv.Itoa(a.Version))
		_, _ = w.Write([]byte(a.Document))
		return
	}
	// The stages in funnel order, each meaning beside its rule: the common terms as
	// both teams read them.
	out := struct {
		*tandem.Agreement
		Stages []*agreement.Stage `json:"stages,omitempty"`
	}{Agreement: a}
	if parsed, err := agreement.Parse([]byte(a.Document)); err == nil {
		out.Stages = parsed.Stages
	}
	writeJSON(w, http.StatusOK, out)
}

func versionParam(r *http.Request, name string) (int, error) {
	v, err := positivePathInt(r, name)
	return int(v), err
}

func (s *Server) agreementVersion(w http.ResponseWriter, r *http.Request) {
	v, err := versionParam(r, "n")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	a, err := s.store.AgreementVersion(r.Context(), v)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.writeAgreement(w, r, a)
}

func (s *Server) agreementVersions(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.AgreementVersions(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.Agreement]{list})
}

// agreementDiff shows what changed from one version to another: from ?against=m (by
// default the version before) to {n}.
func (s *Server) agreementDiff(w http.ResponseWriter, r *http.Request) {
	v, err := versionParam(r, "n")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	from := v - 1
	if a := r.URL.Query().Get("against"); a != "" {
		if from, err = strconv.Atoi(a); err != nil || from <= 0 {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "against: %q is not a positive version number", a))
			return
		}
	}
	if from <= 0 {
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "version %d is the first; name one to compare it with in ?against=", v))
		return
	}
	d, err := s.store.AgreementDiff(r.Context(), from, v)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": v, "diff": d})
}

func (s *Server) approveAgreement(w http.ResponseWriter, r *http.Request) {
	s.decideAgreement(w, r, s.store.ApproveAgreement)
}

func (s *Server) activateAgreement(w http.ResponseWriter, r *http.Request) {
	s.decideAgreement(w, r, s.store.ActivateAgreement)
}

func (s *Server) decideAgreement(w http.ResponseWriter, r *http.Request, decide func(ctx context.Context, v int, by tandem.Actor) (*tandem.Agreement, error)) {
	v, err := versionParam(r, "n")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	a, err := decide(r.Context(), v, actor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// rescoreProgress is a rescore with its rate and the time it expects to finish.
type rescoreProgress struct {
	*tandem.Rescore
	Percent    float64    `json:"percent"`
	PerSecond  float64    `json:"per_second"`
	ETASeconds *float64   `json:"eta_seconds,omitempty"`
	Estimated  *time.Time `json:"estimated_finish,omitempty"`
}

func progressOf(rs *tandem.Rescore, now time.Time) rescoreProgress {
	p := rescoreProgress{Rescore: rs, Percent: 100}
	if rs.Total > 0 {
		p.Percent = float64(int(1000*float64(rs.Done)/float64(rs.Total))) / 10
	}
	end := now
	if rs.FinishedAt != nil {
		end = *rs.FinishedAt
	}
	if el := end.Sub(rs.StartedAt).Seconds(); el > 0 {
		p.PerSecond = float64(int(float64(rs.Done) / el))
	}
	if rs.State == "running" && p.PerSecond > 0 {
		eta := float64(rs.Total-rs.Done) / p.PerSecond
		at := now.Add(time.Duration(eta * float64(time.Second))).UTC()
		p.ETASeconds, p.Estimated = &eta, &at
	}
	return p
}

func (s *Server) rescore(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.LatestRescore(r.Context())
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, progressOf(rs, s.now()))
}

// startRescore starts a rescore by hand; with ?from=events it reads every event rather
// than replay the score record.
func (s *Server) startRescore(w http.ResponseWriter, r *http.Request) {
	from := store.FromRecord
	switch v := r.URL.Query().Get("from"); v {
	case "":
	case "events":
		from = store.FromEvents
	default:
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "from: %q is not a source to rescore from; want events, or leave it out", v))
		return
	}
	rs, err := s.store.StartRescore(r.Context(), from)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, progressOf(rs, s.now()))
}

func (s *Server) contactScore(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	b, err := s.store.ContactScore(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) contactStages(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	list, err := s.store.ContactStages(r.Context(), id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, all[*tandem.StageChange]{list})
}
