package sla_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem/agreement"
	"tandem/sla"
)

// Calendars the tests use, as an agreement writes them.
const (
	// office is the default calendar with two 2026 holidays that fall on Fridays.
	office   = `{ days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", holidays: ["2026-07-03", "2026-12-25"] }`
	allDay   = `{ days: [sun, mon, tue, wed, thu, fri, sat], hours: "00:00-24:00" }`
	night    = `{ days: [sun, mon, tue, wed, thu, fri, sat], hours: "01:00-05:00" }`
	retail   = `{ days: [mon, tue, wed, thu, fri, sat], hours: "08:30-18:00", holidays: ["2026-01-01", "2026-05-01", "2026-12-24", "2026-12-25", "2026-12-26", "2027-01-01"] }`
	allOfMay = `{ days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", holidays: [` +
		`"2026-05-01", "2026-05-04", "2026-05-05", "2026-05-06", "2026-05-07", "2026-05-08", "2026-05-11", "2026-05-12", "2026-05-13", ` +
		`"2026-05-14", "2026-05-15", "2026-05-18", "2026-05-19", "2026-05-20", "2026-05-21", "2026-05-22", "2026-05-25", "2026-05-26", ` +
		`"2026-05-27", "2026-05-28", "2026-05-29"] }`
)

const (
	newYork = "America/New_York"
	berlin  = "Europe/Berlin"
	kolkata = "Asia/Kolkata"
	sydney  = "Australia/Sydney"
	// Havana and Beirut change their clocks at midnight.
	havana = "America/Havana"
	beirut = "Asia/Beirut"
)

// mustCalendar parses a small agreement with the given timezone and business_hours and
// returns its calendar.
func mustCalendar(tb testing.TB, tz, hours string) *sla.Calendar {
	tb.Helper()
	doc := fmt.Sprintf(`name: sla terms
timezone: %s
business_hours: %s
scoring:
  fit:
    rules:
      - { name: anyone, when: 'true', points: 1 }
stages:
  - { key: lead, meaning: "Known person" }
`, tz, hours)
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	c, err := sla.New(a.Hours, a.Timezone)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return c
}

func mustLocation(tb testing.TB, tz string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		tb.Fatalf("LoadLocation: %v", err)
	}
	return loc
}

// mustTime reads "2026-03-06 16:00" in tz, or "2026-11-01 01:30 -0500" where the wall
// time alone is ambiguous.
func mustTime(tb testing.TB, tz, s string) time.Time {
	tb.Helper()
	loc := mustLocation(tb, tz)
	var t time.Time
	var err error
	if strings.Count(s, " ") == 2 {
		t, err = time.Parse("2006-01-02 15:04 -0700", s)
		t = t.In(loc)
	} else {
		t, err = time.ParseInLocation("2006-01-02 15:04", s, loc)
	}
	if err != nil {
		tb.Fatalf("time %q: %v", s, err)
	}
	return t
}

const layout = "Mon 2006-01-02 15:04 -0700"

