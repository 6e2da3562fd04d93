package report_test

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"tandem/agreement"
	"tandem/report"
	"tandem/sla"
)

const newYork = "America/New_York"

// reasons are the recycle reasons of the default agreement.
var reasons = []string{"no_budget", "bad_timing", "not_decision_maker", "poor_fit", "no_response", "duplicate"}

func mustLocation(tb testing.TB, tz string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		tb.Fatalf("LoadLocation: %v", err)
	}
	return loc
}

// mustOffice returns the calendar of Monday to Friday, 09:00-17:00 in New York.
func mustOffice(tb testing.TB) *sla.Calendar {
	tb.Helper()
	var h agreement.BusinessHours
	for d := time.Monday; d <= time.Friday; d++ {
		h.Days[d] = true
	}
	h.Open, h.Close = 9*time.Hour, 17*time.Hour
	c, err := sla.New(h, mustLocation(tb, newYork))
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

// mustTime reads "2026-04-10 15:00" in tz, or "2026-11-01 01:30 -0500" where the wall
// time alone is ambiguous; seconds may follow the minutes.
func mustTime(tb testing.TB, tz, s string) time.Time {
	tb.Helper()
	loc := mustLocation(tb, tz)
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t
		}
	}
	for _, layout := range []string{"2006-01-02 15:04 -0700", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.In(loc)
		}
	}
	tb.Fatalf("time %q: want 2006-01-02 15:04[:05][ -0700]", s)
	return time.Time{}
}

func ptr[T any](v T) *T { return &v }

// dur returns the report duration of s, such as "1h52m30s".
func dur(tb testing.TB, s string) *report.Duration {
	tb.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		tb.Fatalf("ParseDuration: %v", err)
	}
	return ptr(report.Duration(d))
}

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
	chen  = "chen@example.com"
)

// fixture is a second quarter of 2026 in New York, reported at Saturday 2026-05-16
// 12:00 EDT, with an SLA of 4 business hours to accept or reject and 8 to first touch
// on the calendar Monday to Friday, 09:00-17:00. The quarter has no DST change and no
// holiday, so every business day is 8 hours and every time below is EDT (-0400).
//
// The quarter runs from Wed Apr 1 00:00 to Wed Jul 1 00:00: 30 + 31 + 30 = 91 days
// (2184h, exactly 13 weeks). Now is 45 days 12 hours (1092h) in: half of it.
//
// The deadlines, computed by hand (TestFixtureDeadlines checks them with Calendar.Add):
//
//	#  rep    assigned          due (+4h)          touch due (+8h)
//	1  alice  Fri Apr 10 15:00  Mon Apr 13 11:00   Mon Apr 13 15:00   2h Friday, rest Monday
//	2  alice  Tue Apr 14 16:30  Wed Apr 15 12:30   Wed Apr 15 16:30   30m Tuesday night, rest Wednesday
//	3  bob    Mon Apr 20 10:00  Mon Apr 20 14:00   Tue Apr 21 10:00   7h Monday, 1h Tuesday
//	4  bob    Thu Apr 23 15:00  Fri Apr 24 11:00   Fri Apr 24 15:00   2h Thursday, rest Friday
//	5  chen   Fri Apr 24 11:00  Fri Apr 24 15:00   Mon Apr 27 11:00   6h Friday, 2h Monday
//	6  chen   Wed May 6 16:00   Thu May 7 12:00    Thu May 7 16:00    1h Wednesday, rest Thursday
//	7  chen   Fri May 15 10:00  Fri May 15 14:00   Mon May 18 10:00   7h Friday, 1h Monday
//	8  alice  Fri May 15 16:00  Mon May 18 12:00   Mon May 18 16:00   1h Friday, rest Monday
//	9  bob    Tue Mar 31 16:00  (before the quarter: ignored)
//
// What happened, with business time from assignment (wall time in brackets where it
// differs):
//
//  1. accepted Mon 10:00, 2h Fri + 1h Mon = 3h [67h], on time; touched Mon 10:30,
//     3h30m [67h30m], on time. Across a weekend.
//  2. rejected poor_fit Wed 09:15, 30m + 15m = 45m [16h45m], on time; never touched, but
//     rejected before its touch deadline, so out of the touch figures. Across a night.
//  3. breached at 14:00 and escalated; accepted Mon 16:30, 6h30m, late; touched Tue
//     11:00, 7h + 2h = 9h [25h], late.
//  4. breached at Fri 11:00 and reassigned to chen (5); no answer, no touch, and its
//     touch deadline Fri 15:00 passed: late on both.
//  5. rejected "spam" (not an agreement reason) Fri 13:00, 2h, on time; not touched,
//     rejected before its touch deadline: out of the touch figures.
//  6. accepted Thu 09:30, 1h + 30m = 1h30m [17h30m], on time; touched Thu 13:00, 1h + 4h
//     = 5h [21h], on time.
//  7. open and overdue: due Fri 14:00, no answer, the breach not (yet) marked; touched
//     Fri 10:20, 20m, on time.
//  8. open, not yet due (Mon 12:00); touched Fri 16:45, 45m, on time.
func fixture(tb testing.TB) report.Input {
	tb.Helper()
	at := func(s string) time.Time { return mustTime(tb, newYork, s) }
	loc := mustLocation(tb, newYork)
	return report.Input{
		Period:   report.Quarter(at("2026-05-16 12:00"), loc),
		Now:      at("2026-05-16 12:00"),
		Calendar: mustOffice(tb),
		Location: loc,
		Target:   agreement.Target{Per: "quarter", Count: 300},
		Reasons:  reasons,
		MQLs: []time.Time{
			at("2026-03-31 23:59:59"), // before the quarter: ignored
			at("2026-04-01 00:00"),    // week 1, the first instant of the quarter
			at("2026-04-03 14:00"),    // week 1
			at("2026-04-10 14:50"),    // week 2
			at("2026-04-14 16:20"),    // week 3
			at("2026-04-23 14:50"),    // week 4, listed out of order
			at("2026-04-20 09:55"),    // week 4
			at("2026-04-27 00:00"),    // week 5, the first instant of its Monday
			at("2026-05-06 15:40"),    // week 6
			at("2026-05-15 09:50"),    // week 7
			at("2026-05-15 15:55"),    // week 7
			at("2026-07-01 00:00"),    // the end of the quarter, not in it: ignored
		},
		Assignments: []report.Assignment{
			{ID: 1, Rep: alice, AssignedAt: at("2026-04-10 15:00"), DueAt: at("2026-04-13 11:00"), TouchDueAt: at("2026-04-13 15:00"),
				AcceptedAt: at("2026-04-13 10:00"), FirstTouchAt: at("2026-04-13 10:30")},
			{ID: 2, Rep: alice, AssignedAt: at("2026-04-14 16:30"), DueAt: at("2026-04-15 12:30"), TouchDueAt: at("2026-04-15 16:30"),
				RejectedAt: at("2026-04-15 09:15"), Reason: "poor_fit"},
			{ID: 3, Rep: bob, AssignedAt: at("2026-04-20 10:00"), DueAt: at("2026-04-20 14:00"), TouchDueAt: at("2026-04-21 10:00"),
				Breached: true, AcceptedAt: at("2026-04-20 16:30"), FirstTouchAt: at("2026-04-21 11:00")},
			{ID: 4, Rep: bob, AssignedAt: at("2026-04-23 15:00"), DueAt: at("2026-04-24 11:00"), TouchDueAt: at("2026-04-24 15:00"),
				Breached: true},
			{ID: 5, Rep: chen, AssignedAt: at("2026-04-24 11:00"), DueAt: at("2026-04-24 15:00"), TouchDueAt: at("2026-04-27 11:00"),
				RejectedAt: at("2026-04-24 13:00"), Reason: "spam"},
			{ID: 6, Rep: chen, AssignedAt: at("2026-05-06 16:00"), DueAt: at("2026-05-07 12:00"), TouchDueAt: at("2026-05-07 16:00"),
				AcceptedAt: at("2026-05-07 09:30"), FirstTouchAt: at("2026-05-07 13:00")},
			{ID: 7, Rep: chen, AssignedAt: at("2026-05-15 10:00"), DueAt: at("2026-05-15 14:00"), TouchDueAt: at("2026-05-18 10:00"),
				FirstTouchAt: at("2026-05-15 10:20")},
			{ID: 8, Rep: alice, AssignedAt: at("2026-05-15 16:00"), DueAt: at("2026-05-18 12:00"), TouchDueAt: at("2026-05-18 16:00"),
				FirstTouchAt: at("2026-05-15 16:45")},
			{ID: 9, Rep: bob, AssignedAt: at("2026-03-31 16:00"), DueAt: at("2026-04-01 12:00"), TouchDueAt: at("2026-04-01 16:00"),
				AcceptedAt: at("2026-03-31 16:10"), FirstTouchAt: at("2026-03-31 16:20")},
		},
	}
}

