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
	"tandem/report"
	"tandem/store"
)

// dealTerms are the handoff terms with the stages a deal moves people to.
var dealTerms = strings.Replace(handoffTerms,
	`  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }`,
	`  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }
  - { key: opportunity, meaning: "An open deal", enter_on: opportunity_created }
  - { key: customer, meaning: "They bought", enter_on: opportunity_won }`, 1)

func testOpportunityMovesItsPeople(t *testing.T, db *store.DB) {
	if !strings.Contains(dealTerms, "opportunity_won") {
		t.Fatal("the deal terms lack the deal stages")
	}
	mustActivate(t, db, dealTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	buyer := qualify(t, db, src, "buyer", "US")
	champion := qualify(t, db, src, "champion", "US")
	closeBy := now.Add(30 * 24 * time.Hour)
	o, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Lumen 2027", AccountID: buyer.AccountID, Amount: 48000, Currency: "usd",
		Stage: "discovery", ExpectedClose: &closeBy, Owner: "alice@acme.test", ExternalID: "006ABC",
		Contacts: []tandem.OpportunityPerson{{ContactID: buyer.ID, Role: "decision maker"}, {ContactID: champion.ID, Role: "champion"}}}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != tandem.OpportunityOpen || o.Currency != "USD" || len(o.Contacts) != 2 {
		t.Errorf("opportunity = %+v", o)
	}
	for _, c := range []*tandem.Contact{buyer, champion} {
		if got := mustContact(t, db, c.ID).Stage; got != "opportunity" {
			t.Errorf("contact %d is in %q after the deal was created, want opportunity", c.ID, got)
		}
	}
	if _, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "again", Currency: "USD", ExternalID: "006ABC"}, rep); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("the same external id twice: %v, want conflict", err)
	}
	_, err = db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "", Currency: "dollars", Amount: -1,
		Contacts: []tandem.OpportunityPerson{{ContactID: 999}}}, rep)
	var e *tandem.Error
	if !asError(err, &e) || len(e.Fields) != 4 {
		t.Errorf("a deal with four bad fields: %v, want all four", err)
	}
	won, err := db.WinOpportunity(ctx, o.ID, rep)
	if err != nil || won.Status != tandem.OpportunityWon || won.ClosedAt == nil {
		t.Fatalf("won: %+v, %v", won, err)
	}
	stages, err := db.ContactStages(ctx, buyer.ID)
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, s := range stages {
		path = append(path, s.To+" by "+s.Cause)
	}
	if !slices.Equal(path[len(path)-2:], []string{"opportunity by action opportunity_created", "customer by action opportunity_won"}) {
		t.Errorf("stage history = %q, want it to end with the deal's two moves", path)
	}
	if _, err := db.LoseOpportunity(ctx, o.ID, "budget cut", rep); tandem.ErrorCode(err) != tandem.EConflict {
		t.Errorf("losing a won deal: %v, want conflict", err)
	}
	lost, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: "Lumen add-on", Currency: "EUR"}, rep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.LoseOpportunity(ctx, lost.ID, " ", rep); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("lost without a reason: %v, want invalid", err)
	}
	if got, err := db.LoseOpportunity(ctx, lost.ID, "chose a competitor", rep); err != nil || got.LostReason != "chose a competitor" {
		t.Errorf("lost: %+v, %v", got, err)
	}
	open, err := db.Opportunities(ctx, tandem.OpportunityWon, 0, tandem.Page{})
	if err != nil || len(open) != 1 || open[0].ID != o.ID {
		t.Errorf("won deals = %v, %v", open, err)
	}
}

// testSourceConversion follows four MQLs, by the campaign that touched them first, to
// an opportunity and a won deal.
func testSourceConversion(t *testing.T, db *store.DB) {
	mustActivate(t, db, dealTerms)
	mustUsers(t, db, "alice@acme.test", "bob@acme.test")
	src := mustCreateSource(t, db)
	ctx := context.Background()
	for _, c := range []tandem.Campaign{
		{Name: "Ads", Channel: "paid_search", UTMCampaign: "ads"},
		{Name: "Webinar", Channel: "webinar", UTMCampaign: "webinar"},
	} {
		if _, err := db.CreateCampaign(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	day := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	db.Now = func() time.Time { return now }
	people := map[string]*tandem.Contact{}
	for user, campaign := range map[string]string{"ann": "ads", "ben": "ads", "cat": "webinar", "dan": ""} {
		if campaign != "" {
			m := page(src, user, "/", now.Add(-time.Hour))
			m.Properties = json.RawMessage(`{"url":"https://acme.test/?utm_campaign=` + campaign + `"}`)
			mustIngest(t, db, m)
		}
		people[user] = qualify(t, db, src, user, "US")
	}
	// A touch after qualifying is not how they came.
	late := page(src, "dan", "/", now.Add(time.Hour))
	late.Properties = json.RawMessage(`{"url":"https://acme.test/?utm_campaign=webinar"}`)
	mustIngest(t, db, late)
	deal := func(user string, created, won int) {
		t.Helper()
		db.Now = func() time.Time { return day(created) }
		o, err := db.CreateOpportunity(ctx, &tandem.Opportunity{Name: user, Amount: 100, Currency: "USD",
			Contacts: []tandem.OpportunityPerson{{ContactID: people[user].ID}}}, rep)
		if err != nil {
			t.Fatal(err)
		}
		if won > 0 {
			db.Now = func() time.Time { return day(won) }
			if _, err := db.WinOpportunity(ctx, o.ID, rep); err != nil {
				t.Fatal(err)
			}
		}
	}
	deal("ann", 2, 10)
	deal("ben", 4, 0)
	deal("dan", 1, 3)
	sc, err := db.SourceConversion(ctx, now.Format(time.DateOnly), "month")
	if err != nil {
		t.Fatal(err)
	}
	days := func(d *report.Duration) string {
		if d == nil {
			return "-"
		}
		return fmt.Sprintf("%gd", time.Duration(*d).Hours()/24)
	}
	pct := func(f *float64) string {
		if f == nil {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", *f*100)
	}
	var got []string
	for _, f := range sc.Channels {
		got = append(got, fmt.Sprintf("%s %d/%d/%d %s %s %s, %s %s %s", f.Source, f.MQLs, f.Opportunities, f.Won,
			pct(f.MQLToOpportunity), pct(f.OpportunityToWon), pct(f.MQLToWon), days(f.TimeToOpportunity), days(f.TimeToWin), days(f.Cycle)))
	}
	want := []string{
		// ann: opportunity after 2 days, won 8 days later; ben: opportunity after 4 days.
		"paid_search 2/2/1 100% 50% 50%, 3d 8d 10d",
		"webinar 1/0/0 0% - 0%, - - -",
		"none 1/1/1 100% 100% 100%, 1d 2d 3d",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("by channel:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sc.Stages != [3]string{"mql", "opportunity", "customer"} || len(sc.Campaigns) != 3 || sc.Campaigns[0].Source != "Ads" {
		t.Errorf("stages %v, campaigns %+v", sc.Stages, sc.Campaigns)
	}
	// A month without MQLs has no sources.
	if sc, err := db.SourceConversion(ctx, day(-60).Format(time.DateOnly), "month"); err != nil || len(sc.Channels) != 0 {
		t.Errorf("a month before: %+v, %v; want no sources", sc, err)
	}
}
