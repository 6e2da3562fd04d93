package http

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tandem"
	"tandem/csvio"
	"tandem/store"
)

// CSV import and export of contacts, accounts and opportunities. Both stream: an import
// reads the body a batch of rows at a time, an export writes a page of rows at a time,
// so a file of a million rows takes no more memory than one of ten.

// maxImportErrors caps the row errors an import's response lists; the summary counts
// them all.
const maxImportErrors = 500

// maxImportBytes caps an import's body.
const maxImportBytes = 4 << 30

// importResult is what an import did, with where its rows went and why some did not.
type importResult struct {
	store.ImportSummary
	Columns []csvio.Column `json:"columns"`
	// Errors lists the first rows not imported; ErrorsOmitted counts the rest.
	Errors        []*csvio.RowError `json:"errors"`
	ErrorsOmitted int64             `json:"errors_omitted"`
}

// csvObject reads the object an import or export is of from the path.
func csvObject(r *http.Request) (csvio.Object, error) {
	o, err := csvio.ParseObject(r.PathValue("object"))
	if err != nil {
		return "", tandem.Errorf(tandem.ENotFound, "no such endpoint: %s is not contacts, accounts or opportunities", r.PathValue("object"))
	}
	return o, nil
}

// longRequest lifts the server's read and write deadlines for a request whose body or
// response is a file of any size.
func longRequest(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
}

// importCSV imports a CSV body: POST /api/v1/imports/{object}?map=Col=field,…&dry_run=true.
func (s *Server) importCSV(w http.ResponseWriter, r *http.Request) {
	object, err := csvObject(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		switch mt {
		case "text/csv", "application/csv", "text/plain", "application/octet-stream", "application/vnd.ms-excel":
		default:
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "Content-Type %s: send the file as text/csv", mt))
			return
		}
	}
	q := r.URL.Query()
	overrides, err := csvio.ParseOverrides(q.Get("map"))
	if err != nil {
		s.problem(w, r, tandem.Errorf(tandem.EInvalid, "map: %v", err))
		return
	}
	var dryRun bool
	if v := q.Get("dry_run"); v != "" {
		if dryRun, err = strconv.ParseBool(v); err != nil {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "dry_run: %q is not true or false", v))
			return
		}
	}
	longRequest(w)
	body := io.Reader(http.MaxBytesReader(w, r.Body, maxImportBytes))
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			s.problem(w, r, tandem.Errorf(tandem.EInvalid, "the body says it is gzip but is not: %v", err))
			return
		}
		defer zr.Close()
		body = zr
	}
	rd, err := csvio.NewReader(body, object, overrides)
	if err != nil {
		s.problem(w, r, bodyError(err))
		return
	}
	res := importResult{Columns: rd.Mapping().Columns, Errors: []*csvio.RowError{}}
	opt := store.ImportOptions{DryRun: dryRun, RowError: func(e *csvio.RowError) error {
		if len(res.Errors) < maxImportErrors {
			res.Errors = append(res.Errors, e)
		} else {
			res.ErrorsOmitted++
		}
		return nil
	}}
	if s.committer != nil {
		// Contacts go through the group committer, the process's one ingester.
		opt.Ingest = s.committer.Submit
	}
	sum, err := s.store.Import(r.Context(), rd, opt)
	res.ImportSummary = *sum
	if err != nil {
		p := s.problemOf(r, bodyError(err))
		if res.Rows > 0 && !dryRun {
			// The batches before the failure are stored: the client is told which,
			// rather than left to guess.
			p.Imported = res
		}
		s.writeProblem(w, p)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// bodyError makes a fault of the file, or of reading it, the client's; other errors
// are the store's.
func bodyError(err error) error {
	var (
		mbe *http.MaxBytesError
		fe  *csvio.FileError
	)
	switch {
	case errors.As(err, &mbe):
		return tandem.Errorf(tandem.ETooLarge, "the file is larger than %d bytes", int64(maxImportBytes))
	case errors.As(err, &fe):
		return tandem.Errorf(tandem.EInvalid, "%v", fe)
	case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
		return tandem.Errorf(tandem.EInvalid, "reading the file: %v", err)
	}
	return err
}

// exportCSV streams every contact, account or opportunity as CSV:
// GET /api/v1/exports/{object}.
func (s *Server) exportCSV(w http.ResponseWriter, r *http.Request) {
	object, err := csvObject(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	longRequest(w)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+string(object)+`.csv"`)
	out := &sentWriter{w: w}
	bw := bufio.NewWriterSize(out, 64<<10)
	_, err = s.store.Export(r.Context(), object, bw)
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case err == nil:
	case !out.sent:
		s.problem(w, r, err)
	default:
		// The rows sent cannot be taken back: the response is cut short, so the client
		// sees a failed download rather than a file that looks complete.
		s.log.Error("export failed", "object", object, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// sentWriter notes whether anything was written through it.
type sentWriter struct {
	w    io.Writer
	sent bool
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = true
	return s.w.Write(p)
}
