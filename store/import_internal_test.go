package store

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/csvio"
)

// TestImportMessageStoredAlready has create meet a new person whose identify message is
// stored already, under the same time: which only a clock that stands still and a
// contact that lost its address row together allow. The row is left to ingest, which
// knows the message, and no second contact is made.
func TestImportMessageStoredAlready(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), Options{Ingester: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return at }
	file := "Email,First Name\nada@example.com,Ada\nbob@example.com,Bob\n"
	imp := func() *ImportSummary {
		r, err := csvio.NewReader(strings.NewReader(file), csvio.Contacts, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := db.Import(t.Context(), r, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if sum := imp(); sum.Created != 2 {
		t.Fatalf("first import: %+v, want 2 created", sum)
	}
	if _, err := db.write.ExecContext(t.Context(), `DELETE FROM identities WHERE value = 'ada@example.com'`); err != nil {
		t.Fatal(err)
	}
	sum := imp()
	if sum.Created != 0 || sum.Unchanged != 2 {
		t.Errorf("second import: %+v, want both rows unchanged", sum)
	}
	var contacts int
	if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM contacts`).Scan(&contacts); err != nil {
		t.Fatal(err)
	}
	if contacts != 2 {
		t.Errorf("contacts = %d, want 2", contacts)
	}
}
