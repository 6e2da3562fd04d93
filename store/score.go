package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	segjson "github.com/segmentio/encoding/json"

	"tandem"
	"tandem/agreement"
	"tandem/identity"
	"tandem/lifecycle"
	"tandem/scoring"
)

// Scores are kept in the contacts table: score_fit, score_eng (the anchored engagement
// sum), grade, stage, funnel_stage and the agreement version they were computed under.
// Of the engagement rules' lines only those of capped rules are stored, because their cap
// needs state and their result depends on the order events arrived in; an uncapped
// rule's share of a score is the same whatever the order, so the explanation of a score
// recomputes it from the contact's events instead of every event writing a row for it.

// scoredEvent is what scoring reads of a stored event.
type scoredEvent struct {
	id         int64 // zero for an event of the transaction that scores it
	contactID  int64
	typ        string
	event      string
	name       string
	properties []byte
	context    []byte
	// ts is when the event counts from: its timestamp, or when it was received if the
	// sender dated it later than that. A clock years ahead must not make a contact the
	// hottest lead for years.
	ts int64
}

// scoringTime is when an event counts from, in Unix microseconds.
func scoringTime(timestamp, receivedAt int64) int64 { return min(timestamp, receivedAt) }

// ruleName is the name an engagement rule's `on` narrows to: a track call's event, a
// page's or screen's name.
func (e *scoredEvent) ruleName() string { return ruleName(e.typ, e.event, e.name) }

func ruleName(typ, event, name string) string {
	if typ == tandem.TypeTrack {
		return event
	}
	return name
}

// contactScore is a contact's score columns while a transaction works on them.
type contactScore struct {
	id    int64
	fit   float64
	eng   float64
	grade string
	state lifecycle.State
	// stored is the stage the store holds, as it was read: a row whose stage stays is
	// written without touching the stage indexes.
	stored  lifecycle.State
	version int
	// lines are the engagement rules that fired in this transaction, and for capped
	// rules the stored state they continued from.
	lines   map[string]*scoring.Line
	changes []lifecycle.Change
	// fired says a rule gave points in this transaction.
	fired bool
	// anchor is T₀ of the engagement sums, in Unix microseconds.
	anchor int64
	// unchanged says a rescore found the same score, grade, stage and caps as the row
	// holds under another version's label: nothing is written, and the rescore's end
	// carries the label (see carried.go).
	unchanged bool
}

// capState is how a capped rule's line is kept in contacts.score_caps. A is the anchor
// its points are relative to, so that rebasing the sums need not rewrite every row.
type capState struct {
	Points     float64 `json:"p"`
	Hits       int64   `json:"h"`
	Last       int64   `json:"l"`
	WindowAt   int64   `json:"w"`
	WindowHits int64   `json:"n"`
	Anchor     int64   `json:"a"`
}

// encodeCaps keeps the lines of capped rules (those with a window); the others are
// recomputed from events when a score is explained. It writes the JSON by hand, in rule
// name order: it runs for every contact an ingest commit scores.
func encodeCaps(lines map[string]*scoring.Line, anchor int64) (string, error) {
	var names []string
	for rule, l := range lines {
		if l.WindowHits > 0 {
			names = append(names, rule)
		}
	}
	if len(names) == 0 {
		return "{}", nil
	}
	slices.Sort(names)
	b := make([]byte, 0, 96*len(names))
	b = append(b, '{')
	for i, rule := range names {
		l := lines[rule]
		if i > 0 {
			b = append(b, ',')
		}
		key, err := segjson.Marshal(rule)
		if err != nil {
			return "", err
		}
		b = append(b, key...)
		b = append(b, `:{"p":`...)
		b = strconv.AppendFloat(b, finite(l.Points), 'g', -1, 64)
		for _, f := range []struct {
			name string
			v    int64
		}{{`,"h":`, l.Hits}, {`,"l":`, l.Last}, {`,"w":`, l.WindowAt}, {`,"n":`, l.WindowHits}, {`,"a":`, anchor}} {
			b = append(b, f.name...)
			b = strconv.AppendInt(b, f.v, 10)
		}
		b = append(b, '}')
	}
	return string(append(b, '}')), nil
}

