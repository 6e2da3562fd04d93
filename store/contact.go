package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"tandem"
)

const contactColumns = `c.id, COALESCE(c.email, ''), c.traits, COALESCE(c.account_id, 0), c.created_at, c.updated_at`

func scanContact(s interface{ Scan(...any) error }) (*tandem.Contact, error) {
	var (
		c            tandem.Contact
		traits       string
		acc          int64
		created, upd int64
	)
	if err := s.Scan(&c.ID, &c.Email, &traits, &acc, &created, &upd); err != nil {
		return nil, err
	}
	c.Traits = map[string]any{}
	if err := json.Unmarshal([]byte(traits), &c.Traits); err != nil {
		return nil, fmt.Errorf("contact %d traits: %w", c.ID, err)
	}
	if acc != 0 {
		c.AccountID = &acc
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(upd)
	c.UserIDs = []string{}
	return &c, nil
}

// canonicalContact is the id that the contact id $1 stands for now: its own, or that of
// the contact it was merged into. Each query resolves it for itself, so that a merge
// committed between two queries cannot make the contact seem missing.
const canonicalContact = `COALESCE((SELECT into_id FROM contact_merges WHERE from_id = $1), $1)`

// Contact returns a contact by id; a merged contact's old id finds the survivor.
func (db *DB) Contact(ctx context.Context, id int64) (*tandem.Contact, error) {
	c, err := scanContact(db.read.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = `+canonicalContact, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %d: %w", id, err)
	}
	if err := db.attachUserIDs(ctx, []*tandem.Contact{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// Contacts lists contacts in id order, after p.After.
func (db *DB) Contacts(ctx context.Context, f tandem.ContactFilter, p tandem.Page) ([]*tandem.Contact, error) {
	where := []string{"c.id > $1"}
	args := []any{p.After}
	if f.Email != "" {
		args = append(args, strings.ToLower(strings.TrimSpace(f.Email)))
		where = append(where, fmt.Sprintf("c.id IN (SELECT contact_id FROM identities WHERE kind = 'email' AND value = $%d)", len(args)))
	}
	if f.AccountID != 0 {
		args = append(args, f.AccountID)
		where = append(where, fmt.Sprintf("c.account_id = $%d", len(args)))
	}
	args = append(args, limit(p))
	q := fmt.Sprintf(`SELECT %s FROM contacts c WHERE %s ORDER BY c.id LIMIT $%d`, contactColumns, strings.Join(where, " AND "), len(args))
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	defer rows.Close()
	list := []*tandem.Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return list, db.attachUserIDs(ctx, list)
}

func (db *DB) attachUserIDs(ctx context.Context, list []*tandem.Contact) error {
	if len(list) == 0 {
		return nil
	}
	byID := make(map[int64]*tandem.Contact, len(list))
	args := make([]any, len(list))
	for i, c := range list {
		byID[c.ID] = c
		args[i] = c.ID
	}
	// Sorted here, not in SQL: ORDER BY value led SQLite to walk every user id in
	// value order (the primary key) instead of looking up these contacts' few.
	rows, err := db.read.QueryContext(ctx, `SELECT contact_id, value FROM identities WHERE kind = 'user' AND contact_id IN (`+
		placeholders(1, len(list))+`)`, args...)
	if err != nil {
		return fmt.Errorf("contact user ids: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			return fmt.Errorf("contact user ids: %w", err)
		}
		byID[id].UserIDs = append(byID[id].UserIDs, v)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("contact user ids: %w", err)
	}
	for _, c := range list {
		slices.Sort(c.UserIDs)
	}
	return nil
}

// CountContacts returns the number of contacts; anonymous visitors are not contacts.
func (db *DB) CountContacts(ctx context.Context) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&n)
	return n, err
}

// ContactEvents lists a contact's events, newest first, paging by the time and id of
// the last event of the previous page; a merged contact's old id lists the survivor's.
func (db *DB) ContactEvents(ctx context.Context, id int64, p tandem.Page) ([]*tandem.Event, error) {
	var exists bool
	if err := db.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = `+canonicalContact+`)`, id).Scan(&exists); err != nil {
		return nil, fmt.Errorf("contact %d events: %w", id, err)
	}
	if !exists {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	ts, after := int64(1<<63-1), int64(0)
	if p.After != 0 {
		ts, after = micros(p.AfterTime), p.After
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, source_id, message_id, type, event, name, user_id, anonymous_id,
		contact_id, properties, context, timestamp, received_at
		FROM events WHERE contact_id = `+canonicalContact+` AND (timestamp < $2 OR (timestamp = $2 AND id < $3))
		ORDER BY timestamp DESC, id DESC LIMIT $4`, id, ts, after, limit(p))
	if err != nil {
		return nil, fmt.Errorf("contact %d events: %w", id, err)
	}
	defer rows.Close()
	list := []*tandem.Event{}
	for rows.Next() {
		var (
			e           tandem.Event
			contact     sql.NullInt64
			props, ctxt string
			ts, recv    int64
		)
		if err := rows.Scan(&e.ID, &e.SourceID, &e.MessageID, &e.Type, &e.Event, &e.Name, &e.UserID, &e.AnonymousID,
			&contact, &props, &ctxt, &ts, &recv); err != nil {
			return nil, fmt.Errorf("contact %d events: %w", id, err)
		}
		if contact.Valid {
			e.ContactID = &contact.Int64
		}
		e.Properties, e.Context = json.RawMessage(props), json.RawMessage(ctxt)
		e.Timestamp, e.ReceivedAt = fromMicros(ts), fromMicros(recv)
		list = append(list, &e)
	}
	return list, rows.Err()
}

func limit(p tandem.Page) int {
	if p.Limit <= 0 || p.Limit > 1000 {
		return 100
	}
	return p.Limit
}
