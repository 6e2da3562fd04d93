package store

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"tandem/csvio"
)

// TestPrepareEncodesAsEncodingJSON pins a row's traits as JSON, and so the id of its
// identify message, to what the standard library writes: rows imported by earlier
// versions are known again by that id. Values are what a file gives: text of any
// kind, and numbers.
func TestPrepareEncodesAsEncodingJSON(t *testing.T) {
	texts := []string{"", "Ada", "<b>Tom & Jerry</b>", "line\u2028sep\u2029", `quote " and \ back`,
		"\x00\x1f\x7f", "bad \xff\xfe utf-8", "café 漢字 😀", "tab\tnew\nline", "+1 (555) 010-0000"}
	numbers := []float64{0, -0.5, 1, 12345678, 1e20, 1e21, 1.5e300, 1e-6, 1e-7, math.SmallestNonzeroFloat64, 3.14159, -42}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		traits := map[string]any{}
		for range 1 + r.IntN(8) {
			key := texts[r.IntN(len(texts))] + "k"
			if r.IntN(3) == 0 {
				traits[key] = numbers[r.IntN(len(numbers))]
			} else {
				traits[key] = texts[r.IntN(len(texts))]
			}
		}
		c := &csvio.Contact{Email: "person@example.com", Traits: traits}
		got := prepare(c).raw
		if _, ok := traits["email"]; ok {
			t.Fatalf("case %d: prepare left the address among the row's own traits", i)
		}
		traits["email"] = c.Email
		want, err := json.Marshal(traits)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("case %d: prepare wrote\n%s\nencoding/json writes\n%s", i, got, want)
		}
	}
	// A trait named email, which a mapping may give, is the address in what is sent,
	// and left as it was in the row.
	c := &csvio.Contact{Email: "ada@example.com", Traits: map[string]any{"email": "old@example.com"}}
	if got := prepare(c).raw; got != `{"email":"ada@example.com"}` {
		t.Errorf("prepare wrote %s, want the row's address", got)
	}
	if c.Traits["email"] != "old@example.com" {
		t.Errorf("the row's own email trait is now %v", c.Traits["email"])
	}
}