func TestAdd(t *testing.T) {
	tests := []struct {
		name        string
		tz, hours   string
		start       string
		d           time.Duration
		want        string
		wantOffset  string // the want's UTC offset, when it shows a DST change
		wantElapsed time.Duration
	}{
		{name: "friday afternoon to monday", tz: newYork, hours: office, start: "2026-02-06 16:00", d: 4 * time.Hour, want: "2026-02-09 12:00"},
		{name: "inside hours", tz: newYork, hours: office, start: "2026-02-10 10:00", d: 2 * time.Hour, want: "2026-02-10 12:00"},
		{name: "runs out at closing", tz: newYork, hours: office, start: "2026-02-10 09:00", d: 8 * time.Hour, want: "2026-02-10 17:00"},
		{name: "from closing", tz: newYork, hours: office, start: "2026-02-10 17:00", d: time.Minute, want: "2026-02-11 09:01"},
		{name: "before opening", tz: newYork, hours: office, start: "2026-02-10 07:00", d: time.Hour, want: "2026-02-10 10:00"},
		{name: "after closing", tz: newYork, hours: office, start: "2026-02-10 18:00", d: time.Hour, want: "2026-02-11 10:00"},
		{name: "on a weekend", tz: newYork, hours: office, start: "2026-02-07 12:00", d: time.Hour, want: "2026-02-09 10:00"},
		{name: "over a holiday", tz: newYork, hours: office, start: "2026-12-24 16:00", d: 2 * time.Hour, want: "2026-12-28 10:00"},
		{name: "on a holiday", tz: newYork, hours: office, start: "2026-12-25 10:00", d: time.Hour, want: "2026-12-28 10:00"},
		{name: "on a holiday friday", tz: newYork, hours: office, start: "2026-07-03 12:00", d: 4 * time.Hour, want: "2026-07-06 13:00"},
		{name: "thursday over a holiday friday", tz: newYork, hours: office, start: "2026-07-02 15:00", d: 4 * time.Hour, want: "2026-07-06 11:00"},
		{name: "a month of holidays", tz: newYork, hours: allOfMay, start: "2026-04-30 16:00", d: 2 * time.Hour, want: "2026-06-01 10:00"},
		{name: "zero inside hours", tz: newYork, hours: office, start: "2026-02-10 10:00", d: 0, want: "2026-02-10 10:00"},
		{name: "zero outside hours", tz: newYork, hours: office, start: "2026-02-07 12:00", d: 0, want: "2026-02-09 09:00"},
		{name: "negative is zero", tz: newYork, hours: office, start: "2026-02-07 12:00", d: -3 * time.Hour, want: "2026-02-09 09:00"},

		// Office hours lie clear of the 02:00 changes: a day is 8h either side.
		{name: "US spring forward, friday noon", tz: newYork, hours: office, start: "2026-03-06 12:00", d: 8 * time.Hour, want: "2026-03-09 12:00", wantOffset: "-0400"},
		{name: "US spring forward, friday closing", tz: newYork, hours: office, start: "2026-03-06 17:00", d: 8 * time.Hour, want: "2026-03-09 17:00", wantOffset: "-0400"},
		{name: "US fall back, friday noon", tz: newYork, hours: office, start: "2026-10-30 12:00", d: 8 * time.Hour, want: "2026-11-02 12:00", wantOffset: "-0500"},
		{name: "EU spring forward, friday noon", tz: berlin, hours: office, start: "2026-03-27 12:00", d: 8 * time.Hour, want: "2026-03-30 12:00", wantOffset: "+0200"},
		{name: "EU fall back, friday noon", tz: berlin, hours: office, start: "2026-10-23 12:00", d: 8 * time.Hour, want: "2026-10-26 12:00", wantOffset: "+0100"},
		{name: "EU fall back, 400h", tz: berlin, hours: office, start: "2026-10-05 09:00", d: 400 * time.Hour, want: "2026-12-11 17:00", wantOffset: "+0100"},

		// Around the clock, a spring-forward Sunday has 23 hours and a fall-back one 25.
		{name: "US 23-hour day", tz: newYork, hours: allDay, start: "2026-03-08 00:00", d: 23 * time.Hour, want: "2026-03-09 00:00", wantOffset: "-0400"},
		{name: "US 23-hour day, 24h later", tz: newYork, hours: allDay, start: "2026-03-08 00:00", d: 24 * time.Hour, want: "2026-03-09 01:00", wantOffset: "-0400"},
		{name: "US weekend before spring forward", tz: newYork, hours: allDay, start: "2026-03-07 00:00", d: 48 * time.Hour, want: "2026-03-09 01:00", wantOffset: "-0400"},
		{name: "US 25-hour day", tz: newYork, hours: allDay, start: "2026-11-01 00:00", d: 25 * time.Hour, want: "2026-11-02 00:00", wantOffset: "-0500"},
		{name: "US 25-hour day, 24h later", tz: newYork, hours: allDay, start: "2026-11-01 00:00", d: 24 * time.Hour, want: "2026-11-01 23:00", wantOffset: "-0500"},
		{name: "US repeated hour", tz: newYork, hours: allDay, start: "2026-11-01 01:00 -0400", d: time.Hour, want: "2026-11-01 01:00", wantOffset: "-0500"},
		{name: "EU 23-hour day", tz: berlin, hours: allDay, start: "2026-03-29 00:00", d: 23 * time.Hour, want: "2026-03-30 00:00", wantOffset: "+0200"},
		{name: "EU 25-hour day", tz: berlin, hours: allDay, start: "2026-10-25 00:00", d: 25 * time.Hour, want: "2026-10-26 00:00", wantOffset: "+0100"},
		{name: "Sydney 25-hour day", tz: sydney, hours: allDay, start: "2026-04-05 00:00", d: 25 * time.Hour, want: "2026-04-06 00:00", wantOffset: "+1000"},
		{name: "Sydney 23-hour day", tz: sydney, hours: allDay, start: "2026-10-04 00:00", d: 23 * time.Hour, want: "2026-10-05 00:00", wantOffset: "+1100"},
		{name: "Havana day without a midnight", tz: havana, hours: allDay, start: "2026-03-07 00:00", d: 47 * time.Hour, want: "2026-03-09 00:00", wantOffset: "-0400"},
		{name: "Beirut day with two 23:00s", tz: beirut, hours: allDay, start: "2026-10-24 00:00", d: 25 * time.Hour, want: "2026-10-25 00:00", wantOffset: "+0200"},

		// Hours that hold the change: 01:00-05:00 is 3h on spring-forward day, 5h on fall back.
		{name: "short night ends at closing", tz: newYork, hours: night, start: "2026-03-08 01:00", d: 3 * time.Hour, want: "2026-03-08 05:00", wantOffset: "-0400"},
		{name: "short night runs into monday", tz: newYork, hours: night, start: "2026-03-08 01:00", d: 3*time.Hour + 30*time.Minute, want: "2026-03-09 01:30", wantOffset: "-0400"},
		{name: "long night ends at closing", tz: newYork, hours: night, start: "2026-11-01 01:00 -0400", d: 5 * time.Hour, want: "2026-11-01 05:00", wantOffset: "-0500"},
		{name: "long night, second 01:00", tz: newYork, hours: night, start: "2026-11-01 01:00 -0400", d: time.Hour, want: "2026-11-01 01:00", wantOffset: "-0500"},
		// 02:30 does not exist on 2026-03-08: the day opens at the jump, 03:00 EDT.
		{name: "opening in the gap", tz: newYork, hours: `{ days: [sun, mon, tue, wed, thu, fri, sat], hours: "02:30-04:00" }`, start: "2026-03-07 23:00", d: 30 * time.Minute, want: "2026-03-08 03:30", wantOffset: "-0400"},
		// 02:00-03:00 lies wholly in the gap: the day has no hours.
		{name: "hours in the gap", tz: newYork, hours: `{ days: [sun, mon, tue, wed, thu, fri, sat], hours: "02:00-03:00" }`, start: "2026-03-07 02:30", d: time.Hour, want: "2026-03-09 02:30", wantOffset: "-0400"},

		// 400h is 50 office days: ten weeks from a Monday, over the March change.
		{name: "400h from a monday", tz: newYork, hours: office, start: "2026-02-02 09:00", d: 400 * time.Hour, want: "2026-04-10 17:00", wantOffset: "-0400"},
		{name: "400h from a friday afternoon", tz: newYork, hours: office, start: "2026-02-06 16:00", d: 400 * time.Hour, want: "2026-04-17 16:00", wantOffset: "-0400"},
		// 400h takes in the Jul 3 holiday: 51 weekdays.
		{name: "400h over a holiday", tz: newYork, hours: office, start: "2026-06-01 09:00", d: 400 * time.Hour, want: "2026-08-10 17:00", wantOffset: "-0400"},
		// 10,000h is 1,250 office days: 250 weeks, plus the two holidays, from 2026-02-02.
		{name: "10,000h", tz: newYork, hours: office, start: "2026-02-02 09:00", d: 10000 * time.Hour, want: "2030-11-19 17:00", wantOffset: "-0500"},
		{name: "10,000h around the clock", tz: kolkata, hours: allDay, start: "2026-02-02 09:00", d: 10000 * time.Hour, want: "2027-03-26 01:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCalendar(t, tt.tz, tt.hours)
			start := mustTime(t, tt.tz, tt.start)
			want := mustTime(t, tt.tz, tt.want)
			if tt.wantOffset != "" {
				want = mustTime(t, tt.tz, tt.want+" "+tt.wantOffset)
			}
			got := c.Add(start, tt.d)
			if !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", start.Format(layout), tt.d, got.Format(layout), want.Format(layout))
			}
			if got.Location().String() != tt.tz {
				t.Errorf("Add(%s, %v) is in %v, want %s", start.Format(layout), tt.d, got.Location(), tt.tz)
			}
			if e := c.Elapsed(start, got); e != max(tt.d, 0) {
				t.Errorf("Elapsed(%s, %s) = %v, want %v", start.Format(layout), got.Format(layout), e, max(tt.d, 0))
			}
		})
	}
}

