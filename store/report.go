package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"tandem"
	"tandem/report"
	"tandem/sla"
)

// SLAReport returns both teams' figures for the period of marketing's target (a month
// or a quarter, per the active agreement, or per when not empty) that holds on the day
// when names (a date, read in the agreement's timezone, or an RFC 3339 time; empty for
// now): sales' speed and SLA compliance in accepting leads, and marketing's MQL
// production against target with the reasons sales rejected leads.
func (db *DB) SLAReport(ctx context.Context, when, per string) (*report.SLAReport, error) {
	act, err := db.activeIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	if act == nil {
		return nil, tandem.Errorf(tandem.ENotFound, "no agreement is active yet: the SLA report needs its terms")
	}
	a := act.agreement
	cal, err := sla.New(a.Hours, a.Timezone)
	if err != nil {
		return nil, fmt.Errorf("agreement v%d business hours: %w", act.version, err)
	}
	now := db.Now()
	at, err := reportDay(when, now, a.Timezone)
	if err != nil {
		return nil, err
	}
	if per == "" {
		per = a.SLA.Marketing.MQLTarget.Per
	}
	if per != "" && per != "month" && per != "quarter" {
		return nil, tandem.Errorf(tandem.EInvalid, "per: want month or quarter, got %q", per)
	}
	period := report.PeriodOf(per, at, a.Timezone)
	target := a.SLA.Marketing.MQLTarget
	if target.Per != "" && target.Per != per {
		// A quarterly target read by the month is a third of it, and the reverse.
		switch per {
		case "month":
			target.Count = int(math.Round(float64(target.Count) / 3))
		case "quarter":
			target.Count *= 3
		}
		target.Per = per
	}
	in := report.Input{Period: period, Now: now, Calendar: cal, Location: a.Timezone, Target: target, Reasons: a.Recycle.Reasons}
	if key := a.Handoff(); key != "" {
		rows, err := db.read.QueryContext(ctx, `SELECT at FROM stage_changes WHERE to_stage = $1 AND at >= $2 AND at < $3 ORDER BY at`,
			key, micros(period.From), micros(period.To))
		if err != nil {
			return nil, fmt.Errorf("sla report: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var t int64
			if err := rows.Scan(&t); err != nil {
				return nil, fmt.Errorf("sla report: %w", err)
			}
			in.MQLs = append(in.MQLs, fromMicros(t))
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sla report: %w", err)
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, rep, assigned_at, accept_due_at, accepted_at, rejected_at, reject_reason,
		first_touch_at, touch_due_at, breached_at FROM assignments WHERE assigned_at >= $1 AND assigned_at < $2 AND rep <> '' ORDER BY id`,
		micros(period.From), micros(period.To))
	if err != nil {
		return nil, fmt.Errorf("sla report: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			x                                report.Assignment
			assigned                         int64
			due, acc, rej, touch, tdue, brch sql.NullInt64
		)
		if err := rows.Scan(&x.ID, &x.Rep, &assigned, &due, &acc, &rej, &x.Reason, &touch, &tdue, &brch); err != nil {
			return nil, fmt.Errorf("sla report: %w", err)
		}
		x.AssignedAt = fromMicros(assigned)
		x.DueAt, x.AcceptedAt, x.RejectedAt = zeroTime(due), zeroTime(acc), zeroTime(rej)
		x.FirstTouchAt, x.TouchDueAt, x.Breached = zeroTime(touch), zeroTime(tdue), brch.Valid
		in.Assignments = append(in.Assignments, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sla report: %w", err)
	}
	r := report.SLA(in)
	rq, err := db.requestsReport(ctx, period, now, cal, a.Handoff())
	if err != nil {
		return nil, err
	}
	r.Requests = rq
	return &r, nil
}

// requestsReport sums up the requests filed in period: turnaround against the
// agreement per type and per assignee, open requests by age, requests per rep, and for
// requests of leads at target accounts the MQLs those accounts produced since.
func (db *DB) requestsReport(ctx context.Context, period report.Period, now time.Time, cal *sla.Calendar, handoff string) (*report.RequestsReport, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+requestColumns+` FROM requests WHERE created_at >= $1 AND created_at < $2 ORDER BY id`,
		micros(period.From), micros(period.To))
	if err != nil {
		return nil, fmt.Errorf("requests report: %w", err)
	}
	var list []*tandem.Request
	for rows.Next() {
		q, err := scanRequest(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("requests report: %w", err)
		}
		list = append(list, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("requests report: %w", err)
	}
	in := report.RequestsInput{Now: now, Calendar: cal, LeadsType: tandem.LeadsRequestType}
	for _, q := range list {
		row := report.RequestRow{ID: q.ID, Type: q.Type, Title: q.Title, Requester: q.Requester, Assignee: q.Assignee,
			Open: q.Status.Open(), Declined: q.Status == tandem.RequestDeclined, CreatedAt: q.CreatedAt, Accounts: len(q.Accounts)}
		if q.DueAt != nil {
			row.DueAt = *q.DueAt
		}
		if q.DeliveredAt != nil {
			row.DeliveredAt = *q.DeliveredAt
		}
		if q.Type == tandem.LeadsRequestType && len(q.Accounts) > 0 && handoff != "" {
			cond, arg := db.dialect.inIDs("c.account_id", 3, q.Accounts)
			if err := db.read.QueryRowContext(ctx, `SELECT count(DISTINCT sc.contact_id) FROM stage_changes sc JOIN contacts c ON c.id = sc.contact_id
				WHERE sc.to_stage = $1 AND sc.at >= $2 AND `+cond, handoff, micros(q.CreatedAt), arg).Scan(&row.MQLs); err != nil {
				return nil, fmt.Errorf("requests report: %w", err)
			}
		}
		in.Requests = append(in.Requests, row)
	}
	r := report.Requests(in)
	return &r, nil
}

func zeroTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}
