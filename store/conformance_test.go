package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/store"
)

// postgresEnv names the variable that holds the URL of a PostgreSQL server to test
// against. Each test gets its own schema there, dropped when the test ends.
const postgresEnv = "TANDEM_TEST_POSTGRES"

// t0 is when the test messages happen unless a test says otherwise.
var t0 = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)

// TestConformance runs every store test against each engine, so that both behave alike.
func TestConformance(t *testing.T) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"AnonymousPagesMakeNoContact", testAnonymousPagesMakeNoContact},
		{"IdentifyLaterClaimsVisitorEvents", testIdentifyLaterClaimsVisitorEvents},
		{"IdentifyInSameIngestClaimsVisitorEvents", testIdentifyInSameIngestClaimsVisitorEvents},
		{"VisitorTraitsCarryOver", testVisitorTraitsCarryOver},
		{"AnonymousIdentifyOfKnownVisitor", testAnonymousIdentifyOfKnownVisitor},
		{"UserIDMakesContact", testUserIDMakesContact},
		{"EmailMakesAndJoinsContact", testEmailMakesAndJoinsContact},
		{"IdentifyChangesEmail", testIdentifyChangesEmail},
		{"UserAndEmailContactsMerge", testUserAndEmailContactsMerge},
		{"MergedIDNeverReused", testMergedIDNeverReused},
		{"AliasAnonymousID", testAliasAnonymousID},
		{"AliasEarlierUserID", testAliasEarlierUserID},
		{"MessageIDDedupe", testMessageIDDedupe},
		{"DuplicatesAmongManyMessages", testDuplicatesAmongManyMessages},
		{"RetriedIdentifyChangesNothing", testRetriedIdentifyChangesNothing},
		{"CompanyDomainAccount", testCompanyDomainAccount},
		{"FreeMailNoAccount", testFreeMailNoAccount},
		{"GroupCreatesAccount", testGroupCreatesAccount},
		{"GroupAttachesToDomainAccount", testGroupAttachesToDomainAccount},
		{"AnonymousGroup", testAnonymousGroup},
		{"AnonymousGroupFollowsVisitor", testAnonymousGroupFollowsVisitor},
		{"SignupAfterNewsletter", testSignupAfterNewsletter},
		{"AliasOfEmailOnlyVisitor", testAliasOfEmailOnlyVisitor},
		{"SharedDeviceKeepsPeopleApart", testSharedDeviceKeepsPeopleApart},
		{"IdentifyTraitsMerge", testIdentifyTraitsMerge},
		{"ContactsPagination", testContactsPagination},
		{"ContactEventsPaging", testContactEventsPaging},
		{"MessageWithoutPayload", testMessageWithoutPayload},
		{"Tokens", testTokens},
		{"ReplaceTokenRevokesOldSecret", testReplaceTokenRevokesOldSecret},
		{"Sources", testSources},
		{"NotFound", testNotFound},
		{"AgreementApproval", testAgreementApproval},
		{"BadAgreementRefused", testBadAgreementRefused},
		{"ScoreOnIngest", testScoreOnIngest},
		{"FitFollowsAccount", testFitFollowsAccount},
		{"VisitorEventsScoreOnIdentify", testVisitorEventsScoreOnIdentify},
		{"MergeKeepsScores", testMergeKeepsScores},
		{"ContactsByEngagement", testContactsByEngagement},
		{"RescoreOnActivation", testRescoreOnActivation},
		{"RescoreCarriesScoresOver", testRescoreCarriesScoresOver},
		{"RescoreLeavesUnchangedRows", testRescoreLeavesUnchangedRows},
		{"EventUnderUnfinishedVersion", testEventUnderUnfinishedVersion},
		{"DecayIntoDetour", testDecayIntoDetour},
		{"ScoresWithoutAgreement", testScoresWithoutAgreement},
		{"FutureEventCountsFromReceipt", testFutureEventCountsFromReceipt},
		{"StaleScoreKeepsItsScale", testStaleScoreKeepsItsScale},
		{"MergedStageHistoryIsLabelled", testMergedStageHistoryIsLabelled},
		{"HandoffRoundRobin", testHandoffRoundRobin},
		{"HandoffSkipsAwayAndCapped", testHandoffSkipsAwayAndCapped},
		{"HandoffWithoutReps", testHandoffWithoutReps},
		{"RescoreHandsOffInTurn", testRescoreHandsOffInTurn},
		{"RescoreReplaysRecord", testRescoreReplaysRecord},
		{"RecycleAsReplayBegins", testRecycleAsReplayBegins},
		{"RescoreFromEvents", testRescoreFromEvents},
		{"UserValidation", testUserValidation},
		{"SalesActions", testSalesActions},
		{"BreachReassigns", testBreachReassigns},
		{"AcceptStopsTheClock", testAcceptStopsTheClock},
		{"WebhookOnHandoff", testWebhookOnHandoff},
		{"ChannelValidation", testChannelValidation},
		{"SLAReport", testSLAReport},
		{"EmailAndChatOnRejection", testEmailAndChatOnRejection},
		{"DeliveredAtOnce", testDeliveredAtOnce},
		{"MergeKeepsTheOwner", testMergeKeepsTheOwner},
		{"RescoreKeepsTheRecycle", testRescoreKeepsTheRecycle},
		{"PasswordsAndSessions", testPasswordsAndSessions},
		{"RequestDueInBusinessTime", testRequestDueInBusinessTime},
		{"RequestWorkflow", testRequestWorkflow},
		{"LeadsRequestCountsMQLs", testLeadsRequestCountsMQLs},
		{"StageFlows", testStageFlows},
		{"RequestListing", testRequestListing},
		{"OpportunityMovesItsPeople", testOpportunityMovesItsPeople},
		{"CampaignTouches", testCampaignTouches},
		{"Attribution", testAttribution},
		{"TouchesFromEarlierEvents", testTouchesFromEarlierEvents},
		{"AttributionByCurrency", testAttributionByCurrency},
		{"SourceConversion", testSourceConversion},
		{"TagsNoCampaignCanHave", testTagsNoCampaignCanHave},
		{"CampaignMembershipSurvivesMerge", testCampaignMembershipSurvivesMerge},
	}
	// sqlite-filed files the events by contact after every ingest (see filing.go), so
	// that merges, re-tags and reads meet filed events as well as unfiled ones.
	for _, engine := range []string{"sqlite", "sqlite-filed", "postgres"} {
		for _, tt := range tests {
			t.Run(engine+"/"+tt.name, func(t *testing.T) {
				tt.fn(t, mustOpen(t, engine))
			})
		}
	}
}