// TestFixtureDeadlines checks the hand-computed deadlines of the fixture against the
// calendar, so that the report's expectations rest on true deadlines.
func TestFixtureDeadlines(t *testing.T) {
	in := fixture(t)
	for _, a := range in.Assignments {
		if got := in.Calendar.Add(a.AssignedAt, 4*time.Hour); !got.Equal(a.DueAt) {
			t.Errorf("assignment %d: Add(AssignedAt, 4h) = %v, fixture DueAt %v", a.ID, got, a.DueAt)
		}
		if got := in.Calendar.Add(a.AssignedAt, 8*time.Hour); !got.Equal(a.TouchDueAt) {
			t.Errorf("assignment %d: Add(AssignedAt, 8h) = %v, fixture TouchDueAt %v", a.ID, got, a.TouchDueAt)
		}
	}
}

func TestSLA(t *testing.T) {
	in := fixture(t)
	got := report.SLA(in)
	at := func(s string) time.Time { return mustTime(t, newYork, s) }

	if !got.Period.From.Equal(at("2026-04-01 00:00")) || !got.Period.To.Equal(at("2026-07-01 00:00")) {
		t.Errorf("Period = %v, want 2026-04-01 to 2026-07-01 in New York", got.Period)
	}
	if !got.AsOf.Equal(in.Now) {
		t.Errorf("AsOf = %v, want %v", got.AsOf, in.Now)
	}

	// Sales, over assignments 1-8 (9 is before the quarter).
	//
	//   Assigned 8. Accepted 3 (1, 3, 6). Rejected 2 (2, 5). Open 2 (7, 8). Breached 2
	//   (3, 4); 3 + 2 + 2 + 1 breached without an answer (4) = 8.
	//   Time to accept 3h, 6h30m, 1h30m: sorted 1h30m, 3h, 6h30m, median 3h.
	//   Time to respond 3h, 45m, 6h30m, 2h, 1h30m: sorted 45m, 1h30m, 2h, 3h, 6h30m,
	//   median 2h.
	//   Within SLA 4 (1, 2, 5, 6; 3 was late). Known outcomes 7: the 5 answered, 4
	//   (breached) and 7 (due Fri May 15 14:00, before Now); 8 is still due. 4/7.
	//   First touch: on time 1, 6, 7, 8 = 4; late 3 (touched late) and 4 (untouched past
	//   Fri Apr 24 15:00); 2 and 5 left out (rejected before their touch deadline).
	//   4/6 = 2/3. Times to touch 3h30m, 9h, 5h, 20m, 45m: sorted 20m, 45m, 3h30m, 5h, 9h,
	//   median 3h30m.
	checkTally(t, "Sales", got.Sales.Tally, report.Tally{
		Assigned: 8, Accepted: 3, Rejected: 2, Open: 2, Breached: 2,
		WithinSLA: 4, WithinSLAShare: ptr(4.0 / 7),
		MedianTimeToAccept: dur(t, "3h"), MedianTimeToRespond: dur(t, "2h"),
		FirstTouchWithin: 4, FirstTouchWithinShare: ptr(4.0 / 6),
		MedianTimeToFirstTouch: dur(t, "3h30m"),
	})

	// Per rep, sorted by email.
	wantReps := []report.RepSLA{
		// alice: 1, 2, 8. Accepted 1, rejected 2, 8 open. Within SLA 1 and 2 of 2 known
		// (8 not yet due). Accept 3h. Respond 45m and 3h: (45m + 180m)/2 = 112m30s =
		// 1h52m30s. Touch: 1 and 8 on time, 2 left out: 2/2. Touch times 3h30m and 45m:
		// (210m + 45m)/2 = 127m30s = 2h7m30s.
		{Rep: alice, Tally: report.Tally{
			Assigned: 3, Accepted: 1, Rejected: 1, Open: 1, Breached: 0,
			WithinSLA: 2, WithinSLAShare: ptr(1.0),
			MedianTimeToAccept: dur(t, "3h"), MedianTimeToRespond: dur(t, "1h52m30s"),
			FirstTouchWithin: 2, FirstTouchWithinShare: ptr(1.0),
			MedianTimeToFirstTouch: dur(t, "2h7m30s"),
		}},
		// bob: 3, 4, both breached, 4 reassigned away and still his. Within SLA 0 of 2
		// known (3 late, 4 breached). Accept and respond 6h30m (3). Touch: 3 late, 4
		// late: 0/2. Touch time 9h (3).
		{Rep: bob, Tally: report.Tally{
			Assigned: 2, Accepted: 1, Rejected: 0, Open: 0, Breached: 2,
			WithinSLA: 0, WithinSLAShare: ptr(0.0),
			MedianTimeToAccept: dur(t, "6h30m"), MedianTimeToRespond: dur(t, "6h30m"),
			FirstTouchWithin: 0, FirstTouchWithinShare: ptr(0.0),
			MedianTimeToFirstTouch: dur(t, "9h"),
		}},
		// chen: 5, 6, 7. Accepted 6, rejected 5, 7 open and overdue. Within SLA 5 and 6
		// of 3 known (7 overdue): 2/3. Accept 1h30m (6). Respond 2h and 1h30m: 1h45m.
		// Touch: 6 and 7 on time, 5 left out: 2/2. Touch times 5h and 20m: (300m +
		// 20m)/2 = 160m = 2h40m.
		{Rep: chen, Tally: report.Tally{
			Assigned: 3, Accepted: 1, Rejected: 1, Open: 1, Breached: 0,
			WithinSLA: 2, WithinSLAShare: ptr(2.0 / 3),
			MedianTimeToAccept: dur(t, "1h30m"), MedianTimeToRespond: dur(t, "1h45m"),
			FirstTouchWithin: 2, FirstTouchWithinShare: ptr(1.0),
			MedianTimeToFirstTouch: dur(t, "2h40m"),
		}},
	}
	if len(got.Sales.Reps) != len(wantReps) {
		t.Fatalf("got %d reps, want %d: %+v", len(got.Sales.Reps), len(wantReps), got.Sales.Reps)
	}
	for i, w := range wantReps {
		g := got.Sales.Reps[i]
		if g.Rep != w.Rep {
			t.Errorf("Reps[%d].Rep = %q, want %q", i, g.Rep, w.Rep)
		}
		checkTally(t, "Reps["+w.Rep+"]", g.Tally, w.Tally)
	}

	// Marketing.
	//
	//   MQLs 10 (12 listed, 2 outside the quarter). Half the quarter has elapsed:
	//   Expected 300 × 1/2 = 150, Projected 10 / (1/2) = 20 < 300: behind.
	//   Acceptance 3 / (3 + 2) = 0.6. Rejections: poor_fit 1 and spam 1 of 2.
	m := got.Marketing
	if m.MQLs != 10 || m.Target != 300 || m.TargetPer != "quarter" {
		t.Errorf("MQLs, Target, TargetPer = %d, %d, %q, want 10, 300, quarter", m.MQLs, m.Target, m.TargetPer)
	}
	checkFloat(t, "Expected", m.Expected, 150)
	checkFloat(t, "Projected", m.Projected, 20)
	if m.Pacing != report.PacingBehind {
		t.Errorf("Pacing = %q, want %q", m.Pacing, report.PacingBehind)
	}
	checkShare(t, "AcceptanceRate", m.AcceptanceRate, ptr(0.6))

	wantRejections := []report.ReasonCount{
		{Reason: "no_budget", Known: true, Count: 0, Share: ptr(0.0)},
		{Reason: "bad_timing", Known: true, Count: 0, Share: ptr(0.0)},
		{Reason: "not_decision_maker", Known: true, Count: 0, Share: ptr(0.0)},
		{Reason: "poor_fit", Known: true, Count: 1, Share: ptr(0.5)},
		{Reason: "no_response", Known: true, Count: 0, Share: ptr(0.0)},
		{Reason: "duplicate", Known: true, Count: 0, Share: ptr(0.0)},
		{Reason: "spam", Known: false, Count: 1, Share: ptr(0.5)},
	}
	checkRejections(t, m.Rejections, wantRejections)

	// Weeks start on Monday; the quarter starts on a Wednesday and ends on a
	// Wednesday, so its first week has 5 days (Apr 1-5), then 12 whole weeks, then 2
	// days (Jun 29-30): 5 + 84 + 2 = 91. The target line at a week's end is 300 × (days
	// from Apr 1) / 91. Weeks 8 on start after Now (Sat May 16): no cumulative count.
	type week struct {
		from, to string
		days     int // from Apr 1 to the week's end
		mqls     int
		cum      int // -1 for none
	}
	wantWeeks := []week{
		{"2026-04-01 00:00", "2026-04-06 00:00", 5, 2, 2},
		{"2026-04-06 00:00", "2026-04-13 00:00", 12, 1, 3},
		{"2026-04-13 00:00", "2026-04-20 00:00", 19, 1, 4},
		{"2026-04-20 00:00", "2026-04-27 00:00", 26, 2, 6},
		{"2026-04-27 00:00", "2026-05-04 00:00", 33, 1, 7},
		{"2026-05-04 00:00", "2026-05-11 00:00", 40, 1, 8},
		{"2026-05-11 00:00", "2026-05-18 00:00", 47, 2, 10},
		{"2026-05-18 00:00", "2026-05-25 00:00", 54, 0, -1},
		{"2026-05-25 00:00", "2026-06-01 00:00", 61, 0, -1},
		{"2026-06-01 00:00", "2026-06-08 00:00", 68, 0, -1},
		{"2026-06-08 00:00", "2026-06-15 00:00", 75, 0, -1},
		{"2026-06-15 00:00", "2026-06-22 00:00", 82, 0, -1},
		{"2026-06-22 00:00", "2026-06-29 00:00", 89, 0, -1},
		{"2026-06-29 00:00", "2026-07-01 00:00", 91, 0, -1},
	}
	if len(m.Weekly) != len(wantWeeks) {
		t.Fatalf("got %d weeks, want %d", len(m.Weekly), len(wantWeeks))
	}
	for i, w := range wantWeeks {
		g := m.Weekly[i]
		name := fmt.Sprintf("Weekly[%d]", i)
		if !g.From.Equal(at(w.from)) || !g.To.Equal(at(w.to)) {
			t.Errorf("%s = %v to %v, want %s to %s", name, g.From, g.To, w.from, w.to)
		}
		if g.MQLs != w.mqls {
			t.Errorf("%s.MQLs = %d, want %d", name, g.MQLs, w.mqls)
		}
		switch {
		case w.cum < 0 && g.Cumulative != nil:
			t.Errorf("%s.Cumulative = %d, want nil", name, *g.Cumulative)
		case w.cum >= 0 && (g.Cumulative == nil || *g.Cumulative != w.cum):
			t.Errorf("%s.Cumulative = %v, want %d", name, g.Cumulative, w.cum)
		}
		checkFloat(t, name+".CumulativeTarget", g.CumulativeTarget, 300*float64(w.days)/91)
	}
}

