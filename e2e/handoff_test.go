package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"tandem/notify"
)

// handoffTerms are qualifyTerms with a sales team, routing and a sales SLA on a clock
// that runs around the week, so that deadlines do not depend on the day the test runs.
func handoffTerms(reps ...string) map[string]any {
	t := maps.Clone(qualifyTerms)
	t["business_hours"] = map[string]any{"days": []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, "hours": "00:00-24:00"}
	t["stages"] = append(append([]any{}, qualifyTerms["stages"].([]any)...),
		map[string]any{"key": "sql", "meaning": "A rep qualified it", "enter_on": "qualify"})
	t["recycle"] = map[string]any{"to": "lead", "reasons": []string{"no_budget", "poor_fit"}}
	var team []any
	for _, r := range reps {
		team = append(team, map[string]any{"rep": r})
	}
	t["teams"] = map[string]any{"sdr": team}
	t["routing"] = []any{map[string]any{"name": "everyone", "assign": map[string]any{"round_robin": "sdr"}}}
	t["sla"] = map[string]any{
		"sales": map[string]any{"accept_within": "4h", "on_breach": "reassign"},
		"marketing": map[string]any{
			"mql_target":         map[string]any{"per": "quarter", "count": 300},
			"request_turnaround": map[string]any{"collateral": "24h", "social": "8h"},
		},
	}
	return t
}

// hook is a webhook receiver that verifies every request's signature, as a customer's
// endpoint would, and keeps what it was told.
type hook struct {
	mu     sync.Mutex
	secret string
	delay  time.Duration
	events []hookEvent
	bad    []string
}

