package agreement

import (
	"slices"
	"strings"
	"testing"
)

// minimal is a valid agreement that the cases below add to or change. Scoring comes
// last so that appended lines indented by two spaces extend it.
const minimal = `name: t
timezone: UTC
stages: [{ key: lead }, { key: mql, enter_on: accept }]
scoring:
  fit:
    rules:
      - { name: r, when: 'traits.x == 1', points: 1 }
`

func TestParseMinimal(t *testing.T) {
	a := mustParse(t, []byte(minimal))
	if got, want := a.Recycle.To, "lead"; got != want {
		t.Errorf("Recycle.To without recycle: got %q, want %q", got, want)
	}
	if got, want := a.Hours.Days, [7]bool{false, true, true, true, true, true, false}; got != want {
		t.Errorf("default days: got %v, want %v", got, want)
	}
	if a.Scoring.Fallback != "" || a.Scoring.HalfLife != 0 {
		t.Errorf("got Fallback %q HalfLife %v, want none", a.Scoring.Fallback, a.Scoring.HalfLife)
	}
}

// TestParseProblems checks that each kind of problem is reported alone, where it is.
func TestParseProblems(t *testing.T) {
	change := func(old, new string) string {
		if !strings.Contains(minimal, old) {
			panic("minimal has no " + old)
		}
		return strings.Replace(minimal, old, new, 1)
	}
	for _, tt := range []struct {
		name string
		doc  string
		want Error // Message is a prefix of the message
	}{
		{"empty document", "", Error{"document", 1, 1, "empty document"}},
		{"only comments", "# nothing yet\n", Error{"document", 1, 1, "empty document"}},
		{"yaml syntax", "name: [t\ntimezone: UTC\n", Error{"document", 1, 1, "did not find expected ',' or ']'"}},
		{"two documents", minimal + "---\nname: u\n", Error{"document", 8, 1, "want one document, found a second"}},
		{"root is a list", "- name\n", Error{"document", 1, 1, "want a mapping, got a list"}},
		{"unknown field", minimal + "foo: 1\n", Error{"foo", 8, 1, `unknown field "foo" (want one of name, timezone, business_hours, scoring, stages, recycle, teams, routing, sla, attribution)`}},
		{"missing name", strings.TrimPrefix(minimal, "name: t\n"), Error{"name", 1, 1, `missing field "name"`}},
		{"empty name", change("name: t", `name: " "`), Error{"name", 1, 7, "must not be empty"}},
		{"missing stages", change("stages: [{ key: lead }, { key: mql, enter_on: accept }]\n", ""), Error{"stages", 1, 1, `missing field "stages"`}},
		{"unknown timezone", change("UTC", "Mars/Base"), Error{"timezone", 2, 11, `unknown time zone "Mars/Base"`}},
		{"local timezone", change("UTC", "Local"), Error{"timezone", 2, 11, `unknown time zone "Local"`}},
		{"bad day", minimal + "business_hours: { days: [mon, Tue] }\n", Error{"business_hours.days[1]", 8, 31, `unknown day "Tue"`}},
		{"no days", minimal + "business_hours: { days: [] }\n", Error{"business_hours.days", 8, 25, "want at least one working day"}},
		{"hours backwards", minimal + `business_hours: { hours: "17:00-09:00" }` + "\n", Error{"business_hours.hours", 8, 26, `want opening and closing time as HH:MM-HH:MM`}},
		{"bad holiday", minimal + "business_hours: { holidays: [2026-13-01] }\n", Error{"business_hours.holidays[0]", 8, 30, `want a date as YYYY-MM-DD, got "2026-13-01"`}},
		{"zero points", change("points: 1 }", "points: 0 }"), Error{"r", 7, 51, "points: must not be zero"}},
		{"points not a number", change("points: 1 }", "points: ten }"), Error{"r", 7, 51, `points: want a number, got string "ten"`}},
		{"infinite points", change("points: 1 }", "points: .inf }"), Error{"r", 7, 51, `points: want a finite number`}},
		{"fit rule without when", change("when: 'traits.x == 1', ", ""), Error{"r", 7, 9, `missing field "when"`}},
		{"fit rule not a mapping", change("{ name: r, when: 'traits.x == 1', points: 1 }", "r"), Error{"scoring.fit.rules[0]", 7, 9, "want a mapping, got string \"r\""}},
		{"no rules", change("  fit:\n    rules:\n      - { name: r, when: 'traits.x == 1', points: 1 }\n", "  grades: { A: 1 }\n"), Error{"scoring", 5, 3, "want at least one engagement or fit rule"}},
		{"unknown event type", minimal + "  engagement:\n    rules:\n      - { name: e, on: click, points: 1 }\n", Error{"e", 10, 24, `on: unknown event type "click"`}},
		{"named identify", minimal + "  engagement:\n    rules:\n      - { name: e, on: 'identify:x', points: 1 }\n", Error{"e", 10, 24, "on: identify events have no name to narrow by"}},
		{"track without a name", minimal + "  engagement:\n    rules:\n      - { name: e, on: 'track:', points: 1 }\n", Error{"e", 10, 24, `on: want a name after "track:"`}},
		{"missing on", minimal + "  engagement:\n    rules:\n      - { name: e, points: 1 }\n", Error{"e", 10, 9, `missing field "on"`}},
		{"cap times zero", minimal + "  engagement:\n    rules:\n      - { name: e, on: track, points: 1, cap: { times: 0 } }\n", Error{"e", 10, 56, "cap.times: want at least 1, got 0"}},
		{"cap unknown field", minimal + "  engagement:\n    rules:\n      - { name: e, on: track, points: 1, cap: { times: 1, every: 1d } }\n", Error{"e", 10, 59, `cap: unknown field "every" (want one of times, per)`}},
		{"negative half-life", minimal + "  engagement: { half_life: -1d, rules: [{ name: e, on: track, points: 1 }] }\n", Error{"scoring.engagement.half_life", 8, 28, `duration "-1d" is negative`}},
		{"engagement and fit share names", minimal + "  engagement:\n    rules:\n      - { name: r, on: track, points: 1 }\n", Error{"r", 10, 17, "name: duplicate rule name, first used on line 7"}},
		{"expression not boolean", minimal + "      - { name: e2, when: 'account.employees', points: 1 }\n", Error{"e2", 8, 28, "when: expected bool, but got float64"}},
		{"expression too long", minimal + "      - { name: long, when: '" + strings.Repeat("traits.x == 1 || ", 120) + "true', points: 1 }\n", Error{"long", 8, 30, "when: expression is longer than 2000 bytes"}},
		{"empty expression", minimal + "      - { name: e2, when: '  ', points: 1 }\n", Error{"e2", 8, 27, "when: want an expression, got an empty string"}},
		{"expression is a list", minimal + "      - { name: e2, when: [a], points: 1 }\n", Error{"e2", 8, 27, "when: want a string, got a list"}},
		{"grade not a letter", minimal + "  grades: { a: 10 }\n", Error{"scoring.grades.a", 8, 13, `want a single capital letter, got "a"`}},
		{"grades share a minimum", minimal + "  grades: { A: 10, B: 10 }\n", Error{"scoring.grades.B", 8, 23, "same minimum as grade A"}},
		{"grades out of order", minimal + "  grades: { A: 10, B: 20 }\n", Error{"scoring.grades.B", 8, 23, "want a lower minimum than grade A (10)"}},
		{"grade not a number", minimal + "  grades: { A: high }\n", Error{"scoring.grades.A", 8, 16, `want a number, got string "high"`}},
		{"duplicate grade", minimal + "  grades: { A: 10, A: 20 }\n", Error{"scoring.grades.A", 8, 20, `duplicate grade "A"`}},
		{"bad stage key", change("{ key: lead }", "{ key: Lead }"), Error{"stage Lead", 3, 17, `key: want lowercase letters`}},
		{"duplicate stage key", change("{ key: mql,", "{ key: lead,"), Error{"stage lead", 3, 32, `key: duplicate stage key "lead"`}},
		{"unknown action", change("enter_on: accept", "enter_on: accepted"), Error{"stage mql", 3, 47, `enter_on: unknown action "accepted" (want one of accept, qualify, opportunity_created, opportunity_won)`}},
		{"action enters two stages", change("{ key: lead }", "{ key: lead, enter_on: accept }"), Error{"stage mql", 3, 65, `enter_on: action "accept" already enters stage lead`}},
		{"detour on an action", change("{ key: mql, enter_on: accept }", "{ key: mql, detour: true, enter_on: accept }"), Error{"stage mql", 3, 61, "enter_on: a detour stage is entered by its enter_when rule"}},
		{"detour without a rule", change("{ key: mql, enter_on: accept }", "{ key: mql, detour: true }"), Error{"stage mql", 3, 25, "a detour stage needs enter_when"}},
		{"detour not a boolean", change("{ key: mql, enter_on: accept }", "{ key: mql, detour: yes, enter_when: 'true' }"), Error{"stage mql", 3, 45, "detour: want true or false, got string \"yes\""}},
		{"rule and action", change("{ key: mql, enter_on: accept }", "{ key: mql, enter_when: 'score.fit > 1', enter_on: accept }"), Error{"stage mql", 3, 76, "enter_on: set enter_when or enter_on, not both"}},
		{"stage compared backwards", change("{ key: mql, enter_on: accept }", `{ key: mql, enter_when: '"lede" == stage' }`), Error{"stage mql", 3, 50, `enter_when: unknown stage "lede"`}},
		{"stage in routing", minimal + `routing: [{ name: r1, when: 'stage in ["lead", "sqll"]', assign: account_owner }]` + "\n", Error{"r1", 8, 48, `when: unknown stage "sqll" (want one of lead, mql)`}},
		{"recycle without reasons", minimal + "recycle: { to: lead }\n", Error{"recycle.reasons", 8, 10, `missing field "reasons"`}},
		{"recycle with no reasons", minimal + "recycle: { to: lead, reasons: [] }\n", Error{"recycle.reasons", 8, 31, "want at least one reason"}},
		{"bad reason", minimal + "recycle: { to: lead, reasons: [No Budget] }\n", Error{"recycle.reasons[0]", 8, 32, `want a lowercase snake_case word, got "No Budget"`}},
		{"duplicate reason", minimal + "recycle: { to: lead, reasons: [late, late] }\n", Error{"recycle.reasons[1]", 8, 38, `duplicate reason "late"`}},
		{"duplicate rep", minimal + "teams: { na: [{ rep: a@x.test }, { rep: A@x.test }] }\n", Error{"teams.na[1].rep", 8, 41, `duplicate rep "A@x.test" in team na`}},
		{"zero weight", minimal + "teams: { na: [{ rep: a@x.test, weight: 0 }] }\n", Error{"teams.na[0].weight", 8, 40, "want at least 1, got 0"}},
		{"fractional weight", minimal + "teams: { na: [{ rep: a@x.test, weight: 1.5 }] }\n", Error{"teams.na[0].weight", 8, 40, "want a whole number, got 1.5"}},
		{"bad rep", minimal + "teams: { na: [{ rep: alice }] }\n", Error{"teams.na[0].rep", 8, 22, `want an email address such as alice@acme.test, got "alice"`}},
		{"empty team", minimal + "teams: { na: [] }\n", Error{"teams.na", 8, 14, "want at least one rep"}},
		{"duplicate team", minimal + "teams:\n  na: [{ rep: a@x.test }]\n  na: [{ rep: b@x.test }]\n", Error{"teams.na", 10, 3, `duplicate team "na"`}},
		{"assign two ways", minimal + "routing: [{ name: r1, assign: { account_owner: true, rep: a@x.test } }]\n", Error{"r1", 8, 31, "assign: set exactly one of account_owner, round_robin, rep"}},
		{"assign a word", minimal + "routing: [{ name: r1, assign: owner }]\n", Error{"r1", 8, 31, `assign: want account_owner or a mapping with one of account_owner, round_robin, rep; got string "owner"`}},
		{"assign unknown team", minimal + "routing: [{ name: r1, assign: { round_robin: na } }]\n", Error{"r1", 8, 46, `assign.round_robin: unknown team "na" (none are defined)`}},
		{"missing assign", minimal + "routing: [{ name: r1 }]\n", Error{"r1", 8, 11, `missing field "assign"`}},
		{"duplicate route", minimal + "routing:\n  - { name: r1, when: 'score.fit > 1', assign: account_owner }\n  - { name: r1, assign: account_owner }\n", Error{"r1", 10, 13, "name: duplicate route name, first used on line 9"}},
		{"unreachable route", minimal + "routing:\n  - { name: r1, assign: account_owner }\n  - { name: r2, assign: account_owner }\n", Error{"r2", 10, 5, `unreachable: route "r1" above has no when and takes every lead`}},
		{"escalate to nobody", minimal + "sla: { sales: { on_breach: escalate } }\n", Error{"sla.sales.escalate_to", 8, 15, `missing field "escalate_to"`}},
		{"unknown breach action", minimal + "sla: { sales: { on_breach: panic } }\n", Error{"sla.sales.on_breach", 8, 28, `want reassign or escalate, got "panic"`}},
		{"duration without unit", minimal + "sla: { sales: { accept_within: 4 } }\n", Error{"sla.sales.accept_within", 8, 32, `duration "4" has no unit`}},
		{"weekly target", minimal + "sla: { marketing: { mql_target: { per: week, count: 10 } } }\n", Error{"sla.marketing.mql_target.per", 8, 40, `want month or quarter, got "week"`}},
		{"target without count", minimal + "sla: { marketing: { mql_target: { per: month } } }\n", Error{"sla.marketing.mql_target.count", 8, 33, `missing field "count"`}},
		{"bad request type", minimal + "sla: { marketing: { request_turnaround: { Collateral: 1d } } }\n", Error{"sla.marketing.request_turnaround.Collateral", 8, 43, `want a lowercase snake_case request type`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("got no error, want %v", tt.want)
			}
			got := asErrors(t, err)
			if len(got) != 1 {
				t.Fatalf("got %d errors:\n%v\nwant one: %v", len(got), got, tt.want)
			}
			g := got[0]
			if g.Rule != tt.want.Rule || g.Line != tt.want.Line || g.Column != tt.want.Column || !strings.HasPrefix(g.Message, tt.want.Message) {
				t.Errorf("got %v, want %v", g, tt.want)
			}
		})
	}
}