// decodeCaps restores the lines of capped rules into cs, rebased on a's anchor.
func (a *active) decodeCaps(cs *contactScore, raw string) {
	if raw == "" || raw == "{}" {
		return
	}
	caps := map[string]capState{}
	if err := segjson.Unmarshal([]byte(raw), &caps); err != nil {
		return // written by this code; an unreadable one only loses cap state
	}
	for rule, c := range caps {
		p := c.Points
		if c.Anchor != a.anchor {
			p *= a.model.Weight(fromMicros(c.Anchor))
		}
		*cs.line(rule) = scoring.Line{Points: p, Hits: c.Hits, Last: c.Last, WindowAt: c.WindowAt, WindowHits: c.WindowHits}
	}
}

func (cs *contactScore) line(rule string) *scoring.Line {
	l := cs.lines[rule]
	if l == nil {
		if cs.lines == nil {
			cs.lines = map[string]*scoring.Line{}
		}
		l = &scoring.Line{}
		cs.lines[rule] = l
	}
	return l
}

// addEvents runs the agreement's engagement rules over evs, in the order given (the
// order they arrived in), and adds what they give to cs.
func (a *active) addEvents(cs *contactScore, evs []*scoredEvent) {
	for _, e := range evs {
		rules := a.model.Candidates(e.typ, e.ruleName())
		if len(rules) == 0 {
			continue
		}
		env := eventEnv(e, rules)
		for _, r := range rules {
			if r.When != nil && !r.When.Eval(&env) {
				continue
			}
			p, ok := a.model.Fire(cs.line(r.Name), r, time.UnixMicro(e.ts))
			cs.eng += p
			cs.fired = cs.fired || ok
		}
	}
}

// eventEnv is what the engagement rules see of e. Properties and context are decoded
// only if one of the rules reads them.
func eventEnv(e *scoredEvent, rules []*agreement.EngagementRule) agreement.Event {
	env := agreement.Event{Type: e.typ, Event: e.event, Name: e.name}
	var props, ctx bool
	for _, r := range rules {
		props = props || r.When.Uses("properties")
		ctx = ctx || r.When.Uses("context")
	}
	if props {
		env.Properties = decodeObject(e.properties)
	}
	if ctx {
		env.Context = decodeObject(e.context)
	}
	return env
}

// decodeObject decodes a stored JSON object; what was stored was validated on ingest,
// so a failure leaves the rules an empty object.
func decodeObject(raw []byte) map[string]any {
	m := map[string]any{}
	if len(raw) > 0 {
		_ = segjson.Unmarshal(raw, &m)
	}
	return m
}

// settle recomputes a contact's fit (when prof is not nil: its profile changed, or the
// contact is rescored), grade and stage. cause replaces the rule as the recorded cause
// of a stage move when not empty.
func (a *active) settle(cs *contactScore, prof *agreement.Profile, now time.Time, cause string) {
	if prof != nil {
		cs.fit = a.model.Fit(prof)
	}
	cs.grade = a.agreement.Scoring.Grade(cs.fit)
	// Rules see the engagement people see, in hundredths: 40 and 10 points given a
	// moment ago make the 50 a rule asks for, not 49.99999 decayed since.
	eng := round2(a.model.Current(cs.eng, now))
	f := agreement.Facts{
		Score: agreement.Score{Fit: cs.fit, Engagement: eng, Total: round2(cs.fit + eng)},
		Grade: cs.grade,
	}
	if prof != nil {
		f.Contact, f.Traits, f.Account = prof.Contact, prof.Traits, prof.Account
	}
	var changes []lifecycle.Change
	cs.state, changes = lifecycle.Evaluate(a.agreement, cs.state, &f, cause)
	cs.changes = append(cs.changes, changes...)
	cs.version, cs.anchor = a.version, a.anchor
}

// profile builds what fit and stage rules see of a contact.
func profile(email string, traits map[string]any, acc *accountFacts) *agreement.Profile {
	p := &agreement.Profile{Traits: traits}
	if p.Traits == nil {
		p.Traits = map[string]any{}
	}
	p.Contact.Email = email
	if _, d, ok := strings.Cut(email, "@"); ok {
		p.Contact.Domain = d
		p.Contact.FreeEmail = identity.IsFreeMail(d)
	}
	if acc != nil {
		p.Account = agreement.Account{
			Name: acc.name, Domain: acc.domain, Traits: acc.traits,
			Industry:  traitString(acc.traits, "industry"),
			Owner:     traitString(acc.traits, "owner"),
			Employees: traitNumber(acc.traits, "employees", "employee_count", "number_of_employees"),
			Revenue:   traitNumber(acc.traits, "annual_revenue", "revenue"),
		}
	}
	if p.Account.Traits == nil {
		p.Account.Traits = map[string]any{}
	}
	return p
}

