package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// A short run must hand off every lead it sends and receive each webhook, signed.
func TestBenchHandoff(t *testing.T) {
	args := []string{"bench", "handoff", "--json", "--db", filepath.Join(t.TempDir(), "bench.db"),
		"--duration", "2s", "--warmup", "500ms", "--leads-per-minute", "600",
		"--background", "400", "--clients", "2", "--batch", "20", "--users", "100"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("tandem %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	var rep handoffReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the report is not JSON: %v\n%s", err, stdout.String())
	}
	if rep.Leads < 10 || rep.Webhooks != rep.Leads || rep.Missing != 0 || rep.BadSignatures != 0 || rep.Unexpected != 0 {
		t.Errorf("got %d leads, %d webhooks, %d missing, %d bad signatures, %d unexpected; want about 20 leads, each with one good webhook",
			rep.Leads, rep.Webhooks, rep.Missing, rep.BadSignatures, rep.Unexpected)
	}
	if l := rep.HandoffMS; l.P50 <= 0 || l.Max < l.P99 {
		t.Errorf("implausible handoff latency %+v", l)
	}
	if rep.Background.Events == 0 || rep.Background.Failed != 0 {
		t.Errorf("background: got %d events, %d failed requests; want some and none", rep.Background.Events, rep.Background.Failed)
	}
}
