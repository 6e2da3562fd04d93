package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/store"
)

func testCampaignTouches(t *testing.T, db *store.DB) {
	ctx := context.Background()
	src := mustCreateSource(t, db)
	for _, c := range []tandem.Campaign{
		{Name: "Spring webinar", Channel: "webinar", UTMCampaign: "spring_webinar", Cost: 5000},
		{Name: "Demo ads", Channel: "paid_search", UTMCampaign: "demo", UTMSource: "google", UTMMedium: "cpc"},
		{Name: "Trade show", Channel: "event", TrackEvent: "Booth Visited"},
		{Name: "Newsletter", Channel: "email"},
	} {
		if _, err := db.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "Spring webinar", Channel: "webinar"}); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("a second campaign of the same name: %v, want conflict", err)
	}
	_, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "", Channel: "tv", Cost: -1})
	var e *tandem.Error
	if !asError(err, &e) || len(e.Fields) != 3 {
		t.Errorf("a campaign with three bad fields: %v, want all three", err)
	}
	withContext := func(m *tandem.Message, c string) *tandem.Message { m.Context = json.RawMessage(c); return m }
	withURL := func(m *tandem.Message, u string) *tandem.Message {
		m.Properties = json.RawMessage(fmt.Sprintf(`{"url":%q}`, u))
		return m
	}
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	mustIngest(t, db,
		at(identifyMessage(src, "ada", "", map[string]any{"email": "ada@lumen.test"}), day(0)),
		at(withContext(newMessage(src, tandem.TypePage, "ada", ""), `{"campaign":{"name":"Spring_Webinar","source":"linkedin"}}`), day(1)),
		at(withURL(newMessage(src, tandem.TypePage, "ada", ""), "https://acme.test/pricing?utm_campaign=demo&utm_source=google&utm_medium=cpc"), day(2)),
		at(withURL(newMessage(src, tandem.TypePage, "ada", ""), "https://acme.test/pricing?utm_campaign=demo&utm_source=bing&utm_medium=cpc"), day(3)),
		at(trackMessage(src, "ada", "", "Booth Visited"), day(4)),
		at(newMessage(src, tandem.TypePage, "ada", ""), day(5)))
	ada := mustContactByUserID(t, db, "ada")
	news := mustCampaignID(t, db, "Newsletter")
	db.Now = func() time.Time { return day(6) }
	if err := db.AddCampaignMembers(ctx, news, []int64{ada.ID}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddCampaignMembers(ctx, news, []int64{999}); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a member who is not a contact: %v, want invalid", err)
	}
	touches, err := db.ContactTouches(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tc := range touches {
		got = append(got, fmt.Sprintf("%s by %s on day %d", tc.Campaign, tc.How, int(tc.At.Sub(t0).Hours()/24)))
	}
	want := "Spring webinar by utm on day 1, Demo ads by utm on day 2, Trade show by event on day 4, Newsletter by member on day 6"
	if strings.Join(got, ", ") != want {
		t.Errorf("touches = %s\nwant %s", strings.Join(got, ", "), want)
	}
}

