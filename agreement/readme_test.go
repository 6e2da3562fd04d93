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
