package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// batchReply is the answer to a /v1/batch request.
type batchReply struct {
	Success    bool `json:"success"`
	Accepted   int  `json:"accepted"`
	Stored     int  `json:"stored"`
	Duplicates int  `json:"duplicates"`
	Rejected   int  `json:"rejected"`
}

// sentBatch is one /v1/batch body a client sent, and whether the server acknowledged it.
type sentBatch struct {
	name  string
	body  []byte
	acked bool
}

const eventsPerBatch = 100

// newBatch makes the body of a /v1/batch request of eventsPerBatch events with unique
// message ids: mostly product usage by known users, some anonymous page views, and some
// identify calls with work email addresses, so the crash can strike identity resolution
// as well as plain inserts.
func newBatch(worker, seq int) *sentBatch {
	name := fmt.Sprintf("w%d-b%d", worker, seq)
	msgs := make([]map[string]any, eventsPerBatch)
	for i := range msgs {
		n := worker*100_000 + seq*eventsPerBatch + i
		m := map[string]any{"messageId": fmt.Sprintf("%s-e%d", name, i)}
		switch i % 10 {
		case 0:
			m["type"] = "identify"
			m["userId"] = fmt.Sprintf("user-%d", n%500)
			m["traits"] = map[string]any{"email": fmt.Sprintf("person%d@company%d.example", n%500, n%40), "plan": "trial"}
		case 1:
			m["type"] = "page"
			m["anonymousId"] = fmt.Sprintf("anon-%d", n%2000)
			m["name"] = "Pricing"
			m["properties"] = map[string]any{"path": "/pricing"}
		default:
			m["type"] = "track"
			m["userId"] = fmt.Sprintf("user-%d", n%500)
			m["event"] = "Report Exported"
			m["properties"] = map[string]any{"format": "csv", "rows": n % 977}
		}
		msgs[i] = m
	}
	body, err := json.Marshal(map[string]any{"batch": msgs})
	if err != nil {
		panic(err)
	}
	return &sentBatch{name: name, body: body}
}

// postBatch sends a /v1/batch body with the write key and returns the status and answer.
func postBatch(client *http.Client, baseURL, writeKey string, body []byte) (int, batchReply, error) {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return 0, batchReply{}, err
	}
	req.SetBasicAuth(writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, batchReply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, batchReply{}, err
	}
	var r batchReply
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &r); err != nil {
			return resp.StatusCode, r, fmt.Errorf("decode %s: %w", raw, err)
		}
	} else {
		err = fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, r, err
}

// TestKillDuringIngest kills the server with SIGKILL while clients flood it with
// batches, and checks the promise a durable ack makes: every batch the server answered
// 200 is on disk after a restart, and a client that retries everything it sent gets each
// event stored exactly once.
func TestKillDuringIngest(t *testing.T) {
	const (
		workers   = 8
		killAfter = 300 // acknowledged batches
	)
	db := filepath.Join(t.TempDir(), "tandem.db")
	srv := startServer(t, db)
	key := mustCreateSource(t, srv, "load")

	var (
		mu      sync.Mutex // guards batches and the acked fields
		batches []*sentBatch
		acked   atomic.Int64
		stop    atomic.Bool
		wg      sync.WaitGroup
	)
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for w := range workers {
		wg.Go(func() {
			for seq := 0; !stop.Load(); seq++ {
				b := newBatch(w, seq)
				mu.Lock()
				batches = append(batches, b)
				mu.Unlock()
				status, reply, err := postBatch(client, srv.URL, key, b.body)
				if err != nil {
					if !stop.Load() {
						t.Errorf("batch %s before the kill: %v", b.name, err)
					}
					return
				}
				if status == http.StatusOK && reply.Stored != eventsPerBatch {
					t.Errorf("batch %s of new messages: %+v, want all %d stored", b.name, reply, eventsPerBatch)
				}
				mu.Lock()
				b.acked = true
				mu.Unlock()
				acked.Add(1)
			}
		})
	}

	deadline := time.Now().Add(90 * time.Second)
	for acked.Load() < killAfter && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(2 * time.Millisecond)
	}
	stop.Store(true)
	srv.kill(t)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	var ackedBatches []*sentBatch
	for _, b := range batches {
		if b.acked {
			ackedBatches = append(ackedBatches, b)
		}
	}
	nAcked, nSent := int64(len(ackedBatches)), int64(len(batches))
	t.Logf("killed with %d batches acknowledged and %d sent without an answer", nAcked, nSent-nAcked)
	if nAcked < killAfter {
		t.Fatalf("only %d batches were acknowledged in 90s before the kill; want %d", nAcked, killAfter)
	}

	srv = startServer(t, db)

	// Every acknowledged event survived: sent again, each one is a duplicate.
	lost := 0
	for _, b := range ackedBatches {
		status, reply, err := postBatch(client, srv.URL, key, b.body)
		if err != nil {
			t.Fatalf("resending batch %s after the restart: %v", b.name, err)
		}
		if status != http.StatusOK || reply.Duplicates != eventsPerBatch {
			lost += reply.Stored
			t.Errorf("batch %s was acknowledged before the kill, but resent after the restart: %+v; want all %d duplicates", b.name, reply, eventsPerBatch)
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged events were lost by the kill", lost)
	}
	afterKill := mustCountEvents(t, db)
	if afterKill < nAcked*eventsPerBatch || afterKill > nSent*eventsPerBatch {
		t.Errorf("events stored after the kill: %d; want at least the %d acknowledged and at most the %d sent",
			afterKill, nAcked*eventsPerBatch, nSent*eventsPerBatch)
	}

	// A client that retries everything it sent, answered or not, gets each event stored
	// exactly once.
	var stored atomic.Int64
	jobs := make(chan *sentBatch)
	var rg sync.WaitGroup
	for range workers {
		rg.Go(func() {
			for b := range jobs {
				status, reply, err := postBatch(client, srv.URL, key, b.body)
				if err != nil || status != http.StatusOK {
					t.Errorf("retrying batch %s: status %d: %v", b.name, status, err)
					continue
				}
				if reply.Stored+reply.Duplicates != eventsPerBatch {
					t.Errorf("retrying batch %s: %+v; want %d stored or duplicates", b.name, reply, eventsPerBatch)
				}
				stored.Add(int64(reply.Stored))
			}
		})
	}
	for _, b := range batches {
		jobs <- b
	}
	close(jobs)
	rg.Wait()

	want := nSent * eventsPerBatch
	if got := mustCountEvents(t, db); got != want {
		t.Errorf("events stored after every batch was retried: %d, want %d, one per distinct message", got, want)
	}
	if got := afterKill + stored.Load(); got != want {
		t.Errorf("events stored after the kill (%d) and by the retries (%d) add up to %d, want %d", afterKill, stored.Load(), got, want)
	}
}