// TestSLAEmpty is a period with no facts: every count zero, every share and median
// nil, and the agreement's reasons still listed.
func TestSLAEmpty(t *testing.T) {
	loc := mustLocation(t, newYork)
	now := mustTime(t, newYork, "2026-02-15 12:00")
	got := report.SLA(report.Input{
		Period:   report.Month(now, loc),
		Now:      now,
		Calendar: mustOffice(t),
		Target:   agreement.Target{Per: "month", Count: 100},
		Reasons:  []string{"no_budget", "duplicate", "no_budget"},
	})
	checkTally(t, "Sales", got.Sales.Tally, report.Tally{})
	if got.Sales.Reps == nil || len(got.Sales.Reps) != 0 {
		t.Errorf("Reps = %#v, want empty, not nil", got.Sales.Reps)
	}
	if got.Marketing.AcceptanceRate != nil {
		t.Errorf("AcceptanceRate = %v, want nil", *got.Marketing.AcceptanceRate)
	}
	// The repeated reason is listed once.
	checkRejections(t, got.Marketing.Rejections, []report.ReasonCount{
		{Reason: "no_budget", Known: true},
		{Reason: "duplicate", Known: true},
	})
	// February 2026 starts on a Sunday: weeks Feb 1, 2, 9, 16, 23; the location comes
	// from Period.From.
	if n := len(got.Marketing.Weekly); n != 5 {
		t.Fatalf("got %d weeks, want 5", n)
	}
	if w := got.Marketing.Weekly[1]; !w.From.Equal(mustTime(t, newYork, "2026-02-02 00:00")) {
		t.Errorf("Weekly[1].From = %v, want Mon 2026-02-02 00:00", w.From)
	}
}

