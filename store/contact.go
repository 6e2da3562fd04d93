package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"tandem"
)

const contactColumns = `c.id, COALESCE(c.email, ''), c.traits, COALESCE(c.account_id, 0), c.created_at, c.updated_at,
	c.score_fit, c.score_eng, c.grade, c.stage, c.stage_at, c.scored_version`

// contactRow is a contact as read, with its anchored engagement sum still to be turned
// into current engagement.
type contactRow struct {
	*tandem.Contact
	eng     float64
	version int
}

func scanContact(s interface{ Scan(...any) error }) (contactRow, error) {
	var (
		c            tandem.Contact
		r            = contactRow{Contact: &c}
		traits       string
		acc          int64
		created, upd int64
		fit          float64
		stageAt      sql.NullInt64
	)
	if err := s.Scan(&c.ID, &c.Email, &traits, &acc, &created, &upd, &fit, &r.eng, &c.Grade, &c.Stage, &stageAt, &r.version); err != nil {
		return r, err
	}
	c.Traits = map[string]any{}
	if err := json.Unmarshal([]byte(traits), &c.Traits); err != nil {
		return r, fmt.Errorf("contact %d traits: %w", c.ID, err)
	}
	if acc != 0 {
		c.AccountID = &acc
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(upd)
	if stageAt.Valid {
		t := fromMicros(stageAt.Int64)
		c.StageAt = &t
	}
	c.UserIDs = []string{}
	c.Score = &tandem.Score{Fit: fit}
	return r, nil
}

// withScores finishes contacts read by scanContact: engagement decayed to now under the
// active agreement, or no score at all while none is active.
func (db *DB) withScores(ctx context.Context, rows []contactRow) ([]*tandem.Contact, error) {
	a, err := db.activeIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	now := db.Now()
	list := make([]*tandem.Contact, len(rows))
	for i, r := range rows {
		list[i] = r.Contact
		if a == nil || r.version == 0 && r.Stage == "" {
			r.Score = nil
			continue
		}
		m := a.model
		if r.version != 0 && !a.current(r.version) {
			// Not rescored under the active version yet: its sum decays as its own
			// version said, from the anchor all versions share.
			if m, err = db.modelOf(ctx, r.version, a); err != nil {
				return nil, err
			}
		}
		eng := m.Current(r.eng, now)
		r.Score.Engagement = round2(eng)
		r.Score.Total = round2(r.Score.Fit + eng)
	}
	return list, nil
}

// round2 rounds a score to two decimals for showing: decay makes long fractions. A
// score too large for two decimals to matter is shown as it is, and never as an
// infinity, which JSON cannot carry.
func round2(f float64) float64 {
	if math.Abs(f) > 1e15 || math.IsNaN(f) {
		return finite(f)
	}
	return math.Round(f*100) / 100
}

// canonicalContact is the id that the contact id $1 stands for now: its own, or that of
// the contact it was merged into. Each query resolves it for itself, so that a merge
// committed between two queries cannot make the contact seem missing.
const canonicalContact = `COALESCE((SELECT into_id FROM contact_merges WHERE from_id = $1), $1)`

// Contact returns a contact by id; a merged contact's old id finds the survivor.
func (db *DB) Contact(ctx context.Context, id int64) (*tandem.Contact, error) {
	if err := db.settle(ctx); err != nil {
		return nil, err
	}
	r, err := scanContact(db.read.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM contacts c WHERE c.id = `+canonicalContact, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %d: %w", id, err)
	}
	list, err := db.withScores(ctx, []contactRow{r})
	if err != nil {
		return nil, err
	}
	if err := db.attachUserIDs(ctx, list); err != nil {
		return nil, err
	}
	return list[0], nil
}

// Contacts lists contacts in id order after p.After, or with f.Order "-engagement",
// hottest first after p.AfterScore and p.After: an index on (stage, score_eng, id)
// serves it when f.Stage is set.
func (db *DB) Contacts(ctx context.Context, f tandem.ContactFilter, p tandem.Page) ([]*tandem.Contact, error) {
	list, _, err := db.ContactsPage(ctx, f, p)
	return list, err
}

// ContactsPage is Contacts with the page that continues after the last contact listed,
// made from the values the listing was ordered by, as they were read.
func (db *DB) ContactsPage(ctx context.Context, f tandem.ContactFilter, p tandem.Page) ([]*tandem.Contact, tandem.Page, error) {
	if err := db.settle(ctx); err != nil {
		return nil, p, err
	}
	q, args, err := contactsQuery(f, p)
	if err != nil {
		return nil, p, err
	}
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, p, fmt.Errorf("contacts: %w", err)
	}
	defer rows.Close()
	var found []contactRow
	for rows.Next() {
		r, err := scanContact(rows)
		if err != nil {
			return nil, p, fmt.Errorf("contacts: %w", err)
		}
		found = append(found, r)
	}
	if err := rows.Err(); err != nil {
		return nil, p, fmt.Errorf("contacts: %w", err)
	}
	next := tandem.Page{Limit: p.Limit}
	if len(found) > 0 {
		last := found[len(found)-1]
		next.After, next.AfterScore = last.ID, last.eng
	}
	list, err := db.withScores(ctx, found)
	if err != nil {
		return nil, p, err
	}
	return list, next, db.attachUserIDs(ctx, list)
}

// contactsQuery builds the query of a contact listing.
func contactsQuery(f tandem.ContactFilter, p tandem.Page) (string, []any, error) {
	var (
		where []string
		args  []any
		order string
	)
	switch f.Order {
	case "", "id":
		args = append(args, p.After)
		where = append(where, "c.id > $1")
		order = "c.id"
	case "-engagement":
		if p.After != 0 {
			args = append(args, p.AfterScore, p.After)
			where = append(where, "(c.score_eng < $1 OR (c.score_eng = $1 AND c.id < $2))")
		}
		order = "c.score_eng DESC, c.id DESC"
	default:
		return "", nil, tandem.Errorf(tandem.EInvalid, "order: %q is not one of id, -engagement", f.Order)
	}
	if f.Email != "" {
		args = append(args, strings.ToLower(strings.TrimSpace(f.Email)))
		where = append(where, fmt.Sprintf("c.id IN (SELECT contact_id FROM identities WHERE kind = 'email' AND value = $%d)", len(args)))
	}
	if f.AccountID != 0 {
		args = append(args, f.AccountID)
		where = append(where, fmt.Sprintf("c.account_id = $%d", len(args)))
	}
	if f.Stage != "" {
		args = append(args, f.Stage)
		where = append(where, fmt.Sprintf("c.stage = $%d", len(args)))
	}
	if len(where) == 0 {
		where = append(where, "1 = 1")
	}
	args = append(args, limit(p))
	q := fmt.Sprintf(`SELECT %s FROM contacts c WHERE %s ORDER BY %s LIMIT $%d`, contactColumns, strings.Join(where, " AND "), order, len(args))
	return q, args, nil
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
	// On SQLite the query reads the events not filed yet (see filing.go), milliseconds
	// under a flood of them: it is a long read, which a restart of the log waits for
	// rather than failing on it.
	var list []*tandem.Event
	err := db.readAside(ctx, func(conn *sql.Conn) error {
		var err error
		list, err = contactEvents(ctx, conn, db.dialect, id, p)
		return err
	})
	return list, err
}

func contactEvents(ctx context.Context, q querier, d dialect, id int64, p tandem.Page) ([]*tandem.Event, error) {
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = `+canonicalContact+`)`, id).Scan(&exists); err != nil {
		return nil, fmt.Errorf("contact %d events: %w", id, err)
	}
	if !exists {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	ts, after := int64(1<<63-1), int64(0)
	if p.After != 0 {
		ts, after = micros(p.AfterTime), p.After
	}
	const order = `ORDER BY timestamp DESC, id DESC LIMIT $4`
	rows, err := q.QueryContext(ctx, `SELECT id, source_id, message_id, type, event, name, user_id, anonymous_id,
		contact_id, properties, context, timestamp, received_at FROM events WHERE id IN (`+
		d.contactEvents("id", `contact_id = `+canonicalContact+` AND (timestamp < $2 OR (timestamp = $2 AND id < $3))`, order)+
		`) `+order, id, ts, after, limit(p))
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