// TestKillKeepsScores kills the server with SIGKILL right after it acknowledged a batch
// that scored people and moved them to MQL, before it wrote their scores to their
// contact rows (ingest appends them to a log first, applied within a second), and
// checks that after a restart each contact shows the score and stage the batch earned,
// with the stage move recorded once.
func TestKillKeepsScores(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tandem.db")
	srv := startServer(t, db)
	key := mustCreateSource(t, srv, "web")
	terms := map[string]any{
		"name": "crash", "timezone": "UTC",
		"scoring": map[string]any{"engagement": map[string]any{"half_life": "3650d", "rules": []any{
			map[string]any{"name": "demo", "on": "track:Demo Requested", "points": 10},
			map[string]any{"name": "page", "on": "page", "points": 1, "cap": map[string]any{"times": 2, "per": "1d"}},
		}}},
		"stages": []any{
			map[string]any{"key": "lead", "meaning": "known"},
			map[string]any{"key": "mql", "meaning": "qualified", "enter_when": "score.engagement >= 30"},
		},
	}
	if status, body := srv.do(t, http.MethodPut, "/api/v1/agreement", terms); status != http.StatusCreated {
		t.Fatalf("PUT /api/v1/agreement: status %d, want 201: %s", status, body)
	}
	if status, body := srv.do(t, http.MethodPost, "/api/v1/agreement/versions/1/activate", nil); status != http.StatusOK {
		t.Fatalf("activate: status %d, want 200: %s", status, body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var r struct {
			State string `json:"state"`
		}
		srv.mustGet(t, "/api/v1/agreement/rescore", &r)
		if r.State == "done" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rescore of the new agreement: %q after 30s", r.State)
		}
	}

	// Each person: 4 demo requests (40) and 3 page views, 2 of which count: 42, an MQL.
	const people = 20
	var msgs []map[string]any
	for p := range people {
		user := fmt.Sprintf("user-%d", p)
		msgs = append(msgs, map[string]any{"type": "identify", "messageId": user + "-id", "userId": user,
			"traits": map[string]any{"email": user + "@crash.example"}})
		for i := range 4 {
			msgs = append(msgs, map[string]any{"type": "track", "messageId": fmt.Sprintf("%s-demo-%d", user, i), "userId": user, "event": "Demo Requested"})
		}
		for i := range 3 {
			msgs = append(msgs, map[string]any{"type": "page", "messageId": fmt.Sprintf("%s-page-%d", user, i), "userId": user, "name": "Pricing"})
		}
	}
	body, err := json.Marshal(map[string]any{"batch": msgs})
	if err != nil {
		t.Fatal(err)
	}
	status, reply, err := postBatch(http.DefaultClient, srv.URL, key, body)
	if err != nil || status != http.StatusOK || reply.Stored != len(msgs) {
		t.Fatalf("batch: status %d, %+v, %v; want all %d stored", status, reply, err, len(msgs))
	}
	srv.kill(t)
	if n := mustCountScoreLog(t, db); n == 0 {
		t.Fatal("the score log was empty at the kill: the scores reached the contact rows before it, and this test checks nothing")
	}

	srv = startServer(t, db)
	for p := range people {
		email := fmt.Sprintf("user-%d@crash.example", p)
		id := mustFindContact(t, srv, email)
		var c struct {
			Stage string `json:"stage"`
			Score struct {
				Engagement float64 `json:"engagement"`
			} `json:"score"`
		}
		srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d", id), &c)
		if math.Abs(c.Score.Engagement-42) > 0.01 || c.Stage != "mql" {
			t.Errorf("%s after the kill: engagement %v, stage %q; want 42, mql", email, c.Score.Engagement, c.Stage)
		}
		var stages struct {
			Data []struct {
				To string `json:"to"`
			} `json:"data"`
		}
		srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d/stages", id), &stages)
		if n := len(stages.Data); n == 0 || stages.Data[n-1].To != "mql" || n != 2 {
			t.Errorf("%s after the kill: stage history %+v; want lead, then mql once", email, stages.Data)
		}
	}
}

// mustCountScoreLog counts the lines of the score log in the SQLite file db.
func mustCountScoreLog(tb testing.TB, db string) int {
	tb.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM score_log`).Scan(&n); err != nil {
		tb.Fatalf("count the score log in %s: %v", db, err)
	}
	return n
}
