package store

import (
	"context"
	"fmt"

	"tandem/agreement"
)

// carryOver is what a rescore takes over from the scores stored under the version most
// contacts were scored under, rather than computing it again.
//
// Engagement carries over when the new version's engagement rules count the same events
// as the old one's: the same rule names, each with the same `on`, `when` and cap, and
// the same half-life. Within that the new version may change the points of capped
// rules, whose lines (stored with each contact) hold what each gave, and drop capped
// rules; then the rescore reads no events at all. Agreements are tuned by points and
// thresholds far more often than by what counts, and reading the events is half of a
// rescore: 12 of the 30 s on the 1 M contact demo.
//
// Fit carries over when the fit rules are the same, whatever the engagement rules do:
// then no profile or account is read, unless a stage rule reads them.
type carryOver struct {
	from   int                // the version the stored scores were computed under
	events bool               // engagement is summed from the events: a rule counts other events
	fit    bool               // the fit rules are the same: so are the fits
	scale  map[string]float64 // new points over old, of capped rules whose points changed
	drop   []string           // capped rules the new version no longer has
}

// carryOverOf compares two versions' scoring and reports what carries over from the
// first to the second.
func carryOverOf(from, to *agreement.Scoring) *carryOver {
	c := &carryOver{fit: sameFit(from.Fit, to.Fit)}
	c.scale, c.drop, c.events = carriedLines(from, to)
	return c
}

// carriedLines reports how engagement computed under from becomes to's, or that only
// the events tell.
func carriedLines(from, to *agreement.Scoring) (scale map[string]float64, drop []string, events bool) {
	if from.HalfLife != to.HalfLife {
		return nil, nil, true
	}
	old := make(map[string]*agreement.EngagementRule, len(from.Engagement))
	for _, r := range from.Engagement {
		old[r.Name] = r
	}
	scale = map[string]float64{}
	for _, r := range to.Engagement {
		o := old[r.Name]
		if o == nil || o.Type != r.Type || o.Event != r.Event || o.Cap != r.Cap || source(o.When) != source(r.When) {
			return nil, nil, true // it counts other events
		}
		delete(old, r.Name)
		if o.Points == r.Points {
			continue
		}
		if r.Cap.Times == 0 || o.Points == 0 {
			return nil, nil, true // no line holds what it gave
		}
		scale[r.Name] = r.Points / o.Points
	}
	for name, o := range old {
		if o.Cap.Times == 0 {
			return nil, nil, true
		}
		drop = append(drop, name)
	}
	return scale, drop, false
}

// sameFit reports whether two lists of fit rules give every profile the same fit.
func sameFit(from, to []*agreement.FitRule) bool {
	if len(from) != len(to) {
		return false
	}
	old := make(map[string]*agreement.FitRule, len(from))
	for _, r := range from {
		old[r.Name] = r
	}
	for _, r := range to {
		if o := old[r.Name]; o == nil || o.Points != r.Points || source(o.When) != source(r.When) {
			return false
		}
	}
	return true
}

func source(e *agreement.Expr) string {
	if e == nil {
		return ""
	}
	return e.Source
}

// planCarryOver returns what the active version's rescore carries over from the version
// most contacts were scored under, or nil when nothing does. Without events to read,
// contacts scored under neither that version nor the active one (say, a rescore before
// was cancelled half way) are scored from their own events, a batch's strays with one
// query through the contact index, which pays only while they are few; past maxStrays
// the rescore reads all events. A rescore started again by hand (POST
// /api/v1/agreement/rescore, `tandem rescore`) once every contact is scored under the
// active version carries nothing over: it marks them all unscored first.
func (db *DB) planCarryOver(ctx context.Context, a *active) (*carryOver, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT scored_version, COUNT(*) FROM contacts GROUP BY scored_version`)
	if err != nil {
		return nil, fmt.Errorf("rescore: %w", err)
	}
	defer rows.Close()
	var from, most, total, current int64
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			return nil, fmt.Errorf("rescore: %w", err)
		}
		total += n
		switch {
		case v == int64(a.version):
			current = n
		case v != 0 && n > most:
			from, most = v, n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rescore: %w", err)
	}
	if from == 0 {
		return nil, nil
	}
	var (
		doc    string
		anchor int64
	)
	if err := db.read.QueryRowContext(ctx, `SELECT document, anchor_at FROM agreements WHERE version = $1`, from).Scan(&doc, &anchor); err != nil {
		return nil, fmt.Errorf("rescore: agreement version %d: %w", from, err)
	}
	old, err := agreement.Parse([]byte(doc))
	if err != nil {
		return nil, nil // a newer binary may be stricter: the events tell
	}
	c := carryOverOf(&old.Scoring, a.model.Scoring)
	// Stored sums sit on the anchor of the version they were computed under, which
	// moves only while it is active. The new version starts from it, but if its
	// rescore failed and its own sums were rebased since, the old ones are on another
	// scale, and reading the events puts them right.
	if anchor != a.anchor || total-most-current > max(maxStrays, total/100) {
		c.events = true
	}
	if c.events && !c.fit {
		return nil, nil
	}
	c.from = int(from)
	return c, nil
}

// maxStrays is how many contacts scored under neither version a rescore scores from
// their own events rather than reading all events, or a hundredth of the store if that
// is more.
const maxStrays = 100

// apply turns the stored engagement of p, computed under c.from, and its lines into
// a's.
func (c *carryOver) apply(a *active, p *person) {
	cs := p.cs
	cs.eng = p.stored.eng
	a.decodeCaps(cs, p.stored.caps)
	for name, f := range c.scale {
		if l := cs.lines[name]; l != nil {
			cs.eng += l.Points * (f - 1)
			l.Points *= f
		}
	}
	for _, name := range c.drop {
		if l := cs.lines[name]; l != nil {
			cs.eng -= l.Points
			delete(cs.lines, name)
		}
	}
}
