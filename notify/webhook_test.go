package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tandem/notify"
)

// secret is a fixed signing secret: whsec_ and the base64 of the bytes 0 to 31.
var secret = func() string {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(k)
}()

var at = time.Date(2026, 3, 2, 14, 30, 5, 123000000, time.UTC)

func lead() notify.Event {
	return notify.Event{
		ID:    "msg_2KcLeadAssigned42",
		Type:  "lead.assigned",
		At:    at,
		Title: "New lead for you: Ada Lovelace (ada@example.com), score 90",
		Text:  "Ada Lovelace of Analytical Engines Ltd\nScore 90, grade A",
		URL:   "https://tandem.example.com/contacts/42",
		Data:  map[string]any{"contact_id": 42, "rep": "bob@example.com"},
	}
}

// hmacSign computes a signature independently of the package.
func hmacSign(tb testing.TB, secret, id string, ts int64, body string) string {
	tb.Helper()
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		tb.Fatal(err)
	}
	m := hmac.New(sha256.New, k)
	fmt.Fprintf(m, "%s.%d.%s", id, ts, body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestSign(t *testing.T) {
	tests := []struct {
		name, secret, id string
		ts               int64
		body             string
		want             string // empty: computed with crypto/hmac here
	}{{
		// The vector the Standard Webhooks libraries test against.
		name:   "standard webhooks test vector",
		secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
		ts:     1614265330,
		body:   `{"test": 2432232314}`,
		want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	}, {
		name: "fixed secret", secret: secret, id: "msg_1", ts: 1772461805,
		body: `{"type":"lead.assigned","timestamp":"2026-03-02T14:30:05.123Z","data":{}}`,
	}, {
		name: "without the whsec_ prefix", secret: strings.TrimPrefix(secret, "whsec_"), id: "msg_1", ts: 1,
		body: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = hmacSign(t, tt.secret, tt.id, tt.ts, tt.body)
			}
			got, err := notify.Sign(tt.secret, tt.id, time.Unix(tt.ts, 999), []byte(tt.body))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	tests := []struct {
		name, secret, id, want string
	}{
		{"not base64", "whsec_not base64!", "msg_1", "base64"},
		{"short secret", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "msg_1", "24 to 64 bytes, got 16"},
		{"long secret", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), "msg_1", "got 65"},
		{"no id", secret, "", "no id"},
		{"full stop in id", secret, "msg.1", "full stops"},
		{"newline in id", secret, "msg\n1", "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := notify.Sign(tt.secret, tt.id, at, []byte("{}"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, b := notify.NewSecret(), notify.NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(k) != 32 {
		t.Fatalf("secret %q: want whsec_ and the base64 of 32 bytes", a)
	}
	sig, err := notify.Sign(a, "msg_1", at, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {fmt.Sprint(at.Unix())}, "Webhook-Signature": {sig}}
	if err := notify.Verify(a, h, []byte("{}"), at); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := `{"type":"lead.assigned"}`
	ts := at.Unix()
	good := hmacSign(t, secret, "msg_1", ts, body)
	other := hmacSign(t, notify.NewSecret(), "msg_1", ts, body)
	headers := func(id, ts, sig string) http.Header {
		h := http.Header{}
		for k, v := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		return h
	}
	now := fmt.Sprint(ts)
	tests := []struct {
		name    string
		h       http.Header
		body    string
		secret  string
		now     time.Time
		wantErr string // empty: valid
	}{
		{name: "valid", h: headers("msg_1", now, good)},
		{name: "one of several signatures", h: headers("msg_1", now, "v1a,bm90IGl0 "+other+" "+good)},
		{name: "headers as the spec writes them", h: http.Header{"webhook-id": {"msg_1"}, "webhook-timestamp": {now}, "webhook-signature": {good}}},
		{name: "4 minutes late", h: headers("msg_1", now, good), now: at.Add(4 * time.Minute)},
		{name: "clock 4 minutes behind", h: headers("msg_1", now, good), now: at.Add(-4 * time.Minute)},
		{name: "tampered body", h: headers("msg_1", now, good), body: `{"type":"lead.rejected"}`, wantErr: "no signature matches"},
		{name: "other id", h: headers("msg_2", now, good), wantErr: "no signature matches"},
		{name: "wrong secret", h: headers("msg_1", now, other), wantErr: "no signature matches"},
		{name: "old timestamp", h: headers("msg_1", now, good), now: at.Add(6 * time.Minute), wantErr: "6m0s old"},
		{name: "timestamp ahead", h: headers("msg_1", now, good), now: at.Add(-10 * time.Minute), wantErr: "10m0s ahead"},
		{name: "timestamp not a number", h: headers("msg_1", at.Format(time.RFC3339), good), wantErr: "want unix seconds"},
		{name: "missing id", h: headers("", now, good), wantErr: "missing header webhook-id"},
		{name: "missing all", h: http.Header{}, wantErr: "missing header webhook-id, webhook-timestamp, webhook-signature"},
		{name: "no v1 signature", h: headers("msg_1", now, "v1a,bm90IGl0"), wantErr: "no v1 signature"},
		{name: "signature not base64", h: headers("msg_1", now, "v1,???"), wantErr: "no signature matches"},
		{name: "bad secret", h: headers("msg_1", now, good), secret: "whsec_short", wantErr: "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.body == "" {
				tt.body = body
			}
			if tt.secret == "" {
				tt.secret = secret
			}
			if tt.now.IsZero() {
				tt.now = at
			}
			err := notify.Verify(tt.secret, tt.h, []byte(tt.body), tt.now)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestPayload(t *testing.T) {
	ev := lead()
	got, err := notify.Payload(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"lead.assigned","timestamp":"2026-03-02T14:30:05.123Z","data":{"contact_id":42,"rep":"bob@example.com"}}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}

	ev.Data, ev.At = nil, time.Date(2026, 3, 2, 15, 30, 5, 0, time.FixedZone("CET", 3600))
	got, _ = notify.Payload(ev)
	if want := `{"type":"lead.assigned","timestamp":"2026-03-02T14:30:05Z","data":{}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}

	for name, ev := range map[string]notify.Event{
		"no type":   {At: at},
		"no time":   {Type: "sla.warning"},
		"bad data":  {Type: "sla.warning", At: at, Data: map[string]any{"f": func() {}}},
		"bad value": {Type: "sla.warning", At: at, Data: map[string]any{"c": make(chan int)}},
	} {
		if _, err := notify.Payload(ev); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestPostWebhook(t *testing.T) {
	now := at.Add(time.Minute) // the attempt is after the event
	var got struct {
		header http.Header
		body   []byte
		err    error
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.header = r.Header
		got.body, _ = io.ReadAll(r.Body)
		// The receiver checks with its own clock, a little after the sender's.
		got.err = notify.Verify(secret, r.Header, got.body, now.Add(2*time.Second))
		if got.err != nil {
			http.Error(w, got.err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	r := notify.PostWebhook(context.Background(), srv.Client(), srv.URL+"/hooks/tandem", secret, lead(), now)
	if r.Err != nil || r.Status != http.StatusNoContent || r.Retry || !r.OK() {
		t.Fatalf("got %+v, want status 204 without error; receiver: %v", r, got.err)
	}
	if r.Duration <= 0 {
		t.Errorf("got duration %v, want > 0", r.Duration)
	}
	for k, want := range map[string]string{
		"Content-Type":      "application/json",
		"User-Agent":        "Tandem-Webhooks/1",
		"Webhook-Id":        "msg_2KcLeadAssigned42",
		"Webhook-Timestamp": fmt.Sprint(now.Unix()),
	} {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s: got %q, want %q", k, v, want)
		}
	}
	var p struct {
		Type, Timestamp string
		Data            map[string]any
	}
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != "lead.assigned" || p.Timestamp != "2026-03-02T14:30:05.123Z" || p.Data["rep"] != "bob@example.com" {
		t.Errorf("got payload %s", got.body)
	}

	// The same event signed with another secret is refused by the receiver.
	r = notify.PostWebhook(context.Background(), srv.Client(), srv.URL, notify.NewSecret(), lead(), now)
	if r.Status != http.StatusUnauthorized || r.Retry || r.Err == nil || !strings.Contains(r.Response, "no signature matches") {
		t.Errorf("wrong secret: got %+v, want a 401 not to retry", r)
	}
}

func TestPostWebhookOutcome(t *testing.T) {
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		body           string
		wantRetry      bool
		wantRetryAfter time.Duration
		wantErr        bool
	}{
		{name: "200", status: 200, body: "thanks"},
		{name: "202", status: 202},
		{name: "500", status: 500, body: "boom", wantRetry: true, wantErr: true},
		{name: "503 retry after date", status: 503, wantRetry: true, wantErr: true,
			header:         map[string]string{"Date": "Mon, 02 Mar 2026 14:30:00 GMT", "Retry-After": "Mon, 02 Mar 2026 14:32:00 GMT"},
			wantRetryAfter: 2 * time.Minute},
		{name: "429 retry after seconds", status: 429, header: map[string]string{"Retry-After": "7"},
			wantRetry: true, wantRetryAfter: 7 * time.Second, wantErr: true},
		{name: "408", status: 408, wantRetry: true, wantErr: true},
		{name: "400", status: 400, wantErr: true},
		{name: "404", status: 404, wantErr: true},
		{name: "410 gone", status: 410, wantErr: true},
		{name: "400 ignores retry after", status: 400, header: map[string]string{"Retry-After": "7"}, wantErr: true},
		{name: "redirect not followed", status: 302, header: map[string]string{"Location": "/elsewhere"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits++
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			r := notify.PostWebhook(context.Background(), nil, srv.URL, secret, lead(), at)
			if r.Status != tt.status || r.Retry != tt.wantRetry || r.RetryAfter != tt.wantRetryAfter || (r.Err != nil) != tt.wantErr {
				t.Errorf("got %+v, want status %d, retry %v after %v, error %v", r, tt.status, tt.wantRetry, tt.wantRetryAfter, tt.wantErr)
			}
			if r.Response != tt.body {
				t.Errorf("got response %q, want %q", r.Response, tt.body)
			}
			if hits != 1 {
				t.Errorf("got %d requests, want 1", hits)
			}
		})
	}
}

func TestPostWebhookResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, "bad\x00byte \xff"+strings.Repeat("é", 2000))
	}))
	defer srv.Close()
	r := notify.PostWebhook(context.Background(), nil, srv.URL, secret, lead(), at)
	if len(r.Response) > 1024 || !strings.HasPrefix(r.Response, "badbyte éé") || strings.ContainsRune(r.Response, '\uFFFD') {
		t.Errorf("got response %q (%d bytes), want the first KiB as clean UTF-8", r.Response, len(r.Response))
	}
}

func TestPostWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hooks/s3cr3t-token"
	srv.Close()
	r := notify.PostWebhook(context.Background(), nil, url, secret, lead(), at)
	if r.Status != 0 || !r.Retry || r.Err == nil {
		t.Fatalf("got %+v, want no status, an error, and retry", r)
	}
	if strings.Contains(r.Err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the URL's secret path", r.Err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if r := notify.PostWebhook(ctx, nil, url, secret, lead(), at); !r.Retry || r.Err == nil {
		t.Errorf("cancelled: got %+v, want an error to retry", r)
	}
}

func TestPostWebhookRefuses(t *testing.T) {
	noID := lead()
	noID.ID = ""
	tests := []struct {
		name, url, secret string
		ev                notify.Event
		want              string
	}{
		{"no id", "http://127.0.0.1:1/", secret, noID, "no id"},
		{"bad secret", "http://127.0.0.1:1/", "whsec_", lead(), "secret"},
		{"not http", "ftp://example.com/", secret, lead(), `want scheme http or https, got "ftp"`},
		{"no host", "http:///x", secret, lead(), "no host"},
		{"not a URL", "http://exa mple.com/s3cr3t", secret, lead(), "URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := notify.PostWebhook(context.Background(), nil, tt.url, tt.secret, tt.ev, at)
			if r.Retry || r.Status != 0 || r.Err == nil || !strings.Contains(r.Err.Error(), tt.want) {
				t.Errorf("got %+v, want an error containing %q, not to retry", r, tt.want)
			}
			if strings.Contains(fmt.Sprint(r.Err), "s3cr3t") {
				t.Errorf("error %q shows the URL", r.Err)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	for attempt, w := range want {
		if d, ok := notify.Backoff(attempt); d != w || !ok {
			t.Errorf("Backoff(%d) = %v, %v; want %v, true", attempt, d, ok, w)
		}
	}
	for _, attempt := range []int{-1, len(want), 100} {
		if d, ok := notify.Backoff(attempt); ok {
			t.Errorf("Backoff(%d) = %v, true; want false", attempt, d)
		}
	}
}
