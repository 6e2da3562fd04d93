package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/notify"
)

// Notifier is how the job queue sends notifications.
type Notifier struct {
	// HTTP posts webhooks and chat messages; nil uses a client with a 10 s timeout.
	HTTP *http.Client
	// SMTP sends email; nil makes email deliveries fail with a message saying so.
	SMTP *notify.SMTP
	// BaseURL, when set, is the app's address, for links to leads in messages.
	BaseURL string
}

var defaultHTTP = &http.Client{Timeout: 10 * time.Second}

// notice is a notification about to be stored: what happened to which lead, for whom.
type notice struct {
	typ        string
	assignment int64
	contact    int64
	title      string
	text       string
	// rep and manager are who email channels addressed to "rep" and "manager" reach;
	// watchers who "watchers" reaches.
	rep, manager string
	watchers     []string
	data         map[string]any
}

// storedNotice is a notice as the notifications table keeps it.
type storedNotice struct {
	Title    string         `json:"title"`
	Text     string         `json:"text"`
	Rep      string         `json:"rep,omitempty"`
	Manager  string         `json:"manager,omitempty"`
	Watchers []string       `json:"watchers,omitempty"`
	Contact  int64          `json:"contact,omitempty"`
	Data     map[string]any `json:"data"`
}

// leadNotice is a notice of type typ about lead l and its assignment.
func leadNotice(typ string, l *lead, assignment int64, rep, manager string) *notice {
	who := l.email
	if l.name != "" {
		who = l.name + " (" + l.email + ")"
	}
	score := fmt.Sprintf("score %.0f (fit %.0f, engagement %.0f), grade %s",
		l.facts.Score.Total, l.facts.Score.Fit, l.facts.Score.Engagement, orDash(l.facts.Grade))
	n := &notice{typ: typ, assignment: assignment, contact: l.contactID, rep: rep, manager: manager,
		data: map[string]any{
			"assignment_id": assignment, "rep": rep,
			"contact": map[string]any{"id": l.contactID, "email": l.email, "name": l.name,
				"score": map[string]float64{"fit": l.facts.Score.Fit, "engagement": l.facts.Score.Engagement, "total": l.facts.Score.Total},
				"grade": l.facts.Grade, "account": l.facts.Account.Name},
		}}
	switch typ {
	case "lead.assigned":
		n.title = "New lead for " + rep + ": " + who
	case "lead.unassigned":
		n.title = "No rep could take " + who
	case "sla.warning":
		n.title = "Lead waiting for " + rep + ": " + who
	case "sla.breached":
		n.title = rep + " missed the SLA on " + who
	case "lead.rejected":
		n.title = rep + " rejected " + who
	case "lead.recycled":
		n.title = who + " went back to marketing"
	default:
		n.title = typ + ": " + who
	}
	n.text = strings.TrimSpace(who + ", " + score + ". " + l.facts.Account.Name)
	return n
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// notify stores n and enqueues its delivery over every active channel that takes its type.
func (db *DB) notify(ctx context.Context, tx *sql.Tx, n *notice, now time.Time) error {
	raw, err := json.Marshal(storedNotice{Title: n.title, Text: n.text, Rep: n.rep, Manager: n.manager, Watchers: n.watchers, Contact: n.contact, Data: n.data})
	if err != nil {
		return err
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO notifications (uid, type, at, assignment_id, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		"msg_"+hex.EncodeToString(b[:]), n.typ, micros(now), nullID(n.assignment), string(raw)).Scan(&id); err != nil {
		return fmt.Errorf("notify %s: %w", n.typ, err)
	}
	channels, err := channelsIn(ctx, tx, true)
	if err != nil {
		return err
	}
	for _, c := range channels {
		if slices.Contains(c.Events, n.typ) {
			if err := enqueue(ctx, tx, db, jobDeliver, jobRef{Notification: id, Channel: c.ID}, 0, now, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// deliver makes one attempt to send a notification over a channel, logs it, and
// schedules the next attempt if it failed and may succeed later.
func (db *DB) deliver(ctx context.Context, j *job) error {
	var (
		uid, typ, raw string
		at            int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT uid, type, at, payload FROM notifications WHERE id = $1`, j.ref.Notification).Scan(&uid, &typ, &at, &raw)
	if err != nil {
		return fmt.Errorf("notification %d: %w", j.ref.Notification, err)
	}
	var sn storedNotice
	if err := json.Unmarshal([]byte(raw), &sn); err != nil {
		return fmt.Errorf("notification %d: %w", j.ref.Notification, err)
	}
	c, err := channelIn(ctx, db.read, j.ref.Channel)
	if tandem.ErrorCode(err) == tandem.ENotFound {
		return db.tx(ctx, func(tx *sql.Tx, now time.Time) error { return finishJob(ctx, tx, j, now) })
	}
	if err != nil {
		return err
	}
	ev := notify.Event{ID: uid, Type: typ, At: fromMicros(at), Title: sn.Title, Text: sn.Text, Data: sn.Data}
	if ev.Data == nil {
		ev.Data = map[string]any{}
	}
	ev.Data["notification"] = uid
	if db.Notifier.BaseURL != "" && sn.Contact != 0 {
		ev.URL = strings.TrimRight(db.Notifier.BaseURL, "/") + fmt.Sprintf("/contacts/%d", sn.Contact)
	}
	client := db.Notifier.HTTP
	if client == nil {
		client = defaultHTTP
	}
	// A send ends well within the job's lease, so that no other process takes the
	// job over while it is still going.
	sendCtx, cancel := context.WithTimeout(ctx, min(10*time.Second, db.JobLease/2))
	defer cancel()
	var res notify.Result
	switch c.Kind {
	case "webhook":
		// Signed with the wall clock, which the receiver checks the timestamp against.
		res = notify.PostWebhook(sendCtx, client, c.URL, c.Secret, ev, time.Now())
	case "slack":
		res = notify.PostSlack(sendCtx, client, c.URL, ev)
	case "email":
		to := recipients(c.To, sn.Rep, sn.Manager, sn.Watchers)
		switch {
		case len(to) == 0:
			res = notify.Result{Err: errors.New("no recipient: the lead has no rep or manager with an address")}
		case db.Notifier.SMTP == nil:
			res = notify.Result{Err: errors.New("no SMTP server is configured (--smtp)")}
		default:
			res = db.Notifier.SMTP.Send(sendCtx, to, ev)
		}
	}
	// What was sent is logged even when the process is stopping, so that it is not
	// sent again.
	ctx = context.WithoutCancel(ctx)
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var next any
		msg := ""
		if res.Err != nil {
			msg = truncate(res.Err.Error(), 1000)
			if delay, ok := notify.Backoff(j.attempts); ok && res.Retry {
				next = micros(now.Add(delay))
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (notification_id, channel_id, attempt, at, status, ok, duration_us, response, error, next_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, j.ref.Notification, c.ID, j.attempts, micros(now), res.Status, res.Err == nil,
			res.Duration.Microseconds(), truncate(res.Response, 1024), msg, next); err != nil {
			return fmt.Errorf("log delivery: %w", err)
		}
		if next == nil {
			if res.Err == nil {
				return finishJob(ctx, tx, j, now)
			}
			_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'failed', finished_at = $1, last_error = $2 WHERE id = $3 AND owner = $4 AND attempts = $5 AND state = 'running'`,
				micros(now), msg, j.id, j.owner, j.attempts)
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'pending', run_at = $1, last_error = $2, owner = '' WHERE id = $3 AND owner = $4 AND attempts = $5 AND state = 'running'`,
			next, msg, j.id, j.owner, j.attempts)
		return err
	})
}

// recipients resolves an email channel's addresses: "rep" and "manager" stand for the
// lead's (for a request, "rep" is the requester), "watchers" for a request's watchers.
func recipients(to []string, rep, manager string, watchers []string) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range to {
		switch t {
		case "rep":
			add(rep)
		case "manager":
			add(manager)
		case "watchers":
			for _, w := range watchers {
				add(w)
			}
		default:
			add(t)
		}
	}
	return out
}

const channelColumns = `id, kind, name, url, secret, recipients, events, active, created_at`

func scanChannel(s interface{ Scan(...any) error }) (*tandem.Channel, error) {
	var (
		c           tandem.Channel
		to, events  string
		createdAtUS int64
	)
	if err := s.Scan(&c.ID, &c.Kind, &c.Name, &c.URL, &c.Secret, &to, &events, &c.Active, &createdAtUS); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(to), &c.To); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &c.Events); err != nil {
		return nil, err
	}
	c.CreatedAt = fromMicros(createdAtUS)
	return &c, nil
}

func channelsIn(ctx context.Context, q querier, onlyActive bool) ([]*tandem.Channel, error) {
	where := ""
	if onlyActive {
		where = " WHERE active = $1"
	}
	args := []any{}
	if onlyActive {
		args = append(args, true)
	}
	return rowsOf(ctx, q, "channels", `SELECT `+channelColumns+` FROM channels`+where+` ORDER BY id`, args, scanChannel)
}

func channelIn(ctx context.Context, q querier, id int64) (*tandem.Channel, error) {
	return rowByID(ctx, q, "channel", `SELECT `+channelColumns+` FROM channels WHERE id = $1`, id, "", scanChannel)
}

// NotificationTypes are the events a channel may take.
var NotificationTypes = []string{"lead.assigned", "lead.unassigned", "sla.warning", "sla.breached", "lead.rejected", "lead.recycled",
	"request.created", "request.updated", "request.commented"}

// CreateChannel stores a notification channel. A webhook channel gets a new signing
// secret, returned with it.
func (db *DB) CreateChannel(ctx context.Context, in *tandem.Channel) (*tandem.Channel, error) {
	c := *in
	var errs []tandem.FieldError
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, tandem.FieldError{Pointer: ptr, Detail: fmt.Sprintf(format, args...)})
	}
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 200 {
		bad("/name", "must be 1 to 200 characters")
	}
	switch c.Kind {
	case "webhook", "slack":
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("/url", "want an http or https URL, got %q", c.URL)
		}
		if len(c.To) > 0 {
			bad("/to", "only email channels have recipients")
		}
		if c.Kind == "webhook" {
			c.Secret = notify.NewSecret()
		}
	case "email":
		if c.URL != "" {
			bad("/url", "an email channel has recipients (to), not a URL")
		}
		if len(c.To) == 0 {
			bad("/to", "want at least one recipient: an address, \"rep\", \"manager\" or \"watchers\"")
		}
		for i, t := range c.To {
			if t == "rep" || t == "manager" || t == "watchers" {
				continue
			}
			if e, ok := identity.Email(t); ok {
				c.To[i] = e
			} else {
				bad(fmt.Sprintf("/to/%d", i), "want an email address, \"rep\" or \"manager\", got %q", t)
			}
		}
	default:
		bad("/kind", "want webhook, slack or email, got %q", c.Kind)
	}
	if len(c.Events) == 0 {
		bad("/events", "want at least one of %s", strings.Join(NotificationTypes, ", "))
	}
	for i, e := range c.Events {
		if !slices.Contains(NotificationTypes, e) {
			bad(fmt.Sprintf("/events/%d", i), "want one of %s, got %q", strings.Join(NotificationTypes, ", "), e)
		}
	}
	if len(errs) > 0 {
		return nil, &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
	}
	if c.To == nil {
		c.To = []string{}
	}
	to, _ := json.Marshal(c.To)
	events, _ := json.Marshal(c.Events)
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		c.CreatedAt, c.Active = now.Truncate(time.Microsecond), true
		return tx.QueryRowContext(ctx, `INSERT INTO channels (kind, name, url, secret, recipients, events, active, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, c.Kind, c.Name, c.URL, c.Secret, string(to), string(events), true, micros(now)).Scan(&c.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("create channel: %w", err)
	}
	return &c, nil
}

// Channels lists the notification channels, without their secrets.
func (db *DB) Channels(ctx context.Context) ([]*tandem.Channel, error) {
	list, err := channelsIn(ctx, db.read, false)
	for _, c := range list {
		c.Secret = ""
	}
	return list, err
}

// DeleteChannel removes a channel and its delivery log.
func (db *DB) DeleteChannel(ctx context.Context, id int64) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE channel_id = $1`, id); err != nil {
			return fmt.Errorf("delete channel: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM channels WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tandem.Errorf(tandem.ENotFound, "channel %d not found", id)
		}
		return nil
	})
}

// Deliveries lists a channel's delivery attempts, newest first.
func (db *DB) Deliveries(ctx context.Context, channelID int64, p tandem.Page) ([]*tandem.Delivery, error) {
	if _, err := channelIn(ctx, db.read, channelID); err != nil {
		return nil, err
	}
	after := p.After
	if after <= 0 {
		after = 1<<63 - 1
	}
	rows, err := db.read.QueryContext(ctx, `SELECT d.id, d.channel_id, n.uid, n.type, d.attempt, d.at, d.status, d.ok, d.duration_us,
		d.response, d.error, d.next_at FROM deliveries d JOIN notifications n ON n.id = d.notification_id
		WHERE d.channel_id = $1 AND d.id < $2 ORDER BY d.id DESC LIMIT $3`, channelID, after, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	defer rows.Close()
	list := []*tandem.Delivery{}
	for rows.Next() {
		var (
			d        tandem.Delivery
			at, took int64
			next     sql.NullInt64
		)
		if err := rows.Scan(&d.ID, &d.ChannelID, &d.Notification, &d.Type, &d.Attempt, &at, &d.Status, &d.OK, &took,
			&d.Response, &d.Error, &next); err != nil {
			return nil, fmt.Errorf("deliveries: %w", err)
		}
		d.At, d.Duration = fromMicros(at), float64(took)/1000
		if next.Valid {
			t := fromMicros(next.Int64)
			d.NextAt = &t
		}
		list = append(list, &d)
	}
	return list, rows.Err()
}
