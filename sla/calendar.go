// Package sla does the business-time arithmetic of service level agreements: when a
// clock that runs only in an agreement's business hours reaches its limit, and how much
// business time passed between two instants. It is pure: no I/O and no clock of its own.
package sla

import (
	"fmt"
	"slices"
	"time"

	"tandem/agreement"
)

// Calendar is when the clock runs: weekly hours in a timezone, minus holidays.
//
// Hours are wall-clock hours: each business day runs from Open to Close as the clocks
// of the timezone show them, so a day whose hours span a daylight saving change is an
// hour shorter or longer in real time. Where the change makes a wall time ambiguous the
// day is the smallest stretch of time holding every instant of that date whose clock
// reads from Open up to Close:
//
//   - A wall time the clocks skip (02:30 on a spring-forward night) is taken as the
//     instant of the jump; hours that lie wholly inside the gap are empty that day.
//   - A wall time the clocks show twice (01:30 on a fall-back night) opens the day at
//     its first showing and closes it at its last, so hours that hold a repeated
//     hour count both of its showings.
//
// time.Date alone will not do: it resolves such times to either side, depending on the
// zone (in New York a skipped 02:30 comes back as 01:30, which would open the day an
// hour early; in Sydney a repeated 02:30 comes back as its second showing).
//
// A Calendar is immutable and safe for concurrent use.
type Calendar struct {
	loc         *time.Location
	days        [7]bool
	open, close time.Duration
	// holidays are the local dates with no hours, sorted and without repeats.
	holidays []day
	// week is the business time of a week with no holiday and no change of UTC offset.
	week time.Duration
}

// New returns the calendar of business hours h in loc. It refuses hours that cannot
// make a clock run: no working day, opening not before closing, times outside the day
// or not in whole minutes, or a holiday that is not a date.
func New(h agreement.BusinessHours, loc *time.Location) (*Calendar, error) {
	if loc == nil {
		return nil, fmt.Errorf("no timezone")
	}
	if h.Open < 0 || h.Close > 24*time.Hour || h.Open >= h.Close {
		return nil, fmt.Errorf("want opening before closing within the day, got %v-%v", h.Open, h.Close)
	}
	// Whole minutes, as the agreement writes hours, also bound how many weeks Add may
	// skip, which keeps its day count far from overflow.
	if h.Open%time.Minute != 0 || h.Close%time.Minute != 0 {
		return nil, fmt.Errorf("want hours in whole minutes, got %v-%v", h.Open, h.Close)
	}
	c := &Calendar{loc: loc, days: h.Days, open: h.Open, close: h.Close}
	for _, ok := range h.Days {
		if ok {
			c.week += h.Close - h.Open
		}
	}
	if c.week == 0 {
		return nil, fmt.Errorf("want at least one working day")
	}
	for _, s := range h.Holidays {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return nil, fmt.Errorf("holiday %q: want a date as YYYY-MM-DD", s)
		}
		c.holidays = append(c.holidays, dayOfDate(t.Date()))
	}
	slices.Sort(c.holidays)
	c.holidays = slices.Compact(c.holidays)
	return c, nil
}

// Add returns the instant at which d of business time has passed after t: the deadline
// of a clock of length d started at t. A clock started outside business hours starts
// at the next opening. A d that runs out exactly at a closing gives that closing, not
// the next opening. Add with d == 0 is Next(t).
//
// A negative d is taken as zero: a clock does not run backwards. To find an instant
// before a deadline, such as when to warn, add the shorter duration to the start.
//
// The result is in the calendar's location. Whole weeks free of holidays and offset
// changes are skipped arithmetically, so the cost grows with the holidays and offset
// changes crossed, not with d.
func (c *Calendar) Add(t time.Time, d time.Duration) time.Time {
	t = t.In(c.loc)
	if d <= 0 {
		return c.Next(t)
	}
	first := c.dayOf(t)
	cur := t
	var free day // days from n up to free have nominal hours
	for n := first; ; n++ {
		if n > first && d > c.week {
			if n >= free {
				free = c.free(n)
			}
			// Leave at least a moment of d to the day loop, so that a d ending at a
			// closing is found there rather than overshot.
			if k := min(int64((d-1)/c.week), int64(free-n)/7); k > 0 {
				n += day(7 * k)
				d -= time.Duration(k) * c.week
			}
		}
		open, close, ok := c.window(n)
		if !ok {
			continue
		}
		if open.Before(cur) {
			open = cur
		}
		if left := close.Sub(open); left > 0 {
			if d <= left {
				return open.Add(d)
			}
			d -= left
			cur = close
		}
	}
}

// Elapsed returns the business time between from and to, zero if to is not after
// from. Neither needs to be within business hours. Over spans too long for a
// time.Duration it returns the largest one.
func (c *Calendar) Elapsed(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	first, last := c.dayOf(from), c.dayOf(to)
	cur := from
	var sum time.Duration
	var free day
	for n := first; n <= last; n++ {
		if n > first {
			if n >= free {
				free = c.free(n)
			}
			// Skip whole weeks that lie entirely between from and to.
			if k := int64(min(free, last)-n) / 7; k > 0 {
				if k > int64((maxDuration-sum)/c.week) {
					return maxDuration
				}
				n += day(7 * k)
				sum += time.Duration(k) * c.week
			}
		}
		open, close, ok := c.window(n)
		if !ok {
			continue
		}
		if open.Before(cur) {
			open = cur
		}
		if close.After(to) {
			close = to
		}
		if close.After(open) {
			left := close.Sub(open)
			if left > maxDuration-sum {
				return maxDuration
			}
			sum += left
			cur = close
		}
	}
	return sum
}