func testMigrateTwice(t *testing.T, db *store.DB) {
	n, err := db.Migrate(t.Context())
	if err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if n != 0 {
		t.Errorf("second Migrate applied %d migrations, want 0", n)
	}
}

func testAnonymousPagesMakeNoContact(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	out := mustIngest(t, db, pageMessage(src, "anon-1"), pageMessage(src, "anon-1"), pageMessage(src, "anon-2"))
	for i, o := range out {
		if o != tandem.Stored {
			t.Errorf("outcome %d = %v, want Stored", i, o)
		}
	}
	if n := mustCountContacts(t, db); n != 0 {
		t.Errorf("CountContacts = %d after anonymous page views, want 0", n)
	}
}

func testIdentifyLaterClaimsVisitorEvents(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	pages := []*tandem.Message{pageMessage(src, "anon-1"), pageMessage(src, "anon-1")}
	mustIngest(t, db, pages...)
	mustIngest(t, db, pageMessage(src, "anon-other"))
	id := identifyMessage(src, "user-1", "anon-1", map[string]any{"name": "Ada"})
	mustIngest(t, db, id)

	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	c := mustContactByUserID(t, db, "user-1")
	assertEventIDs(t, mustContactEvents(t, db, c.ID), pages[0], pages[1], id)

	// The visitor is known now: its next anonymous event is the contact's at once.
	later := pageMessage(src, "anon-1")
	mustIngest(t, db, later)
	assertEventIDs(t, mustContactEvents(t, db, c.ID), pages[0], pages[1], id, later)
}

func testIdentifyInSameIngestClaimsVisitorEvents(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	msgs := []*tandem.Message{
		pageMessage(src, "anon-1"),
		pageMessage(src, "anon-2"),
		pageMessage(src, "anon-1"),
		identifyMessage(src, "user-1", "anon-1", nil),
		pageMessage(src, "anon-1"),
	}
	mustIngest(t, db, msgs...)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	c := mustContactByUserID(t, db, "user-1")
	assertEventIDs(t, mustContactEvents(t, db, c.ID), msgs[0], msgs[2], msgs[3], msgs[4])
}

func testVisitorTraitsCarryOver(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "", "anon-1", map[string]any{"title": "VP Marketing", "plan": "free"}))
	if n := mustCountContacts(t, db); n != 0 {
		t.Fatalf("CountContacts = %d after an anonymous identify, want 0", n)
	}
	mustIngest(t, db, identifyMessage(src, "user-1", "anon-1", map[string]any{"plan": "pro"}))
	c := mustContactByUserID(t, db, "user-1")
	want := map[string]any{"title": "VP Marketing", "plan": "pro"}
	if !mapsEqual(c.Traits, want) {
		t.Errorf("traits = %v, want %v", c.Traits, want)
	}
}

func testAnonymousIdentifyOfKnownVisitor(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "anon-1", map[string]any{"plan": "free"}))
	mustIngest(t, db, identifyMessage(src, "", "anon-1", map[string]any{"plan": "pro"}))
	c := mustContactByUserID(t, db, "user-1")
	if got := c.Traits["plan"]; got != "pro" {
		t.Errorf("plan = %v after the known visitor identified anonymously, want pro", got)
	}
	if n := mustCountContacts(t, db); n != 1 {
		t.Errorf("CountContacts = %d, want 1", n)
	}
}

func testUserIDMakesContact(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	m := trackMessage(src, "user-1", "", "Signed Up")
	mustIngest(t, db, m)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	c := mustContactByUserID(t, db, "user-1")
	if c.Email != "" || c.AccountID != nil {
		t.Errorf("contact = email %q, account %v; want neither", c.Email, c.AccountID)
	}
	got := mustContact(t, db, c.ID)
	if !slices.Equal(got.UserIDs, []string{"user-1"}) {
		t.Errorf("UserIDs = %v, want [user-1]", got.UserIDs)
	}
	assertEventIDs(t, mustContactEvents(t, db, c.ID), m)
}

func testEmailMakesAndJoinsContact(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	id := identifyMessage(src, "", "anon-1", map[string]any{"email": "Ada@Acme.test"})
	mustIngest(t, db, id)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d after an identify with an email, want 1", n)
	}
	c := mustContactByEmail(t, db, "ada@acme.test")

	// Another browser, the same person: the email in context.traits joins the contact.
	tr := trackMessage(src, "", "anon-2", "Webinar Registered")
	tr.Context = json.RawMessage(`{"traits":{"email":"ada@acme.test"}}`)
	tr.Email = "ada@acme.test"
	pg := pageMessage(src, "anon-2")
	mustIngest(t, db, tr, pg)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	assertEventIDs(t, mustContactEvents(t, db, c.ID), id, tr, pg)

	// An email in context.traits alone makes a contact too.
	other := trackMessage(src, "", "anon-3", "Ebook Downloaded")
	other.Context = json.RawMessage(`{"traits":{"email":"grace@globex.test"}}`)
	other.Email = "grace@globex.test"
	mustIngest(t, db, other)
	assertEventIDs(t, mustContactEvents(t, db, mustContactByEmail(t, db, "grace@globex.test").ID), other)
}

func testIdentifyChangesEmail(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"}))
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@initech.test"}))
	c := mustContactByUserID(t, db, "user-1")
	if c.Email != "ada@initech.test" {
		t.Errorf("Email = %q after identify changed it, want ada@initech.test", c.Email)
	}
	if got := mustContactByEmail(t, db, "ada@initech.test"); got.ID != c.ID {
		t.Errorf("contact of the new address = %d, want %d", got.ID, c.ID)
	}
	// The old address no longer names Ada: whoever identifies with it next (a typo
	// corrected, an inbox handed on) is someone else, not merged into her.
	mustIngest(t, db, identifyMessage(src, "user-2", "", map[string]any{"email": "ada@acme.test"}))
	if n := mustCountContacts(t, db); n != 2 {
		t.Errorf("CountContacts = %d after another user took the old address, want 2", n)
	}
	if got := mustContactByUserID(t, db, "user-1"); got.Email != "ada@initech.test" {
		t.Errorf("Ada's email = %q, want ada@initech.test", got.Email)
	}
}