func mustCampaignID(tb testing.TB, db *store.DB, name string) int64 {
	tb.Helper()
	list, err := db.Campaigns(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	for _, c := range list {
		if c.Name == name {
			return c.ID
		}
	}
	tb.Fatalf("no campaign %q", name)
	return 0
}

// testAttribution credits a won deal touched by two campaigns, and an open one touched
// by the second, under three models.
func testAttribution(t *testing.T, db *store.DB) {
	mustActivate(t, db, dealTerms)
	ctx := context.Background()
	src := mustCreateSource(t, db)
	for _, c := range []tandem.Campaign{
		{Name: "Webinar", Channel: "webinar", UTMCampaign: "webinar", Cost: 250},
		{Name: "Ads", Channel: "paid_search", UTMCampaign: "ads"},
	} {
		if _, err := db.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	tagged := func(user, campaign string, day int) *tandem.Message {
		m := newMessage(src, tandem.TypePage, user, "")
		m.Properties = json.RawMessage(`{"url":"https://acme.test/?utm_campaign=` + campaign + `"}`)
		return at(m, t0.Add(time.Duration(day)*24*time.Hour))
	}
	mustIngest(t, db, at(identifyMessage(src, "ada", "", map[string]any{"email": "ada@lumen.test"}), t0),
		tagged("ada", "webinar", 1), tagged("ada", "ads", 2),
		at(identifyMessage(src, "bob", "", map[string]any{"email": "bob@harbor.test"}), t0), tagged("bob", "ads", 1))
	ada, bob := mustContactByUserID(t, db, "ada"), mustContactByUserID(t, db, "bob")
	db.Now = func() time.Time { return t0.Add(3 * 24 * time.Hour) }
	won, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Lumen", Amount: 1000, Currency: "USD",
		Contacts: []tandem.OpportunityPerson{{ContactID: ada.ID}}}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WinOpportunity(ctx, won.ID, rep); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Harbor", Amount: 200, Currency: "USD",
		Contacts: []tandem.OpportunityPerson{{ContactID: bob.ID}}}, rep); err != nil {
		t.Fatal(err)
	}
	r, err := db.Attribution(ctx, store.AttributionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Opportunities != 2 || len(r.Models) != len(store.AttributionKinds) || r.Model != "w_shaped" || r.Cutoff != "created" {
		t.Fatalf("report = %+v, want every model, led by the default W-shaped, touches before creation", r)
	}
	got := map[string]string{}
	for _, m := range r.Models {
		var parts []string
		for _, c := range m.Campaigns {
			roi := "-"
			if c.ROI != nil {
				roi = fmt.Sprintf("%.1f", *c.ROI)
			}
			parts = append(parts, fmt.Sprintf("%s %.0f/%.0f/%.2f roi %s", c.Campaign, c.Revenue, c.Pipeline, c.Deals, roi))
		}
		got[string(m.Model)] = strings.Join(parts, "; ")
	}
	// Campaigns by name: Ads, then Webinar. The open deal's pipeline is all Ads'.
	for model, want := range map[string]string{
		"first_touch": "Ads 0/200/0.00 roi -; Webinar 1000/0/1.00 roi 3.0",
		"last_touch":  "Ads 1000/200/1.00 roi -; Webinar 0/0/0.00 roi -1.0",
		"linear":      "Ads 500/200/0.50 roi -; Webinar 500/0/0.50 roi 1.0",
	} {
		if got[model] != want {
			t.Errorf("%s: %s, want %s", model, got[model], want)
		}
	}
}

// testCampaignMembershipSurvivesMerge puts a contact on a list, merges it into another,
// and finds the touch on the survivor; a UTM link with a malformed neighbour and a
// fragment still counts.
func testCampaignMembershipSurvivesMerge(t *testing.T, db *store.DB) {
	ctx := context.Background()
	src := mustCreateSource(t, db)
	list, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "Newsletter", Channel: "email", UTMCampaign: "spring"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "Ads", Channel: "paid_search", UTMSource: "google"}); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("a source without a campaign: %v, want invalid", err)
	}
	mustIngest(t, db, at(identifyMessage(src, "", "anon-ada", map[string]any{"email": "ada@lumen.test"}), t0))
	byEmail := mustContactByEmail(t, db, "ada@lumen.test")
	if err := db.AddCampaignMembers(ctx, list.ID, []int64{byEmail.ID}); err != nil {
		t.Fatal(err)
	}
	m := newMessage(src, tandem.TypePage, "ada", "")
	m.Properties = json.RawMessage(`{"url":"https://acme.test/?utm_content=50%off&utm_campaign=spring#pricing"}`)
	mustIngest(t, db, at(identifyMessage(src, "ada", "", map[string]any{"title": "VP"}), t0), at(m, t0.Add(time.Hour)))
	// ada by user id, then ada's email: the two profiles are one person.
	mustIngest(t, db, at(identifyMessage(src, "ada", "", map[string]any{"email": "ada@lumen.test"}), t0.Add(2*time.Hour)))
	survivor := mustContactByUserID(t, db, "ada")
	touches, err := db.ContactTouches(ctx, survivor.ID)
	if err != nil {
		t.Fatal(err)
	}
	var how []string
	for _, tc := range touches {
		how = append(how, tc.How)
	}
	if len(how) != 2 || !slices.Contains(how, "member") || !slices.Contains(how, "utm") {
		t.Errorf("the merged person's touches = %v, want the list membership and the tagged page", how)
	}
}

