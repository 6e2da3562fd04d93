package attribution_test

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem/attribution"
)

// start is day 0 of the journeys below; day(d) is d days after it, in UTC, which has
// no offset changes, so every day is 24 hours.
var start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// day returns the instant d days after start; d may be a half (3.5 days is 84 hours).
func day(d float64) time.Time {
	return start.Add(time.Duration(d * float64(24*time.Hour)))
}

const week = 7 * 24 * time.Hour

// touches returns a touch of campaign c at day d for each pair "c@d" of s, separated
// by spaces, such as "A@1 B@2.5".
func touches(tb testing.TB, s string) []attribution.Touch {
	tb.Helper()
	var ts []attribution.Touch
	for _, f := range strings.Fields(s) {
		c, d, ok := strings.Cut(f, "@")
		if !ok {
			tb.Fatalf("touch %q: want campaign@day", f)
		}
		n, err := strconv.ParseFloat(d, 64)
		if err != nil {
			tb.Fatalf("touch %q: want a day such as 3 or 3.5", f)
		}
		ts = append(ts, attribution.Touch{Campaign: c, At: day(n)})
	}
	return ts
}

// with returns m with its cutoff and lookback set.
func with(m attribution.Model, cutoff string, lookback time.Duration) attribution.Model {
	m.Cutoff, m.Lookback = cutoff, lookback
	return m
}

// fiftyFifty is Marketo Measure's U-shaped model: half to the first touch, half to the
// last, nothing to the middle.
var fiftyFifty = attribution.Model{Kind: attribution.UShaped, First: 0.5, Last: 0.5}

// checkCredit fails unless got has the campaigns of want with their shares within
// 1e-9, and sums to 1 within 1e-9 unless empty.
func checkCredit(tb testing.TB, got, want map[string]float64) {
	tb.Helper()
	if got == nil {
		tb.Fatalf("got a nil map, want an empty one")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		tb.Fatalf("got %v, want %v", got, want)
	}
	var sum float64
	for c, s := range got {
		if math.Abs(s-want[c]) > 1e-9 {
			tb.Errorf("%q: got %.12f, want %.12f", c, s, want[c])
		}
		sum += s
	}
	if len(got) > 0 && math.Abs(sum-1) > 1e-9 {
		tb.Errorf("shares sum to %.12f, want 1", sum)
	}
}

