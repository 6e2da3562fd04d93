package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"tandem"
	"tandem/report"
)

// StageFlows follows the contacts that entered each funnel stage of the active agreement
// in the period (a month or quarter, as for SLAReport, holding on the day when names) to
// the next funnel stage: how many entered, how many moved on by now, and the median
// time they took. Recycled contacts that enter a stage again count again.
func (db *DB) StageFlows(ctx context.Context, when, per string) (report.Period, []report.StageFlow, error) {
	act, err := db.activeIn(ctx, db.read)
	if err != nil {
		return report.Period{}, nil, err
	}
	if act == nil {
		return report.Period{}, nil, tandem.Errorf(tandem.ENotFound, "no agreement is active yet: the funnel needs its stages")
	}
	a := act.agreement
	at, err := reportDay(when, db.Now(), a.Timezone)
	if err != nil {
		return report.Period{}, nil, err
	}
	if per == "" {
		per = a.SLA.Marketing.MQLTarget.Per
	}
	if per != "" && per != "month" && per != "quarter" {
		return report.Period{}, nil, tandem.Errorf(tandem.EInvalid, "per: want month or quarter, got %q", per)
	}
	period := report.PeriodOf(per, at, a.Timezone)
	var funnel []string
	for _, s := range a.Stages {
		if !s.Detour {
			funnel = append(funnel, s.Key)
		}
	}
	flows := []report.StageFlow{}
	for i := 0; i+1 < len(funnel); i++ {
		stage, next := funnel[i], funnel[i+1]
		var entered int
		if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM stage_changes WHERE to_stage = $1 AND at >= $2 AND at < $3`,
			stage, micros(period.From), micros(period.To)).Scan(&entered); err != nil {
			return period, nil, fmt.Errorf("stage flow: %w", err)
		}
		// Each entry into the next stage since the period began, with the latest entry
		// into this stage before it. Read from the next stage's side, which has far fewer
		// entries than the top of the funnel, looking each contact up by its own index.
		rows, err := db.read.QueryContext(ctx, `SELECT t.contact_id, t.at, (SELECT max(s.at) FROM stage_changes s
				WHERE s.contact_id = t.contact_id AND s.to_stage = $1 AND s.at <= t.at)
			FROM stage_changes t WHERE t.to_stage = $2 AND t.at >= $3 ORDER BY t.at`, stage, next, micros(period.From))
		if err != nil {
			return period, nil, fmt.Errorf("stage flow: %w", err)
		}
		var waits []time.Duration
		// An entry moves on once: a contact recycled and back in the next stage without
		// entering this one again does not count it twice.
		type entry struct{ contact, at int64 }
		used := map[entry]bool{}
		for rows.Next() {
			var (
				contact, to int64
				from        sql.NullInt64
			)
			if err := rows.Scan(&contact, &to, &from); err != nil {
				rows.Close()
				return period, nil, fmt.Errorf("stage flow: %w", err)
			}
			e := entry{contact, from.Int64}
			if from.Valid && from.Int64 >= micros(period.From) && from.Int64 < micros(period.To) && !used[e] {
				used[e] = true
				waits = append(waits, time.Duration(to-from.Int64)*time.Microsecond)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return period, nil, fmt.Errorf("stage flow: %w", err)
		}
		flows = append(flows, report.Flow(stage, next, entered, waits))
	}
	return period, flows, nil
}

// reportDay reads when (a date in loc, an RFC 3339 time, or empty for now) as the day a
// report's period holds.
func reportDay(when string, now time.Time, loc *time.Location) (time.Time, error) {
	if when == "" {
		return now, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, when, loc); err == nil {
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, when)
	if err != nil {
		return time.Time{}, tandem.Errorf(tandem.EInvalid, "at: want a date (2006-01-02) or an RFC 3339 time, got %q", when)
	}
	return t, nil
}
