package agreement

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeExample keeps the agreement shown in the README valid.
func TestReadmeExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## The agreement")
	if !ok {
		t.Fatal("README.md has no agreement section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	doc, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README's agreement section has no yaml example")
	}
	a, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("the README's example does not parse: %v", err)
	}
	if a.Stage("inactive") == nil || a.Stage("inactive").EngagementBelow != 10 {
		t.Errorf("the README's inactive stage is not found by the decay job: %+v", a.Stage("inactive"))
	}
}

func TestDetourEnterFrom(t *testing.T) {
	for _, tt := range []struct {
		rule string
		want string
	}{
		{`stage == "mql" && score.engagement < 10`, "mql"},
		{`score.engagement < 10 && stage in ["mql", "sal"]`, "mql,sal"},
		{`score.engagement < 10`, ""},
		{`stage != "mql" && score.engagement < 10`, ""},
	} {
		doc := "name: t\ntimezone: UTC\nscoring: { fit: { rules: [{ name: f, when: 'contact.free_email', points: 1 }] } }\nstages:\n" +
			"  - { key: lead, meaning: a }\n  - { key: mql, meaning: b, enter_when: 'score.fit > 0' }\n  - { key: sal, meaning: c, enter_on: accept }\n" +
			"  - { key: inactive, meaning: d, detour: true, enter_when: '" + tt.rule + "' }\n"
		a, err := Parse([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if got := strings.Join(a.Stage("inactive").EnterFrom, ","); got != tt.want {
			t.Errorf("%s: EnterFrom = %q, want %q", tt.rule, got, tt.want)
		}
	}
}