// TestSLADeadlines covers the edges of when an outcome is known. The lead is assigned
// Tue 2026-02-10 10:00, due 14:00 that day and to be touched by Wed 10:00.
func TestSLADeadlines(t *testing.T) {
	at := func(s string) time.Time { return mustTime(t, newYork, s) }
	assigned, due, touchDue := at("2026-02-10 10:00"), at("2026-02-10 14:00"), at("2026-02-11 10:00")
	tests := []struct {
		name                  string
		a                     report.Assignment
		noDeadlines           bool
		now                   string
		wantWithin, wantTouch *float64
	}{
		{name: "answered at the deadline is on time", a: report.Assignment{AcceptedAt: due, FirstTouchAt: touchDue}, now: "2026-02-12 12:00", wantWithin: ptr(1.0), wantTouch: ptr(1.0)},
		{name: "unanswered at the deadline may yet be on time", now: "2026-02-10 14:00", wantWithin: nil, wantTouch: nil},
		{name: "unanswered past the deadline is late", now: "2026-02-10 14:01", wantWithin: ptr(0.0), wantTouch: nil},
		{name: "breached is late whatever the time", a: report.Assignment{Breached: true}, now: "2026-02-10 13:00", wantWithin: ptr(0.0), wantTouch: nil},
		{name: "rejected untouched by the touch deadline is left out", a: report.Assignment{RejectedAt: at("2026-02-10 11:00")}, now: "2026-02-12 12:00", wantWithin: ptr(1.0), wantTouch: nil},
		{name: "rejected untouched after the touch deadline is late to touch", a: report.Assignment{RejectedAt: at("2026-02-11 10:30")}, now: "2026-02-12 12:00", wantWithin: ptr(0.0), wantTouch: ptr(0.0)},
		{name: "accepted untouched past the touch deadline is late to touch", a: report.Assignment{AcceptedAt: at("2026-02-10 11:00")}, now: "2026-02-12 12:00", wantWithin: ptr(1.0), wantTouch: ptr(0.0)},
		{name: "no deadlines, no shares", a: report.Assignment{AcceptedAt: at("2026-02-10 11:00"), FirstTouchAt: at("2026-02-10 11:00")}, noDeadlines: true, now: "2026-02-12 12:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Rep, a.AssignedAt = alice, assigned
			if !tt.noDeadlines {
				a.DueAt, a.TouchDueAt = due, touchDue
			}
			now := at(tt.now)
			got := report.SLA(report.Input{
				Period:      report.Month(now, now.Location()),
				Now:         now,
				Calendar:    mustOffice(t),
				Assignments: []report.Assignment{a},
			})
			checkShare(t, "WithinSLAShare", got.Sales.WithinSLAShare, tt.wantWithin)
			checkShare(t, "FirstTouchWithinShare", got.Sales.FirstTouchWithinShare, tt.wantTouch)
		})
	}
}

