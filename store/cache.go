package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"tandem/lifecycle"
	"tandem/scoring"
)

// idCache remembers identities across ingest transactions, so that events from people
// seen before need no lookup. It is only used where this process is the store's one
// writer (SQLite), and only by the group committer's goroutine, so it has no lock.
type idCache struct {
	max      int
	users    map[string]int64
	emails   map[string]int64
	visitors map[string]visitor
	domains  map[string]int64
}

func newIDCache(max int) *idCache {
	c := &idCache{max: max}
	c.reset()
	return c
}

func (c *idCache) reset() {
	c.users, c.emails = map[string]int64{}, map[string]int64{}
	c.visitors, c.domains = map[string]visitor{}, map[string]int64{}
}

// fill copies the cached ids of keys into dst and returns the keys it does not know.
func (c *idCache) fill(keys []string, cached, dst map[string]int64) []string {
	missing := keys[:0]
	for _, k := range keys {
		if id, ok := cached[k]; ok {
			dst[k] = id
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

func (c *idCache) fillVisitors(keys []string, dst map[string]*visitor) []string {
	missing := keys[:0]
	for _, k := range keys {
		if v, ok := c.visitors[k]; ok {
			dst[k] = &visitor{id: v.id, contactID: v.contactID, accountID: v.accountID}
		} else {
			missing = append(missing, k)
		}
	}
	return missing
}

// remember takes in what a committed transaction learnt. A merge changes ids the cache
// may hold anywhere, so it empties the cache; merges are rare.
func (c *idCache) remember(r *resolver) {
	if len(r.merged) > 0 || len(c.users)+len(c.visitors)+len(c.emails) > c.max {
		c.reset()
		if len(r.merged) > 0 {
			return
		}
	}
	for k, id := range r.users {
		c.users[k] = id
	}
	for k, id := range r.emails {
		c.emails[k] = id
	}
	for _, k := range r.releasedEmails {
		delete(c.emails, k)
	}
	for k, v := range r.visitors {
		c.visitors[k] = visitor{id: v.id, contactID: v.contactID, accountID: v.accountID}
	}
	for k, id := range r.domains {
		c.domains[k] = id
	}
}

// scoreCache remembers the score columns that ingest transactions wrote, so that the
// next transaction touching a contact need not read them back. Like idCache it is used
// only where this process is the store's one ingester (SQLite), and only by the group
// committer's goroutine. Other writers of scores make it forget: in this process they
// bump DB.scoreGen inside their transactions, and a commit by another process (such as
// `tandem rescore`) changes SQLite's data_version. Entries are kept compact (about a
// hundred bytes, stage names shared with the agreement): it holds hundreds of thousands.
type scoreCache struct {
	// forgotten holds contacts whose score columns another writer of this process is
	// changing; check drops them. It is added to before that writer commits, and the
	// next ingest transaction cannot begin before the commit (SQLite has one writer).
	mu        sync.Mutex
	forgotten []int64

	max         int
	gen         int64
	dataVersion int64
	m           map[int64]*cachedScore
}

// cachedScore is a contact's score columns, as saveScores wrote them.
type cachedScore struct {
	fit, eng             float64
	anchor               int64
	version              int
	grade, stage, funnel string
	caps                 []cachedCap
}

type cachedCap struct {
	rule string
	line scoring.Line
}

func newScoreCache(max int) *scoreCache {
	return &scoreCache{max: max, m: map[int64]*cachedScore{}}
}

// forget makes the next ingest transaction read a contact's score columns afresh.
// Unlike the other methods it is safe to call from any goroutine.
func (c *scoreCache) forget(id int64) {
	c.mu.Lock()
	c.forgotten = append(c.forgotten, id)
	c.mu.Unlock()
}

func (c *scoreCache) reset() { c.m = map[int64]*cachedScore{} }

// check empties the cache if another writer may have changed scores since it was
// filled.
func (c *scoreCache) check(ctx context.Context, tx *sql.Tx, gen int64) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return fmt.Errorf("data version: %w", err)
	}
	if v != c.dataVersion || gen != c.gen {
		c.reset()
		c.dataVersion, c.gen = v, gen
	}
	c.mu.Lock()
	for _, id := range c.forgotten {
		delete(c.m, id)
	}
	c.forgotten = c.forgotten[:0]
	c.mu.Unlock()
	return nil
}

// get returns the cached score of a contact if it was computed under a, for another
// transaction to work on.
func (c *scoreCache) get(id int64, a *active) *contactScore {
	e := c.m[id]
	if e == nil || e.version != a.version || e.anchor != a.anchor {
		return nil
	}
	cs := &contactScore{id: id, fit: e.fit, eng: e.eng, grade: e.grade, version: e.version, anchor: e.anchor,
		state: lifecycle.State{Stage: e.stage, Funnel: e.funnel}}
	cs.stored = cs.state
	for _, cp := range e.caps {
		*cs.line(cp.rule) = cp.line
	}
	return cs
}

// remember takes in the scores a committed transaction wrote under a, and forgets
// contacts merged away.
func (c *scoreCache) remember(a *active, scores []*contactScore, merged map[int64]int64) {
	if len(c.m)+len(scores) > c.max {
		c.reset()
	}
	for _, cs := range scores {
		e := &cachedScore{fit: cs.fit, eng: cs.eng, anchor: cs.anchor, version: cs.version,
			grade: a.intern(cs.grade), stage: a.intern(cs.state.Stage), funnel: a.intern(cs.state.Funnel)}
		for rule, l := range cs.lines {
			if l.WindowHits > 0 {
				e.caps = append(e.caps, cachedCap{a.intern(rule), *l})
			}
		}
		c.m[cs.id] = e
	}
	for id := range merged {
		delete(c.m, id)
	}
}
