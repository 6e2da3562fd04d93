package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/sla"
)

const requestColumns = `id, type, title, description, status, priority, requester, assignee, account_id, opportunity, accounts, links,
	due_asked, due_at, committed_at, decline_reason, created_at, updated_at, triaged_at, delivered_at, confirmed_at, reopened`

func scanRequest(s interface{ Scan(...any) error }) (*tandem.Request, error) {
	var (
		r                             tandem.Request
		account                       sql.NullInt64
		accounts, links               string
		asked, due, committed         sql.NullInt64
		created, updated              int64
		triaged, delivered, confirmed sql.NullInt64
	)
	if err := s.Scan(&r.ID, &r.Type, &r.Title, &r.Description, &r.Status, &r.Priority, &r.Requester, &r.Assignee, &account,
		&r.Opportunity, &accounts, &links, &asked, &due, &committed, &r.DeclineReason, &created, &updated, &triaged, &delivered,
		&confirmed, &r.Reopened); err != nil {
		return nil, err
	}
	if account.Valid {
		r.AccountID = &account.Int64
	}
	if err := json.Unmarshal([]byte(accounts), &r.Accounts); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(links), &r.Links); err != nil {
		return nil, err
	}
	r.DueAsked, r.DueAt, r.CommittedAt = optTime(asked), optTime(due), optTime(committed)
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.TriagedAt, r.DeliveredAt, r.ConfirmedAt = optTime(triaged), optTime(delivered), optTime(confirmed)
	r.Watchers = []string{}
	return &r, nil
}

// overdue says whether a request missed or is missing its turnaround at now.
func overdue(r *tandem.Request, now time.Time) bool {
	switch {
	case r.DueAt == nil || r.Status == tandem.RequestDeclined:
		return false
	case r.DeliveredAt != nil:
		return r.DeliveredAt.After(*r.DueAt)
	}
	return now.After(*r.DueAt)
}

// requestTerms are what requests need of the active agreement: the types with their
// turnarounds, and the calendar they run on.
type requestTerms struct {
	turnaround map[string]time.Duration
	cal        *sla.Calendar
	version    int
}

func (db *DB) requestTerms(ctx context.Context, q querier) (*requestTerms, error) {
	act, err := db.activeIn(ctx, q)
	if err != nil {
		return nil, err
	}
	if act == nil {
		return nil, tandem.Errorf(tandem.EConflict, "no agreement is active: request types and their turnaround come from it")
	}
	cal, err := sla.New(act.agreement.Hours, act.agreement.Timezone)
	if err != nil {
		return nil, fmt.Errorf("agreement v%d business hours: %w", act.version, err)
	}
	return &requestTerms{turnaround: act.agreement.SLA.Marketing.RequestTurnaround, cal: cal, version: act.version}, nil
}

func (t *requestTerms) types() []string {
	types := make([]string, 0, len(t.turnaround))
	for k := range t.turnaround {
		types = append(types, k)
	}
	sort.Strings(types)
	return types
}

// RequestTypes returns the request types of the active agreement with their turnaround.
func (db *DB) RequestTypes(ctx context.Context) (map[string]time.Duration, error) {
	t, err := db.requestTerms(ctx, db.read)
	if err != nil {
		return nil, err
	}
	return t.turnaround, nil
}

// userTeam returns the team of an active user, or "" when there is none by that email.
func userTeam(ctx context.Context, q querier, email string) (tandem.Team, error) {
	var team tandem.Team
	err := q.QueryRowContext(ctx, `SELECT team FROM users WHERE email = $1 AND active = $2`, email, true).Scan(&team)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return team, err
}

func invalid(ptr, format string, args ...any) *tandem.Error {
	msg := fmt.Sprintf(format, args...)
	return &tandem.Error{Code: tandem.EInvalid, Message: ptr[1:] + ": " + msg, Fields: []tandem.FieldError{{Pointer: ptr, Detail: msg}}}
}

func checkLinks(links []string) ([]string, error) {
	out := []string{}
	for i, l := range links {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(l) > 2000 {
			return nil, invalid(fmt.Sprintf("/links/%d", i), "want an http or https link, got %q", l)
		}
		out = append(out, l)
	}
	return out, nil
}

