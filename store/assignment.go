package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/lifecycle"
	"tandem/routing"
)

const assignmentColumns = `id, contact_id, rep, status, route, reason, skipped, version, assigned_at, accept_due_at, touch_due_at,
	due_at, accepted_at, rejected_at, reject_reason, qualified_at, first_touch_at, breached_at, escalated_to, closed_at, previous_id, acted_by`

func scanAssignment(s interface{ Scan(...any) error }) (*tandem.Assignment, error) {
	var (
		a                                      tandem.Assignment
		skipped                                string
		assigned                               int64
		acceptDue, touchDue, due, accepted     sql.NullInt64
		rejected, qualified, touched, breached sql.NullInt64
		closed, previous                       sql.NullInt64
	)
	if err := s.Scan(&a.ID, &a.ContactID, &a.Rep, &a.Status, &a.Route, &a.Reason, &skipped, &a.Version, &assigned,
		&acceptDue, &touchDue, &due, &accepted, &rejected, &a.RejectReason, &qualified, &touched, &breached,
		&a.EscalatedTo, &closed, &previous, &a.ActedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(skipped), &a.Skipped); err != nil {
		return nil, err
	}
	a.AssignedAt = fromMicros(assigned)
	a.AcceptDue, a.TouchDue, a.Due = optTime(acceptDue), optTime(touchDue), optTime(due)
	a.AcceptedAt, a.RejectedAt, a.QualifiedAt = optTime(accepted), optTime(rejected), optTime(qualified)
	a.FirstTouchAt, a.BreachedAt, a.ClosedAt = optTime(touched), optTime(breached), optTime(closed)
	if previous.Valid {
		a.PreviousID = &previous.Int64
	}
	return &a, nil
}

func optTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// Assignment returns one assignment.
func (db *DB) Assignment(ctx context.Context, id int64) (*tandem.Assignment, error) {
	return assignmentIn(ctx, db.read, id, "")
}

func assignmentIn(ctx context.Context, q querier, id int64, lock string) (*tandem.Assignment, error) {
	return rowByID(ctx, q, "assignment", `SELECT `+assignmentColumns+` FROM assignments WHERE id = $1`, id, lock, scanAssignment)
}

// Assignments lists assignments sorted by the deadline still running on them, soonest
// (or most overdue) first, those without one last: a rep's queue. Page.AfterTime and
// Page.After continue after the last row of the previous page.
func (db *DB) Assignments(ctx context.Context, f tandem.AssignmentFilter, p tandem.Page) ([]*tandem.Assignment, error) {
	const never = int64(1<<62 - 1)
	var (
		where []string
		args  []any
	)
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Rep != "" {
		arg("rep = $%d", strings.ToLower(f.Rep))
	}
	if f.ContactID != 0 {
		arg("contact_id = $%d", f.ContactID)
	}
	switch {
	case f.Status != "":
		arg("status = $%d", f.Status)
	case f.Open:
		where = append(where, "status IN ('unassigned', 'assigned', 'accepted')")
	}
	if p.After != 0 {
		after := never
		if !p.AfterTime.IsZero() {
			after = micros(p.AfterTime)
		}
		args = append(args, after, p.After)
		where = append(where, fmt.Sprintf("(COALESCE(due_at, %d), id) > ($%d, $%d)", never, len(args)-1, len(args)))
	}
	q := `SELECT ` + assignmentColumns + ` FROM assignments`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, p.Limit)
	q += fmt.Sprintf(` ORDER BY COALESCE(due_at, %d), id LIMIT $%d`, never, len(args))
	return rowsOf(ctx, db.read, "assignments", q, args, scanAssignment)
}

