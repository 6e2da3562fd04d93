package routing_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"tandem/agreement"
	"tandem/routing"
)

// terms routes by account owner, a strategic-account rep and two territories, and
// has no catch-all, so that some leads reach the fallback.
const terms = `name: routing terms
timezone: UTC
scoring:
  engagement: { rules: [{ name: demo request, on: 'track:Demo Requested', points: 40 }] }
stages:
  - { key: lead, meaning: "Known person" }
teams:
  na: [{ rep: alice@x.test, weight: 2 }, { rep: bob@x.test }]
  emea: [{ rep: chen@x.test }, { rep: dara@x.test }]
routing:
  - { name: existing account, when: 'account.owner != ""', assign: account_owner }
  - { name: strategic, when: 'account.employees >= 10000', assign: { rep: erin@x.test } }
  - { name: north america, when: 'traits.country in ["US", "CA"]', assign: { round_robin: na } }
  - { name: europe, when: 'traits.country in ["DE", "FR", "GB"]', assign: { round_robin: emea } }
`

func mustParse(tb testing.TB, doc string) *agreement.Agreement {
	tb.Helper()
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return a
}

// lead returns the facts of a lead from country whose account is owned by owner.
func lead(country, owner string, employees float64) *agreement.Facts {
	return &agreement.Facts{
		Traits:  map[string]any{"country": country},
		Account: agreement.Account{Owner: owner, Employees: employees},
	}
}

// everyone returns reps who can all take leads.
func everyone(emails ...string) map[string]routing.Rep {
	reps := make(map[string]routing.Rep, len(emails))
	for _, e := range emails {
		reps[e] = routing.Rep{Email: e, Available: true}
	}
	return reps
}

var staff = []string{"ann@x.test", "alice@x.test", "bob@x.test", "chen@x.test", "dara@x.test", "erin@x.test", "fin@x.test"}