func testUserAndEmailContactsMerge(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	byUser := trackMessage(src, "user-1", "", "Signed Up")
	byEmail := identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test", "title": "CTO"})
	mustIngest(t, db, byUser)
	mustIngest(t, db, byEmail)
	if n := mustCountContacts(t, db); n != 2 {
		t.Fatalf("CountContacts = %d before the link, want 2", n)
	}
	userContact := mustContactByUserID(t, db, "user-1").ID
	emailContact := mustContactByEmail(t, db, "ada@acme.test").ID

	link := identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"})
	mustIngest(t, db, link)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d after the link, want 1", n)
	}
	survivor := mustContactByUserID(t, db, "user-1")
	if survivor.Email != "ada@acme.test" || survivor.Traits["title"] != "CTO" {
		t.Errorf("survivor = email %q, traits %v; want ada@acme.test with the title", survivor.Email, survivor.Traits)
	}
	if survivor.AccountID == nil {
		t.Errorf("survivor has no account; want that of acme.test")
	}
	for _, old := range []int64{userContact, emailContact} {
		c := mustContact(t, db, old)
		if c.ID != survivor.ID {
			t.Errorf("Contact(%d).ID = %d, want the survivor %d", old, c.ID, survivor.ID)
		}
		assertEventIDs(t, mustContactEvents(t, db, old), byUser, byEmail, link)
	}

	// Later events of either identity land on the survivor.
	after := pageMessage(src, "anon-1")
	mustIngest(t, db, after)
	assertEventIDs(t, mustContactEvents(t, db, survivor.ID), byUser, byEmail, link, after)

	// The same story told in one call.
	story := []*tandem.Message{
		trackMessage(src, "user-2", "", "Signed Up"),
		identifyMessage(src, "", "anon-2", map[string]any{"email": "bob@acme.test"}),
		pageMessage(src, "anon-2"),
		identifyMessage(src, "user-2", "", map[string]any{"email": "bob@acme.test"}),
	}
	mustIngest(t, db, story...)
	if n := mustCountContacts(t, db); n != 2 {
		t.Fatalf("CountContacts = %d after a second person, want 2", n)
	}
	bob := mustContactByUserID(t, db, "user-2")
	if got := mustContactByEmail(t, db, "bob@acme.test"); got.ID != bob.ID {
		t.Errorf("contact of bob@acme.test = %d, want that of user-2, %d", got.ID, bob.ID)
	}
	assertEventIDs(t, mustContactEvents(t, db, bob.ID), story...)
}

func testMergedIDNeverReused(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, trackMessage(src, "user-1", "", "Signed Up"))
	mustIngest(t, db, identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test"}))
	loser := mustContactByEmail(t, db, "ada@acme.test").ID
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"}))
	survivor := mustContactByUserID(t, db, "user-1").ID
	if survivor == loser {
		t.Fatalf("the newer contact %d survived; the test needs the newest id merged away", loser)
	}

	mustIngest(t, db, trackMessage(src, "user-2", "", "Signed Up"))
	bob := mustContactByUserID(t, db, "user-2")
	if bob.ID == loser {
		t.Errorf("a new contact got id %d, which a merged contact had", bob.ID)
	}
	if got := mustContact(t, db, bob.ID); !slices.Equal(got.UserIDs, []string{"user-2"}) {
		t.Errorf("Contact(%d).UserIDs = %v, want [user-2]", bob.ID, got.UserIDs)
	}
	if got := mustContact(t, db, loser); got.ID != survivor {
		t.Errorf("Contact(%d).ID = %d, want the survivor %d", loser, got.ID, survivor)
	}
}

func testAliasAnonymousID(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	pages := []*tandem.Message{pageMessage(src, "anon-1"), pageMessage(src, "anon-1"), pageMessage(src, "anon-2")}
	mustIngest(t, db, pages...)
	// Sent from a second browser of the same person, as analytics.js sends it.
	alias := aliasMessage(src, "anon-1", "user-1")
	alias.AnonymousID = "anon-2"
	mustIngest(t, db, alias)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	c := mustContactByUserID(t, db, "user-1")
	assertEventIDs(t, mustContactEvents(t, db, c.ID), pages[0], pages[1], pages[2], alias)
}

func testAliasEarlierUserID(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	first := identifyMessage(src, "old-id", "", map[string]any{"title": "CTO"})
	second := trackMessage(src, "new-id", "", "Logged In")
	mustIngest(t, db, first)
	mustIngest(t, db, second)
	oldContact := mustContactByUserID(t, db, "old-id").ID
	newContact := mustContactByUserID(t, db, "new-id").ID

	alias := aliasMessage(src, "old-id", "new-id")
	mustIngest(t, db, alias)
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d after the alias, want 1", n)
	}
	c := mustContactByUserID(t, db, "new-id")
	if !slices.Equal(c.UserIDs, []string{"new-id", "old-id"}) {
		t.Errorf("UserIDs = %v, want [new-id old-id]", c.UserIDs)
	}
	if c.Traits["title"] != "CTO" {
		t.Errorf("traits = %v, want the title of the merged contact", c.Traits)
	}
	for _, id := range []int64{oldContact, newContact} {
		if got := mustContact(t, db, id); got.ID != c.ID {
			t.Errorf("Contact(%d).ID = %d, want %d", id, got.ID, c.ID)
		}
		assertEventIDs(t, mustContactEvents(t, db, id), first, second, alias)
	}

	// An alias to a user id seen for the first time keeps the contact.
	mustIngest(t, db, aliasMessage(src, "new-id", "newest-id"))
	if got := mustContactByUserID(t, db, "newest-id"); got.ID != c.ID {
		t.Errorf("contact of newest-id = %d, want %d", got.ID, c.ID)
	}
	if n := mustCountContacts(t, db); n != 1 {
		t.Errorf("CountContacts = %d after the second alias, want 1", n)
	}
}

func testMessageIDDedupe(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	other := mustCreateSource(t, db)
	m := trackMessage(src, "user-1", "", "Signed Up")
	again := *m
	got := mustIngest(t, db, m, &again)
	if want := []tandem.Outcome{tandem.Stored, tandem.Duplicate}; !slices.Equal(got, want) {
		t.Errorf("outcomes of one id twice in one call = %v, want %v", got, want)
	}
	later := *m
	if got := mustIngest(t, db, &later); !slices.Equal(got, []tandem.Outcome{tandem.Duplicate}) {
		t.Errorf("outcome of the id in a later call = %v, want [Duplicate]", got)
	}
	fromOther := *m
	fromOther.SourceID = other
	if got := mustIngest(t, db, &fromOther); !slices.Equal(got, []tandem.Outcome{tandem.Stored}) {
		t.Errorf("outcome of the id from another source = %v, want [Stored]", got)
	}
	evs := mustContactEvents(t, db, mustContactByUserID(t, db, "user-1").ID)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2 (one per source)", len(evs))
	}
	sources := []int64{evs[0].SourceID, evs[1].SourceID}
	slices.Sort(sources)
	if want := []int64{min(src, other), max(src, other)}; !slices.Equal(sources, want) {
		t.Errorf("event sources = %v, want %v", sources, want)
	}
}