// act runs a sales action on an assignment in one transaction: fn checks the action
// is allowed and returns the assignment's new column values; the contact moves to the
// stage the action enters (or back to marketing, for a recycle) in the same commit.
func (db *DB) act(ctx context.Context, id int64, by tandem.Actor, fn func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error) (*tandem.Assignment, error) {
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		// Stage writes serialize with ingest, which reads a contact's stage and writes
		// it back.
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		a, err := assignmentIn(ctx, tx, id, db.dialect.forUpdate())
		if err != nil {
			return err
		}
		act, err := db.activeIn(ctx, tx)
		if err != nil {
			return err
		}
		if act == nil {
			return tandem.Errorf(tandem.EConflict, "no agreement is active")
		}
		if err := fn(tx, a, act, now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE assignments SET acted_by = $1 WHERE id = $2`, by.Name, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.Assignment(ctx, id)
}

// moveContact applies a stage change to a contact, recording it as any other. With
// recycle, the contact's engagement starts again from zero, so it must earn the
// handoff anew rather than qualify again with the very next page view.
func (db *DB) moveContact(ctx context.Context, tx *sql.Tx, act *active, contactID int64, change func(lifecycle.State) (lifecycle.State, *lifecycle.Change), recycle bool, now time.Time) error {
	var st lifecycle.State
	if err := tx.QueryRowContext(ctx, `SELECT stage, funnel_stage FROM contacts WHERE id = $1`, contactID).Scan(&st.Stage, &st.Funnel); err != nil {
		return fmt.Errorf("contact %d: %w", contactID, err)
	}
	next, c := change(st)
	if c == nil && !recycle {
		return nil
	}
	if db.scores != nil {
		db.scores.forget(contactID)
	}
	if recycle {
		db.recycled.Store(recycledSome)
	}
	q := `UPDATE contacts SET stage = $1, funnel_stage = $2, stage_at = $3 WHERE id = $4`
	if recycle {
		q = `UPDATE contacts SET stage = $1, funnel_stage = $2, stage_at = $3, score_eng = 0, score_caps = '{}', engaged_since = $3 WHERE id = $4`
	}
	if _, err := tx.ExecContext(ctx, q, next.Stage, next.Funnel, micros(now), contactID); err != nil {
		return fmt.Errorf("move contact %d: %w", contactID, err)
	}
	if recycle {
		// Its engagement counts from now: the score record's hits before do not.
		if err := markStale(ctx, tx.ExecContext, contactID); err != nil {
			return err
		}
	}
	if c == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO stage_changes (contact_id, from_stage, to_stage, at, cause, version) VALUES ($1, $2, $3, $4, $5, $6)`,
		contactID, c.From, c.To, micros(now), c.Cause, act.version)
	return err
}

// salesAction moves an assignment's contact to the stage the action enters.
func (db *DB) salesAction(ctx context.Context, tx *sql.Tx, act *active, contactID int64, action string, now time.Time) error {
	var actErr error
	err := db.moveContact(ctx, tx, act, contactID, func(st lifecycle.State) (lifecycle.State, *lifecycle.Change) {
		next, c, err := lifecycle.Act(act.agreement, st, action)
		actErr = err
		return next, c
	}, false, now)
	if actErr != nil {
		return tandem.Errorf(tandem.EConflict, "agreement v%d: %v", act.version, actErr)
	}
	return err
}

// Accept records that the rep accepts the lead: the contact enters the stage entered
// on accept (SAL) and the accept clock stops.
func (db *DB) Accept(ctx context.Context, id int64, by tandem.Actor) (*tandem.Assignment, error) {
	return db.act(ctx, id, by, func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error {
		if a.Status != tandem.AssignmentAssigned {
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s: only an assigned lead can be accepted", id, a.Status)
		}
		if err := db.salesAction(ctx, tx, act, a.ContactID, "accept", now); err != nil {
			return err
		}
		due := any(nil)
		if a.FirstTouchAt == nil && a.TouchDue != nil {
			due = micros(*a.TouchDue)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'accepted', accepted_at = $1, due_at = $2 WHERE id = $3`,
			micros(now), due, id); err != nil {
			return err
		}
		return cancelJobs(ctx, tx, id, now)
	})
}

// Qualify records that the rep qualified the lead (SQL). A lead not yet accepted is
// accepted by it too.
func (db *DB) Qualify(ctx context.Context, id int64, by tandem.Actor) (*tandem.Assignment, error) {
	return db.act(ctx, id, by, func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error {
		if a.Status != tandem.AssignmentAssigned && a.Status != tandem.AssignmentAccepted {
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s: only an assigned or accepted lead can be qualified", id, a.Status)
		}
		if err := db.salesAction(ctx, tx, act, a.ContactID, "qualify", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'qualified', accepted_at = COALESCE(accepted_at, $1),
			qualified_at = $1, closed_at = $1, due_at = NULL WHERE id = $2`, micros(now), id); err != nil {
			return err
		}
		return cancelJobs(ctx, tx, id, now)
	})
}

