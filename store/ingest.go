package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"tandem"
	"tandem/identity"
	"tandem/lifecycle"
)

// Ingest stores msgs in one transaction and resolves who sent each: a message with a user
// id or an email address belongs to a contact, created if new; one with only an anonymous
// id belongs to an anonymous visitor until that visitor identifies, when the visitor's
// earlier events join the contact. Two contacts that turn out to be one person (the same
// email, or an alias call) are merged. It implements tandem.Ingester.
//
// A group, once begun, is stored to its end: ctx ending does not interrupt it. On SQLite
// a statement watching a context that can end costs the driver a goroutine, and a group
// is thousands of statements.
func (db *DB) Ingest(ctx context.Context, msgs []*tandem.Message) ([]tandem.Outcome, error) {
	ctx = context.WithoutCancel(ctx)
	out := make([]tandem.Outcome, len(msgs))
	var (
		r     *resolver
		began time.Time // once the transaction may write: waiting for that is no work
	)
	defer func() {
		if !began.IsZero() {
			db.ingesting.Add(int64(time.Since(began)))
		}
	}()
	err := db.runTx(ctx, !db.defers(), db.Now, func(tx *sql.Tx, now time.Time) error {
		began = time.Now()
		r = &resolver{
			db: db, tx: tx, now: micros(now),
			users: map[string]int64{}, emails: map[string]int64{},
			visitors: map[string]*visitor{}, domains: map[string]int64{},
			contacts: map[int64]*contactState{}, merged: map[int64]int64{},
			seen: map[msgKey]bool{},
		}
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		var err error
		if r.act, err = db.activeIn(ctx, tx); err != nil {
			return err
		}
		if db.scores != nil && r.act != nil {
			if err := db.scores.check(ctx, tx, db.scoreGen.Load()); err != nil {
				return err
			}
		}
		if err := r.preload(ctx, msgs); err != nil {
			return err
		}
		rows := make([]eventRow, len(msgs))
		skip := make([]bool, len(msgs)) // repeats of trait-writing messages, known duplicates
		for i, m := range msgs {
			rows[i] = eventRow{
				sourceID: m.SourceID, messageID: m.MessageID, typ: m.Type, event: m.Event, name: m.Name,
				userID: m.UserID, anonymousID: m.AnonymousID,
				properties: orEmpty(m.Properties), context: orEmpty(m.Context),
				timestamp: micros(m.Timestamp), clientTS: clientTS(m), receivedAt: micros(m.ReceivedAt),
			}
			if writesTraits(m) {
				// A client retrying an old identify must not undo what later calls said,
				// so a repeated message is not applied; its insert below finds it a
				// duplicate. Only calls that write traits can do harm that way, so track
				// and page calls are not looked up.
				k := rows[i].key()
				if r.seen[k] {
					skip[i] = true
					continue
				}
				r.seen[k] = true
			}
			var err error
			if rows[i].contactID, rows[i].visitorID, err = r.apply(ctx, m); err != nil {
				return fmt.Errorf("message %q: %w", m.MessageID, err)
			}
		}
		// A visitor identified later in this group owns its earlier events of the group too,
		// and a contact merged away hands its events to the survivor.
		byID := make(map[int64]*visitor, len(r.visitors))
		for _, v := range r.visitors {
			byID[v.id] = v
		}
		for i := range rows {
			if rows[i].contactID == 0 && rows[i].visitorID != 0 {
				rows[i].contactID = byID[rows[i].visitorID].contactID
			}
			rows[i].contactID = r.resolve(rows[i].contactID)
		}
		if err := r.flush(ctx); err != nil {
			return err
		}
		insert, at := make([]eventRow, 0, len(rows)), make([]int, 0, len(rows))
		for i := range rows {
			out[i] = tandem.Duplicate
			if !skip[i] {
				insert, at = append(insert, rows[i]), append(at, i)
			}
		}
		if err := r.tagTouches(ctx, insert); err != nil {
			return err
		}
		stored, err := db.dialect.insertEvents(ctx, tx, insert)
		if err != nil {
			return err
		}
		for j, ok := range stored {
			if ok {
				out[at[j]] = tandem.Stored
			}
		}
		return r.score(ctx, insert, stored)
	}, func() {
		// Before another writer may apply the log: it must find these lines.
		if db.defers() {
			if r.logApplied {
				db.scoreLog.applied()
			}
			db.scoreLog.appended(r.logged, time.Now(), db.scores.dataVersion)
		}
	})
	if testHookIngested != nil && err == nil {
		testHookIngested()
	}
	if err != nil {
		if db.ids != nil {
			// Whatever failed may have been caused by what the caches believed; the
			// next try reads the store afresh.
			db.ids.reset()
			db.scores.reset()
		}
		return nil, err
	}
	if db.ids != nil {
		db.ids.remember(r)
		if r.act != nil {
			db.scores.remember(r.act, r.scored, r.merged)
		}
	}
	return out, nil
}

