// Package notify makes one attempt to tell someone about one event over one channel: a
// Standard Webhooks endpoint, a Slack-compatible incoming webhook, or email over SMTP.
// It reports what happened in a Result and never sleeps or retries: the job queue that
// calls it keeps the delivery log and schedules the next attempt (see Backoff).
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event is one thing people may be told about.
type Event struct {
	// ID is the unique id of the event, such as "msg_2Kc...". It is the webhook-id
	// header and the local part of the email Message-ID, the same on every attempt, so
	// that receivers can recognise a retry. It must be printable ASCII without spaces
	// or full stops.
	ID string
	// Type is one of Types, or a later addition to them.
	Type string
	// At is when the event happened, not when it is sent.
	At time.Time
	// Title is one line for humans: "New lead for you: Ada Lovelace (ada@example.com), score 90".
	Title string
	// Text is a few lines of plain text detail for chat and email bodies.
	Text string
	// URL optionally links to the lead in the app.
	URL string
	// Data is the machine payload, sent as "data" in webhooks.
	Data map[string]any
}

// Types are the event types Tandem sends.
var Types = []string{"lead.assigned", "sla.warning", "sla.breached", "lead.rejected", "lead.recycled"}

// Result is the outcome of one attempt, as the delivery log records it.
type Result struct {
	// Status is the HTTP status, the SMTP reply code of a refusal, 250 when an SMTP
	// server accepted the message, or 0 when there was no response.
	Status   int
	Duration time.Duration
	// Response is the first KiB of the response body or SMTP reply (for a failure
	// without one, empty), as valid UTF-8 without NUL bytes, so that it can be stored.
	Response string
	// Retry reports whether trying again later may succeed: true after network errors,
	// timeouts, HTTP 408, 429 and 5xx, and SMTP 4xx replies; false after other HTTP
	// statuses (a 410 Gone asks the sender to stop for good), SMTP 5xx replies, and
	// input this package refuses.
	Retry bool
	// RetryAfter is how long the server asked the sender to wait in a Retry-After
	// header of a retryable response, zero when it did not. The caller should wait at
	// least this long, and may cap it.
	RetryAfter time.Duration
	// Err is nil on success.
	Err error
}

// OK reports whether the attempt succeeded.
func (r Result) OK() bool { return r.Err == nil }

// DefaultTimeout bounds an attempt whose context has no deadline, when the HTTP client
// is nil or an SMTP has no Timeout. The Standard Webhooks spec suggests 15 to 30 seconds.
const DefaultTimeout = 30 * time.Second

// maxResponse is how much of a response Result keeps.
const maxResponse = 1024

// fail is the Result of input this package refuses: trying again cannot help.
func fail(format string, args ...any) Result {
	return Result{Err: fmt.Errorf(format, args...)}
}

// post makes one POST of a JSON body to rawURL and describes the outcome. Redirects are
// not followed: a 301 or 302 would turn the POST into a GET, and an endpoint that moved
// should be updated, not chased on every attempt.
func post(ctx context.Context, c *http.Client, rawURL string, h http.Header, body []byte) Result {
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		// The url.Error would repeat the URL, and webhook URLs often hold secrets.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail("URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fail("URL: want scheme http or https, got %q", u.Scheme)
	case u.Host == "":
		return fail("URL: no host")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail("request: %v", unwrapURL(err))
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")

	cc := http.Client{Timeout: DefaultTimeout}
	if c != nil {
		cc = *c
	}
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	start := time.Now()
	resp, err := cc.Do(req)
	if err != nil {
		return Result{Duration: time.Since(start), Retry: true, Err: unwrapURL(err)}
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	// Read a little more so that the connection can be reused, but not without end.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r := Result{Status: resp.StatusCode, Duration: time.Since(start), Response: clip(string(head))}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return r
	}
	r.Err = fmt.Errorf("status %s", resp.Status)
	r.Retry = resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode >= 500
	if r.Retry {
		r.RetryAfter = retryAfter(resp.Header)
	}
	return r
}

// unwrapURL drops the "Post <url>:" of a *url.Error, so that the error, which goes to
// the delivery log, does not show the secret path or query of a webhook URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter returns the wait a Retry-After header asks for: a number of seconds, or a
// date, which is taken relative to the response's Date header so that the two clocks
// agree. It returns zero when the header is absent or cannot be read.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > int64(365*24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil || !at.After(date) {
		return 0
	}
	return at.Sub(date)
}

// clip returns the first KiB of s as valid UTF-8 without NUL bytes, which PostgreSQL
// text columns refuse.
func clip(s string) string {
	if len(s) > maxResponse {
		s = s[:maxResponse]
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, ""), "\x00", "")
}
