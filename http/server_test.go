package http_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem"
	thttp "tandem/http"
	"tandem/ingest"
	"tandem/metrics"
	"tandem/store"
)

const adminSecret = "test-admin-secret-0123456789"

// testServer is a real server on loopback over a real SQLite file.
type testServer struct {
	*httptest.Server
	db       *store.DB
	writeKey string
}

func newTestServer(tb testing.TB) *testServer {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(tb.TempDir(), "tandem.db"), store.Options{Ingester: true})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.EnsureToken(ctx, "admin", tandem.RoleAdmin, adminSecret); err != nil {
		tb.Fatal(err)
	}
	reg := metrics.NewRegistry()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := ingest.NewCommitter(db, 0, reg, log)
	ts := &testServer{Server: httptest.NewServer(thttp.NewServer(db, c, reg, log)), db: db}
	tb.Cleanup(func() {
		ts.Close()
		c.Close()
		db.Close()
	})
	var src struct {
		WriteKey string `json:"write_key"`
	}
	ts.mustJSON(tb, ts.api(tb, "POST", "/api/v1/sources", adminSecret, `{"name":"website"}`), 201, &src)
	ts.writeKey = src.WriteKey
	return ts
}

// api sends a JSON API request with a bearer token.
func (ts *testServer) api(tb testing.TB, method, path, token, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// track sends a tracking API request with the source's write key.
func (ts *testServer) track(tb testing.TB, path, body string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(ts.writeKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	return resp
}

// mustJSON checks the response status and decodes its body into v.
func (ts *testServer) mustJSON(tb testing.TB, resp *http.Response, status int, v any) {
	tb.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tb.Fatalf("%s %s: got status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			tb.Fatalf("decode %s: %v", body, err)
		}
	}
}

type problemDoc struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Errors []struct {
		Index   int    `json:"index"`
		Pointer string `json:"pointer"`
		Detail  string `json:"detail"`
	} `json:"errors"`
}

func TestAPIAuth(t *testing.T) {
	ts := newTestServer(t)
	var p problemDoc
	resp := ts.api(t, "GET", "/api/v1/contacts", "", "")
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	ts.mustJSON(t, resp, 401, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts", "wrong-token", ""), 401, &p)

	var tok struct{ Token string }
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/tokens", adminSecret, `{"name":"rep","role":"sales"}`), 201, &tok)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts", tok.Token, ""), 200, nil)
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/sources", tok.Token, `{"name":"x"}`), 403, &p)
	if p.Code != "forbidden" {
		t.Errorf("code = %q, want forbidden", p.Code)
	}
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/tokens", tok.Token, `{"name":"x","role":"admin"}`), 403, nil)
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/tokens", adminSecret, `{"name":"x","role":"boss"}`), 400, &p)
	if !strings.Contains(p.Detail, "role") {
		t.Errorf("detail %q does not name the role", p.Detail)
	}

	// A write key can only ingest.
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts", ts.writeKey, ""), 401, nil)
	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/contacts", nil)
	req.SetBasicAuth(ts.writeKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 401, nil)
}

func TestTrackingWriteKey(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequest("POST", ts.URL+"/v1/track", strings.NewReader(`{"userId":"u1","event":"Signed Up"}`))
	req.SetBasicAuth("wk_unknown", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 401, nil)

	resp, err = http.Post(ts.URL+"/v1/track", "application/json", strings.NewReader(`{"userId":"u1","event":"Signed Up"}`))
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 401, nil)

	// The write key may also come in the body.
	body := fmt.Sprintf(`{"writeKey":%q,"userId":"u1","event":"Signed Up"}`, ts.writeKey)
	resp, err = http.Post(ts.URL+"/v1/track", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 200, nil)
	body = fmt.Sprintf(`{"writeKey":%q,"batch":[{"type":"track","userId":"u1","event":"Signed Up"}]}`, ts.writeKey)
	resp, err = http.Post(ts.URL+"/v1/batch", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 200, nil)
	if n := ts.contactCount(t); n != 1 {
		t.Errorf("contacts = %d, want 1", n)
	}
}

