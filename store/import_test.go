package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/csvio"
	"tandem/store"
)

// TestImport imports a HubSpot-style and a Salesforce-style set of files, each with a
// deliberately broken row, on each engine; then re-imports the files and the store's
// own export, which must change nothing.
func TestImport(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine+"/HubSpot", func(t *testing.T) { testImportHubSpot(t, mustOpen(t, engine)) })
		t.Run(engine+"/Salesforce", func(t *testing.T) { testImportSalesforce(t, mustOpen(t, engine)) })
		t.Run(engine+"/DryRun", func(t *testing.T) { testImportDryRun(t, mustOpen(t, engine)) })
		t.Run(engine+"/CRMIDFollowsMerge", func(t *testing.T) { testImportCRMIDFollowsMerge(t, mustOpen(t, engine)) })
		t.Run(engine+"/RepeatedPerson", func(t *testing.T) { testImportRepeatedPerson(t, mustOpen(t, engine)) })
		t.Run(engine+"/AfterAddressChange", func(t *testing.T) {
			testImportAfterAddressChange(t, mustOpen(t, engine), "Record ID,Email,First Name\n12,old@initech.test,Gil\n")
		})
		t.Run(engine+"/AfterAddressChangeNoCRMID", func(t *testing.T) {
			testImportAfterAddressChange(t, mustOpen(t, engine), "Email,First Name\nold@initech.test,Gil\n")
		})
		t.Run(engine+"/ChangedSince", func(t *testing.T) { testImportChangedSince(t, mustOpen(t, engine)) })
		t.Run(engine+"/LinksOfKnownRow", func(t *testing.T) { testImportLinksOfKnownRow(t, mustOpen(t, engine)) })
		t.Run(engine+"/RowTwiceForNewPerson", func(t *testing.T) { testImportRowTwiceForNewPerson(t, mustOpen(t, engine)) })
		t.Run(engine+"/QualifiedOnArrival", func(t *testing.T) { testImportQualifiedOnArrival(t, mustOpen(t, engine)) })
		t.Run(engine+"/CRMIDLastRowWins", func(t *testing.T) { testImportCRMIDLastRowWins(t, mustOpen(t, engine)) })
		t.Run(engine+"/StopsReading", func(t *testing.T) { testImportStopsReading(t, mustOpen(t, engine)) })
		t.Run(engine+"/SightedMeanwhile", func(t *testing.T) { testImportSightedMeanwhile(t, mustOpen(t, engine), false) })
		t.Run(engine+"/SightedMeanwhileScored", func(t *testing.T) { testImportSightedMeanwhile(t, mustOpen(t, engine), true) })
		t.Run(engine+"/MessageStoredAlready", func(t *testing.T) { testImportMessageStoredAlready(t, mustOpen(t, engine)) })
		for _, n := range []int{100, 250} {
			t.Run(fmt.Sprintf("%s/%dNewPeople", engine, n), func(t *testing.T) { testImportNewPeople(t, mustOpen(t, engine), n) })
		}
	}
}

// importResult is what one import did, with the errors of its rows.
type importResult struct {
	store.ImportSummary
	errs []*csvio.RowError
}

func mustImport(tb testing.TB, db *store.DB, o csvio.Object, file string, dryRun bool) importResult {
	tb.Helper()
	r, err := csvio.NewReader(strings.NewReader(file), o, nil)
	if err != nil {
		tb.Fatalf("read %s header: %v", o, err)
	}
	var res importResult
	sum, err := db.Import(context.Background(), r, store.ImportOptions{DryRun: dryRun, Batch: 2, RowError: func(e *csvio.RowError) error {
		res.errs = append(res.errs, e)
		return nil
	}})
	if err != nil {
		tb.Fatalf("import %s: %v", o, err)
	}
	res.ImportSummary = *sum
	return res
}

// wantSummary checks the counts of an import: created, updated, unchanged, failed.
func wantSummary(tb testing.TB, what string, got importResult, created, updated, unchanged, failed int64) {
	tb.Helper()
	s := got.ImportSummary
	if s.Created != created || s.Updated != updated || s.Unchanged != unchanged || s.Failed != failed ||
		s.Rows != created+updated+unchanged+failed {
		tb.Errorf("%s: rows %d, created %d, updated %d, unchanged %d, failed %d; want created %d, updated %d, unchanged %d, failed %d (errors %v)",
			what, s.Rows, s.Created, s.Updated, s.Unchanged, s.Failed, created, updated, unchanged, failed, got.errs)
	}
}

// wantRowError checks that an import's one row error names the row and column at fault.
func wantRowError(tb testing.TB, what string, got importResult, row int, column, message string) {
	tb.Helper()
	if len(got.errs) != 1 {
		tb.Errorf("%s: row errors %v, want one", what, got.errs)
		return
	}
	e := got.errs[0]
	if e.Row != row || e.Column != column || !strings.Contains(e.Message, message) {
		tb.Errorf("%s: row error %+v, want row %d, column %q, a message with %q", what, e, row, column, message)
	}
}

func mustExport(tb testing.TB, db *store.DB, o csvio.Object) string {
	tb.Helper()
	var b bytes.Buffer
	if _, err := db.Export(context.Background(), o, &b); err != nil {
		tb.Fatalf("export %s: %v", o, err)
	}
	return b.String()
}