// Reject sends the lead back to marketing for one of the agreement's recycle reasons:
// the contact is recycled and marketing is told why.
func (db *DB) Reject(ctx context.Context, id int64, reason string, by tandem.Actor) (*tandem.Assignment, error) {
	return db.act(ctx, id, by, func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error {
		reasons := act.agreement.Recycle.Reasons
		if !slices.Contains(reasons, reason) {
			return &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("reason: want one of %s, got %q", strings.Join(reasons, ", "), reason),
				Fields: []tandem.FieldError{{Pointer: "/reason", Detail: "want one of the agreement's recycle reasons: " + strings.Join(reasons, ", ")}}}
		}
		if a.Status != tandem.AssignmentAssigned && a.Status != tandem.AssignmentAccepted {
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s: only an assigned or accepted lead can be rejected", id, a.Status)
		}
		if act.agreement.Recycle.To == "" {
			return tandem.Errorf(tandem.EConflict, "agreement v%d names no stage to recycle leads to", act.version)
		}
		// The notices show the lead as sales saw it, before its engagement restarts.
		l, manager, err := db.leadOfAssignment(ctx, tx, act, a, now)
		if err != nil {
			return err
		}
		if err := db.moveContact(ctx, tx, act, a.ContactID, func(st lifecycle.State) (lifecycle.State, *lifecycle.Change) {
			next, c := lifecycle.Recycle(act.agreement, st, reason)
			return next, &c
		}, true, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'rejected', rejected_at = $1, reject_reason = $2, closed_at = $1,
			due_at = NULL WHERE id = $3`, micros(now), reason, id); err != nil {
			return err
		}
		if err := cancelJobs(ctx, tx, id, now); err != nil {
			return err
		}
		for _, typ := range []string{"lead.rejected", "lead.recycled"} {
			n := leadNotice(typ, l, id, a.Rep, manager)
			n.data["reason"], n.data["by"] = reason, by.Name
			n.title += ": " + reason
			n.text += "\nReason: " + reason + "."
			if err := db.notify(ctx, tx, n, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddTouch logs a call, email or meeting with the lead. The first one stops the first
// touch clock.
func (db *DB) AddTouch(ctx context.Context, id int64, t tandem.Touch, by tandem.Actor) (*tandem.Touch, error) {
	if !slices.Contains(tandem.TouchKinds, t.Kind) {
		return nil, &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("kind: want call, email or meeting, got %q", t.Kind),
			Fields: []tandem.FieldError{{Pointer: "/kind", Detail: "want call, email or meeting"}}}
	}
	t.Note = strings.TrimSpace(t.Note)
	if len(t.Note) > 2000 {
		return nil, tandem.Errorf(tandem.EInvalid, "note: at most 2000 characters")
	}
	_, err := db.act(ctx, id, by, func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error {
		if t.At.IsZero() {
			t.At = now
		}
		t.At = t.At.UTC().Truncate(time.Microsecond)
		if t.At.After(now.Add(time.Minute)) {
			return tandem.Errorf(tandem.EInvalid, "at: a touch cannot be in the future (%s)", t.At.Format(time.RFC3339))
		}
		if t.At.Before(a.AssignedAt) {
			return tandem.Errorf(tandem.EInvalid, "at: the lead was assigned at %s, after %s", a.AssignedAt.Format(time.RFC3339), t.At.Format(time.RFC3339))
		}
		switch a.Status {
		case tandem.AssignmentAssigned, tandem.AssignmentAccepted, tandem.AssignmentQualified:
		default:
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s: touches are logged on a rep's assigned, accepted or qualified lead", id, a.Status)
		}
		t.AssignmentID, t.By = id, by.Name
		if err := tx.QueryRowContext(ctx, `INSERT INTO touches (assignment_id, kind, at, note, by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			id, t.Kind, micros(t.At), t.Note, by.Name, micros(now)).Scan(&t.ID); err != nil {
			return err
		}
		if a.FirstTouchAt == nil || t.At.Before(*a.FirstTouchAt) {
			// Once touched, an accepted lead has no deadline left.
			_, err := tx.ExecContext(ctx, `UPDATE assignments SET first_touch_at = $1,
				due_at = CASE WHEN status = 'accepted' THEN NULL ELSE due_at END WHERE id = $2`, micros(t.At), id)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// Touches lists an assignment's touches, oldest first.
func (db *DB) Touches(ctx context.Context, id int64) ([]*tandem.Touch, error) {
	if _, err := db.Assignment(ctx, id); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, assignment_id, kind, at, note, by_name FROM touches WHERE assignment_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, fmt.Errorf("touches: %w", err)
	}
	defer rows.Close()
	list := []*tandem.Touch{}
	for rows.Next() {
		var (
			t  tandem.Touch
			at int64
		)
		if err := rows.Scan(&t.ID, &t.AssignmentID, &t.Kind, &at, &t.Note, &t.By); err != nil {
			return nil, fmt.Errorf("touches: %w", err)
		}
		t.At = fromMicros(at)
		list = append(list, &t)
	}
	return list, rows.Err()
}

// leadOf loads what notifications say of a contact.
func (db *DB) leadOf(ctx context.Context, tx *sql.Tx, act *active, contactID int64, now time.Time) (*lead, error) {
	people, accounts, err := loadPeople(ctx, tx, db.dialect, []int64{contactID})
	if err != nil {
		return nil, err
	}
	p := people[contactID]
	if p == nil {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", contactID)
	}
	r := &router{a: act, now: now}
	return r.lead(p, accounts[p.accountID], nil), nil
}

// warn tells the rep that the accept clock of an assignment is about to run out.
func (db *DB) warn(ctx context.Context, j *job) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		a, err := assignmentIn(ctx, tx, j.ref.Assignment, db.dialect.forUpdate())
		if err != nil && tandem.ErrorCode(err) != tandem.ENotFound {
			return err
		}
		if err == nil && a.Status == tandem.AssignmentAssigned && a.BreachedAt == nil {
			act, err := db.activeIn(ctx, tx)
			if err != nil {
				return err
			}
			if act != nil {
				l, manager, err := db.leadOfAssignment(ctx, tx, act, a, now)
				if err != nil {
					return err
				}
				n := leadNotice("sla.warning", l, a.ID, a.Rep, manager)
				if a.AcceptDue != nil {
					n.data["accept_due"] = *a.AcceptDue
					n.text += "\nAccept or reject by " + a.AcceptDue.In(act.agreement.Timezone).Format("Mon 2 Jan 15:04 MST") + "."
				}
				if err := db.notify(ctx, tx, n, now); err != nil {
					return err
				}
			}
		}
		return finishJob(ctx, tx, j, now)
	})
}

