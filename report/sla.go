// Package report computes the figures marketing and sales look at together, such as
// how each team kept its side of the SLA over a month or a quarter. It is pure: the
// caller loads the facts and the time, and a report is a function of them.
package report

import (
	"slices"
	"strings"
	"time"

	"tandem/agreement"
	"tandem/sla"
)

// Assignment is one lead handed to a rep, as the report sees it. A lead is accepted
// or rejected, not both; should both times be set, the acceptance counts.
type Assignment struct {
	ID int64
	// Rep is the rep's email address.
	Rep        string
	AssignedAt time.Time
	// DueAt is the accept-or-reject deadline, business hours already applied; zero
	// when the agreement sets none.
	DueAt time.Time
	// AcceptedAt is zero if the rep has not accepted the lead.
	AcceptedAt time.Time
	// RejectedAt is zero if the rep has not rejected the lead.
	RejectedAt time.Time
	// Reason is the rejection reason.
	Reason string
	// FirstTouchAt is zero if the rep has not touched the lead yet.
	FirstTouchAt time.Time
	// TouchDueAt is the first-touch deadline, zero when the agreement sets none.
	TouchDueAt time.Time
	// Breached is whether the SLA breach fired on the assignment, which then was
	// reassigned or escalated.
	Breached bool
}

// Input is what an SLA report is computed from. The caller loads the facts known at
// Now; facts dated outside Period are ignored.
type Input struct {
	// Period is the span reported on, usually PeriodOf(Target.Per, Now, loc).
	Period Period
	// Now is the time of the report. It decides which deadlines have passed and how
	// much of Period has elapsed.
	Now time.Time
	// Calendar is the agreement's business hours; it must not be nil.
	Calendar *sla.Calendar
	// Location is the agreement's timezone, in which weeks start on Monday; nil means
	// the location of Period.From.
	Location *time.Location
	// Target is marketing's MQL target, its count taken as the target for Period.
	Target agreement.Target
	// Reasons are the agreement's recycle reasons, in its order.
	Reasons []string
	// MQLs are the times contacts entered the handoff (MQL) stage.
	MQLs []time.Time
	// Assignments are the leads assigned to reps, each counted in the period of its
	// AssignedAt.
	Assignments []Assignment
}

// SLAReport is how sales and marketing kept their promises over a period.
type SLAReport struct {
	Period Period `json:"period"`
	// AsOf is the Now the report was computed at.
	AsOf      time.Time `json:"as_of"`
	Sales     Sales     `json:"sales"`
	Marketing Marketing `json:"marketing"`
	// Requests is marketing's turnaround on sales' requests, filled in by the caller
	// with Requests.
	Requests *RequestsReport `json:"requests,omitempty"`
}

// Sales is how the reps kept sales' promise, all together and each.
type Sales struct {
	Tally
	// Reps has a tally for each rep with assignments in the period, sorted by email.
	Reps []RepSLA `json:"reps"`
	// SpeedToLead is the distribution of the time from handoff to first touch.
	SpeedToLead []SpeedBucket `json:"speed_to_lead"`
}

// RepSLA is the tally of one rep's assignments. A rep whose lead was reassigned away
// after a breach keeps that breach.
type RepSLA struct {
	Rep string `json:"rep"`
	Tally
}

