// Package scoring computes lead scores from an agreement's scoring model: fit points for
// who a person is and engagement points for what they do, which decay with a half-life.
//
// Engagement is kept anchored, as DESIGN.md's "decay without rescans" describes: an
// event at time t adds points·2^((t−T₀)/h) to a contact's anchored sum E, and the score
// now is E·2^(−(now−T₀)/h). The factor is the same for every contact, so ordering
// contacts by E orders them by current engagement, and nothing has to be rewritten as
// time passes. The engine is pure: it takes values and times and returns numbers.
package scoring

import (
	"math"
	"time"

	"tandem/agreement"
)

// Model is an agreement's scoring model with its anchor T₀.
type Model struct {
	Scoring *agreement.Scoring
	Anchor  time.Time
	// byType holds the rules that fire on any event of a type; byName those narrowed to
	// one event or page name, keyed by type and name.
	byType map[string][]*agreement.EngagementRule
	byName map[nameKey][]*agreement.EngagementRule
}

type nameKey struct{ typ, name string }

// New returns the model of s anchored at anchor.
func New(s *agreement.Scoring, anchor time.Time) *Model {
	m := &Model{
		Scoring: s, Anchor: anchor,
		byType: map[string][]*agreement.EngagementRule{},
		byName: map[nameKey][]*agreement.EngagementRule{},
	}
	for _, r := range s.Engagement {
		if r.Event == "" {
			m.byType[r.Type] = append(m.byType[r.Type], r)
		} else {
			k := nameKey{r.Type, r.Event}
			m.byName[k] = append(m.byName[k], r)
		}
	}
	return m
}

// Candidates returns the engagement rules that an event of type typ named name (a track
// call's event, a page's or screen's name) may fire, before their conditions are
// checked. Most events match none, and cost a map lookup.
func (m *Model) Candidates(typ, name string) []*agreement.EngagementRule {
	general := m.byType[typ]
	if name == "" {
		return general
	}
	named := m.byName[nameKey{typ, name}]
	switch {
	case len(named) == 0:
		return general
	case len(general) == 0:
		return named
	}
	return append(append(make([]*agreement.EngagementRule, 0, len(general)+len(named)), general...), named...)
}

// Line is what one engagement rule has given one contact.
type Line struct {
	// Points is the anchored sum of the rule's points.
	Points float64
	Hits   int64
	// Last is the time of the latest event the rule fired on, in Unix microseconds.
	Last int64
	// WindowAt and WindowHits track the rule's cap: when the current window started
	// and how often the rule fired in it.
	WindowAt   int64
	WindowHits int64
}

// Fire records that rule r held for an event at t, unless its cap is reached, and
// returns the anchored points it added and whether it fired. A capped rule's window
// starts at the first event it fires on; an event older than the window's start (one
// that arrived late) counts in the current window.
func (m *Model) Fire(l *Line, r *agreement.EngagementRule, t time.Time) (float64, bool) {
	us := t.UnixMicro()
	if c := r.Cap; c.Times > 0 {
		if c.Per > 0 && (l.WindowHits == 0 || us >= l.WindowAt+c.Per.Microseconds()) {
			l.WindowAt, l.WindowHits = us, 0
		}
		if l.WindowHits >= int64(c.Times) {
			return 0, false
		}
		l.WindowHits++
	}
	p := r.Points * m.Weight(t)
	l.Points += p
	l.Hits++
	l.Last = max(l.Last, us)
	return p, true
}

// Weight is the anchoring factor 2^((t−T₀)/h) of an event at t; one without decay.
func (m *Model) Weight(t time.Time) float64 {
	h := m.Scoring.HalfLife
	if h <= 0 {
		return 1
	}
	return math.Exp2(float64(t.Sub(m.Anchor)) / float64(h))
}

// Current turns an anchored engagement sum into the engagement at now.
func (m *Model) Current(anchored float64, now time.Time) float64 {
	h := m.Scoring.HalfLife
	if h <= 0 || anchored == 0 {
		return anchored
	}
	return anchored * math.Exp2(-float64(now.Sub(m.Anchor))/float64(h))
}

// Anchored turns a current engagement at now into an anchored sum: the bound that the
// index range query of a decay job compares E with.
func (m *Model) Anchored(current float64, now time.Time) float64 {
	return current * m.Weight(now)
}

// FitHit is a fit rule that holds for a profile.
type FitHit struct {
	Rule   string
	Points float64
}

// Fit returns a profile's fit score.
func (m *Model) Fit(p *agreement.Profile) float64 {
	var sum float64
	for _, r := range m.Scoring.Fit {
		if r.When.Eval(p) {
			sum += r.Points
		}
	}
	return sum
}

// FitHits lists the fit rules that hold for a profile, in the agreement's order.
func (m *Model) FitHits(p *agreement.Profile) []FitHit {
	var hits []FitHit
	for _, r := range m.Scoring.Fit {
		if r.When.Eval(p) {
			hits = append(hits, FitHit{r.Name, r.Points})
		}
	}
	return hits
}