// testDuplicatesAmongManyMessages sends a call larger than one statement of the store's
// inserts, with copies of messages of the same call (on either side of a statement's
// end) and retries of messages stored before, and checks each message's outcome.
func testDuplicatesAmongManyMessages(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	var before []*tandem.Message
	for i := range 20 {
		before = append(before, trackMessage(src, fmt.Sprintf("user-%d", i%5), "", "Signed Up"))
	}
	mustIngest(t, db, before...)
	var msgs []*tandem.Message
	var want []tandem.Outcome
	for i := range 260 {
		switch {
		case i%13 == 12:
			retry := *before[i%len(before)]
			msgs = append(msgs, &retry)
			want = append(want, tandem.Duplicate)
		case i%7 == 6:
			again := *msgs[i-6+i%5] // sent earlier in this call
			msgs = append(msgs, &again)
			want = append(want, tandem.Duplicate)
		default:
			msgs = append(msgs, trackMessage(src, fmt.Sprintf("user-%d", i%9), "", "Pricing Viewed"))
			want = append(want, tandem.Stored)
		}
	}
	got := mustIngest(t, db, msgs...)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("outcome of message %d = %v, want %v", i, got[i], want[i])
		}
	}
	stored := 0
	for _, o := range want {
		if o == tandem.Stored {
			stored++
		}
	}
	n, err := db.CountEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(before) + stored); n != want {
		t.Errorf("CountEvents = %d, want %d", n, want)
	}
}

func testRetriedIdentifyChangesNothing(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	first := identifyMessage(src, "user-1", "", map[string]any{"plan": "free"})
	mustIngest(t, db, first)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"plan": "pro"}))
	// A client that timed out sends its old message again.
	retry := *first
	if got := mustIngest(t, db, &retry); !slices.Equal(got, []tandem.Outcome{tandem.Duplicate}) {
		t.Fatalf("outcome of the retry = %v, want [Duplicate]", got)
	}
	if got := mustContactByUserID(t, db, "user-1").Traits["plan"]; got != "pro" {
		t.Errorf("plan = %v after a retried old identify, want pro", got)
	}
}

func testCompanyDomainAccount(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test", "company": "Acme"}))
	mustIngest(t, db,
		identifyMessage(src, "user-2", "", map[string]any{"email": "bob@acme.test"}),
		identifyMessage(src, "user-3", "", map[string]any{"email": "eve@globex.test"}),
	)
	ada, bob, eve := mustContactByUserID(t, db, "user-1"), mustContactByUserID(t, db, "user-2"), mustContactByUserID(t, db, "user-3")
	if ada.AccountID == nil || bob.AccountID == nil || eve.AccountID == nil {
		t.Fatalf("accounts = %v, %v, %v; want all set", ada.AccountID, bob.AccountID, eve.AccountID)
	}
	if *ada.AccountID != *bob.AccountID {
		t.Errorf("colleagues at acme.test have accounts %d and %d, want one", *ada.AccountID, *bob.AccountID)
	}
	if *eve.AccountID == *ada.AccountID {
		t.Errorf("globex.test and acme.test share account %d", *eve.AccountID)
	}
	a := mustAccount(t, db, *ada.AccountID)
	if a.Domain != "acme.test" || a.Name != "Acme" {
		t.Errorf("account = domain %q, name %q; want acme.test, Acme", a.Domain, a.Name)
	}
	members, err := db.Contacts(t.Context(), tandem.ContactFilter{AccountID: a.ID}, tandem.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if got := contactIDs(members); !slices.Equal(got, []int64{ada.ID, bob.ID}) {
		t.Errorf("contacts of the account = %v, want %v", got, []int64{ada.ID, bob.ID})
	}
}

func testFreeMailNoAccount(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db,
		identifyMessage(src, "user-1", "", map[string]any{"email": "carol@gmail.com"}),
		identifyMessage(src, "user-2", "", map[string]any{"email": "dan@yahoo.co.uk"}),
		identifyMessage(src, "user-3", "", map[string]any{"email": "erin@gmail.com"}),
	)
	for _, u := range []string{"user-1", "user-2", "user-3"} {
		if c := mustContactByUserID(t, db, u); c.AccountID != nil {
			t.Errorf("%s (%s) has account %d, want none for free mail", u, c.Email, *c.AccountID)
		}
	}
}

func testGroupCreatesAccount(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@gmail.com"}))
	mustIngest(t, db, groupMessage(src, "user-1", "org-42", map[string]any{
		"name": "Initech", "website": "https://www.initech.test/about", "employees": 250,
	}))
	c := mustContactByUserID(t, db, "user-1")
	if c.AccountID == nil {
		t.Fatal("the contact has no account after a group call")
	}
	a := mustAccount(t, db, *c.AccountID)
	if a.Name != "Initech" || a.Domain != "initech.test" || a.GroupID != "org-42" || a.Traits["employees"] != 250.0 {
		t.Errorf("account = name %q, domain %q, group %q, traits %v; want Initech, initech.test, org-42, 250 employees",
			a.Name, a.Domain, a.GroupID, a.Traits)
	}

	// A later group call updates the account; a colleague joins it by domain.
	mustIngest(t, db,
		groupMessage(src, "user-1", "org-42", map[string]any{"employees": 300, "plan": "enterprise"}),
		identifyMessage(src, "user-2", "", map[string]any{"email": "bob@initech.test"}),
	)
	a = mustAccount(t, db, *c.AccountID)
	if a.Name != "Initech" || a.Traits["employees"] != 300.0 || a.Traits["plan"] != "enterprise" || a.Traits["website"] == nil {
		t.Errorf("account after update = name %q, traits %v; want Initech, 300 employees, the plan and website kept", a.Name, a.Traits)
	}
	if bob := mustContactByUserID(t, db, "user-2"); bob.AccountID == nil || *bob.AccountID != a.ID {
		t.Errorf("colleague's account = %v, want %d", bob.AccountID, a.ID)
	}
}

func testGroupAttachesToDomainAccount(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "ada@acme.test"}))
	acc := mustContactByUserID(t, db, "user-1").AccountID
	if acc == nil {
		t.Fatal("no account for acme.test")
	}
	mustIngest(t, db, groupMessage(src, "user-2", "acme-crm-1", map[string]any{"name": "Acme Corp", "domain": "acme.test"}))
	a := mustAccount(t, db, *acc)
	if a.GroupID != "acme-crm-1" || a.Name != "Acme Corp" || a.Domain != "acme.test" {
		t.Errorf("domain account after group = group %q, name %q, domain %q; want acme-crm-1, Acme Corp, acme.test", a.GroupID, a.Name, a.Domain)
	}
	if c := mustContactByUserID(t, db, "user-2"); c.AccountID == nil || *c.AccountID != *acc {
		t.Errorf("group member's account = %v, want %d", c.AccountID, *acc)
	}
}