func TestDecide(t *testing.T) {
	a := mustParse(t, terms)
	out := routing.Rep{Available: false}
	capped := routing.Rep{Available: true, Cap: 5, AssignedToday: 5}
	tests := []struct {
		name     string
		facts    *agreement.Facts
		owner    string
		change   map[string]routing.Rep // replaces these reps in everyone(staff...)
		drop     []string               // removes these reps
		fallback string
		want     routing.Decision
	}{{
		name:  "account owner first",
		facts: lead("US", "ann@x.test", 50000), owner: "ann@x.test",
		want: routing.Decision{Rep: "ann@x.test", Route: "existing account", Reason: "account owner ann@x.test"},
	}, {
		name:  "owner out of office falls to the territory rule",
		facts: lead("US", "ann@x.test", 50), owner: "ann@x.test",
		change: map[string]routing.Rep{"ann@x.test": out},
		want: routing.Decision{
			Rep: "alice@x.test", Route: "north america", Team: "na",
			Reason:  "round robin na: alice@x.test (weight 2, served 1 of 1)",
			Skipped: []string{"ann@x.test: unavailable (account owner, route existing account)"},
		},
	}, {
		name:  "owner at cap falls to the strategic rep",
		facts: lead("US", "ann@x.test", 50000), owner: "ann@x.test",
		change: map[string]routing.Rep{"ann@x.test": capped},
		want: routing.Decision{
			Rep: "erin@x.test", Route: "strategic", Reason: "rep erin@x.test",
			Skipped: []string{"ann@x.test: at daily cap (5 of 5) (account owner, route existing account)"},
		},
	}, {
		name:  "owner who is not a rep",
		facts: lead("DE", "old@x.test", 50), owner: "old@x.test",
		want: routing.Decision{
			Rep: "chen@x.test", Route: "europe", Team: "emea",
			Reason:  "round robin emea: chen@x.test (weight 1, served 1 of 1)",
			Skipped: []string{"old@x.test: not a known rep (account owner, route existing account)"},
		},
	}, {
		name:  "rule holds but the caller gave no owner",
		facts: lead("CA", "ann@x.test", 50),
		want: routing.Decision{
			Rep: "alice@x.test", Route: "north america", Team: "na",
			Reason:  "round robin na: alice@x.test (weight 2, served 1 of 1)",
			Skipped: []string{"no account owner (route existing account)"},
		},
	}, {
		name:  "country rule",
		facts: lead("GB", "", 50),
		want: routing.Decision{
			Rep: "chen@x.test", Route: "europe", Team: "emea",
			Reason: "round robin emea: chen@x.test (weight 1, served 1 of 1)",
		},
	}, {
		name:   "country rule skips an unavailable member",
		facts:  lead("FR", "", 50),
		change: map[string]routing.Rep{"chen@x.test": out},
		want: routing.Decision{
			Rep: "dara@x.test", Route: "europe", Team: "emea",
			Reason:  "round robin emea: dara@x.test (weight 1, served 1 of 1)",
			Skipped: []string{"chen@x.test: unavailable (team emea, route europe)"},
		},
	}, {
		name:  "explicit rep",
		facts: lead("DE", "", 20000),
		want:  routing.Decision{Rep: "erin@x.test", Route: "strategic", Reason: "rep erin@x.test"},
	}, {
		name:   "explicit rep out falls to the country rule",
		facts:  lead("DE", "", 20000),
		change: map[string]routing.Rep{"erin@x.test": out},
		want: routing.Decision{
			Rep: "chen@x.test", Route: "europe", Team: "emea",
			Reason:  "round robin emea: chen@x.test (weight 1, served 1 of 1)",
			Skipped: []string{"erin@x.test: unavailable (route strategic)"},
		},
	}, {
		name:  "no route matches: fallback",
		facts: lead("JP", "", 50), fallback: "fin@x.test",
		want: routing.Decision{Rep: "fin@x.test", Route: "fallback", Reason: "fallback fin@x.test: no route could assign"},
	}, {
		name:  "whole team out: fallback",
		facts: lead("US", "", 50), fallback: "fin@x.test",
		change: map[string]routing.Rep{"alice@x.test": out, "bob@x.test": capped},
		want: routing.Decision{
			Rep: "fin@x.test", Route: "fallback", Reason: "fallback fin@x.test: no route could assign",
			Skipped: []string{
				"alice@x.test: unavailable (team na, route north america)",
				"bob@x.test: at daily cap (5 of 5) (team na, route north america)",
				"team na: nobody available (route north america)",
			},
		},
	}, {
		name:  "nobody available",
		facts: lead("JP", "", 50), fallback: "fin@x.test",
		change: map[string]routing.Rep{"fin@x.test": out},
		want: routing.Decision{
			Reason:  "nobody available: no route could assign and fallback fin@x.test is unavailable",
			Skipped: []string{"fin@x.test: unavailable (fallback)"},
		},
	}, {
		name:  "no fallback",
		facts: lead("JP", "", 50),
		want:  routing.Decision{Reason: "nobody available: no route could assign and there is no fallback"},
	}, {
		name:  "fallback who is not a rep",
		facts: lead("JP", "", 50), fallback: "fin@x.test", drop: []string{"fin@x.test"},
		want: routing.Decision{
			Reason:  "nobody available: no route could assign and fallback fin@x.test is not a known rep",
			Skipped: []string{"fin@x.test: not a known rep (fallback)"},
		},
	}, {
		name:     "no facts",
		fallback: "fin@x.test",
		want:     routing.Decision{Rep: "fin@x.test", Route: "fallback", Reason: "fallback fin@x.test: no route could assign"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps := everyone(staff...)
			for e, r := range tt.change {
				r.Email = e
				reps[e] = r
			}
			for _, e := range tt.drop {
				delete(reps, e)
			}
			var st routing.State
			got := routing.Decide(a, tt.facts, tt.owner, reps, &st, tt.fallback)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
			if _, advanced := st.Teams[got.Team]; advanced != (got.Team != "") || len(st.Teams) > 1 {
				t.Errorf("got state %v after a decision for team %q, want only that team's rotation", st.Teams, got.Team)
			}
		})
	}
}

