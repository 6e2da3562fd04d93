package agreement

import (
	"strings"
	"testing"
)

// lines makes a document of the numbered lines from to to, inclusive.
func lines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		b.WriteString("line ")
		b.WriteString(string(rune('a' + i - 1)))
		b.WriteString("\n")
	}
	return b.String()
}

func TestDiff(t *testing.T) {
	ten := lines(1, 10) // line a .. line j
	for _, tt := range []struct {
		name string
		a, b string
		want string
	}{
		{"identical", ten, ten, ""},
		{"both empty", "", "", ""},
		{"missing final newline", "a\nb", "a\nb\n", ""},
		{"one changed line", ten, strings.Replace(ten, "line e\n", "line E\n", 1),
			"@@ -2,7 +2,7 @@\n line b\n line c\n line d\n-line e\n+line E\n line f\n line g\n line h\n"},
		{"insert at start", ten, "first\n" + ten,
			"@@ -1,3 +1,4 @@\n+first\n line a\n line b\n line c\n"},
		{"insert at end", ten, ten + "last\n",
			"@@ -8,3 +8,4 @@\n line h\n line i\n line j\n+last\n"},
		{"remove at start", ten, lines(2, 10),
			"@@ -1,4 +1,3 @@\n-line a\n line b\n line c\n line d\n"},
		{"from nothing", "", "a\nb\n", "@@ -0,0 +1,2 @@\n+a\n+b\n"},
		{"to nothing", "a\nb\n", "", "@@ -1,2 +0,0 @@\n-a\n-b\n"},
		{"two hunks", lines(1, 20), strings.NewReplacer("line b\n", "line B\n", "line s\n", "line S\n").Replace(lines(1, 20)),
			"@@ -1,5 +1,5 @@\n line a\n-line b\n+line B\n line c\n line d\n line e\n" +
				"@@ -16,5 +16,5 @@\n line p\n line q\n line r\n-line s\n+line S\n line t\n"},
		{"changes six lines apart share a hunk", lines(1, 12), strings.NewReplacer("line c\n", "line C\n", "line j\n", "line J\n").Replace(lines(1, 12)),
			"@@ -1,12 +1,12 @@\n line a\n line b\n-line c\n+line C\n line d\n line e\n line f\n line g\n line h\n line i\n-line j\n+line J\n line k\n line l\n"},
		{"replace in the middle", "keep\nold 1\nold 2\nkeep too\n", "keep\nnew\nkeep too\n",
			"@@ -1,4 +1,3 @@\n keep\n-old 1\n-old 2\n+new\n keep too\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Diff(tt.a, tt.b); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDiffLargeDocuments(t *testing.T) {
	var a, b strings.Builder
	for i := range 2000 {
		a.WriteString(strings.Repeat("x", i%7) + "\n")
		b.WriteString(strings.Repeat("y", i%5) + "\n")
	}
	d := Diff(a.String(), b.String())
	var minus, plus int
	for _, l := range strings.Split(d, "\n") {
		switch {
		case strings.HasPrefix(l, "-"):
			minus++
		case strings.HasPrefix(l, "+"):
			plus++
		}
	}
	// Every line either stays or is removed from a and added from b.
	if !strings.HasPrefix(d, "@@ -1,") || minus > 2000 || plus > 2000 || minus != plus {
		t.Errorf("got a diff of %d removals and %d additions starting %q", minus, plus, d[:min(len(d), 20)])
	}
}