const maxDuration = time.Duration(1<<63 - 1)

// Open reports whether t is within business hours.
func (c *Calendar) Open(t time.Time) bool {
	open, close, ok := c.window(c.dayOf(t))
	return ok && !t.Before(open) && t.Before(close)
}

// Next returns the first instant at or after t when business hours are open: t itself
// if they are open at t, otherwise the next opening. The result is in the calendar's
// location.
func (c *Calendar) Next(t time.Time) time.Time {
	t = t.In(c.loc)
	// Every week has a working day and holidays are finite, so this ends; a long run
	// of holidays costs a binary search per day.
	for n := c.dayOf(t); ; n++ {
		open, close, ok := c.window(n)
		if !ok || !close.After(t) {
			continue
		}
		if open.After(t) {
			return open
		}
		return t
	}
}

// day is a local date, counted in days since 1970-01-01.
type day int64

const secondsPerDay = 24 * 60 * 60

func dayOfDate(y int, m time.Month, d int) day {
	// UTC has no offset changes, so it serves as a plain proleptic calendar; the Unix
	// time of its midnights is an exact multiple of a day, negative ones included.
	return day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

func (n day) date() (int, time.Month, int) {
	return time.Unix(int64(n)*secondsPerDay, 0).UTC().Date()
}

func (n day) weekday() time.Weekday {
	return time.Weekday((int64(n)%7 + 11) % 7) // 1970-01-01 was a Thursday
}

// dayOf returns the local date of t.
func (c *Calendar) dayOf(t time.Time) day {
	return dayOfDate(t.In(c.loc).Date())
}

func (c *Calendar) holiday(n day) bool {
	_, found := slices.BinarySearch(c.holidays, n)
	return found
}

// window returns the business hours of local date n, ok false when it has none.
func (c *Calendar) window(n day) (open, close time.Time, ok bool) {
	if !c.days[n.weekday()] || c.holiday(n) {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := n.date()
	open, _, _ = c.at(y, m, d, c.open)
	// The day closes at the end of the last instant whose clock reads before Close.
	_, last, skipped := c.at(y, m, d, c.close-1)
	close = last
	if !skipped {
		close = last.Add(1)
	}
	return open, close, open.Before(close)
}

// at returns the first and last instants at which the clocks of the calendar's location
// read wall time w (an offset from midnight below 24h) on date y-m-d. When the clocks
// jump over w, both are the instant of the jump and skipped is true.
func (c *Calendar) at(y int, m time.Month, d int, w time.Duration) (first, last time.Time, skipped bool) {
	// naive is the wall time written as if in UTC; an instant x reads it when x plus
	// its offset equals it.
	naive := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(w)
	reads := func(x time.Time) bool {
		_, off := x.Zone()
		return x.Add(time.Duration(off) * time.Second).Equal(naive)
	}
	t := time.Date(y, m, d, int(w/time.Hour), int(w%time.Hour/time.Minute),
		int(w%time.Minute/time.Second), int(w%time.Second), c.loc)
	start, end := t.ZoneBounds()
	if !reads(t) {
		// time.Date read w with the offset of one side of the jump and landed on the
		// other; the jump is the bound of t's zone on the side of w.
		_, off := t.Zone()
		if t.Add(time.Duration(off)*time.Second).After(naive) && !start.IsZero() {
			return start, start, true
		}
		if !end.IsZero() {
			return end, end, true
		}
		return t, t, true // not reached with tzdata's zones
	}
	first, last = t, t
	// Another reading of w is possible only next to an offset change, on the far side.
	const near = 48 * time.Hour
	if !start.IsZero() && t.Sub(start) < near {
		_, off := start.Add(-1).Zone()
		if x := naive.Add(-time.Duration(off) * time.Second).In(c.loc); x.Before(start) && reads(x) {
			first = x
		}
	}
	if !end.IsZero() && end.Sub(t) < near {
		_, off := end.Zone()
		if x := naive.Add(-time.Duration(off) * time.Second).In(c.loc); !x.Before(end) && reads(x) {
			last = x
		}
	}
	return first, last, false
}

// free returns the first date from n on that may not have nominal hours: a holiday or
// the day before an offset change. Days from n up to it have their full wall-clock
// hours in constant real time, so whole weeks of them can be counted, not walked.
func (c *Calendar) free(n day) day {
	limit := n + 1<<40 // beyond any date Add or Elapsed reaches
	if i, _ := slices.BinarySearch(c.holidays, n); i < len(c.holidays) {
		limit = min(limit, c.holidays[i])
	}
	y, m, d := n.date()
	start, end := time.Date(y, m, d, 0, 0, 0, 0, c.loc).ZoneBounds()
	if !start.IsZero() && c.dayOf(start) >= n {
		return n // the offset changed on day n itself
	}
	if !end.IsZero() {
		limit = min(limit, c.dayOf(end)-1)
	}
	return max(limit, n)
}
