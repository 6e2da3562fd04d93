package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"tandem"
	"tandem/report"
)

// SourceConversion is how the MQLs of a period converted, by the source they came
// through: the channel, and the campaign, of their first campaign touch before they
// qualified ("none" without one).
type SourceConversion struct {
	Period    report.Period         `json:"period"`
	Stages    [3]string             `json:"stages"`
	Channels  []report.SourceFunnel `json:"channels"`
	Campaigns []report.SourceFunnel `json:"campaigns"`
}

// NoSource is the source of MQLs no campaign touched before they qualified.
const NoSource = "none"

// SourceConversion follows the contacts that first became MQLs (entered the active
// agreement's handoff stage) in the period — a month or quarter holding the day when
// names, as for StageFlows — to the stage entered on opportunity_created and the one
// entered on opportunity_won, by now, grouped by source.
func (db *DB) SourceConversion(ctx context.Context, when, per string) (*SourceConversion, error) {
	act, err := db.activeIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	if act == nil {
		return nil, tandem.Errorf(tandem.ENotFound, "no agreement is active yet: conversion needs its stages")
	}
	a := act.agreement
	at, err := reportDay(when, db.Now(), a.Timezone)
	if err != nil {
		return nil, err
	}
	if per == "" {
		per = a.SLA.Marketing.MQLTarget.Per
	}
	if per != "" && per != "month" && per != "quarter" {
		return nil, tandem.Errorf(tandem.EInvalid, "per: want month or quarter, got %q", per)
	}
	sc := &SourceConversion{Period: report.PeriodOf(per, at, a.Timezone), Channels: []report.SourceFunnel{}, Campaigns: []report.SourceFunnel{}}
	sc.Stages[0] = a.Handoff()
	for _, s := range a.Stages {
		switch s.EnterOn {
		case "opportunity_created":
			sc.Stages[1] = s.Key
		case "opportunity_won":
			sc.Stages[2] = s.Key
		}
	}
	if sc.Stages[0] == "" || sc.Stages[1] == "" || sc.Stages[2] == "" {
		return nil, tandem.Errorf(tandem.ENotFound, "the active agreement needs a handoff stage and stages entered on opportunity_created and opportunity_won")
	}
	from, to := micros(sc.Period.From), micros(sc.Period.To)

	// The MQLs: each contact's first entry into the handoff stage in the period.
	type journey struct{ mql, opportunity, won int64 }
	people := map[int64]*journey{}
	rows, err := db.read.QueryContext(ctx, `SELECT contact_id, min(at) FROM stage_changes WHERE to_stage = $1 AND at >= $2 AND at < $3
		GROUP BY contact_id`, sc.Stages[0], from, to)
	if err != nil {
		return nil, fmt.Errorf("source conversion: %w", err)
	}
	for rows.Next() {
		var id, mql int64
		if err := rows.Scan(&id, &mql); err != nil {
			rows.Close()
			return nil, fmt.Errorf("source conversion: %w", err)
		}
		people[id] = &journey{mql: mql}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source conversion: %w", err)
	}
	// Their first entries into the deal stages after they qualified.
	rows, err = db.read.QueryContext(ctx, `SELECT contact_id, to_stage, at FROM stage_changes WHERE to_stage IN ($1, $2) AND at >= $3`,
		sc.Stages[1], sc.Stages[2], from)
	if err != nil {
		return nil, fmt.Errorf("source conversion: %w", err)
	}
	for rows.Next() {
		var (
			id, at int64
			stage  string
		)
		if err := rows.Scan(&id, &stage, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("source conversion: %w", err)
		}
		j := people[id]
		if j == nil || at < j.mql {
			continue
		}
		p := &j.opportunity
		if stage == sc.Stages[2] {
			p = &j.won
		}
		if *p == 0 || at < *p {
			*p = at
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source conversion: %w", err)
	}

	// Their sources: the first campaign touch before each qualified.
	campaigns, err := campaignsIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	type source struct{ channel, campaign string }
	sources := map[int64]source{}
	mqls := func(col string) (string, []any) {
		return col + ` IN (SELECT contact_id FROM stage_changes WHERE to_stage = $1 AND at >= $2 AND at < $3)`, []any{sc.Stages[0], from, to}
	}
	set, err := contactTouches(ctx, db.read, db.dialect, newTouchMatcher(campaigns), mqls)
	if err != nil {
		return nil, fmt.Errorf("source conversion: %w", err)
	}
	for id, touches := range set {
		if j := people[id]; j != nil && len(touches) > 0 && micros(touches[0].At) <= j.mql {
			sources[id] = source{touches[0].Channel, touches[0].Campaign}
		}
	}

	type times struct {
		mqls                        int
		toOpportunity, toWin, cycle []time.Duration
	}
	byChannel, byCampaign := map[string]*times{}, map[string]*times{}
	add := func(m map[string]*times, key string, j *journey) {
		t := m[key]
		if t == nil {
			t = &times{}
			m[key] = t
		}
		t.mqls++
		opportunity := j.opportunity
		if opportunity == 0 || (j.won != 0 && j.won < opportunity) {
			opportunity = j.won // won without a recorded opportunity: it had one
		}
		if opportunity != 0 {
			t.toOpportunity = append(t.toOpportunity, time.Duration(opportunity-j.mql)*time.Microsecond)
		}
		if j.won != 0 {
			t.toWin = append(t.toWin, time.Duration(j.won-opportunity)*time.Microsecond)
			t.cycle = append(t.cycle, time.Duration(j.won-j.mql)*time.Microsecond)
		}
	}
	for id, j := range people {
		s, ok := sources[id]
		if !ok {
			s = source{NoSource, NoSource}
		}
		add(byChannel, s.channel, j)
		add(byCampaign, s.campaign, j)
	}
	funnels := func(m map[string]*times) []report.SourceFunnel {
		list := []report.SourceFunnel{}
		for key, t := range m {
			list = append(list, report.Funnel(key, t.mqls, t.toOpportunity, t.toWin, t.cycle))
		}
		// Most MQLs first; "none" after the sources with as many.
		slices.SortFunc(list, func(x, y report.SourceFunnel) int {
			return cmp.Or(cmp.Compare(y.MQLs, x.MQLs), cmp.Compare(none(x.Source), none(y.Source)), strings.Compare(x.Source, y.Source))
		})
		return list
	}
	sc.Channels, sc.Campaigns = funnels(byChannel), funnels(byCampaign)
	return sc, nil
}

// none is 1 for NoSource, 0 for a source.
func none(source string) int {
	if source == NoSource {
		return 1
	}
	return 0
}
