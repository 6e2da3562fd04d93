package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"tandem"
	"tandem/chart"
	"tandem/report"
	"tandem/store"
)

// figure is one chart with its numbers, as a table and as CSV.
type figure struct {
	Key   string // the name of its CSV: /reports/{Key}.csv
	Data  chart.Data
	Chart template.HTML
	Table template.HTML
}

type reportsData struct {
	Report  *report.SLAReport
	Figures []figure
	Per     string
	At      string
	// Queue is the signed-in rep's open leads and how many are overdue.
	Queue, Overdue int
}

// figures builds the charts both teams read, for the period on when (a date; empty for
// today) per month or quarter.
func (a *App) figures(ctx context.Context, when, per string) (*report.SLAReport, []figure, error) {
	// The three reads each scan an index of the store's size at worst (contacts per
	// stage, the period's entries into the funnel): they run side by side, on the
	// store's separate read connections.
	var (
		rep             *report.SLAReport
		counts          []store.StageCount
		flows           []report.StageFlow
		sources         *store.SourceConversion
		err, err1, err2 error
		err3            error
		wg              sync.WaitGroup
	)
	wg.Go(func() { counts, err1 = a.store.StageCounts(ctx) })
	wg.Go(func() { _, flows, err2 = a.store.StageFlows(ctx, when, per) })
	wg.Go(func() { sources, err3 = a.store.SourceConversion(ctx, when, per) })
	rep, err = a.store.SLAReport(ctx, when, per)
	wg.Wait()
	if tandem.ErrorCode(err3) == tandem.ENotFound {
		err3 = nil // an agreement without deal stages: no such figures
	}
	if err = cmp.Or(err, err1, err2, err3); err != nil {
		return nil, nil, err
	}
	m, s := rep.Marketing, rep.Sales
	var figs []figure
	add := func(key string, d chart.Data, draw func(chart.Data, chart.Options) template.HTML, o chart.Options) {
		figs = append(figs, figure{Key: key, Data: d, Chart: draw(d, o), Table: chart.Table(d)})
	}

	weekly := chart.Data{Title: "MQLs per week against the target", Unit: "MQLs",
		Desc: fmt.Sprintf("%d MQLs so far of a target of %d this %s; pacing: %s.", m.MQLs, m.Target, orText(m.TargetPer, "period"), m.Pacing)}
	got, cum, pace := chart.Series{Name: "MQLs"}, chart.Series{Name: "So far", Kind: "line"}, chart.Series{Name: "Target pace", Kind: "target"}
	// The projection carries today's pace to the period's end: where the count would
	// stand at each week's end at the rate so far.
	proj := chart.Series{Name: "Projection at this pace", Kind: "line"}
	for _, wk := range m.Weekly {
		p := math.NaN()
		if m.Target > 0 && wk.Cumulative == nil || wk.To.After(rep.AsOf) && wk.From.Before(rep.AsOf) {
			p = math.Round(m.Projected*wk.CumulativeTarget/float64(max(m.Target, 1))*10) / 10
		}
		proj.Values = append(proj.Values, p)
		weekly.Labels = append(weekly.Labels, wk.From.Format("Jan 2"))
		got.Values = append(got.Values, float64(wk.MQLs))
		c := math.NaN() // weeks to come have no count yet
		if wk.Cumulative != nil {
			c = float64(*wk.Cumulative)
		}
		cum.Values = append(cum.Values, c)
		pace.Values = append(pace.Values, math.Round(wk.CumulativeTarget*10)/10)
	}
	weekly.Series = []chart.Series{got, cum, pace}
	if m.Target > 0 {
		weekly.Series = append(weekly.Series, proj)
	}
	add("mqls", weekly, chart.Bars, chart.Options{})

	terms, err := a.activeTerms(ctx)
	if err != nil {
		return nil, nil, err
	}
	funnel := chart.Data{Title: "The funnel: contacts that reached each stage", Unit: "contacts",
		Desc: "Contacts at each funnel stage or past it, with the conversion from one stage to the next."}
	stages := chart.Series{Name: "Reached"}
	for _, c := range counts {
		if terms != nil {
			if st := terms.Stage(c.Stage); st == nil || st.Detour {
				continue
			}
		}
		funnel.Labels = append(funnel.Labels, c.Stage)
		stages.Values = append(stages.Values, float64(c.Contacts))
	}
	// A contact past a stage reached it too: counts run from the bottom of the funnel up.
	for i := len(stages.Values) - 2; i >= 0; i-- {
		stages.Values[i] += stages.Values[i+1]
	}
	funnel.Series = []chart.Series{stages}
	add("funnel", funnel, chart.Funnel, chart.Options{})

	conv := chart.Data{Title: "Stage to stage over the period: conversion", Unit: "%",
		Desc: "Of the contacts that entered each stage this period, the share that reached the next stage by now."}
	took := chart.Data{Title: "Stage to stage over the period: median time to the next stage", Unit: "hours",
		Desc: "For the contacts that moved on, the median wall-clock time from entering a stage to entering the next."}
	reached, hours := chart.Series{Name: "Reached the next stage"}, chart.Series{Name: "Median time"}
	for _, f := range flows {
		label := f.Stage + " → " + f.Next
		conv.Labels, took.Labels = append(conv.Labels, label), append(took.Labels, label)
		v, h := math.NaN(), math.NaN()
		if f.Conversion != nil {
			v = math.Round(*f.Conversion*1000) / 10
		}
		if f.MedianTime != nil {
			h = math.Round(time.Duration(*f.MedianTime).Hours()*10) / 10
		}
		reached.Values, hours.Values = append(reached.Values, v), append(hours.Values, h)
	}
	conv.Series, took.Series = []chart.Series{reached}, []chart.Series{hours}
	add("conversion", conv, chart.HBars, chart.Options{})
	add("time-in-stage", took, chart.HBars, chart.Options{})

	if sources != nil {
		bySource := chart.Data{Title: "MQLs by source, to opportunity and won", Unit: "contacts",
			Desc: "The contacts that became MQLs this period, by the channel of the first campaign that touched them before, and how many have reached an opportunity and a won deal by now."}
		cycle := chart.Data{Title: "Cycle time by source", Unit: "days",
			Desc: "For this period's MQLs that moved on, the median days from MQL to opportunity, from opportunity to won, and from MQL to won."}
		mqls, opps, won := chart.Series{Name: "MQLs"}, chart.Series{Name: "Reached opportunity"}, chart.Series{Name: "Won"}
		toOpp, toWin, whole := chart.Series{Name: "MQL → opportunity"}, chart.Series{Name: "Opportunity → won"}, chart.Series{Name: "MQL → won"}
		days := func(d *report.Duration) float64 {
			if d == nil {
				return math.NaN()
			}
			return math.Round(time.Duration(*d).Hours()/24*10) / 10
		}
		for _, f := range sources.Channels {
			bySource.Labels, cycle.Labels = append(bySource.Labels, f.Source), append(cycle.Labels, f.Source)
			mqls.Values = append(mqls.Values, float64(f.MQLs))
			opps.Values = append(opps.Values, float64(f.Opportunities))
			won.Values = append(won.Values, float64(f.Won))
			toOpp.Values = append(toOpp.Values, days(f.TimeToOpportunity))
			toWin.Values = append(toWin.Values, days(f.TimeToWin))
			whole.Values = append(whole.Values, days(f.Cycle))
		}
		bySource.Series, cycle.Series = []chart.Series{mqls, opps, won}, []chart.Series{toOpp, toWin, whole}
		add("sources", bySource, chart.HBars, chart.Options{})
		add("cycle", cycle, chart.HBars, chart.Options{})
	}

	sla := chart.Data{Title: "Leads answered within the SLA, per rep", Unit: "%",
		Desc: "The share of each rep's leads accepted or rejected before the accept clock ran out."}
	within, breaches := chart.Series{Name: "Within SLA"}, chart.Series{Name: "Breaches"}
	for _, r := range s.Reps {
		sla.Labels = append(sla.Labels, r.Rep)
		v := math.NaN()
		if r.WithinSLAShare != nil {
			v = math.Round(*r.WithinSLAShare*1000) / 10 // percent, for the table and CSV too
		}
		within.Values = append(within.Values, v)
		breaches.Values = append(breaches.Values, float64(r.Breached))
	}
	sla.Series = []chart.Series{within}
	add("sla", sla, chart.HBars, chart.Options{})
	perRep := chart.Data{Title: "SLA breaches per rep", Unit: "breaches", Labels: sla.Labels, Series: []chart.Series{breaches},
		Desc: fmt.Sprintf("%d of %d leads ran out of time before the rep answered.", s.Breached, s.Assigned)}
	add("breaches", perRep, chart.HBars, chart.Options{})

	rejections := chart.Data{Title: "Why sales rejected leads", Unit: "leads",
		Desc: fmt.Sprintf("%d leads rejected this period, by the reason the rep gave.", s.Rejected)}
	reasons := chart.Series{Name: "Rejected"}
	for _, rc := range m.Rejections {
		rejections.Labels = append(rejections.Labels, rc.Reason)
		reasons.Values = append(reasons.Values, float64(rc.Count))
	}
	rejections.Series = []chart.Series{reasons}
	add("rejections", rejections, chart.HBars, chart.Options{})

	overTime := chart.Data{Title: "Rejection reasons week by week", Unit: "leads",
		Desc: "How many leads sales rejected each week, for each reason."}
	for _, wk := range m.RejectionsWeekly {
		overTime.Labels = append(overTime.Labels, wk.From.Format("Jan 2"))
	}
	for i, rc := range m.Rejections {
		sr := chart.Series{Name: rc.Reason}
		for _, wk := range m.RejectionsWeekly {
			sr.Values = append(sr.Values, float64(wk.Counts[i]))
		}
		overTime.Series = append(overTime.Series, sr)
	}
	add("rejections-weekly", overTime, chart.Bars, chart.Options{})

	speed := chart.Data{Title: "Speed to lead: from handoff to the rep's first touch", Unit: "leads",
		Desc: "How long leads handed to sales this period waited for a call, email or meeting, on the wall clock."}
	waited := chart.Series{Name: "Leads"}
	for _, b := range s.SpeedToLead {
		speed.Labels = append(speed.Labels, b.Label)
		waited.Values = append(waited.Values, float64(b.Leads))
	}
	speed.Series = []chart.Series{waited}
	add("speed-to-lead", speed, chart.Bars, chart.Options{})

	// Marketing's side of sales' requests: the turnaround per type, and what still waits.
	rq := rep.Requests
	if rq == nil {
		rq = &report.RequestsReport{}
	}
	onTime := chart.Data{Title: "Sales' requests delivered on time, per type", Unit: "%",
		Desc: fmt.Sprintf("%d requests filed this period, %d delivered, %d on time against the agreement's turnaround.", rq.Filed, rq.Delivered, rq.OnTime)}
	share := chart.Series{Name: "On time"}
	for _, t := range rq.ByType {
		onTime.Labels = append(onTime.Labels, t.Key)
		v := math.NaN()
		if t.OnTimeShare != nil {
			v = math.Round(*t.OnTimeShare*1000) / 10
		}
		share.Values = append(share.Values, v)
	}
	onTime.Series = []chart.Series{share}
	add("requests", onTime, chart.HBars, chart.Options{})
	age := chart.Data{Title: "Open requests by age", Unit: "requests",
		Desc: "Requests filed this period that marketing has not delivered or the requester not confirmed, by how long ago they were filed."}
	open := chart.Series{Name: "Open"}
	for _, c := range rq.OpenByAge {
		age.Labels = append(age.Labels, c.Key)
		open.Values = append(open.Values, float64(c.Count))
	}
	age.Series = []chart.Series{open}
	add("requests-age", age, chart.Bars, chart.Options{})
	return rep, figs, nil
}

