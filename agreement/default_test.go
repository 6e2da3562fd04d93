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
