package store

import (
	"strings"
	"testing"
	"time"
)

// TestContainsAny asks SQLite's containsAny what a rescore asks of page views' text:
// whether it contains any of the needles, in text and in a blob alike, with the needles
// one to an argument or several in one.
func TestContainsAny(t *testing.T) {
	db, _ := rescoreStore(t, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	tests := []struct {
		text    any
		needles []any
		want    int
	}{
		{`{"path":"/pricing"}`, []any{`\`, "/pricing"}, 1},
		{`{"path":"/pr\u0069cing"}`, []any{`\`, "/pricing"}, 1},
		{`{"path":"/blog"}`, []any{`\`, "/pricing", "/demo"}, 0},
		{`{"path":"/demo"}`, []any{`\`, "/pricing", "/demo"}, 1},
		{[]byte(`{"path":"/pricing"}`), []any{"/pricing"}, 1},
		{[]byte(`{"path":"/blog"}`), []any{"/pricing"}, 0},
		{nil, []any{"/pricing"}, 0},
		{`{"title":"Préços"}`, []any{"ços"}, 1},
		{`{"path":"/demo"}`, []any{"\\" + needleSep + "/pricing" + needleSep + "/demo"}, 1},
		{`{"path":"/blog"}`, []any{"\\" + needleSep + "/pricing" + needleSep + "/demo"}, 0},
		{`{"path":"/blog"}`, []any{"/pricing" + needleSep + ""}, 1}, // an empty needle is in every text
		{`{"path":"/blog"}`, []any{"/demo", "/pricing" + needleSep + "/blog"}, 1},
	}
	for _, tt := range tests {
		q := `SELECT ` + containsAny + `(?` + strings.Repeat(", ?", len(tt.needles)) + `)`
		var got int
		if err := db.read.QueryRowContext(t.Context(), q, append([]any{tt.text}, tt.needles...)...).Scan(&got); err != nil {
			t.Fatalf("%v: %v", tt.text, err)
		}
		if got != tt.want {
			t.Errorf("containsAny(%q, %q) = %d, want %d", tt.text, tt.needles, got, tt.want)
		}
	}
	if err := db.read.QueryRowContext(t.Context(), `SELECT `+containsAny+`('x')`).Scan(new(int)); err == nil {
		t.Errorf("containsAny with no needle answered without an error")
	}
}