// reports is the shared report page: every chart with its numbers and CSV.
func (a *App) reports(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	rep, figs, err := a.figures(r.Context(), q.Get("at"), q.Get("per"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "reports", page{Title: "Reports", Data: reportsData{Report: rep, Figures: figs, Per: q.Get("per"), At: q.Get("at")}})
}

// reportCSV downloads one chart's numbers.
func (a *App) reportCSV(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, figs, err := a.figures(r.Context(), q.Get("at"), q.Get("per"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(figs, func(f figure) bool { return f.Key == r.PathValue("chart") })
	if i < 0 {
		a.fail(w, r, tandem.Errorf(tandem.ENotFound, "no chart %q", r.PathValue("chart")))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="tandem-%s.csv"`, figs[i].Key))
	if err := chart.WriteCSV(w, figs[i].Data); err != nil {
		a.log.Error("csv", "chart", figs[i].Key, "err", err)
	}
}

// home is each team's dashboard: the same figures, the team's own first, and for a rep
// their queue.
func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	ctx := r.Context()
	var d reportsData
	rep, figs, err := a.figures(ctx, "", "")
	switch {
	case err == nil:
		d.Report, d.Figures = rep, figs
	case tandem.ErrorCode(err) != tandem.ENotFound: // no agreement yet: the page says so
		a.fail(w, r, err)
		return
	}
	if s.role == tandem.RoleSales {
		// Sales sees its own side first.
		own := []string{"sla", "breaches", "speed-to-lead", "rejections"}
		slices.SortStableFunc(d.Figures, func(x, y figure) int {
			return cmp.Compare(rank(own, x.Key), rank(own, y.Key))
		})
	}
	if s.user.Team == tandem.TeamSales {
		open, err := a.store.Assignments(ctx, tandem.AssignmentFilter{Rep: s.user.Email, Open: true}, tandem.Page{Limit: 1000})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		d.Queue = len(open)
		for _, as := range open {
			if as.Due != nil && as.Due.Before(a.now()) {
				d.Overdue++
			}
		}
	}
	a.render(w, r, http.StatusOK, "home", page{Title: "Home", Data: d})
}

// rank is the place of key in keys, and after them all when it is not there.
func rank(keys []string, key string) int {
	if i := slices.Index(keys, key); i >= 0 {
		return i
	}
	return len(keys)
}
