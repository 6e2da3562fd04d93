package agreement

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustReadFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustParse(tb testing.TB, doc []byte) *Agreement {
	tb.Helper()
	a, err := Parse(doc)
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return a
}

func TestParseExample(t *testing.T) {
	a := mustParse(t, mustReadFile(t, "testdata/example.yaml"))

	if got, want := a.Name, "FY27 revenue agreement"; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	if got, want := a.Timezone.String(), "America/New_York"; got != want {
		t.Errorf("Timezone: got %q, want %q", got, want)
	}
	if got, want := a.Hours.Days, [7]bool{false, true, true, true, true, true, false}; got != want {
		t.Errorf("Days: got %v, want %v", got, want)
	}
	if a.Hours.Open != 9*time.Hour || a.Hours.Close != 17*time.Hour {
		t.Errorf("hours: got %v-%v, want 9h-17h", a.Hours.Open, a.Hours.Close)
	}
	if got, want := a.Hours.Holidays, []string{"2026-12-25"}; !slices.Equal(got, want) {
		t.Errorf("Holidays: got %v, want %v", got, want)
	}

	sc := a.Scoring
	if got, want := sc.HalfLife, 14*24*time.Hour; got != want {
		t.Errorf("HalfLife: got %v, want %v", got, want)
	}
	if got, want := len(sc.Engagement), 3; got != want {
		t.Fatalf("engagement rules: got %d, want %d", got, want)
	}
	for i, want := range []struct {
		name, typ, event string
		points           float64
		cap              Cap
		hasWhen          bool
	}{
		{"pricing visit", "page", "", 10, Cap{}, true},
		{"demo request", "track", "Demo Requested", 40, Cap{Times: 1, Per: 24 * time.Hour}, false},
		{"careers", "page", "", -10, Cap{}, true},
	} {
		r := sc.Engagement[i]
		if r.Name != want.name || r.Type != want.typ || r.Event != want.event || r.Points != want.points || r.Cap != want.cap || (r.When != nil) != want.hasWhen {
			t.Errorf("engagement rule %d: got %+v, want %+v", i, *r, want)
		}
	}
	if got, want := len(sc.Fit), 3; got != want {
		t.Fatalf("fit rules: got %d, want %d", got, want)
	}
	if got, want := sc.Fit[2].Points, -25.0; got != want {
		t.Errorf("free email points: got %v, want %v", got, want)
	}
	if got, want := sc.Grades, []Grade{{"A", 40}, {"B", 25}, {"C", 10}}; !slices.Equal(got, want) {
		t.Errorf("Grades: got %v, want %v", got, want)
	}
	if got, want := sc.Fallback, "D"; got != want {
		t.Errorf("Fallback: got %q, want %q", got, want)
	}
	for fit, want := range map[float64]string{45: "A", 40: "A", 30: "B", 10: "C", 9.5: "D", -20: "D"} {
		if got := sc.Grade(fit); got != want {
			t.Errorf("Grade(%v): got %q, want %q", fit, got, want)
		}
	}

	var keys []string
	for _, s := range a.Stages {
		keys = append(keys, s.Key)
	}
	if got, want := keys, []string{"lead", "mql", "sal", "sql", "opportunity", "customer", "inactive"}; !slices.Equal(got, want) {
		t.Errorf("stages: got %v, want %v", got, want)
	}
	if got, want := a.Stage("sal").EnterOn, "accept"; got != want {
		t.Errorf("sal EnterOn: got %q, want %q", got, want)
	}
	mql := a.Stage("mql")
	if mql.EnterWhen == nil || mql.Detour || mql.EngagementBelow != 0 {
		t.Errorf("mql: got %+v, want a rule, no detour, no engagement bound", *mql)
	}
	inactive := a.Stage("inactive")
	if !inactive.Detour || inactive.EngagementBelow != 5 {
		t.Errorf("inactive: got Detour %v EngagementBelow %v, want true 5", inactive.Detour, inactive.EngagementBelow)
	}

	if got, want := a.Recycle.To, "lead"; got != want {
		t.Errorf("Recycle.To: got %q, want %q", got, want)
	}
	if got, want := len(a.Recycle.Reasons), 6; got != want {
		t.Errorf("Recycle.Reasons: got %d, want %d", got, want)
	}

	if got, want := len(a.Teams), 2; got != want {
		t.Fatalf("teams: got %d, want %d", got, want)
	}
	if got, want := a.Teams[0], (Team{Name: "na", Members: []Member{{"alice@acme.test", 2}, {"bob@acme.test", 1}}}); got.Name != want.Name || !slices.Equal(got.Members, want.Members) {
		t.Errorf("team na: got %+v, want %+v", *got, want)
	}
	if got, want := a.Teams[1].Members, []Member{{"chen@acme.test", 1}}; !slices.Equal(got, want) {
		t.Errorf("team intl: got %v, want %v", got, want)
	}

	var assigns []Assign
	for _, r := range a.Routing {
		assigns = append(assigns, r.Assign)
	}
	if got, want := assigns, []Assign{{AccountOwner: true}, {RoundRobin: "na"}, {Rep: "dana@acme.test"}, {RoundRobin: "intl"}}; !slices.Equal(got, want) {
		t.Errorf("assigns: got %v, want %v", got, want)
	}
	if a.Routing[3].When != nil {
		t.Errorf("catch-all route: got a rule %q, want none", a.Routing[3].When.Source)
	}

	wantSales := SalesSLA{AcceptWithin: 4 * time.Hour, FirstTouchWithin: 8 * time.Hour, WarnBefore: time.Hour, OnBreach: "reassign"}
	if got := a.SLA.Sales; got != wantSales {
		t.Errorf("sales SLA: got %+v, want %+v", got, wantSales)
	}
	if got, want := a.SLA.Marketing.MQLTarget, (Target{Per: "quarter", Count: 300}); got != want {
		t.Errorf("MQL target: got %+v, want %+v", got, want)
	}
	if got, want := a.SLA.Marketing.RequestTurnaround["event"], 80*time.Hour; got != want {
		t.Errorf("event turnaround: got %v, want %v", got, want)
	}
	if got, want := len(a.SLA.Marketing.RequestTurnaround), 5; got != want {
		t.Errorf("request types: got %d, want %d", got, want)
	}

	// Rules are compiled: the expression sits where the document wrote it.
	pricing := sc.Engagement[0].When
	if got, want := [2]int{pricing.Line, pricing.Column}, [2]int{9, 49}; got != want {
		t.Errorf("pricing visit when at: got %v, want %v", got, want)
	}
	if !pricing.Eval(Event{Type: "page", Properties: map[string]any{"path": "/pricing/enterprise"}}) {
		t.Errorf("pricing visit: got false for /pricing/enterprise, want true")
	}
}

