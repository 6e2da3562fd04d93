package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"tandem"
	"tandem/lifecycle"
)

const opportunityColumns = `id, name, COALESCE(external_id, ''), account_id, amount, currency, stage, status, expected_close, owner,
	lost_reason, created_at, updated_at, closed_at`

func scanOpportunity(s interface{ Scan(...any) error }) (*tandem.Opportunity, error) {
	var (
		o                tandem.Opportunity
		account          sql.NullInt64
		expected, closed sql.NullInt64
		created, updated int64
	)
	if err := s.Scan(&o.ID, &o.Name, &o.ExternalID, &account, &o.Amount, &o.Currency, &o.Stage, &o.Status, &expected, &o.Owner,
		&o.LostReason, &created, &updated, &closed); err != nil {
		return nil, err
	}
	if account.Valid {
		o.AccountID = &account.Int64
	}
	o.ExpectedClose, o.ClosedAt = optTime(expected), optTime(closed)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	o.Contacts = []tandem.OpportunityPerson{}
	return &o, nil
}

// checkOpportunity validates the fields of an opportunity as they are about to be stored.
func checkOpportunity(o *tandem.Opportunity) []tandem.FieldError {
	var errs []tandem.FieldError
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, tandem.FieldError{Pointer: ptr, Detail: fmt.Sprintf(format, args...)})
	}
	o.Name, o.Stage, o.ExternalID = strings.TrimSpace(o.Name), strings.TrimSpace(o.Stage), strings.TrimSpace(o.ExternalID)
	if o.Name == "" || len(o.Name) > 200 {
		bad("/name", "must be 1 to 200 characters")
	}
	if o.Amount < 0 || math.IsNaN(o.Amount) || math.IsInf(o.Amount, 0) || o.Amount > 1e15 {
		bad("/amount", "want an amount from 0 to 10^15, got %v", o.Amount)
	}
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	if len(o.Currency) != 3 || strings.Trim(o.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		bad("/currency", "want an ISO 4217 code such as USD, got %q", o.Currency)
	}
	if len(o.Stage) > 100 {
		bad("/stage", "at most 100 characters")
	}
	if len(o.ExternalID) > 200 {
		bad("/external_id", "at most 200 characters")
	}
	if len(o.Owner) > 200 {
		bad("/owner", "at most 200 characters")
	}
	for i, c := range o.Contacts {
		if len(c.Role) > 200 {
			bad(fmt.Sprintf("/contacts/%d/role", i), "at most 200 characters")
		}
	}
	return errs
}

// CreateOpportunity stores a deal and moves its contacts to the stage the agreement
// enters on opportunity_created, each move recorded; a re-import with the same
// external id is refused as a conflict.
func (db *DB) CreateOpportunity(ctx context.Context, in *tandem.Opportunity, by tandem.Actor) (*tandem.Opportunity, error) {
	o := *in
	errs := checkOpportunity(&o)
	if len(o.Contacts) > 500 {
		errs = append(errs, tandem.FieldError{Pointer: "/contacts", Detail: "at most 500 contacts"})
	}
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		if o.AccountID != nil {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = $1`, *o.AccountID).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				errs = append(errs, tandem.FieldError{Pointer: "/account_id", Detail: fmt.Sprintf("account %d not found", *o.AccountID)})
			}
		}
		seen := map[int64]bool{}
		for i, c := range o.Contacts {
			var canonical int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = `+canonicalContact, c.ContactID).Scan(&canonical)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				errs = append(errs, tandem.FieldError{Pointer: fmt.Sprintf("/contacts/%d/contact_id", i), Detail: fmt.Sprintf("contact %d not found", c.ContactID)})
			case err != nil:
				return err
			case seen[canonical]:
				errs = append(errs, tandem.FieldError{Pointer: fmt.Sprintf("/contacts/%d/contact_id", i), Detail: fmt.Sprintf("contact %d is on the deal twice", c.ContactID)})
			}
			seen[canonical] = true
			o.Contacts[i].ContactID = canonical
		}
		if o.ExternalID != "" {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM opportunities WHERE external_id = $1`, o.ExternalID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return tandem.Errorf(tandem.EConflict, "an opportunity with external id %q exists already", o.ExternalID)
			}
		}
		if len(errs) > 0 {
			return &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
		}
		var external any
		if o.ExternalID != "" {
			external = o.ExternalID
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO opportunities (name, external_id, account_id, amount, currency, stage, status,
			expected_close, owner, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $9) RETURNING id`,
			o.Name, external, nullID(ptrOrZero(o.AccountID)), o.Amount, o.Currency, o.Stage, optMicros(o.ExpectedClose),
			strings.TrimSpace(o.Owner), micros(now)).Scan(&id); err != nil {
			return fmt.Errorf("create opportunity: %w", err)
		}
		for _, c := range o.Contacts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO opportunity_contacts (opportunity_id, contact_id, role) VALUES ($1, $2, $3)`,
				id, c.ContactID, strings.TrimSpace(c.Role)); err != nil {
				return fmt.Errorf("create opportunity: %w", err)
			}
		}
		return db.dealAction(ctx, tx, id, "opportunity_created", now)
	})
	if err != nil {
		return nil, err
	}
	return db.Opportunity(ctx, id)
}

// dealAction moves the contacts of an opportunity to the stage the agreement enters on
// action, when it has one; contacts already further along stay where they are.
func (db *DB) dealAction(ctx context.Context, tx *sql.Tx, id int64, action string, now time.Time) error {
	act, err := db.activeIn(ctx, tx)
	if err != nil || act == nil {
		return err
	}
	if _, _, err := lifecycle.Act(act.agreement, lifecycle.State{}, action); err != nil {
		return nil // the agreement has no stage for deals
	}
	rows, err := tx.QueryContext(ctx, `SELECT contact_id FROM opportunity_contacts WHERE opportunity_id = $1 ORDER BY contact_id`, id)
	if err != nil {
		return err
	}
	var contacts []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		contacts = append(contacts, c)
	}
	rows.Close()
	for _, c := range contacts {
		if err := db.salesAction(ctx, tx, act, c, action, now); err != nil {
			return err
		}
	}
	return nil
}

// Opportunity returns one deal with its contacts.
func (db *DB) Opportunity(ctx context.Context, id int64) (*tandem.Opportunity, error) {
	o, err := rowByID(ctx, db.read, "opportunity", `SELECT `+opportunityColumns+` FROM opportunities WHERE id = $1`, id, "", scanOpportunity)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT contact_id, role FROM opportunity_contacts WHERE opportunity_id = $1 ORDER BY contact_id`, id)
	if err != nil {
		return nil, fmt.Errorf("opportunity %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p tandem.OpportunityPerson
		if err := rows.Scan(&p.ContactID, &p.Role); err != nil {
			return nil, err
		}
		o.Contacts = append(o.Contacts, p)
	}
	return o, rows.Err()
}