func TestCredit(t *testing.T) {
	var (
		first  = attribution.Default(attribution.FirstTouch)
		last   = attribution.Default(attribution.LastTouch)
		linear = attribution.Default(attribution.Linear)
		u      = attribution.Default(attribution.UShaped)
		w      = attribution.Default(attribution.WShaped)
		full   = attribution.Default(attribution.FullPath)
		decay  = attribution.Default(attribution.TimeDecay) // half-life 7 days
	)
	// five is A to E on days 1 to 5; the lead was created on day 2 (lead creation
	// touch B), the opportunity on day 10 (opportunity creation touch E).
	five := "A@1 B@2 C@3 D@4 E@5"
	// path is seven touches across the whole journey: lead created on day 3 (touch C),
	// opportunity on day 7 (touch E, day 6), closed on day 20 (closed-won touch G, day
	// 15). Under the created cutoff F and G, after day 7, do not count.
	path := "A@1 B@2 C@3 D@4 E@6 F@12 G@15"
	tests := []struct {
		name               string
		model              attribution.Model
		touches            string
		lead, created, cls float64 // days; cls < 0 for an open opportunity
		want               map[string]float64
	}{
		// One touch takes everything, whatever the model: positions that fall on it add
		// up (U 0.4 + 0.4 = 0.8, W 0.9, full path 0.9), and with no other touch the rest
		// goes to it too.
		{name: "one touch, first", model: first, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, last", model: last, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, linear", model: linear, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, U", model: u, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, W", model: w, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, full path", model: full, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},
		{name: "one touch, time decay", model: decay, touches: "A@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1}},

		// Two touches: no middle, so U's 0.2 is spread 0.4:0.4 over the ends.
		{name: "two touches, first", model: first, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 1, "B": 0}},
		{name: "two touches, last", model: last, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0, "B": 1}},
		{name: "two touches, linear", model: linear, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0.5, "B": 0.5}},
		{name: "two touches, U", model: u, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0.5, "B": 0.5}},
		// First and lead creation on A: 0.3 + 0.3 = 0.6; opportunity creation on B:
		// 0.3. The rest 0.1 goes 0.6:0.3, so A = 0.6/0.9 = 2/3, B = 0.3/0.9 = 1/3.
		{name: "two touches, W", model: w, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 2.0 / 3, "B": 1.0 / 3}},
		// The lead created on day 3, between them: its touch is still A, the last one
		// at or before day 3.
		{name: "two touches, W, lead between", model: w, touches: "A@1 B@5", lead: 3, created: 10, cls: -1, want: map[string]float64{"A": 2.0 / 3, "B": 1.0 / 3}},
		// Lead creation on B: A 0.3, B 0.6, so A 1/3 and B 2/3.
		{name: "two touches, W, lead on the second", model: w, touches: "A@1 B@5", lead: 5, created: 10, cls: -1, want: map[string]float64{"A": 1.0 / 3, "B": 2.0 / 3}},
		// A: first 0.225 + lead 0.225 = 0.45; B: opportunity + close = 0.45. Even.
		{name: "two touches, full path", model: full, touches: "A@1 B@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0.5, "B": 0.5}},

		// Five touches.
		{name: "five, first", model: first, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 1, "B": 0, "C": 0, "D": 0, "E": 0}},
		{name: "five, last", model: last, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 0, "B": 0, "C": 0, "D": 0, "E": 1}},
		{name: "five, linear", model: linear, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.2, "E": 0.2}},
		// U 40/20/40: 0.2 over three middle touches is 0.0667 each.
		{name: "five, U", model: u, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 0.4, "B": 0.2 / 3, "C": 0.2 / 3, "D": 0.2 / 3, "E": 0.4}},
		// The 50/50 variant leaves nothing to the middle, which keeps its zeros.
		{name: "five, U 50/50", model: fiftyFifty, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 0.5, "B": 0, "C": 0, "D": 0, "E": 0.5}},
		// W on distinct touches: first A, lead B, opportunity E, 0.3 each; the rest 0.1
		// over C and D, 0.05 each.
		{name: "five, W, distinct milestones", model: w, touches: five, lead: 2, created: 10, cls: -1, want: map[string]float64{"A": 0.3, "B": 0.3, "C": 0.05, "D": 0.05, "E": 0.3}},
		// W with lead and opportunity creation on the same touch E (lead day 5): A 0.3,
		// E 0.3 + 0.3 = 0.6, the rest 0.1 over B, C and D, 0.0333 each.
		{name: "five, W, lead and opportunity on one touch", model: w, touches: five, lead: 5, created: 10, cls: -1, want: map[string]float64{"A": 0.3, "B": 0.1 / 3, "C": 0.1 / 3, "D": 0.1 / 3, "E": 0.6}},
		// W with first and lead creation on A (lead day 1): A 0.6, E 0.3, the rest 0.1
		// over B, C, D.
		{name: "five, W, first and lead on one touch", model: w, touches: five, lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0.6, "B": 0.1 / 3, "C": 0.1 / 3, "D": 0.1 / 3, "E": 0.3}},
		// No lead date: the lead creation touch is the first.
		{name: "five, W, no lead date", model: w, touches: five, lead: -1, created: 10, cls: -1, want: map[string]float64{"A": 0.6, "B": 0.1 / 3, "C": 0.1 / 3, "D": 0.1 / 3, "E": 0.3}},

		// Full path, closed cutoff: first A, lead C, opportunity E, closed-won G, 0.225
		// each; the rest 0.1 over B, D and F, 0.0333 each.
		{name: "full path, closed", model: with(full, attribution.CutoffClosed, 0), touches: path, lead: 3, created: 7, cls: 20,
			want: map[string]float64{"A": 0.225, "B": 0.1 / 3, "C": 0.225, "D": 0.1 / 3, "E": 0.225, "F": 0.1 / 3, "G": 0.225}},
		// Still open: every touch counts and G, the last, takes the closed-won share.
		{name: "full path, closed cutoff, still open", model: with(full, attribution.CutoffClosed, 0), touches: path, lead: 3, created: 7, cls: -1,
			want: map[string]float64{"A": 0.225, "B": 0.1 / 3, "C": 0.225, "D": 0.1 / 3, "E": 0.225, "F": 0.1 / 3, "G": 0.225}},
		// Created cutoff: F and G drop; E is both opportunity creation and the last
		// touch, 0.225 + 0.225 = 0.45; the rest 0.1 over B and D, 0.05 each.
		{name: "full path, created", model: full, touches: path, lead: 3, created: 7, cls: 20,
			want: map[string]float64{"A": 0.225, "B": 0.05, "C": 0.225, "D": 0.05, "E": 0.45}},
		// Closed cutoff, no touch between creation (day 7) and close: E is opportunity
		// creation and closed-won, 0.45, as under the created cutoff.
		{name: "full path, closed, nothing after creation", model: with(full, attribution.CutoffClosed, 0), touches: "A@1 B@2 C@3 D@4 E@6", lead: 3, created: 7, cls: 20,
			want: map[string]float64{"A": 0.225, "B": 0.05, "C": 0.225, "D": 0.05, "E": 0.45}},

		// Time decay, half-life 7 days, created cutoff day 28. Weights 2^-(age/7d):
		// A 14 days: 2^-2 = 0.25; B 7 days: 2^-1 = 0.5; C 0 days: 2^0 = 1. Sum 1.75:
		// A 0.25/1.75 = 1/7, B 0.5/1.75 = 2/7, C 1/1.75 = 4/7.
		{name: "time decay, whole half-lives", model: decay, touches: "A@14 B@21 C@28", lead: 14, created: 28, cls: -1,
			want: map[string]float64{"A": 1.0 / 7, "B": 2.0 / 7, "C": 4.0 / 7}},
		// A 3.5 days: 2^-0.5 = 1/√2 = 0.70710678; B 0 days: 1. Sum 1.70710678:
		// A 0.70710678/1.70710678 = 1/(√2+1) = √2-1 = 0.41421356, B 2-√2 = 0.58578644.
		{name: "time decay, half a half-life", model: decay, touches: "A@24.5 B@28", lead: 24, created: 28, cls: -1,
			want: map[string]float64{"A": math.Sqrt2 - 1, "B": 2 - math.Sqrt2}},
		// The cutoff a week after the last touch: A 21 days 2^-3 = 0.125, B 14 days
		// 2^-2 = 0.25; sum 0.375: A 1/3, B 2/3. The common factor cancels.
		{name: "time decay, cutoff after the last touch", model: decay, touches: "A@7 B@14", lead: 7, created: 28, cls: -1,
			want: map[string]float64{"A": 1.0 / 3, "B": 2.0 / 3}},
		// Closed cutoff day 35: A 21 days 0.125, B 14 days 0.25, C 7 days 0.5, D 0
		// days 1; sum 1.875 = 15/8: A 1/15, B 2/15, C 4/15, D 8/15. Under the created
		// cutoff (day 28) D drops and A, B, C are 1/7, 2/7, 4/7 as above.
		{name: "time decay, closed", model: with(decay, attribution.CutoffClosed, 0), touches: "A@14 B@21 C@28 D@35", lead: 14, created: 28, cls: 35,
			want: map[string]float64{"A": 1.0 / 15, "B": 2.0 / 15, "C": 4.0 / 15, "D": 8.0 / 15}},
		{name: "time decay, created", model: decay, touches: "A@14 B@21 C@28 D@35", lead: 14, created: 28, cls: 35,
			want: map[string]float64{"A": 1.0 / 7, "B": 2.0 / 7, "C": 4.0 / 7}},
		// A twice, 14 and 7 days: 0.25 + 0.5 = 0.75 of 1.75 = 3/7; B 4/7.
		{name: "time decay, repeated campaign", model: decay, touches: "A@14 A@21 B@28", lead: 14, created: 28, cls: -1,
			want: map[string]float64{"A": 3.0 / 7, "B": 4.0 / 7}},
		// Two days half-life: A 4 days 2^-2 = 0.25, B 2 days 0.5, C 1; 1/7, 2/7, 4/7.
		{name: "time decay, two-day half-life", model: attribution.Model{Kind: attribution.TimeDecay, HalfLife: 48 * time.Hour}, touches: "A@24 B@26 C@28", lead: 24, created: 28, cls: -1,
			want: map[string]float64{"A": 1.0 / 7, "B": 2.0 / 7, "C": 4.0 / 7}},

		// Cutoffs: C (day 8) is after creation (day 7), D (day 25) after the close (day
		// 20); the touch at day 7 itself counts.
		{name: "created cutoff", model: linear, touches: "A@1 B@7 C@8 D@25", lead: 1, created: 7, cls: 20, want: map[string]float64{"A": 0.5, "B": 0.5}},
		{name: "closed cutoff", model: with(linear, attribution.CutoffClosed, 0), touches: "A@1 B@7 C@8 D@25", lead: 1, created: 7, cls: 20, want: map[string]float64{"A": 1.0 / 3, "B": 1.0 / 3, "C": 1.0 / 3}},
		{name: "closed cutoff, touch at the close", model: with(linear, attribution.CutoffClosed, 0), touches: "A@1 B@20 C@25", lead: 1, created: 7, cls: 20, want: map[string]float64{"A": 0.5, "B": 0.5}},
		{name: "closed cutoff, still open", model: with(linear, attribution.CutoffClosed, 0), touches: "A@1 B@7 C@8 D@25", lead: 1, created: 7, cls: -1, want: map[string]float64{"A": 0.25, "B": 0.25, "C": 0.25, "D": 0.25}},
		// Last touch under the created cutoff is the last before creation, not D.
		{name: "last touch, created cutoff", model: last, touches: "A@1 B@7 C@8 D@25", lead: 1, created: 7, cls: 20, want: map[string]float64{"A": 0, "B": 1}},

		// Lookback 30 days before creation on day 60: A (50 days before) drops, B
		// (exactly 30) counts.
		{name: "lookback", model: with(linear, "", 30*24*time.Hour), touches: "A@10 B@30 C@50", lead: 10, created: 60, cls: -1, want: map[string]float64{"B": 0.5, "C": 0.5}},
		// Under the closed cutoff (day 70) the window is day 40 to 70: A and B drop, D
		// (day 65, after creation) counts.
		{name: "lookback, closed", model: with(linear, attribution.CutoffClosed, 30*24*time.Hour), touches: "A@10 B@30 C@50 D@65", lead: 10, created: 60, cls: 70, want: map[string]float64{"C": 0.5, "D": 0.5}},
		// W with A dropped: no counted touch at or before the lead date (day 12), so the
		// lead creation touch is the first counted one, B. B 0.3 + 0.3, D (opportunity)
		// 0.3, C the rest 0.1.
		{name: "lookback, lead touch dropped", model: with(w, "", 30*24*time.Hour), touches: "A@10 B@30 C@40 D@50", lead: 12, created: 60, cls: -1, want: map[string]float64{"B": 0.6, "C": 0.1, "D": 0.3}},
		// Every touch too old.
		{name: "lookback, nothing left", model: with(u, "", week), touches: "A@10 B@30", lead: 10, created: 60, cls: -1, want: map[string]float64{}},

		// Ties at one instant sort by campaign name: the first touch of "b@1 a@1" is a,
		// the last of "y@5 x@5" is y.
		{name: "tie, first", model: first, touches: "b@1 a@1 c@3", lead: 1, created: 10, cls: -1, want: map[string]float64{"a": 1, "b": 0, "c": 0}},
		{name: "tie, last", model: last, touches: "a@1 y@5 x@5", lead: 1, created: 10, cls: -1, want: map[string]float64{"a": 0, "x": 0, "y": 1}},
		// Three at one instant sort a, b, c: a 0.4, b 0.2, c 0.4.
		{name: "tie, U", model: u, touches: "c@1 a@1 b@1", lead: 1, created: 10, cls: -1, want: map[string]float64{"a": 0.4, "b": 0.2, "c": 0.4}},
		// Lead created on day 1, when a and b touched: its touch is b, the later in
		// order. a first 0.3, b lead 0.3, d opportunity 0.3, c the rest 0.1.
		{name: "tie, W lead touch", model: w, touches: "b@1 a@1 c@3 d@4", lead: 1, created: 10, cls: -1, want: map[string]float64{"a": 0.3, "b": 0.3, "c": 0.1, "d": 0.3}},
		// Time decay weighs ties alike: 0.5 each for a and b a week before c's 1; sum
		// 2: 0.25, 0.25, 0.5.
		{name: "tie, time decay", model: decay, touches: "b@21 a@21 c@28", lead: 21, created: 28, cls: -1, want: map[string]float64{"a": 0.25, "b": 0.25, "c": 0.5}},

		// Repeated campaigns add up. Linear A, B, A, A: A 0.75, B 0.25.
		{name: "repeats, linear", model: linear, touches: "A@1 B@2 A@3 A@4", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 0.75, "B": 0.25}},
		// U over web, mail, ads, mail, web: web 0.4 + 0.4 = 0.8, mail 2 × 0.0667 =
		// 0.1333, ads 0.0667.
		{name: "repeats, U", model: u, touches: "web@1 mail@2 ads@3 mail@4 web@5", lead: 1, created: 10, cls: -1,
			want: map[string]float64{"web": 0.8, "mail": 0.4 / 3, "ads": 0.2 / 3}},
		// The same campaign twice at one instant is two touches: linear 2/3 and 1/3.
		{name: "repeats, same instant", model: linear, touches: "A@1 A@1 B@2", lead: 1, created: 10, cls: -1, want: map[string]float64{"A": 2.0 / 3, "B": 1.0 / 3}},

		// Nothing counts: an empty map.
		{name: "no touches", model: u, touches: "", lead: 1, created: 10, cls: -1, want: map[string]float64{}},
		{name: "no touches, closed cutoff, open", model: with(decay, attribution.CutoffClosed, week), touches: "", lead: 1, created: 10, cls: -1, want: map[string]float64{}},
		{name: "every touch after the cutoff", model: full, touches: "A@11 B@12", lead: 1, created: 10, cls: -1, want: map[string]float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := attribution.Journey{Touches: touches(t, tt.touches), CreatedAt: day(tt.created), Amount: 1000}
			if tt.lead >= 0 {
				j.LeadAt = day(tt.lead)
			}
			if tt.cls >= 0 {
				j.ClosedAt = day(tt.cls)
			}
			if err := tt.model.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			checkCredit(t, attribution.Credit(tt.model, j), tt.want)
		})
	}
}