func (ts *testServer) contactCount(tb testing.TB) int64 {
	tb.Helper()
	n, err := ts.db.CountContacts(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestTrackingBadInput(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		name, path, body string
		status           int
		detail           string // a substring of the problem's detail
		line, column     int
	}{
		{"syntax error", "/v1/track", "{\n  \"userId\": \"u1\",\n  \"event\": }", 400, "invalid JSON at line 3, column 12", 3, 12},
		{"empty body", "/v1/track", "", 400, "empty", 1, 1},
		{"not an object", "/v1/identify", `["x"]`, 400, "must be an object", 0, 0},
		{"no ids", "/v1/track", `{"event":"Signed Up"}`, 400, "userId or an anonymousId is required", 0, 0},
		{"track without event", "/v1/track", `{"userId":"u1"}`, 400, "/event: is required", 0, 0},
		{"group without groupId", "/v1/group", `{"userId":"u1"}`, 400, "/groupId: is required", 0, 0},
		{"alias without previousId", "/v1/alias", `{"userId":"u1"}`, 400, "/previousId: is required", 0, 0},
		{"properties not an object", "/v1/track", `{"userId":"u1","event":"x","properties":[1]}`, 400, "/properties: must be an object", 0, 0},
		{"bad timestamp", "/v1/track", `{"userId":"u1","event":"x","timestamp":"yesterday"}`, 400, "/timestamp", 0, 0},
		{"wrong type for endpoint", "/v1/track", `{"type":"identify","userId":"u1"}`, 400, "this endpoint takes \"track\"", 0, 0},
		{"NUL character", "/v1/track", `{"userId":"u1","event":"x\u0000"}`, 400, "NUL", 0, 0},
		{"message too large", "/v1/track", `{"userId":"u1","event":"x","properties":{"p":"` + strings.Repeat("a", 33<<10) + `"}}`, 413, "larger than 32768", 0, 0},
		{"batch not an array", "/v1/batch", `{"batch":{}}`, 400, "batch must be an array", 0, 0},
		{"batch missing", "/v1/batch", `{}`, 400, "no \"batch\" array", 0, 0},
		{"batch too many", "/v1/batch", `{"batch":[` + strings.Repeat(`{},`, 2500) + `{}]}`, 413, "at most 2500 messages", 0, 0},
		{"batch too large", "/v1/batch", `{"batch":[{"type":"track","userId":"u1","event":"x","properties":{"p":"` + strings.Repeat("a", 501<<10) + `"}}]}`, 413, "larger than 512000", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p problemDoc
			ts.mustJSON(t, ts.track(t, tt.path, tt.body), tt.status, &p)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", p.Detail, tt.detail)
			}
			if tt.line != 0 && (p.Line != tt.line || p.Column != tt.column) {
				t.Errorf("position = %d:%d, want %d:%d", p.Line, p.Column, tt.line, tt.column)
			}
		})
	}
	if n := ts.contactCount(t); n != 0 {
		t.Errorf("bad input stored %d contacts, want 0", n)
	}
}