// Tally is the SLA figures of a set of assignments.
//
// Times to accept, respond and touch are business time, measured with the
// agreement's calendar from AssignedAt: the SLA clock runs in business hours, so on
// a 09:00-17:00 calendar a lead assigned at 16:30 and accepted at 09:15 the next
// working day took 45 minutes, not 16h45m, and a weekend counts for nothing. A median of an even number of times is
// the mean of the two middle ones; a median is nil when there are no times.
type Tally struct {
	// Assigned counts the assignments.
	Assigned int `json:"assigned"`
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	// Open counts assignments neither accepted nor rejected whose SLA has not been
	// breached, overdue or not.
	Open int `json:"open"`
	// Breached counts assignments whose SLA breach fired, whether the rep answered
	// later (after an escalation) or not (the lead was reassigned). So an assignment
	// can count in Breached and in Accepted or Rejected; one counts in exactly one of
	// Accepted, Rejected, Open and Breached-without-an-answer.
	Breached int `json:"breached"`

	// WithinSLA counts assignments with a DueAt accepted or rejected at or before it.
	WithinSLA int `json:"within_sla"`
	// WithinSLAShare is WithinSLA over the assignments with a DueAt whose outcome is
	// known: those answered, and the unanswered ones that are breached or past DueAt
	// at Now. Unanswered ones still due are left out, since they may yet be on time.
	// Nil when there are none.
	WithinSLAShare      *float64  `json:"within_sla_share"`
	MedianTimeToAccept  *Duration `json:"median_time_to_accept"`
	MedianTimeToRespond *Duration `json:"median_time_to_respond"`

	// FirstTouchWithin counts assignments with a TouchDueAt first touched at or before
	// it.
	FirstTouchWithin int `json:"first_touch_within"`
	// FirstTouchWithinShare is FirstTouchWithin over the assignments with a
	// TouchDueAt whose outcome is known: those touched, and the untouched ones past
	// TouchDueAt at Now. An untouched lead rejected at or before TouchDueAt is left
	// out, since the rejection ended the duty to touch it. Nil when there are none.
	FirstTouchWithinShare  *float64  `json:"first_touch_within_share"`
	MedianTimeToFirstTouch *Duration `json:"median_time_to_first_touch"`
}

// Marketing is how marketing kept its promise of MQLs, and how sales judged them.
type Marketing struct {
	// MQLs counts the contacts that entered the handoff stage in the period.
	MQLs      int    `json:"mqls"`
	Target    int    `json:"target"`
	TargetPer string `json:"target_per"`
	// Expected is Target prorated to the elapsed share of the period: the calendar
	// time from its start to Now, Now clamped to the period, over its length.
	Expected float64 `json:"expected"`
	// Projected is MQLs over the elapsed share, what the period ends with at this
	// pace; zero when no time has elapsed.
	Projected float64 `json:"projected"`
	// Pacing is one of PacingMet, PacingOnTrack, PacingBehind and PacingNoTarget.
	Pacing string `json:"pacing"`
	// AcceptanceRate is the accepted assignments over the accepted and rejected ones;
	// nil when there are none.
	AcceptanceRate *float64 `json:"acceptance_rate"`
	// Rejections has every agreement reason in the agreement's order, zeros
	// included, then any other reason reps gave, sorted.
	Rejections []ReasonCount `json:"rejections"`
	// Weekly has every week of the period.
	Weekly []WeekCount `json:"weekly"`
	// RejectionsWeekly counts, for each week of the period, the leads rejected in it per
	// reason, in the order of Rejections.
	RejectionsWeekly []ReasonWeek `json:"rejections_weekly"`
}

// Pacing states of Marketing.
const (
	// PacingMet is when MQLs have reached the target.
	PacingMet = "met"
	// PacingOnTrack is when MQLs have not reached the target but are projected to.
	PacingOnTrack = "on track"
	// PacingBehind is when MQLs are projected to fall short of the target.
	PacingBehind = "behind"
	// PacingNoTarget is when the agreement sets no target.
	PacingNoTarget = "no target"
)

// ReasonCount is how many rejections gave a reason.
type ReasonCount struct {
	Reason string `json:"reason"`
	// Known is whether the reason is one of the agreement's.
	Known bool `json:"known"`
	Count int  `json:"count"`
	// Share is Count over all rejections; nil when there are none.
	Share *float64 `json:"share"`
}

