package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// What the JSON API answers, as a client reads it.
type (
	apiContact struct {
		ID        int64          `json:"id"`
		Email     string         `json:"email"`
		UserIDs   []string       `json:"user_ids"`
		Traits    map[string]any `json:"traits"`
		AccountID *int64         `json:"account_id"`
	}
	apiEvent struct {
		ID          int64          `json:"id"`
		Type        string         `json:"type"`
		Event       string         `json:"event"`
		Name        string         `json:"name"`
		UserID      string         `json:"user_id"`
		AnonymousID string         `json:"anonymous_id"`
		ContactID   *int64         `json:"contact_id"`
		Properties  map[string]any `json:"properties"`
		Timestamp   time.Time      `json:"timestamp"`
	}
	apiAccount struct {
		ID       int64          `json:"id"`
		Domain   string         `json:"domain"`
		GroupID  string         `json:"group_id"`
		Name     string         `json:"name"`
		Traits   map[string]any `json:"traits"`
		Contacts []apiContact   `json:"contacts"`
	}
	apiList[T any] struct {
		Data       []T     `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
)

// person is someone e2e/segment/send.mjs sends activity for; the two must agree.
type person struct {
	userID, anonymousID         string
	email, name, title, company string
	events                      []string // what their timeline holds, as type:name or type:event
}

var (
	ada = person{
		userID: "user-ada", anonymousID: "anon-ada-browser",
		email: "ada.park@northwind-analytics.com", name: "Ada Park", title: "VP Marketing", company: "Northwind Analytics",
		events: []string{"page:Pricing", "identify", "track:Demo Requested", "group"},
	}
	ben = person{
		userID: "user-ben", anonymousID: "anon-ben-browser",
		email: "ben.okafor@northwind-analytics.com", name: "Ben Okafor", title: "Sales Engineer", company: "Northwind Analytics",
		events: []string{"page:Integrations", "identify", "page:Docs", "track:Webinar Registered"},
	}
	cleo = person{
		userID: "user-cleo", anonymousID: "anon-cleo-browser",
		email: "cleo.marsh@gmail.com", name: "Cleo Marsh", title: "Freelance Designer", company: "Marsh Studio",
		events: []string{"identify", "page:Templates", "track:Newsletter Subscribed"},
	}
)

// segmentDir is where the Node.js sender and its package.json live.
func segmentDir() string { return filepath.Join(moduleRoot, "e2e", "segment") }

// mustFindNode returns the node command, skipping the test when Node.js or the Segment
// library is not installed; under CI, where both must be, it fails instead.
func mustFindNode(tb testing.TB) string {
	tb.Helper()
	skip := tb.Skipf
	if os.Getenv("CI") != "" {
		skip = tb.Fatalf
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node is not installed: this test runs Segment's Node.js client library (Node.js 20 or later)")
	}
	if _, err := os.Stat(filepath.Join(segmentDir(), "node_modules", "@segment", "analytics-node")); err != nil {
		skip("e2e/segment/node_modules is absent: run npm ci in e2e/segment")
	}
	return node
}

// TestSegmentClient has Segment's own Node.js library deliver a morning of website
// activity, then reads through the JSON API what a marketer would look at: who the people
// are, what they did, and which company they work for.
func TestSegmentClient(t *testing.T) {
	node := mustFindNode(t)
	srv := startServer(t, filepath.Join(t.TempDir(), "tandem.db"))
	key := mustCreateSource(t, srv, "website")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "send.mjs", "--host", srv.URL, "--write-key", key)
	cmd.Dir = segmentDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node send.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
	}
	var sent struct {
		Calls        int            `json:"calls"`
		Acknowledged int            `json:"acknowledged"`
		Requests     int            `json:"requests"`
		Events       int            `json:"events"`
		Statuses     map[string]int `json:"statuses"`
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sent); err != nil {
		t.Fatalf("send.mjs printed no summary: %v\nstdout:\n%s", err, stdout.Bytes())
	}
	t.Logf("send.mjs: %s", lines[len(lines)-1])
	if sent.Requests < 3 {
		t.Errorf("the library made %d /v1/batch requests; the scenario should span several", sent.Requests)
	}
	if sent.Statuses["200"] != sent.Requests {
		t.Errorf("answers to the library's %d requests: %v; want all 200", sent.Requests, sent.Statuses)
	}
	if sent.Events != sent.Calls {
		t.Errorf("the library sent %d events for %d calls; want one each (no retries)", sent.Events, sent.Calls)
	}

	// Each identified person is one contact, found by email whatever its case, with
	// the traits they gave.
	contacts := map[string]apiContact{}
	for _, p := range []person{ada, ben, cleo} {
		var got apiList[apiContact]
		srv.mustGet(t, "/api/v1/contacts?email="+url.QueryEscape(strings.ToUpper(p.email[:1])+p.email[1:]), &got)
		if len(got.Data) != 1 {
			t.Errorf("contacts with email %s: %d, want 1: %+v", p.email, len(got.Data), got.Data)
			continue
		}
		c := got.Data[0]
		contacts[p.userID] = c
		if c.Email != p.email {
			t.Errorf("contact %d: email %q, want %q", c.ID, c.Email, p.email)
		}
		if !slices.Equal(c.UserIDs, []string{p.userID}) {
			t.Errorf("contact %s: user ids %q, want [%s]", p.email, c.UserIDs, p.userID)
		}
		for k, want := range map[string]string{"email": p.email, "name": p.name, "title": p.title, "company": p.company} {
			if got := c.Traits[k]; got != want {
				t.Errorf("contact %s: trait %s = %v, want %q", p.email, k, got, want)
			}
		}
		// The same contact again by id.
		var byID apiContact
		srv.mustGet(t, "/api/v1/contacts/"+strconv.FormatInt(c.ID, 10), &byID)
		if byID.Email != p.email {
			t.Errorf("GET /api/v1/contacts/%d: email %q, want %q", c.ID, byID.Email, p.email)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Each timeline holds that person's events and nobody else's, including what they did
	// anonymously before they identified.
	timelines := map[string][]apiEvent{}
	for _, p := range []person{ada, ben, cleo} {
		c := contacts[p.userID]
		var got apiList[apiEvent]
		srv.mustGet(t, "/api/v1/contacts/"+strconv.FormatInt(c.ID, 10)+"/events", &got)
		timelines[p.userID] = got.Data
		var kinds []string
		for _, e := range got.Data {
			kinds = append(kinds, eventKind(e))
			if e.ContactID == nil || *e.ContactID != c.ID {
				t.Errorf("%s's event %s has contact_id %v, want %d", p.name, eventKind(e), e.ContactID, c.ID)
			}
		}
		if !sameElements(kinds, p.events) {
			t.Errorf("%s's events: %q, want %q", p.name, kinds, p.events)
		}
	}

	// Ada's pricing visit, sent before she identified, is hers, and comes first.
	pricing, ok := findEvent(timelines[ada.userID], "page:Pricing")
	identify, ok2 := findEvent(timelines[ada.userID], "identify")
	switch {
	case !ok || !ok2:
		t.Errorf("Ada's timeline lacks the anonymous pricing page or the identify: %+v", timelines[ada.userID])
	default:
		if pricing.UserID != "" || pricing.AnonymousID != ada.anonymousID {
			t.Errorf("Ada's pricing page: user_id %q, anonymous_id %q; want it sent anonymously as %q", pricing.UserID, pricing.AnonymousID, ada.anonymousID)
		}
		if pricing.Properties["path"] != "/pricing" {
			t.Errorf("Ada's pricing page: properties %v, want path /pricing", pricing.Properties)
		}
		if !pricing.Timestamp.Before(identify.Timestamp) {
			t.Errorf("Ada's pricing page at %s is not before her identify at %s", pricing.Timestamp, identify.Timestamp)
		}
	}
	if e, ok := findEvent(timelines[ben.userID], "page:Integrations"); ok && (e.UserID != "" || e.AnonymousID != ben.anonymousID) {
		t.Errorf("Ben's integrations page: user_id %q, anonymous_id %q; want it sent anonymously as %q", e.UserID, e.AnonymousID, ben.anonymousID)
	}

	// The two colleagues share one account, which the group call named and described.
	a, b := contacts[ada.userID], contacts[ben.userID]
	if a.AccountID == nil || b.AccountID == nil || *a.AccountID != *b.AccountID {
		t.Fatalf("account of Ada: %v, of Ben: %v; want one shared account", ptr(a.AccountID), ptr(b.AccountID))
	}
	var acc apiAccount
	srv.mustGet(t, "/api/v1/accounts/"+strconv.FormatInt(*a.AccountID, 10), &acc)
	if acc.Name != "Northwind Analytics, Inc." {
		t.Errorf("account name %q, want the group's %q", acc.Name, "Northwind Analytics, Inc.")
	}
	if acc.Domain != "northwind-analytics.com" || acc.GroupID != "acct-northwind" {
		t.Errorf("account domain %q, group id %q; want northwind-analytics.com, acct-northwind", acc.Domain, acc.GroupID)
	}
	for k, want := range map[string]any{"employees": 240.0, "industry": "Software", "website": "https://www.northwind-analytics.com"} {
		if got := acc.Traits[k]; got != want {
			t.Errorf("account trait %s = %v, want %v", k, got, want)
		}
	}
	var members []string
	for _, c := range acc.Contacts {
		members = append(members, c.Email)
	}
	if !sameElements(members, []string{ada.email, ben.email}) {
		t.Errorf("account contacts %q, want Ada and Ben", members)
	}

	// A gmail.com address says nothing about an employer.
	if c := contacts[cleo.userID]; c.AccountID != nil {
		t.Errorf("Cleo (%s) is in account %d; a free-mail address should join none", c.Email, *c.AccountID)
	}

	// The visitor who never identified is not a contact: there are exactly three.
	var all apiList[apiContact]
	srv.mustGet(t, "/api/v1/contacts?limit=1000", &all)
	var emails []string
	for _, c := range all.Data {
		emails = append(emails, c.Email)
	}
	if !sameElements(emails, []string{ada.email, ben.email, cleo.email}) {
		t.Errorf("contacts: %q, want only Ada, Ben and Cleo; an anonymous visitor is not a contact", emails)
	}
}

func eventKind(e apiEvent) string {
	switch {
	case e.Event != "":
		return e.Type + ":" + e.Event
	case e.Name != "":
		return e.Type + ":" + e.Name
	}
	return e.Type
}

func findEvent(list []apiEvent, kind string) (apiEvent, bool) {
	for _, e := range list {
		if eventKind(e) == kind {
			return e, true
		}
	}
	return apiEvent{}, false
}

// sameElements reports whether a and b hold the same strings, in any order.
func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ptr(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