func TestBatchReportsBadMessagesAndKeepsTheRest(t *testing.T) {
	ts := newTestServer(t)
	body := `{"batch":[
		{"type":"identify","userId":"u1","traits":{"email":"ann@acme.test"}},
		{"type":"track","userId":"u1"},
		{"type":"bogus","userId":"u1"},
		{"type":"track","userId":"u1","event":"Demo Requested","messageId":"m-1"},
		{"type":"page","anonymousId":"a1","properties":{"path":"/pricing"},"messageId":"m-2"}
	]}`
	var res struct {
		Accepted, Stored, Duplicates, Rejected int
		Errors                                 []struct {
			Index   int
			Pointer string
			Detail  string
		}
	}
	ts.mustJSON(t, ts.track(t, "/v1/batch", body), 200, &res)
	if res.Accepted != 3 || res.Stored != 3 || res.Rejected != 2 {
		t.Errorf("accepted %d, stored %d, rejected %d; want 3, 3, 2", res.Accepted, res.Stored, res.Rejected)
	}
	if len(res.Errors) != 2 || res.Errors[0].Pointer != "/batch/1/event" || res.Errors[1].Pointer != "/batch/2/type" || res.Errors[1].Index != 2 {
		t.Errorf("errors = %+v, want /batch/1/event and /batch/2/type", res.Errors)
	}
	// A retry stores nothing twice.
	ts.mustJSON(t, ts.track(t, "/v1/batch", body), 200, &res)
	if res.Duplicates != 2 {
		t.Errorf("retry: duplicates = %d, want 2 (the messages with a messageId)", res.Duplicates)
	}
	// A batch with nothing valid is refused as a whole.
	var p problemDoc
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[{"type":"track"}]}`), 400, &p)
	if len(p.Errors) != 1 || p.Errors[0].Index != 0 {
		t.Errorf("errors = %+v, want one at index 0", p.Errors)
	}
}

func TestGzipAndClockSkew(t *testing.T) {
	ts := newTestServer(t)
	// The client's clock runs an hour fast: it says it sent at 11:00:05 an event from
	// 11:00:00, so the event happened five seconds before the server received it.
	body := `{"batch":[{"type":"track","userId":"u1","event":"Trial Started","messageId":"skew-1",
		"timestamp":"2020-01-01T11:00:00Z"}],"sentAt":"2020-01-01T11:00:05Z"}`
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(body))
	zw.Close()
	req, _ := http.NewRequest("POST", ts.URL+"/v1/batch", &buf)
	req.SetBasicAuth(ts.writeKey, "")
	req.Header.Set("Content-Encoding", "gzip")
	before := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	ts.mustJSON(t, resp, 200, nil)

	var list struct{ Data []tandem.Contact }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts", adminSecret, ""), 200, &list)
	if len(list.Data) != 1 {
		t.Fatalf("contacts = %d, want 1", len(list.Data))
	}
	var evs struct{ Data []tandem.Event }
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/events", list.Data[0].ID), adminSecret, ""), 200, &evs)
	if len(evs.Data) != 1 {
		t.Fatalf("events = %d, want 1", len(evs.Data))
	}
	got := evs.Data[0].Timestamp
	lo, hi := before.Add(-5*time.Second-time.Millisecond), after.Add(-5*time.Second+time.Millisecond)
	if got.Before(lo) || got.After(hi) {
		t.Errorf("timestamp = %v, want between %v and %v (received minus the 5 s the client says passed)", got, lo, hi)
	}

	req, _ = http.NewRequest("POST", ts.URL+"/v1/track", strings.NewReader("not gzip"))
	req.SetBasicAuth(ts.writeKey, "")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ts.mustJSON(t, resp, 400, nil)
}

func TestContactsAPI(t *testing.T) {
	ts := newTestServer(t)
	ts.mustJSON(t, ts.track(t, "/v1/batch", batchOf(25, func(i int) string {
		return fmt.Sprintf(`{"type":"identify","userId":"u%d","traits":{"email":"Person%d@Globex.test","name":"Person %d"}}`, i, i, i)
	})), 200, nil)

	// Page through all of them, ten at a time.
	var ids []int64
	cursor := ""
	for range 5 {
		var page struct {
			Data       []tandem.Contact
			NextCursor *string `json:"next_cursor"`
		}
		ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?limit=10&cursor="+cursor, adminSecret, ""), 200, &page)
		for _, c := range page.Data {
			ids = append(ids, c.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(ids) != 25 {
		t.Fatalf("paged through %d contacts, want 25", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not ascending: %v", ids)
		}
	}

	var byEmail struct{ Data []tandem.Contact }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?email=person7@globex.test", adminSecret, ""), 200, &byEmail)
	if len(byEmail.Data) != 1 || byEmail.Data[0].Email != "person7@globex.test" || byEmail.Data[0].Traits["name"] != "Person 7" {
		t.Fatalf("by email = %+v, want Person 7", byEmail.Data)
	}
	c := byEmail.Data[0]
	if c.AccountID == nil {
		t.Fatal("contact has no account, want the globex.test account")
	}
	var acc struct {
		tandem.Account
		Contacts     []tandem.Contact
		ContactsNext *string `json:"contacts_next"`
	}
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/accounts/%d", *c.AccountID), adminSecret, ""), 200, &acc)
	if acc.Domain != "globex.test" || len(acc.Contacts) != 25 || acc.ContactsNext != nil {
		t.Errorf("account %q with %d contacts, contacts_next %v; want globex.test with 25 and no next page", acc.Domain, len(acc.Contacts), acc.ContactsNext)
	}

	var p problemDoc
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts/999999", adminSecret, ""), 404, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts/abc", adminSecret, ""), 400, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?cursor=zzzz", adminSecret, ""), 400, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?limit=0", adminSecret, ""), 400, &p)
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/nothing", adminSecret, ""), 404, &p)
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	ts := newTestServer(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/openapi.json", "", ""), 200, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	for _, pattern := range thttp.Routes() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok || method == "OPTIONS" || strings.HasSuffix(path, "/") {
			continue
		}
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("the OpenAPI document lacks %s", pattern)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	ts := newTestServer(t)
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[{"type":"track","userId":"u1","event":"A"},{"type":"track","userId":"u1","event":"B"}]}`), 200, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		ts.mustJSON(t, resp, 200, nil)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"tandem_ingest_events_total 2\n", "tandem_ingest_commit_events_count 1\n", "tandem_ingest_commit_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestUnknownEndpointsAnswerProblemJSON(t *testing.T) {
	ts := newTestServer(t)
	for _, tt := range []struct{ method, path string }{
		{"POST", "/v1/identfy"},
		{"GET", "/v1/track"},
		{"DELETE", "/api/v1/contacts/1"},
		{"GET", "/api/v2/contacts"},
	} {
		var p problemDoc
		resp := ts.api(t, tt.method, tt.path, adminSecret, "")
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q, want application/problem+json", tt.method, tt.path, ct)
		}
		ts.mustJSON(t, resp, 404, &p)
		if !strings.Contains(p.Detail, tt.path) {
			t.Errorf("%s %s: detail %q does not name the path", tt.method, tt.path, p.Detail)
		}
	}
}

