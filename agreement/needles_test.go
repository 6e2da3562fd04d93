package agreement

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestNeedles pins which conditions name text their events must hold, and checks the
// promise on events: whenever the condition holds, the JSON text holds a needle or a
// backslash.
func TestNeedles(t *testing.T) {
	tests := []struct {
		src  string
		root string // "" for none
		any  []string
	}{
		{`properties.path startsWith "/pricing"`, "properties", []string{"/pricing"}},
		{`properties.path == "/demo"`, "properties", []string{"/demo"}},
		{`"/demo" == properties.path`, "properties", []string{"/demo"}},
		{`properties.path endsWith "/docs"`, "properties", []string{"/docs"}},
		{`properties.url contains "utm_source"`, "properties", []string{"utm_source"}},
		{`properties.plan in ["pro", "team"]`, "properties", []string{"pro", "team"}},
		{`context.page.path startsWith "/careers"`, "context", []string{"/careers"}},
		{`$env.properties.path == "/demo"`, "properties", []string{"/demo"}},
		{`properties?.path == "/demo"`, "properties", []string{"/demo"}},
		{`properties.seats >= 10 && properties.plan == "pro"`, "properties", []string{"pro"}},
		{`properties.path == "/a" || properties.path == "/b"`, "properties", []string{"/a", "/b"}},
		// None: the condition can hold with no particular text.
		{`properties.path == "/a" || context.page.path == "/b"`, "", nil},
		{`properties.path == "/a" || properties.seats > 3`, "", nil},
		{`properties.path != "/pricing"`, "", nil},
		{`not (properties.path == "/pricing")`, "", nil},
		{`properties.path matches "^/pric"`, "", nil},
		{`properties.path startsWith ""`, "", nil},
		{`properties.title == "say \"hi\""`, "", nil},
		{`name == "Pricing"`, "", nil},
		{`properties.seats >= 10`, "", nil},
	}
	for _, tt := range tests {
		e, _, perr := compile(tt.src, eventEnv)
		if perr != nil {
			t.Fatalf("%s: %s", tt.src, perr.message)
		}
		n, ok := e.Needles()
		if ok != (tt.root != "") || n.Root != tt.root || !slices.Equal(n.Any, tt.any) {
			t.Errorf("%s: needles %+v, %v; want %q %q", tt.src, n, ok, tt.root, tt.any)
		}
	}

	// The promise, on events that hold and do not hold the condition, with and
	// without escapes in their text.
	e, _, _ := compile(`properties.path startsWith "/pricing"`, eventEnv)
	n, _ := e.Needles()
	for _, raw := range []string{`{"path":"/pricing"}`, `{"path":"\/pricing\/team"}`, `{"path":"/pr\u0069cing"}`, `{"path":"/blog"}`, `{"path":7}`} {
		var props map[string]any
		if err := json.Unmarshal([]byte(raw), &props); err != nil {
			t.Fatal(err)
		}
		holds := e.Eval(&Event{Type: "page", Properties: props})
		found := slices.ContainsFunc(n.Any, func(s string) bool { return strings.Contains(raw, s) }) || strings.Contains(raw, `\`)
		if holds && !found {
			t.Errorf("%s holds for %s, whose text has no needle nor backslash", e.Source, raw)
		}
	}
}
