package chart

import (
	"slices"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		name    string
		lo, hi  float64
		want    []float64
		wantDec int
	}{
		{name: "quarters of a hundred", lo: 0, hi: 87, want: []float64{0, 25, 50, 75, 100}},
		{name: "exactly a hundred", lo: 0, hi: 100, want: []float64{0, 25, 50, 75, 100}},
		{name: "small counts", lo: 0, hi: 3, want: []float64{0, 1, 2, 3}},
		{name: "counts by two", lo: 0, hi: 7, want: []float64{0, 2, 4, 6, 8}},
		{name: "no halves on counts", lo: 0, hi: 9, want: []float64{0, 5, 10}},
		{name: "thousands", lo: 0, hi: 1234, want: []float64{0, 500, 1000, 1500}},
		{name: "shares", lo: 0, hi: 1, want: []float64{0, 0.25, 0.5, 0.75, 1}, wantDec: 2},
		{name: "small shares", lo: 0, hi: 0.1, want: []float64{0, 0.025, 0.05, 0.075, 0.1}, wantDec: 3},
		{name: "tenths are exact", lo: 0, hi: 0.35, want: []float64{0, 0.1, 0.2, 0.3, 0.4}, wantDec: 1},
		{name: "negative", lo: -3, hi: 10, want: []float64{-5, 0, 5, 10}},
		{name: "all negative", lo: -40, hi: 0, want: []float64{-40, -30, -20, -10, 0}},
		{name: "all zero", lo: 0, hi: 0, want: []float64{0, 0.25, 0.5, 0.75, 1}, wantDec: 2},
		{name: "one value", lo: 5, hi: 5, want: []float64{4, 6, 8, 10}},
		{name: "huge", lo: 0, hi: 1e300, want: []float64{0, 2.5e299, 5e299, 7.5e299, 1e300}},
		{name: "widest", lo: -1e302, hi: 1e302, want: []float64{-1e302, -5e301, 0, 5e301, 1e302}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dec := niceTicks(tt.lo, tt.hi)
			if !slices.Equal(got, tt.want) || dec != tt.wantDec {
				t.Errorf("niceTicks(%v, %v) = %v, %d; want %v, %d", tt.lo, tt.hi, got, dec, tt.want, tt.wantDec)
			}
		})
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{3, "3"},
		{2.5, "2.5"},
		{1.0 / 3, "0.33"},
		{12345.678, "12345.68"},
		{-0.001, "0"},
		{-7.25, "-7.25"},
		{1e21, "1000000000000000000000"},
		{1e-7, "0"},
	}
	for _, tt := range tests {
		if got := num(tt.v, 2); got != tt.want {
			t.Errorf("num(%v, 2) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{9999, "9999"},
		{12500, "12.5k"},
		{2_000_000, "2M"},
		{-3.26e9, "-3.3B"},
		{4e12, "4T"},
		{1e300, "1e+300"},
	}
	for _, tt := range tests {
		if got := short(tt.v, 2); got != tt.want {
			t.Errorf("short(%v, 2) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"Budget", 10, "Budget"},
		{"Budget", 6, "Budget"},
		{"No budget this year", 10, "No budget…"},
		{"Müller-Lüdenscheidt", 8, "Müller-…"},
		{"Anything", 1, "…"},
		{"Anything", 0, "…"},
		{"Anything", -1, "Anything"},
	}
	for _, tt := range tests {
		if got := truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