// WeekCount is the MQLs of one week of a period, from Monday 00:00 to the next
// Monday in the report's location, cut to the period at either end.
type WeekCount struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	MQLs int       `json:"mqls"`
	// Cumulative is the MQLs of the period up to To; nil for a week that had not
	// begun at Now, so that a chart's line stops today.
	Cumulative *int `json:"cumulative"`
	// CumulativeTarget is the target prorated to To, the line Cumulative should
	// keep above.
	CumulativeTarget float64 `json:"cumulative_target"`
}

// SLA returns the SLA report of in.
func SLA(in Input) SLAReport {
	loc := in.Location
	if loc == nil {
		loc = in.Period.From.Location()
	}
	var as []Assignment
	for _, a := range in.Assignments {
		if in.Period.Contains(a.AssignedAt) {
			as = append(as, a)
		}
	}
	var mqls []time.Time
	for _, t := range in.MQLs {
		if in.Period.Contains(t) {
			mqls = append(mqls, t)
		}
	}
	slices.SortFunc(mqls, time.Time.Compare)
	return SLAReport{
		Period:    in.Period,
		AsOf:      in.Now,
		Sales:     sales(as, in.Now, in.Calendar),
		Marketing: marketing(in, as, mqls, loc),
	}
}

func sales(as []Assignment, now time.Time, cal *sla.Calendar) Sales {
	byRep := map[string][]Assignment{}
	for _, a := range as {
		byRep[a.Rep] = append(byRep[a.Rep], a)
	}
	reps := make([]RepSLA, 0, len(byRep))
	for rep, ras := range byRep {
		reps = append(reps, RepSLA{Rep: rep, Tally: tally(ras, now, cal)})
	}
	slices.SortFunc(reps, func(a, b RepSLA) int { return strings.Compare(a.Rep, b.Rep) })
	return Sales{Tally: tally(as, now, cal), Reps: reps, SpeedToLead: speedToLead(as)}
}

func tally(as []Assignment, now time.Time, cal *sla.Calendar) Tally {
	var t Tally
	var toAccept, toRespond, toTouch []time.Duration
	var decided, touchDecided int
	for _, a := range as {
		t.Assigned++
		accepted, rejected := !a.AcceptedAt.IsZero(), !a.RejectedAt.IsZero()
		var answeredAt time.Time
		switch {
		case accepted:
			t.Accepted++
			answeredAt = a.AcceptedAt
			toAccept = append(toAccept, cal.Elapsed(a.AssignedAt, a.AcceptedAt))
		case rejected:
			t.Rejected++
			answeredAt = a.RejectedAt
		case !a.Breached:
			t.Open++
		}
		if a.Breached {
			t.Breached++
		}
		answered := !answeredAt.IsZero()
		if answered {
			toRespond = append(toRespond, cal.Elapsed(a.AssignedAt, answeredAt))
		}
		if !a.DueAt.IsZero() {
			switch {
			case answered:
				decided++
				if !answeredAt.After(a.DueAt) {
					t.WithinSLA++
				}
			case a.Breached || a.DueAt.Before(now):
				decided++
			}
		}

		touched := !a.FirstTouchAt.IsZero()
		if touched {
			toTouch = append(toTouch, cal.Elapsed(a.AssignedAt, a.FirstTouchAt))
		}
		if !a.TouchDueAt.IsZero() {
			switch {
			case touched:
				touchDecided++
				if !a.FirstTouchAt.After(a.TouchDueAt) {
					t.FirstTouchWithin++
				}
			case !accepted && rejected && !a.RejectedAt.After(a.TouchDueAt):
				// The rep gave the lead back in time; there was nothing to touch.
			case a.TouchDueAt.Before(now):
				touchDecided++
			}
		}
	}
	t.WithinSLAShare = share(t.WithinSLA, decided)
	t.MedianTimeToAccept = median(toAccept)
	t.MedianTimeToRespond = median(toRespond)
	t.FirstTouchWithinShare = share(t.FirstTouchWithin, touchDecided)
	t.MedianTimeToFirstTouch = median(toTouch)
	return t
}

