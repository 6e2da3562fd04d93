package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem"
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