func testAnonymousGroup(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	g := groupMessage(src, "", "org-7", map[string]any{"name": "Globex", "domain": "globex.test"})
	g.AnonymousID = "anon-1"
	mustIngest(t, db, g)
	if n := mustCountContacts(t, db); n != 0 {
		t.Fatalf("CountContacts = %d after an anonymous group call, want 0", n)
	}
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"email": "hank@globex.test"}))
	c := mustContactByUserID(t, db, "user-1")
	if c.AccountID == nil {
		t.Fatal("the contact has no account")
	}
	if a := mustAccount(t, db, *c.AccountID); a.Name != "Globex" || a.GroupID != "org-7" {
		t.Errorf("account = name %q, group %q; want the one of the anonymous group call", a.Name, a.GroupID)
	}
}

// testAnonymousGroupFollowsVisitor: the company a visitor named while anonymous is
// theirs once they identify, even with a free-mail address that matches no domain.
func testAnonymousGroupFollowsVisitor(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	g := groupMessage(src, "", "org-7", map[string]any{"name": "Globex"})
	g.AnonymousID = "anon-1"
	mustIngest(t, db, g)
	mustIngest(t, db, identifyMessage(src, "user-1", "anon-1", map[string]any{"email": "hank@gmail.com"}))
	c := mustContactByUserID(t, db, "user-1")
	if c.AccountID == nil {
		t.Fatal("the contact has no account, want Globex from the anonymous group call")
	}
	if a := mustAccount(t, db, *c.AccountID); a.GroupID != "org-7" {
		t.Errorf("account group = %q, want org-7", a.GroupID)
	}
}

// testSignupAfterNewsletter: a visitor gives an email (a newsletter form), then signs
// up and gets a user id. That is one person.
func testSignupAfterNewsletter(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test"}))
	mustIngest(t, db, identifyMessage(src, "user-9", "anon-1", map[string]any{"plan": "trial"}))
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	if c := mustContactByUserID(t, db, "user-9"); c.Email != "ada@acme.test" || c.Traits["plan"] != "trial" {
		t.Errorf("contact = %s %v, want ada@acme.test with plan trial", c.Email, c.Traits)
	}
}

// testAliasOfEmailOnlyVisitor: alias from an anonymous id whose profile became a
// contact by email joins that contact to the user id.
func testAliasOfEmailOnlyVisitor(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "", "anon-1", map[string]any{"email": "ada@acme.test"}))
	a := aliasMessage(src, "anon-1", "user-9")
	a.AnonymousID = "anon-1"
	mustIngest(t, db, a)
	mustIngest(t, db, trackMessage(src, "user-9", "", "Trial Started"))
	if n := mustCountContacts(t, db); n != 1 {
		t.Fatalf("CountContacts = %d, want 1", n)
	}
	if c := mustContactByUserID(t, db, "user-9"); c.Email != "ada@acme.test" {
		t.Errorf("user-9's email = %q, want ada@acme.test", c.Email)
	}
}

// testSharedDeviceKeepsPeopleApart: a second person signing in on a browser that
// belongs to someone with a user id is someone else.
func testSharedDeviceKeepsPeopleApart(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "anon-1", map[string]any{"email": "ada@acme.test"}))
	mustIngest(t, db, identifyMessage(src, "user-2", "anon-1", map[string]any{"email": "bob@acme.test"}))
	if n := mustCountContacts(t, db); n != 2 {
		t.Fatalf("CountContacts = %d, want 2", n)
	}
	if c := mustContactByUserID(t, db, "user-1"); c.Email != "ada@acme.test" {
		t.Errorf("user-1's email = %q, want ada@acme.test", c.Email)
	}
}

func testIdentifyTraitsMerge(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	mustIngest(t, db, identifyMessage(src, "user-1", "", map[string]any{"plan": "free", "title": "Engineer"}))
	mustIngest(t, db,
		identifyMessage(src, "user-1", "", map[string]any{"plan": "pro", "country": "US"}),
		identifyMessage(src, "user-1", "", map[string]any{"title": "CTO"}),
	)
	want := map[string]any{"plan": "pro", "title": "CTO", "country": "US"}
	if got := mustContactByUserID(t, db, "user-1").Traits; !mapsEqual(got, want) {
		t.Errorf("traits = %v, want %v", got, want)
	}
}

