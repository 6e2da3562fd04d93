package web

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"

	"tandem"
)

// funcs are the template functions.
var funcs = template.FuncMap{
	"when": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2 Jan 2006 15:04 UTC")
		}
		return ""
	},
	"num": func(f float64) string {
		if math.Abs(f-math.Round(f)) < 0.005 {
			return fmt.Sprintf("%.0f", f)
		}
		return fmt.Sprintf("%.2f", f)
	},
	"pct": func(f *float64) string {
		if f == nil {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", *f*100)
	},
	"json": func(raw json.RawMessage) string {
		s := strings.TrimSpace(string(raw))
		if s == "" || s == "{}" || s == "null" {
			return ""
		}
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s
	},
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return d.String()
	},
	"diffClass": func(line string) string {
		switch {
		case strings.HasPrefix(line, "+"):
			return "add"
		case strings.HasPrefix(line, "-"):
			return "del"
		}
		return ""
	},
	"lines": func(s string) []string { return strings.Split(s, "\n") },
	// day shows a date without a time, such as a committed or asked-for date.
	"day": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("Mon 2 Jan 2006")
	},
	"hasPrefix":  strings.HasPrefix,
	"statusText": func(s tandem.RequestStatus) string { return strings.ReplaceAll(string(s), "_", " ") },
}