// accountFacts is an account as rules see it.
type accountFacts struct {
	name, domain string
	traits       map[string]any
}

func traitString(t map[string]any, k string) string {
	s, _ := t[k].(string)
	return s
}

// traitNumber reads the first of keys that holds a number, or a string that is one (CRMs
// export "250" as often as 250).
func traitNumber(t map[string]any, keys ...string) float64 {
	for _, k := range keys {
		switch v := t[k].(type) {
		case float64:
			return v
		case json.Number:
			if f, err := v.Float64(); err == nil {
				return f
			}
		case string:
			if f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(v), ",", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f
			}
		}
	}
	return 0
}

// loadAccounts reads the accounts of ids.
func loadAccounts(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*accountFacts, error) {
	out := map[int64]*accountFacts{}
	err := readAccounts(ctx, q, d, ids, func(id int64, r accountRow) { out[id] = r.facts() })
	return out, err
}

// accountRow is an account's row as rules read it, its traits still JSON text.
type accountRow struct{ name, domain, traits string }

func (r accountRow) facts() *accountFacts {
	return &accountFacts{name: r.name, domain: r.domain, traits: decodeObject([]byte(r.traits))}
}

// readAccounts calls each with the row of each account of ids that exists.
func readAccounts(ctx context.Context, q querier, d dialect, ids []int64, each func(int64, accountRow)) error {
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id, name, COALESCE(domain, ''), traits FROM accounts WHERE `+cond, arg)
		if err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for rows.Next() {
			var (
				id int64
				r  accountRow
			)
			if err := rows.Scan(&id, &r.name, &r.domain, &r.traits); err != nil {
				rows.Close()
				return fmt.Errorf("load accounts: %w", err)
			}
			each(id, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
	}
	return nil
}

// accountCache keeps the rows of the accounts a rescore's second phase has read.
// Contacts are settled in id order and colleagues are spread over the whole store, so
// each batch asked for nearly as many accounts as it had contacts: a million account
// reads for the 100,000 accounts of the 1 M contact demo, a sixth of the phase's CPU. It
// keeps the rows as text, a few hundred bytes an account: kept decoded, the demo's
// accounts took a quarter of a gigabyte more memory. An account whose traits change
// meanwhile does no harm: ingest scores its contacts afresh under the active version,
// and the rescore's writes skip contacts already scored under it. It holds at most max
// accounts and starts over when full.
type accountCache struct {
	mu  sync.Mutex
	m   map[int64]*accountRow // nil for an account that is gone
	max int
}

func newAccountCache(max int) *accountCache {
	return &accountCache{m: map[int64]*accountRow{}, max: max}
}

// load returns the accounts of ids.
func (c *accountCache) load(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*accountFacts, error) {
	rows := make(map[int64]*accountRow, len(ids))
	var missing []int64
	c.mu.Lock()
	for _, id := range ids {
		if _, ok := rows[id]; ok {
			continue
		}
		r, ok := c.m[id]
		rows[id] = r
		if !ok {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	err := readAccounts(ctx, q, d, missing, func(id int64, r accountRow) { rows[id] = &r })
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m)+len(missing) > c.max {
		clear(c.m)
	}
	for _, id := range missing {
		c.m[id] = rows[id]
	}
	c.mu.Unlock()
	out := make(map[int64]*accountFacts, len(rows))
	for id, r := range rows {
		if r != nil {
			out[id] = r.facts()
		}
	}
	return out, nil
}

// rescoreAccounts bounds a rescore's account cache, to some tens of megabytes.
const rescoreAccounts = 100_000

// saveScores writes contacts' score columns, their capped rules' lines and their stage
// moves, and returns the scores it wrote. With onlyStale, a contact already scored under
// the version (by an ingest that got to it first) is left alone.
func saveScores(ctx context.Context, tx *sql.Tx, d dialect, scores []*contactScore, now time.Time, onlyStale bool) ([]*contactScore, error) {
	return writeScores(ctx, tx, d, scores, now, func(rows []scoreRow) (map[int64]bool, error) {
		return d.updateScores(ctx, tx, rows, onlyStale)
	})
}

// writeScores is saveScores with the rows of changed scores written by write, which
// returns the ids it wrote.
func writeScores(ctx context.Context, tx *sql.Tx, d dialect, scores []*contactScore, now time.Time, write func([]scoreRow) (map[int64]bool, error)) ([]*contactScore, error) {
	if len(scores) == 0 {
		return nil, nil
	}
	stageAt := micros(now)
	var (
		rows    = make([]scoreRow, 0, len(scores))
		written = make([]*contactScore, 0, len(scores))
		saved   []*contactScore
	)
	for _, cs := range scores {
		if cs.unchanged {
			continue
		}
		caps, err := encodeCaps(cs.lines, cs.anchor)
		if err != nil {
			return nil, fmt.Errorf("save score of contact %d: %w", cs.id, err)
		}
		r := scoreRow{id: cs.id, fit: finite(cs.fit), eng: finite(cs.eng), grade: cs.grade, stage: cs.state.Stage,
			funnel: cs.state.Funnel, version: cs.version, caps: caps}
		if len(cs.changes) > 0 {
			r.stageAt = stageAt
		}
		r.staged = len(cs.changes) > 0 || cs.state != cs.stored
		rows, written = append(rows, r), append(written, cs)
	}
	for chunk := range slices.Chunk(written, 5000) {
		updated, err := write(rows[:len(chunk)])
		if err != nil {
			return nil, err
		}
		rows = rows[len(chunk):]
		for _, cs := range chunk {
			if updated[cs.id] {
				saved = append(saved, cs)
			}
		}
	}
	return saved, saveStageChanges(ctx, tx, d, saved, stageAt)
}

// finite keeps a score storable: PostgreSQL takes infinities but JSON cannot show them.
func finite(f float64) float64 {
	switch {
	case math.IsNaN(f):
		return 0
	case math.IsInf(f, 1):
		return math.MaxFloat64
	case math.IsInf(f, -1):
		return -math.MaxFloat64
	}
	return f
}

func saveStageChanges(ctx context.Context, tx *sql.Tx, d dialect, scores []*contactScore, at int64) error {
	type change struct {
		lifecycle.Change
		contact int64
		version int
	}
	var all []change
	for _, cs := range scores {
		for _, c := range cs.changes {
			all = append(all, change{c, cs.id, cs.version})
		}
	}
	// A hundred to a statement: an import's new people each enter the first stage.
	_, err := insertValues(ctx, tx, d, `INSERT INTO stage_changes (contact_id, from_stage, to_stage, at, cause, version)`, "", 6, len(all),
		func(i int, args []any) []any {
			c := all[i]
			return append(args, c.contact, c.From, c.To, at, c.Cause, c.version)
		}, nil)
	if err != nil {
		return fmt.Errorf("save stage changes: %w", err)
	}
	return nil
}

// linkEvents hands a visitor's earlier events to the contact it turned out to be. Under
// an active agreement they count for the contact's score, so they are kept for scoring.
func (r *resolver) linkEvents(ctx context.Context, visitorID, contactID int64) error {
	const q = `UPDATE events SET contact_id = $1 WHERE visitor_id = $2 AND contact_id IS NULL`
	if r.act == nil {
		res, err := r.exec(ctx, q, contactID, visitorID)
		if err != nil {
			return fmt.Errorf("link visitor events: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return markStale(ctx, r.exec, contactID)
		}
		return nil
	}
	linked := len(r.linked)
	rows, err := r.tx.QueryContext(ctx, q+` RETURNING id, type, event, name, properties, context, timestamp, received_at`, contactID, visitorID)
	if err != nil {
		return fmt.Errorf("link visitor events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := &scoredEvent{contactID: contactID}
		var received int64
		if err := rows.Scan(&e.id, &e.typ, &e.event, &e.name, &e.properties, &e.context, &e.ts, &received); err != nil {
			return fmt.Errorf("link visitor events: %w", err)
		}
		e.ts = scoringTime(e.ts, received)
		r.linked = append(r.linked, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("link visitor events: %w", err)
	}
	if len(r.linked) > linked {
		return markStale(ctx, r.exec, contactID)
	}
	return nil
}

// score brings the scores and stages of the contacts this transaction touched up to
// date, in the transaction that stored their events: stored (not duplicate) events that
// an engagement rule may fire on add points; contacts created, identified or whose
// account changed get their fit recomputed; contacts merged, or not yet rescored under
// the active version, are scored afresh from all their events.
func (r *resolver) score(ctx context.Context, rows []eventRow, stored []bool) error {
	a := r.act
	if a == nil {
		return nil
	}
	type work struct {
		evs     []*scoredEvent
		profile bool
	}
	todo := map[int64]*work{}
	get := func(id int64) *work {
		w := todo[id]
		if w == nil {
			w = &work{}
			todo[id] = w
		}
		return w
	}
	// A visitor's earlier events come first, in the order they arrived; then this
	// transaction's.
	slices.SortFunc(r.linked, func(x, y *scoredEvent) int { return cmp.Compare(x.id, y.id) })
	var linked map[int64]bool // the contacts they joined
	for _, e := range r.linked {
		id := r.resolve(e.contactID)
		w := get(id)
		w.evs = append(w.evs, e)
		if linked == nil {
			linked = map[int64]bool{}
		}
		linked[id] = true
	}
	for i := range rows {
		row := &rows[i]
		if !stored[i] || row.contactID == 0 {
			continue
		}
		e := &scoredEvent{contactID: row.contactID, typ: row.typ, event: row.event, name: row.name,
			properties: row.properties, context: row.context, ts: scoringTime(row.timestamp, row.receivedAt)}
		// A contact whose event no rule names is looked at too: if a rescore has not
		// reached it, its stored score is another version's, which did not see this
		// event, and a later version may carry that score over; so it is scored afresh
		// under this one. A current contact with nothing to add is left as it is.
		w := get(row.contactID)
		if len(a.model.Candidates(e.typ, e.ruleName())) > 0 {
			w.evs = append(w.evs, e)
		}
	}
	for _, id := range r.created {
		get(r.resolve(id)).profile = true
	}
	for id, c := range r.contacts {
		if c.dirty {
			get(id).profile = true
		}
	}
	if len(r.changedAccounts) > 0 && (a.fitReadsAccount || a.stagesReadProfile) {
		ids := make([]int64, 0, len(r.changedAccounts))
		for id := range r.changedAccounts {
			ids = append(ids, id)
		}
		members, err := contactsOfAccounts(ctx, r.tx, r.db.dialect, ids)
		if err != nil {
			return err
		}
		for _, id := range members {
			get(id).profile = true
		}
	}
	merged := map[int64]bool{}
	for id := range r.mergedStages {
		merged[r.resolve(id)] = true
		get(r.resolve(id))
	}
	if len(todo) == 0 {
		return nil
	}
	for id := range todo {
		if _, gone := r.merged[id]; gone {
			delete(todo, id)
		}
	}
	now := fromMicros(r.now)
	ids := slices.Sorted(maps.Keys(todo))
	// A lead sales sent back earns engagement again from then: events dated before,
	// arriving late or linked from its anonymous past, give no points.
	since, err := r.db.engagedSince(ctx, r.tx, ids)
	if err != nil {
		return err
	}
	for id, t := range since {
		w := todo[id]
		w.evs = slices.DeleteFunc(w.evs, func(e *scoredEvent) bool { return e.ts < t })
	}
	scores := make(map[int64]*contactScore, len(ids))
	missing := ids
	if c := r.db.scores; c != nil {
		missing = make([]int64, 0, len(ids))
		for _, id := range ids {
			if cs := c.get(id, a); cs != nil {
				scores[id] = cs
			} else {
				missing = append(missing, id)
			}
		}
	}
	if err := r.applyLogFor(ctx, missing...); err != nil {
		return err
	}
	loaded, err := a.loadScores(ctx, r.tx, r.db.dialect, missing)
	if err != nil {
		return err
	}
	for id, cs := range loaded {
		scores[id] = cs
	}
	created := make(map[int64]bool, len(r.created))
	for _, id := range r.created {
		created[id] = true
	}
	var stale, again, inc []int64
	for _, id := range ids {
		cs := scores[id]
		switch {
		case cs == nil:
			return fmt.Errorf("score contact %d: not found", id)
		case cs.version != a.version && !created[id]:
			// The rescore has not reached it yet: it is scored afresh here, and a stage
			// move names the rule, since this event may be what moved it.
			stale = append(stale, id)
		case merged[id]:
			again = append(again, id)
		case linked[id] && !created[id] && len(a.capped) > 0:
			// A visitor's earlier events joined a known contact: a capped rule's window
			// depends on the order events arrived in, and the contact's own came after
			// them, so it is scored from all its events in that order, as a rescore
			// that reads the events would score it.
			again = append(again, id)
		default:
			inc = append(inc, id)
		}
	}
	var out []*contactScore
	if afresh := append(stale, again...); len(afresh) > 0 {
		if err := r.applyLogFor(ctx, afresh...); err != nil {
			return err
		}
		// Scoring them reads the tail of unfiled events: a long one is filed first.
		if err := r.db.dialect.fileEvents(ctx, r.tx, fileKeep); err != nil {
			return err
		}
		fresh, err := a.scoreContacts(ctx, r.tx, r.db.dialect, afresh, now, "", func(cs *contactScore) {
			for _, st := range r.mergedStages[cs.id] {
				cs.state = lifecycle.Further(a.agreement, cs.state, st)
			}
		})
		if err != nil {
			return err
		}
		out = append(out, fresh...)
	}
	if len(inc) > 0 {
		var settle []int64
		for _, id := range inc {
			cs := scores[id]
			a.addEvents(cs, todo[id].evs)
			if cs.fired || todo[id].profile {
				settle = append(settle, id)
			} // else every rule it met was capped: nothing changed
		}
		// A changed profile changes fit, and stage rules may read the profile.
		states := map[int64]*contactState{}
		var accIDs []int64
		for _, id := range settle {
			if !todo[id].profile && !a.stagesReadProfile {
				continue
			}
			c, err := r.contact(ctx, id)
			if err != nil {
				return err
			}
			states[id] = c
			if c.accountID != 0 {
				accIDs = append(accIDs, c.accountID)
			}
		}
		accounts, err := loadAccounts(ctx, r.tx, r.db.dialect, accIDs)
		if err != nil {
			return err
		}
		for _, id := range settle {
			var prof *agreement.Profile
			if c := states[id]; c != nil {
				prof = profile(c.email, c.traits, accounts[c.accountID])
			}
			a.settle(scores[id], prof, now, "")
			out = append(out, scores[id])
		}
	}
	r.scored = out
	var saved []*contactScore
	if r.db.defers() {
		saved, err = writeScores(ctx, r.tx, r.db.dialect, out, now, func(rows []scoreRow) (map[int64]bool, error) {
			written, err := appendScores(ctx, r.tx, rows) // sets the rows' places in the log
			r.logged = append(r.logged, rows...)
			return written, err
		})
	} else {
		saved, err = saveScores(ctx, r.tx, r.db.dialect, out, now, false)
	}
	if err != nil {
		return err
	}
	return r.db.handOff(ctx, r.tx, r.act, saved, now)
}

func contactsOfAccounts(ctx context.Context, q querier, d dialect, accounts []int64) ([]int64, error) {
	var ids []int64
	for chunk := range slices.Chunk(accounts, 5000) {
		cond, arg := d.inIDs("account_id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id FROM contacts WHERE `+cond, arg)
		if err != nil {
			return nil, fmt.Errorf("contacts of accounts: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("contacts of accounts: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("contacts of accounts: %w", err)
		}
	}
	return ids, nil
}