// exportAll is everything an export shows of the store.
func exportAll(tb testing.TB, db *store.DB) string {
	tb.Helper()
	return mustExport(tb, db, csvio.Accounts) + mustExport(tb, db, csvio.Contacts) + mustExport(tb, db, csvio.Opportunities)
}

func mustOpportunityByExternalID(tb testing.TB, db *store.DB, ext string) *tandem.Opportunity {
	tb.Helper()
	list, err := db.Opportunities(context.Background(), "", 0, tandem.Page{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range list {
		if o.ExternalID == ext {
			o, err := db.Opportunity(context.Background(), o.ID)
			if err != nil {
				tb.Fatal(err)
			}
			return o
		}
	}
	tb.Fatalf("no opportunity has external id %s", ext)
	return nil
}

func countOpportunities(tb testing.TB, db *store.DB) int {
	tb.Helper()
	list, err := db.Opportunities(context.Background(), "", 0, tandem.Page{Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	return len(list)
}

func contactIDsOf(tb testing.TB, db *store.DB, emails ...string) []int64 {
	tb.Helper()
	var ids []int64
	for _, e := range emails {
		ids = append(ids, mustContactByEmail(tb, db, e).ID)
	}
	return ids
}

func peopleOf(o *tandem.Opportunity) []int64 {
	var ids []int64
	for _, p := range o.Contacts {
		ids = append(ids, p.ContactID)
	}
	return ids
}

// tick moves the store's clock an hour on.
func tick(db *store.DB) {
	at := db.Now().Add(time.Hour)
	db.Now = func() time.Time { return at }
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	hubspotCompanies = "\ufeffRecord ID,Company name,Company Domain Name,Industry,Number of Employees,Annual Revenue,Country/Region,Company owner,Create Date\n" +
		"101,Acme Corp,acme.test,Software,\"1,200\",\"$5,000,000\",United States,alice@example.com,2023-01-15 09:30\n" +
		"102,Globex,globex.test,Manufacturing,85,,Germany,,2023-02-01\n" +
		"103,Initech,initech.test,Software,lots,,,,2023-02-01\n" // broken: employees
	hubspotContacts = "Record ID,First Name,Last Name,Email,Job Title,Phone Number,Company Name,Country/Region,Lifecycle Stage,Lead Status,Create Date,Associated Company IDs\n" +
		"1,Ann,Archer,ann@acme.test,VP Marketing,+1 555 0100,Acme Corp,United States,lead,Open,2024-01-10 10:00,101\n" +
		"2,Bob,Baker,BOB@Acme.test,Engineer,,Acme Corp,United States,lead,,2024-01-11,101\n" +
		"3,Cy,Cole,cy@gmail.com,Director of Operations,,Globex,Germany,lead,,2024-01-12,102\n" +
		"4,Dee,Dunn,dee at globex,CEO,,Globex,Germany,lead,,2024-01-13,102\n" // broken: email
	hubspotDeals = "Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,Associated Company IDs,Associated Contact IDs,Pipeline\n" +
		"501,Acme platform,Closed Won,\"12,500.00\",2024-03-01,2024-02-01 09:00,alice@example.com,101,1;2,Sales Pipeline\n" +
		"502,Globex pilot,appointmentscheduled,\"3,000\",2024-06-30,2024-02-15,bob@example.com,102,3,Sales Pipeline\n" +
		"503,Acme add-on,closedlost,100,someday,2024-02-15,,101,1,Sales Pipeline\n" // broken: close date
)

func testImportHubSpot(t *testing.T, db *store.DB) {
	mustActivate(t, db, string(agreement.Default))
	got := mustImport(t, db, csvio.Accounts, hubspotCompanies, false)
	wantSummary(t, "companies", got, 2, 0, 0, 1)
	wantRowError(t, "companies", got, 4, "Number of Employees", `"lots" is not a number`)

	got = mustImport(t, db, csvio.Contacts, hubspotContacts, false)
	wantSummary(t, "contacts", got, 3, 0, 0, 1)
	wantRowError(t, "contacts", got, 5, "Email", "not an email address")
	// New people are scored as they arrive: ann is a VP of marketing (20 + 10) at a company
	// of 1,200 (15); cy a director (20) writing from free mail (-25) at one of 85.
	for _, want := range []struct {
		c     *tandem.Contact
		fit   float64
		grade string
	}{{mustContactByEmail(t, db, "ann@acme.test"), 45, "A"}, {mustContactByEmail(t, db, "cy@gmail.com"), -5, "D"}} {
		if c := want.c; c.Score == nil || c.Score.Fit != want.fit || c.Grade != want.grade || c.Stage != "lead" {
			t.Errorf("%s: score %+v, grade %q, stage %q; want fit %v, grade %s, stage lead", c.Email, c.Score, c.Grade, c.Stage, want.fit, want.grade)
		}
		if moves, err := db.ContactStages(context.Background(), want.c.ID); err != nil || len(moves) != 1 || moves[0].From != "" || moves[0].To != "lead" {
			t.Errorf("%s's stage changes = %v (%v), want one into lead", want.c.Email, moves, err)
		}
	}

	got = mustImport(t, db, csvio.Opportunities, hubspotDeals, false)
	wantSummary(t, "deals", got, 2, 0, 0, 1)
	wantRowError(t, "deals", got, 4, "Close Date", `"someday" is not a date`)

	// What the files said is in the store.
	ann := mustContactByEmail(t, db, "ann@acme.test")
	if ann.Traits["firstName"] != "Ann" || ann.Traits["title"] != "VP Marketing" || ann.Traits["lead_status"] != "Open" ||
		ann.Traits["phone"] != "+1 555 0100" || ann.Traits["createdAt"] != "2024-01-10T10:00:00Z" {
		t.Errorf("ann's traits = %v", ann.Traits)
	}
	if ann.AccountID == nil {
		t.Fatal("ann has no account")
	}
	acme := mustAccount(t, db, *ann.AccountID)
	if acme.Domain != "acme.test" || acme.Name != "Acme Corp" || acme.Traits["employees"] != 1200.0 || acme.Traits["annual_revenue"] != 5e6 {
		t.Errorf("ann's account = %+v, want Acme Corp at acme.test with 1,200 employees and 5M revenue", acme)
	}
	// Cy writes from a free-mail address: the CRM's company id is what links him.
	cy := mustContactByEmail(t, db, "cy@gmail.com")
	if cy.AccountID == nil || mustAccount(t, db, *cy.AccountID).Domain != "globex.test" {
		t.Errorf("cy's account = %v, want Globex's", cy.AccountID)
	}
	if n := mustCountContacts(t, db); n != 3 {
		t.Errorf("contacts = %d, want 3: the broken row makes none", n)
	}
	won := mustOpportunityByExternalID(t, db, "501")
	if won.Status != tandem.OpportunityWon || won.Amount != 12500 || won.Currency != "USD" || *won.AccountID != acme.ID ||
		!won.CreatedAt.Equal(date("2024-02-01 09:00:00")) || won.ClosedAt == nil || !won.ClosedAt.Equal(date("2024-03-01 00:00:00")) ||
		fmt.Sprint(peopleOf(won)) != fmt.Sprint(contactIDsOf(t, db, "ann@acme.test", "bob@acme.test")) {
		t.Errorf("deal 501 = %+v", won)
	}
	open := mustOpportunityByExternalID(t, db, "502")
	if open.Status != tandem.OpportunityOpen || open.Stage != "appointmentscheduled" || open.ExpectedClose == nil ||
		!open.ExpectedClose.Equal(date("2024-06-30 00:00:00")) || open.ClosedAt != nil {
		t.Errorf("deal 502 = %+v", open)
	}
	if n := countOpportunities(t, db); n != 2 {
		t.Errorf("opportunities = %d, want 2", n)
	}
	// Deals move their people: a won deal's to customer, an open one's to opportunity.
	for email, stage := range map[string]string{"ann@acme.test": "customer", "bob@acme.test": "customer", "cy@gmail.com": "opportunity"} {
		if c := mustContactByEmail(t, db, email); c.Stage != stage {
			t.Errorf("%s is in stage %q, want %q", email, c.Stage, stage)
		}
	}
	events := len(mustContactEvents(t, db, ann.ID))

	// Importing the same files again changes nothing, broken rows still reported. The
	// clock moves on, so that a write would show in the times updated.
	before := exportAll(t, db)
	tick(db)
	wantSummary(t, "companies again", mustImport(t, db, csvio.Accounts, hubspotCompanies, false), 0, 0, 2, 1)
	wantSummary(t, "contacts again", mustImport(t, db, csvio.Contacts, hubspotContacts, false), 0, 0, 3, 1)
	wantSummary(t, "deals again", mustImport(t, db, csvio.Opportunities, hubspotDeals, false), 0, 0, 2, 1)
	if after := exportAll(t, db); after != before {
		t.Errorf("re-importing changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if n := len(mustContactEvents(t, db, ann.ID)); n != events {
		t.Errorf("ann has %d events after the re-import, want %d", n, events)
	}
	assertExportReimports(t, db)
}

// assertExportReimports exports each object and imports the export back, which must
// change nothing.
func assertExportReimports(t *testing.T, db *store.DB) {
	t.Helper()
	before := exportAll(t, db)
	tick(db)
	for _, o := range []csvio.Object{csvio.Accounts, csvio.Contacts, csvio.Opportunities} {
		file := mustExport(t, db, o)
		rows := int64(strings.Count(file, "\n") - 1)
		wantSummary(t, string(o)+" export", mustImport(t, db, o, file, false), 0, 0, rows, 0)
	}
	if after := exportAll(t, db); after != before {
		t.Errorf("re-importing the export changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

const (
	salesforceAccounts = "Account ID,Account Name,Website,Industry,Employees,Annual Revenue,Billing Country,Account Owner,Created Date\n" +
		"001A,Initech,https://www.initech.test,Software,250,\"2,000,000\",US,carol@example.com,1/15/2023\n" +
		"001B,Umbrella,umbrella.test,Pharma,5000,,UK,,3/1/2023\n" +
		"001C,Gmail Inc,gmail.com,,,,,,\n" // broken: a free-mail domain
	salesforceContacts = "Contact ID,First Name,Last Name,Title,Email,Phone,Account Name,Account ID,Mailing Country,Lead Source,Contact Owner,Created Date\n" +
		"003A,Ian,Irving,CTO,ian@initech.test,,Initech,001A,US,Web,carol@example.com,2/1/2024 10:30 AM\n" +
		"003B,Una,Ueda,Buyer,una@umbrella.test,,Umbrella,001B,UK,Event,,2/2/2024\n" +
		"003C,Zed,Zane,Intern,zed@initech.test,,Initech,001Z,US,,,2/3/2024\n" // broken: no such account
	salesforceOpportunities = "Opportunity ID,Opportunity Name,Account ID,Account Name,Stage,Amount,Opportunity Currency,Close Date,Created Date,Opportunity Owner,Won,Closed,Contact ID\n" +
		"006A,Initech expansion,001A,Initech,Negotiation/Review,\"48,000.00\",USD,6/30/2024,3/1/2024,carol@example.com,false,false,003A\n" +
		"006B,Umbrella renewal,001B,Umbrella,Closed Lost,\"9,999.99\",EUR,4/15/2024,1/20/2024,,false,true,003B\n" +
		"006C,Initech training,001A,Initech,Prospecting,\"12,50\",USD,6/30/2024,3/1/2024,,false,false,003A\n" // broken: amount
)

func testImportSalesforce(t *testing.T, db *store.DB) {
	mustActivate(t, db, string(agreement.Default))
	got := mustImport(t, db, csvio.Accounts, salesforceAccounts, false)
	wantSummary(t, "accounts", got, 2, 0, 0, 1)
	wantRowError(t, "accounts", got, 4, "Website", "free-mail")

	got = mustImport(t, db, csvio.Contacts, salesforceContacts, false)
	wantSummary(t, "contacts", got, 2, 0, 0, 1)
	wantRowError(t, "contacts", got, 4, "Account ID", `"001Z"`)

	got = mustImport(t, db, csvio.Opportunities, salesforceOpportunities, false)
	wantSummary(t, "opportunities", got, 2, 0, 0, 1)
	wantRowError(t, "opportunities", got, 4, "Amount", "commas may only separate thousands")

	// A broken row writes nothing of itself.
	if list, err := db.Contacts(t.Context(), tandem.ContactFilter{Email: "zed@initech.test"}, tandem.Page{}); err != nil || len(list) != 0 {
		t.Errorf("zed's broken row made contacts %v (%v)", list, err)
	}
	if n := countOpportunities(t, db); n != 2 {
		t.Errorf("opportunities = %d, want 2", n)
	}

	ian := mustContactByEmail(t, db, "ian@initech.test")
	if ian.Traits["company"] != "Initech" || ian.Traits["leadSource"] != "Web" || ian.Traits["createdAt"] != "2024-02-01T10:30:00Z" || ian.AccountID == nil {
		t.Fatalf("ian = %+v", ian)
	}
	initech := mustAccount(t, db, *ian.AccountID)
	if initech.Domain != "initech.test" || initech.Name != "Initech" || initech.Traits["employees"] != 250.0 || initech.Traits["owner"] != "carol@example.com" {
		t.Errorf("ian's account = %+v", initech)
	}
	lost := mustOpportunityByExternalID(t, db, "006B")
	if lost.Status != tandem.OpportunityLost || lost.Currency != "EUR" || lost.Amount != 9999.99 || lost.ClosedAt == nil ||
		!lost.ClosedAt.Equal(date("2024-04-15 00:00:00")) || !lost.CreatedAt.Equal(date("2024-01-20 00:00:00")) {
		t.Errorf("006B = %+v", lost)
	}
	if c := mustContactByEmail(t, db, "una@umbrella.test"); c.Stage != "opportunity" {
		t.Errorf("una is in stage %q, want opportunity: a lost deal was a deal", c.Stage)
	}

	before := exportAll(t, db)
	tick(db)
	wantSummary(t, "accounts again", mustImport(t, db, csvio.Accounts, salesforceAccounts, false), 0, 0, 2, 1)
	wantSummary(t, "contacts again", mustImport(t, db, csvio.Contacts, salesforceContacts, false), 0, 0, 2, 1)
	wantSummary(t, "opportunities again", mustImport(t, db, csvio.Opportunities, salesforceOpportunities, false), 0, 0, 2, 1)
	if after := exportAll(t, db); after != before {
		t.Errorf("re-importing changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	assertExportReimports(t, db)

	// The CRM moves on: the deal is won, Umbrella grew. Only what changed is updated, and
	// winning moves the deal's people.
	won := strings.Replace(salesforceOpportunities, "Negotiation/Review,\"48,000.00\",USD,6/30/2024,3/1/2024,carol@example.com,false,false",
		"Closed Won,\"50,000.00\",USD,7/2/2024,3/1/2024,carol@example.com,true,true", 1)
	wantSummary(t, "opportunities won", mustImport(t, db, csvio.Opportunities, won, false), 0, 1, 1, 1)
	deal := mustOpportunityByExternalID(t, db, "006A")
	if deal.Status != tandem.OpportunityWon || deal.Amount != 50000 || deal.ClosedAt == nil || !deal.ClosedAt.Equal(date("2024-07-02 00:00:00")) {
		t.Errorf("006A = %+v, want won on 2024-07-02 for 50,000", deal)
	}
	if c := mustContact(t, db, ian.ID); c.Stage != "customer" {
		t.Errorf("ian is in stage %q, want customer", c.Stage)
	}
	grown := strings.Replace(salesforceAccounts, "Pharma,5000", "Pharma,6000", 1)
	wantSummary(t, "accounts grown", mustImport(t, db, csvio.Accounts, grown, false), 0, 1, 1, 1)
	una := mustContactByEmail(t, db, "una@umbrella.test")
	if a := mustAccount(t, db, *una.AccountID); a.Traits["employees"] != 6000.0 {
		t.Errorf("umbrella's employees = %v, want 6000", a.Traits["employees"])
	}
	assertExportReimports(t, db)
}

func testImportDryRun(t *testing.T, db *store.DB) {
	got := mustImport(t, db, csvio.Accounts, hubspotCompanies, true)
	if got.Valid != 2 || got.Failed != 1 || got.Created != 0 || len(got.errs) != 1 {
		t.Errorf("dry run: %+v, errors %v; want 2 valid, 1 failed", got.ImportSummary, got.errs)
	}
	// The deals name contacts and companies the store does not have: a dry run says so.
	got = mustImport(t, db, csvio.Opportunities, hubspotDeals, true)
	if got.Valid != 0 || got.Failed != 3 {
		t.Errorf("dry run of deals before their companies: %+v, errors %v; want 3 failed", got.ImportSummary, got.errs)
	}
	if got := exportAll(t, db); strings.Count(got, "\n") != 3 {
		t.Errorf("a dry run wrote:\n%s", got)
	}
}

// testImportCRMIDFollowsMerge: a contact imported with a CRM id and merged since into
// another is still found by that id, by a deal and by an export.
func testImportCRMIDFollowsMerge(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "u-1", "", map[string]any{"name": "Ann"}))
	wantSummary(t, "contacts", mustImport(t, db, csvio.Contacts, "Record ID,Email\n7,ann@acme.test\n", false), 1, 0, 0, 0)
	// The app learns that its user u-1 is ann@acme.test: the two contacts are one.
	mustIngest(t, db, identifyMessage(src, "u-1", "", map[string]any{"email": "ann@acme.test"}))
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("contacts = %d after the merge, want 1", n)
	}
	ann := mustContactByUserID(t, db, "u-1")
	wantSummary(t, "deal", mustImport(t, db, csvio.Opportunities, "Record ID,Deal Name,Associated Contact IDs\n9,Pilot,7\n", false), 1, 0, 0, 0)
	if got := peopleOf(mustOpportunityByExternalID(t, db, "9")); fmt.Sprint(got) != fmt.Sprint([]int64{ann.ID}) {
		t.Errorf("the deal's people = %v, want the survivor %d", got, ann.ID)
	}
	if export := mustExport(t, db, csvio.Contacts); !strings.Contains(export, fmt.Sprintf("\n%d,7,ann@acme.test,", ann.ID)) {
		t.Errorf("the export does not give the survivor its CRM id:\n%s", export)
	}
	wantSummary(t, "contacts again", mustImport(t, db, csvio.Contacts, "Record ID,Email\n7,ann@acme.test\n", false), 0, 0, 1, 0)
	assertExportReimports(t, db)
}

// testImportRepeatedPerson imports a file that names one new person three times, twice
// within one batch and once in the next: the first row creates the contact, the later
// ones update it in file order.
func testImportRepeatedPerson(t *testing.T, db *store.DB) {
	mustActivate(t, db, string(agreement.Default))
	file := "Record ID,Email,Job Title\n" +
		"7,eve@initech.test,Analyst\n" +
		"7,eve@initech.test,Head of Sales\n" + // the batch of two ends here
		"8,fay@initech.test,Engineer\n" +
		"7,eve@initech.test,VP Growth\n"
	wantSummary(t, "file", mustImport(t, db, csvio.Contacts, file, false), 2, 2, 0, 0)
	eve := mustContactByEmail(t, db, "eve@initech.test")
	// A VP (20) in growth (10), at a company whose size is not known.
	if eve.Traits["title"] != "VP Growth" || eve.Score == nil || eve.Score.Fit != 30 || eve.Stage != "lead" {
		t.Errorf("eve = title %v, score %+v, stage %q; want the last row's title, fit 30, stage lead", eve.Traits["title"], eve.Score, eve.Stage)
	}
	fay := mustContactByEmail(t, db, "fay@initech.test")
	if eve.AccountID == nil || fay.AccountID == nil || *eve.AccountID != *fay.AccountID {
		t.Errorf("eve's account %v and fay's %v, want the one of initech.test", eve.AccountID, fay.AccountID)
	}
	if n := mustCountContacts(t, db); n != 2 {
		t.Errorf("contacts = %d, want 2", n)
	}
	wantSummary(t, "file again", mustImport(t, db, csvio.Contacts, file, false), 0, 0, 4, 0)
}

// testImportAfterAddressChange imports a person (file names old@initech.test) who then
// signs in and changes their address: importing the file again leaves them be rather
// than making a second contact of the old address, whether or not the row has a CRM id
// to find the person by. Once someone else has taken the address, the row does not
// rename them.
func testImportAfterAddressChange(t *testing.T, db *store.DB, file string) {
	wantSummary(t, "file", mustImport(t, db, csvio.Contacts, file, false), 1, 0, 0, 0)
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "u-gil", "", map[string]any{"email": "old@initech.test"}))
	mustIngest(t, db, identifyMessage(src, "u-gil", "", map[string]any{"email": "new@initech.test"}))
	wantSummary(t, "file again", mustImport(t, db, csvio.Contacts, file, false), 0, 0, 1, 0)
	if n := mustCountContacts(t, db); n != 1 {
		t.Errorf("contacts = %d, want 1", n)
	}
	if gil := mustContactByEmail(t, db, "new@initech.test"); gil.Traits["firstName"] != "Gil" {
		t.Errorf("gil = %+v", gil)
	}
	mustIngest(t, db, identifyMessage(src, "u-hal", "", map[string]any{"email": "old@initech.test", "firstName": "Hal"}))
	mustImport(t, db, csvio.Contacts, file, false)
	if hal := mustContactByEmail(t, db, "old@initech.test"); hal.Traits["firstName"] != "Hal" {
		t.Errorf("the address's new owner = %v, want Hal", hal.Traits)
	}
}

// testImportChangedSince imports a person, created in bulk, then a change to them, which
// goes through ingest; the person then tells the website another title. Importing either
// file again changes nothing: the rows are known among the person's events, and the
// title stays the one the person gave last.
func testImportChangedSince(t *testing.T, db *store.DB) {
	first := "Email,Job Title\njo@initech.test,Analyst\n"
	second := "Email,Job Title\njo@initech.test,Director\n"
	wantSummary(t, "first file", mustImport(t, db, csvio.Contacts, first, false), 1, 0, 0, 0)
	wantSummary(t, "second file", mustImport(t, db, csvio.Contacts, second, false), 0, 1, 0, 0)
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "u-jo", "", map[string]any{"email": "jo@initech.test", "title": "CTO"}))
	wantSummary(t, "first file again", mustImport(t, db, csvio.Contacts, first, false), 0, 0, 1, 0)
	wantSummary(t, "second file again", mustImport(t, db, csvio.Contacts, second, false), 0, 0, 1, 0)
	jo := mustContactByEmail(t, db, "jo@initech.test")
	if jo.Traits["title"] != "CTO" {
		t.Errorf("jo's title = %v, want CTO, from the website after both imports", jo.Traits["title"])
	}
	if evs := mustContactEvents(t, db, jo.ID); len(evs) != 3 {
		t.Errorf("jo has %d events, want 3 identify calls: two imported rows and the website's", len(evs))
	}
	if n := mustCountContacts(t, db); n != 1 {
		t.Errorf("contacts = %d, want 1", n)
	}
}

// testImportLinksOfKnownRow imports files whose rows were imported before but now name
// another account, then another CRM id: the traits are known, the links are new, and
// they are made.
func testImportLinksOfKnownRow(t *testing.T, db *store.DB) {
	accounts := "Account ID,Account Name,Website\nA1,Initech,initech.test\nA2,Globex,globex.test\n"
	wantSummary(t, "accounts", mustImport(t, db, csvio.Accounts, accounts, false), 2, 0, 0, 0)
	file := "Contact ID,Email,First Name,Account ID\nC1,jo@initech.test,Jo,A1\n"
	wantSummary(t, "file", mustImport(t, db, csvio.Contacts, file, false), 1, 0, 0, 0)
	first := *mustContactByEmail(t, db, "jo@initech.test").AccountID
	moved := strings.Replace(file, ",A1", ",A2", 1)
	wantSummary(t, "another account", mustImport(t, db, csvio.Contacts, moved, false), 0, 1, 0, 0)
	if jo := mustContactByEmail(t, db, "jo@initech.test"); jo.AccountID == nil || *jo.AccountID == first {
		t.Errorf("jo's account = %v, want Globex's, not Initech's %d", jo.AccountID, first)
	}
	renamed := strings.Replace(moved, "C1,", "C9,", 1)
	wantSummary(t, "another CRM id", mustImport(t, db, csvio.Contacts, renamed, false), 0, 1, 0, 0)
	deal := "Opportunity ID,Opportunity Name,Stage,Contact ID\nO1,Renewal,Prospecting,C9\n"
	wantSummary(t, "deal naming the new CRM id", mustImport(t, db, csvio.Opportunities, deal, false), 1, 0, 0, 0)
}

// testImportRowTwiceForNewPerson imports a file naming a new person twice with the same
// row, in one batch, with the clock running: the second row is the first's duplicate, so
// the person has one identify and its points once.
func testImportRowTwiceForNewPerson(t *testing.T, db *store.DB) {
	doc := strings.Replace(string(agreement.Default), "    rules:\n", "    rules:\n      - { name: known, on: identify, points: 60 }\n", 1)
	mustActivate(t, db, doc)
	db.Now = time.Now
	r, err := csvio.NewReader(strings.NewReader("Email,First Name\nkim@initech.test,Kim\nkim@initech.test,Kim\n"), csvio.Contacts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.Import(context.Background(), r, store.ImportOptions{Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 1 || sum.Updated != 0 || sum.Unchanged != 1 {
		t.Errorf("summary %+v, want created 1, unchanged 1", *sum)
	}
	kim := mustContactByEmail(t, db, "kim@initech.test")
	if evs := mustContactEvents(t, db, kim.ID); len(evs) != 1 {
		t.Errorf("kim has %d events, want one identify", len(evs))
	}
}

// testImportQualifiedOnArrival imports under an agreement whose rule counts identify
// calls: a person who fits qualifies as they arrive and is handed off, one who does not
// stays a lead.
func testImportQualifiedOnArrival(t *testing.T, db *store.DB) {
	doc := strings.Replace(string(agreement.Default), "    rules:\n", "    rules:\n      - { name: known, on: identify, points: 60 }\n", 1)
	mustActivate(t, db, doc)
	file := "Email,Job Title\nhal@initech.test,VP Sales\nivy@initech.test,Engineer\n"
	wantSummary(t, "file", mustImport(t, db, csvio.Contacts, file, false), 2, 0, 0, 0)
	hal, ivy := mustContactByEmail(t, db, "hal@initech.test"), mustContactByEmail(t, db, "ivy@initech.test")
	// hal: a VP (20) in sales (10), engaged by the identify (60).
	if hal.Score == nil || hal.Score.Fit != 30 || hal.Score.Engagement != 60 || hal.Stage != "mql" {
		t.Errorf("hal: score %+v, stage %q; want fit 30, engagement 60, mql", hal.Score, hal.Stage)
	}
	if ivy.Score == nil || ivy.Score.Fit != 0 || ivy.Score.Engagement != 60 || ivy.Stage != "lead" {
		t.Errorf("ivy: score %+v, stage %q; want fit 0, engagement 60, lead", ivy.Score, ivy.Stage)
	}
	if got := mustAssignments(t, db, tandem.AssignmentFilter{ContactID: hal.ID}); len(got) != 1 {
		t.Errorf("hal's assignments = %v, want one", got)
	}
	if got := mustAssignments(t, db, tandem.AssignmentFilter{ContactID: ivy.ID}); len(got) != 0 {
		t.Errorf("ivy's assignments = %v, want none", got)
	}
	if moves, err := db.ContactStages(context.Background(), hal.ID); err != nil || len(moves) != 2 || moves[1].To != "mql" {
		t.Errorf("hal's stage changes = %v (%v), want into lead, then mql", moves, err)
	}
}

// testImportCRMIDLastRowWins imports a batch in which one CRM id names a person the store
// knows, then a new one: the id ends naming the later row's person, as it would if the
// rows were written one after another.
func testImportCRMIDLastRowWins(t *testing.T, db *store.DB) {
	wantSummary(t, "first", mustImport(t, db, csvio.Contacts, "Email,Job Title\nold@acme.test,Engineer\n", false), 1, 0, 0, 0)
	file := "Record ID,Email,Job Title\n7,old@acme.test,CTO\n7,new@acme.test,Analyst\n"
	wantSummary(t, "second", mustImport(t, db, csvio.Contacts, file, false), 1, 1, 0, 0)
	wantSummary(t, "deal", mustImport(t, db, csvio.Opportunities, "Record ID,Deal Name,Associated Contact IDs\n9,Pilot,7\n", false), 1, 0, 0, 0)
	want := mustContactByEmail(t, db, "new@acme.test").ID
	if got := peopleOf(mustOpportunityByExternalID(t, db, "9")); fmt.Sprint(got) != fmt.Sprint([]int64{want}) {
		t.Errorf("the deal's people = %v, want new@acme.test (%d), the last row to name CRM id 7", got, want)
	}
}

// testImportNewPeople imports n new people, at up to 150 companies, in the batches a
// real import uses, whose statements hold a hundred rows each: all are stored, found by
// address, at their company's account, and a second import changes nothing.
func testImportNewPeople(t *testing.T, db *store.DB, n int) {
	var file strings.Builder
	file.WriteString("Record ID,Email,Job Title\n")
	for i := range n {
		fmt.Fprintf(&file, "%d,p%d@co%d.test,Engineer\n", 100+i, i, i%150)
	}
	for _, pass := range []struct {
		what               string
		created, unchanged int64
	}{{"first", int64(n), 0}, {"again", 0, int64(n)}} {
		r, err := csvio.NewReader(strings.NewReader(file.String()), csvio.Contacts, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := db.Import(context.Background(), r, store.ImportOptions{})
		if err != nil {
			t.Fatalf("import %s: %v", pass.what, err)
		}
		wantSummary(t, pass.what, importResult{ImportSummary: *sum}, pass.created, 0, pass.unchanged, 0)
	}
	if got := mustCountContacts(t, db); got != int64(n) {
		t.Errorf("contacts = %d, want %d", got, n)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		c := mustContactByEmail(t, db, fmt.Sprintf("p%d@co%d.test", i, i%150))
		if c.Traits["title"] != "Engineer" || c.AccountID == nil || mustAccount(t, db, *c.AccountID).Domain != fmt.Sprintf("co%d.test", i%150) {
			t.Errorf("p%d = %+v", i, c)
		}
	}
}

// testImportStopsReading ends an import at a bad row, while the file is still being
// read: the file is not read once Import has returned, so the caller may close it.
func testImportStopsReading(t *testing.T, db *store.DB) {
	var file strings.Builder
	file.WriteString("Email\n")
	for i := range 500 {
		fmt.Fprintf(&file, "not an address %d %s\n", i, strings.Repeat("x", 1500))
	}
	f := &watchedReader{r: strings.NewReader(file.String())}
	r, err := csvio.NewReader(f, csvio.Contacts, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop at the sixtieth bad row, past the first 64 KiB")
	bad := 0
	stopAt60 := func(*csvio.RowError) error {
		if bad++; bad == 60 {
			return stop
		}
		return nil
	}
	if _, err := db.Import(context.Background(), r, store.ImportOptions{Batch: 10, RowError: stopAt60}); !errors.Is(err, stop) {
		t.Fatalf("Import = %v, want the row error callback's", err)
	}
	f.closed.Store(true)
	time.Sleep(50 * time.Millisecond)
	if n := f.after.Load(); n > 0 {
		t.Errorf("the file was read %d times after Import returned", n)
	}
}

// watchedReader is a slow file that counts the reads after closed is set.
type watchedReader struct {
	r      io.Reader
	closed atomic.Bool
	after  atomic.Int64
}

func (w *watchedReader) Read(p []byte) (int, error) {
	if w.closed.Load() {
		w.after.Add(1)
	}
	time.Sleep(time.Millisecond) // a file slower than the import, as a network body is
	return w.r.Read(p[:min(len(p), 64)])
}

// testImportSightedMeanwhile has a person identify through Segment after the import has
// read its batch and before it creates the batch's new people: the import updates that
// contact rather than making a second, and creates the other person. Its first attempt at
// the batch fails on Kim's address and is rolled back; with scored set, under an
// agreement, nothing of that attempt (scores, stage changes) is left behind.
func testImportSightedMeanwhile(t *testing.T, db *store.DB, scored bool) {
	if scored {
		mustActivate(t, db, string(agreement.Default))
	}
	src := mustCreateSource(t, db)
	var once sync.Once
	defer store.BeforeImportCreates(func() {
		once.Do(func() {
			mustIngest(t, db, identifyMessage(src, "u-kim", "", map[string]any{"email": "kim@initech.test", "firstName": "Kim"}))
		})
	})()
	file := "Email,Job Title\nkim@initech.test,CTO\nlee@initech.test,Engineer\n"
	wantSummary(t, "file", mustImport(t, db, csvio.Contacts, file, false), 1, 1, 0, 0)
	if n := mustCountContacts(t, db); n != 2 {
		t.Errorf("contacts = %d, want 2", n)
	}
	kim := mustContactByEmail(t, db, "kim@initech.test")
	if kim.Traits["firstName"] != "Kim" || kim.Traits["title"] != "CTO" {
		t.Errorf("kim's traits = %v, want Segment's first name and the file's title", kim.Traits)
	}
	if !scored {
		return
	}
	for _, c := range []*tandem.Contact{kim, mustContactByEmail(t, db, "lee@initech.test")} {
		stages, err := db.ContactStages(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Stage != "lead" || len(stages) != 1 || stages[0].To != "lead" {
			t.Errorf("%s: stage %q, stage changes %+v; want one, into lead", c.Email, c.Stage, stages)
		}
	}
	// Kim's title as a CTO is the starting agreement's senior title: 20 points of fit.
	if kim.Score == nil || kim.Score.Fit != 20 || kim.Grade != "C" {
		t.Errorf("kim's score = %+v, grade %q; want fit 20, grade C", kim.Score, kim.Grade)
	}
}

// testImportMessageStoredAlready has the import meet a new person whose identify message
// is stored already under the same time, which only a clock that stands still and a
// contact that lost its address row together allow: that row is left to ingest, which
// knows the message, while the batch's other new person is created.
func testImportMessageStoredAlready(t *testing.T, db *store.DB) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return at }
	first := "Email,First Name\nada@example.com,Ada\nbob@example.com,Bob\n"
	wantSummary(t, "first import", mustImport(t, db, csvio.Contacts, first, false), 2, 0, 0, 0)
	if err := db.ForgetAddress(context.Background(), "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	second := "Email,First Name\nada@example.com,Ada\ncy@example.com,Cy\n"
	r, err := csvio.NewReader(strings.NewReader(second), csvio.Contacts, nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := db.Import(context.Background(), r, store.ImportOptions{}) // one batch
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 1 || sum.Unchanged != 1 {
		t.Errorf("second import: %+v, want Cy created and Ada's row unchanged", sum)
	}
	if n := mustCountContacts(t, db); n != 3 {
		t.Errorf("contacts = %d, want 3: Ada, Bob, Cy", n)
	}
	cy := mustContactByEmail(t, db, "cy@example.com")
	if events := mustContactEvents(t, db, cy.ID); len(events) != 1 {
		t.Errorf("Cy has %d events, want the one identify", len(events))
	}
}
