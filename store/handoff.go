package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/lifecycle"
	"tandem/routing"
	"tandem/sla"
)

// The handoff: the moment a contact enters the agreement's handoff stage (the MQL), in
// the same transaction that moved it, routing picks a rep, an assignment records who and
// why, its SLA clocks are set as durable jobs, and the notification that tells the rep
// is enqueued. A crash leaves all of it or none of it.

// handOff hands to sales the contacts among scores that entered a's handoff stage and
// have no open assignment.
func (db *DB) handOff(ctx context.Context, tx *sql.Tx, a *active, scores []*contactScore, now time.Time) error {
	var ids []int64
	for _, cs := range qualified(a, scores) {
		ids = append(ids, cs.id)
	}
	if len(ids) == 0 {
		return nil
	}
	open, err := openAssignments(ctx, tx, db.dialect, ids)
	if err != nil {
		return err
	}
	ids = slices.DeleteFunc(ids, func(id int64) bool { return open[id] })
	if len(ids) == 0 {
		return nil
	}
	byID := make(map[int64]*contactScore, len(scores))
	for _, cs := range scores {
		byID[cs.id] = cs
	}
	people, accounts, err := loadPeople(ctx, tx, db.dialect, ids)
	if err != nil {
		return err
	}
	r, err := db.newRouter(ctx, tx, a, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p := people[id]
		if p == nil {
			continue // merged away in this transaction
		}
		cs := byID[id]
		lead := r.lead(p, accounts[p.accountID], cs)
		if _, err := r.assign(ctx, lead, nil, 0); err != nil {
			return err
		}
	}
	return r.save(ctx)
}

// qualified returns the scores whose contacts entered the stage that hands a lead off.
func qualified(a *active, scores []*contactScore) []*contactScore {
	key := a.agreement.Handoff()
	if key == "" {
		return nil
	}
	var out []*contactScore
	for _, cs := range scores {
		if slices.ContainsFunc(cs.changes, func(c lifecycle.Change) bool { return c.To == key }) {
			out = append(out, cs)
		}
	}
	return out
}