// loadScores reads the score columns of contacts, with the state of their capped rules
// when they were scored under a.
func (a *active) loadScores(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*contactScore, error) {
	out := make(map[int64]*contactScore, len(ids))
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id, score_fit, score_eng, grade, stage, funnel_stage, scored_version, score_caps FROM contacts WHERE `+cond, arg)
		if err != nil {
			return nil, fmt.Errorf("load scores: %w", err)
		}
		for rows.Next() {
			cs := &contactScore{}
			var caps string
			if err := rows.Scan(&cs.id, &cs.fit, &cs.eng, &cs.grade, &cs.state.Stage, &cs.state.Funnel, &cs.version, &caps); err != nil {
				rows.Close()
				return nil, fmt.Errorf("load scores: %w", err)
			}
			cs.stored = cs.state
			if a.current(cs.version) {
				cs.version = a.version
				a.decodeCaps(cs, caps)
			}
			out[cs.id] = cs
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("load scores: %w", err)
		}
	}
	return out, nil
}

// person is a contact being scored afresh: its score columns, profile and events.
type person struct {
	cs        *contactScore
	email     string
	traits    string
	accountID int64
	// since is when a recycled contact's engagement started again; its events before
	// then give no points.
	since int64
	evs   []*scoredEvent
	// stored is the row's score as loaded.
	stored struct {
		fit, eng float64
		grade    string
		caps     string
		version  int // the agreement version they were computed under
	}
}

// sameAsStored reports whether a rescore arrived at what the contact row holds, up to
// the rounding of summing in another order.
func (a *active) sameAsStored(p *person) bool {
	cs, st := p.cs, &p.stored
	if len(cs.changes) > 0 || cs.fit != st.fit || cs.grade != st.grade || !near(cs.eng, st.eng) {
		return false
	}
	old := &contactScore{}
	a.decodeCaps(old, st.caps)
	n := 0
	for rule, l := range cs.lines {
		if l.WindowHits == 0 {
			continue
		}
		n++
		o := old.lines[rule]
		if o == nil || o.Hits != l.Hits || o.Last != l.Last || o.WindowAt != l.WindowAt || o.WindowHits != l.WindowHits || !near(o.Points, l.Points) {
			return false
		}
	}
	return n == len(old.lines)
}

func near(x, y float64) bool {
	return x == y || math.Abs(x-y) <= 1e-9*max(math.Abs(x), math.Abs(y))
}

// engagedSince returns when the engagement of the recycled contacts among ids started
// again. Most stores never recycle anyone: where this process is the one ingester and
// so the one that recycles (SQLite), one look at the index tells, until a recycle.
func (db *DB) engagedSince(ctx context.Context, q querier, ids []int64) (map[int64]int64, error) {
	if db.ids != nil {
		switch db.recycled.Load() {
		case recycledNone:
			return nil, nil
		case recycledUnknown:
			var some bool
			if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE engaged_since IS NOT NULL)`).Scan(&some); err != nil {
				return nil, fmt.Errorf("recycled contacts: %w", err)
			}
			if !some {
				db.recycled.CompareAndSwap(recycledUnknown, recycledNone)
				return nil, nil
			}
			db.recycled.Store(recycledSome)
		}
	}
	return engagedSinceOf(ctx, q, db.dialect, ids)
}