// breach acts when an assignment's accept clock runs out before the rep accepted or
// rejected it: the agreement's on_breach reassigns the lead to a rep who has not had it,
// or escalates it to the rep's manager. It acts once: its effect commits with the job.
func (db *DB) breach(ctx context.Context, j *job) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		a, err := assignmentIn(ctx, tx, j.ref.Assignment, db.dialect.forUpdate())
		if err != nil && tandem.ErrorCode(err) != tandem.ENotFound {
			return err
		}
		if err != nil || a.Status != tandem.AssignmentAssigned || a.BreachedAt != nil {
			return finishJob(ctx, tx, j, now) // acted on in time
		}
		if err := finishJob(ctx, tx, j, now); err != nil {
			return err
		}
		act, err := db.activeIn(ctx, tx)
		if err != nil {
			return err
		}
		if act == nil {
			_, err := tx.ExecContext(ctx, `UPDATE assignments SET breached_at = $1 WHERE id = $2`, micros(now), a.ID)
			return err
		}
		r, err := db.newRouter(ctx, tx, act, now)
		if err != nil {
			return err
		}
		l, err := db.leadOf(ctx, tx, act, a.ContactID, now)
		if err != nil {
			return err
		}
		n := leadNotice("sla.breached", l, a.ID, a.Rep, r.managers[a.Rep])
		sales := act.agreement.SLA.Sales
		n.data["on_breach"] = sales.OnBreach
		if sales.OnBreach == "escalate" {
			to := sales.EscalateTo
			if to == "" {
				to = r.managers[a.Rep]
			}
			if to == "" {
				to = r.fallback // the first sales manager: someone must hear of it
			}
			if _, err := tx.ExecContext(ctx, `UPDATE assignments SET breached_at = $1, escalated_to = $2 WHERE id = $3`, micros(now), to, a.ID); err != nil {
				return err
			}
			n.manager, n.data["escalated_to"] = to, to
			n.text += "\nEscalated to " + orDash(to) + "."
			return db.notify(ctx, tx, n, now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'reassigned', breached_at = $1, closed_at = $1, due_at = NULL WHERE id = $2`,
			micros(now), a.ID); err != nil {
			return err
		}
		if err := cancelJobs(ctx, tx, a.ID, now); err != nil {
			return err
		}
		var before []string
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT rep FROM assignments WHERE contact_id = $1 AND rep <> ''`, a.ContactID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var rep string
			if err := rows.Scan(&rep); err != nil {
				rows.Close()
				return err
			}
			before = append(before, rep)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		slices.Sort(before)
		next, err := r.assign(ctx, l, before, a.ID)
		if err != nil {
			return err
		}
		n.data["reassigned_to"] = next
		n.text += "\nReassigned to another rep."
		if err := db.notify(ctx, tx, n, now); err != nil {
			return err
		}
		return r.save(ctx)
	})
}

