package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"tandem/agreement"
)

// carryOver is what a rescore takes over from the scores stored under the version most
// contacts were scored under, rather than computing it again.
//
// Engagement carries over when the half-life stays: each contact's stored sum is the sum
// of what each engagement rule gave it, and the rules are independent of each other, so
// a rule the new version changes can be taken out of the sum and put back as the new
// version counts it, while the rest stays as it is.
//   - A rule whose name, `on`, `when` and cap stay, and whose points stay, carries over.
//   - A capped rule (whose line, stored with each contact, holds what it gave) may change
//     its points: the line is rescaled. It may be dropped: its line is subtracted.
//   - Any other change (a rule added, a condition, a cap, an uncapped rule's points) is
//     counted again: the rescore reads the events such rules may fire on (recount),
//     under the new rule and, for an uncapped old rule, under the old one with its
//     points negated; a capped old rule's stored line is subtracted instead.
//
// Agreements are tuned by points and thresholds far more often than by what counts, and
// when something counts differently it is mostly one rule of twenty: reading only the
// events of that rule's type and name, and writing only the contacts whose score moved,
// is a fraction of reading all of them (12 of a 30 s rescore on the 1 M contact demo).
//
// Fit carries over when the fit rules are the same, whatever the engagement rules do:
// then no profile or account is read, unless a stage rule reads them.
type carryOver struct {
	from   int                // the version the stored scores were computed under
	alias  []int              // other labels of contacts that hold from's scores (see carried.go)
	events bool               // engagement is summed from all the events: nothing carries over
	fit    bool               // the fit rules are the same: so are the fits
	scale  map[string]float64 // new points over old, of capped rules whose points changed
	drop   []string           // capped rules whose stored lines leave the sums
	// recount are the rules counted again from the events: the new version's changed
	// rules, and old uncapped ones with their points negated, which take out what they
	// gave. counting is the active agreement with only those rules, which the first
	// phase reads the events with.
	recount  []*agreement.EngagementRule
	counting *active
	// sparse says that only the engagement rules differ, and only as scale, drop and
	// recount tell: a contact with no events of the rules counted again and no line of
	// the rules in lined (rescaled or dropped), scored under from, comes out as it was,
	// grade and stage too, so the rescore need not read it (see touched).
	sparse bool
	lined  []string
}

// carryOverOf compares two versions' scoring and reports what carries over from the
// first to the second.
func carryOverOf(from, to *agreement.Scoring) *carryOver {
	c := &carryOver{fit: sameFit(from.Fit, to.Fit)}
	c.scale, c.drop, c.recount, c.events = carriedLines(from, to)
	return c
}

// carriedLines reports how engagement computed under from becomes to's: the capped rules
// rescaled or dropped, the rules counted again, or that all events must be read.
func carriedLines(from, to *agreement.Scoring) (scale map[string]float64, drop []string, recount []*agreement.EngagementRule, events bool) {
	if from.HalfLife != to.HalfLife {
		return nil, nil, nil, true // every event weighs differently
	}
	old := make(map[string]*agreement.EngagementRule, len(from.Engagement))
	for _, r := range from.Engagement {
		old[r.Name] = r
	}
	scale = map[string]float64{}
	takeOut := func(o *agreement.EngagementRule) {
		switch {
		case o.Cap.Times > 0:
			drop = append(drop, o.Name)
		case o.Points != 0:
			neg := *o
			neg.Points = -o.Points
			recount = append(recount, &neg)
		}
	}
	for _, r := range to.Engagement {
		o := old[r.Name]
		delete(old, r.Name)
		if o != nil && sameCount(o, r) {
			switch {
			case o.Points == r.Points:
				continue
			case r.Cap.Times > 0 && o.Points != 0:
				scale[r.Name] = r.Points / o.Points
				continue
			case r.Cap.Times == 0:
				// Uncapped, it keeps no line: its events are counted once, for the
				// difference.
				diff := *r
				diff.Points = r.Points - o.Points
				recount = append(recount, &diff)
				continue
			}
		}
		if o != nil {
			takeOut(o)
		}
		if r.Points != 0 || r.Cap.Times > 0 {
			recount = append(recount, r)
		}
	}
	for _, o := range from.Engagement {
		if old[o.Name] != nil {
			takeOut(o)
		}
	}
	return scale, drop, recount, false
}