// exampleJSON is testdata/example.yaml written as JSON by hand.
const exampleJSON = `{
  "name": "FY27 revenue agreement",
  "timezone": "America/New_York",
  "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00", "holidays": ["2026-12-25"]},
  "scoring": {
    "engagement": {
      "half_life": "14d",
      "rules": [
        {"name": "pricing visit", "on": "page", "when": "properties.path startsWith \"/pricing\"", "points": 10},
        {"name": "demo request", "on": "track:Demo Requested", "points": 40, "cap": {"times": 1, "per": "1d"}},
        {"name": "careers", "on": "page", "when": "properties.path startsWith \"/careers\"", "points": -10}
      ]
    },
    "fit": {
      "rules": [
        {"name": "senior title", "when": "traits.title matches \"(?i)\\\\b(vp|director|head|chief)\\\\b\"", "points": 20},
        {"name": "mid-size company", "when": "account.employees >= 200", "points": 15},
        {"name": "free email domain", "when": "contact.free_email", "points": -25}
      ]
    },
    "grades": {"A": 40, "B": 25, "C": 10}
  },
  "stages": [
    {"key": "lead", "meaning": "Known person with an email address"},
    {"key": "mql", "meaning": "Fits and engaged", "enter_when": "score.fit >= 20 && score.engagement >= 50"},
    {"key": "sal", "meaning": "A rep accepted it", "enter_on": "accept"},
    {"key": "sql", "meaning": "A rep qualified budget, need, timing", "enter_on": "qualify"},
    {"key": "opportunity", "meaning": "An open opportunity", "enter_on": "opportunity_created"},
    {"key": "customer", "meaning": "Won", "enter_on": "opportunity_won"},
    {"key": "inactive", "meaning": "Engagement cooled off", "detour": true, "enter_when": "score.engagement < 5"}
  ],
  "recycle": {"to": "lead", "reasons": ["no_budget", "bad_timing", "not_decision_maker", "poor_fit", "no_response", "duplicate"]},
  "teams": {
    "na": [{"rep": "alice@acme.test", "weight": 2}, {"rep": "bob@acme.test"}],
    "intl": [{"rep": "chen@acme.test"}]
  },
  "routing": [
    {"name": "existing account", "when": "account.owner != \"\"", "assign": "account_owner"},
    {"name": "north america", "when": "traits.country in [\"US\", \"CA\"]", "assign": {"round_robin": "na"}},
    {"name": "vip", "when": "score.fit > 80", "assign": {"rep": "dana@acme.test"}},
    {"name": "everyone else", "assign": {"round_robin": "intl"}}
  ],
  "sla": {
    "sales": {"accept_within": "4h", "first_touch_within": "8h", "warn_before": "1h", "on_breach": "reassign"},
    "marketing": {
      "mql_target": {"per": "quarter", "count": 300},
      "request_turnaround": {"collateral": "24h", "social": "8h", "event": "80h", "leads": "40h", "other": "16h"}
    }
  }
}
`