// CreateRequest files a request of sales to marketing. The requester is by, a sales
// user (an admin may file on behalf of the sales user r.Requester names). Its due time is
// the agreement's turnaround for its type, in business time from now.
func (db *DB) CreateRequest(ctx context.Context, in *tandem.Request, by tandem.Person) (*tandem.Request, error) {
	r := *in
	if by.Role != tandem.RoleSales && by.Role != tandem.RoleAdmin {
		return nil, tandem.Errorf(tandem.EForbidden, "sales files requests of marketing; %s may not", by.Role)
	}
	// A person files as themselves; an admin, or an API token that speaks for nobody in
	// particular (an integration), names the requester.
	if by.Email != "" && (r.Requester == "" || by.Role != tandem.RoleAdmin) {
		r.Requester = by.Email
	}
	var errs []tandem.FieldError
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, tandem.FieldError{Pointer: ptr, Detail: fmt.Sprintf(format, args...)})
	}
	r.Title, r.Description, r.Opportunity = strings.TrimSpace(r.Title), strings.TrimSpace(r.Description), strings.TrimSpace(r.Opportunity)
	if r.Title == "" || len(r.Title) > 200 {
		bad("/title", "must be 1 to 200 characters")
	}
	if len(r.Description) > 10000 {
		bad("/description", "at most 10,000 characters")
	}
	if r.Priority == "" {
		r.Priority = "normal"
	}
	if !slices.Contains(tandem.RequestPriorities, r.Priority) {
		bad("/priority", "want one of %s, got %q", strings.Join(tandem.RequestPriorities, ", "), r.Priority)
	}
	if len(r.Links) > maxLinks {
		return nil, invalid("/links", "at most %d links", maxLinks)
	}
	links, err := checkLinks(r.Links)
	if err != nil {
		return nil, err
	}
	r.Links = links
	r.Accounts = slices.Compact(slices.Sorted(slices.Values(r.Accounts)))
	if len(r.Accounts) > maxAccounts {
		return nil, invalid("/accounts", "at most %d accounts", maxAccounts)
	}
	if r.Accounts == nil {
		r.Accounts = []int64{}
	}
	var id int64
	err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		terms, err := db.requestTerms(ctx, tx)
		if err != nil {
			return err
		}
		turnaround, ok := terms.turnaround[r.Type]
		if !ok {
			bad("/type", "want one of the agreement's request types (%s), got %q", strings.Join(terms.types(), ", "), r.Type)
		}
		if e, ok := identity.Email(r.Requester); !ok {
			bad("/requester", "want the email address of a sales user, got %q", r.Requester)
		} else if team, err := userTeam(ctx, tx, e); err != nil {
			return err
		} else if team != tandem.TeamSales {
			bad("/requester", "%s is not an active sales user", e)
		} else {
			r.Requester = e
		}
		if r.Type == tandem.LeadsRequestType && len(r.Accounts) == 0 {
			bad("/accounts", "a leads request names the target accounts")
		}
		for i, a := range append(slices.Clone(r.Accounts), ptrOr(r.AccountID)...) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = $1`, a).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				ptr := fmt.Sprintf("/accounts/%d", i)
				if i >= len(r.Accounts) {
					ptr = "/account_id"
				}
				bad(ptr, "account %d not found", a)
			}
		}
		if r.DueAsked != nil && r.DueAsked.Before(now.Add(-24*time.Hour)) {
			bad("/due_asked", "a date to come, got %s", r.DueAsked.Format(time.DateOnly))
		}
		if len(errs) > 0 {
			return &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
		}
		accounts, _ := json.Marshal(r.Accounts)
		links, _ := json.Marshal(r.Links)
		due := terms.cal.Add(now, turnaround)
		if err := tx.QueryRowContext(ctx, `INSERT INTO requests (type, title, description, status, priority, requester, account_id, opportunity,
			accounts, links, due_asked, due_at, created_at, updated_at) VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id`,
			r.Type, r.Title, r.Description, r.Priority, r.Requester, nullID(ptrOrZero(r.AccountID)), r.Opportunity, string(accounts), string(links),
			optMicros(r.DueAsked), micros(due), micros(now)).Scan(&id); err != nil {
			return fmt.Errorf("create request: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO request_watchers (request_id, email) VALUES ($1, $2)`, id, r.Requester); err != nil {
			return err
		}
		if err := recordChange(ctx, tx, id, by, "", tandem.RequestNew, "", now); err != nil {
			return err
		}
		return db.notifyRequest(ctx, tx, id, "request.created", by, "", now)
	})
	if err != nil {
		return nil, err
	}
	return db.Request(ctx, id)
}