// What this process knows of recycled contacts; see engagedSince.
const (
	recycledUnknown int32 = iota
	recycledNone
	recycledSome
)

// engagedSinceOf reads when the engagement of the recycled contacts among ids started
// again.
func engagedSinceOf(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]int64, error) {
	var out map[int64]int64
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id, engaged_since FROM contacts WHERE engaged_since IS NOT NULL AND `+cond, arg)
		if err != nil {
			return nil, fmt.Errorf("recycled contacts: %w", err)
		}
		for rows.Next() {
			var id, at int64
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, fmt.Errorf("recycled contacts: %w", err)
			}
			if out == nil {
				out = map[int64]int64{}
			}
			out[id] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("recycled contacts: %w", err)
		}
	}
	return out, nil
}

// loadPeople reads the stages and profiles of contacts, and their accounts.
func loadPeople(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*person, map[int64]*accountFacts, error) {
	people, err := loadContacts(ctx, q, d, ids)
	if err != nil {
		return nil, nil, err
	}
	var accIDs []int64
	for _, p := range people {
		if p.accountID != 0 {
			accIDs = append(accIDs, p.accountID)
		}
	}
	accounts, err := loadAccounts(ctx, q, d, accIDs)
	if err != nil {
		return nil, nil, err
	}
	return people, accounts, nil
}

// loadContacts reads the stages and profiles of contacts.
func loadContacts(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]*person, error) {
	people := make(map[int64]*person, len(ids))
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := d.inIDs("id", 1, chunk)
		if err := scanPeople(ctx, q, people, cond, arg); err != nil {
			return nil, err
		}
	}
	return people, nil
}

// loadContactRange is loadContacts for every contact with an id from first to last:
// one range of the table read in order, where a list of ids is a lookup each (a fifth
// of a rescore's second phase).
func loadContactRange(ctx context.Context, q querier, first, last int64) (map[int64]*person, error) {
	people := make(map[int64]*person, last-first+1)
	if err := scanPeople(ctx, q, people, `id >= $1 AND id <= $2`, first, last); err != nil {
		return nil, err
	}
	return people, nil
}

func scanPeople(ctx context.Context, q querier, into map[int64]*person, cond string, args ...any) error {
	rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(email, ''), traits, COALESCE(account_id, 0), stage, funnel_stage,
		score_fit, score_eng, grade, score_caps, COALESCE(engaged_since, 0), scored_version FROM contacts WHERE `+cond, args...)
	if err != nil {
		return fmt.Errorf("rescore contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p := &person{cs: &contactScore{}}
		if err := rows.Scan(&p.cs.id, &p.email, &p.traits, &p.accountID, &p.cs.state.Stage, &p.cs.state.Funnel,
			&p.stored.fit, &p.stored.eng, &p.stored.grade, &p.stored.caps, &p.since, &p.stored.version); err != nil {
			return fmt.Errorf("rescore contacts: %w", err)
		}
		p.cs.stored = p.cs.state
		into[p.cs.id] = p
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("rescore contacts: %w", err)
	}
	return nil
}

