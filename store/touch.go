package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"

	"tandem"
)

// A touch mark is an event that may be a campaign's touch, kept apart from the events
// when it is stored so that touches are read without parsing events: a page view with a
// UTM campaign tag (kept whether or not a campaign has that tag yet, so a campaign made
// later finds its earlier visits), or a track event some campaign names. Marks follow
// their events: a visitor's join its contact when it identifies, and a merged contact's
// go to the survivor.
type touchMark struct {
	contactID, visitorID int64
	at                   int64
	// kind is "utm" or "event"; tag the lower-cased UTM campaign or the event name. A
	// "lead" mark, without a tag, is when a person became a lead: the time of the first
	// message that named them (a contact merged from two has two; the earlier counts).
	kind, tag      string
	source, medium string
}

// touchMarkOf returns the mark of an event row, if it is one. trackEvents are the track
// events campaigns name.
func touchMarkOf(r *eventRow, trackEvents map[string]bool) (touchMark, bool) {
	m := touchMark{contactID: r.contactID, visitorID: r.visitorID, at: r.timestamp}
	switch r.typ {
	case tandem.TypeTrack:
		if !trackEvents[r.event] {
			return m, false
		}
		m.kind, m.tag = "event", r.event
		return m, true
	case tandem.TypePage:
		// Most page views carry no campaign: look before parsing.
		if !bytes.Contains(r.context, []byte(`"campaign"`)) && !bytes.Contains(r.properties, []byte("utm_campaign")) &&
			!bytes.Contains(r.context, []byte("utm_campaign")) {
			return m, false
		}
		t := pageUTM(r.properties, r.context)
		if t.campaign == "" {
			return m, false
		}
		m.kind, m.tag = "utm", strings.ToLower(t.campaign)
		m.source, m.medium = strings.ToLower(t.source), strings.ToLower(t.medium)
		return m, true
	}
	return m, false
}

// insertTouchMarks stores marks: on SQLite one prepared statement run for each, which
// in-process costs little, where a statement of thousands of numbered parameters costs
// its parse; on PostgreSQL all of them in one statement of arrays, one round trip.
func insertTouchMarks(ctx context.Context, tx *sql.Tx, engine string, marks []touchMark) error {
	if len(marks) == 0 {
		return nil
	}
	if engine == "postgres" {
		n := len(marks)
		var (
			contact, visitor, at    = make([]int64, n), make([]int64, n), make([]int64, n)
			kind, tag, source, medm = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		)
		for i, m := range marks {
			contact[i], visitor[i], at[i] = m.contactID, m.visitorID, m.at
			kind[i], tag[i], source[i], medm[i] = m.kind, clip(m.tag), clip(m.source), clip(m.medium)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO touch_marks (contact_id, visitor_id, at, kind, tag, source, medium)
			SELECT NULLIF(c, 0), NULLIF(v, 0), a, k, t, s, m
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(c, v, a, k, t, s, m)`,
			contact, visitor, at, kind, tag, source, medm)
		if err != nil {
			return fmt.Errorf("touch marks: %w", err)
		}
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO touch_marks (contact_id, visitor_id, at, kind, tag, source, medium)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`)
	if err != nil {
		return fmt.Errorf("touch marks: %w", err)
	}
	defer stmt.Close()
	for _, m := range marks {
		if _, err := stmt.ExecContext(ctx, nullID(m.contactID), nullID(m.visitorID), m.at, m.kind, clip(m.tag), clip(m.source), clip(m.medium)); err != nil {
			return fmt.Errorf("touch marks: %w", err)
		}
	}
	return nil
}

// clip keeps a tag to the 200 characters a campaign's own tags may have: a longer one
// can match no campaign.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// markTouches stores the marks of the events an ingest stored.
func (r *resolver) markTouches(ctx context.Context, rows []eventRow, stored []bool) error {
	var (
		marks       []touchMark
		trackEvents map[string]bool
	)
	for i := range rows {
		if !stored[i] {
			continue
		}
		if rows[i].typ == tandem.TypeTrack && trackEvents == nil {
			var err error
			if trackEvents, err = campaignEvents(ctx, r.tx); err != nil {
				return err
			}
		}
		if m, ok := touchMarkOf(&rows[i], trackEvents); ok {
			marks = append(marks, m)
		}
	}
	for i, id := range r.created {
		marks = append(marks, touchMark{contactID: r.resolve(id), at: r.createdAt[i], kind: "lead"})
	}
	return insertTouchMarks(ctx, r.tx, r.db.dialect.name(), marks)
}

// campaignEvents returns the track events campaigns name.
func campaignEvents(ctx context.Context, q querier) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT track_event FROM campaigns WHERE track_event <> ''`)
	if err != nil {
		return nil, fmt.Errorf("campaign events: %w", err)
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, fmt.Errorf("campaign events: %w", err)
		}
		set[e] = true
	}
	return set, rows.Err()
}

// markTrackEvent marks the stored track events named event, for a campaign that is the
// first to name it. The caller holds the ingest lock, so no event slips between.
func markTrackEvent(ctx context.Context, tx *sql.Tx, event string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM touch_marks WHERE kind = 'event' AND tag = $1`, event).Scan(&n); err != nil {
		return fmt.Errorf("mark %q events: %w", event, err)
	}
	if n > 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO touch_marks (contact_id, visitor_id, at, kind, tag, source, medium)
		SELECT contact_id, visitor_id, timestamp, 'event', event, '', '' FROM events WHERE type = 'track' AND event = $1`, event)
	if err != nil {
		return fmt.Errorf("mark %q events: %w", event, err)
	}
	return nil
}

// touchMarksMigration makes the touch_marks table and marks the events stored before
// it: page views with UTM tags, and track events that campaigns name.
func touchMarksMigration(engine string) *goose.Migration {
	down := func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DROP TABLE touch_marks`)
		return err
	}
	return goose.NewGoMigration(12, &goose.GoFunc{RunTx: touchMarksUp(engine)}, &goose.GoFunc{RunTx: down})
}

