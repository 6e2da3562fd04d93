package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"

	"tandem"
	"tandem/identity"
)

// accountByDomain returns the account of a company domain, creating it if new.
func (r *resolver) accountByDomain(ctx context.Context, domain, name string) (int64, error) {
	if id, ok := r.domains[domain]; ok {
		return id, nil
	}
	if c := r.db.ids; c != nil {
		if id, ok := c.domains[domain]; ok {
			r.domains[domain] = id
			return id, nil
		}
	}
	if name == "" {
		name = domain
	}
	var id int64
	err := r.queryRow(ctx, `SELECT id FROM accounts WHERE domain = $1`, domain).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = r.queryRow(ctx, `INSERT INTO accounts (domain, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (domain) DO UPDATE SET updated_at = accounts.updated_at RETURNING id`, domain, name, r.now).Scan(&id)
	}
	if err != nil {
		return 0, fmt.Errorf("account for %s: %w", domain, err)
	}
	r.domains[domain] = id
	return id, nil
}

// group upserts the account a Segment group call describes and returns its id. An
// account already known by the group's domain gains the group id.
func (r *resolver) group(ctx context.Context, m *tandem.Message) (int64, error) {
	domain := ""
	for _, k := range []string{"domain", "website"} {
		if s, ok := m.Traits[k].(string); ok && domain == "" {
			domain = identity.Domain(s)
		}
	}
	if domain != "" && identity.IsFreeMail(domain) {
		domain = ""
	}
	var (
		id        int64
		rawTraits string
		name      string
		curDomain sql.NullString
	)
	err := r.queryRow(ctx, `SELECT id, traits, name, domain FROM accounts WHERE group_id = $1`, m.GroupID).Scan(&id, &rawTraits, &name, &curDomain)
	if errors.Is(err, sql.ErrNoRows) && domain != "" {
		err = r.queryRow(ctx, `SELECT id, traits, name, domain FROM accounts WHERE domain = $1 AND group_id IS NULL`, domain).Scan(&id, &rawTraits, &name, &curDomain)
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = r.queryRow(ctx, `INSERT INTO accounts (group_id, created_at, updated_at) VALUES ($1, $2, $2)
			ON CONFLICT (group_id) DO UPDATE SET updated_at = accounts.updated_at RETURNING id, traits, name, domain`,
			m.GroupID, r.now).Scan(&id, &rawTraits, &name, &curDomain)
	}
	if err != nil {
		return 0, fmt.Errorf("group %q: %w", m.GroupID, err)
	}
	oldName := name
	traits := map[string]any{}
	_ = json.Unmarshal([]byte(rawTraits), &traits)
	before := maps.Clone(traits) // mergeTraits replaces top-level values only
	mergeTraits(traits, m.Traits, true)
	if n, ok := m.Traits["name"].(string); ok && n != "" {
		name = n
	}
	if name == "" {
		name = m.GroupID
	}
	newDomain := curDomain.String
	if newDomain == "" && domain != "" {
		// Another account may own the domain already; then the group keeps none.
		var other int64
		err := r.queryRow(ctx, `SELECT id FROM accounts WHERE domain = $1`, domain).Scan(&other)
		if errors.Is(err, sql.ErrNoRows) {
			newDomain = domain
		} else if err != nil {
			return 0, fmt.Errorf("group %q: %w", m.GroupID, err)
		}
	}
	raw, err := json.Marshal(traits)
	if err != nil {
		return 0, fmt.Errorf("group %q traits: %w", m.GroupID, err)
	}
	var d any
	if newDomain != "" {
		d = newDomain
		r.domains[newDomain] = id
	}
	if _, err := r.exec(ctx, `UPDATE accounts SET group_id = $1, name = $2, traits = $3, domain = $4, updated_at = $5 WHERE id = $6`,
		m.GroupID, name, string(raw), d, r.now, id); err != nil {
		return 0, fmt.Errorf("group %q: %w", m.GroupID, err)
	}
	if !reflect.DeepEqual(traits, before) || name != oldName || newDomain != curDomain.String {
		if r.changedAccounts == nil {
			r.changedAccounts = map[int64]bool{}
		}
		r.changedAccounts[id] = true
	}
	return id, nil
}

const accountColumns = `id, COALESCE(domain, ''), COALESCE(group_id, ''), name, traits, created_at, updated_at`

func scanAccount(s interface{ Scan(...any) error }) (*tandem.Account, error) {
	var (
		a            tandem.Account
		traits       string
		created, upd int64
	)
	if err := s.Scan(&a.ID, &a.Domain, &a.GroupID, &a.Name, &traits, &created, &upd); err != nil {
		return nil, err
	}
	a.Traits = map[string]any{}
	if err := json.Unmarshal([]byte(traits), &a.Traits); err != nil {
		return nil, fmt.Errorf("account %d traits: %w", a.ID, err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(upd)
	return &a, nil
}

// Account returns the account with the given id.
func (db *DB) Account(ctx context.Context, id int64) (*tandem.Account, error) {
	a, err := scanAccount(db.read.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "account %s not found", strconv.FormatInt(id, 10))
	}
	if err != nil {
		return nil, fmt.Errorf("account %d: %w", id, err)
	}
	return a, nil
}
