package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a span of business time in a report. In JSON it is an object with the
// exact number of seconds, for programs, and the same span as text, for people:
//
//	{"seconds": 6750, "text": "1h52m30s"}
type Duration time.Duration

// String returns d to the nearest second in hours, minutes and seconds, leaving out
// units that are zero: "3h", "1h52m30s", "45m", "0s". Hours are not folded into days,
// since a business day is not 24 hours.
func (d Duration) String() string {
	s := time.Duration(d).Round(time.Second)
	if s == 0 {
		return "0s"
	}
	var b strings.Builder
	if s < 0 {
		b.WriteByte('-')
		s = -s
	}
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := s / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			s -= n * u.unit
		}
	}
	return b.String()
}

type durationJSON struct {
	Seconds float64 `json:"seconds"`
	Text    string  `json:"text"`
}

// MarshalJSON writes d as {"seconds": n, "text": d.String()}.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(durationJSON{Seconds: time.Duration(d).Seconds(), Text: d.String()})
}

// UnmarshalJSON reads what MarshalJSON writes. Only seconds counts; text is ignored.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v durationJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	ns := math.Round(v.Seconds * float64(time.Second))
	if math.IsNaN(ns) || math.Abs(ns) >= math.MaxInt64 {
		return fmt.Errorf("duration of %v seconds is out of range", v.Seconds)
	}
	*d = Duration(ns)
	return nil
}
