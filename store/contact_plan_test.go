package store

import (
	"path/filepath"
	"strings"
	"testing"

	"tandem"
)

// TestHottestLeadsUseIndex checks that "MQLs, hottest first" is an index scan, in
// both directions of paging, not a scan and sort of every contact.
func TestHottestLeadsUseIndex(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []tandem.Page{{Limit: 50}, {Limit: 50, After: 10, AfterScore: 3.5}} {
		q, args, err := contactsQuery(tandem.ContactFilter{Stage: "mql", Order: "-engagement"}, p)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, "USING INDEX contacts_stage_engagement") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("plan for page %+v = %q, want the contacts_stage_engagement index and no sort", p, got)
		}
	}
}
