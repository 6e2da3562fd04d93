package store

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pressly/goose/v3"

	"tandem"
)

// An event that may be a campaign's touch carries a touch tag, set when it is stored so
// that touches are read without parsing events: a page view with a UTM campaign tag
// (set whether or not a campaign has that tag yet, so a campaign made later finds its
// earlier visits), or a track event some campaign names. An index over the events by
// contact that holds the tag serves the reports (on PostgreSQL a partial one of the
// tagged events alone; see contactIndexMigration); the tag follows its event from visitor to
// contact and through merges with no more work. When each person became a lead is kept
// on the contact (lead_at): the time of the first message that named them.
//
// A tag is its kind ("utm" or "event"), then, for utm, the lower-cased campaign, source
// and medium, or, for event, the event name, separated by touchSep.
const touchSep = "\x1f"

// utmTouch is the touch tag of a page view with UTM tags t, or "" when a tag is one no
// campaign can have: longer than the 200 characters a campaign's tags may have, or with
// a NUL, a separator or bytes that are not UTF-8 (a URL's %00 decodes to NUL).
func utmTouch(t utmTags) string {
	parts := []string{"utm", strings.ToLower(t.campaign), strings.ToLower(t.source), strings.ToLower(t.medium)}
	for _, p := range parts[1:] {
		if len(p) > 200 || strings.ContainsAny(p, "\x00"+touchSep) || !utf8.ValidString(p) {
			return ""
		}
	}
	return strings.Join(parts, touchSep)
}

// eventTouch is the touch tag of a track event a campaign names.
func eventTouch(event string) string { return "event" + touchSep + event }

// touchOf returns the touch tag of an event row, or "". trackEvents are the track events
// campaigns name.
func touchOf(r *eventRow, trackEvents map[string]bool) string {
	switch r.typ {
	case tandem.TypeTrack:
		if trackEvents[r.event] {
			return eventTouch(r.event)
		}
	case tandem.TypePage:
		// Most page views carry no campaign: look before parsing.
		if !bytes.Contains(r.context, []byte(`"campaign"`)) && !bytes.Contains(r.properties, []byte("utm_campaign")) &&
			!bytes.Contains(r.context, []byte("utm_campaign")) {
			return ""
		}
		if t := pageUTM(r.properties, r.context); t.campaign != "" {
			return utmTouch(t)
		}
	}
	return ""
}

