package http

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tandem"
)

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

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) { return positivePathInt(r, "id") }

// positivePathInt parses a path value that must be a positive integer.
func positivePathInt(r *http.Request, name string) (int64, error) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		return 0, tandem.Errorf(tandem.EInvalid, "%s: %q is not a positive integer", name, r.PathValue(name))
	}
	return n, nil
}

// page reads the limit (100 when not given) and cursor query parameters. A cursor is
// opaque to clients: the last row's id, and for listings ordered by time, its time, or
// by a score, its score.
func page(r *http.Request) (tandem.Page, error) {
	p := tandem.Page{Limit: 100}
	q := r.URL.Query()
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return p, tandem.Errorf(tandem.EInvalid, "limit: %q is not a number from 1 to 1000", l)
		}
		p.Limit = n
	}
	if c := q.Get("cursor"); c != "" {
		var err error
		if p.After, p.AfterTime, p.AfterScore, err = parseCursor(c); err != nil {
			return p, tandem.Errorf(tandem.EInvalid, "cursor: %q is not a cursor this API returned", c)
		}
	}
	return p, nil
}

// parseCursor reverses cursor and scoreCursor. The id is positive; the time, in
// microseconds since the Unix epoch, may be zero or negative, for events dated on or
// before 1970-01-01.
func parseCursor(c string) (id int64, t time.Time, score float64, err error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, t, 0, err
	}
	s := string(raw)
	ids, scores, isScore := strings.Cut(s, "~")
	ids, us, _ := strings.Cut(ids, ".")
	if id, err = strconv.ParseInt(ids, 10, 64); err != nil {
		return 0, t, 0, err
	}
	if id <= 0 {
		return 0, t, 0, fmt.Errorf("id %d is not positive", id)
	}
	if isScore {
		if score, err = strconv.ParseFloat(scores, 64); err != nil {
			return 0, t, 0, err
		}
	}
	if us != "" {
		n, err := strconv.ParseInt(us, 10, 64)
		if err != nil {
			return 0, t, 0, err
		}
		t = time.UnixMicro(n)
	}
	return id, t, score, nil
}

// cursor is where a listing continues: after the row with this id, and for listings
// ordered by time, this time.
func cursor(id int64, t *time.Time) string {
	s := strconv.FormatInt(id, 10)
	if t != nil {
		s += "." + strconv.FormatInt(t.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// scoreCursor is the cursor of a listing ordered by a score.
func scoreCursor(p tandem.Page) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(p.After, 10) + "~" + strconv.FormatFloat(p.AfterScore, 'g', -1, 64)))
}

// all is a whole listing, in one answer.
type all[T any] struct {
	Data []T `json:"data"`
}

// list is a page of a listing.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}