// TestDecideDefault routes through the agreement `tandem demo` starts with, whose last
// route takes every lead.
func TestDecideDefault(t *testing.T) {
	a := mustParse(t, string(agreement.Default))
	reps := everyone("alice@example.com", "bob@example.com", "chen@example.com", "dara@example.com", "owner@example.com")
	tests := []struct {
		name  string
		facts *agreement.Facts
		owner string
		want  string
	}{
		{"owned account", lead("DE", "owner@example.com", 0), "owner@example.com", "owner@example.com"},
		{"United States spelled out", lead("United States", "", 0), "", "alice@example.com"},
		{"anywhere else", lead("BR", "", 0), "", "chen@example.com"},
		{"no country", &agreement.Facts{}, "", "chen@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := routing.Decide(a, tt.facts, tt.owner, reps, &routing.State{}, "")
			if got.Rep != tt.want {
				t.Errorf("got %s (%s), want %s", got.Rep, got.Reason, tt.want)
			}
		})
	}
}

// team returns an agreement whose one route round-robins every lead to team t with
// these members.
func team(members ...agreement.Member) *agreement.Agreement {
	return &agreement.Agreement{
		Teams:   []*agreement.Team{{Name: "t", Members: members}},
		Routing: []*agreement.Route{{Name: "all", Assign: agreement.Assign{RoundRobin: "t"}}},
	}
}

