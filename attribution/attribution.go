// Package attribution credits an opportunity's revenue to the marketing campaigns that
// touched the people on it, under a multi-touch model such as U-shaped or time decay.
// It is pure: the caller loads the touches and milestones, and credit is a function of
// them.
package attribution

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Touch is one interaction of a contact with a campaign: an email click, a form, a
// webinar. Campaign names are taken as given, so the empty name is a campaign too.
type Touch struct {
	Campaign string
	At       time.Time
}

// Journey is one opportunity's touches (of all its contacts, in any order) and its
// milestones.
type Journey struct {
	Touches []Touch
	// LeadAt is when the first of its contacts became a known lead (the lead creation
	// milestone); zero if unknown, which makes the first touch the lead creation touch.
	LeadAt time.Time
	// CreatedAt is when the opportunity was created. It must be set.
	CreatedAt time.Time
	// ClosedAt is when the opportunity was closed, zero while it is open.
	ClosedAt time.Time
	Amount   float64
}

// Kind names an attribution model.
type Kind string

// The kinds of model.
const (
	// FirstTouch gives everything to the first counted touch.
	FirstTouch Kind = "first_touch"
	// LastTouch gives everything to the last counted touch.
	LastTouch Kind = "last_touch"
	// Linear splits evenly over the counted touches.
	Linear Kind = "linear"
	// UShaped gives First to the first touch and Last to the last, the rest evenly
	// to the touches between.
	UShaped Kind = "u_shaped"
	// WShaped gives First to the first touch, Lead to the lead creation touch and
	// Opportunity to the opportunity creation touch, the rest evenly to the others.
	WShaped Kind = "w_shaped"
	// FullPath is WShaped plus Close to the closed-won touch.
	FullPath Kind = "full_path"
	// TimeDecay weighs each touch by its age at the cutoff, halving every HalfLife.
	TimeDecay Kind = "time_decay"
)

// Kinds are every kind of model, in the order reports show them.
var Kinds = []Kind{FirstTouch, LastTouch, Linear, UShaped, WShaped, FullPath, TimeDecay}

// KindList names every kind of model, for messages: "first_touch, last_touch, …".
func KindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// The cutoffs of Model.Cutoff.
const (
	// CutoffCreated counts the touches up to the opportunity's creation: what brought
	// the deal in. It is the default.
	CutoffCreated = "created"
	// CutoffClosed counts the touches up to the opportunity's close: what brought the
	// deal in and won it.
	CutoffClosed = "closed"
)

// Model is how a journey's credit is shared out.
//
// The counted touches are those at or before the cutoff instant and, when Lookback is
// set, at or after Lookback before it. The cutoff instant is CreatedAt under
// CutoffCreated and ClosedAt under CutoffClosed; while the journey is open (ClosedAt
// zero) a closed cutoff counts every touch and falls on the latest one, so the lookback
// and the time decay run from there. Callers who want them to run from now set ClosedAt
// to now.
//
// The counted touches are sorted by time; touches at the same instant by campaign name,
// then in input order (which only orders touches alike in both), so the result does not
// depend on the order of the input. The positions the models name are taken in this
// order, so of two touches at the instant of LeadAt the later in name is the lead
// creation touch:
//
//   - first: the first counted touch;
//   - last and closed-won: the last counted touch (at or before ClosedAt under a closed
//     cutoff, whether or not the deal was won);
//   - lead creation: the last counted touch at or before LeadAt, or the first counted
//     touch if none is;
//   - opportunity creation: the last counted touch at or before CreatedAt, or the first
//     counted touch if none is (possible only under a closed cutoff).
//
// A positional model (UShaped, WShaped, FullPath) gives each position its share; where
// positions fall on the same touch, their shares add. The rest, one minus the shares,
// goes evenly to the counted touches that hold no position. When every touch holds a
// position the rest is spread over them in proportion to their shares, so that U-shaped
// 40/40 is 50/50 on two touches and 100% on one, and W-shaped 30/30/30 is 2/3 and 1/3
// on two touches whose first also is the lead creation touch.
//
// A campaign's credit is the sum over its counted touches, so each touch counts, even
// two of one campaign at one instant.
type Model struct {
	Kind Kind
	// First and Last are the shares of the first and last touches under UShaped
	// (default 0.4 each; 0.5 each is the 50/50 variant). First is also the first
	// touch's share under WShaped and FullPath.
	First, Last float64
	// Lead and Opportunity are the shares of the lead and opportunity creation
	// touches under WShaped and FullPath; Close is that of the closed-won touch under
	// FullPath.
	Lead, Opportunity, Close float64
	// HalfLife is the age at which a touch weighs half as much under TimeDecay: a
	// touch at t weighs 2^(-(cutoff - t)/HalfLife) before the weights are normalised
	// to sum to 1.
	HalfLife time.Duration
	// Cutoff is CutoffCreated (also when empty) or CutoffClosed.
	Cutoff string
	// Lookback is how long before the cutoff touches still count; zero means no limit.
	Lookback time.Duration
}