// testHookIngested, when set by a test, runs after each ingest transaction has
// committed and given up the write slot.
var testHookIngested func()

// resolver holds the identities that one ingest transaction has seen. Every key the
// transaction needs is loaded up front, so a key missing from a map does not exist.
type resolver struct {
	db  *DB
	tx  *sql.Tx
	now int64

	users    map[string]int64 // user id → contact
	emails   map[string]int64 // email → contact
	visitors map[string]*visitor
	domains  map[string]int64 // company domain → account
	contacts map[int64]*contactState
	merged   map[int64]int64 // merged contact → the contact it was merged into
	// releasedEmails are addresses that stopped naming their contact in this transaction.
	releasedEmails []string
	// seen holds the trait-writing messages stored before or met earlier in the group.
	seen map[msgKey]bool

	// act is the active agreement, nil if none is: what scoring needs to know.
	act *active
	// created are the contacts created in this transaction.
	created []int64
	// linked are the earlier events of visitors that identified in this transaction,
	// which now count for their contacts.
	linked []*scoredEvent
	// changedAccounts are accounts whose traits changed: their contacts' fit may have.
	changedAccounts map[int64]bool
	// mergedStages are the stages of contacts merged away, by the contact that
	// survived them, so the survivor keeps the furthest.
	mergedStages map[int64][]lifecycle.State
	// scored are the scores the transaction wrote.
	scored []*contactScore
	// stmts are the statements prepared in the transaction, by their text.
	stmts map[string]*sql.Stmt
	// logApplied says the transaction applied the score log; logged are the contacts
	// it appended lines for (see scorelog.go).
	logApplied bool
	logged     []scoreRow
}

// applyLogFor applies the score log in the transaction before it reads the score
// columns of contacts ids from their rows, if any of them may have lines in it.
func (r *resolver) applyLogFor(ctx context.Context, ids ...int64) error {
	if len(ids) == 0 || !r.db.defers() || r.logApplied || !r.db.scoreLog.holdsAny(ids) {
		return nil
	}
	if _, err := r.db.applyScoreLog(ctx, r.tx); err != nil {
		return err
	}
	r.logApplied = true
	return nil
}

// exec runs a statement in the ingest transaction. On SQLite each statement is prepared
// once a transaction: parsing it again for each of the thousands of people a group may
// create cost more than running it. PostgreSQL's driver keeps prepared statements by
// itself.
func (r *resolver) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := r.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return r.tx.ExecContext(ctx, q, args...)
	}
	return s.ExecContext(ctx, args...)
}

// queryRow runs a query for one row in the ingest transaction, as exec does.
func (r *resolver) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s, err := r.stmt(ctx, q); err == nil && s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...) // unprepared, or failing as it did
}