func TestElapsed(t *testing.T) {
	tests := []struct {
		name      string
		tz, hours string
		from, to  string
		want      time.Duration
	}{
		{name: "inside a day", tz: newYork, hours: office, from: "2026-02-10 10:00", to: "2026-02-10 12:30", want: 150 * time.Minute},
		{name: "across a weekend", tz: newYork, hours: office, from: "2026-02-06 16:00", to: "2026-02-09 10:00", want: 2 * time.Hour},
		{name: "across a holiday", tz: newYork, hours: office, from: "2026-12-24 16:00", to: "2026-12-28 10:00", want: 2 * time.Hour},
		{name: "across a holiday friday", tz: newYork, hours: office, from: "2026-07-02 09:00", to: "2026-07-07 09:00", want: 16 * time.Hour},
		{name: "from a weekend", tz: newYork, hours: office, from: "2026-02-07 12:00", to: "2026-02-09 10:00", want: time.Hour},
		{name: "from before opening to after closing", tz: newYork, hours: office, from: "2026-02-10 07:00", to: "2026-02-10 18:00", want: 8 * time.Hour},
		{name: "outside hours only", tz: newYork, hours: office, from: "2026-02-10 18:00", to: "2026-02-11 08:00", want: 0},
		{name: "to before from", tz: newYork, hours: office, from: "2026-02-10 12:00", to: "2026-02-10 10:00", want: 0},
		{name: "to equals from", tz: newYork, hours: office, from: "2026-02-10 12:00", to: "2026-02-10 12:00", want: 0},
		// 2026 has 261 weekdays, two of them holidays, and 313 days from Monday to
		// Saturday, five of them holidays.
		{name: "a year", tz: newYork, hours: office, from: "2026-01-01 00:00", to: "2027-01-01 00:00", want: 259 * 8 * time.Hour},
		{name: "a year, retail", tz: berlin, hours: retail, from: "2026-01-01 00:00", to: "2027-01-01 00:00", want: (313 - 5) * 570 * time.Minute},
		{name: "a year around the clock", tz: sydney, hours: allDay, from: "2026-01-01 00:00", to: "2027-01-01 00:00", want: 365 * 24 * time.Hour},
		{name: "more than a Duration holds", tz: kolkata, hours: allDay, from: "1900-01-01 00:00", to: "2300-01-01 00:00", want: time.Duration(1<<63 - 1)},

		{name: "US 23-hour day", tz: newYork, hours: allDay, from: "2026-03-08 00:00", to: "2026-03-09 00:00", want: 23 * time.Hour},
		{name: "US 25-hour day", tz: newYork, hours: allDay, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: 25 * time.Hour},
		{name: "EU 23-hour day", tz: berlin, hours: allDay, from: "2026-03-29 00:00", to: "2026-03-30 00:00", want: 23 * time.Hour},
		{name: "EU 25-hour day", tz: berlin, hours: allDay, from: "2026-10-25 00:00", to: "2026-10-26 00:00", want: 25 * time.Hour},
		{name: "Havana day without a midnight", tz: havana, hours: allDay, from: "2026-03-07 12:00", to: "2026-03-09 12:00", want: 47 * time.Hour},
		{name: "Beirut day with two 23:00s", tz: beirut, hours: allDay, from: "2026-10-24 12:00", to: "2026-10-25 12:00", want: 25 * time.Hour},
		{name: "US spring forward office week", tz: newYork, hours: office, from: "2026-03-06 00:00", to: "2026-03-10 00:00", want: 16 * time.Hour},
		{name: "EU fall back office week", tz: berlin, hours: office, from: "2026-10-23 00:00", to: "2026-10-27 00:00", want: 16 * time.Hour},

		// How hours that hold a change resolve; see Calendar.
		{name: "short night", tz: newYork, hours: night, from: "2026-03-08 00:00", to: "2026-03-09 00:00", want: 3 * time.Hour},
		{name: "long night", tz: newYork, hours: night, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: 5 * time.Hour},
		{name: "opening in the gap", tz: newYork, hours: `{ days: [sun], hours: "02:30-04:00" }`, from: "2026-03-08 00:00", to: "2026-03-09 00:00", want: time.Hour},
		{name: "closing in the gap", tz: newYork, hours: `{ days: [sun], hours: "00:00-02:30" }`, from: "2026-03-08 00:00", to: "2026-03-09 00:00", want: 2 * time.Hour},
		{name: "hours in the gap", tz: newYork, hours: `{ days: [sun], hours: "02:00-03:00" }`, from: "2026-03-08 00:00", to: "2026-03-09 00:00", want: 0},
		{name: "opening in the repeat", tz: newYork, hours: `{ days: [sun], hours: "01:30-03:00" }`, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: 150 * time.Minute},
		{name: "closing in the repeat", tz: newYork, hours: `{ days: [sun], hours: "00:00-01:30" }`, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: 150 * time.Minute},
		{name: "closing as the repeat starts", tz: newYork, hours: `{ days: [sun], hours: "00:00-01:00" }`, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: time.Hour},
		{name: "closing as the repeat ends", tz: newYork, hours: `{ days: [sun], hours: "00:00-02:00" }`, from: "2026-11-01 00:00", to: "2026-11-02 00:00", want: 3 * time.Hour},
		// East of Greenwich time.Date resolves gaps and repeats to the other side than
		// in New York: to the later reading.
		{name: "Sydney opening in the gap", tz: sydney, hours: `{ days: [sun], hours: "02:30-04:00" }`, from: "2026-10-04 00:00", to: "2026-10-05 00:00", want: time.Hour},
		{name: "Sydney opening in the repeat", tz: sydney, hours: `{ days: [sun], hours: "02:30-04:00" }`, from: "2026-04-05 00:00", to: "2026-04-06 00:00", want: 150 * time.Minute},
		{name: "Berlin opening in the repeat", tz: berlin, hours: `{ days: [sun], hours: "02:30-04:00" }`, from: "2026-10-25 00:00", to: "2026-10-26 00:00", want: 150 * time.Minute},
		{name: "Berlin closing in the gap", tz: berlin, hours: `{ days: [sun], hours: "00:00-02:30" }`, from: "2026-03-29 00:00", to: "2026-03-30 00:00", want: 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCalendar(t, tt.tz, tt.hours)
			from, to := mustTime(t, tt.tz, tt.from), mustTime(t, tt.tz, tt.to)
			if got := c.Elapsed(from, to); got != tt.want {
				t.Errorf("Elapsed(%s, %s) = %v, want %v", from.Format(layout), to.Format(layout), got, tt.want)
			}
		})
	}
}

