package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	"tandem"
	"tandem/store"
)

// demoChannels maps the UTM media of the demo's campaigns to campaign channels.
var demoChannels = map[string]string{
	"cpc": "paid_search", "paid_social": "paid_social", "email": "email", "referral": "referral",
	"video": "display", "offline": "event",
}

// demoCampaigns makes a campaign for each campaign the demo's page views come from, so
// that they count as touches, with a cost in dollars. Campaigns already there are left
// as they are. It returns how many it made.
func demoCampaigns(ctx context.Context, db *store.DB, seed uint64) (int, error) {
	have, err := db.Campaigns(ctx)
	if err != nil {
		return 0, err
	}
	names := map[string]bool{}
	for _, c := range have {
		names[c.Name] = true
	}
	// A UTM campaign name run on two sources (brand search on Google and on Bing) is
	// two campaigns.
	runs := map[string]int{}
	for _, w := range campaigns {
		runs[w.v.name]++
	}
	made := 0
	for i, w := range campaigns {
		c := w.v
		name := strings.ReplaceAll(c.name, "-", " ")
		name = strings.ToUpper(name[:1]) + name[1:]
		source := ""
		if runs[c.name] > 1 {
			name += " (" + c.source + ")"
			source = c.source
		}
		if names[name] {
			continue
		}
		cost := float64(1000 + demoHash(seed, "campaign cost", uint64(i))%40*500)
		if _, err := db.CreateCampaign(ctx, &tandem.Campaign{Name: name, Channel: demoChannels[c.medium], Cost: cost, Currency: "USD",
			UTMCampaign: c.name, UTMSource: source}); err != nil {
			return made, fmt.Errorf("campaign %q: %w", name, err)
		}
		made++
	}
	return made, nil
}

// demoDealResult counts the deals the demo made.
type demoDealResult struct{ open, won, lost, existing int }

// demoDeals makes about n deals, one for every so many contacts with a company, walking
// the contacts in id order: each created in the last half of the demo's period, in
// dollars mostly, some in euros and pounds; a third won and a fifth lost within weeks,
// unless that would be after the demo's end. Each deal moves its contact as the
// agreement says. It is deterministic for a store and seed.
func demoDeals(ctx context.Context, db *store.DB, d *demoData, n int, bar *progress) (demoDealResult, error) {
	var res demoDealResult
	if n <= 0 {
		return res, nil
	}
	withCompany := max(1, d.opt.contacts-d.freeMailContacts())
	every := max(1, withCompany/n)
	clock := db.Now
	defer func() { db.Now = clock }()
	rep := tandem.Actor{Name: "tandem demo", Role: tandem.RoleSales}
	amounts := []float64{6000, 12000, 18000, 24000, 48000, 96000}
	seen := 0
	p := tandem.Page{Limit: 1000}
	for made := 0; made < n; {
		list, next, err := db.ContactsPage(ctx, tandem.ContactFilter{}, p)
		if err != nil {
			return res, err
		}
		for _, c := range list {
			if c.AccountID == nil {
				continue
			}
			seen++
			if seen%every != 0 || made >= n {
				continue
			}
			h := demoHash(d.opt.seed, "deal", uint64(c.ID))
			span := int64(d.opt.days) * int64(24*time.Hour) / 2
			created := d.opt.now.Add(-time.Duration(int64(h%1000) * span / 1000))
			currency := "USD"
			switch h / 1000 % 20 {
			case 0, 1:
				currency = "EUR"
			case 2:
				currency = "GBP"
			}
			db.Now = func() time.Time { return created }
			o, err := db.CreateOpportunity(ctx, &tandem.Opportunity{ExternalID: fmt.Sprintf("demo-%d", c.ID),
				Name: fmt.Sprintf("%s — %s", companyOf(c), created.Format("Jan 2006")), AccountID: c.AccountID,
				Amount: amounts[h/20000%uint64(len(amounts))], Currency: currency, Stage: "discovery", Owner: "alice@example.com",
				Contacts: []tandem.OpportunityPerson{{ContactID: c.ID, Role: "champion"}}}, rep)
			made++
			bar.Add(1)
			if tandem.ErrorCode(err) == tandem.EConflict {
				res.existing++ // made by an earlier run
				continue
			}
			if err != nil {
				return res, fmt.Errorf("deal for contact %d: %w", c.ID, err)
			}
			closed := created.Add(time.Duration(3+h/200000%42) * 24 * time.Hour)
			switch outcome := h / 10000000 % 15; {
			case closed.After(d.opt.now) || outcome >= 8:
				res.open++
			case outcome < 5:
				db.Now = func() time.Time { return closed }
				if _, err := db.WinOpportunity(ctx, o.ID, rep); err != nil {
					return res, fmt.Errorf("deal %d: %w", o.ID, err)
				}
				res.won++
			default:
				db.Now = func() time.Time { return closed }
				if _, err := db.LoseOpportunity(ctx, o.ID, "no budget", rep); err != nil {
					return res, fmt.Errorf("deal %d: %w", o.ID, err)
				}
				res.lost++
			}
		}
		if next.After == 0 || len(list) == 0 {
			return res, nil
		}
		p = next
	}
	return res, nil
}

// companyOf names a contact's company by its traits, or its email's domain.
func companyOf(c *tandem.Contact) string {
	if s, ok := c.Traits["company"].(string); ok && s != "" {
		return s
	}
	_, domain, _ := strings.Cut(c.Email, "@")
	return domain
}

// demoHash is a deterministic number for a seed, a purpose and an index.
func demoHash(seed uint64, purpose string, i uint64) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", seed, purpose, i)
	x := h.Sum64() // FNV's high bits mix little: finish as SplitMix64 does
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// demoRevenue makes the demo's campaigns and about deals deals, and says what it made.
func demoRevenue(ctx context.Context, db *store.DB, d *demoData, deals int, stdout, stderr io.Writer) error {
	made, err := demoCampaigns(ctx, db, d.opt.seed)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, "deals", "deals", int64(deals), 0)
	bar.Start()
	start := time.Now()
	res, err := demoDeals(ctx, db, d, deals, bar)
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  campaigns  %d new, one for each campaign the page views came from\n", made)
	fmt.Fprintf(stdout, "  deals      %s open, %s won, %s lost, made in %s; %s already there\n", commas(int64(res.open)), commas(int64(res.won)),
		commas(int64(res.lost)), shortDuration(time.Since(start)), commas(int64(res.existing)))
	return nil
}
