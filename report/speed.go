package report

import (
	"slices"
	"time"
)

// SpeedBucket counts the leads whose first touch came within a span of wall-clock time
// after they were handed to a rep. Speed to lead is measured on the wall clock, not in
// business hours: the buyer waits through nights and weekends too.
type SpeedBucket struct {
	Label string `json:"label"`
	// Under is the bucket's upper bound; nil for the last, and for the bucket of leads
	// not touched yet.
	Under *Duration `json:"under"`
	Leads int       `json:"leads"`
}

// speedBounds are the upper bounds of the speed-to-lead buckets.
var speedBounds = []struct {
	label string
	under time.Duration
}{
	{"under 5 min", 5 * time.Minute},
	{"5–30 min", 30 * time.Minute},
	{"30 min–1 h", time.Hour},
	{"1–4 h", 4 * time.Hour},
	{"4–24 h", 24 * time.Hour},
}

// speedToLead sorts assignments into buckets by the time from assignment to first
// touch, with a bucket for those over a day and one for those not touched yet.
func speedToLead(as []Assignment) []SpeedBucket {
	out := make([]SpeedBucket, 0, len(speedBounds)+2)
	for _, b := range speedBounds {
		d := Duration(b.under)
		out = append(out, SpeedBucket{Label: b.label, Under: &d})
	}
	out = append(out, SpeedBucket{Label: "over a day"}, SpeedBucket{Label: "not touched yet"})
	for _, a := range as {
		if a.FirstTouchAt.IsZero() {
			out[len(out)-1].Leads++
			continue
		}
		took := a.FirstTouchAt.Sub(a.AssignedAt)
		i := slices.IndexFunc(speedBounds, func(b struct {
			label string
			under time.Duration
		}) bool {
			return took < b.under
		})
		if i < 0 {
			i = len(speedBounds)
		}
		out[i].Leads++
	}
	return out
}

// ReasonWeek counts the leads rejected in one week, per reason in the order of the
// report's Rejections.
type ReasonWeek struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Counts []int     `json:"counts"`
}

// rejectionsByWeek counts the rejections of as per week of weeks and per reason.
func rejectionsByWeek(as []Assignment, weeks []WeekCount, reasons []ReasonCount) []ReasonWeek {
	out := make([]ReasonWeek, len(weeks))
	for i, w := range weeks {
		out[i] = ReasonWeek{From: w.From, To: w.To, Counts: make([]int, len(reasons))}
	}
	for _, a := range as {
		if a.RejectedAt.IsZero() {
			continue
		}
		r := slices.IndexFunc(reasons, func(rc ReasonCount) bool { return rc.Reason == a.Reason })
		w := slices.IndexFunc(weeks, func(w WeekCount) bool { return !a.RejectedAt.Before(w.From) && a.RejectedAt.Before(w.To) })
		if r >= 0 && w >= 0 {
			out[w].Counts[r]++
		}
	}
	return out
}
