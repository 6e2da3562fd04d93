package agreement_test

import (
	"strings"
	"testing"

	"tandem/agreement"
)

func TestOnlyEngagementRulesDiffer(t *testing.T) {
	base := string(agreement.Default)
	tests := []struct {
		name     string
		old, new string // replaced in base for the second document
		want     bool
	}{
		{"the same", "", "", true},
		{"a rule's points", "points: 15 }", "points: 16 }", true},
		{"a rule's condition", `startsWith "/pricing"`, `startsWith "/pric"`, true},
		{"a comment", "# every point counts half after 14 days", "# half after two weeks", true},
		{"the half-life", "half_life: 14d ", "half_life: 21d ", false},
		{"a fit rule", "points: -25 }", "points: -20 }", false},
		{"a stage's meaning", `meaning: "A known person: we have their email address or user id."`, `meaning: "Known."`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(base, tt.old, tt.new, 1)
			if tt.old != "" && doc == base {
				t.Fatalf("%q is not in the default agreement", tt.old)
			}
			if got := agreement.OnlyEngagementRulesDiffer([]byte(base), []byte(doc)); got != tt.want {
				t.Errorf("OnlyEngagementRulesDiffer = %v, want %v", got, tt.want)
			}
		})
	}
	if agreement.OnlyEngagementRulesDiffer([]byte(base), []byte("name: [")) {
		t.Errorf("a document that does not parse counted as alike")
	}
	// JSON is YAML: the same agreement written as JSON says the same.
	js := `{"name": "x", "scoring": {"engagement": {"half_life": "14d", "rules": []}}}`
	ym := "name: x\nscoring:\n  engagement:\n    half_life: 14d\n    rules:\n      - { name: a, on: page, points: 1 }\n"
	if !agreement.OnlyEngagementRulesDiffer([]byte(js), []byte(ym)) {
		t.Errorf("a JSON and a YAML document that differ in their rules only did not count as alike")
	}
}