// tabIndented replaces each leading pair of spaces with a tab.
func tabIndented(doc string) string {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		trimmed := strings.TrimLeft(l, " ")
		lines[i] = strings.Repeat("\t", (len(l)-len(trimmed))/2) + trimmed
	}
	return strings.Join(lines, "\n")
}

func mustJSON(tb testing.TB, a *Agreement) string {
	tb.Helper()
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestParseJSON(t *testing.T) {
	if !json.Valid([]byte(exampleJSON)) {
		t.Fatal("exampleJSON is not valid JSON")
	}
	want := mustJSON(t, mustParse(t, mustReadFile(t, "testdata/example.yaml")))
	tabs := tabIndented(exampleJSON)
	if !strings.Contains(tabs, "\n\t\t\"engagement\"") {
		t.Fatal("tabIndented did not indent with tabs")
	}
	for _, tt := range []struct{ name, doc string }{
		{"spaces", exampleJSON},
		{"tabs", tabs},
		{"one line", strings.Join(strings.Fields(exampleJSON), " ")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, []byte(tt.doc))
			if got := mustJSON(t, a); got != want {
				t.Errorf("got\n%s\nwant the YAML document's\n%s", got, want)
			}
			if got := a.Stage("inactive").EngagementBelow; got != 5 {
				t.Errorf("inactive EngagementBelow: got %v, want 5", got)
			}
		})
	}
}