// openAssignments reports which of ids have an open assignment.
func openAssignments(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]bool, error) {
	open := map[int64]bool{}
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("contact_id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT contact_id FROM assignments WHERE status IN ('unassigned', 'assigned', 'accepted') AND `+cond, arg)
		if err != nil {
			return nil, fmt.Errorf("open assignments: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("open assignments: %w", err)
			}
			open[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("open assignments: %w", err)
		}
	}
	return open, nil
}

// router routes leads within one transaction: it holds the reps as they are now, the
// locked round-robin state, and the calendar the SLA clocks run on.
type router struct {
	db       *DB
	tx       *sql.Tx
	a        *active
	now      time.Time
	cal      *sla.Calendar
	reps     map[string]routing.Rep
	managers map[string]string // rep email → their manager's
	fallback string
	state    routing.State
	dirty    map[string]bool // teams whose rotation changed
}

// lead is what routing and notifications need to know of a contact.
type lead struct {
	contactID int64
	email     string
	name      string
	facts     agreement.Facts
}

func (db *DB) newRouter(ctx context.Context, tx *sql.Tx, a *active, now time.Time) (*router, error) {
	cal, err := sla.New(a.agreement.Hours, a.agreement.Timezone)
	if err != nil {
		return nil, fmt.Errorf("agreement v%d business hours: %w", a.version, err)
	}
	r := &router{db: db, tx: tx, a: a, now: now, cal: cal, reps: map[string]routing.Rep{},
		managers: map[string]string{}, dirty: map[string]bool{}}
	// The rotations' lock comes first: it also serializes what loadReps counts (the
	// leads each rep got today), so two nodes cannot both give a rep their last lead.
	if err := r.lockRotations(ctx); err != nil {
		return nil, err
	}
	if err := r.loadReps(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// loadReps reads the sales users as routing sees them now: available unless inactive
// or away, with the leads they were given since the start of today in the agreement's
// timezone. The fallback owner is the agreement's escalation manager if it names one,
// else the first active sales manager by email.
func (r *router) loadReps(ctx context.Context) error {
	rows, err := r.tx.QueryContext(ctx, `SELECT email, role, manager, daily_cap, active,
		EXISTS (SELECT 1 FROM away WHERE away.user_id = users.id AND starts_at <= $1 AND ends_at > $1)
		FROM users WHERE team = 'sales' ORDER BY email`, micros(r.now))
	if err != nil {
		return fmt.Errorf("load reps: %w", err)
	}
	defer rows.Close()
	firstManager := ""
	for rows.Next() {
		var (
			email, role, manager string
			limit                int
			active, away         bool
		)
		if err := rows.Scan(&email, &role, &manager, &limit, &active, &away); err != nil {
			return fmt.Errorf("load reps: %w", err)
		}
		r.reps[email] = routing.Rep{Email: email, Available: active && !away, Cap: limit}
		r.managers[email] = manager
		if firstManager == "" && active && role == string(tandem.UserManager) {
			firstManager = email
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load reps: %w", err)
	}
	r.fallback = r.a.agreement.SLA.Sales.EscalateTo
	if r.fallback == "" {
		r.fallback = firstManager
	}
	y, m, d := r.now.In(r.a.agreement.Timezone).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, r.a.agreement.Timezone)
	// Counted here rather than grouped by rep in SQL: SQLite grouped by walking the
	// index by rep, every assignment ever made, where the range of today's is a few.
	given, err := r.tx.QueryContext(ctx, `SELECT rep FROM assignments WHERE assigned_at >= $1 AND rep <> ''`, micros(today))
	if err != nil {
		return fmt.Errorf("leads given today: %w", err)
	}
	defer given.Close()
	for given.Next() {
		var rep string
		if err := given.Scan(&rep); err != nil {
			return fmt.Errorf("leads given today: %w", err)
		}
		if x, ok := r.reps[rep]; ok {
			x.AssignedToday++
			r.reps[rep] = x
		}
	}
	return given.Err()
}

// lockRotations reads the round-robin state of the agreement's teams, locking it until
// the transaction ends so that no other node gives away the same turn.
func (r *router) lockRotations(ctx context.Context) error {
	for _, t := range r.a.agreement.Teams {
		if _, err := r.tx.ExecContext(ctx, `INSERT INTO rotations (team, state, updated_at) VALUES ($1, '{}', $2) ON CONFLICT (team) DO NOTHING`,
			t.Name, micros(r.now)); err != nil {
			return fmt.Errorf("rotations: %w", err)
		}
	}
	rows, err := r.tx.QueryContext(ctx, `SELECT team, state FROM rotations ORDER BY team`+r.db.dialect.forUpdate())
	if err != nil {
		return fmt.Errorf("rotations: %w", err)
	}
	defer rows.Close()
	r.state.Teams = map[string]routing.Rotation{}
	for rows.Next() {
		var (
			team, raw string
			rot       routing.Rotation
		)
		if err := rows.Scan(&team, &raw); err != nil {
			return fmt.Errorf("rotations: %w", err)
		}
		if err := json.Unmarshal([]byte(raw), &rot); err != nil {
			return fmt.Errorf("rotation of team %s: %w", team, err)
		}
		r.state.Teams[team] = rot
	}
	return rows.Err()
}

// save writes the rotations that changed.
func (r *router) save(ctx context.Context) error {
	for team := range r.dirty {
		raw, err := json.Marshal(r.state.Teams[team])
		if err != nil {
			return fmt.Errorf("rotation of team %s: %w", team, err)
		}
		if _, err := r.tx.ExecContext(ctx, `UPDATE rotations SET state = $1, updated_at = $2 WHERE team = $3`, string(raw), micros(r.now), team); err != nil {
			return fmt.Errorf("rotation of team %s: %w", team, err)
		}
	}
	return nil
}

// lead builds what routing rules see of a contact scored as cs.
func (r *router) lead(p *person, acc *accountFacts, cs *contactScore) *lead {
	prof := profile(p.email, decodeObject([]byte(p.traits)), acc)
	l := &lead{contactID: p.cs.id, email: p.email, facts: agreement.Facts{
		Contact: prof.Contact, Traits: prof.Traits, Account: prof.Account,
	}}
	if cs == nil {
		cs = p.cs
		cs.fit, cs.eng = p.stored.fit, p.stored.eng
		cs.grade = p.stored.grade
	}
	eng := round2(r.a.model.Current(cs.eng, r.now))
	l.facts.Score = agreement.Score{Fit: cs.fit, Engagement: eng, Total: round2(cs.fit + eng)}
	l.facts.Grade, l.facts.Stage = cs.grade, cs.state.Stage
	l.name = displayName(prof.Traits)
	return l
}

// displayName is how notifications name a person: their name trait, or first and last.
func displayName(traits map[string]any) string {
	if n := strings.TrimSpace(traitString(traits, "name")); n != "" {
		return n
	}
	return strings.TrimSpace(traitString(traits, "first_name") + " " + traitString(traits, "last_name"))
}

// assign routes l and records the assignment, its SLA jobs and its notification.
// exclude lists reps who may not get the lead (those it was taken from after a
// breach); previous is the assignment it takes over from, zero for none.
func (r *router) assign(ctx context.Context, l *lead, exclude []string, previous int64) (int64, error) {
	reps := r.reps
	if len(exclude) > 0 {
		reps = make(map[string]routing.Rep, len(r.reps))
		for k, v := range r.reps {
			if slices.Contains(exclude, k) {
				v.Available = false
			}
			reps[k] = v
		}
	}
	d := routing.Decide(r.a.agreement, &l.facts, l.facts.Account.Owner, reps, &r.state, r.fallback)
	if d.Team != "" {
		r.dirty[d.Team] = true
	}
	for _, e := range exclude {
		d.Skipped = append(d.Skipped, e+": had the lead before")
	}
	return r.record(ctx, l, d, previous)
}

// record stores the assignment of l that d decided, starts its clocks and tells the rep.
func (r *router) record(ctx context.Context, l *lead, d routing.Decision, previous int64) (int64, error) {
	skipped, err := json.Marshal(orEmptyList(d.Skipped))
	if err != nil {
		return 0, err
	}
	sales := r.a.agreement.SLA.Sales
	status := tandem.AssignmentAssigned
	var acceptDue, touchDue, due any
	if d.Rep == "" {
		status = tandem.AssignmentUnassigned
	} else {
		x := r.reps[d.Rep]
		x.AssignedToday++
		r.reps[d.Rep] = x
		if sales.AcceptWithin > 0 {
			acceptDue = micros(r.cal.Add(r.now, sales.AcceptWithin))
			due = acceptDue
		}
		if sales.FirstTouchWithin > 0 {
			touchDue = micros(r.cal.Add(r.now, sales.FirstTouchWithin))
			if due == nil {
				due = touchDue
			}
		}
	}
	var id int64
	err = r.tx.QueryRowContext(ctx, `INSERT INTO assignments (contact_id, rep, status, route, reason, skipped, version, assigned_at,
		accept_due_at, touch_due_at, due_at, previous_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		l.contactID, d.Rep, status, d.Route, d.Reason, string(skipped), r.a.version, micros(r.now),
		acceptDue, touchDue, due, nullID(previous)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("assign contact %d: %w", l.contactID, err)
	}
	if d.Rep != "" && sales.AcceptWithin > 0 {
		if sales.WarnBefore > 0 && sales.WarnBefore < sales.AcceptWithin {
			warn := r.cal.Add(r.now, sales.AcceptWithin-sales.WarnBefore)
			if err := enqueue(ctx, r.tx, r.db, jobWarn, jobRef{Assignment: id}, id, warn, r.now); err != nil {
				return 0, err
			}
		}
		if err := enqueue(ctx, r.tx, r.db, jobBreach, jobRef{Assignment: id}, id, fromMicros(acceptDue.(int64)), r.now); err != nil {
			return 0, err
		}
	}
	typ := "lead.assigned"
	if d.Rep == "" {
		typ = "lead.unassigned"
	}
	n := leadNotice(typ, l, id, d.Rep, r.managers[d.Rep])
	n.data["route"], n.data["reason"] = d.Route, d.Reason
	if acceptDue != nil {
		n.data["accept_due"] = fromMicros(acceptDue.(int64))
		n.text += "\nAccept or reject by " + fromMicros(acceptDue.(int64)).In(r.a.agreement.Timezone).Format("Mon 2 Jan 15:04 MST") + "."
	}
	n.text += "\nRouted by " + d.Reason + "."
	return id, r.db.notify(ctx, r.tx, n, r.now)
}

func orEmptyList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