func marketing(in Input, as []Assignment, mqls []time.Time, loc *time.Location) Marketing {
	m := Marketing{
		MQLs:      len(mqls),
		Target:    in.Target.Count,
		TargetPer: in.Target.Per,
	}
	elapsed := elapsedShare(in.Period, in.Now)
	m.Expected = float64(m.Target) * elapsed
	if elapsed > 0 {
		m.Projected = float64(m.MQLs) / elapsed
	}
	switch {
	case m.Target <= 0:
		m.Pacing = PacingNoTarget
	case m.MQLs >= m.Target:
		m.Pacing = PacingMet
	case m.Projected >= float64(m.Target):
		m.Pacing = PacingOnTrack
	default:
		m.Pacing = PacingBehind
	}

	var accepted, rejected int
	counts := map[string]int{}
	for _, a := range as {
		switch {
		case !a.AcceptedAt.IsZero():
			accepted++
		case !a.RejectedAt.IsZero():
			rejected++
			counts[a.Reason]++
		}
	}
	m.AcceptanceRate = share(accepted, accepted+rejected)
	known := map[string]bool{}
	for _, r := range in.Reasons {
		if known[r] {
			continue
		}
		known[r] = true
		m.Rejections = append(m.Rejections, ReasonCount{Reason: r, Known: true, Count: counts[r], Share: share(counts[r], rejected)})
	}
	var others []string
	for r := range counts {
		if !known[r] {
			others = append(others, r)
		}
	}
	slices.Sort(others)
	for _, r := range others {
		m.Rejections = append(m.Rejections, ReasonCount{Reason: r, Count: counts[r], Share: share(counts[r], rejected)})
	}

	m.Weekly = weekly(in.Period, in.Now, loc, mqls, m.Target)
	m.RejectionsWeekly = rejectionsByWeek(as, m.Weekly, m.Rejections)
	return m
}

// weekly splits p into weeks starting on Monday in loc and counts the sorted mqls,
// all within p, in each.
func weekly(p Period, now time.Time, loc *time.Location, mqls []time.Time, target int) []WeekCount {
	var weeks []WeekCount
	from := p.From.In(loc)
	y, m, d := from.Date()
	d -= (int(from.Weekday()) + 6) % 7 // back to Monday
	cum, i := 0, 0
	for start := from; start.Before(p.To); {
		d += 7
		end := startOfDay(y, m, d, loc)
		if end.After(p.To) {
			end = p.To.In(loc)
		}
		if !end.After(start) {
			break // not reached with tzdata's zones
		}
		n := 0
		for ; i < len(mqls) && mqls[i].Before(end); i++ {
			n++
		}
		cum += n
		w := WeekCount{From: start, To: end, MQLs: n, CumulativeTarget: float64(target) * elapsedShare(p, end)}
		if start.Before(now) {
			c := cum
			w.Cumulative = &c
		}
		weeks = append(weeks, w)
		start = end
	}
	return weeks
}

// elapsedShare returns the share of p elapsed at t, in calendar time: 0 before p, 1
// after it.
func elapsedShare(p Period, t time.Time) float64 {
	if !p.To.After(p.From) {
		return 0
	}
	switch {
	case !t.After(p.From):
		return 0
	case !t.Before(p.To):
		return 1
	}
	return float64(t.Sub(p.From)) / float64(p.To.Sub(p.From))
}

// share returns n/of, nil when of is zero.
func share(n, of int) *float64 {
	if of == 0 {
		return nil
	}
	s := float64(n) / float64(of)
	return &s
}

// median returns the median of ds, the mean of the two middle ones for an even
// count, and nil for none. It sorts ds.
func median(ds []time.Duration) *Duration {
	if len(ds) == 0 {
		return nil
	}
	slices.Sort(ds)
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		lo := ds[len(ds)/2-1]
		m = lo + (m-lo)/2 // no overflow: lo <= m
	}
	d := Duration(m)
	return &d
}