func TestOpenAndNext(t *testing.T) {
	tests := []struct {
		name      string
		tz, hours string
		at        string
		wantOpen  bool
		wantNext  string
	}{
		{name: "inside hours", tz: newYork, hours: office, at: "2026-02-10 10:00", wantOpen: true, wantNext: "2026-02-10 10:00 -0500"},
		{name: "at opening", tz: newYork, hours: office, at: "2026-02-10 09:00", wantOpen: true, wantNext: "2026-02-10 09:00 -0500"},
		{name: "at closing", tz: newYork, hours: office, at: "2026-02-10 17:00", wantNext: "2026-02-11 09:00 -0500"},
		{name: "before opening", tz: newYork, hours: office, at: "2026-02-10 08:59", wantNext: "2026-02-10 09:00 -0500"},
		{name: "friday evening", tz: newYork, hours: office, at: "2026-02-06 20:00", wantNext: "2026-02-09 09:00 -0500"},
		{name: "holiday", tz: newYork, hours: office, at: "2026-12-25 12:00", wantNext: "2026-12-28 09:00 -0500"},
		{name: "over the spring change", tz: newYork, hours: office, at: "2026-03-07 12:00", wantNext: "2026-03-09 09:00 -0400"},
		{name: "just after the jump", tz: newYork, hours: allDay, at: "2026-03-08 03:00 -0400", wantOpen: true, wantNext: "2026-03-08 03:00 -0400"},
		{name: "repeated hour, first", tz: newYork, hours: night, at: "2026-11-01 01:30 -0400", wantOpen: true, wantNext: "2026-11-01 01:30 -0400"},
		{name: "repeated hour, second", tz: newYork, hours: night, at: "2026-11-01 01:30 -0500", wantOpen: true, wantNext: "2026-11-01 01:30 -0500"},
		{name: "a month of holidays", tz: newYork, hours: allOfMay, at: "2026-05-01 09:00", wantNext: "2026-06-01 09:00 -0400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustCalendar(t, tt.tz, tt.hours)
			at := mustTime(t, tt.tz, tt.at)
			if got := c.Open(at); got != tt.wantOpen {
				t.Errorf("Open(%s) = %v, want %v", at.Format(layout), got, tt.wantOpen)
			}
			want := mustTime(t, tt.tz, tt.wantNext)
			if got := c.Next(at); !got.Equal(want) {
				t.Errorf("Next(%s) = %s, want %s", at.Format(layout), got.Format(layout), want.Format(layout))
			}
		})
	}
}