// A request names at most this many target accounts and links.
const (
	maxAccounts = 500
	maxLinks    = 50
)

func ptrOr(p *int64) []int64 {
	if p == nil {
		return nil
	}
	return []int64{*p}
}

func ptrOrZero(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func optMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func recordChange(ctx context.Context, tx *sql.Tx, id int64, by tandem.Person, from, to tandem.RequestStatus, note string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO request_changes (request_id, at, by_name, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6)`,
		id, micros(now), personName(by), from, to, note)
	if err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	return nil
}

func personName(p tandem.Person) string {
	switch {
	case p.Name != "" && p.Email != "":
		return p.Name + " <" + p.Email + ">"
	case p.Email != "":
		return p.Email
	}
	return p.Name
}

// Request returns one request with its watchers.
func (db *DB) Request(ctx context.Context, id int64) (*tandem.Request, error) {
	r, err := requestIn(ctx, db.read, id, "")
	if err != nil {
		return nil, err
	}
	r.Overdue = overdue(r, db.Now())
	rows, err := db.read.QueryContext(ctx, `SELECT email FROM request_watchers WHERE request_id = $1 ORDER BY email`, id)
	if err != nil {
		return nil, fmt.Errorf("request %d watchers: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		r.Watchers = append(r.Watchers, e)
	}
	return r, rows.Err()
}

func requestIn(ctx context.Context, q querier, id int64, lock string) (*tandem.Request, error) {
	return rowByID(ctx, q, "request", `SELECT `+requestColumns+` FROM requests WHERE id = $1`, id, lock, scanRequest)
}

// Requests lists requests in the order they were filed, the latest first with Newest.
func (db *DB) Requests(ctx context.Context, f tandem.RequestFilter, p tandem.Page) ([]*tandem.Request, error) {
	var (
		where []string
		args  []any
	)
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Type != "" {
		arg("type = $%d", f.Type)
	}
	if f.Requester != "" {
		arg("requester = $%d", strings.ToLower(f.Requester))
	}
	if f.Assignee != "" {
		arg("assignee = $%d", strings.ToLower(f.Assignee))
	}
	switch {
	case f.Status != "":
		arg("status = $%d", f.Status)
	case f.Open || f.Overdue:
		where = append(where, "status NOT IN ('declined', 'confirmed')")
	}
	now := db.Now()
	if f.Overdue {
		arg("(delivered_at IS NULL AND due_at < $%[1]d OR delivered_at > due_at)", micros(now))
	}
	if len(f.Requesters) > 0 {
		cond, v := db.dialect.in("requester", len(args)+1, f.Requesters)
		args = append(args, v)
		where = append(where, cond)
	}
	order := "id"
	if p.After > 0 {
		if f.Newest {
			arg("id < $%d", p.After)
		} else {
			arg("id > $%d", p.After)
		}
	}
	if f.Newest {
		order = "id DESC"
	}
	q := `SELECT ` + requestColumns + ` FROM requests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit(p))
	q += fmt.Sprintf(` ORDER BY %s LIMIT $%d`, order, len(args))
	rows, err := db.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	defer rows.Close()
	list := []*tandem.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("requests: %w", err)
		}
		r.Overdue = overdue(r, now)
		list = append(list, r)
	}
	return list, rows.Err()
}