// testTouchesFromEarlierEvents finds touches in events stored before their campaign
// existed, in a visitor's views from before they identified, and again after the tags
// are set again from the events as an upgraded store does; and dates the lead creation
// milestone by the message that made the person known.
func testTouchesFromEarlierEvents(t *testing.T, db *store.DB) {
	mustActivate(t, db, dealTerms)
	ctx := context.Background()
	src := mustCreateSource(t, db)
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	ad := newMessage(src, tandem.TypePage, "", "anon-ada")
	ad.Context = json.RawMessage(`{"campaign":{"name":"Demo","source":"google","medium":"cpc"}}`)
	// The server hears of all this a week late (a client's queue, or an import): Ada
	// became a lead when she identified, on day 2, not when the server saw her.
	db.Now = func() time.Time { return day(9) }
	mustIngest(t, db,
		at(ad, day(0)),
		at(trackMessage(src, "", "anon-ada", "Referral Signup"), day(1)),
		at(identifyMessage(src, "ada", "anon-ada", map[string]any{"email": "ada@lumen.test"}), day(2)),
		at(trackMessage(src, "ada", "", "Webinar Joined"), day(3)))
	for _, c := range []tandem.Campaign{
		{Name: "Demo ads", Channel: "paid_search", UTMCampaign: "demo", UTMSource: "google"},
		{Name: "Partners", Channel: "referral", TrackEvent: "Referral Signup"},
		{Name: "Webinar", Channel: "webinar", TrackEvent: "Webinar Joined"},
	} {
		if _, err := db.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	ada := mustContactByUserID(t, db, "ada")
	touches := func() string {
		t.Helper()
		list, err := db.ContactTouches(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, tc := range list {
			got = append(got, fmt.Sprintf("%s by %s on day %d", tc.Campaign, tc.How, int(tc.At.Sub(t0).Hours()/24)))
		}
		return strings.Join(got, ", ")
	}
	const want = "Demo ads by utm on day 0, Partners by event on day 1, Webinar by event on day 3"
	if got := touches(); got != want {
		t.Errorf("touches = %s\nwant %s", got, want)
	}

	// W-shaped: first touch, lead creation (the last touch at or before the identify on
	// day 2: Partners), opportunity creation (the last before day 5: Webinar) 30 each,
	// the remaining 10 to the touches between, of which there are none, so it is shared
	// by all three.
	db.Now = func() time.Time { return day(5) }
	if _, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Lumen", Amount: 900, Currency: "USD",
		Contacts: []tandem.OpportunityPerson{{ContactID: ada.ID}}}, rep); err != nil {
		t.Fatal(err)
	}
	credit := func() string {
		t.Helper()
		r, err := db.Attribution(ctx, store.AttributionQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range r.Models {
			if m.Model != "w_shaped" {
				continue
			}
			var parts []string
			for _, c := range m.Campaigns {
				parts = append(parts, fmt.Sprintf("%s %.0f", c.Campaign, c.Pipeline))
			}
			return strings.Join(parts, ", ")
		}
		return ""
	}
	const wantCredit = "Demo ads 300, Partners 300, Webinar 300"
	if got := credit(); got != wantCredit {
		t.Errorf("w_shaped pipeline = %s, want %s", got, wantCredit)
	}

	if err := db.RetagTouches(ctx); err != nil {
		t.Fatal(err)
	}
	if got := touches(); got != want {
		t.Errorf("after the tags were set again, touches = %s\nwant %s", got, want)
	}
	if got := credit(); got != wantCredit {
		t.Errorf("after the tags were set again, w_shaped pipeline = %s, want %s", got, wantCredit)
	}
}

// testAttributionByCurrency never adds amounts of different currencies: the report is
// in the currency most deals are in unless asked for another, and lists them all.
func testAttributionByCurrency(t *testing.T, db *store.DB) {
	ctx := context.Background()
	src := mustCreateSource(t, db)
	if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "Ads", Channel: "paid_search", UTMCampaign: "ads", Cost: 100, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	m := newMessage(src, tandem.TypePage, "ada", "")
	m.Properties = json.RawMessage(`{"url":"https://acme.test/?utm_campaign=ads"}`)
	mustIngest(t, db, at(identifyMessage(src, "ada", "", map[string]any{"email": "ada@lumen.test"}), t0), at(m, t0.Add(time.Hour)))
	ada := mustContactByUserID(t, db, "ada")
	db.Now = func() time.Time { return t0.Add(24 * time.Hour) }
	for _, d := range []struct {
		amount   float64
		currency string
	}{{1000, "USD"}, {2000, "USD"}, {500, "EUR"}} {
		o, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: fmt.Sprint(d), Amount: d.amount, Currency: d.currency,
			Contacts: []tandem.OpportunityPerson{{ContactID: ada.ID}}}, rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.WinOpportunity(ctx, o.ID, rep); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		currency, want string
	}{
		// The campaign's cost is in euros: no ROI against dollars.
		{"", "USD: 2 deals, revenue 3000, roi none, channel roi none; currencies [{USD 2} {EUR 1}]"},
		{"eur", "EUR: 1 deals, revenue 500, roi 4.0, channel roi 4.0; currencies [{USD 2} {EUR 1}]"},
		{"GBP", "GBP: 0 deals, revenue 0, roi none, channel roi none; currencies [{USD 2} {EUR 1}]"},
	} {
		r, err := db.Attribution(ctx, store.AttributionQuery{Currency: tc.currency})
		if err != nil {
			t.Fatal(err)
		}
		c, ch := r.Models[0].Campaigns[0], r.Models[0].Channels[0]
		roi := func(r *float64) string {
			if r == nil {
				return "none"
			}
			return fmt.Sprintf("%.1f", *r)
		}
		got := fmt.Sprintf("%s: %d deals, revenue %.0f, roi %s, channel roi %s; currencies %v", r.Currency, r.Opportunities, c.Revenue,
			roi(c.ROI), roi(ch.ROI), r.Currencies)
		if got != tc.want {
			t.Errorf("currency %q: %s\nwant %s", tc.currency, got, tc.want)
		}
	}
}