func TestPacing(t *testing.T) {
	loc := mustLocation(t, newYork)
	q2 := report.Quarter(mustTime(t, newYork, "2026-05-01 12:00"), loc)
	half := mustTime(t, newYork, "2026-05-16 12:00") // 1092h of 2184h
	tests := []struct {
		name          string
		target        int
		mqls          int
		now           time.Time
		wantExpected  float64
		wantProjected float64
		want          string
	}{
		{name: "met", target: 5, mqls: 5, now: half, wantExpected: 2.5, wantProjected: 10, want: report.PacingMet},
		{name: "met early, above target", target: 5, mqls: 8, now: half, wantExpected: 2.5, wantProjected: 16, want: report.PacingMet},
		// 150 / (1/2) = 300: on track exactly.
		{name: "on track", target: 300, mqls: 150, now: half, wantExpected: 150, wantProjected: 300, want: report.PacingOnTrack},
		{name: "behind", target: 300, mqls: 149, now: half, wantExpected: 150, wantProjected: 298, want: report.PacingBehind},
		{name: "no target", target: 0, mqls: 10, now: half, wantExpected: 0, wantProjected: 20, want: report.PacingNoTarget},
		{name: "at the start nothing has elapsed", target: 300, mqls: 0, now: q2.From, wantExpected: 0, wantProjected: 0, want: report.PacingBehind},
		{name: "before the period, clamped", target: 300, mqls: 0, now: q2.From.Add(-time.Hour), wantExpected: 0, wantProjected: 0, want: report.PacingBehind},
		{name: "after the period, clamped", target: 300, mqls: 299, now: q2.To.Add(24 * time.Hour), wantExpected: 300, wantProjected: 299, want: report.PacingBehind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mqls := make([]time.Time, tt.mqls)
			for i := range mqls {
				mqls[i] = q2.From.Add(time.Duration(i) * time.Minute)
			}
			got := report.SLA(report.Input{
				Period:   q2,
				Now:      tt.now,
				Calendar: mustOffice(t),
				Target:   agreement.Target{Per: "quarter", Count: tt.target},
				MQLs:     mqls,
			}).Marketing
			if got.Pacing != tt.want {
				t.Errorf("Pacing = %q, want %q", got.Pacing, tt.want)
			}
			checkFloat(t, "Expected", got.Expected, tt.wantExpected)
			checkFloat(t, "Projected", got.Projected, tt.wantProjected)
		})
	}
}

