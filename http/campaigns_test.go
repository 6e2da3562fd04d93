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
