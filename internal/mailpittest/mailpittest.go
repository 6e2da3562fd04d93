// Package mailpittest runs a real SMTP server, Mailpit, for tests of code that sends
// email, and reads back what it received through Mailpit's REST API.
//
// Start uses the mailpit on PATH if there is one, and otherwise installs Version with
// "go install" into the user's cache directory (tandem-test/bin), once per machine. When
// neither works the test is skipped, unless TANDEM_TEST_REQUIRE_MAILPIT is set, as it
// should be in CI, which makes it fail.
package mailpittest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the Mailpit that Start installs when there is none on PATH.
const Version = "v1.33.1"

// RequireEnv is the environment variable that, when set, turns a missing Mailpit into
// a test failure instead of a skip.
const RequireEnv = "TANDEM_TEST_REQUIRE_MAILPIT"

// Server is a running Mailpit.
type Server struct {
	// SMTPAddr is where it takes mail, host:port. Unless Start's flags say otherwise,
	// it speaks plain SMTP without STARTTLS and accepts any username and password, or
	// none.
	SMTPAddr string
	// APIURL is the base URL of its web UI and REST API, without a trailing slash.
	APIURL string
}

// Address is an email address as Mailpit reports it.
type Address struct {
	Name    string
	Address string
}

// Message is a message Mailpit received. Messages fills in the summary fields;
// Message fills in all but Snippet.
type Message struct {
	// ID is Mailpit's id of the message, for Message and Headers.
	ID string
	// MessageID is the Message-ID header, without angle brackets.
	MessageID string
	From      Address
	To        []Address
	Cc        []Address
	Bcc       []Address
	ReplyTo   []Address
	Subject   string
	// Username is the SMTP AUTH user the message was sent as, empty without AUTH.
	Username string
	Tags     []string
	Size     uint64
	// Created is when Mailpit received it (summary only).
	Created time.Time
	// Snippet is the start of the text (summary only).
	Snippet string
	// Date is the Date header (Message only).
	Date time.Time
	// Text and HTML are the bodies (Message only).
	Text string
	HTML string
}

// Start runs a new Mailpit on free ports of 127.0.0.1 with its data in a temporary
// directory, waits until it takes mail and answers its API, and stops it when the test
// ends. flags are added to Mailpit's command line, for example
// "--smtp-allowed-recipients", `@example\.com$` to refuse other recipients with 550,
// "--enable-chaos", "--chaos-triggers", "Recipient:451:100" to make it fail, or
// "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile to offer STARTTLS (adding
// "--smtp-require-tls" makes it speak TLS only, and then it takes AUTH only over TLS).
func Start(tb testing.TB, flags ...string) *Server {
	tb.Helper()
	bin, err := binary()
	if err != nil {
		if os.Getenv(RequireEnv) == "" {
			tb.Skipf("no Mailpit to test against (set %s to fail instead): %v", RequireEnv, err)
		}
		tb.Fatalf("no Mailpit to test against: %v", err)
	}
	// A free port can be taken between finding it and Mailpit binding it; try again.
	for try := 1; ; try++ {
		s, err := start(tb, bin, flags)
		if err == nil {
			return s
		}
		if try == 3 {
			tb.Fatalf("start Mailpit: %v", err)
		}
	}
}

func start(tb testing.TB, bin string, flags []string) (*Server, error) {
	tb.Helper()
	smtpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--disable-version-check",
		"--smtp", smtpAddr,
		"--listen", apiAddr,
		"--smtp-auth-accept-any",
		"--smtp-disable-rdns",
		"--database", filepath.Join(tb.TempDir(), "mailpit.db"),
	}
	// Mailpit refuses to require TLS and allow authentication without it.
	if !slices.Contains(flags, "--smtp-require-tls") && !slices.Contains(flags, "--smtp-require-starttls") {
		args = append(args, "--smtp-auth-allow-insecure")
	}
	args = append(args, flags...)
	cmd := exec.Command(bin, args...)
	var out logBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	stop := func() {
		cmd.Process.Kill()
		<-exited
	}
	s := &Server{SMTPAddr: smtpAddr, APIURL: "http://" + apiAddr}
	if err := s.await(exited, 20*time.Second); err != nil {
		stop()
		return nil, fmt.Errorf("%v; output:\n%s", err, out.String())
	}
	tb.Cleanup(func() {
		stop()
		if tb.Failed() {
			tb.Logf("Mailpit output:\n%s", out.String())
		}
	})
	return s, nil
}

// await waits until the server takes SMTP connections and its API is ready.
func (s *Server) await(exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return errors.New("mailpit exited")
		default:
		}
		if ready(client, s.APIURL+"/readyz") {
			if c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit not ready after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ready(c *http.Client, url string) bool {
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Messages returns the messages received, newest first (up to 1000).
func (s *Server) Messages(tb testing.TB) []Message {
	tb.Helper()
	var list struct {
		Messages []Message `json:"messages"`
	}
	s.get(tb, "/api/v1/messages?limit=1000", &list)
	return list.Messages
}

// WaitMessages returns the messages received, newest first, once there are at least n,
// failing the test if there are not within 10 seconds. It is for mail sent
// asynchronously, such as by a job queue.
func (s *Server) WaitMessages(tb testing.TB, n int) []Message {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := s.Messages(tb)
		if len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Mailpit has %d messages after 10s, want at least %d", len(ms), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Message returns the message whose Mailpit id is id.
func (s *Server) Message(tb testing.TB, id string) Message {
	tb.Helper()
	var m Message
	s.get(tb, "/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// Headers returns the headers of the message whose Mailpit id is id, with their names
// canonical, as http.Header.Get looks them up.
func (s *Server) Headers(tb testing.TB, id string) http.Header {
	tb.Helper()
	var h map[string][]string
	s.get(tb, "/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	out := make(http.Header, len(h))
	for k, v := range h {
		for _, x := range v {
			out.Add(k, x)
		}
	}
	return out
}

// get decodes the JSON answer of GET path into v.
func (s *Server) get(tb testing.TB, path string, v any) {
	tb.Helper()
	resp, err := http.Get(s.APIURL + path)
	if err != nil {
		tb.Fatalf("Mailpit API: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("Mailpit API GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("Mailpit API GET %s: %s: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("Mailpit API GET %s: %v", path, err)
	}
}

// freeAddr returns a 127.0.0.1 address with a port nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// installed is the binary found or installed, once per test process.
var installed struct {
	once sync.Once
	path string
	err  error
}

func binary() (string, error) {
	installed.once.Do(func() { installed.path, installed.err = find() })
	return installed.path, installed.err
}

// find returns the mailpit on PATH, or Version from the cache, installing it there
// first if need be.
func find() (string, error) {
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "tandem-test", "bin")
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	path := filepath.Join(dir, "mailpit-"+Version+exe)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("mailpit is not on PATH, and go is not either to install it: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Install into a directory of our own, then rename into place, so that test
	// processes installing at the same time never see half a binary.
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goBin, "install", "github.com/axllent/mailpit@"+Version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/axllent/mailpit@%s: %v\n%s", Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "mailpit"+exe), path); err != nil {
		return "", err
	}
	return path, nil
}

// logBuffer collects a process's output; it may be read while the process writes.
type logBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}
