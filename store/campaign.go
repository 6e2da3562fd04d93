package store

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	segjson "github.com/segmentio/encoding/json"

	"tandem"
)

const campaignColumns = `id, name, channel, cost, currency, starts_at, ends_at, utm_campaign, utm_source, utm_medium, track_event, created_at`

func scanCampaign(s interface{ Scan(...any) error }) (*tandem.Campaign, error) {
	var (
		c          tandem.Campaign
		start, end sql.NullInt64
		created    int64
	)
	if err := s.Scan(&c.ID, &c.Name, &c.Channel, &c.Cost, &c.Currency, &start, &end, &c.UTMCampaign, &c.UTMSource, &c.UTMMedium,
		&c.TrackEvent, &created); err != nil {
		return nil, err
	}
	c.Start, c.End, c.CreatedAt = optTime(start), optTime(end), fromMicros(created)
	return &c, nil
}

// CreateCampaign stores a campaign. Its name is unique; its touches are recognised by
// its UTM campaign (with source and medium when given), its track event, or its list.
func (db *DB) CreateCampaign(ctx context.Context, in *tandem.Campaign) (*tandem.Campaign, error) {
	c := *in
	var errs []tandem.FieldError
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, tandem.FieldError{Pointer: ptr, Detail: fmt.Sprintf(format, args...)})
	}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 200 {
		bad("/name", "must be 1 to 200 characters")
	}
	if !slices.Contains(tandem.CampaignChannels, c.Channel) {
		bad("/channel", "want one of %s, got %q", strings.Join(tandem.CampaignChannels, ", "), c.Channel)
	}
	if c.Cost < 0 || math.IsNaN(c.Cost) || math.IsInf(c.Cost, 0) {
		bad("/cost", "want zero or more, got %v", c.Cost)
	}
	if c.Currency == "" {
		c.Currency = "USD"
	}
	c.Currency = strings.ToUpper(c.Currency)
	if len(c.Currency) != 3 || strings.Trim(c.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		bad("/currency", "want an ISO 4217 code such as USD, got %q", c.Currency)
	}
	if c.Start != nil && c.End != nil && c.End.Before(*c.Start) {
		bad("/ends_at", "before starts_at")
	}
	for ptr, v := range map[string]*string{"/utm_campaign": &c.UTMCampaign, "/utm_source": &c.UTMSource, "/utm_medium": &c.UTMMedium, "/track_event": &c.TrackEvent} {
		*v = strings.TrimSpace(*v)
		if len(*v) > 200 {
			bad(ptr, "at most 200 characters")
		}
	}
	if c.UTMCampaign == "" && (c.UTMSource != "" || c.UTMMedium != "") {
		bad("/utm_campaign", "needed with utm_source or utm_medium: touches are matched by it")
	}
	if len(errs) > 0 {
		slices.SortFunc(errs, func(x, y tandem.FieldError) int { return strings.Compare(x.Pointer, y.Pointer) })
		return nil, &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
	}
	// upTo is the last event stored before the campaign, when its track event's earlier
	// events are to be tagged: those after it are tagged by ingest.
	var upTo int64
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if c.TrackEvent != "" {
			// Serialized with ingest: every event is either stored before the campaign,
			// and at most upTo, or tagged by ingest as it is stored.
			if err := db.dialect.lockIngest(ctx, tx); err != nil {
				return err
			}
			var named int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaigns WHERE track_event = $1`, c.TrackEvent).Scan(&named); err != nil {
				return err
			}
			if named == 0 {
				var err error
				if upTo, err = lastEvent(ctx, tx); err != nil {
					return err
				}
			}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaigns WHERE name = $1`, c.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return tandem.Errorf(tandem.EConflict, "a campaign named %q exists already", c.Name)
		}
		c.CreatedAt = now.Truncate(time.Microsecond)
		return tx.QueryRowContext(ctx, `INSERT INTO campaigns (name, channel, cost, currency, starts_at, ends_at, utm_campaign, utm_source,
			utm_medium, track_event, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			c.Name, c.Channel, c.Cost, c.Currency, optMicros(c.Start), optMicros(c.End), c.UTMCampaign, c.UTMSource, c.UTMMedium,
			c.TrackEvent, micros(now)).Scan(&c.ID)
	})
	if uniqueViolation(err) {
		return nil, tandem.Errorf(tandem.EConflict, "a campaign named %q exists already", c.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create campaign: %w", err)
	}
	if err := db.tagTrackEvents(ctx, c.TrackEvent, upTo); err != nil {
		return nil, fmt.Errorf("campaign %q was made, but not all its earlier events were found: %w", c.Name, err)
	}
	return &c, nil
}

// tagTrackEventsStretch is how many event ids one transaction of tagTrackEvents covers.
const tagTrackEventsStretch = 200_000

// tagTrackEvents tags the track events named event among those up to id upTo, a
// stretch of ids a transaction, so that ingest goes on between them.
func (db *DB) tagTrackEvents(ctx context.Context, event string, upTo int64) error {
	for lo := int64(0); lo < upTo; lo += tagTrackEventsStretch {
		err := db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
			_, err := tx.ExecContext(ctx, `UPDATE events SET touch = $2 WHERE id > $3 AND id <= $4 AND type = 'track' AND event = $1`,
				event, eventTouch(event), lo, min(lo+tagTrackEventsStretch, upTo))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Campaigns lists every campaign by name.
func (db *DB) Campaigns(ctx context.Context) ([]*tandem.Campaign, error) {
	return campaignsIn(ctx, db.read)
}

func campaignsIn(ctx context.Context, q querier) ([]*tandem.Campaign, error) {
	return rowsOf(ctx, q, "campaigns", `SELECT `+campaignColumns+` FROM campaigns ORDER BY name`, nil, scanCampaign)
}

// AddCampaignMembers puts contacts on a campaign's list: each is touched by it then.
func (db *DB) AddCampaignMembers(ctx context.Context, campaignID int64, contacts []int64) error {
	if len(contacts) > 10000 {
		return invalid("/contacts", "at most 10,000 contacts a call")
	}
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		// Serialized with ingest, whose merges move members and delete contacts.
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaigns WHERE id = $1`, campaignID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return tandem.Errorf(tandem.ENotFound, "campaign %d not found", campaignID)
		}
		for i, id := range contacts {
			var canonical int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = `+canonicalContact, id).Scan(&canonical)
			if err == sql.ErrNoRows {
				return invalid(fmt.Sprintf("/contacts/%d", i), "contact %d not found", id)
			}
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaign_members (campaign_id, contact_id, added_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
				campaignID, canonical, micros(now)); err != nil {
				return err
			}
		}
		return nil
	})
}

// utmTags are the UTM parameters of a page view.
type utmTags struct{ campaign, source, medium string }

// pageUTM reads a page view's UTM tags: Segment clients put them in context.campaign
// (name, source, medium); otherwise the page URL's query has them (properties.url,
// properties.search, or context.page).
func pageUTM(properties, context []byte) utmTags {
	var ctx struct {
		Campaign struct{ Name, Source, Medium string } `json:"campaign"`
		Page     struct{ URL, Search string }          `json:"page"`
	}
	if segjson.Unmarshal(context, &ctx) != nil {
		// The fast decoder stops at a field of an unexpected type (a campaign given as
		// a string, say); the standard one reads on past it.
		_ = json.Unmarshal(context, &ctx)
	}
	if ctx.Campaign.Name != "" {
		return utmTags{ctx.Campaign.Name, ctx.Campaign.Source, ctx.Campaign.Medium}
	}
	var props struct{ URL, Search string }
	if segjson.Unmarshal(properties, &props) != nil {
		_ = json.Unmarshal(properties, &props)
	}
	for _, s := range []string{props.URL, props.Search, ctx.Page.URL, ctx.Page.Search} {
		if i := strings.IndexByte(s, '?'); i >= 0 {
			s = s[i+1:]
		}
		s, _, _ = strings.Cut(s, "#")
		// A malformed parameter elsewhere in the query (50%off) must not lose the
		// UTM tags: ParseQuery keeps what it could read.
		q, _ := url.ParseQuery(s)
		if q.Get("utm_campaign") != "" {
			return utmTags{q.Get("utm_campaign"), q.Get("utm_source"), q.Get("utm_medium")}
		}
	}
	return utmTags{}
}

// touchMatcher finds the campaign of a touch tag.
type touchMatcher struct {
	byEvent map[string]*tandem.Campaign
	// byUTM holds the campaigns by lower-cased UTM campaign, in name order: the first
	// whose source and medium match (or are unset) is the touch's.
	byUTM map[string][]*tandem.Campaign
}

func newTouchMatcher(campaigns []*tandem.Campaign) *touchMatcher {
	m := &touchMatcher{byEvent: map[string]*tandem.Campaign{}, byUTM: map[string][]*tandem.Campaign{}}
	for _, c := range campaigns {
		if c.TrackEvent != "" && m.byEvent[c.TrackEvent] == nil {
			m.byEvent[c.TrackEvent] = c
		}
		if c.UTMCampaign != "" {
			k := strings.ToLower(c.UTMCampaign)
			m.byUTM[k] = append(m.byUTM[k], c)
		}
	}
	return m
}

// match returns the campaign of a touch tag, or nil. It takes the tag's bytes as a row
// gives them, and keeps none.
func (m *touchMatcher) match(touch []byte) *tandem.Campaign {
	kind, rest, _ := bytes.Cut(touch, []byte(touchSep))
	if string(kind) == "event" {
		return m.byEvent[string(rest)]
	}
	tag, rest, _ := bytes.Cut(rest, []byte(touchSep))
	source, medium, _ := bytes.Cut(rest, []byte(touchSep))
	for _, c := range m.byUTM[string(tag)] {
		if (c.UTMSource == "" || strings.EqualFold(c.UTMSource, string(source))) &&
			(c.UTMMedium == "" || strings.EqualFold(c.UTMMedium, string(medium))) {
			return c
		}
	}
	return nil
}

// contactTouches reads the campaign touches of the contacts where(column) selects,
// from their tagged events and list memberships: each contact's, oldest first.
func contactTouches(ctx context.Context, q querier, d dialect, m *touchMatcher, where func(col string) (string, []any)) (map[int64][]tandem.CampaignTouch, error) {
	set := map[int64][]tandem.CampaignTouch{}
	cond, args := where("contact_id")
	rows, err := q.QueryContext(ctx, d.contactEvents("contact_id, timestamp, touch", `touch IS NOT NULL AND `+cond, ""), args...)
	if err != nil {
		return nil, fmt.Errorf("touches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, at int64
			touch  sql.RawBytes
		)
		if err := rows.Scan(&id, &at, &touch); err != nil {
			return nil, fmt.Errorf("touches: %w", err)
		}
		if c := m.match(touch); c != nil {
			how := "utm"
			if bytes.HasPrefix(touch, []byte("event")) {
				how = "event"
			}
			set[id] = append(set[id], tandem.CampaignTouch{CampaignID: c.ID, Campaign: c.Name, Channel: c.Channel, At: fromMicros(at), How: how})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("touches: %w", err)
	}
	cond, args = where("m.contact_id")
	members, err := q.QueryContext(ctx, `SELECT m.contact_id, c.id, c.name, c.channel, m.added_at FROM campaign_members m
		JOIN campaigns c ON c.id = m.campaign_id WHERE `+cond, args...)
	if err != nil {
		return nil, fmt.Errorf("touches: %w", err)
	}
	defer members.Close()
	for members.Next() {
		var (
			id, at int64
			t      tandem.CampaignTouch
		)
		if err := members.Scan(&id, &t.CampaignID, &t.Campaign, &t.Channel, &at); err != nil {
			return nil, fmt.Errorf("touches: %w", err)
		}
		t.At, t.How = fromMicros(at), "member"
		set[id] = append(set[id], t)
	}
	if err := members.Err(); err != nil {
		return nil, fmt.Errorf("touches: %w", err)
	}
	for _, list := range set {
		// Touches at one instant go by campaign, so that which is first never depends
		// on the order the store read them in.
		slices.SortFunc(list, func(x, y tandem.CampaignTouch) int {
			return cmp.Or(x.At.Compare(y.At), strings.Compare(x.Campaign, y.Campaign), strings.Compare(x.How, y.How))
		})
	}
	return set, nil
}

// ContactTouches derives a contact's campaign touches from its events: page views whose
// UTM tags name a campaign, track events a campaign names, and list memberships. A
// touch counts whenever it happened, even after the campaign's end date: old links go
// on bringing people in.
func (db *DB) ContactTouches(ctx context.Context, contactID int64) ([]tandem.CampaignTouch, error) {
	var canonical int64
	if err := db.read.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = `+canonicalContact, contactID).Scan(&canonical); err != nil {
		if err == sql.ErrNoRows {
			return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", contactID)
		}
		return nil, fmt.Errorf("touches of contact %d: %w", contactID, err)
	}
	campaigns, err := campaignsIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	one := func(col string) (string, []any) { return col + ` = $1`, []any{canonical} }
	set, err := contactTouches(ctx, db.read, db.dialect, newTouchMatcher(campaigns), one)
	if err != nil {
		return nil, fmt.Errorf("touches of contact %d: %w", contactID, err)
	}
	if touches := set[canonical]; touches != nil {
		return touches, nil
	}
	return []tandem.CampaignTouch{}, nil
}
