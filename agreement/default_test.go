package agreement

import (
	"errors"
	"testing"
	"time"
)

func TestDefaultParses(t *testing.T) {
	a, err := Parse(Default)
	if err != nil {
		t.Fatalf("the default agreement does not parse: %v", err)
	}
	rules := len(a.Scoring.Engagement) + len(a.Scoring.Fit)
	for _, s := range a.Stages {
		if s.EnterWhen != nil {
			rules++
		}
	}
	if rules != 20 {
		t.Errorf("the default agreement has %d rules; the benchmarks quote it as a 20-rule agreement", rules)
	}
}

func TestHandoff(t *testing.T) {
	for _, tt := range []struct {
		name, stages, want string
	}{
		{"the stage before accept", `[{key: lead}, {key: mql, enter_when: 'score.fit > 1'}, {key: sal, enter_on: accept}]`, "mql"},
		{"detours are not handed off", `[{key: lead}, {key: mql, enter_when: 'score.fit > 1'}, {key: cold, detour: true, enter_when: 'score.fit < 1'}, {key: sal, enter_on: accept}]`, "mql"},
		{"no accept stage", `[{key: lead}, {key: mql, enter_when: 'score.fit > 1'}]`, ""},
		{"accept first", `[{key: sal, enter_on: accept}, {key: lead}]`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte("name: t\ntimezone: UTC\nscoring: {fit: {rules: [{name: x, when: 'contact.free_email', points: 1}]}}\nstages: " + tt.stages + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Handoff(); got != tt.want {
				t.Errorf("Handoff() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAttributionTerms(t *testing.T) {
	base := "name: t\ntimezone: UTC\nscoring: {fit: {rules: [{name: x, when: 'contact.free_email', points: 1}]}}\nstages: [{key: lead}]\n"
	a, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if a.Attribution.Model != "w_shaped" || a.Attribution.Cutoff != "created" || a.Attribution.Models["u_shaped"].First != 0.4 {
		t.Errorf("default attribution = %+v", a.Attribution)
	}
	a, err = Parse([]byte(base + "attribution: {model: u_shaped, cutoff: closed, lookback: 90d, half_life: 14d, u_shaped: {first: 0.5, last: 0.5}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	u := a.Attribution.Models["u_shaped"]
	if a.Attribution.Model != "u_shaped" || a.Attribution.Cutoff != "closed" || a.Attribution.Lookback != 90*24*time.Hour ||
		u.First != 0.5 || u.Last != 0.5 || a.Attribution.Models["time_decay"].HalfLife != 14*24*time.Hour {
		t.Errorf("attribution = %+v, u_shaped %+v", a.Attribution, u)
	}
	_, err = Parse([]byte(base + "attribution: {model: half_and_half, cutoff: later, w_shaped: {first: 0.6, lead: 0.6}}\n"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Errorf("three bad attribution settings: %v, want three problems", err)
	}
}