func TestCORSPreflight(t *testing.T) {
	ts := newTestServer(t)
	req, _ := http.NewRequest("OPTIONS", ts.URL+"/v1/batch", nil)
	req.Header.Set("Origin", "https://www.example.com")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d, allow-origin %q; want 204, *", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}

func TestGzipBombIsRefused(t *testing.T) {
	ts := newTestServer(t)
	// Valid-looking JSON that inflates to 50 MB: the limit must apply to what the body
	// inflates to, and stop reading there.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"batch":[`))
	zw.Write(make([]byte, 50<<20))
	zw.Close()
	bomb := buf.Bytes()
	for _, path := range []string{"/v1/batch", "/v1/track"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.URL+path, bytes.NewReader(bomb))
			req.SetBasicAuth(ts.writeKey, "")
			req.Header.Set("Content-Encoding", "gzip")
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var p problemDoc
			ts.mustJSON(t, resp, 413, &p)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v to refuse a %d-byte gzip bomb, want it refused once the limit is passed", d, len(bomb))
			}
			if p.Code != "too_large" {
				t.Errorf("code = %q, want too_large", p.Code)
			}
		})
	}
	if n, err := ts.db.CountEvents(context.Background()); err != nil || n != 0 {
		t.Errorf("events = %d, %v; want 0", n, err)
	}
	if n := ts.contactCount(t); n != 0 {
		t.Errorf("contacts = %d, want 0", n)
	}
}