// move runs one transition of a request in a transaction: check says whether by may
// make it from the request's status (a Forbidden or Conflict error if not), apply
// writes what changes besides the status, and the change is recorded and the watchers
// told.
func (db *DB) move(ctx context.Context, id int64, by tandem.Person, to tandem.RequestStatus, note string,
	check func(r *tandem.Request) error, apply func(tx *sql.Tx, r *tandem.Request, now time.Time) error) (*tandem.Request, error) {
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		r, err := requestIn(ctx, tx, id, db.dialect.forUpdate())
		if err != nil {
			return err
		}
		if err := check(r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE requests SET status = $1, updated_at = $2 WHERE id = $3`, to, micros(now), id); err != nil {
			return fmt.Errorf("request %d: %w", id, err)
		}
		if apply != nil {
			if err := apply(tx, r, now); err != nil {
				return err
			}
		}
		if err := recordChange(ctx, tx, id, by, r.Status, to, note, now); err != nil {
			return err
		}
		return db.notifyRequest(ctx, tx, id, "request.updated", by, note, now)
	})
	if err != nil {
		return nil, err
	}
	return db.Request(ctx, id)
}

// allowed refuses a transition from a status not in from, or by someone of another role.
func allowed(r *tandem.Request, by tandem.Person, action string, roles []tandem.Role, from ...tandem.RequestStatus) error {
	if by.Role != tandem.RoleAdmin && !slices.Contains(roles, by.Role) {
		return tandem.Errorf(tandem.EForbidden, "%s may not %s a request", by.Role, action)
	}
	if !slices.Contains(from, r.Status) {
		return tandem.Errorf(tandem.EConflict, "request %d is %s: only a %s request can be %s", r.ID, r.Status,
			strings.ReplaceAll(fmt.Sprint(from), " ", " or "), action+"ed")
	}
	return nil
}

var marketing = []tandem.Role{tandem.RoleMarketing}

// TriageRequest is marketing's decision on a new request: accepted with a committed
// date and an assignee of the marketing team (by, when by is one), or declined with a
// reason.
func (db *DB) TriageRequest(ctx context.Context, id int64, t tandem.Triage, by tandem.Person) (*tandem.Request, error) {
	if !t.Accept {
		reason := strings.TrimSpace(t.Reason)
		if reason == "" || len(reason) > 2000 {
			return nil, invalid("/reason", "a declined request needs a reason (at most 2,000 characters)")
		}
		return db.move(ctx, id, by, tandem.RequestDeclined, reason,
			func(r *tandem.Request) error { return allowed(r, by, "triage", marketing, tandem.RequestNew) },
			func(tx *sql.Tx, r *tandem.Request, now time.Time) error {
				_, err := tx.ExecContext(ctx, `UPDATE requests SET decline_reason = $1, triaged_at = $2 WHERE id = $3`, reason, micros(now), id)
				return err
			})
	}
	if t.Committed.IsZero() {
		return nil, invalid("/committed", "an accepted request needs the date marketing commits to")
	}
	assignee := strings.TrimSpace(t.Assignee)
	if assignee == "" {
		assignee = by.Email
	}
	return db.move(ctx, id, by, tandem.RequestTriaged, "committed to "+t.Committed.Format(time.DateOnly),
		func(r *tandem.Request) error {
			if err := allowed(r, by, "triage", marketing, tandem.RequestNew); err != nil {
				return err
			}
			if t.Committed.Before(r.CreatedAt.Add(-24 * time.Hour)) {
				return invalid("/committed", "a date on or after the request was filed, got %s", t.Committed.Format(time.DateOnly))
			}
			return nil
		},
		func(tx *sql.Tx, r *tandem.Request, now time.Time) error {
			e, ok := identity.Email(assignee)
			if !ok {
				return invalid("/assignee", "want the email address of a marketing user, got %q", assignee)
			}
			team, err := userTeam(ctx, tx, e)
			if err != nil {
				return err
			}
			if team != tandem.TeamMarketing {
				return invalid("/assignee", "%s is not an active marketing user", e)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE requests SET assignee = $1, committed_at = $2, triaged_at = $3 WHERE id = $4`,
				e, micros(t.Committed), micros(now), id); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO request_watchers (request_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, e)
			return err
		})
}