// touchMarksUp is the migration that makes the touch marks.
func touchMarksUp(engine string) func(ctx context.Context, tx *sql.Tx) error {
	id := "INTEGER PRIMARY KEY"
	if engine == "postgres" {
		id = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	return func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{
			`CREATE TABLE touch_marks (
				id ` + id + `,
				contact_id BIGINT,
				visitor_id BIGINT,
				at BIGINT NOT NULL,
				kind TEXT NOT NULL,
				tag TEXT NOT NULL,
				source TEXT NOT NULL DEFAULT '',
				medium TEXT NOT NULL DEFAULT ''
			)`,
			// Covering: reports read a contact's marks from the index alone.
			`CREATE INDEX touch_marks_contact ON touch_marks (contact_id, at, kind, tag, source, medium) WHERE contact_id IS NOT NULL`,
			`CREATE INDEX touch_marks_visitor ON touch_marks (visitor_id) WHERE contact_id IS NULL`,
			`CREATE INDEX touch_marks_tag ON touch_marks (kind, tag)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		cond := `(context LIKE '%"campaign"%' OR context LIKE '%utm_campaign%' OR properties LIKE '%utm_campaign%')`
		if engine == "postgres" {
			cond = `(context->'campaign' IS NOT NULL OR context::text LIKE '%utm_campaign%' OR properties::text LIKE '%utm_campaign%')`
		}
		rows, err := tx.QueryContext(ctx, `SELECT COALESCE(contact_id, 0), COALESCE(visitor_id, 0), timestamp, properties, context
			FROM events WHERE type = 'page' AND `+cond)
		if err != nil {
			return err
		}
		var marks []touchMark
		for rows.Next() {
			r := eventRow{typ: tandem.TypePage}
			if err := rows.Scan(&r.contactID, &r.visitorID, &r.timestamp, &r.properties, &r.context); err != nil {
				rows.Close()
				return err
			}
			if m, ok := touchMarkOf(&r, nil); ok {
				marks = append(marks, m)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := insertTouchMarks(ctx, tx, engine, marks); err != nil {
			return err
		}
		// A person became a lead with their first identify, or else when first seen.
		if _, err := tx.ExecContext(ctx, `INSERT INTO touch_marks (contact_id, at, kind, tag)
			SELECT c.id, COALESCE((SELECT MIN(e.timestamp) FROM events e WHERE e.contact_id = c.id AND e.type = 'identify'), c.created_at),
				'lead', '' FROM contacts c`); err != nil {
			return err
		}
		events, err := campaignEvents(ctx, tx)
		if err != nil {
			return err
		}
		for e := range events {
			if err := markTrackEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	}
}