func TestEventsBefore1970Page(t *testing.T) {
	ts := newTestServer(t)
	// The cursor carries the time in microseconds since 1970, which is negative or zero
	// for these.
	stamps := []string{"1969-07-20T20:17:40Z", "1969-12-31T23:59:59.999999Z", "1969-01-01T00:00:00Z", "1970-01-01T00:00:00Z"}
	ts.mustJSON(t, ts.track(t, "/v1/batch", batchOf(len(stamps), func(i int) string {
		return fmt.Sprintf(`{"type":"track","userId":"u1","event":"E%d","messageId":"old-%d","timestamp":%q}`, i, i, stamps[i])
	})), 200, nil)

	var contacts struct{ Data []tandem.Contact }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts", adminSecret, ""), 200, &contacts)
	if len(contacts.Data) != 1 {
		t.Fatalf("contacts = %d, want 1", len(contacts.Data))
	}
	var got []time.Time
	cursor := ""
	for range len(stamps) + 2 {
		var page struct {
			Data       []tandem.Event
			NextCursor *string `json:"next_cursor"`
		}
		path := fmt.Sprintf("/api/v1/contacts/%d/events?limit=1&cursor=%s", contacts.Data[0].ID, cursor)
		ts.mustJSON(t, ts.api(t, "GET", path, adminSecret, ""), 200, &page)
		for _, e := range page.Data {
			got = append(got, e.Timestamp)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	want := []string{"1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999999Z", "1969-07-20T20:17:40Z", "1969-01-01T00:00:00Z"}
	if len(got) != len(want) {
		t.Fatalf("paged through %d events %v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if s := got[i].UTC().Format(time.RFC3339Nano); s != w {
			t.Errorf("event %d at %s, want %s (newest first)", i, s, w)
		}
	}
}

func TestAccountPagesItsContacts(t *testing.T) {
	ts := newTestServer(t)
	ts.mustJSON(t, ts.track(t, "/v1/batch", batchOf(150, func(i int) string {
		return fmt.Sprintf(`{"type":"identify","userId":"u%d","traits":{"email":"p%d@initech.test"}}`, i, i)
	})), 200, nil)

	var one struct{ Data []tandem.Contact }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/contacts?email=p0@initech.test", adminSecret, ""), 200, &one)
	if len(one.Data) != 1 || one.Data[0].AccountID == nil {
		t.Fatalf("contact p0 = %+v, want one with an account", one.Data)
	}
	var acc struct {
		Contacts     []tandem.Contact
		ContactsNext *string `json:"contacts_next"`
	}
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/accounts/%d", *one.Data[0].AccountID), adminSecret, ""), 200, &acc)
	if len(acc.Contacts) != 100 || acc.ContactsNext == nil {
		t.Fatalf("account: %d contacts, contacts_next %v; want 100 and a link", len(acc.Contacts), acc.ContactsNext)
	}
	seen := map[int64]bool{}
	for _, c := range acc.Contacts {
		seen[c.ID] = true
	}
	next := *acc.ContactsNext
	for range 5 {
		var page struct {
			Data       []tandem.Contact
			NextCursor *string `json:"next_cursor"`
		}
		ts.mustJSON(t, ts.api(t, "GET", next, adminSecret, ""), 200, &page)
		for _, c := range page.Data {
			if seen[c.ID] {
				t.Errorf("contact %d listed twice", c.ID)
			}
			seen[c.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		next = fmt.Sprintf("/api/v1/contacts?account_id=%d&cursor=%s", *one.Data[0].AccountID, *page.NextCursor)
	}
	if len(seen) != 150 {
		t.Errorf("account page and listing gave %d contacts, want 150", len(seen))
	}
}

// batchOf returns a /v1/batch body of n messages, the i-th written by message(i).
func batchOf(n int, message func(i int) string) string {
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = message(i)
	}
	return `{"batch":[` + strings.Join(msgs, ",") + `]}`
}
