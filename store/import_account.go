package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"tandem/csvio"
)

// storedAccount is an account as an import compares and updates it.
type storedAccount struct {
	name, domain string
	traits       map[string]any
}

func loadAccountsForImport(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*storedAccount, error) {
	out := map[int64]*storedAccount{}
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id, name, COALESCE(domain, ''), traits FROM accounts WHERE `+cond, arg)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id     int64
				a      storedAccount
				traits string
			)
			if err := rows.Scan(&id, &a.name, &a.domain, &traits); err != nil {
				rows.Close()
				return nil, err
			}
			a.traits = decodeObject([]byte(traits))
			out[id] = &a
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// accounts imports a batch of account rows in one transaction: each is found by its CRM
// id, else its domain (else, from an export, its Tandem id), and created or updated. The
// contacts of accounts whose traits changed are rescored when the agreement's rules read
// the account.
func (im *importer) accounts(ctx context.Context, recs []*csvio.Record) (tally, error) {
	db := im.db
	var t tally
	run := func(q querier, tx *sql.Tx, now time.Time) error {
		t = tally{}
		var exts, doms []string
		var tids []int64
		for _, rec := range recs {
			a := rec.Account
			exts, doms = appendSome(exts, a.ExternalID), appendSome(doms, a.Domain)
			if a.TandemID != 0 {
				tids = append(tids, a.TandemID)
			}
		}
		byCRMID, err := idsOf(ctx, q, db.dialect, accountsByCRMID, "external_id", exts)
		if err != nil {
			return err
		}
		byDomain, err := idsOf(ctx, q, db.dialect, accountsByDomain, "domain", doms)
		if err != nil {
			return err
		}
		ids := append(slices.Collect(maps.Values(byCRMID)), slices.Collect(maps.Values(byDomain))...)
		accs, err := loadAccountsForImport(ctx, q, db.dialect, append(ids, tids...))
		if err != nil {
			return err
		}
		var changed []int64
		crm := &crmIDs{tx: tx}
		defer crm.close()
		for _, rec := range recs {
			a := rec.Account
			var target int64
			if a.ExternalID != "" {
				target = byCRMID[a.ExternalID]
			}
			if target == 0 && a.Domain != "" {
				target = byDomain[a.Domain]
			}
			if target == 0 && a.TandemID != 0 {
				if accs[a.TandemID] == nil {
					t.errs = append(t.errs, rec.Fail("tandem_id", "no account has the Tandem id %d", a.TandemID))
					continue
				}
				target = a.TandemID
			}
			if owner := byDomain[a.Domain]; a.Domain != "" && owner != 0 && owner != target {
				t.errs = append(t.errs, rec.Fail("domain", "%s is the domain of another account (%d, %q)", a.Domain, owner, accs[owner].name))
				continue
			}
			if tx == nil {
				continue // a dry run
			}
			if target == 0 {
				id, name, err := createAccount(ctx, tx, a, now)
				if err != nil {
					return err
				}
				if a.ExternalID != "" {
					if _, err := crm.set(ctx, "account", a.ExternalID, id); err != nil {
						return err
					}
					byCRMID[a.ExternalID] = id
				}
				if a.Domain != "" {
					byDomain[a.Domain] = id
				}
				accs[id] = &storedAccount{name: name, domain: a.Domain, traits: a.Traits}
				t.created++
				continue
			}
			mapped := false
			if a.ExternalID != "" && byCRMID[a.ExternalID] != target {
				if mapped, err = crm.set(ctx, "account", a.ExternalID, target); err != nil {
					return err
				}
				byCRMID[a.ExternalID] = target
			}
			cur := accs[target]
			next := &storedAccount{name: cur.name, domain: cur.domain, traits: cur.traits}
			if a.Name != "" {
				next.name = a.Name
			}
			if a.Domain != "" {
				next.domain = a.Domain
			}
			if next.name == cur.name && next.domain == cur.domain && csvio.SameTraits(csvio.Accounts, cur.traits, a.Traits) {
				if mapped {
					t.updated++
				} else {
					t.unchanged++
				}
				continue
			}
			next.traits = maps.Clone(cur.traits)
			maps.Copy(next.traits, a.Traits)
			raw, err := json.Marshal(next.traits)
			if err != nil {
				return fmt.Errorf("account %d traits: %w", target, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET name = $1, domain = $2, traits = $3, updated_at = $4 WHERE id = $5`,
				next.name, nullString(next.domain), string(raw), micros(now), target); err != nil {
				return fmt.Errorf("update account %d: %w", target, err)
			}
			if cur.domain != next.domain {
				delete(byDomain, cur.domain)
				byDomain[next.domain] = target
			}
			accs[target] = next
			changed = append(changed, target)
			t.updated++
		}
		if tx == nil {
			return nil
		}
		return db.rescoreAccountMembers(ctx, tx, nil, changed, now)
	}
	var err error
	if im.opt.DryRun {
		err = run(db.read, nil, db.Now())
	} else {
		err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			if err := db.dialect.lockIngest(ctx, tx); err != nil {
				return err
			}
			return run(tx, tx, now)
		})
	}
	if err != nil {
		return tally{}, fmt.Errorf("import accounts: %w", err)
	}
	return t, nil
}

// createAccount stores the account a row describes, named by its name, else its domain,
// else its CRM id; it returns the account's id and name.
func createAccount(ctx context.Context, tx *sql.Tx, a *csvio.Account, now time.Time) (int64, string, error) {
	name := a.Name
	for _, n := range []string{a.Domain, a.ExternalID} {
		if name == "" {
			name = n
		}
	}
	raw, err := json.Marshal(a.Traits)
	if err != nil {
		return 0, "", fmt.Errorf("account traits: %w", err)
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO accounts (domain, name, traits, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
		nullString(a.Domain), name, string(raw), micros(now)).Scan(&id); err != nil {
		return 0, "", fmt.Errorf("create account %s: %w", name, err)
	}
	return id, name, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
