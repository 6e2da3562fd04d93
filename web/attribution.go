package web

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"

	"tandem/attribution"
	"tandem/chart"
	"tandem/store"
)

// attributionRow is one campaign's credited revenue under each model, in the order of
// store.AttributionKinds.
type attributionRow struct {
	Campaign, Channel string
	Cost              float64
	Revenue           []float64
}

type attributionData struct {
	Kinds         []attribution.Kind
	Model         attribution.Kind
	Cutoff        string
	Currency      string
	Currencies    []store.CurrencyDeals
	Opportunities int
	Rows          []attributionRow
	Figure        figure
}

// attributionPage shows who gets credit for revenue: each campaign's credited revenue
// under every model side by side, and a chart of the chosen model's revenue, pipeline
// and ROI.
func (a *App) attributionPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := attributionData{Kinds: store.AttributionKinds, Model: attribution.Kind(q.Get("model")), Cutoff: q.Get("cutoff")}
	if d.Cutoff != "closed" && d.Cutoff != "created" {
		d.Cutoff = "" // the agreement's
	}
	rep, err := a.store.Attribution(r.Context(), store.AttributionQuery{Cutoff: d.Cutoff, Currency: currencyParam(q.Get("currency"))})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d.Cutoff, d.Currency, d.Currencies = rep.Cutoff, rep.Currency, rep.Currencies
	if !slices.Contains(d.Kinds, d.Model) {
		d.Model = rep.Model // the one the agreement leads with
	}
	d.Opportunities = rep.Opportunities
	for i, m := range rep.Models {
		for j, c := range m.Campaigns {
			if i == 0 {
				d.Rows = append(d.Rows, attributionRow{Campaign: c.Campaign, Channel: c.Channel, Cost: c.Cost})
			}
			d.Rows[j].Revenue = append(d.Rows[j].Revenue, c.Revenue)
		}
		if m.Model != d.Model {
			continue
		}
		data := chart.Data{Title: fmt.Sprintf("Revenue and pipeline by campaign, %s", strings.ReplaceAll(string(m.Model), "_", " ")), Unit: rep.Currency,
			Desc: fmt.Sprintf("What the %d open and won deals in %s are credited to each campaign under the %s model.", rep.Opportunities, rep.Currency, m.Model)}
		revenue, pipeline := chart.Series{Name: "Won revenue"}, chart.Series{Name: "Open pipeline"}
		for _, c := range m.Campaigns {
			data.Labels = append(data.Labels, c.Campaign)
			revenue.Values = append(revenue.Values, math.Round(c.Revenue*100)/100)
			pipeline.Values = append(pipeline.Values, math.Round(c.Pipeline*100)/100)
		}
		data.Series = []chart.Series{revenue, pipeline}
		d.Figure = figure{Key: "attribution", Data: data, Chart: chart.HBars(data, chart.Options{}), Table: chart.Table(data)}
	}
	a.render(w, r, http.StatusOK, "attribution", page{Title: "Attribution", Data: d})
}

// currencyParam is a currency code from a query, or empty (the store's choice) when it
// is not one.
func currencyParam(v string) string {
	v = strings.ToUpper(v)
	if len(v) != 3 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return ""
	}
	return v
}
