package store

import (
	"testing"
	"time"

	"tandem/agreement"
	"tandem/scoring"
)

// TestCapsRoundTrip checks that the capped rules' lines survive being written to the
// contact row and read back, under the same anchor and rebased on a later one.
func TestCapsRoundTrip(t *testing.T) {
	lines := map[string]*scoring.Line{
		`demo "request"`: {Points: 40.125, Hits: 3, Last: 1772463845000000, WindowAt: 1772463000000000, WindowHits: 1},
		"uncapped":       {Points: 7, Hits: 1, Last: 1},
		"ünïcode rule":   {Points: 1e-7, Hits: 1, Last: 2, WindowAt: 2, WindowHits: 1},
	}
	anchor := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	raw, err := encodeCaps(lines, anchor.UnixMicro())
	if err != nil {
		t.Fatal(err)
	}
	a := &active{anchor: anchor.UnixMicro(), model: scoring.New(&agreement.Scoring{HalfLife: 14 * 24 * time.Hour}, anchor)}
	cs := &contactScore{}
	a.decodeCaps(cs, raw)
	if len(cs.lines) != 2 || cs.lines["uncapped"] != nil {
		t.Fatalf("decoded %d lines from %s, want the 2 capped ones", len(cs.lines), raw)
	}
	for _, rule := range []string{`demo "request"`, "ünïcode rule"} {
		if got, want := *cs.lines[rule], *lines[rule]; got != want {
			t.Errorf("line %q = %+v, want %+v", rule, got, want)
		}
	}
	// Fourteen days later the anchor moved: the same points are worth half as much
	// relative to it.
	later := anchor.Add(14 * 24 * time.Hour)
	b := &active{anchor: later.UnixMicro(), model: scoring.New(&agreement.Scoring{HalfLife: 14 * 24 * time.Hour}, later)}
	cs = &contactScore{}
	b.decodeCaps(cs, raw)
	if got := cs.lines[`demo "request"`].Points; got != 40.125/2 {
		t.Errorf("rebased points = %v, want %v", got, 40.125/2)
	}
}
