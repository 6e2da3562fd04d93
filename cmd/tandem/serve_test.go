package main

import "testing"

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
