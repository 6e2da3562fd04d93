package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/ingest"
	"tandem/store"
)

// demoSummary is what a demo run left in the store.
type demoSummary struct {
	contacts int64
	accounts []string // names, in contact order
	emails   []string
}

func mustRunDemo(tb testing.TB, db string, seed string) string {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	args := []string{"demo", "--db", db, "--contacts", "300", "--events", "6000", "--seed", seed, "--days", "30", "--now", "2026-05-01"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		tb.Fatalf("tandem %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func mustSummarize(tb testing.TB, path string) demoSummary {
	tb.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var s demoSummary
	if s.contacts, err = db.CountContacts(ctx); err != nil {
		tb.Fatal(err)
	}
	names := map[int64]string{}
	for p := (tandem.Page{Limit: 1000}); ; {
		list, err := db.Contacts(ctx, tandem.ContactFilter{}, p)
		if err != nil {
			tb.Fatal(err)
		}
		if len(list) == 0 {
			break
		}
		for _, c := range list {
			s.emails = append(s.emails, c.Email)
			if c.AccountID == nil {
				continue
			}
			if _, ok := names[*c.AccountID]; !ok {
				a, err := db.Account(ctx, *c.AccountID)
				if err != nil {
					tb.Fatal(err)
				}
				names[a.ID] = a.Name
			}
			s.accounts = append(s.accounts, names[*c.AccountID])
		}
		p.After = list[len(list)-1].ID
	}
	return s
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db"), filepath.Join(dir, "c.db")
	out := mustRunDemo(t, a, "7")
	if !strings.Contains(out, "6,000 stored") {
		t.Errorf("summary does not say 6,000 events were stored:\n%s", out)
	}
	// One deal for every ten contacts: 30, by how many there are with a company.
	deals := regexp.MustCompile(`deals +(\d+) open, (\d+) won, (\d+) lost, made in \S+; 0 already there`).FindStringSubmatch(out)
	if deals == nil || atoi(t, deals[1])+atoi(t, deals[2])+atoi(t, deals[3]) < 25 || !strings.Contains(out, "campaigns  15 new") {
		t.Errorf("summary does not tell of about 30 new deals and 15 campaigns:\n%s", out)
	}
	got := mustSummarize(t, a)
	if got.contacts != 300 {
		t.Errorf("got %d contacts, want 300 (one for each person who identified, none merged)", got.contacts)
	}
	if len(got.accounts) == 0 {
		t.Fatal("no contact belongs to an account")
	}
	free := 0
	for _, e := range got.emails {
		if identity.CompanyDomain(e) == "" {
			free++
		}
	}
	if free == 0 || free > 100 {
		t.Errorf("%d of 300 contacts have a free-mail address, want about 15%%", free)
	}

	t.Run("same seed, same data", func(t *testing.T) {
		mustRunDemo(t, b, "7")
		again := mustSummarize(t, b)
		if again.contacts != got.contacts || !slices.Equal(again.emails, got.emails) || !slices.Equal(again.accounts, got.accounts) {
			t.Errorf("a second run with the same seed made other data: %d contacts, %d in accounts; first run: %d, %d",
				again.contacts, len(again.accounts), got.contacts, len(got.accounts))
		}
	})
	t.Run("another seed, other data", func(t *testing.T) {
		mustRunDemo(t, c, "8")
		other := mustSummarize(t, c)
		if slices.Equal(other.emails, got.emails) {
			t.Error("another seed made the same people")
		}
	})
	t.Run("rescore by hand", func(t *testing.T) {
		// The demo's own rescore read every event and kept the score record: a rescore by
		// hand replays it, unless told to read the events.
		rescore := func(args ...string) string {
			t.Helper()
			var stdout, stderr bytes.Buffer
			args = append([]string{"rescore", "--db", a}, args...)
			if err := run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("tandem %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			if !strings.Contains(stdout.String(), ": done, 300 contacts") {
				t.Errorf("tandem %s says %q, want 300 contacts done", strings.Join(args, " "), stdout.String())
			}
			return stderr.String()
		}
		if bars := rescore(); strings.Contains(bars, "reading") {
			t.Errorf("a rescore by hand read the events rather than replay the score record:\n%s", bars)
		}
		if bars := rescore("--from-events"); !strings.Contains(bars, "reading") || !strings.Contains(bars, "events") {
			t.Errorf("a rescore by hand --from-events shows no reading of the events:\n%s", bars)
		}
	})
	t.Run("running again adds nothing", func(t *testing.T) {
		out := mustRunDemo(t, a, "7")
		if !strings.Contains(out, "0 stored, 6,000 already there") || !strings.Contains(out, "reused") ||
			!strings.Contains(out, "deals      0 open, 0 won, 0 lost") || !strings.Contains(out, "campaigns  0 new") {
			t.Errorf("a second run into the same store should reuse the source and store nothing new:\n%s", out)
		}
		if again := mustSummarize(t, a); again.contacts != got.contacts {
			t.Errorf("got %d contacts after the second run, want %d", again.contacts, got.contacts)
		}
	})
}

func TestDemoOptions(t *testing.T) {
	now := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opt  demoOptions
		want string
	}{
		{"too few events", demoOptions{contacts: 1000, accounts: 100, events: 1000, days: 30, now: now}, "too few"},
		{"more companies than contacts", demoOptions{contacts: 10, accounts: 20, events: 1000, days: 30, now: now}, "--accounts"},
		{"no days", demoOptions{contacts: 10, accounts: 1, events: 1000, days: 0, now: now}, "--days"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDemoData(tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one that mentions %q", err, tt.want)
			}
		})
	}
}

