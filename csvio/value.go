package csvio

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// dateLayouts are the forms dates take in CRM exports: ISO dates and times (HubSpot,
// Salesforce's API), and the month-first dates of Salesforce reports and spreadsheets.
// A time without a zone is taken as UTC.
var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
	"2006/01/02",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"1/2/2006, 3:04 PM",
	"1/2/2006",
}

// lastLayout is the index of the date layout that read the last date.
var lastLayout atomic.Int32

// ParseDate reads a date or a time as CRM exports write it: "2024-03-01",
// "2024-03-01 14:05", "2024-03-01T14:05:00Z", "3/1/2024" (month first),
// "3/1/2024 2:05 PM", or milliseconds since 1970 as HubSpot's API gives them. A time
// without a zone is UTC; the result is in UTC, to the microsecond.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) == 13 && strings.Trim(s, "0123456789") == "" {
		ms, _ := strconv.ParseInt(s, 10, 64)
		return time.UnixMilli(ms).UTC(), nil
	}
	// A file writes its dates one way: the layout that read the last date is tried
	// first, which spares the failed attempts before it (each one allocates its error).
	first := int(lastLayout.Load())
	for i := range len(dateLayouts) {
		l := (first + i) % len(dateLayouts)
		if t, err := time.Parse(dateLayouts[l], s); err == nil {
			if t.Year() < 1000 || t.Year() > 9999 {
				break
			}
			lastLayout.Store(int32(l))
			return t.UTC().Truncate(time.Microsecond), nil // as precise as the stores keep it
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date: want 2024-03-01, 2024-03-01 14:05, 2024-03-01T14:05:00Z or 3/1/2024", s)
}

// FormatDate writes a time as an export does, in a form ParseDate reads back exactly.
func FormatDate(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// ParseNumber reads an amount or a count: "1250", "1,250.50", "$1,250", "1.2E+06".
// Commas must group thousands, so that a decimal comma ("1,5") is refused rather than
// read as fifteen.
func ParseNumber(s string) (float64, error) {
	orig := s
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u202f', '$', '€', '£', '¥':
			return -1
		}
		return r
	}, s)
	bad := func(why string) (float64, error) {
		return 0, fmt.Errorf("%q is not a number%s", orig, why)
	}
	if s == "" || strings.Trim(s, "0123456789.,eE+-") != "" {
		return bad("")
	}
	if strings.Contains(s, ",") {
		whole, frac, _ := strings.Cut(s, ".")
		groups := strings.Split(strings.TrimPrefix(whole, "-"), ",")
		if len(groups[0]) == 0 || len(groups[0]) > 3 || strings.ContainsAny(frac, ",") {
			return bad(": commas may only separate thousands")
		}
		for _, g := range groups[1:] {
			if len(g) != 3 {
				return bad(": commas may only separate thousands")
			}
		}
		s = strings.ReplaceAll(s, ",", "")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return bad("")
	}
	return f, nil
}

// FormatNumber writes a number in the shortest form ParseNumber reads back exactly.
func FormatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// ParseBool reads true/false, yes/no, y/n or 1/0, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1":
		return true, nil
	case "false", "no", "n", "0":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no (want true, false, yes, no, 1 or 0)", s)
}

// ParseList reads values separated by semicolons, as CRMs export associations
// ("101;102"): trimmed, empty ones left out, each once.
func ParseList(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ";") {
		v = strings.TrimSpace(v)
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// FormatList writes values as ParseList reads them.
func FormatList(vs []string) string { return strings.Join(vs, ";") }

// cleanCell trims a cell, removes the apostrophe an export puts before text a
// spreadsheet would take for a formula, and refuses text no store can keep.
func cleanCell(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == '\'' && strings.IndexByte(formulaStarts, s[1]) >= 0 {
		s = s[1:]
	}
	if !utf8.ValidString(s) {
		return "", errors.New("is not valid UTF-8 text: save the file as UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", errors.New("contains a NUL character, which cannot be stored")
	}
	return s, nil
}

// formulaStarts are the first characters that make a spreadsheet read a cell as a
// formula, and the apostrophe that escapes them.
const formulaStarts = "=+-@\t\r'"

// escapeCell puts an apostrophe before text a spreadsheet would run as a formula, so
// that an export opened in one cannot run code; cleanCell takes it off again. Numbers,
// negative or with a sign, and phone numbers such as +1 555 are left alone.
func escapeCell(s string) string {
	if s == "" || strings.IndexByte(formulaStarts, s[0]) < 0 {
		return s
	}
	if (s[0] == '+' || s[0] == '-') && len(s) > 1 && strings.IndexByte("0123456789. (", s[1]) >= 0 {
		return s
	}
	if s[0] == '-' && len(s) == 1 {
		return s
	}
	return "'" + s
}
