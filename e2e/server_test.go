package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tandem/store"
)

// adminToken is the secret of the admin API token every test server is started with.
const adminToken = "e2e-admin-token-0123456789"

// server is a running "tandem serve" process.
type server struct {
	URL string // http://127.0.0.1:PORT
	DB  string // the SQLite file

	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{} // closed when the process has exited; then waitErr is set
	// waitErr is what cmd.Wait returned.
	waitErr error
}

// logBuffer collects a process's output for the failure report.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns the last n bytes written.
func (b *logBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// startServer starts tandem serve on a free loopback port over the SQLite file db, with
// an admin token, and waits until it is ready. The server is stopped with SIGTERM when the
// test ends, and the test fails if it does not exit cleanly then.
func startServer(tb testing.TB, db string, args ...string) *server {
	tb.Helper()
	bin := tandemBinary(tb)
	var lastErr error
	// Another process may take the free port between our probe and the server's listen;
	// then the server exits at once, and we try another port.
	for range 3 {
		s, err := launch(bin, db, args...)
		if err != nil {
			lastErr = err
			continue
		}
		tb.Cleanup(func() {
			if err := s.stop(); err != nil {
				tb.Errorf("tandem serve did not stop cleanly on SIGTERM: %v", err)
			}
			if tb.Failed() {
				tb.Logf("tandem serve %s output:\n%s", s.URL, s.log.tail(16<<10))
			}
		})
		return s
	}
	tb.Fatalf("start tandem serve: %v", lastErr)
	return nil
}

// launch starts tandem serve over db with more flags args, and waits until it is ready.
func launch(bin, db string, args ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{URL: "http://" + addr, DB: db, log: &logBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--db", db, "--shutdown-timeout", "10s"}, args...)...)
	s.cmd.Env = append(os.Environ(), "TANDEM_ADMIN_TOKEN="+adminToken)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(30 * time.Second); err != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		return nil, fmt.Errorf("%w\n%s", err, s.log.tail(4<<10))
	}
	return s, nil
}

// freeAddr returns a loopback address whose port nothing listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200, the process exits, or timeout passes.
func (s *server) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("tandem serve exited before it was ready: %v", s.waitErr)
		default:
		}
		resp, err := client.Get(s.URL + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("tandem serve at %s was not ready after %s", s.URL, timeout)
}

// stop ends the server as an operator would, with SIGTERM, and reports whether it exited
// cleanly within the time it was given to drain. Stopping a stopped server does nothing.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-s.exited:
		return s.waitErr
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("still running 20s after SIGTERM; killed")
	}
}

// kill ends the server with SIGKILL, as a crash or an OOM killer would, and waits until
// it is gone.
func (s *server) kill(tb testing.TB) {
	tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		tb.Fatalf("kill tandem serve: %v", err)
	}
	<-s.exited
}

// do sends an API request with the admin token and returns the status and body.
func (s *server) do(tb testing.TB, method, path string, body any) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// mustGet fetches an API path with the admin token and decodes its JSON answer into v,
// failing the test unless the answer is 200.
func (s *server) mustGet(tb testing.TB, path string, v any) {
	tb.Helper()
	status, body := s.do(tb, http.MethodGet, path, nil)
	if status != http.StatusOK {
		tb.Fatalf("GET %s: status %d, want 200: %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// mustCreateSource creates an ingestion source through the API and returns its write key.
func mustCreateSource(tb testing.TB, s *server, name string) string {
	tb.Helper()
	status, body := s.do(tb, http.MethodPost, "/api/v1/sources", map[string]string{"name": name})
	if status != http.StatusCreated {
		tb.Fatalf("POST /api/v1/sources: status %d, want 201: %s", status, body)
	}
	var src struct {
		ID       int64  `json:"id"`
		WriteKey string `json:"write_key"`
	}
	if err := json.Unmarshal(body, &src); err != nil {
		tb.Fatalf("POST /api/v1/sources: %v: %s", err, body)
	}
	if src.ID == 0 || strings.TrimSpace(src.WriteKey) == "" {
		tb.Fatalf("POST /api/v1/sources: no id or write key in %s", body)
	}
	return src.WriteKey
}

// mustCountEvents opens the SQLite file as the server does and counts the events in it.
// The server may be running: SQLite in WAL mode lets another process read.
func mustCountEvents(tb testing.TB, db string) int64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, db, store.Options{})
	if err != nil {
		tb.Fatalf("open %s: %v", db, err)
	}
	defer st.Close()
	n, err := st.CountEvents(ctx)
	if err != nil {
		tb.Fatalf("count events in %s: %v", db, err)
	}
	return n
}