// StartRequest marks an accepted request in progress.
func (db *DB) StartRequest(ctx context.Context, id int64, by tandem.Person) (*tandem.Request, error) {
	return db.move(ctx, id, by, tandem.RequestInProgress, "",
		func(r *tandem.Request) error { return allowed(r, by, "start", marketing, tandem.RequestTriaged) }, nil)
}

// DeliverRequest marks a request delivered, with links to what was delivered. The
// turnaround stops here.
func (db *DB) DeliverRequest(ctx context.Context, id int64, links []string, by tandem.Person) (*tandem.Request, error) {
	if len(links) > maxLinks {
		return nil, invalid("/links", "at most %d links", maxLinks)
	}
	links, err := checkLinks(links)
	if err != nil {
		return nil, err
	}
	return db.move(ctx, id, by, tandem.RequestDelivered, "",
		func(r *tandem.Request) error {
			return allowed(r, by, "deliver", marketing, tandem.RequestTriaged, tandem.RequestInProgress)
		},
		func(tx *sql.Tx, r *tandem.Request, now time.Time) error {
			all, _ := json.Marshal(append(r.Links, links...))
			_, err := tx.ExecContext(ctx, `UPDATE requests SET delivered_at = $1, links = $2 WHERE id = $3`, micros(now), string(all), id)
			return err
		})
}

// requesterOnly refuses anyone but the request's requester: marketing cannot confirm a
// delivery on sales' behalf.
//
// A sales API token that speaks for nobody in particular (the CRM, say) acts for the
// requester.
func requesterOnly(r *tandem.Request, by tandem.Person, action string) error {
	salesToken := by.Email == "" && by.Role == tandem.RoleSales
	if !salesToken && (by.Email == "" || by.Email != r.Requester) {
		return tandem.Errorf(tandem.EForbidden, "only the requester, %s, may %s request %d", r.Requester, action, r.ID)
	}
	if r.Status != tandem.RequestDelivered {
		return tandem.Errorf(tandem.EConflict, "request %d is %s: only a delivered request can be %sed", r.ID, r.Status, action)
	}
	return nil
}

// ConfirmRequest is the requester's confirmation that the delivery is what they asked for.
func (db *DB) ConfirmRequest(ctx context.Context, id int64, by tandem.Person) (*tandem.Request, error) {
	return db.move(ctx, id, by, tandem.RequestConfirmed, "",
		func(r *tandem.Request) error { return requesterOnly(r, by, "confirm") },
		func(tx *sql.Tx, r *tandem.Request, now time.Time) error {
			_, err := tx.ExecContext(ctx, `UPDATE requests SET confirmed_at = $1 WHERE id = $2`, micros(now), id)
			return err
		})
}

// ReopenRequest sends a delivery back to marketing with the requester's reason; it is in
// progress again and its delivery time is cleared.
func (db *DB) ReopenRequest(ctx context.Context, id int64, reason string, by tandem.Person) (*tandem.Request, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return nil, invalid("/reason", "say what is missing (at most 2,000 characters)")
	}
	return db.move(ctx, id, by, tandem.RequestInProgress, reason,
		func(r *tandem.Request) error { return requesterOnly(r, by, "reopen") },
		func(tx *sql.Tx, r *tandem.Request, now time.Time) error {
			_, err := tx.ExecContext(ctx, `UPDATE requests SET delivered_at = NULL, reopened = reopened + 1 WHERE id = $1`, id)
			return err
		})
}

