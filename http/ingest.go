package http

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"tandem"
	"tandem/ingest"
)

// preflight answers CORS preflight requests, so that browsers may send events from a
// website on another origin, as Segment's analytics.js does.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	cors(w)
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func cors(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

// readBody reads a request body of at most limit bytes, decompressing gzip.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body := io.Reader(http.MaxBytesReader(nil, r.Body, 8*limit))
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, tandem.Errorf(tandem.EInvalid, "the body says it is gzip but is not: %v", err)
		}
		defer zr.Close()
		body = zr
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tandem.Errorf(tandem.ETooLarge, "the body is larger than %d bytes", limit)
	case err != nil:
		return nil, tandem.Errorf(tandem.EInvalid, "reading the body: %v", err)
	case int64(len(b)) > limit:
		return nil, tandem.Errorf(tandem.ETooLarge, "the body is larger than %d bytes", limit)
	}
	return b, nil
}

// source authenticates a tracking request by its write key: the Basic-auth user name, or
// writeKey in the body.
func (s *Server) source(r *http.Request, bodyKey string) (*tandem.Source, error) {
	key, _, ok := r.BasicAuth()
	if !ok || key == "" {
		key = bodyKey
	}
	if key == "" {
		return nil, tandem.Errorf(tandem.EUnauthorized, "no write key: send it as the Basic-auth user name or as writeKey in the body")
	}
	if src, ok := s.writeKeys.Load(key); ok {
		return src.(*tandem.Source), nil
	}
	src, err := s.store.SourceByWriteKey(r.Context(), key)
	if err != nil {
		return nil, err
	}
	s.writeKeys.Store(key, src)
	return src, nil
}

// needsBodyKey reports whether the write key must come from the body, because the
// request has no Basic-auth user name.
func (s *Server) needsBodyKey(r *http.Request) bool {
	key, _, ok := r.BasicAuth()
	return !ok || key == ""
}

func (s *Server) ingestError(w http.ResponseWriter, r *http.Request, err error) {
	var se *ingest.SyntaxError
	var me *ingest.MessageError
	switch {
	case errors.As(err, &se):
		s.writeProblem(w, problem{Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest, Code: tandem.EInvalid,
			Detail: se.Error(), Instance: r.URL.Path, Line: se.Line, Column: se.Column})
	case errors.As(err, &me):
		s.rejected.Add(1)
		s.writeProblem(w, problem{Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest, Code: tandem.EInvalid,
			Detail: me.Error(), Instance: r.URL.Path, Errors: []*ingest.MessageError{me}})
	default:
		if tandem.ErrorCode(err) == tandem.EUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="tandem write key"`)
		}
		s.problem(w, r, err)
	}
}

// ingestSingle handles /v1/identify, /v1/track and the other one-message endpoints.
func (s *Server) ingestSingle(typ string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		s.requests.Add(1)
		body, err := readBody(r, ingest.MaxMessageBytes)
		if err != nil {
			s.ingestError(w, r, err)
			return
		}
		received := s.now()
		var src *tandem.Source
		if !s.needsBodyKey(r) {
			if src, err = s.source(r, ""); err != nil {
				s.ingestError(w, r, err)
				return
			}
		}
		bodyKey, m, derr := ingest.DecodeSingle(body, typ, sourceID(src), received)
		if src == nil {
			if src, err = s.source(r, bodyKey); err != nil {
				s.ingestError(w, r, err)
				return
			}
			if m != nil {
				m.SourceID = src.ID
			}
		}
		if derr != nil {
			s.ingestError(w, r, derr)
			return
		}
		out, err := s.committer.Submit(r.Context(), []*tandem.Message{m})
		if err != nil {
			s.problem(w, r, fmt.Errorf("ingest: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "duplicate": out[0] == tandem.Duplicate})
	}
}

func sourceID(s *tandem.Source) int64 {
	if s == nil {
		return 0
	}
	return s.ID
}

// batchResult is the answer to /v1/batch: how many messages were taken, and why any
// were refused.
type batchResult struct {
	Success    bool                   `json:"success"`
	Accepted   int                    `json:"accepted"`
	Stored     int                    `json:"stored"`
	Duplicates int                    `json:"duplicates"`
	Rejected   int                    `json:"rejected"`
	Errors     []*ingest.MessageError `json:"errors,omitempty"`
}

// ingestBatch handles /v1/batch. Messages that fail validation are reported by index and
// do not stop the others; if none passes, the answer is 400.
func (s *Server) ingestBatch(w http.ResponseWriter, r *http.Request) {
	cors(w)
	s.requests.Add(1)
	body, err := readBody(r, ingest.MaxBatchBytes)
	if err != nil {
		s.ingestError(w, r, err)
		return
	}
	received := s.now()
	var src *tandem.Source
	if !s.needsBodyKey(r) {
		if src, err = s.source(r, ""); err != nil {
			s.ingestError(w, r, err)
			return
		}
	}
	b, err := ingest.DecodeBatch(body, sourceID(src), received)
	if err != nil {
		s.ingestError(w, r, err)
		return
	}
	if src == nil {
		if src, err = s.source(r, b.WriteKey); err != nil {
			s.ingestError(w, r, err)
			return
		}
		for _, m := range b.Messages {
			m.SourceID = src.ID
		}
	}
	s.rejected.Add(uint64(len(b.Errors)))
	res := batchResult{Success: true, Accepted: len(b.Messages), Rejected: len(b.Errors), Errors: b.Errors}
	if len(b.Messages) == 0 && len(b.Errors) > 0 {
		s.writeProblem(w, problem{Type: "about:blank", Title: "Bad Request", Status: http.StatusBadRequest, Code: tandem.EInvalid,
			Detail: fmt.Sprintf("all %d messages were refused", len(b.Errors)), Instance: r.URL.Path, Errors: b.Errors})
		return
	}
	out, err := s.committer.Submit(r.Context(), b.Messages)
	if err != nil {
		s.problem(w, r, fmt.Errorf("ingest: %w", err))
		return
	}
	for _, o := range out {
		if o == tandem.Stored {
			res.Stored++
		} else {
			res.Duplicates++
		}
	}
	writeJSON(w, http.StatusOK, res)
}