func TestQuarter(t *testing.T) {
	tests := []struct {
		name     string
		tz       string
		t        string
		from, to string
		hours    int // To - From, in real hours
	}{
		{name: "middle of Q1", tz: newYork, t: "2026-02-15 12:00", from: "2026-01-01 00:00", to: "2026-04-01 00:00", hours: 90*24 - 1},
		// Spring forward on Mar 8: Q1 loses an hour.
		{name: "DST spring forward day", tz: newYork, t: "2026-03-08 03:30", from: "2026-01-01 00:00", to: "2026-04-01 00:00", hours: 90*24 - 1},
		{name: "first instant of Q2", tz: newYork, t: "2026-04-01 00:00", from: "2026-04-01 00:00", to: "2026-07-01 00:00", hours: 91 * 24},
		{name: "last second of Q2", tz: newYork, t: "2026-06-30 23:59:59", from: "2026-04-01 00:00", to: "2026-07-01 00:00", hours: 91 * 24},
		// Fall back on Nov 1: Q4 gains an hour; 01:30 EST is the second showing.
		{name: "DST fall back, second 01:30", tz: newYork, t: "2026-11-01 01:30 -0500", from: "2026-10-01 00:00", to: "2027-01-01 00:00", hours: 92*24 + 1},
		{name: "year end", tz: newYork, t: "2026-12-31 23:59:59", from: "2026-10-01 00:00", to: "2027-01-01 00:00", hours: 92*24 + 1},
		{name: "new year", tz: newYork, t: "2027-01-01 00:00", from: "2027-01-01 00:00", to: "2027-04-01 00:00", hours: 90*24 - 1},
		// Asunción skipped 2023-10-01 00:00: Q4 starts at the jump, 01:00 -03.
		{name: "quarter starting at a skipped midnight", tz: "America/Asuncion", t: "2023-10-15 12:00", from: "2023-10-01 01:00", to: "2024-01-01 00:00", hours: 92*24 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLocation(t, tt.tz)
			// Pass t in UTC: the quarter is of t's date in loc, not in t's location.
			in := mustTime(t, tt.tz, tt.t).UTC()
			checkPeriod(t, report.Quarter(in, loc), mustTime(t, tt.tz, tt.from), mustTime(t, tt.tz, tt.to), tt.hours)
			checkPeriod(t, report.PeriodOf("quarter", in, loc), mustTime(t, tt.tz, tt.from), mustTime(t, tt.tz, tt.to), tt.hours)
		})
	}
}

func TestMonth(t *testing.T) {
	tests := []struct {
		name     string
		tz       string
		t        string
		from, to string
		hours    int
	}{
		{name: "DST spring forward day", tz: newYork, t: "2026-03-08 03:30", from: "2026-03-01 00:00", to: "2026-04-01 00:00", hours: 31*24 - 1},
		{name: "DST fall back, first 01:30", tz: newYork, t: "2026-11-01 01:30 -0400", from: "2026-11-01 00:00", to: "2026-12-01 00:00", hours: 30*24 + 1},
		{name: "last second of October", tz: newYork, t: "2026-10-31 23:59:59", from: "2026-10-01 00:00", to: "2026-11-01 00:00", hours: 31 * 24},
		{name: "year end", tz: newYork, t: "2026-12-31 23:30", from: "2026-12-01 00:00", to: "2027-01-01 00:00", hours: 31 * 24},
		{name: "new year", tz: newYork, t: "2027-01-01 00:00", from: "2027-01-01 00:00", to: "2027-02-01 00:00", hours: 31 * 24},
		{name: "leap February", tz: newYork, t: "2028-02-29 12:00", from: "2028-02-01 00:00", to: "2028-03-01 00:00", hours: 29 * 24},
		// The month before Asunción's skipped midnight ends at the jump, not an hour
		// before it; the hour skipped is October's, so September keeps 30 × 24h.
		{name: "month ending at a skipped midnight", tz: "America/Asuncion", t: "2023-09-30 23:30", from: "2023-09-01 00:00", to: "2023-10-01 01:00", hours: 30 * 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := mustLocation(t, tt.tz)
			in := mustTime(t, tt.tz, tt.t).UTC()
			checkPeriod(t, report.Month(in, loc), mustTime(t, tt.tz, tt.from), mustTime(t, tt.tz, tt.to), tt.hours)
			checkPeriod(t, report.PeriodOf("month", in, loc), mustTime(t, tt.tz, tt.from), mustTime(t, tt.tz, tt.to), tt.hours)
		})
	}
}

