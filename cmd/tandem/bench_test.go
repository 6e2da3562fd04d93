package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/ingest"
)

func TestBenchIngest(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		events int64
		steps  int
	}{
		{"batch", []string{"--events", "300", "--batch", "50", "--clients", "4"}, 300, 0},
		{"single", []string{"--mode", "single", "--events", "120", "--clients", "8"}, 120, 0},
		{"grow", []string{"--grow", "400", "--step", "100", "--batch", "30", "--clients", "2"}, 400, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"bench", "ingest", "--json", "--db", filepath.Join(t.TempDir(), "bench.db")}, tt.args...)
			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("tandem %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			var rep benchReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("the report is not JSON: %v\n%s", err, stdout.String())
			}
			if rep.Accepted != tt.events || rep.Stored != tt.events || rep.Rejected != 0 || rep.Failed != 0 || rep.Duplicates != 0 {
				t.Errorf("got %d accepted, %d stored, %d duplicates, %d rejected, %d failed requests; want all %d accepted and stored",
					rep.Accepted, rep.Stored, rep.Duplicates, rep.Rejected, rep.Failed, tt.events)
			}
			if rep.EventsPerSecond <= 0 || rep.LatencyMS.P50 <= 0 || rep.LatencyMS.Max < rep.LatencyMS.P99 {
				t.Errorf("implausible numbers: %.0f events/s, latency %+v", rep.EventsPerSecond, rep.LatencyMS)
			}
			if len(rep.Steps) != tt.steps {
				t.Errorf("got %d steps, want %d", len(rep.Steps), tt.steps)
			}
			if rep.Server == nil || rep.Server.Commits == 0 {
				t.Errorf("no commits reported by the server: %+v", rep.Server)
			}
		})
	}
}

// The payloads must be what the tracking API takes, about 400 bytes an event, and
// every renewal must give every event a new messageId.
func TestBenchPayload(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newBenchPayload(r, "0123abcd", 100, false, time.Now())
	if per := len(p.body) / p.events; per < 300 || per > 500 {
		t.Errorf("events are %d bytes on average, want about 400", per)
	}
	ids := map[string]bool{}
	var seq uint64
	for range 3 {
		p.renew(r, 5, &seq, 50)
		b, err := ingest.DecodeBatch(p.body, 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Errors) > 0 || len(b.Messages) != 100 {
			t.Fatalf("got %d messages and errors %v, want 100 and none", len(b.Messages), b.Errors)
		}
		for _, m := range b.Messages {
			if ids[m.MessageID] {
				t.Fatalf("messageId %s repeats", m.MessageID)
			}
			ids[m.MessageID] = true
			if m.AnonymousID == "" || (m.Type == "track" && m.UserID == "") {
				t.Errorf("message %s lacks an id: user %q, anonymous %q", m.MessageID, m.UserID, m.AnonymousID)
			}
		}
	}

	single := newBenchPayload(r, "0123abcd", 1, true, time.Now())
	single.renew(r, 1, &seq, 50)
	if _, m, err := ingest.DecodeSingle(single.body, "track", 1, time.Now()); err != nil || m.Event == "" {
		t.Errorf("a single payload does not decode as a track call: %v", err)
	}
}

func TestLatencies(t *testing.T) {
	var l latencies
	for i := 1; i <= 1000; i++ {
		l.add(time.Duration(i) * time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond}} {
		got := l.quantile(tt.q)
		if diff := got - tt.want; diff < -tt.want/100 || diff > tt.want/100 {
			t.Errorf("quantile(%v) = %v, want %v within 1%%", tt.q, got, tt.want)
		}
	}
	if l.max != time.Second {
		t.Errorf("max = %v, want 1s", l.max)
	}
	for us := uint64(0); us < 1<<20; us += 37 {
		if i := latencyBucket(us); latencyValue(i) < time.Duration(us)*time.Microsecond*99/100 {
			t.Fatalf("bucket %d of %d µs stands for %v", i, us, latencyValue(i))
		}
	}
}

func TestJSONWriter(t *testing.T) {
	w := &jsonWriter{}
	w.open()
	w.str("a", "quote \" backslash \\ newline \n tab \t bell \a")
	w.int("n", -3)
	w.array("list")
	w.open()
	w.bool("ok", true)
	w.close()
	w.open()
	w.str("f", "second object")
	w.close()
	w.closeArray()
	w.time("at", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	w.close()
	var got map[string]any
	if err := json.Unmarshal(w.b, &got); err != nil {
		t.Fatalf("%s: %v", w.b, err)
	}
	if got["a"] != "quote \" backslash \\ newline \n tab \t bell \a" || got["at"] != "2026-05-01T12:00:00.000Z" {
		t.Errorf("got %v", got)
	}
}
