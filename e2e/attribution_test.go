package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"tandem/agreement"
)

// segmentCall is one call of Segment's Node.js library that e2e/segment/deliver.mjs
// makes: analytics.page, identify, track or group, with its params.
type segmentCall struct {
	Call   string         `json:"call"`
	Params map[string]any `json:"params"`
}

// The campaigns of TestAttributionThroughSegment, by name.
const (
	searchAds = "Q3 Paid Search"
	webinar   = "Speed to Lead Webinar"
	nurture   = "Q3 Nurture Email"
)

// TestAttributionThroughSegment has Segment's Node.js library deliver two buyers' visits
// from three campaigns' links, some before and one after sales opened a deal with them,
// wins the deal, and reads how much of its revenue each campaign is credited with, as
// a marketer compares campaigns, under three models.
func TestAttributionThroughSegment(t *testing.T) {
	node := mustFindNode(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "tandem.db"))
	key := mustCreateSource(t, srv, "website")

	// The starting agreement: stages for deals (opportunity, customer), and attribution
	// with the created cutoff, a 180-day lookback and U-shaped 40/20/40.
	var terms map[string]any
	if err := yaml.Unmarshal(agreement.Default, &terms); err != nil {
		t.Fatal(err)
	}
	mustActivateYAML(t, srv, terms)

	for _, c := range []map[string]any{
		{"name": searchAds, "channel": "paid_search", "cost": 3000, "utm_campaign": "q3-search", "utm_source": "google", "utm_medium": "cpc"},
		{"name": webinar, "channel": "webinar", "cost": 1500, "utm_campaign": "speed-to-lead"},
		{"name": nurture, "channel": "email", "cost": 500, "utm_campaign": "nurture-q3", "utm_medium": "email"},
	} {
		if status, body := srv.do(t, http.MethodPost, "/api/v1/campaigns", c); status != http.StatusCreated {
			t.Fatalf("POST /api/v1/campaigns %s: status %d, want 201: %s", c["name"], status, body)
		}
	}

	// Priya finds the site through a search ad, comes back for the webinar, and says who
	// she is; her colleague Marco follows a newsletter link; Priya reads the newsletter
	// shared on social, then follows its link in the email. The timestamps are days
	// apart, all well within the lookback.
	now := time.Now().UTC()
	daysAgo := func(n int) string { return now.AddDate(0, 0, -n).Format(time.RFC3339Nano) }
	priya := map[string]any{"userId": "user-priya", "anonymousId": "anon-priya-laptop"}
	marco := map[string]any{"userId": "user-marco", "anonymousId": "anon-marco-phone"}
	page := func(who map[string]any, name, path, query string, campaign map[string]any, ts string) segmentCall {
		p := map[string]any{"name": name, "properties": map[string]any{"path": path, "url": "https://harborline.example" + path + query}}
		for k, v := range who {
			p[k] = v
		}
		if campaign != nil {
			p["context"] = map[string]any{"campaign": campaign}
		}
		if ts != "" {
			p["timestamp"] = ts
		}
		return segmentCall{"page", p}
	}
	anonPriya := map[string]any{"anonymousId": priya["anonymousId"]}
	mustDeliver(t, node, srv, key, []segmentCall{
		// 40 days ago, anonymous: the search ad, tagged as Segment's browser library tags it.
		page(anonPriya, "Pricing", "/pricing", "", map[string]any{"name": "q3-search", "source": "google", "medium": "cpc"}, daysAgo(40)),
		// 30 days ago, anonymous: the webinar page, its tags only in the URL.
		page(anonPriya, "Webinar", "/webinars/speed-to-lead", "?utm_campaign=speed-to-lead&utm_source=linkedin&utm_medium=social", nil, daysAgo(30)),
		{"identify", map[string]any{"userId": priya["userId"], "anonymousId": priya["anonymousId"], "timestamp": daysAgo(20),
			"traits": map[string]any{"email": "priya.shah@harborline-logistics.com", "name": "Priya Shah", "title": "VP Operations"}}},
		{"identify", map[string]any{"userId": marco["userId"], "anonymousId": marco["anonymousId"], "timestamp": daysAgo(14),
			"traits": map[string]any{"email": "marco.rossi@harborline-logistics.com", "name": "Marco Rossi", "title": "Logistics Manager"}}},
		page(marco, "Case Studies", "/customers", "", map[string]any{"name": "nurture-q3", "source": "newsletter", "medium": "email"}, daysAgo(12)),
		// The newsletter shared on social is not the email campaign, whose medium is email.
		page(priya, "Blog", "/blog/speed-to-lead", "", map[string]any{"name": "nurture-q3", "source": "newsletter", "medium": "social"}, daysAgo(8)),
		page(priya, "Demo", "/demo", "?utm_campaign=nurture-q3&utm_source=newsletter&utm_medium=email&utm_content=cta", nil, daysAgo(5)),
	})

	priyaID := mustFindContact(t, srv, "priya.shah@harborline-logistics.com")
	marcoID := mustFindContact(t, srv, "marco.rossi@harborline-logistics.com")
	type step struct {
		campaign string
		at       string
	}
	checkTouches := func(who string, id int64, want []step) []apiTouch {
		t.Helper()
		var got apiList[apiTouch]
		srv.mustGet(t, fmt.Sprintf("/api/v1/contacts/%d/touches", id), &got)
		var gotS, wantS []string
		for _, tc := range got.Data {
			gotS = append(gotS, tc.Campaign+" ("+tc.How+")")
		}
		for _, s := range want {
			wantS = append(wantS, s.campaign+" (utm)")
		}
		if strings.Join(gotS, ", ") != strings.Join(wantS, ", ") {
			t.Fatalf("%s's touches: %q, want %q", who, gotS, wantS)
		}
		for i, s := range want {
			if s.at == "" {
				continue
			}
			// Skew correction moves a timestamp by the moments the library held it.
			at, _ := time.Parse(time.RFC3339Nano, s.at)
			if d := got.Data[i].At.Sub(at).Abs(); d > time.Minute {
				t.Errorf("%s's touch %d (%s) at %v, want %v", who, i, s.campaign, got.Data[i].At, at)
			}
		}
		return got.Data
	}
	// Priya's anonymous visits joined her when she identified.
	checkTouches("Priya", priyaID, []step{{searchAds, daysAgo(40)}, {webinar, daysAgo(30)}, {nurture, daysAgo(5)}})
	checkTouches("Marco", marcoID, []step{{nurture, daysAgo(12)}})

	// Sales opens a $12,000 deal with both.
	status, body := srv.do(t, http.MethodPost, "/api/v1/opportunities", map[string]any{
		"name": "Harborline Logistics, 40 seats", "amount": 12000, "currency": "USD", "stage": "proposal", "owner": "alice@example.com",
		"contacts": []map[string]any{{"contact_id": priyaID, "role": "decision maker"}, {"contact_id": marcoID, "role": "champion"}},
	})
	if status != http.StatusCreated {
		t.Fatalf("POST /api/v1/opportunities: status %d, want 201: %s", status, body)
	}
	var deal struct {
		ID        int64
		CreatedAt time.Time `json:"created_at"`
	}
	if err := json.Unmarshal(body, &deal); err != nil {
		t.Fatalf("POST /api/v1/opportunities: %v: %s", err, body)
	}
	checkStage(t, srv, priyaID, "opportunity")
	checkStage(t, srv, marcoID, "opportunity")

	// Afterwards Priya clicks a search ad again, stamped now by the library: it did not
	// bring the deal in, so under the created cutoff it earns nothing.
	mustDeliver(t, node, srv, key, []segmentCall{
		page(priya, "Pricing", "/pricing", "", map[string]any{"name": "q3-search", "source": "google", "medium": "cpc"}, ""),
	})
	touches := checkTouches("Priya", priyaID, []step{{searchAds, daysAgo(40)}, {webinar, daysAgo(30)}, {nurture, daysAgo(5)}, {searchAds, ""}})
	if last := touches[len(touches)-1].At; !last.After(deal.CreatedAt) {
		t.Fatalf("Priya's last touch at %v, want after the deal's creation at %v", last, deal.CreatedAt)
	}

	// The touches that count, of both contacts, oldest first (the one after the deal's
	// creation left out):
	//
	//	40 days ago  search ads  (Priya)
	//	30 days ago  webinar     (Priya)
	//	12 days ago  email       (Marco)
	//	 5 days ago  email       (Priya)
	//
	// Of the deal's $12,000:
	//   - first touch: all to search ads;
	//   - linear: a quarter, $3,000, to each touch: search ads 3,000, webinar 3,000,
	//     email 6,000;
	//   - U-shaped: 40% ($4,800) to the first touch, search ads; 40% to the last, email;
	//     the 20% left split over the two between, $1,200 each to the webinar and email:
	//     search ads 4,800, webinar 1,200, email 6,000.
	//   - W-shaped: 30% ($3,600) each to the first touch (search ads), the lead creation
	//     touch (the last at or before Priya identified 20 days ago, the first of the
	//     two to: the webinar) and the opportunity creation touch (email, 5 days ago);
	//     the 10% left to the touch between that is none of these (Marco's email):
	//     search ads 3,600, webinar 3,600, email 4,800.
	// Counting the later search ad would give linear 4,800 / 2,400 / 4,800 and U-shaped
	// 9,600 / 800 / 1,600.
	const amount = 12000.0
	want := map[string]map[string]float64{
		"first_touch": {searchAds: 12000, webinar: 0, nurture: 0},
		"linear":      {searchAds: 3000, webinar: 3000, nurture: 6000},
		"u_shaped":    {searchAds: 4800, webinar: 1200, nurture: 6000},
		"w_shaped":    {searchAds: 3600, webinar: 3600, nurture: 4800},
	}
	cost := map[string]float64{searchAds: 3000, webinar: 1500, nurture: 500}

	// While the deal is open, the credit is pipeline, not revenue.
	rep := mustGetAttribution(t, srv)
	for model, campaigns := range want {
		for name, credit := range campaigns {
			got, ok := rep.credit(model, name)
			if !ok {
				t.Errorf("open deal: %s: no line for %s in %s", model, name, rep.raw)
				continue
			}
			if !near(got.Pipeline, credit) || got.Revenue != 0 || got.Deals != 0 {
				t.Errorf("open deal: %s: %s pipeline %v, revenue %v, deals %v; want pipeline %v, no revenue, no deals",
					model, name, got.Pipeline, got.Revenue, got.Deals, credit)
			}
		}
	}

	status, body = srv.do(t, http.MethodPost, "/api/v1/opportunities/"+strconv.FormatInt(deal.ID, 10)+"/won", nil)
	if status != http.StatusOK {
		t.Fatalf("POST /api/v1/opportunities/%d/won: status %d, want 200: %s", deal.ID, status, body)
	}
	checkStage(t, srv, priyaID, "customer")
	checkStage(t, srv, marcoID, "customer")

	rep = mustGetAttribution(t, srv)
	if rep.Cutoff != "created" || rep.Lookback != "180d" || rep.Currency != "USD" || rep.Opportunities != 1 {
		t.Errorf("report: cutoff %q, lookback %q, over %d opportunities in %s; want created, 180d, 1 in USD",
			rep.Cutoff, rep.Lookback, rep.Opportunities, rep.Currency)
	}
	for model, campaigns := range want {
		for name, revenue := range campaigns {
			got, ok := rep.credit(model, name)
			if !ok {
				t.Errorf("won deal: %s: no line for %s in %s", model, name, rep.raw)
				continue
			}
			// The won deal counts once, shared out as its revenue is.
			deals := revenue / amount
			if !near(got.Revenue, revenue) || got.Pipeline != 0 || !near(got.Deals, deals) {
				t.Errorf("won deal: %s: %s revenue %v, pipeline %v, deals %v; want revenue %v, no pipeline, deals %v",
					model, name, got.Revenue, got.Pipeline, got.Deals, revenue, deals)
			}
			// Return on the campaign's cost: U-shaped search ads (4,800 − 3,000) / 3,000 = 0.6.
			if roi := (revenue - cost[name]) / cost[name]; got.ROI == nil || !near(*got.ROI, roi) {
				t.Errorf("won deal: %s: %s roi %v, want %v", model, name, ptrFloat(got.ROI), roi)
			}
		}
	}
}