// stmt returns q prepared in the transaction on SQLite, nil on PostgreSQL. The
// transaction's end closes it.
func (r *resolver) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if r.db.dialect.name() != "sqlite" {
		return nil, nil
	}
	if s, ok := r.stmts[q]; ok {
		return s, nil
	}
	s, err := r.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if r.stmts == nil {
		r.stmts = map[string]*sql.Stmt{}
	}
	r.stmts[q] = s
	return s, nil
}

// writesTraits reports whether m changes a contact's or an account's traits.
func writesTraits(m *tandem.Message) bool {
	return m.Type == tandem.TypeIdentify || m.Type == tandem.TypeGroup
}

// clientTS is the client's timestamp of m in microseconds, or zero if it sent none.
func clientTS(m *tandem.Message) int64 {
	if m.ClientTimestamp.IsZero() {
		return 0
	}
	return micros(m.ClientTimestamp)
}

// orEmpty returns raw, or an empty object for a message built without one.
func orEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

type visitor struct {
	id        int64
	contactID int64
	accountID int64          // the account of a group call made while anonymous
	traits    map[string]any // loaded only when an anonymous identify changes them
	dirty     bool
}

// contactState is a contact's mutable columns, loaded when a message changes them and
// written back once at the end of the transaction.
type contactState struct {
	email     string
	traits    map[string]any
	accountID int64
	dirty     bool
}

func (r *resolver) resolve(id int64) int64 {
	for {
		next, ok := r.merged[id]
		if !ok {
			return id
		}
		id = next
	}
}

func (r *resolver) preload(ctx context.Context, msgs []*tandem.Message) error {
	var users, emails, anons []string
	seen := map[string]bool{}
	add := func(list *[]string, prefix, v string) {
		if v != "" && !seen[prefix+v] {
			seen[prefix+v] = true
			*list = append(*list, v)
		}
	}
	var traitMsgs []msgKey // the messages that write traits
	for _, m := range msgs {
		if writesTraits(m) {
			traitMsgs = append(traitMsgs, msgKey{m.SourceID, clientTS(m), m.MessageID})
		}
		add(&users, "u", m.UserID)
		add(&emails, "e", m.Email)
		add(&anons, "a", m.AnonymousID)
		if m.Type == tandem.TypeAlias {
			add(&users, "u", m.PreviousID)
			add(&anons, "a", m.PreviousID)
		}
	}
	if c := r.db.ids; c != nil {
		users = c.fill(users, c.users, r.users)
		emails = c.fill(emails, c.emails, r.emails)
		anons = c.fillVisitors(anons, r.visitors)
	}
	if err := r.loadIdentities(ctx, "user", users, r.users); err != nil {
		return err
	}
	if err := r.loadIdentities(ctx, "email", emails, r.emails); err != nil {
		return err
	}
	for chunk := range slices.Chunk(anons, 5000) {
		cond, arg := r.db.dialect.in("anonymous_id", 1, chunk)
		rows, err := r.tx.QueryContext(ctx, `SELECT anonymous_id, id, COALESCE(contact_id, 0), COALESCE(account_id, 0) FROM visitors WHERE `+cond, arg)
		if err != nil {
			return fmt.Errorf("load visitors: %w", err)
		}
		for rows.Next() {
			var a string
			v := &visitor{}
			if err := rows.Scan(&a, &v.id, &v.contactID, &v.accountID); err != nil {
				rows.Close()
				return fmt.Errorf("load visitors: %w", err)
			}
			r.visitors[a] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load visitors: %w", err)
		}
	}
	if len(traitMsgs) > 0 {
		stmt, err := r.tx.PrepareContext(ctx, `SELECT EXISTS (SELECT 1 FROM events WHERE source_id = $1 AND client_ts = $2 AND message_id = $3)`)
		if err != nil {
			return fmt.Errorf("load stored messages: %w", err)
		}
		defer stmt.Close()
		for _, k := range traitMsgs {
			var stored bool
			if err := stmt.QueryRowContext(ctx, k.source, k.ts, k.id).Scan(&stored); err != nil {
				return fmt.Errorf("load stored messages: %w", err)
			}
			if stored {
				r.seen[k] = true
			}
		}
	}
	return nil
}

