package agreement

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
)

// TestExprErrorCoordinates pins down what toExprError relies on: expr's Line is
// 1-based, its Column 0-based, both in characters.
func TestExprErrorCoordinates(t *testing.T) {
	_, err := expr.Compile("score.fit > 1 &&\n  \"é\" == foo", expr.Env(Facts{}), expr.AsBool())
	var fe *file.Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %T %v, want a *file.Error", err, err)
	}
	if fe.Line != 2 || fe.Column != 9 {
		t.Errorf("got line %d column %d, want line 2 column 9 (foo is the tenth character of line 2)", fe.Line, fe.Column)
	}
	if got := toExprError("score.fit > 1 &&\n  \"é\" == foo", err); got.offset != 26 || got.message != "unknown name foo" {
		t.Errorf("toExprError: got %+v, want offset 26, message %q", *got, "unknown name foo")
	}
}

func mustCompile(tb testing.TB, src string, env env) *Expr {
	tb.Helper()
	e, _, err := compile(src, env)
	if err != nil {
		tb.Fatalf("compile %q: %s", src, err.message)
	}
	return e
}

func TestEval(t *testing.T) {
	event := Event{Type: "track", Event: "Demo Requested", Properties: map[string]any{"plan": "pro", "seats": 12}}
	profile := Profile{
		Contact: Contact{Email: "vp@acme.test", Domain: "acme.test"},
		Traits:  map[string]any{"title": "VP Sales", "country": "US"},
		Account: Account{Employees: 450, Industry: "software"},
	}
	facts := Facts{Contact: profile.Contact, Traits: profile.Traits, Account: profile.Account,
		Score: Score{Fit: 35, Engagement: 4.2, Total: 39.2}, Grade: "B", Stage: "mql"}
	for _, tt := range []struct {
		src  string
		env  env
		data any
		want bool
	}{
		{`event == "Demo Requested" && properties.plan == "pro"`, eventEnv, event, true},
		{`properties.seats >= 10`, eventEnv, event, true},
		{`properties.path startsWith "/pricing"`, eventEnv, event, false}, // no path: nil startsWith fails at run time
		{`type == "page"`, eventEnv, event, false},
		{`traits.title matches "(?i)\\b(vp|director)\\b"`, profileEnv, profile, true},
		{`account.employees >= 200 && !contact.free_email`, profileEnv, profile, true},
		{`traits.missing matches "x"`, profileEnv, profile, false}, // run-time error: no such trait
		{`traits.country in ["US", "CA"]`, profileEnv, profile, true},
		{`score.fit >= 20 && score.engagement < 5`, factsEnv, facts, true},
		{`stage == "mql" && grade in ["A", "B"]`, factsEnv, facts, true},
		{`account.owner != ""`, factsEnv, facts, false},
		{`score.total > 40`, factsEnv, facts, false},
	} {
		t.Run(tt.src, func(t *testing.T) {
			e := mustCompile(t, tt.src, tt.env)
			if got := e.Eval(tt.data); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			// A pointer to the environment works as well.
			ptr := map[any]any{}
			switch d := tt.data.(type) {
			case Event:
				ptr[0] = &d
			case Profile:
				ptr[0] = &d
			case Facts:
				ptr[0] = &d
			}
			if got := e.Eval(ptr[0]); got != tt.want {
				t.Errorf("with a pointer: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUses(t *testing.T) {
	for _, tt := range []struct {
		src  string
		env  env
		want string // the roots used, in the env's field order
	}{
		{`score.fit >= 20 && score.engagement >= 50`, factsEnv, "score"},
		{`traits.country in ["US"] || account.owner != ""`, factsEnv, "traits account"},
		{`stage == "lead"`, factsEnv, "stage"},
		{`$env.grade == "A"`, factsEnv, "grade"},
		{`$env["contact"].free_email`, factsEnv, "contact"},
		{`len($env) > 0`, factsEnv, "contact traits account score grade stage"},
		{`any(["a", "b"], {# == traits.x})`, factsEnv, "traits"},
		{`let t = traits.title; t != nil`, factsEnv, "traits"},
		{`properties.path == "/" && context.ip != ""`, eventEnv, "properties context"},
		{`true`, profileEnv, ""},
	} {
		t.Run(tt.src, func(t *testing.T) {
			e := mustCompile(t, tt.src, tt.env)
			var got []string
			for _, root := range []string{"type", "event", "name", "properties", "context", "contact", "traits", "account", "score", "grade", "stage"} {
				if e.Uses(root) {
					got = append(got, root)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
	var none *Expr
	if none.Uses("traits") {
		t.Errorf("nil Expr: got Uses true, want false")
	}
}

func TestEngagementBelow(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want float64
	}{
		{`score.engagement < 5`, 5},
		{`score.engagement <= 7.5`, 7.5},
		{`3 > score.engagement`, 3},
		{`stage != "customer" && score.engagement < 10 && score.fit > 0`, 10},
		{`(score.engagement < 10) and stage == "mql"`, 10},
		{`score.engagement < 10 && score.engagement < 4`, 4},
		{`$env.score.engagement < 2`, 2},
		{`score.engagement < 5 || stage == "lead"`, 0},
		{`!(score.engagement >= 5)`, 0},
		{`score.engagement < score.fit`, 0},
		{`score.fit < 5`, 0},
	} {
		t.Run(tt.src, func(t *testing.T) {
			_, node, err := compile(tt.src, factsEnv)
			if err != nil {
				t.Fatal(err.message)
			}
			if got := engagementBelow(node); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStageLiterals(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want string
	}{
		{`stage == "mql"`, "mql"},
		{`"sal" != stage`, "sal"},
		{`stage in ["a", "b"] || stage not in ["c"]`, "a b c"},
		{`$env.stage == "x"`, "x"},
		{`grade == "A" && traits.stage == "y"`, ""},
		{`stage startsWith "m"`, ""},
	} {
		t.Run(tt.src, func(t *testing.T) {
			_, node, err := compile(tt.src, factsEnv)
			if err != nil {
				t.Fatal(err.message)
			}
			var got []string
			for _, lit := range stageLiterals(node) {
				got = append(got, lit.Value)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %q, want %q", g, tt.want)
			}
		})
	}
}

func TestExprMarshalsAsSource(t *testing.T) {
	r := FitRule{Name: "big", When: mustCompile(t, `account.employees > 1000`, profileEnv), Points: 5}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"name":"big","when":"account.employees \u003e 1000","points":5}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// benchmarkAgreement has twenty rules: ten engagement, six fit and four stage rules.
func benchmarkAgreement() string {
	var b strings.Builder
	b.WriteString("name: bench\ntimezone: UTC\nscoring:\n  engagement:\n    half_life: 14d\n    rules:\n")
	for i, when := range []string{
		`properties.path startsWith "/pricing"`,
		`properties.path startsWith "/careers"`,
		`properties.path contains "docs"`,
		`properties.path == "/demo" || properties.path == "/contact"`,
		`properties.referrer endsWith "google.com"`,
		`context.campaign.source == "newsletter"`,
		`properties.path matches "^/blog/.+"`,
		`name == "Pricing"`,
		`properties.seats >= 10`,
		`type == "page" && properties.path in ["/security", "/compliance"]`,
	} {
		fmt.Fprintf(&b, "      - { name: e%d, on: page, when: '%s', points: %d }\n", i, when, i+1)
	}
	b.WriteString("  fit:\n    rules:\n")
	for i, when := range []string{
		`traits.title matches "(?i)\\b(vp|director|head|chief)\\b"`,
		`account.employees >= 200`,
		`account.employees < 10`,
		`contact.free_email`,
		`account.industry in ["software", "fintech", "health"]`,
		`traits.country in ["US", "CA", "GB"]`,
	} {
		fmt.Fprintf(&b, "      - { name: f%d, when: '%s', points: %d }\n", i, when, 5*(i+1))
	}
	b.WriteString(`stages:
  - { key: lead }
  - { key: mql, enter_when: 'score.fit >= 20 && score.engagement >= 50' }
  - { key: sal, enter_when: 'stage == "mql" && grade in ["A", "B"]' }
  - { key: nurture, enter_when: 'score.fit < 10 && account.owner == ""' }
  - { key: inactive, detour: true, enter_when: 'score.engagement < 5 && stage != "customer"' }
  - { key: customer, enter_on: opportunity_won }
`)
	return b.String()
}

// BenchmarkEvalAgreement evaluates every rule of a twenty-rule agreement for one
// contact and one event, as an ingest commit does.
func BenchmarkEvalAgreement(b *testing.B) {
	a := mustParse(b, []byte(benchmarkAgreement()))
	if n := len(a.Scoring.Engagement) + len(a.Scoring.Fit) + 4; n != 20 {
		b.Fatalf("got %d rules, want 20", n)
	}
	var event any = Event{Type: "page", Name: "Pricing", Properties: map[string]any{
		"path": "/pricing/enterprise", "referrer": "https://www.google.com", "seats": 25}}
	traits := map[string]any{"title": "Director of Engineering", "country": "US"}
	account := Account{Name: "Acme", Industry: "software", Employees: 450}
	var profile any = Profile{Contact: Contact{Email: "d@acme.test", Domain: "acme.test"}, Traits: traits, Account: account}
	var facts any = Facts{Contact: Contact{Email: "d@acme.test"}, Traits: traits, Account: account,
		Score: Score{Fit: 35, Engagement: 60, Total: 95}, Grade: "B", Stage: "mql"}
	b.ReportAllocs()
	held := 0
	for b.Loop() {
		for _, r := range a.Scoring.Engagement {
			if r.When.Eval(event) {
				held++
			}
		}
		for _, r := range a.Scoring.Fit {
			if r.When.Eval(profile) {
				held++
			}
		}
		for _, s := range a.Stages {
			if s.EnterWhen != nil && s.EnterWhen.Eval(facts) {
				held++
			}
		}
	}
	if held == 0 {
		b.Fatal("no rule held")
	}
}
