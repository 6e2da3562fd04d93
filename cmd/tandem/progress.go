package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a progress bar with the current rate and the time left. On a terminal
// it redraws one line in place; elsewhere (a log, a test) it prints a line now and then.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	unit  string
	total int64         // the count that ends the run; zero for a timed run
	timed time.Duration // the length of a timed run
	extra func() string // more to show after the rate, or nil

	n     atomic.Int64
	start time.Time
	quit  chan struct{}
	done  chan struct{}

	// recent and last are used by draw alone, which runs on the ticker's goroutine and,
	// once that has ended, in Finish.
	recent []sample  // the last few seconds of counts, for the rate
	last   time.Time // when a line was last printed, when not on a terminal
}

type sample struct {
	at time.Time
	n  int64
}

// newProgress returns a progress bar toward total units, or, when total is zero, toward
// the end of a run that lasts timed.
func newProgress(w io.Writer, label, unit string, total int64, timed time.Duration) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label, unit: unit, total: total, timed: timed}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb"
}

// Add counts n more units done.
func (p *progress) Add(n int64) { p.n.Add(n) }

// Start starts drawing.
func (p *progress) Start() {
	p.start = time.Now()
	p.last = p.start
	p.quit, p.done = make(chan struct{}), make(chan struct{})
	every := 200 * time.Millisecond
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case now := <-t.C:
				p.draw(now, false)
			}
		}
	}()
}

// Finish draws the final state and ends the line. Call it once, after Start.
func (p *progress) Finish() {
	close(p.quit)
	<-p.done
	p.draw(time.Now(), true)
}

func (p *progress) draw(now time.Time, final bool) {
	n := p.n.Load()
	p.recent = append(p.recent, sample{now, n})
	for len(p.recent) > 2 && now.Sub(p.recent[0].at) > 5*time.Second {
		p.recent = p.recent[1:]
	}
	if !p.tty && !final && now.Sub(p.last) < 10*time.Second {
		return
	}
	p.last = now
	line := p.line(now, n, final)
	if p.tty {
		fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		if final {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) line(now time.Time, n int64, final bool) string {
	elapsed := now.Sub(p.start)
	var frac float64
	switch {
	case p.total > 0:
		frac = float64(n) / float64(p.total)
	case p.timed > 0:
		frac = elapsed.Seconds() / p.timed.Seconds()
	}
	frac = min(max(frac, 0), 1)

	// The rate of the last few seconds, so the time left follows a run that slows down.
	rate := 0.0
	if secs := elapsed.Seconds(); secs > 0 {
		rate = float64(n) / secs
	}
	if !final && len(p.recent) >= 2 {
		a, b := p.recent[0], p.recent[len(p.recent)-1]
		if d := b.at.Sub(a.at).Seconds(); d >= 1 {
			rate = float64(b.n-a.n) / d
		}
	}

	const width = 28
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s] %3.0f%%  ", p.label, bar, frac*100)
	if p.total > 0 {
		fmt.Fprintf(&b, "%s/%s %s", commas(n), commas(p.total), p.unit)
	} else {
		fmt.Fprintf(&b, "%s %s", commas(n), p.unit)
	}
	fmt.Fprintf(&b, "  %s/s", commas(int64(rate)))
	if p.extra != nil {
		if s := p.extra(); s != "" {
			b.WriteString("  ")
			b.WriteString(s)
		}
	}
	switch {
	case final:
		fmt.Fprintf(&b, "  in %s", shortDuration(elapsed))
	case p.total > 0 && rate > 0:
		fmt.Fprintf(&b, "  ETA %s", shortDuration(time.Duration(float64(p.total-n)/rate*float64(time.Second))))
	case p.timed > 0:
		fmt.Fprintf(&b, "  ETA %s", shortDuration(p.timed-elapsed))
	}
	return b.String()
}

// commas formats n with thousands separators: 1234567 → "1,234,567".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// shortDuration formats d for people: "850ms", "12s", "4m05s", "1h02m".
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