// Default returns the usual model of kind: U-shaped 40/40 with 20 over the middle,
// W-shaped 30/30/30 with 10 over the rest, full path 22.5 × 4 with 10 over the rest,
// and time decay with a half-life of 7 days, all with the created cutoff and no
// lookback. The model of an unknown kind does not validate.
func Default(kind Kind) Model {
	m := Model{Kind: kind, Cutoff: CutoffCreated}
	switch kind {
	case UShaped:
		m.First, m.Last = 0.4, 0.4
	case WShaped:
		m.First, m.Lead, m.Opportunity = 0.3, 0.3, 0.3
	case FullPath:
		m.First, m.Lead, m.Opportunity, m.Close = 0.225, 0.225, 0.225, 0.225
	case TimeDecay:
		m.HalfLife = 7 * 24 * time.Hour
	}
	return m
}

// tolerance absorbs the rounding of shares written as decimals, such as 4 × 0.225.
const tolerance = 1e-9

// Validate reports whether m is a model Credit can apply: a known kind and cutoff, a
// lookback not negative, and for a positional kind shares in [0, 1] that sum to at
// most 1 and not to 0. A share or half-life the kind does not use must be zero, since
// it would be silently ignored.
func (m Model) Validate() error {
	var used []string
	switch m.Kind {
	case FirstTouch, LastTouch, Linear:
	case UShaped:
		used = []string{"First", "Last"}
	case WShaped:
		used = []string{"First", "Lead", "Opportunity"}
	case FullPath:
		used = []string{"First", "Lead", "Opportunity", "Close"}
	case TimeDecay:
		if m.HalfLife <= 0 {
			return fmt.Errorf("time_decay: want a positive half-life, got %v", m.HalfLife)
		}
	default:
		return fmt.Errorf("unknown kind %q: want one of first_touch, last_touch, linear, u_shaped, w_shaped, full_path, time_decay", m.Kind)
	}
	if m.Kind != TimeDecay && m.HalfLife != 0 {
		return fmt.Errorf("%s: half-life is for time_decay, got %v", m.Kind, m.HalfLife)
	}
	shares := []struct {
		name string
		v    float64
	}{{"First", m.First}, {"Last", m.Last}, {"Lead", m.Lead}, {"Opportunity", m.Opportunity}, {"Close", m.Close}}
	var sum float64
	for _, s := range shares {
		if !slices.Contains(used, s.name) {
			if s.v != 0 {
				return fmt.Errorf("%s: has no %s share, got %v", m.Kind, s.name, s.v)
			}
			continue
		}
		if !(s.v >= 0 && s.v <= 1) { // NaN fails both
			return fmt.Errorf("%s: want %s share in [0, 1], got %v", m.Kind, s.name, s.v)
		}
		sum += s.v
	}
	if len(used) > 0 {
		if sum > 1+tolerance {
			return fmt.Errorf("%s: want %s shares summing to at most 1, got %v", m.Kind, strings.Join(used, ", "), sum)
		}
		if sum == 0 {
			return fmt.Errorf("%s: want some of %s shares above 0", m.Kind, strings.Join(used, ", "))
		}
	}
	if m.Cutoff != "" && m.Cutoff != CutoffCreated && m.Cutoff != CutoffClosed {
		return fmt.Errorf("unknown cutoff %q: want created or closed", m.Cutoff)
	}
	if m.Lookback < 0 {
		return fmt.Errorf("want a lookback of zero (no limit) or more, got %v", m.Lookback)
	}
	return nil
}