// TestParseExprPositions checks that expr's error positions land on the right character
// of the document whatever the YAML style of the rule.
func TestParseExprPositions(t *testing.T) {
	const head = `name: t
timezone: UTC
stages: [{ key: lead }]
scoring:
  fit:
    rules:
      - name: r
        points: 1
        when: ` // the value starts on line 9, column 15
	for _, tt := range []struct {
		name         string
		when         string
		line, column int
		message      string
	}{
		{"plain", "account.employes > 1", 9, 23, "type agreement.Account has no field employes"},
		{"plain over two lines", "account.employees > 1 &&\n          account.employes > 2", 10, 19, "type agreement.Account has no field employes"},
		{"single-quoted", `'traits.x == ''a'' && foo'`, 9, 37, "unknown name foo"},
		{"single-quoted after a wide character", `'"é" == traits.x && foo'`, 9, 35, "unknown name foo"},
		{"double-quoted with escapes", `"traits.x == \"\u00e9\" && foo"`, 9, 42, "unknown name foo"},
		{"double-quoted escaped line break", "\"traits.x == \\\"a\\\" \\\n          && foo\"", 10, 14, "unknown name foo"},
		{"double-quoted folded", "\"traits.x == 1\n          && foo\"", 10, 14, "unknown name foo"},
		{"literal block", "|\n          traits.x == 1 &&\n            foo", 11, 13, "unknown name foo"},
		{"literal block stripped", "|-\n          traits.x == 1 &&\n\n          foo\n", 12, 11, "unknown name foo"},
		{"folded block", ">\n          traits.x == 1\n          && foo\n", 11, 14, "unknown name foo"},
		{"literal block at the very end", "|\n          traits.x == 1 && foo", 10, 28, "unknown name foo"},
		{"error at the end", `'traits.x =='`, 9, 26, "unexpected token EOF"},
		{"error without a place", `'account.employees'`, 9, 16, "expected bool, but got float64"},
		{"regular expression", `'traits.title matches "(["'`, 9, 29, "error parsing regexp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(head + tt.when))
			got := asErrors(t, err)
			if len(got) != 1 {
				t.Fatalf("got %d errors:\n%v\nwant one", len(got), got)
			}
			want := Error{Rule: "r", Line: tt.line, Column: tt.column, Message: "when: " + tt.message}
			if g := got[0]; g.Rule != want.Rule || g.Line != want.Line || g.Column != want.Column || !strings.HasPrefix(g.Message, want.Message) {
				t.Errorf("got %v, want %v", g, want)
			}
		})
	}
}

// TestExprPositionStart checks where a compiled rule says it starts, in each style.
func TestExprPositionStart(t *testing.T) {
	doc := minimal + "      - name: block\n        points: 1\n        when: |\n          traits.y == 2\n" +
		"      - { name: plain, when: traits.z == 3, points: 1 }\n"
	a := mustParse(t, []byte(doc))
	var got [][2]int
	for _, r := range a.Scoring.Fit {
		got = append(got, [2]int{r.When.Line, r.When.Column})
	}
	if want := [][2]int{{7, 27}, {11, 11}, {12, 30}}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, want := a.Scoring.Fit[1].When.Source, "traits.y == 2"; got != want {
		t.Errorf("block Source: got %q, want %q", got, want)
	}
}
