package store

import (
	"path/filepath"
	"strings"
	"testing"

	"tandem"
)

// TestHottestLeadsUseIndex checks that "MQLs, hottest first" and "MQLs in id order"
// are index scans, on every page, not a scan and sort of every contact in the stage.
func TestHottestLeadsUseIndex(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		order, index string
		p            tandem.Page
	}{
		{"-engagement", "contacts_stage_engagement", tandem.Page{Limit: 50}},
		{"-engagement", "contacts_stage_engagement", tandem.Page{Limit: 50, After: 10, AfterScore: 3.5}},
		{"id", "contacts_stage_id", tandem.Page{Limit: 50}},
		{"id", "contacts_stage_id", tandem.Page{Limit: 50, After: 10}},
	} {
		p := tt.p
		q, args, err := contactsQuery(tandem.ContactFilter{Stage: "mql", Order: tt.order}, p)
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
		if !strings.Contains(got, "INDEX "+tt.index) || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("plan for order %s, page %+v = %q, want the %s index and no sort", tt.order, p, got, tt.index)
		}
	}
}