// sameCount reports whether two engagement rules fire on the same events.
func sameCount(o, r *agreement.EngagementRule) bool {
	return o.Type == r.Type && o.Event == r.Event && o.Cap == r.Cap && source(o.When) == source(r.When)
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
//
// It also returns the labels contacts have (see carried.go), for the rescore's end.
func (db *DB) planCarryOver(ctx context.Context, a *active, eventsUpTo int64) (*carryOver, []int, error) {
	listed, alias, err := carriedIn(ctx, db.read)
	if err != nil {
		return nil, nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT scored_version, COUNT(*) FROM contacts GROUP BY scored_version`)
	if err != nil {
		return nil, nil, fmt.Errorf("rescore: %w", err)
	}
	defer rows.Close()
	var (
		labels []int
		counts = map[int64]int64{} // by the version contacts hold the scores of
	)
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			return nil, nil, fmt.Errorf("rescore: %w", err)
		}
		labels = append(labels, int(v))
		if slices.Contains(alias, int(v)) {
			v = int64(listed)
		}
		counts[v] += n
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("rescore: %w", err)
	}
	var from, most, total, current int64
	for v, n := range counts {
		total += n
		switch {
		case v == int64(a.version):
			current = n
		case v != 0 && (n > most || n == most && v > from):
			from, most = v, n
		}
	}
	if from == 0 {
		return nil, labels, nil
	}
	c, err := db.carryFrom(ctx, a, int(from), eventsUpTo, total-most-current, total)
	if c != nil && int(from) == listed {
		c.alias = alias
	}
	return c, labels, err
}

// carryFrom returns what a rescore carries over from version from, or nil when
// nothing does; strays of the total contacts are scored under neither version.
func (db *DB) carryFrom(ctx context.Context, a *active, from int, eventsUpTo, strays, total int64) (*carryOver, error) {
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
	//
	// A rescore begun by an older binary did not note where the events the version
	// before counted end (eventsUpTo), so what it counts again cannot be bounded.
	if anchor != a.anchor || strays > max(maxStrays, total/100) || len(c.recount) > 0 && eventsUpTo == 0 {
		c.events, c.scale, c.drop, c.recount = true, nil, nil, nil
	}
	if c.events && !c.fit {
		return nil, nil
	}
	if len(c.recount) > 0 {
		narrow := *a.agreement
		narrow.Scoring.Engagement = c.recount
		c.counting = newActive(a.version, a.anchor, &narrow)
	}
	c.from = from
	if !c.events && c.fit {
		var doc2 string
		if err := db.read.QueryRowContext(ctx, `SELECT document FROM agreements WHERE version = $1`, a.version).Scan(&doc2); err != nil {
			return nil, fmt.Errorf("rescore: agreement version %d: %w", a.version, err)
		}
		c.lined = slices.Concat(slices.Collect(maps.Keys(c.scale)), c.drop)
		c.sparse = agreement.OnlyEngagementRulesDiffer([]byte(doc), []byte(doc2)) && !slices.ContainsFunc(c.lined, escapedInJSON)
	}
	return c, nil
}

// escapedInJSON reports whether a rule's name is written otherwise in a contact's
// score_caps, a JSON object keyed by rule name, than as itself.
func escapedInJSON(name string) bool {
	return strings.ContainsFunc(name, func(r rune) bool {
		return r < 0x20 || strings.ContainsRune(`"\<>&`, r) || r == '\u2028' || r == '\u2029' || r == utf8.RuneError
	})
}

// holds reports whether a contact labelled label holds the scores of the version carried
// over from.
func (c *carryOver) holds(label int) bool {
	return c != nil && (label == c.from || slices.Contains(c.alias, label))
}

// maxStrays is how many contacts scored under neither version a rescore scores from
// their own events rather than reading all events, or a hundredth of the store if that
// is more.
const maxStrays = 100

// apply turns the stored engagement of p, computed under c.from, and its lines into
// a's; sum is what the rules counted again gave p, nil if nothing.
func (c *carryOver) apply(a *active, p *person, sum *eventSum) {
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
	if sum != nil {
		cs.eng += sum.eng
		for _, l := range sum.caps {
			*cs.line(l.rule.Name) = l.line
		}
	}
	// What a rule gave, taken out again, leaves a rounding error rather than nothing.
	if math.Abs(cs.eng) <= 1e-9*math.Abs(p.stored.eng) {
		cs.eng = 0
	}
}