// testTagsNoCampaignCanHave stores page views whose UTM tags no campaign can have (a NUL
// from %00, a tag longer than a campaign's 200 characters, split inside a character if
// cut) along with the rest of their batch, and makes no touch of them; an odd context
// does not hide the URL's tags.
func testTagsNoCampaignCanHave(t *testing.T, db *store.DB) {
	ctx := context.Background()
	src := mustCreateSource(t, db)
	if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: "Spring", Channel: "email", UTMCampaign: "spring"}); err != nil {
		t.Fatal(err)
	}
	page := func(url string, n int) *tandem.Message {
		m := newMessage(src, tandem.TypePage, "ada", "")
		m.Properties = json.RawMessage(fmt.Sprintf(`{"url":%q}`, url))
		return at(m, t0.Add(time.Duration(n)*time.Hour))
	}
	// A client that sends the campaign as a string still has the URL's tags read.
	odd := newMessage(src, tandem.TypePage, "ada", "")
	odd.Context = json.RawMessage(`{"campaign":"spring","page":{"url":"https://acme.test/?utm_campaign=spring"}}`)
	out := mustIngest(t, db, at(identifyMessage(src, "ada", "", map[string]any{"email": "ada@lumen.test"}), t0),
		page("https://acme.test/?utm_campaign=spr%00ing", 1),
		page("https://acme.test/?utm_campaign="+strings.Repeat("%C3%A9", 150), 2),
		page("https://acme.test/?utm_campaign=spring", 3), at(odd, t0.Add(4*time.Hour)))
	for i, o := range out {
		if o != tandem.Stored {
			t.Errorf("message %d: %v, want stored", i, o)
		}
	}
	touches, err := db.ContactTouches(ctx, mustContactByUserID(t, db, "ada").ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(touches) != 2 || touches[0].Campaign != "Spring" || touches[1].Campaign != "Spring" {
		t.Errorf("touches = %+v, want the two tagged spring", touches)
	}
}
