package http_test

import (
	"fmt"
	"testing"

	"tandem"
)

// TestCampaignTouches creates a campaign as marketing and reads the touch a UTM-tagged
// page view and a list membership made on a contact.
func TestCampaignTouches(t *testing.T) {
	ts := newTestServer(t)
	marketing := ts.mustCreateToken(t, "mia's token", tandem.RoleMarketing)
	sales := ts.mustCreateToken(t, "sam's token", tandem.RoleSales)
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/campaigns", sales, `{"name":"Webinar","channel":"webinar"}`), 403, "")
	ts.mustProblem(t, ts.api(t, "POST", "/api/v1/campaigns", marketing, `{"name":"Webinar","channel":"tv"}`), 400, "/channel")
	var c tandem.Campaign
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/campaigns", marketing, `{"name":"Spring webinar","channel":"webinar","utm_campaign":"spring","cost":5000}`), 201, &c)
	var list struct{ Data []tandem.Campaign }
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/campaigns", sales, ""), 200, &list)
	if len(list.Data) != 1 || list.Data[0].ID != c.ID || list.Data[0].Currency != "USD" {
		t.Errorf("campaigns = %+v", list.Data)
	}
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[
		{"type":"identify","userId":"ada","traits":{"email":"ada@lumen.test"}},
		{"type":"page","userId":"ada","name":"Pricing","properties":{"url":"https://acme.test/pricing?utm_campaign=Spring&utm_source=linkedin"}}]}`), 200, nil)
	ada := ts.contactsByEmail(t)["ada@lumen.test"]
	ts.mustProblem(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/campaigns/%d/members", c.ID), marketing, `{"contacts":[999999]}`), 400, "/contacts/0")
	resp := ts.api(t, "POST", fmt.Sprintf("/api/v1/campaigns/%d/members", c.ID), marketing, fmt.Sprintf(`{"contacts":[%d]}`, ada))
	if resp.StatusCode != 204 {
		t.Fatalf("add members: status %d, want 204", resp.StatusCode)
	}
	var touches struct{ Data []tandem.CampaignTouch }
	ts.mustJSON(t, ts.api(t, "GET", fmt.Sprintf("/api/v1/contacts/%d/touches", ada), sales, ""), 200, &touches)
	if len(touches.Data) != 2 || touches.Data[0].How != "utm" || touches.Data[1].How != "member" || touches.Data[0].Campaign != "Spring webinar" {
		t.Errorf("touches = %+v, want the tagged page view, then the membership", touches.Data)
	}
}

func TestAttributionReport(t *testing.T) {
	ts := newTestServer(t)
	sales, marketing := ts.dealTeams(t)
	ts.mustJSON(t, ts.api(t, "POST", "/api/v1/campaigns", marketing, `{"name":"Ads","channel":"paid_search","utm_campaign":"ads","cost":100}`), 201, nil)
	ts.mustJSON(t, ts.track(t, "/v1/batch", `{"batch":[
		{"type":"identify","userId":"ada","traits":{"email":"ada@lumen.test"}},
		{"type":"page","userId":"ada","properties":{"url":"https://acme.test/?utm_campaign=ads"}}]}`), 200, nil)
	ada := ts.contactsByEmail(t)["ada@lumen.test"]
	o := ts.mustDeal(t, sales, fmt.Sprintf(`{"name":"Lumen","amount":400,"currency":"USD","contacts":[{"contact_id":%d}]}`, ada))
	ts.mustJSON(t, ts.api(t, "POST", fmt.Sprintf("/api/v1/opportunities/%d/won", o.ID), sales, ""), 200, nil)
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/reports/attribution?cutoff=later", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/reports/attribution?lookback=soon", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/reports/attribution?model=z_shaped", sales, ""), 400, "")
	ts.mustProblem(t, ts.api(t, "GET", "/api/v1/reports/attribution?currency=dollars", sales, ""), 400, "")
	var rep struct {
		Opportunities int
		Models        []struct {
			Model     string
			Campaigns []struct {
				Campaign string
				Revenue  float64
				ROI      *float64 `json:"roi"`
			}
		}
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/reports/attribution?cutoff=closed&lookback=90d", marketing, ""), 200, &rep)
	if rep.Opportunities != 1 || len(rep.Models) != 7 {
		t.Fatalf("report = %+v", rep)
	}
	for _, m := range rep.Models {
		if len(m.Campaigns) != 1 || m.Campaigns[0].Revenue != 400 || m.Campaigns[0].ROI == nil || *m.Campaigns[0].ROI != 3 {
			t.Errorf("%s: %+v, want all 400 of the one touch's deal to Ads, ROI 3", m.Model, m.Campaigns)
		}
	}
	ts.mustJSON(t, ts.api(t, "GET", "/api/v1/reports/attribution?model=time_decay", marketing, ""), 200, &rep)
	if len(rep.Models) != 1 || rep.Models[0].Model != "time_decay" {
		t.Errorf("asked for time decay alone, got %+v", rep.Models)
	}
}