// TestPeriodOfNoTarget: an agreement without a target has an empty per; it reports
// by quarter.
func TestPeriodOfNoTarget(t *testing.T) {
	loc := mustLocation(t, newYork)
	now := mustTime(t, newYork, "2026-05-16 12:00")
	if got, want := report.PeriodOf("", now, loc), report.Quarter(now, loc); got != want {
		t.Errorf("PeriodOf(\"\") = %v, want %v", got, want)
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{400 * time.Millisecond, "0s"},
		{1500 * time.Millisecond, "2s"},
		{45 * time.Minute, "45m"},
		{3 * time.Hour, "3h"},
		{time.Hour + 52*time.Minute + 30*time.Second, "1h52m30s"},
		{26*time.Hour + 5*time.Second, "26h5s"},
		{-90 * time.Minute, "-1h30m"},
	}
	for _, tt := range tests {
		if got := report.Duration(tt.d).String(); got != tt.want {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestSLAJSON checks the JSON shape clients read: snake_case, a tally's fields at the
// level of sales and of each rep, durations as seconds and text, and null for a share
// or median that does not exist.
func TestSLAJSON(t *testing.T) {
	r := report.SLA(fixture(t))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	get := func(path ...any) any {
		var cur any = v
		for _, p := range path {
			switch p := p.(type) {
			case string:
				cur = cur.(map[string]any)[p]
			case int:
				cur = cur.([]any)[p]
			}
		}
		return cur
	}
	tests := []struct {
		path []any
		want any
	}{
		{[]any{"period", "from"}, "2026-04-01T00:00:00-04:00"},
		{[]any{"period", "to"}, "2026-07-01T00:00:00-04:00"},
		{[]any{"as_of"}, "2026-05-16T12:00:00-04:00"},
		{[]any{"sales", "assigned"}, 8.0},
		{[]any{"sales", "within_sla_share"}, 4.0 / 7},
		{[]any{"sales", "median_time_to_respond", "seconds"}, 7200.0},
		{[]any{"sales", "median_time_to_respond", "text"}, "2h"},
		{[]any{"sales", "reps", 0, "rep"}, alice},
		{[]any{"sales", "reps", 0, "median_time_to_respond", "seconds"}, 6750.0},
		{[]any{"sales", "reps", 0, "median_time_to_respond", "text"}, "1h52m30s"},
		{[]any{"sales", "reps", 1, "breached"}, 2.0},
		{[]any{"marketing", "mqls"}, 10.0},
		{[]any{"marketing", "target_per"}, "quarter"},
		{[]any{"marketing", "pacing"}, "behind"},
		{[]any{"marketing", "acceptance_rate"}, 0.6},
		{[]any{"marketing", "rejections", 6, "reason"}, "spam"},
		{[]any{"marketing", "rejections", 6, "known"}, false},
		{[]any{"marketing", "weekly", 0, "from"}, "2026-04-01T00:00:00-04:00"},
		{[]any{"marketing", "weekly", 6, "cumulative"}, 10.0},
		{[]any{"marketing", "weekly", 7, "cumulative"}, nil},
	}
	for _, tt := range tests {
		if got := get(tt.path...); got != tt.want {
			t.Errorf("%v = %#v, want %#v", tt.path, got, tt.want)
		}
	}

	// A report with nothing to measure has nulls, not zeros.
	empty := report.SLA(report.Input{Period: r.Period, Now: r.AsOf, Calendar: mustOffice(t)})
	b, err = json.Marshal(empty.Sales)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := `{"assigned":0,"accepted":0,"rejected":0,"open":0,"breached":0,` +
		`"within_sla":0,"within_sla_share":null,"median_time_to_accept":null,"median_time_to_respond":null,` +
		`"first_touch_within":0,"first_touch_within_share":null,"median_time_to_first_touch":null,"reps":[],` +
		`"speed_to_lead":[{"label":"under 5 min","under":{"seconds":300,"text":"5m"},"leads":0},` +
		`{"label":"5–30 min","under":{"seconds":1800,"text":"30m"},"leads":0},{"label":"30 min–1 h","under":{"seconds":3600,"text":"1h"},"leads":0},` +
		`{"label":"1–4 h","under":{"seconds":14400,"text":"4h"},"leads":0},{"label":"4–24 h","under":{"seconds":86400,"text":"24h"},"leads":0},` +
		`{"label":"over a day","under":null,"leads":0},{"label":"not touched yet","under":null,"leads":0}]}`
	if string(b) != want {
		t.Errorf("empty sales JSON\n got %s\nwant %s", b, want)
	}

	// Durations read back what they wrote.
	var d report.Duration
	if err := json.Unmarshal([]byte(`{"seconds":6750.5,"text":"ignored"}`), &d); err != nil {
		t.Fatalf("Unmarshal Duration: %v", err)
	}
	if want := report.Duration(6750*time.Second + 500*time.Millisecond); d != want {
		t.Errorf("Unmarshal Duration = %v, want %v", time.Duration(d), time.Duration(want))
	}
}

func checkTally(t *testing.T, name string, got, want report.Tally) {
	t.Helper()
	ints := []struct {
		field     string
		got, want int
	}{
		{"Assigned", got.Assigned, want.Assigned},
		{"Accepted", got.Accepted, want.Accepted},
		{"Rejected", got.Rejected, want.Rejected},
		{"Open", got.Open, want.Open},
		{"Breached", got.Breached, want.Breached},
		{"WithinSLA", got.WithinSLA, want.WithinSLA},
		{"FirstTouchWithin", got.FirstTouchWithin, want.FirstTouchWithin},
	}
	for _, f := range ints {
		if f.got != f.want {
			t.Errorf("%s.%s = %d, want %d", name, f.field, f.got, f.want)
		}
	}
	checkShare(t, name+".WithinSLAShare", got.WithinSLAShare, want.WithinSLAShare)
	checkShare(t, name+".FirstTouchWithinShare", got.FirstTouchWithinShare, want.FirstTouchWithinShare)
	checkDuration(t, name+".MedianTimeToAccept", got.MedianTimeToAccept, want.MedianTimeToAccept)
	checkDuration(t, name+".MedianTimeToRespond", got.MedianTimeToRespond, want.MedianTimeToRespond)
	checkDuration(t, name+".MedianTimeToFirstTouch", got.MedianTimeToFirstTouch, want.MedianTimeToFirstTouch)
}

func checkRejections(t *testing.T, got, want []report.ReasonCount) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rejection reasons %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Reason != w.Reason || g.Known != w.Known || g.Count != w.Count {
			t.Errorf("Rejections[%d] = %q known %v count %d, want %q known %v count %d", i, g.Reason, g.Known, g.Count, w.Reason, w.Known, w.Count)
		}
		checkShare(t, fmt.Sprintf("Rejections[%d].Share", i), g.Share, w.Share)
	}
}

func checkPeriod(t *testing.T, got report.Period, from, to time.Time, hours int) {
	t.Helper()
	if !got.From.Equal(from) || !got.To.Equal(to) {
		t.Errorf("got %v to %v, want %v to %v", got.From, got.To, from, to)
	}
	if h := got.To.Sub(got.From); h != time.Duration(hours)*time.Hour {
		t.Errorf("got a period of %v, want %dh", h, hours)
	}
	if !got.Contains(from) || got.Contains(to) || !got.Contains(to.Add(-time.Nanosecond)) {
		t.Errorf("Contains does not hold [From, To)")
	}
}

const tolerance = 1e-9

func checkFloat(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > tolerance {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}

func checkShare(t *testing.T, name string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil:
		t.Errorf("%s = nil, want %v", name, *want)
	case want == nil:
		t.Errorf("%s = %v, want nil", name, *got)
	default:
		checkFloat(t, name, *got, *want)
	}
}

func checkDuration(t *testing.T, name string, got, want *report.Duration) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil:
		t.Errorf("%s = nil, want %v", name, *want)
	case want == nil:
		t.Errorf("%s = %v, want nil", name, *got)
	case *got != *want:
		t.Errorf("%s = %v, want %v", name, *got, *want)
	}
}

