package agreement

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// durationUnits are the units ParseDuration accepts. Days and weeks are calendar-free:
// a day is 24 hours, whatever the business hours say.
var durationUnits = map[byte]time.Duration{
	's': time.Second,
	'm': time.Minute,
	'h': time.Hour,
	'd': 24 * time.Hour,
	'w': 7 * 24 * time.Hour,
}

// ParseDuration reads a duration written as whole numbers with units, such as "14d",
// "4h", "30m", "1w", "1d12h" or "90s". The units are s, m, h, d (24 hours) and w
// (7 days). "0" alone means no time. Negative, fractional and empty durations are
// refused.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration (want a number and a unit, such as 14d)")
	}
	if s == "0" {
		return 0, nil
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return 0, fmt.Errorf("bad duration %q (want numbers with units, such as 14d or 1d12h)", s)
		}
		if i == len(rest) {
			return 0, fmt.Errorf("duration %q has no unit (want s, m, h, d or w)", s)
		}
		unit, ok := durationUnits[rest[i]]
		if !ok {
			return 0, fmt.Errorf("duration %q has unknown unit %q (want s, m, h, d or w)", s, rest[i:i+1])
		}
		var n int64
		for _, c := range rest[:i] {
			if n > (math.MaxInt64-int64(c-'0'))/10 {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			n = n*10 + int64(c-'0')
		}
		if n > int64(math.MaxInt64-total)/int64(unit) {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	return total, nil
}

// FormatDuration writes d as ParseDuration reads it, in days, hours, minutes and
// seconds: 180d, 1d12h, 90s; zero is "0". Weeks are written as days.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	var b strings.Builder
	for _, u := range []struct {
		unit byte
		size time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}, {'s', time.Second}} {
		if n := d / u.size; n > 0 {
			fmt.Fprintf(&b, "%d%c", n, u.unit)
			d -= n * u.size
		}
	}
	if b.Len() == 0 {
		return "0"
	}
	return b.String()
}
