package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (https://www.standardwebhooks.com), version 1.0.0 of the spec: the
// body is signed with HMAC-SHA256 together with the event's id and the attempt's time,
// so that a receiver holding the secret can tell a genuine, fresh delivery from a
// forged or replayed one.

// The headers of a Standard Webhooks request.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far the webhook-timestamp may be from the receiver's clock, either
// way, before Verify refuses the request as a replay.
const Tolerance = 5 * time.Minute

// secretPrefix marks a Standard Webhooks symmetric secret.
const secretPrefix = "whsec_"

// NewSecret returns a new random signing secret: "whsec_" and the base64 of 32 bytes.
// Give each endpoint its own.
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails; it crashes the program first
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// key returns the HMAC key of a secret: the base64 after the whsec_ prefix, which, as
// the official libraries do, may be left out.
func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, errors.New("secret: want whsec_ and base64")
	}
	if len(k) < 24 || len(k) > 64 {
		return nil, fmt.Errorf("secret: want 24 to 64 bytes, got %d", len(k))
	}
	return k, nil
}

// checkID refuses ids that cannot be signed safely or sent as a header. The spec rules
// out full stops, which would let the id and timestamp of the signed content be split
// differently.
func checkID(id string) error {
	if id == "" {
		return errors.New("event has no id")
	}
	for i := range len(id) {
		if c := id[i]; c <= ' ' || c > '~' || c == '.' {
			return fmt.Errorf("event id %q: want printable ASCII without spaces or full stops", id)
		}
	}
	return nil
}

// mac returns the HMAC-SHA256 of id.ts.body under key.
func mac(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the webhook-signature header of body sent as event id at ts, to the
// second: "v1," and the base64 of HMAC-SHA256(key, id + "." + unix seconds + "." +
// body), where key is the decoded secret. It fails on a malformed secret or id.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	k, err := key(secret)
	if err != nil {
		return "", err
	}
	if err := checkID(id); err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(k, id, ts.Unix(), body)), nil
}

// Verify checks a received Standard Webhooks request, as a receiver would: that h has
// the three webhook headers, that its timestamp is within Tolerance of now, and that one
// of the space-separated v1 signatures (a sender rotating secrets sends several) is
// that of body under secret. It compares in constant time and ignores signatures of
// other schemes, such as the asymmetric v1a. body must be the bytes received, not JSON
// decoded and encoded again. Verify does not detect a replay within Tolerance: receivers
// that must not act twice remember the webhook-id.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	k, err := key(secret)
	if err != nil {
		return err
	}
	id, ts := header(h, HeaderID), header(h, HeaderTimestamp)
	sigs := strings.Join(append(h.Values(HeaderSignature), h[HeaderSignature]...), " ")
	var missing []string
	for _, p := range [][2]string{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sigs}} {
		if p[1] == "" {
			missing = append(missing, p[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing header %s", strings.Join(missing, ", "))
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q: want unix seconds", HeaderTimestamp, ts)
	}
	switch d := now.Sub(time.Unix(sec, 0)); {
	case d > Tolerance:
		return fmt.Errorf("%s is %v old, more than the %v allowed", HeaderTimestamp, d.Round(time.Second), Tolerance)
	case d < -Tolerance:
		return fmt.Errorf("%s is %v ahead, more than the %v allowed", HeaderTimestamp, -d.Round(time.Second), Tolerance)
	}
	want := mac(k, id, sec, body)
	v1 := false
	for s := range strings.FieldsSeq(sigs) {
		scheme, sig, _ := strings.Cut(s, ",")
		if scheme != "v1" {
			continue
		}
		v1 = true
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	if !v1 {
		return fmt.Errorf("%s has no v1 signature", HeaderSignature)
	}
	return errors.New("no signature matches: a different secret, or the body, id or timestamp changed")
}

// header returns the first value of header name in h, whether h was filled by a server,
// which canonicalizes names, or by hand with the names as the spec writes them.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// payload is the body of a Standard Webhooks request.
type payload struct {
	Type      string         `json:"type"`
	Timestamp string         `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// Payload returns the webhook body of ev: {"type": ..., "timestamp": ..., "data": ...},
// where timestamp is when the event happened in RFC 3339 (UTC, with fractional seconds
// when it has them), and data is ev.Data, {} when nil. It fails on an event without a
// type or time, or with data JSON cannot encode.
func Payload(ev Event) ([]byte, error) {
	if ev.Type == "" {
		return nil, errors.New("event has no type")
	}
	if ev.At.IsZero() {
		return nil, errors.New("event has no time")
	}
	p := payload{Type: ev.Type, Timestamp: ev.At.UTC().Format(time.RFC3339Nano), Data: ev.Data}
	if p.Data == nil {
		p.Data = map[string]any{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("event data: %w", err)
	}
	return b, nil
}

// PostWebhook makes one Standard Webhooks delivery of ev to url, signed with secret at
// now, the time of this attempt (each retry signs anew with its own time). It succeeds
// on any 2xx status. Redirects are not followed; a 410 Gone means the receiver wants no
// more and the endpoint should be disabled. c's Timeout and ctx bound the attempt; a nil
// c means a client with DefaultTimeout. Guarding against URLs that reach internal
// services is c's job, through its Transport.
func PostWebhook(ctx context.Context, c *http.Client, url, secret string, ev Event, now time.Time) Result {
	body, err := Payload(ev)
	if err != nil {
		return Result{Err: err}
	}
	sig, err := Sign(secret, ev.ID, now, body)
	if err != nil {
		return Result{Err: err}
	}
	h := http.Header{}
	// Set directly: the spec writes the header names in lower case, and some
	// receivers compare them as written.
	h[HeaderID] = []string{ev.ID}
	h[HeaderTimestamp] = []string{strconv.FormatInt(now.Unix(), 10)}
	h[HeaderSignature] = []string{sig}
	h.Set("User-Agent", "Tandem-Webhooks/1")
	return post(ctx, c, url, h, body)
}

// schedule holds the delays of the Standard Webhooks example retry schedule, as Svix
// uses it: each counts from the failure of the attempt before.
var schedule = [...]time.Duration{
	0, // the first attempt
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// Backoff returns how long to wait before attempt number attempt, counted from the
// failure (with Result.Retry set) of the attempt before, and false when no attempts are
// left. The first delivery is attempt 0 and goes out immediately; attempt 1, the first retry,
// waits 5 seconds, then 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours and 10 hours:
// eight attempts in all over about 27.5 hours. Callers should add some random jitter,
// as the spec recommends, so that endpoints that failed together are not retried
// together, and wait at least Result.RetryAfter.
func Backoff(attempt int) (time.Duration, bool) {
	if attempt < 0 || attempt >= len(schedule) {
		return 0, false
	}
	return schedule[attempt], true
}