// Opportunities lists deals by id, of one status and account when they are given.
func (db *DB) Opportunities(ctx context.Context, status tandem.OpportunityStatus, accountID int64, p tandem.Page) ([]*tandem.Opportunity, error) {
	return rowsOf(ctx, db.read, "opportunities", `SELECT `+opportunityColumns+` FROM opportunities
		WHERE id > $1 AND ($2 = '' OR status = $2) AND (CAST($3 AS BIGINT) = 0 OR account_id = CAST($3 AS BIGINT)) ORDER BY id LIMIT $4`,
		[]any{p.After, string(status), accountID, limit(p)}, scanOpportunity)
}

// closeDeal runs fn on an open opportunity in a transaction.
func (db *DB) closeDeal(ctx context.Context, id int64, fn func(tx *sql.Tx, o *tandem.Opportunity, now time.Time) error) (*tandem.Opportunity, error) {
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		o, err := rowByID(ctx, tx, "opportunity", `SELECT `+opportunityColumns+` FROM opportunities WHERE id = $1`, id, db.dialect.forUpdate(), scanOpportunity)
		if err != nil {
			return err
		}
		if o.Status != tandem.OpportunityOpen {
			return tandem.Errorf(tandem.EConflict, "opportunity %d is %s already", id, o.Status)
		}
		return fn(tx, o, now)
	})
	if err != nil {
		return nil, err
	}
	return db.Opportunity(ctx, id)
}

// UpdateOpportunity changes the fields of c that are set, on an open deal.
func (db *DB) UpdateOpportunity(ctx context.Context, id int64, c tandem.OpportunityChange, by tandem.Actor) (*tandem.Opportunity, error) {
	return db.closeDeal(ctx, id, func(tx *sql.Tx, o *tandem.Opportunity, now time.Time) error {
		set(&o.Name, c.Name)
		set(&o.Amount, c.Amount)
		set(&o.Currency, c.Currency)
		set(&o.Stage, c.Stage)
		set(&o.Owner, c.Owner)
		if c.ExpectedClose != nil {
			o.ExpectedClose = c.ExpectedClose
		}
		if errs := checkOpportunity(o); len(errs) > 0 {
			return &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
		}
		_, err := tx.ExecContext(ctx, `UPDATE opportunities SET name = $1, amount = $2, currency = $3, stage = $4, owner = $5,
			expected_close = $6, updated_at = $7 WHERE id = $8`, o.Name, o.Amount, o.Currency, o.Stage, strings.TrimSpace(o.Owner),
			optMicros(o.ExpectedClose), micros(now), id)
		return err
	})
}

// WinOpportunity closes a deal as won: its contacts enter the stage the agreement
// enters on opportunity_won.
func (db *DB) WinOpportunity(ctx context.Context, id int64, by tandem.Actor) (*tandem.Opportunity, error) {
	return db.closeDeal(ctx, id, func(tx *sql.Tx, o *tandem.Opportunity, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `UPDATE opportunities SET status = 'won', closed_at = $1, updated_at = $1 WHERE id = $2`, micros(now), id); err != nil {
			return err
		}
		return db.dealAction(ctx, tx, id, "opportunity_won", now)
	})
}

// LoseOpportunity closes a deal as lost, with the reason.
func (db *DB) LoseOpportunity(ctx context.Context, id int64, reason string, by tandem.Actor) (*tandem.Opportunity, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return nil, invalid("/reason", "a lost deal needs a reason (at most 2,000 characters)")
	}
	return db.closeDeal(ctx, id, func(tx *sql.Tx, o *tandem.Opportunity, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE opportunities SET status = 'lost', lost_reason = $1, closed_at = $2, updated_at = $2 WHERE id = $3`,
			reason, micros(now), id)
		return err
	})
}
