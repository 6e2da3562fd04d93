package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/attribution"
)

// AttributionKinds are the models the attribution report shows side by side.
var AttributionKinds = attribution.Kinds

// CampaignCredit is what one campaign is credited with under one model.
type CampaignCredit struct {
	Campaign string  `json:"campaign"`
	Channel  string  `json:"channel"`
	Cost     float64 `json:"cost"`
	// Revenue is the credited amount of won deals, Pipeline of open ones; Deals the
	// credited share of won deals (a deal credited half counts half).
	Revenue  float64 `json:"revenue"`
	Pipeline float64 `json:"pipeline"`
	Deals    float64 `json:"deals"`
	// ROI is (Revenue − Cost) / Cost; nil without a cost.
	ROI *float64 `json:"roi"`
}

// AttributionModel is one model's credit per campaign and per channel.
type AttributionModel struct {
	Model     attribution.Kind `json:"model"`
	Campaigns []CampaignCredit `json:"campaigns"`
	Channels  []CampaignCredit `json:"channels"`
}

// AttributionReport is revenue, pipeline and won deals by campaign and channel under
// each model, side by side. Amounts are added as they are, whatever their currency.
type AttributionReport struct {
	// Model is the one the agreement leads with; Cutoff and Lookback what counted.
	Model         attribution.Kind   `json:"model"`
	Cutoff        string             `json:"cutoff"`
	Lookback      string             `json:"lookback"`
	Opportunities int                `json:"opportunities"`
	Models        []AttributionModel `json:"models"`
}

// Attribution credits every opportunity that is open or won to the campaigns that
// touched its contacts, under every model with the active agreement's weights (the
// defaults without one): touches before the deal's creation or close count (cutoff; the
// agreement's when empty), within lookback (the agreement's when zero).
func (db *DB) Attribution(ctx context.Context, cutoff string, lookback time.Duration) (*AttributionReport, error) {
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
	if cutoff == "" {
		cutoff = terms.Cutoff
	}
	if lookback == 0 {
		lookback = terms.Lookback
	}
	models := make([]attribution.Model, len(AttributionKinds))
	for i, k := range AttributionKinds {
		models[i] = terms.Models[k]
		models[i].Cutoff, models[i].Lookback = cutoff, lookback
		if err := models[i].Validate(); err != nil {
			return nil, tandem.Errorf(tandem.EInvalid, "%v", err)
		}
	}
	type sums struct{ revenue, pipeline, deals float64 }
	credit := make([]map[string]*sums, len(models))
	for i := range credit {
		credit[i] = map[string]*sums{}
	}
	rep := &AttributionReport{Model: terms.Model, Cutoff: cutoff, Lookback: lookback.String()}
	p := tandem.Page{Limit: 1000}
	for {
		deals, err := db.Opportunities(ctx, "", 0, p)
		if err != nil {
			return nil, err
		}
		for _, o := range deals {
			if o.Status == tandem.OpportunityLost {
				continue
			}
			full, err := db.Opportunity(ctx, o.ID)
			if err != nil {
				return nil, err
			}
			j := attribution.Journey{CreatedAt: o.CreatedAt, Amount: o.Amount}
			if o.ClosedAt != nil {
				j.ClosedAt = *o.ClosedAt
			}
			for _, person := range full.Contacts {
				c, err := db.Contact(ctx, person.ContactID)
				if err != nil {
					return nil, err
				}
				if j.LeadAt.IsZero() || c.CreatedAt.Before(j.LeadAt) {
					j.LeadAt = c.CreatedAt
				}
				touches, err := db.ContactTouches(ctx, person.ContactID)
				if err != nil {
					return nil, err
				}
				for _, t := range touches {
					j.Touches = append(j.Touches, attribution.Touch{Campaign: t.Campaign, At: t.At})
				}
			}
			rep.Opportunities++
			for i, m := range models {
				for name, share := range attribution.Credit(m, j) {
					s := credit[i][name]
					if s == nil {
						s = &sums{}
						credit[i][name] = s
					}
					if o.Status == tandem.OpportunityWon {
						s.revenue += share * o.Amount
						s.deals += share
					} else {
						s.pipeline += share * o.Amount
					}
				}
			}
		}
		if len(deals) < p.Limit {
			break
		}
		p.After = deals[len(deals)-1].ID
	}
	for i, m := range models {
		am := AttributionModel{Model: m.Kind, Campaigns: []CampaignCredit{}, Channels: []CampaignCredit{}}
		channels := map[string]*CampaignCredit{}
		for _, c := range campaigns {
			cc := CampaignCredit{Campaign: c.Name, Channel: c.Channel, Cost: c.Cost}
			if s := credit[i][c.Name]; s != nil {
				cc.Revenue, cc.Pipeline, cc.Deals = s.revenue, s.pipeline, s.deals
			}
			if c.Cost > 0 {
				roi := (cc.Revenue - c.Cost) / c.Cost
				cc.ROI = &roi
			}
			am.Campaigns = append(am.Campaigns, cc)
			ch := channels[c.Channel]
			if ch == nil {
				ch = &CampaignCredit{Channel: c.Channel}
				channels[c.Channel] = ch
			}
			ch.Cost += cc.Cost
			ch.Revenue += cc.Revenue
			ch.Pipeline += cc.Pipeline
			ch.Deals += cc.Deals
		}
		for _, ch := range channels {
			if ch.Cost > 0 {
				roi := (ch.Revenue - ch.Cost) / ch.Cost
				ch.ROI = &roi
			}
			am.Channels = append(am.Channels, *ch)
		}
		slices.SortFunc(am.Channels, func(x, y CampaignCredit) int { return strings.Compare(x.Channel, y.Channel) })
		rep.Models = append(rep.Models, am)
	}
	return rep, nil
}