func TestNew(t *testing.T) {
	weekdays := [7]bool{false, true, true, true, true, true, false}
	ny := mustLocation(t, newYork)
	tests := []struct {
		name    string
		hours   agreement.BusinessHours
		loc     *time.Location
		wantErr string
	}{
		{name: "office", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 17 * time.Hour}, loc: ny},
		{name: "all day", hours: agreement.BusinessHours{Days: weekdays, Open: 0, Close: 24 * time.Hour}, loc: ny},
		{name: "no days", hours: agreement.BusinessHours{Open: 9 * time.Hour, Close: 17 * time.Hour}, loc: ny, wantErr: "at least one working day"},
		{name: "open after close", hours: agreement.BusinessHours{Days: weekdays, Open: 17 * time.Hour, Close: 9 * time.Hour}, loc: ny, wantErr: "opening before closing"},
		{name: "open at close", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 9 * time.Hour}, loc: ny, wantErr: "opening before closing"},
		{name: "past midnight", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 25 * time.Hour}, loc: ny, wantErr: "within the day"},
		{name: "before midnight", hours: agreement.BusinessHours{Days: weekdays, Open: -time.Hour, Close: 9 * time.Hour}, loc: ny, wantErr: "within the day"},
		{name: "seconds", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 9*time.Hour + time.Second}, loc: ny, wantErr: "whole minutes"},
		{name: "bad holiday", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 17 * time.Hour, Holidays: []string{"2026-02-30"}}, loc: ny, wantErr: `holiday "2026-02-30"`},
		{name: "no timezone", hours: agreement.BusinessHours{Days: weekdays, Open: 9 * time.Hour, Close: 17 * time.Hour}, wantErr: "no timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sla.New(tt.hours, tt.loc)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New: got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// calendars are the combinations the property and reference tests run over: each
// calendar in each timezone.
var calendars = []struct{ name, hours string }{
	{"office", office},
	{"all day", allDay},
	{"night", night},
	{"retail", retail},
}

var zones = []string{newYork, berlin, kolkata, sydney, havana, beirut}

// TestElapsedInvertsAdd checks on random starts over two years that the business time
// from a start to its deadline is the SLA, and that deadlines compose.
func TestElapsedInvertsAdd(t *testing.T) {
	for _, tz := range zones {
		for _, cal := range calendars {
			t.Run(tz+"/"+cal.name, func(t *testing.T) {
				c := mustCalendar(t, tz, cal.hours)
				rng := rand.New(rand.NewPCG(1, uint64(len(tz)+len(cal.hours))))
				base := mustTime(t, tz, "2026-01-01 00:00")
				for range 2000 {
					from := base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
					if rng.IntN(2) == 0 {
						from = c.Next(from) // inside hours half the time
					}
					d := randomSLA(rng)
					to := c.Add(from, d)
					if got := c.Elapsed(from, to); got != d {
						t.Fatalf("Elapsed(%s, Add(%s, %v) = %s) = %v, want %v",
							from.Format(layout), from.Format(layout), d, to.Format(layout), got, d)
					}
					if next := c.Next(from); to.Before(next) || (d > 0 && !to.After(next)) {
						t.Fatalf("Add(%s, %v) = %s, want after Next = %s", from.Format(layout), d, to.Format(layout), next.Format(layout))
					}
					e := randomSLA(rng)
					// A deadline at a closing stays there; only a zero SLA moves on to
					// the next opening.
					if got, want := c.Add(to, e), c.Add(from, d+e); d > 0 && e > 0 && !got.Equal(want) {
						t.Fatalf("Add(Add(%s, %v), %v) = %s, want Add(%s, %v) = %s",
							from.Format(layout), d, e, got.Format(layout), from.Format(layout), d+e, want.Format(layout))
					}
				}
			})
		}
	}
}

// randomSLA returns durations from a minute to a few thousand hours, most of them short.
func randomSLA(rng *rand.Rand) time.Duration {
	switch rng.IntN(4) {
	case 0:
		return time.Duration(rng.Int64N(int64(10 * time.Hour)))
	case 1:
		return time.Duration(rng.IntN(200)) * time.Hour
	case 2:
		return time.Duration(rng.IntN(100_000)) * time.Minute
	default:
		return time.Duration(rng.IntN(2)) * time.Duration(rng.IntN(5000)) * time.Hour
	}
}

// reference is a slow calendar that walks minute by minute and asks of each whether
// the wall clock reads within business hours. It agrees with Calendar wherever an
// offset change does not fall on an opening or closing, which holds for calendars.
type reference struct {
	loc         *time.Location
	days        [7]bool
	open, close time.Duration
	holidays    []string
}

func newReference(tb testing.TB, tz, hours string) *reference {
	tb.Helper()
	doc := fmt.Sprintf("name: r\ntimezone: %s\nbusiness_hours: %s\nscoring: { fit: { rules: [{ name: a, when: 'true', points: 1 }] } }\nstages: [{ key: lead }]\n", tz, hours)
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	h := a.Hours
	return &reference{loc: a.Timezone, days: h.Days, open: h.Open, close: h.Close, holidays: h.Holidays}
}

// openAt reports whether the minute starting at t, a whole minute, is business time.
func (r *reference) openAt(t time.Time) bool {
	l := t.In(r.loc)
	h, m, _ := l.Clock()
	wall := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute
	return r.days[l.Weekday()] && !slices.Contains(r.holidays, l.Format(time.DateOnly)) &&
		wall >= r.open && wall < r.close
}

func (r *reference) add(t time.Time, d time.Duration) time.Time {
	for ; d > 0 || !r.openAt(t); t = t.Add(time.Minute) {
		if d > 0 && r.openAt(t) {
			d -= time.Minute
			if d == 0 {
				return t.Add(time.Minute)
			}
		}
	}
	return t
}

func (r *reference) elapsed(from, to time.Time) time.Duration {
	var sum time.Duration
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		if r.openAt(t) {
			sum += time.Minute
		}
	}
	return sum
}