// TestTimeDecayAncient checks that touches older than a thousand half-lives, whose
// weights from the cutoff underflow to zero, are still weighed against each other.
func TestTimeDecayAncient(t *testing.T) {
	// 50 years is about 2,600 weeks; 2^-2600 is below the smallest float64. Between
	// themselves A, a week before B, weighs 0.5 to B's 1: 1/3 and 2/3.
	j := attribution.Journey{
		Touches: []attribution.Touch{
			{Campaign: "A", At: day(0).AddDate(-50, 0, -7)},
			{Campaign: "B", At: day(0).AddDate(-50, 0, 0)},
		},
		CreatedAt: day(0),
	}
	checkCredit(t, attribution.Credit(attribution.Default(attribution.TimeDecay), j), map[string]float64{"A": 1.0 / 3, "B": 2.0 / 3})
}

func TestRevenue(t *testing.T) {
	// U-shaped over five touches of a 30,000 deal: 0.4 × 30,000 = 12,000 at each end,
	// 0.2/3 × 30,000 = 2,000 in the middle.
	j := attribution.Journey{Touches: touches(t, "A@1 B@2 C@3 D@4 E@5"), LeadAt: day(2), CreatedAt: day(10), Amount: 30000}
	got := attribution.Revenue(attribution.Default(attribution.UShaped), j)
	want := map[string]float64{"A": 12000, "B": 2000, "C": 2000, "D": 2000, "E": 12000}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for c, r := range got {
		if math.Abs(r-want[c]) > 1e-6 {
			t.Errorf("%q: got %.6f, want %.6f", c, r, want[c])
		}
	}
	if got := attribution.Revenue(attribution.Default(attribution.UShaped), attribution.Journey{CreatedAt: day(10), Amount: 30000}); got == nil || len(got) != 0 {
		t.Errorf("no touches: got %v, want an empty map", got)
	}
}

