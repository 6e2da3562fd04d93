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
		path []string
		any  []string
	}{
		{`properties.path startsWith "/pricing"`, "properties", []string{"path"}, []string{"/pricing"}},
		{`properties.path == "/demo"`, "properties", []string{"path"}, []string{"/demo"}},
		{`"/demo" == properties.path`, "properties", []string{"path"}, []string{"/demo"}},
		{`properties.path endsWith "/docs"`, "properties", []string{"path"}, []string{"/docs"}},
		{`properties.url contains "utm_source"`, "properties", []string{"url"}, []string{"utm_source"}},
		{`properties.plan in ["pro", "team"]`, "properties", []string{"plan"}, []string{"pro", "team"}},
		{`context.page.path startsWith "/careers"`, "context", []string{"page", "path"}, []string{"/careers"}},
		{`context["page"].path startsWith "/careers"`, "context", []string{"page", "path"}, []string{"/careers"}},
		{`$env.properties.path == "/demo"`, "properties", []string{"path"}, []string{"/demo"}},
		{`properties?.path == "/demo"`, "properties", []string{"path"}, []string{"/demo"}},
		{`properties.seats >= 10 && properties.plan == "pro"`, "properties", []string{"plan"}, []string{"pro"}},
		{`properties.path == "/a" || properties.path == "/b"`, "properties", []string{"path"}, []string{"/a", "/b"}},
		// Text in more than one member, or in one not named: the root's text holds it.
		{`properties.path == "/a" || properties.url contains "/b"`, "properties", nil, []string{"/a", "/b"}},
		{`properties.items[0] == "a"`, "properties", nil, []string{"a"}},
		{`properties[properties.key] == "a"`, "properties", nil, []string{"a"}},
		// None: the condition can hold with no particular text.
		{`properties.path == "/a" || context.page.path == "/b"`, "", nil, nil},
		{`properties.path == "/a" || properties.seats > 3`, "", nil, nil},
		{`properties.path != "/pricing"`, "", nil, nil},
		{`not (properties.path == "/pricing")`, "", nil, nil},
		{`properties.path matches "^/pric"`, "", nil, nil},
		{`properties.path startsWith ""`, "", nil, nil},
		{`properties.title == "say \"hi\""`, "", nil, nil},
		{`name == "Pricing"`, "", nil, nil},
		{`properties.seats >= 10`, "", nil, nil},
	}
	for _, tt := range tests {
		e, _, perr := compile(tt.src, eventEnv)
		if perr != nil {
			t.Fatalf("%s: %s", tt.src, perr.message)
		}
		n, ok := e.Needles()
		if ok != (tt.root != "") || n.Root != tt.root || !slices.Equal(n.Path, tt.path) || !slices.Equal(n.Any, tt.any) {
			t.Errorf("%s: needles %+v, %v; want %q %q %q", tt.src, n, ok, tt.root, tt.path, tt.any)
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
		at, _ := props[n.Path[0]].(string)
		if holds && !slices.ContainsFunc(n.Any, func(s string) bool { return strings.Contains(at, s) }) {
			t.Errorf("%s holds for %s, whose %s has no needle", e.Source, raw, n.Path)
		}
	}
}