// apiTouch is a campaign's touch on a contact, as the JSON API answers it.
type apiTouch struct {
	Campaign string    `json:"campaign"`
	At       time.Time `json:"at"`
	How      string    `json:"how"`
}

// attributionReport is what the attribution report answers, as far as the test reads it.
type attributionReport struct {
	Cutoff        string `json:"cutoff"`
	Lookback      string `json:"lookback"`
	Currency      string `json:"currency"`
	Opportunities int    `json:"opportunities"`
	Models        []struct {
		Model     string `json:"model"`
		Campaigns []struct {
			Campaign string   `json:"campaign"`
			Revenue  float64  `json:"revenue"`
			Pipeline float64  `json:"pipeline"`
			Deals    float64  `json:"deals"`
			ROI      *float64 `json:"roi"`
		} `json:"campaigns"`
	} `json:"models"`
	raw string
}

// campaignCredit is one campaign's line under one model.
type campaignCredit struct {
	Revenue, Pipeline, Deals float64
	ROI                      *float64
}

// credit returns the line of campaign under model.
func (r *attributionReport) credit(model, campaign string) (campaignCredit, bool) {
	for _, m := range r.Models {
		if m.Model != model {
			continue
		}
		for _, c := range m.Campaigns {
			if c.Campaign == campaign {
				return campaignCredit{c.Revenue, c.Pipeline, c.Deals, c.ROI}, true
			}
		}
	}
	return campaignCredit{}, false
}

