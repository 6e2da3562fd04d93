package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runTandem runs a command and returns its output and error.
func runTandem(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func mustWrite(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "tandem.db")
	companies := filepath.Join(dir, "companies.csv")
	mustWrite(t, companies, "Record ID,Company name,Company Domain Name,Number of Employees\n101,Acme Corp,acme.test,\"1,200\"\n")
	contacts := filepath.Join(dir, "contacts.csv")
	mustWrite(t, contacts, "Record ID,First Name,Email,Lead Status,Associated Company IDs\n"+
		"1,Ann,ann@acme.test,Open,101\n"+
		"2,Bob,bob at acme,New,101\n"+
		"3,Cy,cy@acme.test,,101\n")
	report := contacts + ".errors.csv"

	out, _, err := runTandem("import", "accounts", companies, "--db", db)
	if err != nil || !strings.Contains(out, "1 rows read: 1 created, 0 updated, 0 unchanged, 0 failed") {
		t.Fatalf("import accounts: %v\n%s", err, out)
	}

	// A broken row: the others are imported, the exit status says so, and the report
	// names the row, the column and why.
	out, stderr, err := runTandem("import", "contacts", contacts, "--db", db)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 rows were not imported") {
		t.Errorf("import contacts: error %v, want one saying a row was not imported", err)
	}
	if !strings.Contains(out, "3 rows read: 2 created, 0 updated, 0 unchanged, 1 failed") || !strings.Contains(out, report) {
		t.Errorf("summary:\n%s", out)
	}
	if !strings.Contains(stderr, "importing contacts [") || !strings.Contains(stderr, "Lead Status") {
		t.Errorf("stderr lacks the progress bar and the mapping:\n%s", stderr)
	}
	wantReport := "row,line,column,value,error\n3,3,Email,bob at acme,\"\"\"bob at acme\"\" is not an email address\"\n"
	if got, err := os.ReadFile(report); err != nil || string(got) != wantReport {
		t.Errorf("report = %q (%v), want %q", got, err, wantReport)
	}

	// The same file again changes nothing; the report is this run's.
	out, _, err = runTandem("import", "contacts", "--db", db, contacts)
	if err == nil || !strings.Contains(out, "3 rows read: 0 created, 0 updated, 2 unchanged, 1 failed") {
		t.Errorf("re-import: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(report); string(got) != wantReport {
		t.Errorf("report after the re-import = %q", got)
	}

	// Fixed, the row is imported, and the old report goes.
	fixed := strings.Replace(mustRead(t, contacts), "bob at acme", "bob@acme.test", 1)
	mustWrite(t, contacts, fixed)
	out, _, err = runTandem("import", "contacts", contacts, "--db", db)
	if err != nil || !strings.Contains(out, "3 rows read: 1 created, 0 updated, 2 unchanged, 0 failed") {
		t.Errorf("fixed import: %v\n%s", err, out)
	}
	if _, err := os.Stat(report); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the earlier report is still there: %v", err)
	}

	// A dry run shows the mapping and writes nothing.
	more := filepath.Join(dir, "more.csv")
	mustWrite(t, more, "Courriel,Vorname\ndee@acme.test,Dee\nbad,Eve\n")
	custom := filepath.Join(dir, "more-errors.csv")
	out, _, err = runTandem("import", "contacts", more, "--db", db, "--dry-run", "--map", "Courriel=email,Vorname=first_name", "--errors", custom)
	if err == nil || !strings.Contains(out, "Vorname  → first_name (trait firstName): as mapped") || !strings.Contains(out, "1 valid, 1 failed; nothing was written") {
		t.Errorf("dry run: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(custom); !strings.Contains(string(got), "3,3,Courriel,bad,") {
		t.Errorf("dry-run report = %q", got)
	}
	// Without the mapping, nothing says which column is the email: the file is refused.
	_, _, err = runTandem("import", "contacts", more, "--db", db)
	if err == nil || !strings.Contains(err.Error(), "no column of the file is email") {
		t.Errorf("import without an email column: %v", err)
	}

	// An export imports back changing nothing.
	export := filepath.Join(dir, "export.csv")
	if _, _, err := runTandem("export", "contacts", "--db", db, "--out", export); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, export); strings.Count(got, "\n") != 4 || !strings.Contains(got, "1,ann@acme.test,Ann,") {
		t.Errorf("export:\n%s", got)
	}
	out, _, err = runTandem("import", "contacts", export, "--db", db)
	if err != nil || !strings.Contains(out, "3 rows read: 0 created, 0 updated, 3 unchanged, 0 failed") {
		t.Errorf("re-import of the export: %v\n%s", err, out)
	}
	if _, _, err := runTandem("import", "widgets", contacts, "--db", db); err == nil {
		t.Error("import of widgets: no error")
	}
}

func mustRead(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