// tagTouches sets the touch tags of the events an ingest is about to store.
func (r *resolver) tagTouches(ctx context.Context, rows []eventRow) error {
	var trackEvents map[string]bool
	for i := range rows {
		if rows[i].typ == tandem.TypeTrack && trackEvents == nil {
			var err error
			if trackEvents, err = campaignEvents(ctx, r.tx); err != nil {
				return err
			}
		}
		rows[i].touch = touchOf(&rows[i], trackEvents)
	}
	return nil
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

// tagTrackEvent tags the stored track events named event, for a migration.
func tagTrackEvent(ctx context.Context, tx *sql.Tx, event string) error {
	_, err := tx.ExecContext(ctx, `UPDATE events SET touch = $2 WHERE type = 'track' AND event = $1`, event, eventTouch(event))
	if err != nil {
		return fmt.Errorf("tag %q events: %w", event, err)
	}
	return nil
}

// touchMigration adds the touch tags and lead times, and sets them for what an upgraded
// store holds already.
func touchMigration(engine string, log *slog.Logger) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		// Anonymous touches enter the index only when their visitor identifies: most
		// visitors never do.
		index := `CREATE INDEX events_touch ON events (contact_id, timestamp, touch) WHERE touch IS NOT NULL AND contact_id IS NOT NULL`
		if engine == "postgres" {
			index = `CREATE INDEX events_touch ON events (contact_id, timestamp) INCLUDE (touch)
				WHERE touch IS NOT NULL AND contact_id IS NOT NULL`
		}
		// contacts_lead: reports read the lead times of many contacts by id from the
		// index, not their wide rows.
		for _, q := range []string{`ALTER TABLE events ADD COLUMN touch TEXT`, `ALTER TABLE contacts ADD COLUMN lead_at BIGINT`, index,
			`CREATE INDEX contacts_lead ON contacts (id, lead_at)`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return fillTouches(ctx, tx, engine, log)
	}
	down := func(ctx context.Context, tx *sql.Tx) error {
		for _, q := range []string{`DROP INDEX contacts_lead`, `DROP INDEX events_touch`, `ALTER TABLE events DROP COLUMN touch`,
			`ALTER TABLE contacts DROP COLUMN lead_at`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}
	return goose.NewGoMigration(12, &goose.GoFunc{RunTx: up}, &goose.GoFunc{RunTx: down})
}

// fillTouches tags the stored page views with UTM tags and track events campaigns name,
// and dates when each contact became a lead. On a store of millions of events it reads
// them all, for minutes: log, when set, hears how far it got every 30 seconds.
func fillTouches(ctx context.Context, tx *sql.Tx, engine string, log *slog.Logger) error {
	start, said := time.Now(), time.Now()
	last, err := lastEvent(ctx, tx)
	if err != nil {
		return err
	}
	if last == 0 {
		log = nil // a new store: nothing to tag, nothing to say
	}
	if log != nil {
		log.Info("tagging the campaign touches of the stored page views, once; on a large store this takes minutes", "events", last)
	}
	cond := `(context LIKE '%"campaign"%' OR context LIKE '%utm_campaign%' OR properties LIKE '%utm_campaign%')`
	if engine == "postgres" {
		cond = `(context->'campaign' IS NOT NULL OR context::text LIKE '%utm_campaign%' OR properties::text LIKE '%utm_campaign%')`
	}
	// One pass over the events finds the tagged page views and each contact's first
	// identify: when the person became a lead.
	rows, err := tx.QueryContext(ctx, `SELECT id, type, COALESCE(contact_id, 0), timestamp, properties, context FROM events
		WHERE (type = 'page' AND `+cond+`) OR (type = 'identify' AND contact_id IS NOT NULL)`)
	if err != nil {
		return err
	}
	type tagged struct {
		id    int64
		touch string
	}
	var (
		list  []tagged
		leads = map[int64]int64{}
	)
	for rows.Next() {
		var (
			r          eventRow
			id, person int64
		)
		if err := rows.Scan(&id, &r.typ, &person, &r.timestamp, &r.properties, &r.context); err != nil {
			rows.Close()
			return err
		}
		if r.typ == tandem.TypeIdentify {
			if at, ok := leads[person]; !ok || r.timestamp < at {
				leads[person] = r.timestamp
			}
		} else if t := touchOf(&r, nil); t != "" {
			list = append(list, tagged{id, t})
		}
		if log != nil && time.Since(said) > 30*time.Second {
			log.Info("tagging touches", "read_up_to_event", id, "tagged", len(list), "elapsed", time.Since(start).Round(time.Second))
			said = time.Now()
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE events SET touch = $1 WHERE id = $2`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, t := range list {
		if _, err := stmt.ExecContext(ctx, t.touch, t.id); err != nil {
			return err
		}
		if log != nil && time.Since(said) > 30*time.Second {
			log.Info("tagging touches", "tagged", i, "of", len(list), "elapsed", time.Since(start).Round(time.Second))
			said = time.Now()
		}
	}
	events, err := campaignEvents(ctx, tx)
	if err != nil {
		return err
	}
	for e := range events {
		if err := tagTrackEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	// A contact never identified (known by a user id on track calls alone) became a
	// lead when first seen.
	if _, err = tx.ExecContext(ctx, `UPDATE contacts SET lead_at = created_at`); err != nil {
		return err
	}
	lead, err := tx.PrepareContext(ctx, `UPDATE contacts SET lead_at = $1 WHERE id = $2 AND $1 < lead_at`)
	if err != nil {
		return err
	}
	defer lead.Close()
	for id, at := range leads {
		if _, err := lead.ExecContext(ctx, at, id); err != nil {
			return err
		}
	}
	if log != nil {
		log.Info("tagged touches", "page_views", len(list), "took", time.Since(start).Round(time.Second))
	}
	return nil
}

// contactIndexMigration makes one index by contact serve both a contact's timeline and
// its campaign touches on SQLite, where each index by contact costs ingest a page
// written per event: a group of a thousand events from as many people touches that many
// pages of each, and each page is 4 KiB in the write-ahead log. The touch tag rides in
// the timeline's index (after the id, which keeps the timeline's order), so the reports
// read touches from it as they did from their own, only with the other events of the
// same people between them: level on the 1 M contact demo, for about 6 % more events a
// second in batches. PostgreSQL keeps both: its batch budget is met, and it writes an
// index page to its log only once between checkpoints.
func contactIndexMigration(engine string, log *slog.Logger) *goose.Migration {
	return sqliteMigration(engine, log, 17, "rebuilding the events' index by contact, once; on a large store this takes a minute",
		[]string{`DROP INDEX events_touch`, `DROP INDEX events_contact`,
			`CREATE INDEX events_contact ON events (contact_id, timestamp, id, touch) WHERE contact_id IS NOT NULL`},
		[]string{`DROP INDEX events_contact`,
			`CREATE INDEX events_contact ON events (contact_id, timestamp) WHERE contact_id IS NOT NULL`,
			`CREATE INDEX events_touch ON events (contact_id, timestamp, touch) WHERE touch IS NOT NULL AND contact_id IS NOT NULL`})
}

// sqliteMigration is a migration of SQLite stores alone, up and down each statements
// run in order. On a store of more than a million events, it logs note first.
func sqliteMigration(engine string, log *slog.Logger, version int64, note string, up, down []string) *goose.Migration {
	run := func(qs []string) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			if engine != "sqlite" {
				return nil
			}
			events, err := lastEvent(ctx, tx)
			if err != nil {
				return err
			}
			if log != nil && events > 1_000_000 {
				log.Info(note, "events", events)
			}
			for _, q := range qs {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return goose.NewGoMigration(version, &goose.GoFunc{RunTx: run(up)}, &goose.GoFunc{RunTx: run(down)})
}
