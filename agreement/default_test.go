package agreement

import "testing"

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