// Assign hands a lead to a rep by hand: an unassigned lead nobody could take, or one a
// manager moves from one rep to another. The rep must be an active sales user; the
// assignment it replaces is closed as reassigned, and the new one gets fresh clocks.
func (db *DB) Assign(ctx context.Context, id int64, rep string, by tandem.Actor) (*tandem.Assignment, error) {
	email, ok := identity.Email(rep)
	if !ok {
		return nil, &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("rep: want the email address of a sales user, got %q", rep),
			Fields: []tandem.FieldError{{Pointer: "/rep", Detail: "want the email address of a sales user"}}}
	}
	var next int64
	_, err := db.act(ctx, id, by, func(tx *sql.Tx, a *tandem.Assignment, act *active, now time.Time) error {
		if !a.Status.Open() {
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s: only an open lead can be assigned", id, a.Status)
		}
		if a.Rep == email {
			return tandem.Errorf(tandem.EConflict, "assignment %d is %s's already", id, email)
		}
		var active bool
		err := tx.QueryRowContext(ctx, `SELECT active FROM users WHERE email = $1 AND team = 'sales'`, email).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !active {
			return &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("rep: %s is not an active sales user", email),
				Fields: []tandem.FieldError{{Pointer: "/rep", Detail: email + " is not an active sales user"}}}
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'reassigned', closed_at = $1, due_at = NULL WHERE id = $2`, micros(now), id); err != nil {
			return err
		}
		if err := cancelJobs(ctx, tx, id, now); err != nil {
			return err
		}
		r, err := db.newRouter(ctx, tx, act, now)
		if err != nil {
			return err
		}
		l, err := db.leadOf(ctx, tx, act, a.ContactID, now)
		if err != nil {
			return err
		}
		next, err = r.record(ctx, l, routing.Decision{Rep: email, Route: "manual", Reason: "assigned by " + by.Name}, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.Assignment(ctx, next)
}

// mergeAssignments gives a merged contact's assignments to the contact it merged into.
// One person has one owner: if both had an open assignment, the survivor's stays and the
// loser's closes as reassigned, its clocks stopped.
func mergeAssignments(ctx context.Context, tx *sql.Tx, loser, survivor, now int64) error {
	var both int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM assignments WHERE contact_id IN ($1, $2) AND status IN ('unassigned', 'assigned', 'accepted')`,
		loser, survivor).Scan(&both); err != nil {
		return fmt.Errorf("merge assignments of contact %d into %d: %w", loser, survivor, err)
	}
	if both == 2 {
		var open int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM assignments WHERE contact_id = $1 AND status IN ('unassigned', 'assigned', 'accepted')`,
			loser).Scan(&open); err != nil {
			return fmt.Errorf("merge assignments of contact %d into %d: %w", loser, survivor, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE assignments SET status = 'reassigned', closed_at = $1, due_at = NULL WHERE id = $2`, now, open); err != nil {
			return fmt.Errorf("merge assignments of contact %d into %d: %w", loser, survivor, err)
		}
		if err := cancelJobs(ctx, tx, open, fromMicros(now)); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE assignments SET contact_id = $1 WHERE contact_id = $2`, survivor, loser); err != nil {
		return fmt.Errorf("merge assignments of contact %d into %d: %w", loser, survivor, err)
	}
	return nil
}

// leadOfAssignment loads what notices about an assignment say of its lead, and who
// the rep's manager is.
func (db *DB) leadOfAssignment(ctx context.Context, tx *sql.Tx, act *active, a *tandem.Assignment, now time.Time) (*lead, string, error) {
	l, err := db.leadOf(ctx, tx, act, a.ContactID, now)
	if err != nil {
		return nil, "", err
	}
	manager, err := managerOf(ctx, tx, a.Rep)
	return l, manager, err
}

// managerOf returns the email of a rep's manager, empty when they have none.
func managerOf(ctx context.Context, q querier, rep string) (string, error) {
	var m string
	err := q.QueryRowContext(ctx, `SELECT manager FROM users WHERE email = $1`, rep).Scan(&m)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("manager of %s: %w", rep, err)
	}
	return m, nil
}