func testContactsPagination(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	var msgs []*tandem.Message
	for i := range 5 {
		msgs = append(msgs, identifyMessage(src, fmt.Sprintf("user-%d", i), "", map[string]any{"email": fmt.Sprintf("p%d@acme.test", i)}))
	}
	mustIngest(t, db, msgs...)
	var all []int64
	page := tandem.Page{Limit: 2}
	for range 10 {
		list, err := db.Contacts(t.Context(), tandem.ContactFilter{}, page)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > 2 {
			t.Fatalf("page of %d contacts, want at most 2", len(list))
		}
		if len(list) == 0 {
			break
		}
		all = append(all, contactIDs(list)...)
		page.After = list[len(list)-1].ID
	}
	if len(all) != 5 || !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != 5 {
		t.Errorf("paged contact ids = %v, want 5 distinct in ascending order", all)
	}

	list, err := db.Contacts(t.Context(), tandem.ContactFilter{Email: " P3@Acme.TEST "}, tandem.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Email != "p3@acme.test" || !slices.Equal(list[0].UserIDs, []string{"user-3"}) {
		t.Errorf("Contacts(email P3@Acme.TEST) = %v, want the one of user-3", list)
	}
	list, err = db.Contacts(t.Context(), tandem.ContactFilter{Email: "nobody@acme.test"}, tandem.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("Contacts(unknown email) returned %d contacts, want 0", len(list))
	}
}

func testContactEventsPaging(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	var msgs []*tandem.Message
	// Two events share a time, so paging must break ties by id.
	for _, minute := range []int{1, 5, 3, 3, 2, 4} {
		m := trackMessage(src, "user-1", "", "Viewed")
		m.Timestamp = t0.Add(time.Duration(minute) * time.Minute)
		msgs = append(msgs, m)
	}
	mustIngest(t, db, msgs...)
	c := mustContactByUserID(t, db, "user-1")

	var got []*tandem.Event
	p := tandem.Page{Limit: 2}
	for range 10 {
		evs, err := db.ContactEvents(t.Context(), c.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		got = append(got, evs...)
		last := evs[len(evs)-1]
		p.After, p.AfterTime = last.ID, last.Timestamp
	}
	if len(got) != len(msgs) {
		t.Fatalf("paged %d events, want %d", len(got), len(msgs))
	}
	for i := 1; i < len(got); i++ {
		a, b := got[i-1], got[i]
		if a.Timestamp.Before(b.Timestamp) || a.Timestamp.Equal(b.Timestamp) && a.ID < b.ID {
			t.Errorf("event %d (%v, id %d) comes before event %d (%v, id %d): want newest first", i-1, a.Timestamp, a.ID, i, b.Timestamp, b.ID)
		}
	}
	if !got[0].Timestamp.Equal(t0.Add(5*time.Minute)) || got[0].ContactID == nil || *got[0].ContactID != c.ID {
		t.Errorf("newest event = %v of contact %v, want %v of %d", got[0].Timestamp, got[0].ContactID, t0.Add(5*time.Minute), c.ID)
	}
	assertEventIDs(t, got, msgs...)
}

func testMessageWithoutPayload(t *testing.T, db *store.DB) {
	src := mustCreateSource(t, db)
	m := trackMessage(src, "user-1", "", "Signed Up")
	m.Properties, m.Context = nil, nil
	mustIngest(t, db, m)
	evs := mustContactEvents(t, db, mustContactByUserID(t, db, "user-1").ID)
	if len(evs) != 1 || string(evs[0].Properties) != "{}" || string(evs[0].Context) != "{}" {
		t.Fatalf("events = %v, want one with empty properties and context", evs)
	}
}

func testReplaceTokenRevokesOldSecret(t *testing.T, db *store.DB) {
	ctx := t.Context()
	const name = "admin (configured)"
	other, otherSecret, err := db.CreateToken(ctx, "reporting", tandem.RoleMarketing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceToken(ctx, name, tandem.RoleAdmin, "first-secret-0123456789"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ReplaceToken(ctx, name, tandem.RoleAdmin, "first-secret-0123456789"); err != nil {
		t.Fatalf("the same secret again: %v", err)
	}
	if _, err := db.Authenticate(ctx, "first-secret-0123456789"); err != nil {
		t.Fatalf("first secret: %v", err)
	}
	if _, err := db.ReplaceToken(ctx, name, tandem.RoleAdmin, "second-secret-0123456789"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(ctx, "first-secret-0123456789"); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("old secret after replacing: err = %v, want unauthorized", err)
	}
	if tok, err := db.Authenticate(ctx, "second-secret-0123456789"); err != nil || tok.Role != tandem.RoleAdmin {
		t.Errorf("new secret: %v, %v", tok, err)
	}
	if tok, err := db.Authenticate(ctx, otherSecret); err != nil || tok.ID != other.ID {
		t.Errorf("a token of another name: %v, %v; want it untouched", tok, err)
	}
}

func testTokens(t *testing.T, db *store.DB) {
	ctx := t.Context()
	tok, secret, err := db.CreateToken(ctx, "ci", tandem.RoleMarketing)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Authenticate(ctx, secret)
	if err != nil {
		t.Fatalf("Authenticate with the new secret: %v", err)
	}
	if got.ID != tok.ID || got.Role != tandem.RoleMarketing || got.Name != "ci" {
		t.Errorf("Authenticate = %+v, want %+v", got, tok)
	}
	if _, err := db.Authenticate(ctx, secret+"x"); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("Authenticate with a wrong secret: error %v, want code %s", err, tandem.EUnauthorized)
	}
	for _, tc := range []struct {
		name, secret string
		role         tandem.Role
	}{
		{"bad role", "0123456789abcdef", "owner"},
		{"no role", "0123456789abcdef", ""},
		{"short secret", "short", tandem.RoleAdmin},
		{"", "0123456789abcdef", tandem.RoleAdmin},
	} {
		if _, err := db.EnsureToken(ctx, tc.name, tc.role, tc.secret); tandem.ErrorCode(err) != tandem.EInvalid {
			t.Errorf("EnsureToken(%q, %q): error %v, want code %s", tc.name, tc.role, err, tandem.EInvalid)
		}
	}
	if _, _, err := db.CreateToken(ctx, "x", "owner"); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("CreateToken with role owner: error %v, want code %s", err, tandem.EInvalid)
	}

	const bootstrap = "bootstrap-secret-0123456789"
	first, err := db.EnsureToken(ctx, "admin", tandem.RoleAdmin, bootstrap)
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.EnsureToken(ctx, "admin", tandem.RoleAdmin, bootstrap)
	if err != nil {
		t.Fatalf("second EnsureToken: %v", err)
	}
	if second.ID != first.ID {
		t.Errorf("EnsureToken twice made tokens %d and %d, want one", first.ID, second.ID)
	}
	if got, err := db.Authenticate(ctx, bootstrap); err != nil || got.ID != first.ID || got.Role != tandem.RoleAdmin {
		t.Errorf("Authenticate(bootstrap) = %+v, %v; want token %d", got, err, first.ID)
	}
}

func testSources(t *testing.T, db *store.DB) {
	ctx := t.Context()
	web, key, err := db.CreateSource(ctx, " Website ")
	if err != nil {
		t.Fatal(err)
	}
	app, _, err := db.CreateSource(ctx, "App")
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.SourceByWriteKey(ctx, key)
	if err != nil {
		t.Fatalf("SourceByWriteKey: %v", err)
	}
	if got.ID != web.ID || got.Name != "Website" || !got.CreatedAt.Equal(web.CreatedAt) {
		t.Errorf("SourceByWriteKey = %+v, want %+v", got, web)
	}
	if _, err := db.SourceByWriteKey(ctx, "wk_unknown"); tandem.ErrorCode(err) != tandem.EUnauthorized {
		t.Errorf("SourceByWriteKey(unknown): error %v, want code %s", err, tandem.EUnauthorized)
	}
	if _, _, err := db.CreateSource(ctx, "  "); tandem.ErrorCode(err) != tandem.EInvalid {
		t.Errorf("CreateSource(blank): error %v, want code %s", err, tandem.EInvalid)
	}
	list, err := db.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != web.ID || list[1].ID != app.ID {
		t.Errorf("Sources = %v, want [%d %d]", list, web.ID, app.ID)
	}
}

func testNotFound(t *testing.T, db *store.DB) {
	ctx := t.Context()
	if _, err := db.Contact(ctx, 999); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("Contact(999): error %v, want code %s", err, tandem.ENotFound)
	}
	if _, err := db.ContactEvents(ctx, 999, tandem.Page{}); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("ContactEvents(999): error %v, want code %s", err, tandem.ENotFound)
	}
	if _, err := db.Account(ctx, 999); tandem.ErrorCode(err) != tandem.ENotFound {
		t.Errorf("Account(999): error %v, want code %s", err, tandem.ENotFound)
	}
}

