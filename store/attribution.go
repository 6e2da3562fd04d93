package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/attribution"
)

// AttributionKinds are the models the attribution report shows side by side.
var AttributionKinds = attribution.Kinds

// CampaignCredit is what one campaign, or one channel, is credited with under one model.
type CampaignCredit struct {
	Campaign string  `json:"campaign,omitempty"`
	Channel  string  `json:"channel"`
	Cost     float64 `json:"cost"`
	// CostCurrency is the cost's: a campaign's own; a channel's is the report's, its cost
	// the sum of its campaigns' costs in it.
	CostCurrency string `json:"cost_currency"`
	// Revenue is the credited amount of won deals, Pipeline of open ones; Deals the
	// credited share of won deals (a deal credited half counts half).
	Revenue  float64 `json:"revenue"`
	Pipeline float64 `json:"pipeline"`
	Deals    float64 `json:"deals"`
	// ROI is (Revenue − Cost) / Cost; nil without a cost, or with a cost in another
	// currency than the report's (for a channel: when any of its campaigns has one).
	ROI *float64 `json:"roi"`
}

// AttributionModel is one model's credit per campaign and per channel.
type AttributionModel struct {
	Model     attribution.Kind `json:"model"`
	Campaigns []CampaignCredit `json:"campaigns"`
	Channels  []CampaignCredit `json:"channels"`
}

// CurrencyDeals counts the open and won deals in one currency.
type CurrencyDeals struct {
	Currency string `json:"currency"`
	Deals    int    `json:"deals"`
}

// AttributionReport is revenue, pipeline and won deals by campaign and channel under
// each model, side by side, in one currency: amounts in different currencies are never
// added together.
type AttributionReport struct {
	// Model is the one the agreement leads with; Cutoff and Lookback what counted.
	Model    attribution.Kind `json:"model"`
	Cutoff   string           `json:"cutoff"`
	Lookback string           `json:"lookback"`
	// Currency is the report's; Opportunities the open and won deals in it, credited.
	// Currencies lists every currency of open and won deals, so a reader sees what
	// another currency's report would hold.
	Currency      string             `json:"currency"`
	Opportunities int                `json:"opportunities"`
	Currencies    []CurrencyDeals    `json:"currencies"`
	Models        []AttributionModel `json:"models"`
}

// AttributionQuery is what an attribution report counts. Zero fields take the active
// agreement's terms; an empty Currency the currency most deals are in.
type AttributionQuery struct {
	Cutoff   string
	Lookback time.Duration
	Currency string
	// Model, when set, is the one model to credit under; every model otherwise.
	Model attribution.Kind
}

// Attribution credits every opportunity that is open or won, in one currency, to the
// campaigns that touched its contacts, under every model with the active agreement's
// weights (the defaults without one): touches before the deal's creation or close count
// (the cutoff), within the lookback. A deal's lead creation milestone is when the first
// of its people became a lead. It reads the deals, their people, their lead times and
// their tagged events in a few queries, whatever the number of deals.
func (db *DB) Attribution(ctx context.Context, aq AttributionQuery) (*AttributionReport, error) {
	campaigns, err := campaignsIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	terms := agreement.DefaultAttribution()
	if act, err := db.activeIn(ctx, db.read); err != nil {
		return nil, err
	} else if act != nil {
		terms = act.agreement.Attribution
	}
	if aq.Cutoff == "" {
		aq.Cutoff = terms.Cutoff
	}
	if aq.Lookback == 0 {
		aq.Lookback = terms.Lookback
	}
	kinds := AttributionKinds
	if aq.Model != "" {
		if !slices.Contains(kinds, aq.Model) {
			return nil, tandem.Errorf(tandem.EInvalid, "model: want one of %s, got %q", attribution.KindList(), aq.Model)
		}
		kinds = []attribution.Kind{aq.Model}
	}
	models := make([]attribution.Model, len(kinds))
	for i, k := range kinds {
		models[i] = terms.Models[k]
		models[i].Cutoff, models[i].Lookback = aq.Cutoff, aq.Lookback
		if err := models[i].Validate(); err != nil {
			return nil, tandem.Errorf(tandem.EInvalid, "%v", err)
		}
	}
	// The touches of the people on open and won deals are read on a read connection of
	// their own while the deals and their people are read on another.
	var (
		set     map[int64][]tandem.CampaignTouch
		setErr  error
		reading sync.WaitGroup
	)
	reading.Go(func() { set, setErr = contactTouches(ctx, db.read, db.dialect, newTouchMatcher(campaigns), onDeals) })
	deals, leads, rep, err := db.attributedDeals(ctx, aq.Currency)
	reading.Wait()
	if err = cmp.Or(err, setErr); err != nil {
		return nil, fmt.Errorf("attribution: %w", err)
	}
	rep.Model, rep.Cutoff, rep.Lookback = terms.Model, aq.Cutoff, agreement.FormatDuration(aq.Lookback)
	for _, d := range deals {
		for _, contact := range d.people {
			for _, t := range set[contact] {
				d.journey.Touches = append(d.journey.Touches, attribution.Touch{Campaign: t.Campaign, At: t.At})
			}
			if at, ok := leads[contact]; ok && (d.journey.LeadAt.IsZero() || at < micros(d.journey.LeadAt)) {
				d.journey.LeadAt = fromMicros(at)
			}
		}
	}

	type sums struct{ revenue, pipeline, deals float64 }
	credit := make([]map[string]*sums, len(models))
	for i := range credit {
		credit[i] = map[string]*sums{}
	}
	for _, d := range deals {
		for i, m := range models {
			for name, share := range attribution.Credit(m, d.journey) {
				s := credit[i][name]
				if s == nil {
					s = &sums{}
					credit[i][name] = s
				}
				if d.won {
					s.revenue += share * d.journey.Amount
					s.deals += share
				} else {
					s.pipeline += share * d.journey.Amount
				}
			}
		}
	}
	roi := func(c *CampaignCredit, currency string) {
		if c.Cost > 0 && currency == rep.Currency {
			r := (c.Revenue - c.Cost) / c.Cost
			c.ROI = &r
		}
	}
	for i, m := range models {
		am := AttributionModel{Model: m.Kind, Campaigns: []CampaignCredit{}, Channels: []CampaignCredit{}}
		channels, mixed := map[string]*CampaignCredit{}, map[string]bool{}
		for _, c := range campaigns {
			cc := CampaignCredit{Campaign: c.Name, Channel: c.Channel, Cost: c.Cost, CostCurrency: c.Currency}
			if s := credit[i][c.Name]; s != nil {
				cc.Revenue, cc.Pipeline, cc.Deals = s.revenue, s.pipeline, s.deals
			}
			roi(&cc, c.Currency)
			am.Campaigns = append(am.Campaigns, cc)
			ch := channels[c.Channel]
			if ch == nil {
				ch = &CampaignCredit{Channel: c.Channel, CostCurrency: rep.Currency}
				channels[c.Channel] = ch
			}
			if c.Currency == rep.Currency {
				ch.Cost += cc.Cost
			} else if c.Cost > 0 {
				mixed[c.Channel] = true // its revenue would be set against part of its cost
			}
			ch.Revenue += cc.Revenue
			ch.Pipeline += cc.Pipeline
			ch.Deals += cc.Deals
		}
		for _, ch := range channels {
			if !mixed[ch.Channel] {
				roi(ch, rep.Currency)
			}
			am.Channels = append(am.Channels, *ch)
		}
		slices.SortFunc(am.Channels, func(x, y CampaignCredit) int { return strings.Compare(x.Channel, y.Channel) })
		rep.Models = append(rep.Models, am)
	}
	return rep, nil
}