// Credit returns each campaign's share of j under m, not yet multiplied by Amount: a
// map from every campaign with a counted touch to its share, zero possible (the middle
// of a 50/50 U-shaped journey), the shares summing to 1 up to rounding. It returns an
// empty map when no touch counts. m must be valid (see Validate); Credit takes any
// cutoff but CutoffClosed as CutoffCreated, and an unknown kind credits nothing.
func Credit(m Model, j Journey) map[string]float64 {
	credit := map[string]float64{}
	ts := counted(m, j)
	if len(ts) == 0 {
		return credit
	}
	for i, w := range weights(m, j, ts) {
		credit[ts[i].Campaign] += w
	}
	return credit
}

// Revenue returns each campaign's share of j's Amount under m: Credit times Amount.
func Revenue(m Model, j Journey) map[string]float64 {
	r := Credit(m, j)
	for c, s := range r {
		r[c] = s * j.Amount
	}
	return r
}

// counted returns the touches of j that count under m, sorted.
func counted(m Model, j Journey) []Touch {
	ts := slices.Clone(j.Touches)
	slices.SortStableFunc(ts, func(a, b Touch) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Campaign, b.Campaign))
	})
	cutoff := j.CreatedAt
	if m.Cutoff == CutoffClosed {
		if j.ClosedAt.IsZero() {
			if len(ts) == 0 {
				return nil
			}
			cutoff = ts[len(ts)-1].At
		} else {
			cutoff = j.ClosedAt
		}
	}
	from := time.Time{}
	if m.Lookback > 0 {
		from = cutoff.Add(-m.Lookback)
	}
	ts = slices.DeleteFunc(ts, func(t Touch) bool {
		return t.At.After(cutoff) || (m.Lookback > 0 && t.At.Before(from))
	})
	return ts
}

// weights returns the share of each of the sorted counted touches ts, at least one.
func weights(m Model, j Journey, ts []Touch) []float64 {
	first, last := 0, len(ts)-1
	switch m.Kind {
	case FirstTouch:
		return positional(len(ts), []position{{first, 1}})
	case LastTouch:
		return positional(len(ts), []position{{last, 1}})
	case Linear:
		return positional(len(ts), nil)
	case UShaped:
		return positional(len(ts), []position{{first, m.First}, {last, m.Last}})
	case WShaped:
		return positional(len(ts), []position{
			{first, m.First}, {lastAtOrBefore(ts, j.LeadAt), m.Lead}, {lastAtOrBefore(ts, j.CreatedAt), m.Opportunity},
		})
	case FullPath:
		return positional(len(ts), []position{
			{first, m.First}, {lastAtOrBefore(ts, j.LeadAt), m.Lead}, {lastAtOrBefore(ts, j.CreatedAt), m.Opportunity}, {last, m.Close},
		})
	case TimeDecay:
		return decay(ts, m.HalfLife)
	}
	return nil
}

// position is a share given to the touch at an index.
type position struct {
	i     int
	share float64
}

// positional returns the weights of n touches given the shares of ps, the rest spread
// as Model says. With no positions it is linear.
func positional(n int, ps []position) []float64 {
	w := make([]float64, n)
	held := make([]bool, n)
	var sum float64
	for _, p := range ps {
		w[p.i] += p.share
		held[p.i] = true
		sum += p.share
	}
	var others int
	for _, h := range held {
		if !h {
			others++
		}
	}
	switch {
	case others > 0:
		rest := (1 - sum) / float64(others)
		for i, h := range held {
			if !h {
				w[i] = rest
			}
		}
	case sum > 0:
		for i := range w {
			w[i] /= sum
		}
	default: // every share zero, which Validate refuses: linear
		for i := range w {
			w[i] = 1 / float64(n)
		}
	}
	return w
}

// lastAtOrBefore returns the index of the last of the sorted touches ts at or before t,
// 0 if none is.
func lastAtOrBefore(ts []Touch, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, t, func(x Touch, t time.Time) int {
		if x.At.After(t) {
			return 1
		}
		return -1 // never found: i is the first touch after t
	})
	return max(i-1, 0)
}

// decay returns the time-decay weights of the sorted touches ts, normalised to sum to 1.
//
// Ages are taken from the last touch rather than the cutoff: the factor
// 2^(-(cutoff - last)/halfLife) this drops is common to every weight and cancels in
// the normalisation, and the last touch weighing 1 keeps the sum away from an
// underflow to zero however old the touches.
func decay(ts []Touch, halfLife time.Duration) []float64 {
	w := make([]float64, len(ts))
	last := ts[len(ts)-1].At
	var sum float64
	for i, t := range ts {
		w[i] = math.Exp2(-float64(last.Sub(t.At)) / float64(halfLife))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}