// kinds are every kind of model.
var kinds = []attribution.Kind{
	attribution.FirstTouch, attribution.LastTouch, attribution.Linear, attribution.UShaped,
	attribution.WShaped, attribution.FullPath, attribution.TimeDecay,
}

// TestCreditProperties checks on random journeys, under every default model, the
// fiftyFifty one and the closed cutoff with a lookback, that shares are in [0, 1] and
// sum to 1, that only counted campaigns get credit, and that the order of the input
// does not change the result.
func TestCreditProperties(t *testing.T) {
	models := []attribution.Model{fiftyFifty}
	for _, k := range kinds {
		models = append(models, attribution.Default(k), with(attribution.Default(k), attribution.CutoffClosed, 20*24*time.Hour))
	}
	r := rand.New(rand.NewPCG(1, 2))
	campaigns := []string{"ads", "blog", "mail", "web"}
	for n := range 500 {
		var j attribution.Journey
		for range r.IntN(9) {
			// Whole days make ties common.
			j.Touches = append(j.Touches, attribution.Touch{Campaign: campaigns[r.IntN(len(campaigns))], At: day(float64(r.IntN(40)))})
		}
		j.LeadAt, j.CreatedAt = day(float64(r.IntN(30))), day(float64(10+r.IntN(30)))
		if r.IntN(2) == 0 {
			j.ClosedAt = j.CreatedAt.Add(time.Duration(r.IntN(30)) * 24 * time.Hour)
		}
		for _, m := range models {
			if err := m.Validate(); err != nil {
				t.Fatalf("Validate %+v: %v", m, err)
			}
			got := attribution.Credit(m, j)
			var sum float64
			for c, s := range got {
				if !slices.Contains(campaigns, c) || !(s >= 0 && s <= 1+1e-9) {
					t.Fatalf("journey %d, %s: got %q: %v", n, m.Kind, c, s)
				}
				sum += s
			}
			if len(got) > 0 && math.Abs(sum-1) > 1e-9 {
				t.Fatalf("journey %d, %s cutoff %q: shares sum to %.12f, want 1", n, m.Kind, m.Cutoff, sum)
			}
			if len(got) == 0 && len(j.Touches) > 0 && m.Cutoff != attribution.CutoffClosed && m.Lookback == 0 {
				for _, tc := range j.Touches {
					if !tc.At.After(j.CreatedAt) {
						t.Fatalf("journey %d, %s: got no credit, want some for the touch at %v", n, m.Kind, tc.At)
					}
				}
			}
			shuffled := slices.Clone(j.Touches)
			r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
			j2 := j
			j2.Touches = shuffled
			if again := attribution.Credit(m, j2); !maps.Equal(again, got) {
				t.Fatalf("journey %d, %s: got %v shuffled, want %v", n, m.Kind, again, got)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		model   attribution.Model
		wantErr string
	}{
		{name: "first touch", model: attribution.Default(attribution.FirstTouch)},
		{name: "last touch", model: attribution.Default(attribution.LastTouch)},
		{name: "linear", model: attribution.Default(attribution.Linear)},
		{name: "U", model: attribution.Default(attribution.UShaped)},
		{name: "U 50/50", model: fiftyFifty},
		{name: "U lopsided", model: attribution.Model{Kind: attribution.UShaped, First: 0.6, Last: 0.1}},
		{name: "W", model: attribution.Default(attribution.WShaped)},
		{name: "full path", model: attribution.Default(attribution.FullPath)},
		{name: "full path, 4 × 0.25", model: attribution.Model{Kind: attribution.FullPath, First: 0.25, Lead: 0.25, Opportunity: 0.25, Close: 0.25}},
		{name: "time decay", model: attribution.Default(attribution.TimeDecay)},
		{name: "closed cutoff, lookback", model: attribution.Model{Kind: attribution.Linear, Cutoff: attribution.CutoffClosed, Lookback: 90 * 24 * time.Hour}},
		{name: "empty cutoff", model: attribution.Model{Kind: attribution.Linear}},

		{name: "no kind", model: attribution.Model{}, wantErr: `unknown kind ""`},
		{name: "unknown kind", model: attribution.Default("j_shaped"), wantErr: `unknown kind "j_shaped"`},
		{name: "U over 1", model: attribution.Model{Kind: attribution.UShaped, First: 0.6, Last: 0.5}, wantErr: "u_shaped: want First, Last shares summing to at most 1, got 1.1"},
		{name: "W over 1", model: attribution.Model{Kind: attribution.WShaped, First: 0.4, Lead: 0.4, Opportunity: 0.4}, wantErr: "summing to at most 1"},
		{name: "negative share", model: attribution.Model{Kind: attribution.UShaped, First: -0.1, Last: 0.5}, wantErr: "u_shaped: want First share in [0, 1], got -0.1"},
		{name: "share over 1", model: attribution.Model{Kind: attribution.FullPath, First: 0.1, Close: 1.5}, wantErr: "want Close share in [0, 1]"},
		{name: "NaN share", model: attribution.Model{Kind: attribution.WShaped, First: 0.3, Lead: math.NaN(), Opportunity: 0.3}, wantErr: "want Lead share in [0, 1], got NaN"},
		{name: "all zero", model: attribution.Model{Kind: attribution.UShaped}, wantErr: "u_shaped: want some of First, Last shares above 0"},
		{name: "unused share", model: attribution.Model{Kind: attribution.WShaped, First: 0.3, Lead: 0.3, Opportunity: 0.3, Close: 0.1}, wantErr: "w_shaped: has no Close share, got 0.1"},
		{name: "share on linear", model: attribution.Model{Kind: attribution.Linear, First: 0.4}, wantErr: "linear: has no First share"},
		{name: "share on time decay", model: attribution.Model{Kind: attribution.TimeDecay, HalfLife: week, Last: 1}, wantErr: "time_decay: has no Last share"},
		{name: "no half-life", model: attribution.Model{Kind: attribution.TimeDecay}, wantErr: "time_decay: want a positive half-life, got 0s"},
		{name: "negative half-life", model: attribution.Model{Kind: attribution.TimeDecay, HalfLife: -week}, wantErr: "positive half-life"},
		{name: "half-life on U", model: attribution.Model{Kind: attribution.UShaped, First: 0.4, Last: 0.4, HalfLife: week}, wantErr: "u_shaped: half-life is for time_decay"},
		{name: "unknown cutoff", model: attribution.Model{Kind: attribution.Linear, Cutoff: "won"}, wantErr: `unknown cutoff "won"`},
		{name: "negative lookback", model: attribution.Model{Kind: attribution.Linear, Lookback: -time.Hour}, wantErr: "want a lookback of zero (no limit) or more, got -1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.model.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate: got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
