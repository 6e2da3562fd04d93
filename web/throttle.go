package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// throttle counts failed sign-ins per key (an address, an email) over a sliding window
// and refuses more once a key reaches its limit: password guessing gets a handful of
// tries a quarter of an hour, not thousands a second.
type throttle struct {
	window time.Duration
	limit  int
	mu     sync.Mutex             // guards failures
	failed map[string][]time.Time // key → recent failures, oldest first
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{window: window, limit: limit, failed: map[string][]time.Time{}}
}

// blocked reports whether key has failed limit times within the window before now.
func (t *throttle) blocked(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.recent(key, now)) >= t.limit
}

// fail records a failure of key at now.
func (t *throttle) fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed[key] = append(t.recent(key, now), now)
	if len(t.failed) > 100_000 {
		// Under a spray of made-up keys, forget the quiet ones rather than grow.
		for k := range t.failed {
			if len(t.recent(k, now)) == 0 {
				delete(t.failed, k)
			}
		}
	}
}

// recent drops key's failures older than the window and returns the rest. t.mu is held.
func (t *throttle) recent(key string, now time.Time) []time.Time {
	fs := t.failed[key]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= t.window {
		i++
	}
	if i == len(fs) {
		delete(t.failed, key)
		return nil
	}
	fs = fs[i:]
	t.failed[key] = fs
	return fs
}

// clientIP is the address a request came from (the connection's; a proxy in front
// should pass one address per user, or throttle there).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func emailKey(email string) string { return "email " + strings.ToLower(strings.TrimSpace(email)) }