// eventColumns are the columns of events that scoring reads, as scanEvent takes them;
// properties and context only if a rule reads them.
func (a *active) eventColumns() string {
	return `id, contact_id, type, event, name, ` + a.objectColumns() + `, timestamp, received_at`
}

// objectColumns selects an event's properties and context, each as an empty text when
// no rule reads it.
func (a *active) objectColumns() string {
	props, ctxs := "''", "''"
	if a.readsProperties {
		props = "properties"
	}
	if a.readsContext {
		ctxs = "context"
	}
	return props + ", " + ctxs
}

func scanEvent(rows *sql.Rows) (*scoredEvent, error) {
	e := &scoredEvent{}
	var received int64
	if err := rows.Scan(&e.id, &e.contactID, &e.typ, &e.event, &e.name, &e.properties, &e.context, &e.ts, &received); err != nil {
		return nil, err
	}
	e.ts = scoringTime(e.ts, received)
	return e, nil
}

// scoreContacts scores contacts afresh from all their events and their profiles, read
// through q. adjust, when not nil, may change each contact's loaded state before its
// stage is evaluated. Stage changes name cause, or the rule that made them when it is
// empty.
func (a *active) scoreContacts(ctx context.Context, q querier, d dialect, ids []int64, now time.Time, cause string, adjust func(*contactScore)) ([]*contactScore, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	people, accounts, err := loadPeople(ctx, q, d, ids)
	if err != nil {
		return nil, err
	}
	cond, arg := d.inIDs("contact_id", 1, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+a.eventColumns()+` FROM events WHERE id IN (`+d.contactEvents("id", cond, "")+`)`, arg)
	if err != nil {
		return nil, fmt.Errorf("rescore events: %w", err)
	}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("rescore events: %w", err)
		}
		if p := people[e.contactID]; p != nil && e.ts >= p.since && len(a.model.Candidates(e.typ, e.ruleName())) > 0 {
			p.evs = append(p.evs, e)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rescore events: %w", err)
	}
	out := make([]*contactScore, 0, len(people))
	for _, id := range ids {
		p := people[id]
		if p == nil {
			continue // merged away meanwhile
		}
		// In the order they arrived, as ingest scored them: a cap's window depends on it.
		slices.SortFunc(p.evs, func(x, y *scoredEvent) int { return cmp.Compare(x.id, y.id) })
		a.addEvents(p.cs, p.evs)
		if adjust != nil {
			adjust(p.cs)
		}
		a.settle(p.cs, profile(p.email, decodeObject([]byte(p.traits)), accounts[p.accountID]), now, cause)
		out = append(out, p.cs)
	}
	return out, nil
}