// TestDecideWithout covers inputs a caller may leave out: an agreement built in code
// whose route names a team it lacks, and no state.
func TestDecideWithout(t *testing.T) {
	reps := everyone("a", "b", "fin")
	tests := []struct {
		name string
		a    *agreement.Agreement
		st   *routing.State
		want routing.Decision
	}{{
		name: "unknown team",
		a:    &agreement.Agreement{Routing: []*agreement.Route{{Name: "all", Assign: agreement.Assign{RoundRobin: "gone"}}}},
		st:   &routing.State{},
		want: routing.Decision{
			Rep: "fin", Route: "fallback", Reason: "fallback fin: no route could assign",
			Skipped: []string{"team gone is not in the agreement (route all)"},
		},
	}, {
		name: "nil state",
		a:    team(member("a", 1), member("b", 1)),
		want: routing.Decision{Rep: "a", Route: "all", Team: "t", Reason: "round robin t: a (weight 1, served 1 of 1)"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := routing.Decide(tt.a, nil, "", reps, tt.st, "fin"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func member(rep string, weight int) agreement.Member {
	return agreement.Member{Rep: rep, Weight: weight}
}

// rotation hands out n leads and returns who got each. Every rep in reps is counted
// as the caller would, in AssignedToday.
func rotation(tb testing.TB, a *agreement.Agreement, reps map[string]routing.Rep, st *routing.State, n int) []string {
	tb.Helper()
	got := make([]string, n)
	for i := range got {
		d := routing.Decide(a, nil, "", reps, st, "")
		if d.Rep == "" {
			tb.Fatalf("lead %d: nobody got it: %s", i, d.Reason)
		}
		r := reps[d.Rep]
		r.AssignedToday++
		reps[d.Rep] = r
		got[i] = d.Rep
	}
	return got
}

func count(picks []string) map[string]int {
	c := make(map[string]int)
	for _, p := range picks {
		c[p]++
	}
	return c
}

func TestWeightedFairness(t *testing.T) {
	tests := []struct {
		name    string
		members []agreement.Member
		leads   int
	}{
		{"2:1", []agreement.Member{member("a", 2), member("b", 1)}, 300},
		{"1:1:1", []agreement.Member{member("a", 1), member("b", 1), member("c", 1)}, 300},
		{"3:1", []agreement.Member{member("a", 3), member("b", 1)}, 400},
		{"1:3, heavy member second", []agreement.Member{member("a", 1), member("b", 3)}, 400},
		{"5:3:1", []agreement.Member{member("a", 5), member("b", 3), member("c", 1)}, 900},
		{"7:2:2:1", []agreement.Member{member("a", 7), member("b", 2), member("c", 2), member("d", 1)}, 1200},
		{"10:1", []agreement.Member{member("a", 10), member("b", 1)}, 1100},
		{"1:1:1:1:1:10", []agreement.Member{member("a", 1), member("b", 1), member("c", 1), member("d", 1), member("e", 1), member("f", 10)}, 1500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps := make(map[string]routing.Rep)
			total := 0
			for _, m := range tt.members {
				reps[m.Rep] = routing.Rep{Email: m.Rep, Available: true}
				total += m.Weight
			}
			picks := rotation(t, team(tt.members...), reps, &routing.State{}, tt.leads)
			got := count(picks)
			for _, m := range tt.members {
				if want := tt.leads * m.Weight / total; got[m.Rep] != want {
					t.Errorf("%s got %d of %d leads, want %d", m.Rep, got[m.Rep], tt.leads, want)
				}
			}
			// Smooth: after every lead, no member is more than one lead ahead of their
			// share, nor more than members·weight/total behind it.
			seen := make(map[string]int)
			for i, p := range picks {
				seen[p]++
				for _, m := range tt.members {
					share := float64((i+1)*m.Weight) / float64(total)
					behind := float64(len(tt.members)*m.Weight) / float64(total)
					if d := float64(seen[m.Rep]) - share; d > 1+1e-9 || d < -behind-1e-9 {
						t.Fatalf("after %d leads %s got %d, want from %.2f to %.2f (%s…)",
							i+1, m.Rep, seen[m.Rep], share-behind, share+1, strings.Join(picks[:i+1], " "))
					}
				}
			}
		})
	}
}

func TestInterleave(t *testing.T) {
	reps := everyone("a", "b")
	got := strings.Join(rotation(t, team(member("a", 2), member("b", 1)), reps, &routing.State{}, 9), " ")
	if want := "a b a a b a a b a"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestNoBurstAfterAbsence takes one member out for a day of 30 leads and checks the
// next day's 30 split by weight, as they would have without the absence.
func TestNoBurstAfterAbsence(t *testing.T) {
	tests := []struct {
		name    string
		members []agreement.Member
		out     string
		want    map[string]int // the second day's split
	}{
		{"1:1:1, first out", []agreement.Member{member("a", 1), member("b", 1), member("c", 1)}, "a",
			map[string]int{"a": 10, "b": 10, "c": 10}},
		{"1:1:1, last out", []agreement.Member{member("a", 1), member("b", 1), member("c", 1)}, "c",
			map[string]int{"a": 10, "b": 10, "c": 10}},
		{"2:1, heavy out", []agreement.Member{member("a", 2), member("b", 1)}, "a",
			map[string]int{"a": 20, "b": 10}},
		{"2:1, light out", []agreement.Member{member("a", 2), member("b", 1)}, "b",
			map[string]int{"a": 20, "b": 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := team(tt.members...)
			reps := make(map[string]routing.Rep)
			for _, m := range tt.members {
				reps[m.Rep] = routing.Rep{Email: m.Rep, Available: true}
			}
			var st routing.State
			rotation(t, a, reps, &st, 10) // a normal morning
			reps[tt.out] = routing.Rep{Email: tt.out, Available: false}
			if got := count(rotation(t, a, reps, &st, 30))[tt.out]; got != 0 {
				t.Fatalf("%s got %d leads while out, want 0", tt.out, got)
			}
			reps[tt.out] = routing.Rep{Email: tt.out, Available: true}
			back := rotation(t, a, reps, &st, 30)
			got := count(back)
			for rep, want := range tt.want {
				if d := got[rep] - want; d < -1 || d > 1 {
					t.Errorf("%s got %d of the 30 leads after the absence, want %d±1 (%s)", rep, got[rep], want, strings.Join(back, " "))
				}
			}
			// No burst at the start either: within the first three leads back the
			// returning member gets at most their share, rounded up, plus the tie.
			if first := count(back[:3])[tt.out]; first > 2 {
				t.Errorf("%s got %d of the first 3 leads back (%s), want at most 2", tt.out, first, strings.Join(back[:3], " "))
			}
		})
	}
}

// TestCapResumesNextDay caps one member: they are skipped once at the cap, and the
// next day, with AssignedToday reset by the caller, take their share without catching
// up on the day before.
func TestCapResumesNextDay(t *testing.T) {
	a := team(member("a", 1), member("b", 1))
	reps := map[string]routing.Rep{
		"a": {Email: "a", Available: true, Cap: 10},
		"b": {Email: "b", Available: true},
	}
	var st routing.State
	day1 := rotation(t, a, reps, &st, 30)
	if got := count(day1); got["a"] != 10 || got["b"] != 20 {
		t.Errorf("day 1: got a %d, b %d, want a 10 (its cap), b 20", got["a"], got["b"])
	}
	d := routing.Decide(a, nil, "", reps, &st, "")
	if want := "a: at daily cap (10 of 10) (team t, route all)"; !slices.Contains(d.Skipped, want) {
		t.Errorf("at the cap: got skipped %q, want it to include %q", d.Skipped, want)
	}

	for rep, r := range reps { // a new day
		r.AssignedToday = 0
		reps[rep] = r
	}
	day2 := rotation(t, a, reps, &st, 16)
	if got := count(day2); got["a"] != 8 || got["b"] != 8 {
		t.Errorf("day 2: got a %d, b %d, want 8 each (%s)", got["a"], got["b"], strings.Join(day2, " "))
	}
}

// TestMembersChange runs a team through versions of the agreement that add, remove,
// re-add and reweight members: nobody gets a burst, and the split follows the weights
// of the version in force.
func TestMembersChange(t *testing.T) {
	reps := everyone("a", "b", "c")
	var st routing.State
	steps := []struct {
		name    string
		members []agreement.Member
		leads   int
		want    map[string]int
	}{
		{"v1", []agreement.Member{member("a", 1), member("b", 1)}, 100,
			map[string]int{"a": 50, "b": 50}},
		{"v2 adds c at parity", []agreement.Member{member("a", 1), member("b", 1), member("c", 1)}, 30,
			map[string]int{"a": 10, "b": 10, "c": 10}},
		{"v3 removes b", []agreement.Member{member("a", 1), member("c", 1)}, 20,
			map[string]int{"a": 10, "c": 10}},
		{"v4 brings b back at parity", []agreement.Member{member("b", 1), member("a", 1), member("c", 1)}, 30,
			map[string]int{"a": 10, "b": 10, "c": 10}},
		{"v5 weights a 3", []agreement.Member{member("a", 3), member("b", 1), member("c", 1)}, 50,
			map[string]int{"a": 30, "b": 10, "c": 10}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			picks := rotation(t, team(s.members...), reps, &st, s.leads)
			got := count(picks)
			for rep, want := range s.want {
				if d := got[rep] - want; d < -1 || d > 1 {
					t.Errorf("%s got %d of %d leads, want %d±1 (%s)", rep, got[rep], s.leads, want, strings.Join(picks, " "))
				}
			}
			// No burst: the first members.len leads go to distinct members.
			n := len(s.members)
			if first := count(picks[:n]); len(first) != n {
				t.Errorf("first %d leads went to %v, want one each", n, first)
			}
			var inTeam []string
			for _, m := range s.members {
				inTeam = append(inTeam, m.Rep)
			}
			if got := slices.Sorted(maps.Keys(st.Teams["t"])); !reflect.DeepEqual(got, slices.Sorted(slices.Values(inTeam))) {
				t.Errorf("got rotation of %v, want only the members %v", got, inTeam)
			}
		})
	}
}

func TestReason(t *testing.T) {
	a := mustParse(t, terms)
	reps := everyone(staff...)
	reps["bob@x.test"] = routing.Rep{Email: "bob@x.test", Available: true, Cap: 2}
	var st routing.State
	const capped = "bob@x.test: at daily cap (2 of 2) (team na, route north america)"
	want := []struct{ reason, skipped string }{
		{"round robin na: alice@x.test (weight 2, served 1 of 1)", ""},
		{"round robin na: bob@x.test (weight 1, served 1 of 2)", ""},
		{"round robin na: alice@x.test (weight 2, served 2 of 3)", ""},
		{"round robin na: alice@x.test (weight 2, served 3 of 4)", ""},
		{"round robin na: bob@x.test (weight 1, served 2 of 5)", ""},
		{"round robin na: alice@x.test (weight 2, served 4 of 6)", capped},
		{"round robin na: alice@x.test (weight 2, served 5 of 7)", capped},
		{"round robin na: alice@x.test (weight 2, served 6 of 8)", capped},
	}
	for i, w := range want {
		t.Run(fmt.Sprint("lead ", i+1), func(t *testing.T) {
			d := routing.Decide(a, lead("US", "", 10), "", reps, &st, "")
			if d.Reason != w.reason {
				t.Errorf("got reason %q, want %q", d.Reason, w.reason)
			}
			if got := strings.Join(d.Skipped, "; "); got != w.skipped {
				t.Errorf("got skipped %q, want %q", got, w.skipped)
			}
			r := reps[d.Rep]
			r.AssignedToday++
			reps[d.Rep] = r
		})
	}
}

// TestStateJSON persists the state midway, as a caller between decisions would, and
// checks that decisions from the reloaded state are those of the state kept in memory.
func TestStateJSON(t *testing.T) {
	a := team(member("a", 3), member("b", 2), member("c", 1))
	reps := everyone("a", "b", "c")
	var st routing.State
	for i := range 40 {
		reps["c"] = routing.Rep{Email: "c", Available: i%7 != 0}
		routing.Decide(a, nil, "", reps, &st, "")
	}
	b, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	var loaded routing.State
	if err := json.Unmarshal(b, &loaded); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, st) {
		t.Fatalf("got %v after a JSON round trip, want %v", loaded, st)
	}
	for i := range 100 {
		reps["a"] = routing.Rep{Email: "a", Available: i%5 != 0}
		got := routing.Decide(a, nil, "", reps, &loaded, "")
		want := routing.Decide(a, nil, "", reps, &st, "")
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("lead %d: got %+v from the reloaded state, want %+v", i, got, want)
		}
		if i%10 == 0 { // store and load again, as each decision's transaction would
			b, _ := json.Marshal(&loaded)
			loaded = routing.State{}
			if err := json.Unmarshal(b, &loaded); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestDeterministic(t *testing.T) {
	a := mustParse(t, terms)
	reps := everyone(staff...)
	reps["alice@x.test"] = routing.Rep{Email: "alice@x.test", Available: false}
	start := routing.State{Teams: map[string]routing.Rotation{
		"na": {"alice@x.test": {Pass: 1.5, Leads: 3}, "bob@x.test": {Pass: 2, Leads: 2}},
	}}
	clone := func() *routing.State {
		b, _ := json.Marshal(&start)
		var st routing.State
		json.Unmarshal(b, &st)
		return &st
	}
	first := routing.Decide(a, lead("US", "", 10), "", reps, clone(), "")
	for range 20 {
		if got := routing.Decide(a, lead("US", "", 10), "", reps, clone(), ""); !reflect.DeepEqual(got, first) {
			t.Fatalf("got %+v, want %+v as the first time", got, first)
		}
	}
	if _, ok := start.Teams["na"]["bob@x.test"]; !ok {
		t.Fatal("Decide changed the caller's other copy of the state")
	}
}

func BenchmarkDecide(b *testing.B) {
	a := mustParse(b, string(agreement.Default))
	reps := everyone("alice@example.com", "bob@example.com", "chen@example.com", "dara@example.com")
	f := lead("US", "", 250)
	var st routing.State
	b.ReportAllocs()
	for b.Loop() {
		if d := routing.Decide(a, f, "", reps, &st, ""); d.Rep == "" {
			b.Fatal(d.Reason)
		}
	}
}
