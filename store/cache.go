package store

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