// CommentRequest adds a remark to a request and tells its watchers.
func (db *DB) CommentRequest(ctx context.Context, id int64, body string, by tandem.Person) (*tandem.Comment, error) {
	body = strings.TrimSpace(body)
	if body == "" || len(body) > 5000 {
		return nil, invalid("/body", "must be 1 to 5,000 characters")
	}
	c := &tandem.Comment{Body: body, By: personName(by)}
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := requestIn(ctx, tx, id, ""); err != nil {
			return err
		}
		c.At = now.Truncate(time.Microsecond)
		if err := tx.QueryRowContext(ctx, `INSERT INTO request_comments (request_id, at, by_name, body) VALUES ($1, $2, $3, $4) RETURNING id`,
			id, micros(now), c.By, body).Scan(&c.ID); err != nil {
			return err
		}
		return db.notifyRequest(ctx, tx, id, "request.commented", by, body, now)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// WatchRequest adds someone to the people told of a request's changes.
func (db *DB) WatchRequest(ctx context.Context, id int64, email string, by tandem.Person) (*tandem.Request, error) {
	e, ok := identity.Email(email)
	if !ok {
		return nil, invalid("/email", "want an email address, got %q", email)
	}
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if _, err := requestIn(ctx, tx, id, ""); err != nil {
			return err
		}
		// Watchers read titles, reasons and comments: only people of the company.
		if team, err := userTeam(ctx, tx, e); err != nil {
			return err
		} else if team == "" {
			return invalid("/email", "%s is not an active user", e)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO request_watchers (request_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, e)
		return err
	})
	if err != nil {
		return nil, err
	}
	return db.Request(ctx, id)
}

// RequestHistory returns a request's transitions and comments, oldest first.
func (db *DB) RequestHistory(ctx context.Context, id int64) ([]*tandem.RequestChange, []*tandem.Comment, error) {
	if _, err := requestIn(ctx, db.read, id, ""); err != nil {
		return nil, nil, err
	}
	changes := []*tandem.RequestChange{}
	rows, err := db.read.QueryContext(ctx, `SELECT at, by_name, from_status, to_status, note FROM request_changes WHERE request_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("request %d history: %w", id, err)
	}
	for rows.Next() {
		var (
			c  tandem.RequestChange
			at int64
		)
		if err := rows.Scan(&at, &c.By, &c.From, &c.To, &c.Note); err != nil {
			rows.Close()
			return nil, nil, err
		}
		c.At = fromMicros(at)
		changes = append(changes, &c)
	}
	rows.Close()
	comments := []*tandem.Comment{}
	rows, err = db.read.QueryContext(ctx, `SELECT id, at, by_name, body FROM request_comments WHERE request_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("request %d comments: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c  tandem.Comment
			at int64
		)
		if err := rows.Scan(&c.ID, &at, &c.By, &c.Body); err != nil {
			return nil, nil, err
		}
		c.At = fromMicros(at)
		comments = append(comments, &c)
	}
	return changes, comments, rows.Err()
}

// notifyRequest tells a request's watchers, through the channels that take typ, what
// by did to it.
func (db *DB) notifyRequest(ctx context.Context, tx *sql.Tx, id int64, typ string, by tandem.Person, note string, now time.Time) error {
	r, err := requestIn(ctx, tx, id, "")
	if err != nil {
		return err
	}
	var watchers []string
	rows, err := tx.QueryContext(ctx, `SELECT email FROM request_watchers WHERE request_id = $1 ORDER BY email`, id)
	if err != nil {
		return err
	}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			rows.Close()
			return err
		}
		watchers = append(watchers, e)
	}
	rows.Close()
	n := &notice{typ: typ, rep: r.Requester, watchers: watchers, data: map[string]any{
		"request": map[string]any{"id": r.ID, "type": r.Type, "title": r.Title, "status": r.Status, "requester": r.Requester,
			"assignee": r.Assignee, "due_at": r.DueAt}, "by": personName(by)}}
	switch typ {
	case "request.created":
		n.title = fmt.Sprintf("New %s request from %s: %s", r.Type, r.Requester, r.Title)
	case "request.commented":
		n.title = fmt.Sprintf("%s commented on %q", personName(by), r.Title)
	default:
		n.title = fmt.Sprintf("%q is %s", r.Title, strings.ReplaceAll(string(r.Status), "_", " "))
	}
	n.text = n.title
	if r.DueAt != nil {
		n.text += "\nDue " + r.DueAt.UTC().Format("Mon 2 Jan 15:04 UTC") + "."
	}
	if note != "" {
		n.text += "\n" + note
	}
	return db.notify(ctx, tx, n, now)
}