// TestReference compares Add and Elapsed with the minute-by-minute reference on random
// whole-minute starts, in ranges around the DST changes of 2026 and the year's end.
func TestReference(t *testing.T) {
	if testing.Short() {
		t.Skip("walks minute by minute")
	}
	around := []string{"2026-03-05 00:00", "2026-03-26 00:00", "2026-04-02 00:00", "2026-10-01 00:00", "2026-10-22 00:00", "2026-10-29 00:00", "2026-12-20 00:00"}
	for _, tz := range zones {
		for _, cal := range calendars {
			t.Run(tz+"/"+cal.name, func(t *testing.T) {
				c, r := mustCalendar(t, tz, cal.hours), newReference(t, tz, cal.hours)
				rng := rand.New(rand.NewPCG(2, uint64(len(tz)+len(cal.hours))))
				for i := range 60 {
					from := mustTime(t, tz, around[i%len(around)]).Add(time.Duration(rng.IntN(7*24*60)) * time.Minute)
					d := time.Duration(rng.IntN(60*60)) * time.Minute
					got, want := c.Add(from, d), r.add(from, d)
					if !got.Equal(want) {
						t.Fatalf("Add(%s, %v) = %s, want %s", from.Format(layout), d, got.Format(layout), want.Format(layout))
					}
					to := from.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)
					if got, want := c.Elapsed(from, to), r.elapsed(from, to); got != want {
						t.Fatalf("Elapsed(%s, %s) = %v, want %v", from.Format(layout), to.Format(layout), got, want)
					}
				}
			})
		}
	}
}

