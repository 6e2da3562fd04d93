package e2e

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// qualifyTerms is the agreement of TestLeadQualifiesThroughSegment, sent as JSON.
var qualifyTerms = map[string]any{
	"name":     "e2e terms",
	"timezone": "UTC",
	"scoring": map[string]any{
		"engagement": map[string]any{
			"half_life": "14d",
			"rules": []any{
				map[string]any{"name": "pricing visit", "on": "page", "when": `properties.path startsWith "/pricing"`, "points": 10},
				map[string]any{"name": "demo request", "on": "track:Demo Requested", "points": 40, "cap": map[string]any{"times": 1, "per": "1d"}},
			},
		},
		"fit": map[string]any{
			"rules": []any{
				map[string]any{"name": "senior title", "when": `traits.title matches "(?i)\\b(vp|director|head|chief)\\b"`, "points": 20},
				map[string]any{"name": "mid-size company", "when": "account.employees >= 200", "points": 15},
			},
		},
		"grades": map[string]any{"A": 40, "B": 25, "C": 10},
	},
	"stages": []any{
		map[string]any{"key": "lead", "meaning": "Known person"},
		map[string]any{"key": "mql", "meaning": "Fits and engaged", "enter_when": "score.fit >= 20 && score.engagement >= 50"},
		map[string]any{"key": "sal", "meaning": "A rep accepted it", "enter_on": "accept"},
	},
}

// TestLeadQualifiesThroughSegment has Segment's Node.js library deliver one buyer's
// activity to a server whose agreement is active, and reads back the score, grade and
// stage a sales rep would see, to the point.
func TestLeadQualifiesThroughSegment(t *testing.T) {
	node := mustFindNode(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "tandem.db"))
	key := mustCreateSource(t, srv, "website")

	status, body := srv.do(t, http.MethodPut, "/api/v1/agreement", qualifyTerms)
	if status != http.StatusCreated {
		t.Fatalf("PUT /api/v1/agreement: status %d, want 201: %s", status, body)
	}
	if status, body = srv.do(t, http.MethodPost, "/api/v1/agreement/versions/1/activate", nil); status != http.StatusOK {
		t.Fatalf("activate: status %d, want 200: %s", status, body)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "qualify.mjs", "--host", srv.URL, "--write-key", key)
	cmd.Dir = segmentDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node qualify.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}

	var found apiList[struct {
		ID int64 `json:"id"`
	}]
	srv.mustGet(t, "/api/v1/contacts?stage=mql&order=-engagement", &found)
	if len(found.Data) != 1 {
		t.Fatalf("MQLs: %+v, want Dana alone", found.Data)
	}
	id := strconv.FormatInt(found.Data[0].ID, 10)
	var c struct {
		Email string `json:"email"`
		Score struct {
			Fit, Engagement, Total float64
		} `json:"score"`
		Grade, Stage string
	}
	srv.mustGet(t, "/api/v1/contacts/"+id, &c)
	// Fit: senior title 20 + mid-size company 15. Engagement: the pricing visit of two
	// weeks ago 5 (half of 10), today's 10, the demo request 40.
	if c.Email != "dana.reyes@lumen-freight.com" || c.Score.Fit != 35 || c.Score.Engagement != 55 || c.Score.Total != 90 ||
		c.Grade != "B" || c.Stage != "mql" {
		t.Errorf("contact = %+v; want dana.reyes@lumen-freight.com with fit 35, engagement 55, total 90, grade B, stage mql", c)
	}

	var stages apiList[struct{ From, To, Cause string }]
	srv.mustGet(t, "/api/v1/contacts/"+id+"/stages", &stages)
	var moves []string
	for _, s := range stages.Data {
		moves = append(moves, s.From+">"+s.To+" ("+s.Cause+")")
	}
	if got := strings.Join(moves, ", "); got != ">lead (created), lead>mql (rule mql)" {
		t.Errorf("stage history: %s; want >lead (created), lead>mql (rule mql)", got)
	}

	var why struct {
		Lines []struct {
			Rule   string
			Points float64
			Hits   int
		}
	}
	srv.mustGet(t, "/api/v1/contacts/"+id+"/score", &why)
	got := map[string]float64{}
	for _, l := range why.Lines {
		got[l.Rule] = l.Points
	}
	want := map[string]float64{"pricing visit": 15, "demo request": 40, "senior title": 20, "mid-size company": 15}
	for rule, p := range want {
		if got[rule] != p {
			t.Errorf("score line %q = %v points, want %v (all lines: %+v)", rule, got[rule], p, why.Lines)
		}
	}
}
