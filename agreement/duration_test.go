package agreement

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"14d", 14 * day, false},
		{"4h", 4 * time.Hour, false},
		{"30m", 30 * time.Minute, false},
		{"1w", 7 * day, false},
		{"1d12h", day + 12*time.Hour, false},
		{"90s", 90 * time.Second, false},
		{"1w2d3h4m5s", 9*day + 3*time.Hour + 4*time.Minute + 5*time.Second, false},
		{"0", 0, false},
		{"0d", 0, false},
		{"", 0, true},
		{"-1d", 0, true},
		{"14", 0, true},
		{"14days", 0, true},
		{"2y", 0, true},
		{"1.5h", 0, true},
		{"h", 0, true},
		{" 4h", 0, true},
		{"4h ", 0, true},
		{"99999999999999999999s", 0, true},
		{"15300w", 0, true}, // past the largest time.Duration, about 292 years
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{180 * 24 * time.Hour, "180d"},
		{36 * time.Hour, "1d12h"},
		{90 * time.Second, "1m30s"},
		{2 * 7 * 24 * time.Hour, "14d"},
		{time.Millisecond, "0"},
	} {
		got := FormatDuration(tc.d)
		if got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := ParseDuration(got); err != nil || back != tc.d.Truncate(time.Second) {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", got, back, err, tc.d.Truncate(time.Second))
		}
	}
}
