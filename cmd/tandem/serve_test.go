package main

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tandem-data/tandem.db", "tandem-data/tandem.db"},
		{"postgres://app:s3cret@db:5432/tandem", "postgres://app:xxxxx@db:5432/tandem"},
		{"postgres://db/tandem?user=app&password=s3cret", "postgres://db/tandem?password=xxxxx&user=app"},
	}
	for _, tt := range tests {
		if got := redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestServeRefusesNonPositiveDecayInterval: a zero interval would crash the decay job's
// ticker after start; it is refused before anything opens.
func TestServeRefusesNonPositiveDecayInterval(t *testing.T) {
	for _, v := range []string{"0", "-1m"} {
		var out, errs strings.Builder
		err := run(t.Context(), []string{"serve", "--db", t.TempDir() + "/t.db", "--decay-interval", v}, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), "--decay-interval") {
			t.Errorf("serve --decay-interval %s: err = %v, want a refusal naming the flag", v, err)
		}
	}
}
