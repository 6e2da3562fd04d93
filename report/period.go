package report

import "time"

// Period is the half-open span of time [From, To).
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Contains reports whether t is in p: at or after From and before To.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.From) && t.Before(p.To)
}

// Quarter returns the calendar quarter holding t in loc: from the start of the first
// day of January, April, July or October to the start of the first day of the next
// quarter. A quarter over a daylight saving change is an hour shorter or longer than
// its days.
func Quarter(t time.Time, loc *time.Location) Period {
	y, m, _ := t.In(loc).Date()
	first := m - (m-1)%3
	return Period{From: startOfDay(y, first, 1, loc), To: startOfDay(y, first+3, 1, loc)}
}

// Month returns the calendar month holding t in loc, from the start of its first day
// to the start of the next month's first day.
func Month(t time.Time, loc *time.Location) Period {
	y, m, _ := t.In(loc).Date()
	return Period{From: startOfDay(y, m, 1, loc), To: startOfDay(y, m+1, 1, loc)}
}

// PeriodOf returns the period of a target's per that holds t in loc: the month for
// "month" and the quarter for anything else, so that an agreement without a target
// (whose per is empty) reports by quarter.
func PeriodOf(per string, t time.Time, loc *time.Location) Period {
	if per == "month" {
		return Month(t, loc)
	}
	return Quarter(t, loc)
}

// startOfDay returns the first instant of local date y-m-d in loc, which the date
// normalizes as time.Date does (month 13 is January of the next year).
//
// That is local midnight, unless the clocks skip midnight that day (Asunción and
// Santiago start daylight saving at 00:00): then the day starts at the jump, 01:00.
// time.Date alone does not do, as in those zones it reads the missing midnight with
// the new offset and returns 23:00 of the day before.
func startOfDay(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	_, _, want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Date()
	if _, _, got := t.Date(); got != want {
		if _, end := t.ZoneBounds(); !end.IsZero() {
			return end
		}
	}
	return t
}