// TestPostgresConcurrentNodes ingests from two stores on one database, as two app nodes
// behind a load balancer do. In each round both nodes race to claim the same new user ids
// and emails, and one node merges the people of the round before while the other sends
// their events.
func TestPostgresConcurrentNodes(t *testing.T) {
	dsn := mustCreateSchema(t)
	nodes := []*store.DB{mustOpenDSN(t, dsn), mustOpenDSN(t, dsn)}
	src := mustCreateSource(t, nodes[0])

	const rounds, people = 30, 8
	user := func(r, k int) string { return fmt.Sprintf("u%d-%d", r, k) }
	email := func(r, k int) string { return fmt.Sprintf("p%d-%d@co%d.test", r, k, k%3) }
	anon := func(node string, r, k int) string { return fmt.Sprintf("%s%d-%d", node, r, k) }
	withEmail := func(m *tandem.Message, e string) *tandem.Message {
		m.Context, m.Email = json.RawMessage(`{"traits":{"email":"`+e+`"}}`), e
		return m
	}

	sent := map[string]bool{}  // message ids
	stored := map[string]int{} // message id → times stored
	for r := range rounds + 1 {
		batches := make([][]*tandem.Message, len(nodes))
		if r < rounds {
			for k := range people {
				j := people - 1 - k // the second node goes the other way round
				batches[0] = append(batches[0],
					pageMessage(src, anon("a", r, k)),
					identifyMessage(src, user(r, k), anon("a", r, k), map[string]any{"n": k}),
					withEmail(trackMessage(src, "", anon("c", r, k), "Ebook Downloaded"), email(r, k)))
				batches[1] = append(batches[1],
					trackMessage(src, user(r, j), "", "Logged In"),
					identifyMessage(src, "", anon("b", r, j), map[string]any{"email": email(r, j)}))
			}
			shared := trackMessage(src, user(r, 0), "", "Shared")
			batches[0] = append(batches[0], shared)
			batches[1] = append(batches[1], shared)
		}
		if r > 0 {
			// Until now each person of the round before was two contacts, one by user id
			// and one by email; the first node learns they are one.
			for k := range people {
				batches[0] = append(batches[0], identifyMessage(src, user(r-1, k), "", map[string]any{"email": email(r-1, k)}))
				batches[1] = append(batches[1],
					pageMessage(src, anon("a", r-1, k)),
					trackMessage(src, user(r-1, k), "", "Viewed"),
					pageMessage(src, anon("b", r-1, k)))
			}
		}
		for _, b := range batches {
			for _, m := range b {
				sent[m.MessageID] = true
			}
		}

		outs := make([][]tandem.Outcome, len(nodes))
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, node := range nodes {
			wg.Go(func() { outs[i], errs[i] = node.Ingest(t.Context(), batches[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, node %d: Ingest: %v", r, i, err)
			}
			for j, o := range outs[i] {
				if o == tandem.Stored {
					stored[batches[i][j].MessageID]++
				}
			}
		}
	}

	for id := range sent {
		if stored[id] != 1 {
			t.Errorf("message %s stored %d times, want once", id, stored[id])
		}
	}
	db := nodes[0]
	if n := mustCountContacts(t, db); n != rounds*people {
		t.Errorf("CountContacts = %d, want %d, one per person", n, rounds*people)
	}
	contacts, err := db.Contacts(t.Context(), tandem.ContactFilter{}, tandem.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	owners := map[string]int{} // user id → contacts that have it
	seen := map[string]int{}   // message id → contacts that have it
	for _, c := range contacts {
		for _, u := range c.UserIDs {
			owners[u]++
		}
		for _, e := range mustContactEvents(t, db, c.ID) {
			seen[e.MessageID]++
		}
	}
	for r := range rounds {
		for k := range people {
			if owners[user(r, k)] != 1 {
				t.Errorf("user id %s belongs to %d contacts, want 1", user(r, k), owners[user(r, k)])
				continue
			}
			if byUser, byEmail := mustContactByUserID(t, db, user(r, k)), mustContactByEmail(t, db, email(r, k)); byUser.ID != byEmail.ID {
				t.Errorf("user %s is contact %d but their email is contact %d", user(r, k), byUser.ID, byEmail.ID)
			}
		}
	}
	for id := range sent {
		if seen[id] != 1 {
			t.Errorf("message %s is among the events of %d contacts, want 1", id, seen[id])
		}
	}
}

// mustOpen opens a fresh, migrated store of the given engine, closed when tb ends.
func mustOpen(tb testing.TB, engine string) *store.DB {
	tb.Helper()
	switch engine {
	case "sqlite":
		return mustOpenDSN(tb, filepath.Join(tb.TempDir(), "tandem.db"))
	case "sqlite-filed":
		db := mustOpenDSN(tb, filepath.Join(tb.TempDir(), "tandem.db"))
		filing.Store(db, true)
		tb.Cleanup(func() { filing.Delete(db) })
		return db
	case "postgres":
		return mustOpenDSN(tb, mustCreateSchema(tb))
	}
	tb.Fatalf("unknown engine %q", engine)
	return nil
}

// mustOpenDSN opens and migrates the store at dsn, closed when tb ends.
func mustOpenDSN(tb testing.TB, dsn string) *store.DB {
	tb.Helper()
	// As an ingesting server opens it: for SQLite, with the identity cache.
	db, err := store.Open(context.Background(), dsn, store.Options{Ingester: true})
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return db
}

// mustCreateSchema creates an empty schema on the PostgreSQL server of TANDEM_TEST_POSTGRES,
// dropped when tb ends, and returns a URL whose search path selects it. It skips tb when
// the variable is unset.
func mustCreateSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		tb.Skipf("set %s to a postgres:// URL (such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests", postgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", postgresEnv, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("connect to postgres: %v", err)
	}
	tb.Cleanup(func() { admin.Close() })
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func mustCreateSource(tb testing.TB, db *store.DB) int64 {
	tb.Helper()
	s, _, err := db.CreateSource(context.Background(), "Website")
	if err != nil {
		tb.Fatalf("CreateSource: %v", err)
	}
	return s.ID
}

func mustIngest(tb testing.TB, db *store.DB, msgs ...*tandem.Message) []tandem.Outcome {
	tb.Helper()
	out, err := db.Ingest(context.Background(), msgs)
	if err != nil {
		tb.Fatalf("Ingest: %v", err)
	}
	if len(out) != len(msgs) {
		tb.Fatalf("Ingest returned %d outcomes for %d messages", len(out), len(msgs))
	}
	if _, ok := filing.Load(db); ok {
		if err := db.FileEvents(context.Background()); err != nil {
			tb.Fatalf("file events: %v", err)
		}
	}
	return out
}

// filing holds the stores whose events mustIngest files after each ingest.
var filing sync.Map

func mustCountContacts(tb testing.TB, db *store.DB) int64 {
	tb.Helper()
	n, err := db.CountContacts(context.Background())
	if err != nil {
		tb.Fatalf("CountContacts: %v", err)
	}
	return n
}

func mustContact(tb testing.TB, db *store.DB, id int64) *tandem.Contact {
	tb.Helper()
	c, err := db.Contact(context.Background(), id)
	if err != nil {
		tb.Fatalf("Contact(%d): %v", id, err)
	}
	return c
}

// mustContactByUserID finds the one contact that carries a user id.
func mustContactByUserID(tb testing.TB, db *store.DB, userID string) *tandem.Contact {
	tb.Helper()
	var found *tandem.Contact
	p := tandem.Page{Limit: 1000}
	for {
		list, err := db.Contacts(context.Background(), tandem.ContactFilter{}, p)
		if err != nil {
			tb.Fatalf("Contacts: %v", err)
		}
		for _, c := range list {
			if slices.Contains(c.UserIDs, userID) {
				if found != nil {
					tb.Fatalf("user id %s belongs to contacts %d and %d", userID, found.ID, c.ID)
				}
				found = c
			}
		}
		if len(list) < p.Limit {
			break
		}
		p.After = list[len(list)-1].ID
	}
	if found == nil {
		tb.Fatalf("no contact has user id %s", userID)
	}
	return found
}

func mustContactByEmail(tb testing.TB, db *store.DB, email string) *tandem.Contact {
	tb.Helper()
	list, err := db.Contacts(context.Background(), tandem.ContactFilter{Email: email}, tandem.Page{})
	if err != nil {
		tb.Fatalf("Contacts(email %s): %v", email, err)
	}
	if len(list) != 1 {
		tb.Fatalf("Contacts(email %s) returned %d contacts, want 1", email, len(list))
	}
	return list[0]
}

// mustContactEvents returns every event of a contact, newest first.
func mustContactEvents(tb testing.TB, db *store.DB, id int64) []*tandem.Event {
	tb.Helper()
	evs, err := db.ContactEvents(context.Background(), id, tandem.Page{Limit: 1000})
	if err != nil {
		tb.Fatalf("ContactEvents(%d): %v", id, err)
	}
	return evs
}

func mustAccount(tb testing.TB, db *store.DB, id int64) *tandem.Account {
	tb.Helper()
	a, err := db.Account(context.Background(), id)
	if err != nil {
		tb.Fatalf("Account(%d): %v", id, err)
	}
	return a
}

// assertEventIDs checks that evs are the events of exactly msgs, in any order.
func assertEventIDs(tb testing.TB, evs []*tandem.Event, msgs ...*tandem.Message) {
	tb.Helper()
	var got, want []string
	for _, e := range evs {
		got = append(got, e.MessageID)
	}
	for _, m := range msgs {
		want = append(want, m.MessageID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		tb.Errorf("events = %v, want %v", got, want)
	}
}

func contactIDs(list []*tandem.Contact) []int64 {
	ids := make([]int64, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

func mapsEqual(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// newMessage returns a message with a fresh id, as the ingest decoder would pass it on.
func newMessage(src int64, typ, userID, anonID string) *tandem.Message {
	return &tandem.Message{
		SourceID: src, Type: typ, MessageID: rand.Text(), UserID: userID, AnonymousID: anonID,
		Properties: json.RawMessage(`{}`), Context: json.RawMessage(`{}`), Timestamp: t0, ReceivedAt: t0,
	}
}

func pageMessage(src int64, anonID string) *tandem.Message {
	m := newMessage(src, tandem.TypePage, "", anonID)
	m.Name = "Pricing"
	m.Properties = json.RawMessage(`{"path":"/pricing"}`)
	return m
}

func trackMessage(src int64, userID, anonID, event string) *tandem.Message {
	m := newMessage(src, tandem.TypeTrack, userID, anonID)
	m.Event = event
	return m
}

// identifyMessage returns an identify call; its email, if any, comes from traits as the
// decoder takes it.
func identifyMessage(src int64, userID, anonID string, traits map[string]any) *tandem.Message {
	m := newMessage(src, tandem.TypeIdentify, userID, anonID)
	m.Traits = traits
	if e, ok := traits["email"].(string); ok {
		m.Email, _ = identity.Email(e)
	}
	return m
}

func groupMessage(src int64, userID, groupID string, traits map[string]any) *tandem.Message {
	m := newMessage(src, tandem.TypeGroup, userID, "")
	m.GroupID, m.Traits = groupID, traits
	return m
}

func aliasMessage(src int64, previousID, userID string) *tandem.Message {
	m := newMessage(src, tandem.TypeAlias, userID, "")
	m.PreviousID = previousID
	return m
}

// TestPostgresConcurrentMigrate starts two nodes on an empty database at once, as a
// rolling deploy does.
func TestPostgresConcurrentMigrate(t *testing.T) {
	dsn := mustCreateSchema(t)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			db, err := store.Open(t.Context(), dsn, store.Options{})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			_, errs[i] = db.Migrate(t.Context())
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
}

// TestSQLiteOneIngester: a second process ingesting into the same SQLite file would make
// the first one's identity cache wrong, so it is refused with a clear error, while
// processes that only read or create sources and tokens are let in.
func TestSQLiteOneIngester(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tandem.db")
	first := mustOpenDSN(t, path)
	_, err := store.Open(t.Context(), path, store.Options{Ingester: true})
	if err == nil || !strings.Contains(err.Error(), "another tandem process") {
		t.Fatalf("second ingester: err = %v, want a refusal naming the other process", err)
	}
	other, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("a process that does not ingest: %v", err)
	}
	if _, _, err := other.CreateSource(t.Context(), "website"); err != nil {
		t.Errorf("CreateSource beside an ingester: %v", err)
	}
	other.Close()
	first.Close()
	again, err := store.Open(t.Context(), path, store.Options{Ingester: true})
	if err != nil {
		t.Fatalf("ingester after the first closed: %v", err)
	}
	again.Close()
}