// attributedDeal is an open or won deal, its people and its journey as attribution
// reads it.
type attributedDeal struct {
	journey attribution.Journey
	won     bool
	people  []int64
}

// onDeals selects the people on open and won deals.
func onDeals(col string) (string, []any) {
	return col + ` IN (SELECT oc.contact_id FROM opportunity_contacts oc JOIN opportunities o ON o.id = oc.opportunity_id
		WHERE o.status <> 'lost')`, nil
}

// attributedDeals reads the open and won deals in currency, or in the currency most of
// them are in when it is empty, by id, with their people, and when those became leads
// (in microseconds); and a report that says which currencies there are.
func (db *DB) attributedDeals(ctx context.Context, currency string) (map[int64]*attributedDeal, map[int64]int64, *AttributionReport, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, amount, currency, status, created_at, closed_at FROM opportunities
		WHERE status <> 'lost'`)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	defer rows.Close()
	byCurrency := map[string]map[int64]*attributedDeal{}
	for rows.Next() {
		var (
			id, created int64
			closed      sql.NullInt64
			cur         string
			status      tandem.OpportunityStatus
			d           attributedDeal
		)
		if err := rows.Scan(&id, &d.journey.Amount, &cur, &status, &created, &closed); err != nil {
			return nil, nil, nil, fmt.Errorf("attribution: %w", err)
		}
		d.journey.CreatedAt, d.won = fromMicros(created), status == tandem.OpportunityWon
		if closed.Valid {
			d.journey.ClosedAt = fromMicros(closed.Int64)
		}
		if byCurrency[cur] == nil {
			byCurrency[cur] = map[int64]*attributedDeal{}
		}
		byCurrency[cur][id] = &d
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	rep := &AttributionReport{Currencies: []CurrencyDeals{}, Currency: strings.ToUpper(currency)}
	for cur, deals := range byCurrency {
		rep.Currencies = append(rep.Currencies, CurrencyDeals{Currency: cur, Deals: len(deals)})
	}
	slices.SortFunc(rep.Currencies, func(x, y CurrencyDeals) int {
		return cmp.Or(cmp.Compare(y.Deals, x.Deals), strings.Compare(x.Currency, y.Currency))
	})
	if rep.Currency == "" {
		rep.Currency = "USD"
		if len(rep.Currencies) > 0 {
			rep.Currency = rep.Currencies[0].Currency
		}
	}
	deals := byCurrency[rep.Currency]
	rep.Opportunities = len(deals)
	people, err := db.read.QueryContext(ctx, `SELECT opportunity_id, contact_id FROM opportunity_contacts`)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	defer people.Close()
	for people.Next() {
		var deal, contact int64
		if err := people.Scan(&deal, &contact); err != nil {
			return nil, nil, nil, fmt.Errorf("attribution: %w", err)
		}
		if d := deals[deal]; d != nil {
			d.people = append(d.people, contact)
		}
	}
	if err := people.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	cond, args := onDeals("id")
	rows, err = db.read.QueryContext(ctx, `SELECT id, lead_at FROM contacts WHERE lead_at IS NOT NULL AND `+cond, args...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	defer rows.Close()
	leads := map[int64]int64{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, nil, nil, fmt.Errorf("attribution: %w", err)
		}
		leads[id] = at
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("attribution: %w", err)
	}
	return deals, leads, rep, nil
}