// mustGetAttribution reads the attribution report under the agreement's cutoff and
// lookback, failing the test unless it answers 200.
func mustGetAttribution(tb testing.TB, s *server) *attributionReport {
	tb.Helper()
	status, body := s.do(tb, http.MethodGet, "/api/v1/reports/attribution", nil)
	if status != http.StatusOK {
		tb.Fatalf("GET /api/v1/reports/attribution: status %d, want 200: %s", status, body)
	}
	rep := &attributionReport{raw: string(body)}
	if err := json.Unmarshal(body, rep); err != nil {
		tb.Fatalf("GET /api/v1/reports/attribution: %v: %s", err, body)
	}
	return rep
}

// mustDeliver has e2e/segment/deliver.mjs make calls with Segment's Node.js library, in
// order, and fails unless the server acknowledged each.
func mustDeliver(tb testing.TB, node string, s *server, key string, calls []segmentCall) {
	tb.Helper()
	in, err := json.Marshal(calls)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "deliver.mjs", "--host", s.URL, "--write-key", key)
	cmd.Dir = segmentDir()
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("node deliver.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
}

// mustFindContact returns the id of the one contact with email.
func mustFindContact(tb testing.TB, s *server, email string) int64 {
	tb.Helper()
	var got apiList[apiContact]
	s.mustGet(tb, "/api/v1/contacts?email="+url.QueryEscape(email), &got)
	if len(got.Data) != 1 {
		tb.Fatalf("contacts with email %s: %+v, want one", email, got.Data)
	}
	return got.Data[0].ID
}

// checkStage reports an error unless contact id is at stage.
func checkStage(tb testing.TB, s *server, id int64, stage string) {
	tb.Helper()
	var c struct {
		Email string `json:"email"`
		Stage string `json:"stage"`
	}
	s.mustGet(tb, fmt.Sprintf("/api/v1/contacts/%d", id), &c)
	if c.Stage != stage {
		tb.Errorf("contact %s: stage %q, want %q", c.Email, c.Stage, stage)
	}
}

// near reports whether two amounts agree up to the rounding of shares.
func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// ptrFloat shows an optional number in a message.
func ptrFloat(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