// TestReferenceLong checks the 400h and 10,000h deadlines of TestAdd against the
// reference.
func TestReferenceLong(t *testing.T) {
	if testing.Short() {
		t.Skip("walks minute by minute")
	}
	tests := []struct {
		name, tz, hours, start string
		d                      time.Duration
	}{
		{"400h office", newYork, office, "2026-02-06 16:00", 400 * time.Hour},
		{"400h retail", berlin, retail, "2026-12-20 11:17", 400 * time.Hour},
		{"10,000h office", newYork, office, "2026-02-02 09:00", 10000 * time.Hour},
		{"10,000h night", sydney, night, "2026-02-02 03:00", 10000 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r := mustCalendar(t, tt.tz, tt.hours), newReference(t, tt.tz, tt.hours)
			start := mustTime(t, tt.tz, tt.start)
			if got, want := c.Add(start, tt.d), r.add(start, tt.d); !got.Equal(want) {
				t.Fatalf("Add(%s, %v) = %s, want %s", start.Format(layout), tt.d, got.Format(layout), want.Format(layout))
			}
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	for _, tz := range []string{newYork, kolkata} {
		c := mustCalendar(b, tz, office)
		start := mustTime(b, tz, "2026-02-06 16:00")
		for _, d := range []time.Duration{4 * time.Hour, 400 * time.Hour, 10000 * time.Hour} {
			b.Run(fmt.Sprintf("%s/%v", tz, d), func(b *testing.B) {
				for b.Loop() {
					c.Add(start, d)
				}
			})
		}
	}
}

func BenchmarkElapsed(b *testing.B) {
	c := mustCalendar(b, newYork, office)
	from := mustTime(b, newYork, "2026-02-06 16:00")
	for _, d := range []time.Duration{4 * time.Hour, 400 * time.Hour, 10000 * time.Hour} {
		to := c.Add(from, d)
		b.Run(d.String(), func(b *testing.B) {
			for b.Loop() {
				c.Elapsed(from, to)
			}
		})
	}
}