type hookEvent struct {
	ID   string
	Type string
	Data struct {
		AssignmentID int64  `json:"assignment_id"`
		Rep          string `json:"rep"`
		Contact      struct {
			ID    int64  `json:"id"`
			Email string `json:"email"`
		} `json:"contact"`
	}
	Arrived time.Time
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(h.delay)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := notify.Verify(h.secret, r.Header, body, time.Now()); err != nil {
		h.bad = append(h.bad, err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	e := hookEvent{ID: r.Header.Get("webhook-id"), Arrived: time.Now()}
	if err := json.Unmarshal(body, &e); err != nil {
		h.bad = append(h.bad, err.Error())
	}
	h.events = append(h.events, e)
}

// waitFor polls until n events of type typ arrived, and returns them.
func (h *hook) waitFor(tb testing.TB, typ string, n int, timeout time.Duration) []hookEvent {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h.mu.Lock()
		var got []hookEvent
		seen := map[string]bool{}
		for _, e := range h.events {
			if e.Type == typ && !seen[e.ID] { // a retried delivery keeps its id
				seen[e.ID] = true
				got = append(got, e)
			}
		}
		bad := h.bad
		h.mu.Unlock()
		if len(bad) > 0 {
			tb.Fatalf("the receiver refused requests: %q", bad)
		}
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) < n {
				tb.Fatalf("%d %s webhooks arrived in %s, want %d", len(got), typ, timeout, n)
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// setUpHandoff activates terms, creates the reps as sales users and a webhook channel
// to h for the given events, and returns a sales token.
func setUpHandoff(tb testing.TB, srv *server, h *hook, terms map[string]any, reps []string, events ...string) string {
	tb.Helper()
	if status, body := srv.do(tb, http.MethodPut, "/api/v1/agreement", terms); status != http.StatusCreated {
		tb.Fatalf("PUT /api/v1/agreement: status %d, want 201: %s", status, body)
	}
	if status, body := srv.do(tb, http.MethodPost, "/api/v1/agreement/versions/1/activate", nil); status != http.StatusOK {
		tb.Fatalf("activate: status %d, want 200: %s", status, body)
	}
	for _, r := range reps {
		if status, body := srv.do(tb, http.MethodPost, "/api/v1/users", map[string]any{"email": r, "name": strings.Split(r, "@")[0], "team": "sales"}); status != http.StatusCreated {
			tb.Fatalf("POST /api/v1/users: status %d, want 201: %s", status, body)
		}
	}
	hs := httptest.NewServer(h)
	tb.Cleanup(hs.Close)
	status, body := srv.do(tb, http.MethodPost, "/api/v1/channels", map[string]any{"kind": "webhook", "name": "crm", "url": hs.URL, "events": events})
	if status != http.StatusCreated {
		tb.Fatalf("POST /api/v1/channels: status %d, want 201: %s", status, body)
	}
	var ch struct{ Secret string }
	if err := json.Unmarshal(body, &ch); err != nil || !strings.HasPrefix(ch.Secret, "whsec_") {
		tb.Fatalf("channel %s: want a whsec_ secret (%v)", body, err)
	}
	h.mu.Lock()
	h.secret = ch.Secret
	h.mu.Unlock()
	status, body = srv.do(tb, http.MethodPost, "/api/v1/tokens", map[string]any{"name": "sam (sales)", "role": "sales"})
	if status != http.StatusCreated {
		tb.Fatalf("POST /api/v1/tokens: status %d, want 201: %s", status, body)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal(body, &tok); err != nil {
		tb.Fatal(err)
	}
	return tok.Token
}

// as sends an API request with token.
func (s *server) as(tb testing.TB, token, method, path string, body any) (int, []byte) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, s.URL+path, bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

type apiAssignment struct {
	ID         int64
	ContactID  int64 `json:"contact_id"`
	Rep        string
	Status     string
	Route      string
	Reason     string
	AcceptDue  *time.Time `json:"accept_due"`
	PreviousID *int64     `json:"previous_id"`
}

// TestHandoffThroughSegment drives one buyer from her first page view, sent by
// Segment's Node.js library, to MQL, to a rep, to the rep's CRM by signed webhook, and
// through the rep's acceptance and qualification.
func TestHandoffThroughSegment(t *testing.T) {
	node := mustFindNode(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "tandem.db"))
	key := mustCreateSource(t, srv, "website")
	h := &hook{}
	sales := setUpHandoff(t, srv, h, handoffTerms("alice@acme.test", "bob@acme.test"), []string{"alice@acme.test", "bob@acme.test"}, "lead.assigned")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "qualify.mjs", "--host", srv.URL, "--write-key", key)
	cmd.Dir = segmentDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node qualify.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}

	got := h.waitFor(t, "lead.assigned", 1, 10*time.Second)
	e := got[0]
	if e.Data.Rep != "alice@acme.test" || e.Data.Contact.Email != "dana.reyes@lumen-freight.com" || e.Data.AssignmentID == 0 {
		t.Fatalf("webhook = %+v, want Dana assigned to alice", e)
	}

	var queue apiList[apiAssignment]
	srv.mustGet(t, "/api/v1/assignments?owner=alice@acme.test&status=assigned", &queue)
	if len(queue.Data) != 1 || queue.Data[0].ID != e.Data.AssignmentID || queue.Data[0].Route != "everyone" || queue.Data[0].AcceptDue == nil {
		t.Fatalf("alice's queue = %+v, want Dana's assignment %d with an accept deadline", queue.Data, e.Data.AssignmentID)
	}
	id := strconv.FormatInt(e.Data.AssignmentID, 10)
	if status, body := srv.as(t, sales, http.MethodPost, "/api/v1/assignments/"+id+"/reject", map[string]string{"reason": "too big"}); status != http.StatusBadRequest {
		t.Errorf("reject for a reason the agreement does not have: status %d, want 400: %s", status, body)
	}
	if status, body := srv.as(t, sales, http.MethodPost, "/api/v1/assignments/"+id+"/accept", nil); status != http.StatusOK {
		t.Fatalf("accept: status %d, want 200: %s", status, body)
	}
	if status, body := srv.as(t, sales, http.MethodPost, "/api/v1/assignments/"+id+"/touches", map[string]string{"kind": "call"}); status != http.StatusCreated {
		t.Fatalf("touch: status %d, want 201: %s", status, body)
	}
	if status, body := srv.as(t, sales, http.MethodPost, "/api/v1/assignments/"+id+"/qualify", nil); status != http.StatusOK {
		t.Fatalf("qualify: status %d, want 200: %s", status, body)
	}
	var stages apiList[struct{ From, To, Cause string }]
	srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d/stages", e.Data.Contact.ID), &stages)
	var moves []string
	for _, s := range stages.Data {
		moves = append(moves, s.To+" ("+s.Cause+")")
	}
	if got, want := strings.Join(moves, ", "), "lead (created), mql (rule mql), sal (action accept), sql (action qualify)"; got != want {
		t.Errorf("stage history: %s; want %s", got, want)
	}
	var rep struct {
		Sales     struct{ Assigned, Accepted, WithinSLA int } `json:"sales"`
		Marketing struct {
			MQLs   int `json:"mqls"`
			Target int
		} `json:"marketing"`
	}
	srv.mustGet(t, "/api/v1/reports/sla", &rep)
	if rep.Sales.Assigned != 1 || rep.Sales.Accepted != 1 || rep.Marketing.MQLs != 1 || rep.Marketing.Target != 300 {
		t.Errorf("SLA report = %+v, want one lead assigned and accepted, one MQL of 300", rep)
	}
}

// TestSLABreachTwoNodes lets the accept clocks of many leads run out under two server
// processes on one PostgreSQL, kills one of them while they work, and finds every lead
// reassigned exactly once, and sales told once per breach.
func TestSLABreachTwoNodes(t *testing.T) {
	dsn := mustCreatePostgresSchema(t)
	first := startServer(t, dsn)
	key := mustCreateSource(t, first, "website")
	reps := []string{"alice@acme.test", "bob@acme.test", "chen@acme.test"}
	h := &hook{delay: 5 * time.Millisecond}
	setUpHandoff(t, first, h, handoffTerms(reps...), reps, "lead.assigned", "sla.breached")

	const leads = 150
	var batch []map[string]any
	for i := range leads {
		user := fmt.Sprintf("lead-%d", i)
		batch = append(batch,
			map[string]any{"type": "identify", "userId": user, "messageId": user + "-id", "traits": map[string]any{"email": user + "@example.org", "title": "VP Sales"}},
			map[string]any{"type": "track", "userId": user, "messageId": user + "-demo", "event": "Demo Requested"},
			map[string]any{"type": "page", "userId": user, "messageId": user + "-page", "name": "Pricing", "properties": map[string]any{"path": "/pricing"}})
	}
	for i := 0; i < len(batch); i += 90 {
		postSegment(t, first, key, batch[i:min(i+90, len(batch))])
	}
	h.waitFor(t, "lead.assigned", leads, 30*time.Second)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	// Ten days later by both new processes' clocks, every accept clock has run out.
	late := []string{"--clock-offset", "240h", "--job-poll", "50ms", "--job-lease", "2s"}
	doomed, survivor := startServer(t, dsn, late...), startServer(t, dsn, late...)
	deadline := time.Now().Add(30 * time.Second)
	for reassigned(t, survivor) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	doomed.kill(t)
	t.Logf("one process killed after %d of %d reassignments", reassigned(t, survivor), leads)

	h.waitFor(t, "sla.breached", leads, 60*time.Second)
	for reassigned(t, survivor) < leads && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(50 * time.Millisecond)
	}
	// A second notice of one breach, from a job run twice, would come within a lease.
	time.Sleep(3 * time.Second)
	breaches := h.waitFor(t, "sla.breached", leads, time.Second)
	var all apiList[apiAssignment]
	survivor.mustGet(t, "/api/v1/assignments?limit=1000", &all)
	perContact := map[int64][]apiAssignment{}
	for _, a := range all.Data {
		perContact[a.ContactID] = append(perContact[a.ContactID], a)
	}
	if len(perContact) != leads {
		t.Fatalf("%d contacts have assignments, want %d", len(perContact), leads)
	}
	for c, list := range perContact {
		if len(list) != 2 {
			t.Errorf("contact %d has %d assignments, want 2: the first and one reassignment", c, len(list))
			continue
		}
		old, cur := list[0], list[1]
		if old.ID > cur.ID {
			old, cur = cur, old
		}
		if old.Status != "reassigned" || cur.Status != "assigned" || cur.PreviousID == nil || *cur.PreviousID != old.ID || cur.Rep == old.Rep {
			t.Errorf("contact %d: %+v then %+v, want a reassignment to another rep", c, old, cur)
		}
	}
	told := map[int64]int{}
	for _, e := range breaches {
		told[e.Data.AssignmentID]++
	}
	for id, n := range told {
		if n != 1 {
			t.Errorf("sales was told %d times of the breach of assignment %d, want once", n, id)
		}
	}
	if len(told) != leads {
		t.Errorf("breach notices for %d assignments, want %d", len(told), leads)
	}
}

// reassigned counts the assignments that breached and went to another rep.
func reassigned(tb testing.TB, s *server) int {
	tb.Helper()
	var l apiList[apiAssignment]
	s.mustGet(tb, "/api/v1/assignments?status=reassigned&limit=1000", &l)
	return len(l.Data)
}

// postSegment sends a Segment batch with the write key and fails unless it is stored.
func postSegment(tb testing.TB, s *server, key string, msgs []map[string]any) {
	tb.Helper()
	b, _ := json.Marshal(map[string]any{"batch": msgs})
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/batch", bytes.NewReader(b))
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("POST /v1/batch: status %d: %s", resp.StatusCode, body)
	}
}

// mustCreatePostgresSchema creates an empty schema on the server of TANDEM_TEST_POSTGRES,
// dropped when tb ends, and returns a URL that selects it; it skips tb without one.
func mustCreatePostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TANDEM_TEST_POSTGRES")
	if base == "" {
		tb.Skip("set TANDEM_TEST_POSTGRES to a postgres:// URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TANDEM_TEST_POSTGRES: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatal(err)
	}
	schema := "e2e_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		// Registered first, so it runs after the servers have stopped.
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