// TestParseJSONPositions checks that problems in a tab-indented JSON document are placed
// by character, a tab counting one column, and through JSON's escapes.
func TestParseJSONPositions(t *testing.T) {
	doc := strings.Replace(tabIndented(exampleJSON),
		`"when": "account.owner != \"\""`, `"when": "account.owner != \"\" && acount.x"`, 1)
	_, err := Parse([]byte(doc))
	// Line 38 is `\t\t{"name": "existing account", "when": "account.owner != \"\" && acount.x", ...`:
	// the value starts at column 41 and acount is 25 characters further, past two \".
	want := Errors{{Rule: "existing account", Line: 38, Column: 66, Message: "when: unknown name acount"}}
	if got := asErrors(t, err); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func asErrors(tb testing.TB, err error) Errors {
	tb.Helper()
	var es Errors
	if !errors.As(err, &es) {
		tb.Fatalf("got error %v (%T), want Errors", err, err)
	}
	return es
}

// badDocument has one of each kind of problem, in every style of YAML scalar.
const badDocument = `name: broken
timezone: America/New_York
scoring:
  engagement:
    half_life: 14days
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', pointz: 10 }
      - { name: pricing visit, on: page, points: 5 }
      - name: demo
        on: track
        when: "event == \"Demo\" && propertiez.x"
        points: 40
  fit:
    rules:
      - { name: senior title, when: 'account.employees >= "x"', points: 20 }
      - name: bad syntax
        when: |
          traits.title matches "vp" &&
            account.employees >=
        points: 5
      - name: typo
        when: >
          account.employes > 10
        points: 5
stages:
  - { key: lead }
  - { key: mql, enter_when: 'stage == "leed" || score.fit > 1' }
recycle: { to: leed, reasons: [no_budget] }
teams:
  na: [{ rep: alice@acme.test }]
routing:
  - { name: everyone, assign: { round_robin: emea } }
`

func TestParseErrors(t *testing.T) {
	_, err := Parse([]byte(badDocument))
	want := Errors{
		{"scoring.engagement.half_life", 5, 16, `bad duration "14days" (want numbers with units, such as 14d or 1d12h)`},
		{"pricing visit", 7, 9, `missing field "points"`},
		{"pricing visit", 7, 89, `unknown field "pointz" (want one of name, on, when, points, cap)`},
		{"pricing visit", 8, 17, `name: duplicate rule name, first used on line 7 (engagement and fit rules share names)`},
		// Double-quoted: the two \" before the name count in the document.
		{"demo", 11, 37, `when: unknown name propertiez`},
		// Single-quoted: one column for the opening quote.
		{"senior title", 15, 56, `when: invalid operation: >= (mismatched types float64 and string)`},
		// Literal block: the rule's second line, less the block's indentation.
		{"bad syntax", 19, 32, `when: unexpected token EOF`},
		// Folded block.
		{"typo", 23, 19, `when: type agreement.Account has no field employes`},
		{"stage mql", 27, 39, `enter_when: unknown stage "leed" (want one of lead, mql)`},
		{"recycle.to", 28, 16, `unknown stage "leed" (want one of lead, mql)`},
		{"everyone", 32, 46, `assign.round_robin: unknown team "emea" (want one of na)`},
	}
	got := asErrors(t, err)
	if !slices.Equal(got, want) {
		t.Errorf("got %d errors:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}
	if got, want := strings.Split(err.Error(), "\n")[0], `5:16: scoring.engagement.half_life: bad duration "14days" (want numbers with units, such as 14d or 1d12h)`; got != want {
		t.Errorf("first line of Error(): got %q, want %q", got, want)
	}
}

// TestParseJSONNotYAML covers valid JSON that the YAML parser refuses, read through
// encoding/json instead with the same positions.
func TestParseJSONNotYAML(t *testing.T) {
	want := mustJSON(t, mustParse(t, mustReadFile(t, "testdata/example.yaml")))
	for _, tt := range []struct{ name, doc string }{
		{"tab before the document", "\t" + tabIndented(exampleJSON)},
		{`escaped slash`, strings.Replace(exampleJSON, `startsWith \"/pricing\"`, `startsWith \"\/pricing\"`, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.doc)) {
				t.Fatal("not valid JSON")
			}
			if got := mustJSON(t, mustParse(t, []byte(tt.doc))); got != want {
				t.Errorf("got\n%s\nwant the YAML document's\n%s", got, want)
			}
		})
	}

	doc := "\t" + `{"name": "t", "timezone": "UTC", "stages": [{"key": "lead"}],
	 "scoring": {"fit": {"rules": [
	  {"name": "\ud83d\ude00 fan", "when": "traits.x == \"\ud83d\ude00\" && foo", "points": 1},
	  {"name": "slash", "when": "traits.x == \"\/\" && 3", "points": 1}]}}}`
	_, err := Parse([]byte(doc))
	want2 := Errors{
		// The value starts at column 42; foo is 19 characters into it, 32 in the text.
		{"😀 fan", 3, 74, "when: unknown name foo"},
		// The value starts at column 31; && is 16 characters into it, 19 in the text.
		{"slash", 4, 50, "when: invalid operation: && (mismatched types bool and int)"},
	}
	got := asErrors(t, err)
	if !slices.Equal(got, want2) {
		t.Errorf("got %v, want %v", got, want2)
	}
}

// FuzzParse checks that no document makes Parse panic, and that every problem has a
// place in the document.
func FuzzParse(f *testing.F) {
	f.Add(mustReadFile(f, "testdata/example.yaml"))
	f.Add([]byte(exampleJSON))
	f.Add([]byte(badDocument))
	f.Add([]byte(minimal))
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := Parse(doc)
		if err == nil {
			if a == nil {
				t.Fatal("got no agreement and no error")
			}
			return
		}
		for _, e := range asErrors(t, err) {
			if e.Line < 1 || e.Column < 1 || e.Rule == "" || e.Message == "" {
				t.Errorf("got problem %#v, want a place, a rule and a message", e)
			}
		}
	})
}
