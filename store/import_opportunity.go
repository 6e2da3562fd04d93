package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"tandem"
	"tandem/csvio"
	"tandem/lifecycle"
)

// storedDeal is an opportunity as an import compares and updates it.
type storedDeal struct {
	*tandem.Opportunity
	people map[int64]bool
}

// dealRefs is what a batch of opportunity rows names, as the store has it.
type dealRefs struct {
	byCRMID         map[string]*storedDeal
	byID            map[int64]*storedDeal
	accByCRMID      map[string]int64
	accByDomain     map[string]int64
	accByName       map[string][]int64
	contactsByEmail map[string]int64
	contactsByCRMID map[string]int64
}

func (db *DB) dealRefs(ctx context.Context, q querier, recs []*csvio.Record) (*dealRefs, error) {
	var exts, accExts, accDoms, accNames, emails, contactExts []string
	var tids []int64
	for _, rec := range recs {
		o := rec.Opportunity
		exts = appendSome(exts, o.ExternalID)
		accExts = appendSome(accExts, o.AccountExternalID)
		accDoms = appendSome(accDoms, o.AccountDomain)
		accNames = appendSome(accNames, o.AccountName)
		emails = append(emails, o.ContactEmails...)
		contactExts = append(contactExts, o.ContactExternalIDs...)
		if o.TandemID != 0 {
			tids = append(tids, o.TandemID)
		}
	}
	refs := &dealRefs{byCRMID: map[string]*storedDeal{}, byID: map[int64]*storedDeal{}, accByName: map[string][]int64{}}
	var err error
	if refs.accByCRMID, err = idsOf(ctx, q, db.dialect, accountsByCRMID, "external_id", accExts); err != nil {
		return nil, err
	}
	if refs.accByDomain, err = idsOf(ctx, q, db.dialect, accountsByDomain, "domain", accDoms); err != nil {
		return nil, err
	}
	if err := keyed(ctx, q, db.dialect, `SELECT name, id FROM accounts WHERE %s ORDER BY id`, "name", accNames, func(name string, id int64) {
		refs.accByName[name] = append(refs.accByName[name], id)
	}); err != nil {
		return nil, err
	}
	if refs.contactsByEmail, err = idsOf(ctx, q, db.dialect, contactsByEmail, "value", emails); err != nil {
		return nil, err
	}
	if refs.contactsByCRMID, err = idsOf(ctx, q, db.dialect, contactsByCRMID, "x.external_id", contactExts); err != nil {
		return nil, err
	}
	add := func(query string, arg any) error {
		rows, err := q.QueryContext(ctx, `SELECT `+opportunityColumns+` FROM opportunities WHERE `+query, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanOpportunity(rows)
			if err != nil {
				return err
			}
			if refs.byID[o.ID] == nil {
				d := &storedDeal{Opportunity: o, people: map[int64]bool{}}
				refs.byID[o.ID] = d
				if o.ExternalID != "" {
					refs.byCRMID[o.ExternalID] = d
				}
			}
		}
		return rows.Err()
	}
	for chunk := range slices.Chunk(exts, 5000) {
		cond, arg := db.dialect.in("external_id", 1, chunk)
		if err := add(cond, arg); err != nil {
			return nil, err
		}
	}
	for chunk := range slices.Chunk(tids, 5000) {
		cond, arg := db.dialect.inIDs("id", 1, chunk)
		if err := add(cond, arg); err != nil {
			return nil, err
		}
	}
	ids := slices.Collect(maps.Keys(refs.byID))
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := db.dialect.inIDs("opportunity_id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT opportunity_id, contact_id FROM opportunity_contacts WHERE `+cond, arg)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var deal, contact int64
			if err := rows.Scan(&deal, &contact); err != nil {
				rows.Close()
				return nil, err
			}
			refs.byID[deal].people[contact] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// deal finds the stored deal a row is about, nil for a new one.
func (refs *dealRefs) deal(rec *csvio.Record) (*storedDeal, *csvio.RowError) {
	o := rec.Opportunity
	if d := refs.byCRMID[o.ExternalID]; d != nil && o.ExternalID != "" {
		return d, nil
	}
	if o.TandemID == 0 {
		return nil, nil
	}
	d := refs.byID[o.TandemID]
	switch {
	case d == nil:
		return nil, rec.Fail("tandem_id", "no deal has the Tandem id %d", o.TandemID)
	case o.ExternalID != "" && d.ExternalID != "":
		return nil, rec.Fail("external_id", "deal %d has the CRM id %q, not %q", d.ID, d.ExternalID, o.ExternalID)
	}
	return d, nil
}

// account returns the account a row names by CRM id, domain or name, whichever finds
// one first; zero when it names none, an error when it names one the store lacks.
func (refs *dealRefs) account(rec *csvio.Record, current *int64) (int64, *csvio.RowError) {
	o := rec.Opportunity
	if id := refs.accByCRMID[o.AccountExternalID]; id != 0 && o.AccountExternalID != "" {
		return id, nil
	}
	if id := refs.accByDomain[o.AccountDomain]; id != 0 && o.AccountDomain != "" {
		return id, nil
	}
	if named := refs.accByName[o.AccountName]; len(named) > 0 && o.AccountName != "" {
		if len(named) == 1 {
			return named[0], nil
		}
		if current != nil && slices.Contains(named, *current) {
			return *current, nil
		}
		if o.AccountExternalID == "" && o.AccountDomain == "" {
			return 0, rec.Fail("account_name", "%d accounts are named %q: name the account by its CRM id or domain", len(named), o.AccountName)
		}
	}
	switch {
	case o.AccountExternalID != "":
		return 0, rec.Fail("account_external_id", "no account has the CRM id %q: import the accounts first", o.AccountExternalID)
	case o.AccountDomain != "":
		return 0, rec.Fail("account_domain", "no account has the domain %s: import the accounts first", o.AccountDomain)
	case o.AccountName != "":
		return 0, rec.Fail("account_name", "no account is named %q: import the accounts first", o.AccountName)
	}
	return 0, nil
}

// people returns the contacts a row names, each once.
func (refs *dealRefs) people(rec *csvio.Record) ([]int64, *csvio.RowError) {
	o := rec.Opportunity
	var ids []int64
	for _, e := range o.ContactEmails {
		id := refs.contactsByEmail[e]
		if id == 0 {
			return nil, rec.Fail("contact_emails", "no contact has the email address %s: import the contacts first", e)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, x := range o.ContactExternalIDs {
		id := refs.contactsByCRMID[x]
		if id == 0 {
			return nil, rec.Fail("contact_external_ids", "no contact has the CRM id %q: import the contacts first", x)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// opportunities imports a batch of deal rows in one transaction. A new deal's people
// enter the stage entered on opportunity_created, and on opportunity_won if it is won; a
// deal the file says was won since, or that gained people, moves them the same way.
func (im *importer) opportunities(ctx context.Context, recs []*csvio.Record) (tally, error) {
	db := im.db
	var t tally
	run := func(q querier, tx *sql.Tx, now time.Time) error {
		t = tally{}
		refs, err := db.dealRefs(ctx, q, recs)
		if err != nil {
			return err
		}
		var act *active
		if tx != nil {
			if act, err = db.activeIn(ctx, tx); err != nil {
				return err
			}
		}
		for _, rec := range recs {
			o := rec.Opportunity
			d, rowErr := refs.deal(rec)
			if rowErr != nil {
				t.errs = append(t.errs, rowErr)
				continue
			}
			var current *int64
			if d != nil {
				current = d.AccountID
			}
			acc, rowErr := refs.account(rec, current)
			if rowErr != nil {
				t.errs = append(t.errs, rowErr)
				continue
			}
			people, rowErr := refs.people(rec)
			if rowErr != nil {
				t.errs = append(t.errs, rowErr)
				continue
			}
			if tx == nil {
				continue // a dry run
			}
			if d == nil {
				d, err = db.createDeal(ctx, tx, act, o, acc, people, now)
				if err != nil {
					return err
				}
				refs.byCRMID[o.ExternalID] = d
				refs.byID[d.ID] = d
				t.created++
				continue
			}
			updated, err := db.updateDeal(ctx, tx, act, d, o, acc, people, now)
			if err != nil {
				return err
			}
			if updated {
				t.updated++
			} else {
				t.unchanged++
			}
		}
		return nil
	}
	var err error
	if im.opt.DryRun {
		err = run(db.read, nil, db.Now())
	} else {
		err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			// Stage moves serialize with ingest, which reads a contact's stage and writes
			// it back.
			if err := db.dialect.lockIngest(ctx, tx); err != nil {
				return err
			}
			return run(tx, tx, now)
		})
	}
	if err != nil {
		return tally{}, fmt.Errorf("import opportunities: %w", err)
	}
	return t, nil
}

// createDeal stores a new deal from a row, with the file's created and close dates, and
// moves its people.
func (db *DB) createDeal(ctx context.Context, tx *sql.Tx, act *active, o *csvio.Opportunity, acc int64, people []int64, now time.Time) (*storedDeal, error) {
	d := &storedDeal{Opportunity: &tandem.Opportunity{
		Name: o.Name, ExternalID: o.ExternalID, Currency: "USD", Stage: o.Stage, Status: tandem.OpportunityOpen,
		ExpectedClose: o.CloseDate, Owner: o.Owner, LostReason: o.LostReason, CreatedAt: now, UpdatedAt: now,
	}, people: map[int64]bool{}}
	if acc != 0 {
		d.AccountID = &acc
	}
	if o.Amount != nil {
		d.Amount = *o.Amount
	}
	if o.Currency != "" {
		d.Currency = o.Currency
	}
	if o.Status != "" {
		d.Status = o.Status
	}
	if o.CreatedAt != nil {
		d.CreatedAt = *o.CreatedAt
	}
	if d.Status != tandem.OpportunityOpen {
		closed := now
		if o.CloseDate != nil {
			closed = *o.CloseDate
		}
		d.ClosedAt = &closed
	}
	if err := tx.QueryRowContext(ctx, `INSERT INTO opportunities (name, external_id, account_id, amount, currency, stage, status,
		expected_close, owner, lost_reason, created_at, updated_at, closed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
		d.Name, d.ExternalID, nullID(acc), d.Amount, d.Currency, d.Stage, string(d.Status), optMicros(d.ExpectedClose), d.Owner,
		d.LostReason, micros(d.CreatedAt), micros(now), optMicros(d.ClosedAt)).Scan(&d.ID); err != nil {
		return nil, fmt.Errorf("create opportunity %q: %w", o.ExternalID, err)
	}
	if err := db.addDealPeople(ctx, tx, d, people); err != nil {
		return nil, err
	}
	if err := db.dealMoves(ctx, tx, act, people, "opportunity_created", now); err != nil {
		return nil, err
	}
	if d.Status == tandem.OpportunityWon {
		return d, db.dealMoves(ctx, tx, act, people, "opportunity_won", now)
	}
	return d, nil
}

// updateDeal applies what a row says to a stored deal, and reports whether that changed
// anything. Blank cells leave the deal's fields as they are; people are added, never
// taken off.
func (db *DB) updateDeal(ctx context.Context, tx *sql.Tx, act *active, d *storedDeal, o *csvio.Opportunity, acc int64, people []int64, now time.Time) (bool, error) {
	next := *d.Opportunity
	next.Name = o.Name
	if acc != 0 {
		next.AccountID = &acc
	}
	if o.Amount != nil {
		next.Amount = *o.Amount
	}
	setIf(&next.Currency, o.Currency)
	setIf(&next.Stage, o.Stage)
	setIf(&next.Owner, o.Owner)
	setIf(&next.LostReason, o.LostReason)
	setIf(&next.Status, o.Status)
	if o.CreatedAt != nil {
		next.CreatedAt = *o.CreatedAt
	}
	switch {
	case next.Status == tandem.OpportunityOpen:
		next.ClosedAt = nil
		if o.CloseDate != nil {
			next.ExpectedClose = o.CloseDate
		}
	case o.CloseDate != nil:
		next.ClosedAt = o.CloseDate
	case next.ClosedAt == nil:
		next.ClosedAt = &now
	}
	var added []int64
	for _, id := range people {
		if !d.people[id] {
			added = append(added, id)
		}
	}
	if len(added) == 0 && sameDeal(d.Opportunity, &next) {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE opportunities SET name = $1, account_id = $2, amount = $3, currency = $4, stage = $5,
		status = $6, expected_close = $7, owner = $8, lost_reason = $9, created_at = $10, closed_at = $11, updated_at = $12 WHERE id = $13`,
		next.Name, nullID(ptrOrZero(next.AccountID)), next.Amount, next.Currency, next.Stage, string(next.Status),
		optMicros(next.ExpectedClose), next.Owner, next.LostReason, micros(next.CreatedAt), optMicros(next.ClosedAt), micros(now), d.ID); err != nil {
		return false, fmt.Errorf("update opportunity %d: %w", d.ID, err)
	}
	if err := db.addDealPeople(ctx, tx, d, added); err != nil {
		return false, err
	}
	wasWon := d.Status == tandem.OpportunityWon
	*d.Opportunity = next
	if err := db.dealMoves(ctx, tx, act, added, "opportunity_created", now); err != nil {
		return false, err
	}
	switch {
	case next.Status == tandem.OpportunityWon && !wasWon:
		err := db.dealMoves(ctx, tx, act, slices.Sorted(maps.Keys(d.people)), "opportunity_won", now)
		return true, err
	case next.Status == tandem.OpportunityWon:
		return true, db.dealMoves(ctx, tx, act, added, "opportunity_won", now)
	}
	return true, nil
}

func setIf[T ~string](dst *T, v T) {
	if v != "" {
		*dst = v
	}
}

// sameDeal reports whether two versions of a deal hold the same data.
func sameDeal(a, b *tandem.Opportunity) bool {
	return a.Name == b.Name && ptrOrZero(a.AccountID) == ptrOrZero(b.AccountID) && a.Amount == b.Amount &&
		a.Currency == b.Currency && a.Stage == b.Stage && a.Status == b.Status && sameTime(a.ExpectedClose, b.ExpectedClose) &&
		a.Owner == b.Owner && a.LostReason == b.LostReason && a.CreatedAt.Equal(b.CreatedAt) && sameTime(a.ClosedAt, b.ClosedAt)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func (db *DB) addDealPeople(ctx context.Context, tx *sql.Tx, d *storedDeal, people []int64) error {
	for _, id := range people {
		if _, err := tx.ExecContext(ctx, `INSERT INTO opportunity_contacts (opportunity_id, contact_id, role) VALUES ($1, $2, '')`, d.ID, id); err != nil {
			return fmt.Errorf("opportunity %d contact %d: %w", d.ID, id, err)
		}
		d.people[id] = true
	}
	return nil
}

// dealMoves moves contacts to the stage the agreement enters on a deal's action, when it
// has one; contacts already further along stay where they are.
func (db *DB) dealMoves(ctx context.Context, tx *sql.Tx, act *active, contacts []int64, action string, now time.Time) error {
	if act == nil || len(contacts) == 0 {
		return nil
	}
	if _, _, err := lifecycle.Act(act.agreement, lifecycle.State{}, action); err != nil {
		return nil // the agreement has no stage for deals
	}
	for _, c := range contacts {
		if err := db.salesAction(ctx, tx, act, c, action, now); err != nil {
			return err
		}
	}
	return nil
}