// TestSpeedToLeadAndRejectionsByWeek hands seven leads over on Monday 6 April 2026 and
// touches each after a different wait, one never; two are rejected in different weeks.
func TestSpeedToLeadAndRejectionsByWeek(t *testing.T) {
	ny := mustLocation(t, newYork)
	q := report.Quarter(time.Date(2026, 4, 6, 12, 0, 0, 0, ny), ny)
	at := time.Date(2026, 4, 6, 10, 0, 0, 0, ny)
	var as []report.Assignment
	for i, wait := range []time.Duration{2 * time.Minute, 10 * time.Minute, 45 * time.Minute, 2 * time.Hour, 5 * time.Hour, 30 * time.Hour, 0} {
		a := report.Assignment{ID: int64(i + 1), Rep: "alice@acme.test", AssignedAt: at, DueAt: at.Add(4 * time.Hour)}
		if wait > 0 {
			a.FirstTouchAt = at.Add(wait)
		}
		as = append(as, a)
	}
	as[0].RejectedAt, as[0].Reason = at.Add(time.Hour), "no_budget"     // week of 6 April
	as[1].RejectedAt, as[1].Reason = at.Add(8*24*time.Hour), "poor_fit" // week of 13 April
	r := report.SLA(report.Input{Period: q, Now: at.Add(30 * 24 * time.Hour), Calendar: mustOffice(t), Location: ny,
		Reasons: []string{"no_budget", "poor_fit"}, Assignments: as})
	var got []int
	for _, b := range r.Sales.SpeedToLead {
		got = append(got, b.Leads)
	}
	if want := []int{1, 1, 1, 1, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("speed to lead = %v, want one lead in each bucket", got)
	}
	weeks := r.Marketing.RejectionsWeekly
	if len(weeks) != len(r.Marketing.Weekly) {
		t.Fatalf("%d weeks of rejections, want the %d weeks of the quarter", len(weeks), len(r.Marketing.Weekly))
	}
	// The quarter starts on Wednesday 1 April: its first week runs to Monday 6 April.
	if !slices.Equal(weeks[1].Counts, []int{1, 0}) || !slices.Equal(weeks[2].Counts, []int{0, 1}) || !slices.Equal(weeks[0].Counts, []int{0, 0}) {
		t.Errorf("rejections by week = %v, %v, %v; want no_budget in the week of 6 April and poor_fit in the next", weeks[0].Counts, weeks[1].Counts, weeks[2].Counts)
	}
}

// TestRequests files four requests on Monday 6 April 2026 at 10:00 in New York: a deck
// due in 24 business hours (Thursday 10:00) delivered Wednesday 12:00 (18 business
// hours); posts due in 8 (Tuesday 10:00) delivered Tuesday 11:00, late; an event still
// open and overdue on Friday; a declined one.
func TestRequests(t *testing.T) {
	ny := mustLocation(t, newYork)
	at := func(d, h int) time.Time { return time.Date(2026, 4, d, h, 0, 0, 0, ny) }
	rows := []report.RequestRow{
		{ID: 1, Type: "collateral", Requester: "sam@acme.test", Assignee: "mia@acme.test", CreatedAt: at(6, 10), DueAt: at(9, 10), DeliveredAt: at(8, 12)},
		{ID: 2, Type: "social", Requester: "sam@acme.test", Assignee: "mia@acme.test", CreatedAt: at(6, 10), DueAt: at(7, 10), DeliveredAt: at(7, 11)},
		{ID: 3, Type: "event", Requester: "kim@acme.test", Assignee: "max@acme.test", Open: true, CreatedAt: at(6, 10), DueAt: at(8, 10)},
		{ID: 4, Type: "leads", Title: "Logistics", Requester: "kim@acme.test", Declined: true, CreatedAt: at(6, 10), DueAt: at(13, 10), Accounts: 3, MQLs: 2},
	}
	r := report.Requests(report.RequestsInput{Now: at(10, 12), Calendar: mustOffice(t), Requests: rows, LeadsType: "leads"})
	// Decided: the two delivered and the overdue event; on time: the deck.
	if r.Filed != 4 || r.Delivered != 2 || r.OnTime != 1 || r.OnTimeShare == nil || *r.OnTimeShare != 1.0/3 {
		t.Errorf("all: %+v, want 4 filed, 2 delivered, 1 on time of 3 decided", r.Turnaround)
	}
	// Turnarounds of 18 and 9 business hours: the median of two is their mean.
	if r.MedianTurnaround == nil || time.Duration(*r.MedianTurnaround) != 13*time.Hour+30*time.Minute {
		t.Errorf("median turnaround = %v, want 13h30m", r.MedianTurnaround)
	}
	if len(r.ByAssignee) != 3 || r.ByAssignee[0].Key != "(not triaged)" || r.ByAssignee[2].Key != "mia@acme.test" || r.ByAssignee[2].OnTime != 1 {
		t.Errorf("by assignee = %+v", r.ByAssignee)
	}
	if len(r.PerRep) != 2 || r.PerRep[0] != (report.Count{Key: "kim@acme.test", Count: 2}) {
		t.Errorf("per rep = %+v", r.PerRep)
	}
	if r.OpenByAge[2].Count != 1 { // the event, four days old
		t.Errorf("open by age = %+v, want one open 3–7 days", r.OpenByAge)
	}
	if len(r.Leads) != 1 || r.Leads[0].MQLs != 2 || r.Leads[0].Accounts != 3 {
		t.Errorf("leads = %+v", r.Leads)
	}
}