func TestDemoPlan(t *testing.T) {
	d, err := newDemoData(demoOptions{contacts: 500, accounts: 60, events: 9000, days: 14, seed: 3, now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	d.plan()
	if len(d.keys) != 9000 {
		t.Fatalf("planned %d events, want 9000", len(d.keys))
	}
	if !slices.IsSorted(d.keys) {
		t.Error("the plan is not in time order")
	}
	if last := int64(d.keys[len(d.keys)-1] >> 32); last >= d.span {
		t.Errorf("an event is planned %d s after the start of a %d s period", last, d.span)
	}
	// A few people are hot and most are cold.
	counts := slices.Clone(d.count[:500])
	slices.Sort(counts)
	if top, median := counts[len(counts)-1], counts[len(counts)/2]; top < 8*median {
		t.Errorf("the most active contact has %d events and the median %d; want a long tail", top, median)
	}

	emails, domains := map[string]bool{}, map[string]bool{}
	for p := range 500 {
		e := d.person(p).email
		if _, ok := identity.Email(e); !ok {
			t.Errorf("contact %d: %q is not an email address", p, e)
		}
		if emails[e] {
			t.Errorf("contact %d: %q is taken by another contact", p, e)
		}
		emails[e] = true
	}
	for j := range 60 {
		c := d.company(j)
		if domains[c.domain] || identity.IsFreeMail(c.domain) || identity.Domain(c.domain) != c.domain {
			t.Errorf("company %d: domain %q is taken, free mail or not a domain", j, c.domain)
		}
		domains[c.domain] = true
	}
}

// The company names and domains must never repeat, however many companies there are.
func TestDemoCompaniesAreDistinct(t *testing.T) {
	d, err := newDemoData(demoOptions{contacts: 1, accounts: 1, events: 10, days: 1, now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	n := len(companyPrefixes)*len(companyRoots)*2 + 100
	for j := range n {
		dom := d.company(j).domain
		if k, ok := seen[dom]; ok {
			t.Fatalf("companies %d and %d share the domain %q", k, j, dom)
		}
		seen[dom] = j
	}
}

func TestDemoWords(t *testing.T) {
	for name, list := range map[string][]string{"first names": firstNames, "last names": lastNames, "prefixes": companyPrefixes, "roots": companyRoots} {
		seen := map[string]bool{}
		for _, w := range list {
			k := localPart(w)
			if seen[k] {
				t.Errorf("%s: %q is there twice", name, w)
			}
			seen[k] = true
		}
	}
	d, err := newDemoData(demoOptions{contacts: 1, accounts: 1, events: 10, days: 1, now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formPages {
		if _, ok := d.pageIndex[f.v]; !ok {
			t.Errorf("form page %q is not one of the pages", f.v)
		}
	}
}

// The demo hands the store messages itself; they must be exactly what the tracking API
// would make of the same calls sent as JSON.
func TestDemoMessagesAreWhatTheDecoderMakes(t *testing.T) {
	d, err := newDemoData(demoOptions{contacts: 60, accounts: 8, events: 1500, days: 7, seed: 5, now: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	d.plan()
	groups := make(chan *demoGroup, 100)
	if err := d.produce(context.Background(), 9, groups); err != nil {
		t.Fatal(err)
	}
	close(groups)
	types := map[string]int{}
	for g := range groups {
		for _, m := range g.msgs {
			types[m.Type]++
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(map[string]any{
				"type": m.Type, "messageId": m.MessageID, "userId": m.UserID, "anonymousId": m.AnonymousID,
				"groupId": m.GroupID, "event": m.Event, "name": m.Name, "traits": m.Traits,
				"properties": m.Properties, "context": m.Context, "timestamp": m.Timestamp.Format(time.RFC3339Nano),
			}); err != nil {
				t.Fatal(err)
			}
			_, got, err := ingest.DecodeSingle(buf.Bytes(), m.Type, m.SourceID, m.ReceivedAt)
			if err != nil {
				t.Fatalf("%s: %v", buf.Bytes(), err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("the decoder makes\n%+v\nof %s, the demo\n%+v", got, buf.Bytes(), m)
			}
		}
	}
	for _, typ := range []string{tandem.TypePage, tandem.TypeTrack, tandem.TypeIdentify, tandem.TypeGroup} {
		if types[typ] == 0 {
			t.Errorf("no %s calls among %v", typ, types)
		}
	}
}

func atoi(tb testing.TB, s string) int {
	tb.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
