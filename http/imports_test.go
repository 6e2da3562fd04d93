package http_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// csvRequest sends a CSV body with a bearer token.
func (ts *testServer) csvRequest(tb testing.TB, path, token, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

type importResponse struct {
	Rows, Created, Updated, Unchanged, Valid, Failed int
	Columns                                          []struct{ Header, Use, Field, Trait string }
	Errors                                           []struct {
		Row     int
		Column  string
		Message string
	}
}

func TestImportAndExportAPI(t *testing.T) {
	ts := newTestServer(t)
	file := "Record ID,First Name,Email,Lead Status\n" +
		"1,Ann,ann@acme.test,Open\n" +
		"2,Bob,bob at acme,New\n" +
		"3,Cy,cy@acme.test,\n"

	var res importResponse
	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/contacts?dry_run=true", adminSecret, file), 200, &res)
	if res.Valid != 2 || res.Failed != 1 || ts.contactCount(t) != 0 {
		t.Errorf("dry run: %+v with %d contacts stored, want 2 valid, 1 failed, none stored", res, ts.contactCount(t))
	}

	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/contacts", adminSecret, file), 200, &res)
	if res.Rows != 3 || res.Created != 2 || res.Failed != 1 || ts.contactCount(t) != 2 {
		t.Errorf("import: %+v with %d contacts, want 2 created and 1 failed", res, ts.contactCount(t))
	}
	if len(res.Errors) != 1 || res.Errors[0].Row != 3 || res.Errors[0].Column != "Email" {
		t.Errorf("errors = %+v, want row 3, column Email", res.Errors)
	}
	if len(res.Columns) != 4 || res.Columns[3].Use != "trait" || res.Columns[3].Trait != "lead_status" {
		t.Errorf("columns = %+v, want Lead Status kept as trait lead_status", res.Columns)
	}

	resp := ts.api(t, "GET", "/api/v1/exports/contacts", adminSecret, "")
	export, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(string(export), "ann@acme.test") || strings.Count(string(export), "\n") != 3 {
		t.Fatalf("export: status %d, %s:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), export)
	}
	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/contacts", adminSecret, string(export)), 200, &res)
	if res.Rows != 2 || res.Unchanged != 2 {
		t.Errorf("re-import of the export: %+v, want 2 rows unchanged", res)
	}

	var tok struct{ Token string }
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/tokens", adminSecret, `{"name":"rep","role":"sales"}`), 201, &tok)
	var p problemDoc
	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/contacts", tok.Token, file), 403, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/exports/contacts", tok.Token, ""), 403, &p)
	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/contacts", adminSecret, "Record ID,First Name\n1,Ann\n"), 400, &p)
	if !strings.Contains(p.Detail, "email") {
		t.Errorf("detail = %q, want it to say the email column is missing", p.Detail)
	}
	ts.mustJSON(t, ts.csvRequest(t, "/api/v1/imports/widgets", adminSecret, file), 404, &p)
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/imports/contacts", adminSecret, `{"email":"x@acme.test"}`), 400, &p)
}

// TestImportCutShort sends a gzip file that ends partway: the batches read before the
// end are stored, and the problem says how many.
func TestImportCutShort(t *testing.T) {
	ts := newTestServer(t)
	var file bytes.Buffer
	zw := gzip.NewWriter(&file)
	fmt.Fprintln(zw, "Email,First Name")
	for i := range 5000 {
		fmt.Fprintf(zw, "p%d@acme.test,Person %d\n", i, i)
	}
	zw.Close()
	cut := file.Bytes()[:file.Len()*9/10]
	req, err := http.NewRequest("POST", ts.URL+"/api/v1/imports/contacts", bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminSecret)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		problemDoc
		Imported *importResponse `json:"imported"`
	}
	ts.mustJSON(t, resp, 400, &p)
	stored := ts.contactCount(t)
	if !strings.Contains(p.Detail, "reading the file") || p.Imported == nil || p.Imported.Created == 0 || int64(p.Imported.Created) != stored {
		t.Errorf("problem %+v (imported %+v) with %d contacts stored, want the count of those stored before the file ended", p.problemDoc, p.Imported, stored)
	}
}