func (r *resolver) loadIdentities(ctx context.Context, kind string, values []string, into map[string]int64) error {
	for chunk := range slices.Chunk(values, 5000) {
		cond, arg := r.db.dialect.in("value", 2, chunk)
		rows, err := r.tx.QueryContext(ctx, `SELECT value, contact_id FROM identities WHERE kind = $1 AND `+cond, kind, arg)
		if err != nil {
			return fmt.Errorf("load identities: %w", err)
		}
		for rows.Next() {
			var v string
			var id int64
			if err := rows.Scan(&v, &id); err != nil {
				rows.Close()
				return fmt.Errorf("load identities: %w", err)
			}
			into[v] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load identities: %w", err)
		}
	}
	return nil
}

// apply resolves the contact and visitor of one message and records what it teaches
// about them. Either id may be zero.
func (r *resolver) apply(ctx context.Context, m *tandem.Message) (contactID, visitorID int64, err error) {
	var v *visitor
	if m.AnonymousID != "" {
		if v, err = r.visitor(ctx, m.AnonymousID); err != nil {
			return 0, 0, err
		}
		visitorID = v.id
	}
	if m.Type == tandem.TypeAlias {
		if contactID, err = r.alias(ctx, m); err != nil {
			return 0, 0, err
		}
		if v != nil && v.contactID == 0 {
			// The browser that sent the alias is the person's too.
			err = r.link(ctx, v, contactID)
		}
		return contactID, visitorID, err
	}
	if m.UserID == "" && m.Email == "" && v.contactID == 0 {
		// Only an anonymous id: the visitor stays anonymous until it identifies.
		switch {
		case m.Type == tandem.TypeIdentify && len(m.Traits) > 0:
			if err := r.visitorTraits(ctx, v, m.Traits); err != nil {
				return 0, 0, err
			}
		case m.Type == tandem.TypeGroup:
			// The company is known before the person is: the visitor carries it until
			// it identifies, and its colleagues join it by domain meanwhile.
			acc, err := r.group(ctx, m)
			if err != nil {
				return 0, 0, err
			}
			v.accountID = acc
			if _, err := r.exec(ctx, `UPDATE visitors SET account_id = $1 WHERE id = $2`, acc, v.id); err != nil {
				return 0, 0, fmt.Errorf("visitor account: %w", err)
			}
		}
		return r.resolve(v.contactID), visitorID, nil
	}

	byUser, byEmail := r.resolve(r.users[m.UserID]), r.resolve(r.emails[m.Email])
	target := byUser
	if target == 0 {
		target = byEmail
	}
	if byUser != 0 && byEmail != 0 && byUser != byEmail {
		// One person under two contacts: the same email proves it.
		if target, err = r.merge(ctx, max(byUser, byEmail), min(byUser, byEmail)); err != nil {
			return 0, 0, err
		}
	}
	if target == 0 && v != nil && v.contactID != 0 {
		// A browser that already belongs to a contact speaks for that contact, with or
		// without a new email; and with a new user id if the contact has none yet (a
		// newsletter sign-up, then an account). A contact with another user id is
		// someone else on a shared device.
		vc := r.resolve(v.contactID)
		if m.UserID == "" {
			target = vc
		} else if has, err := r.hasUserID(ctx, vc); err != nil {
			return 0, 0, err
		} else if !has {
			target = vc
		}
	}
	if target == 0 {
		if target, err = r.createContact(ctx, m); err != nil {
			return 0, 0, err
		}
	}
	if m.UserID != "" {
		if target, err = r.claim(ctx, "user", m.UserID, target, r.users); err != nil {
			return 0, 0, err
		}
	}
	if m.Email != "" {
		if target, err = r.claim(ctx, "email", m.Email, target, r.emails); err != nil {
			return 0, 0, err
		}
	}
	if v != nil && v.contactID == 0 {
		if err := r.link(ctx, v, target); err != nil {
			return 0, 0, err
		}
	}
	if m.Email == "" && !writesTraits(m) {
		// Most traffic is track and page calls of known people: they change nothing
		// about the contact, so its row is not read.
		return target, visitorID, nil
	}
	c, err := r.contact(ctx, target)
	if err != nil {
		return 0, 0, err
	}
	if m.Email != "" && m.Email != c.email && (c.email == "" || m.Type == tandem.TypeIdentify) {
		// An identify says what the person's address is now; other calls only fill a gap.
		if old := c.email; old != "" {
			// The old address no longer names this person: whoever identifies with it
			// next (a typo corrected, an inbox handed on) is not merged into them.
			if _, err := r.exec(ctx, `DELETE FROM identities WHERE kind = 'email' AND value = $1 AND contact_id = $2`, old, target); err != nil {
				return 0, 0, fmt.Errorf("release email: %w", err)
			}
			if _, err := r.exec(ctx, `INSERT INTO former_emails (value, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, old, target); err != nil {
				return 0, 0, fmt.Errorf("release email: %w", err)
			}
			delete(r.emails, old)
			r.releasedEmails = append(r.releasedEmails, old)
		}
		c.email, c.dirty = m.Email, true
	}
	switch m.Type {
	case tandem.TypeIdentify:
		mergeTraits(c.traits, m.Traits, true)
		c.dirty = true
	case tandem.TypeGroup:
		acc, err := r.group(ctx, m)
		if err != nil {
			return 0, 0, err
		}
		c.accountID, c.dirty = acc, true
	}
	if c.accountID == 0 && c.email != "" {
		if d := identity.CompanyDomain(c.email); d != "" {
			acc, err := r.accountByDomain(ctx, d, companyName(c.traits))
			if err != nil {
				return 0, 0, err
			}
			c.accountID, c.dirty = acc, true
		}
	}
	return target, visitorID, nil
}

// hasUserID reports whether a contact is known by a user id.
func (r *resolver) hasUserID(ctx context.Context, contactID int64) (bool, error) {
	var has bool
	err := r.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identities WHERE kind = 'user' AND contact_id = $1)`, contactID).Scan(&has)
	if err != nil {
		return false, fmt.Errorf("contact %d user ids: %w", contactID, err)
	}
	return has, nil
}

// alias merges the profile known as PreviousID (an anonymous id or an earlier user id)
// into the contact of UserID.
func (r *resolver) alias(ctx context.Context, m *tandem.Message) (int64, error) {
	target, prev := r.resolve(r.users[m.UserID]), r.resolve(r.users[m.PreviousID])
	prevVisitor, isVisitor := r.visitors[m.PreviousID]
	if prev == 0 && isVisitor {
		// An anonymous profile that already became a contact (by an email, say).
		prev = r.resolve(prevVisitor.contactID)
	}
	var err error
	switch {
	case target == 0 && prev != 0:
		// A new user id for a known person: the contact keeps its id.
		if target, err = r.claim(ctx, "user", m.UserID, prev, r.users); err != nil {
			return 0, err
		}
	case target == 0:
		if target, err = r.createContact(ctx, m); err != nil {
			return 0, err
		}
		if target, err = r.claim(ctx, "user", m.UserID, target, r.users); err != nil {
			return 0, err
		}
	case prev != 0 && prev != target:
		if target, err = r.merge(ctx, prev, target); err != nil {
			return 0, err
		}
	}
	if r.users[m.PreviousID] != 0 {
		return target, nil // an earlier user id, not a browser
	}
	// PreviousID is an anonymous id, maybe not seen yet: its events, now and later,
	// are the contact's.
	v, err := r.visitor(ctx, m.PreviousID)
	if err != nil {
		return 0, err
	}
	if v.contactID == 0 {
		if err := r.link(ctx, v, target); err != nil {
			return 0, err
		}
	}
	return target, nil
}

func (r *resolver) visitor(ctx context.Context, anon string) (*visitor, error) {
	if v, ok := r.visitors[anon]; ok {
		return v, nil
	}
	v := &visitor{}
	err := r.queryRow(ctx, `INSERT INTO visitors (anonymous_id, created_at) VALUES ($1, $2)
		ON CONFLICT (anonymous_id) DO NOTHING RETURNING id`, anon, r.now).Scan(&v.id)
	if errors.Is(err, sql.ErrNoRows) { // another node created it meanwhile
		err = r.queryRow(ctx, `SELECT id, COALESCE(contact_id, 0), COALESCE(account_id, 0) FROM visitors WHERE anonymous_id = $1`,
			anon).Scan(&v.id, &v.contactID, &v.accountID)
	}
	if err != nil {
		return nil, fmt.Errorf("visitor: %w", err)
	}
	r.visitors[anon] = v
	return v, nil
}

func (r *resolver) visitorTraits(ctx context.Context, v *visitor, traits map[string]any) error {
	if v.traits == nil {
		var raw string
		if err := r.queryRow(ctx, `SELECT traits FROM visitors WHERE id = $1`, v.id).Scan(&raw); err != nil {
			return fmt.Errorf("visitor traits: %w", err)
		}
		v.traits = map[string]any{}
		_ = json.Unmarshal([]byte(raw), &v.traits)
	}
	mergeTraits(v.traits, traits, true)
	v.dirty = true
	return nil
}

// link makes an anonymous visitor the contact's and hands the contact the visitor's
// earlier events, and the traits it told while anonymous where the contact has none.
func (r *resolver) link(ctx context.Context, v *visitor, contactID int64) error {
	v.contactID = contactID
	var raw string
	if err := r.queryRow(ctx, `UPDATE visitors SET contact_id = $1 WHERE id = $2 RETURNING traits`, contactID, v.id).Scan(&raw); err != nil {
		return fmt.Errorf("link visitor: %w", err)
	}
	if err := r.linkEvents(ctx, v.id, contactID); err != nil {
		return err
	}
	if v.traits == nil { // not changed in this transaction, so the stored ones are current
		v.traits = map[string]any{}
		if err := json.Unmarshal([]byte(raw), &v.traits); err != nil {
			return fmt.Errorf("visitor traits: %w", err)
		}
	}
	if len(v.traits) == 0 && v.accountID == 0 {
		return nil
	}
	c, err := r.contact(ctx, contactID)
	if err != nil {
		return err
	}
	mergeTraits(c.traits, v.traits, false)
	if c.accountID == 0 {
		c.accountID = v.accountID
	}
	c.dirty = true
	return nil
}

// createContact makes the contact m is the first message of.
func (r *resolver) createContact(ctx context.Context, m *tandem.Message) (int64, error) {
	var id int64
	err := r.queryRow(ctx, `INSERT INTO contacts (created_at, updated_at, lead_at) VALUES ($1, $1, $2) RETURNING id`, r.now,
		micros(m.Timestamp)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("create contact: %w", err)
	}
	r.contacts[id] = &contactState{traits: map[string]any{}}
	r.created = append(r.created, id)
	return id, nil
}

// claim records that an identity names contact target, unless it already names a
// contact, in which case the two are one person: target is merged into that contact,
// which is returned.
func (r *resolver) claim(ctx context.Context, kind, value string, target int64, known map[string]int64) (int64, error) {
	if owner := r.resolve(known[value]); owner != 0 {
		if owner == target {
			return target, nil
		}
		return r.merge(ctx, target, owner)
	}
	res, err := r.exec(ctx, `INSERT INTO identities (kind, value, contact_id) VALUES ($1, $2, $3)
		ON CONFLICT (kind, value) DO NOTHING`, kind, value, target)
	if err != nil {
		return 0, fmt.Errorf("claim %s: %w", kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 { // another node claimed it meanwhile
		var owner int64
		if err := r.queryRow(ctx, `SELECT contact_id FROM identities WHERE kind = $1 AND value = $2`, kind, value).Scan(&owner); err != nil {
			return 0, fmt.Errorf("claim %s: %w", kind, err)
		}
		known[value] = owner
		return r.merge(ctx, target, owner)
	}
	known[value] = target
	return target, nil
}

// merge folds contact loser into survivor: its identities, visitors and events move, its
// traits fill the survivor's gaps, and its id keeps pointing at the survivor.
func (r *resolver) merge(ctx context.Context, loser, survivor int64) (int64, error) {
	l, err := r.contact(ctx, loser)
	if err != nil {
		return 0, err
	}
	s, err := r.contact(ctx, survivor)
	if err != nil {
		return 0, err
	}
	mergeTraits(s.traits, l.traits, false)
	if s.email == "" {
		s.email = l.email
	}
	if s.accountID == 0 {
		s.accountID = l.accountID
	}
	s.dirty = true
	var lost lifecycle.State
	if err := r.applyLogFor(ctx, loser, survivor); err != nil {
		return 0, err
	}
	if err := r.queryRow(ctx, `SELECT stage, funnel_stage FROM contacts WHERE id = $1`, loser).Scan(&lost.Stage, &lost.Funnel); err != nil {
		return 0, fmt.Errorf("merge contacts: %w", err)
	}
	if r.mergedStages == nil {
		r.mergedStages = map[int64][]lifecycle.State{}
	}
	r.mergedStages[survivor] = append(append(r.mergedStages[survivor], lost), r.mergedStages[loser]...)
	delete(r.mergedStages, loser)
	if err := mergeAssignments(ctx, r.tx, loser, survivor, r.now); err != nil {
		return 0, err
	}
	for _, q := range []string{
		// A recycled person earns engagement from the later of the two recycles.
		`UPDATE contacts SET engaged_since = (SELECT engaged_since FROM contacts WHERE id = $2)
			WHERE id = $1 AND (SELECT engaged_since FROM contacts WHERE id = $2) > COALESCE(engaged_since, 0)`,
		// A person on a deal stays on it, once.
		`UPDATE opportunity_contacts SET contact_id = $1 WHERE contact_id = $2 AND NOT EXISTS
			(SELECT 1 FROM opportunity_contacts o WHERE o.opportunity_id = opportunity_contacts.opportunity_id AND o.contact_id = $1)`,
		`DELETE FROM opportunity_contacts WHERE contact_id = $2 AND CAST($1 AS BIGINT) > 0`,
		// So does a person on a campaign's list.
		`UPDATE campaign_members SET contact_id = $1 WHERE contact_id = $2 AND NOT EXISTS
			(SELECT 1 FROM campaign_members m WHERE m.campaign_id = campaign_members.campaign_id AND m.contact_id = $1)`,
		`DELETE FROM campaign_members WHERE contact_id = $2 AND CAST($1 AS BIGINT) > 0`,
		`UPDATE identities SET contact_id = $1 WHERE contact_id = $2`,
		`UPDATE visitors SET contact_id = $1 WHERE contact_id = $2`,
		`UPDATE events SET contact_id = $1 WHERE id IN (` + r.db.dialect.contactEvents("id", "contact_id = $2", "") + `)`,
		// A person became a lead when the first of the two did.
		`UPDATE contacts SET lead_at = (SELECT lead_at FROM contacts WHERE id = $2)
			WHERE id = $1 AND (SELECT lead_at FROM contacts WHERE id = $2) < COALESCE(lead_at, 9223372036854775807)`,
		`UPDATE contact_merges SET into_id = $1 WHERE into_id = $2`,
	} {
		if _, err := r.exec(ctx, q, survivor, loser); err != nil {
			return 0, fmt.Errorf("merge contacts: %w", err)
		}
	}
	// The survivor's record no longer holds; the loser's is never read again.
	if err := markStale(ctx, r.exec, survivor); err != nil {
		return 0, fmt.Errorf("merge contacts: %w", err)
	}
	// The merged contact's stage history stays readable as its own: each move is
	// marked with the contact it happened to.
	if _, err := r.exec(ctx, `UPDATE stage_changes SET contact_id = $1, cause = cause || $3 WHERE contact_id = $2`,
		survivor, loser, fmt.Sprintf(" (as contact %d, merged)", loser)); err != nil {
		return 0, fmt.Errorf("merge contacts: %w", err)
	}
	if _, err := r.exec(ctx, `INSERT INTO contact_merges (from_id, into_id, merged_at) VALUES ($1, $2, $3)`, loser, survivor, r.now); err != nil {
		return 0, fmt.Errorf("merge contacts: %w", err)
	}
	if _, err := r.exec(ctx, `DELETE FROM contacts WHERE id = $1`, loser); err != nil {
		return 0, fmt.Errorf("merge contacts: %w", err)
	}
	for _, v := range r.visitors {
		if v.contactID == loser {
			v.contactID = survivor
		}
	}
	delete(r.contacts, loser)
	r.merged[loser] = survivor
	return survivor, nil
}

func (r *resolver) contact(ctx context.Context, id int64) (*contactState, error) {
	if c, ok := r.contacts[id]; ok {
		return c, nil
	}
	var (
		email  sql.NullString
		traits string
		acc    sql.NullInt64
	)
	err := r.queryRow(ctx, `SELECT email, traits, account_id FROM contacts WHERE id = $1`, id).Scan(&email, &traits, &acc)
	if err != nil {
		return nil, fmt.Errorf("load contact %d: %w", id, err)
	}
	c := &contactState{email: email.String, accountID: acc.Int64, traits: map[string]any{}}
	if err := json.Unmarshal([]byte(traits), &c.traits); err != nil {
		return nil, fmt.Errorf("contact %d traits: %w", id, err)
	}
	r.contacts[id] = c
	return c, nil
}

// flush writes back the contacts and visitors that changed.
func (r *resolver) flush(ctx context.Context) error {
	for _, id := range slices.Sorted(maps.Keys(r.contacts)) {
		c := r.contacts[id]
		if !c.dirty {
			continue
		}
		traits, err := json.Marshal(c.traits)
		if err != nil {
			return fmt.Errorf("contact %d traits: %w", id, err)
		}
		var email any
		if c.email != "" {
			email = c.email
		}
		if _, err := r.exec(ctx, `UPDATE contacts SET email = $1, traits = $2, account_id = $3, updated_at = $4 WHERE id = $5`,
			email, string(traits), nullID(c.accountID), r.now, id); err != nil {
			return fmt.Errorf("save contact %d: %w", id, err)
		}
	}
	for _, v := range r.visitors {
		if !v.dirty {
			continue
		}
		traits, err := json.Marshal(v.traits)
		if err != nil {
			return fmt.Errorf("visitor traits: %w", err)
		}
		if _, err := r.exec(ctx, `UPDATE visitors SET traits = $1 WHERE id = $2`, string(traits), v.id); err != nil {
			return fmt.Errorf("save visitor: %w", err)
		}
	}
	return nil
}

// mergeTraits copies src into dst. With overwrite, src wins where both have a key;
// without, src only fills gaps.
func mergeTraits(dst, src map[string]any, overwrite bool) {
	for k, v := range src {
		if _, ok := dst[k]; ok && !overwrite {
			continue
		}
		dst[k] = v
	}
}

// companyName finds the company a person named in their traits: "company" as a string
// or as an object with a name, as Segment's spec allows.
func companyName(traits map[string]any) string {
	switch c := traits["company"].(type) {
	case string:
		return c
	case map[string]any:
		if n, ok := c["name"].(string); ok {
			return n
		}
	}
	return ""
}
