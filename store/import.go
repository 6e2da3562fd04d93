package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"tandem"
	"tandem/csvio"
)

// ImportSourceName names the source that contacts imported from files are stored under,
// created on first use. Its write key is never shown: nothing but an import sends to it.
const ImportSourceName = "CSV import"

// ImportOptions tune an import.
type ImportOptions struct {
	// Ingest stores the identify messages contacts are imported as; nil means the store's
	// own Ingest. A server passes its group committer, which must stay the one caller of
	// Ingest in the process.
	Ingest func(ctx context.Context, msgs []*tandem.Message) ([]tandem.Outcome, error)
	// RowError receives each row that is not imported, as it is found; an error it
	// returns ends the import.
	RowError func(*csvio.RowError) error
	// DryRun reads and checks every row, references included, and writes nothing.
	DryRun bool
	// Batch is how many rows are written per transaction; zero means 2,000.
	Batch int
	// Progress, when set, is called after each batch with the totals so far.
	Progress func(ImportSummary)
}

// ImportSummary says what an import did with the rows of a file. Every row read is
// counted once: created, updated, unchanged or failed, or, in a dry run, valid or
// failed.
type ImportSummary struct {
	Object    csvio.Object `json:"object"`
	DryRun    bool         `json:"dry_run"`
	Rows      int64        `json:"rows"`
	Created   int64        `json:"created"`
	Updated   int64        `json:"updated"`
	Unchanged int64        `json:"unchanged"`
	Valid     int64        `json:"valid,omitempty"`
	Failed    int64        `json:"failed"`
}

// Import reads the rows of a file and stores what they say, a batch of rows per
// transaction. Each row is all or nothing: one that cannot be stored (a bad value, a
// reference to an account or a contact the store does not have) is reported to
// opt.RowError and writes nothing, and the rows after it go on. Importing the same file
// again changes nothing:
//
//   - contacts are found by email and become identify messages through the ingest path,
//     so identity resolution, accounts by domain and scoring apply; each message's id is
//     a hash of what the row says, under one source, so a row stored before is a
//     duplicate, and a row whose traits the contact has already sends nothing;
//   - accounts are found by their CRM id, else their domain, and updated in place;
//   - opportunities are found by their CRM id; creating, winning and adding people to
//     one moves its people's stages, and the file's created and close dates are kept.
//
// The CRM ids of contacts and accounts are kept so that deals can name them. The error
// returned, if any, is not a row's: the store failed, and the batch being written was
// not stored.
func (db *DB) Import(ctx context.Context, r *csvio.Reader, opt ImportOptions) (*ImportSummary, error) {
	if opt.Ingest == nil {
		opt.Ingest = db.Ingest
	}
	if opt.Batch <= 0 {
		opt.Batch = 2000
	}
	im := &importer{db: db, opt: opt, m: r.Mapping()}
	im.sum.Object, im.sum.DryRun = im.m.Object, opt.DryRun
	if im.m.Object == csvio.Contacts && !opt.DryRun {
		var err error
		if im.src, err = db.importSource(ctx); err != nil {
			return &im.sum, err
		}
	}
	batch := make([]*csvio.Record, 0, opt.Batch)
	for {
		rec, err := r.Read()
		var rowErr *csvio.RowError
		switch {
		case errors.Is(err, io.EOF):
			return &im.sum, im.flush(ctx, batch)
		case errors.As(err, &rowErr):
			im.sum.Rows++
			if err := im.fail(rowErr); err != nil {
				return &im.sum, err
			}
			continue
		case err != nil:
			return &im.sum, fmt.Errorf("read row %d: %w", im.sum.Rows+2, err)
		}
		im.sum.Rows++
		batch = append(batch, rec)
		if len(batch) == opt.Batch {
			if err := im.flush(ctx, batch); err != nil {
				return &im.sum, err
			}
			batch = batch[:0]
		}
	}
}

// importer is one import under way.
type importer struct {
	db  *DB
	opt ImportOptions
	m   *csvio.Mapping
	src int64
	sum ImportSummary
}

// tally is what one batch did.
type tally struct {
	created, updated, unchanged int64
	errs                        []*csvio.RowError
}

func (im *importer) fail(e *csvio.RowError) error {
	im.sum.Failed++
	if im.opt.RowError != nil {
		return im.opt.RowError(e)
	}
	return nil
}

func (im *importer) flush(ctx context.Context, recs []*csvio.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A batch, once begun, is written to its end (see Ingest); an import that is
	// stopped stops between batches.
	ctx = context.WithoutCancel(ctx)
	var (
		t   tally
		err error
	)
	switch im.m.Object {
	case csvio.Contacts:
		t, err = im.contacts(ctx, recs)
	case csvio.Accounts:
		t, err = im.accounts(ctx, recs)
	case csvio.Opportunities:
		t, err = im.opportunities(ctx, recs)
	}
	if err != nil {
		return err
	}
	if im.opt.DryRun {
		im.sum.Valid += int64(len(recs) - len(t.errs))
	} else {
		im.sum.Created += t.created
		im.sum.Updated += t.updated
		im.sum.Unchanged += t.unchanged
	}
	slices.SortFunc(t.errs, func(a, b *csvio.RowError) int { return a.Row - b.Row })
	for _, e := range t.errs {
		if err := im.fail(e); err != nil {
			return err
		}
	}
	if im.opt.Progress != nil {
		im.opt.Progress(im.sum)
	}
	return nil
}

// importSource returns the source imported contacts are stored under, creating it if
// need be. Every import uses the same one, so that a row's message is a duplicate the
// second time.
func (db *DB) importSource(ctx context.Context) (int64, error) {
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE name = $1 ORDER BY id LIMIT 1`, ImportSourceName).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `INSERT INTO sources (name, write_key_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
				ImportSourceName, hashSecret(newSecret("wk_")), micros(now)).Scan(&id)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("import source: %w", err)
	}
	return id, nil
}

// keyed runs query, whose %s is a condition that col is one of keys, over keys in
// chunks, and passes each row's key and id to fn.
func keyed(ctx context.Context, q querier, d dialect, query, col string, keys []string, fn func(string, int64)) error {
	for chunk := range slices.Chunk(keys, 5000) {
		cond, arg := d.in(col, 1, chunk)
		rows, err := q.QueryContext(ctx, fmt.Sprintf(query, cond), arg)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				k  string
				id int64
			)
			if err := rows.Scan(&k, &id); err != nil {
				rows.Close()
				return err
			}
			fn(k, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// idsOf is keyed into a map.
func idsOf(ctx context.Context, q querier, d dialect, query, col string, keys []string) (map[string]int64, error) {
	out := make(map[string]int64, len(keys))
	err := keyed(ctx, q, d, query, col, keys, func(k string, id int64) { out[k] = id })
	return out, err
}

// The lookups of CRM ids and of what rows name. A contact's CRM id may point at a
// contact merged away since: the survivor is the one meant.
const (
	contactsByCRMID = `SELECT x.external_id, COALESCE(m.into_id, x.local_id) FROM crm_ids x
		LEFT JOIN contact_merges m ON m.from_id = x.local_id WHERE x.object = 'contact' AND %s`
	accountsByCRMID  = `SELECT external_id, local_id FROM crm_ids WHERE object = 'account' AND %s`
	contactsByEmail  = `SELECT value, contact_id FROM identities WHERE kind = 'email' AND %s`
	accountsByDomain = `SELECT domain, id FROM accounts WHERE %s`
)

// canonicalContacts maps each of ids that names a contact, directly or by a merge, to
// the contact it names now.
func canonicalContacts(ctx context.Context, q querier, d dialect, ids []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	lookups := []struct{ query, col string }{
		{`SELECT id, id FROM contacts WHERE %s`, "id"},
		{`SELECT from_id, into_id FROM contact_merges WHERE %s`, "from_id"},
	}
	for chunk := range slices.Chunk(ids, 5000) {
		for _, l := range lookups {
			cond, arg := d.inIDs(l.col, 1, chunk)
			rows, err := q.QueryContext(ctx, fmt.Sprintf(l.query, cond), arg)
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				var id, to int64
				if err := rows.Scan(&id, &to); err != nil {
					rows.Close()
					return nil, err
				}
				out[id] = to
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// crmIDs writes CRM ids in one transaction, with a statement prepared once.
type crmIDs struct {
	tx   *sql.Tx
	stmt *sql.Stmt
}

// set records that external id ext of object names local, and reports whether that is
// news.
func (c *crmIDs) set(ctx context.Context, object, ext string, local int64) (bool, error) {
	if c.stmt == nil {
		var err error
		c.stmt, err = c.tx.PrepareContext(ctx, `INSERT INTO crm_ids (object, external_id, local_id) VALUES ($1, $2, $3)
			ON CONFLICT (object, external_id) DO UPDATE SET local_id = excluded.local_id WHERE crm_ids.local_id <> excluded.local_id`)
		if err != nil {
			return false, fmt.Errorf("CRM ids: %w", err)
		}
	}
	res, err := c.stmt.ExecContext(ctx, object, ext, local)
	if err != nil {
		return false, fmt.Errorf("%s CRM id %q: %w", object, ext, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

func (c *crmIDs) close() {
	if c.stmt != nil {
		c.stmt.Close()
	}
}

// rescoreAccountMembers scores afresh, in tx, the contacts whose account changed or whose
// accounts' traits did, when the active agreement's rules read the account.
func (db *DB) rescoreAccountMembers(ctx context.Context, tx *sql.Tx, contacts, accounts []int64, now time.Time) error {
	if len(contacts)+len(accounts) == 0 {
		return nil
	}
	act, err := db.activeIn(ctx, tx)
	if err != nil || act == nil || !act.fitReadsAccount && !act.stagesReadProfile {
		return err
	}
	members, err := contactsOfAccounts(ctx, tx, db.dialect, accounts)
	if err != nil {
		return err
	}
	ids := slices.Compact(slices.Sorted(slices.Values(append(members, contacts...))))
	db.scoreGen.Add(1) // ingest's score cache forgets what it had
	for chunk := range slices.Chunk(ids, 1000) {
		scores, err := act.scoreContacts(ctx, tx, db.dialect, chunk, now, nil)
		if err != nil {
			return err
		}
		saved, err := saveScores(ctx, tx, db.dialect, scores, now, false)
		if err != nil {
			return err
		}
		if err := db.handOff(ctx, tx, act, saved, now); err != nil {
			return err
		}
	}
	return nil
}

// storedContact is what a re-import compares a contact row with.
type storedContact struct {
	email   string
	traits  map[string]any
	account int64
}

// contactRefs is what a batch of contact rows names, as the store has it.
type contactRefs struct {
	byEmail, byCRMID     map[string]int64
	byTandemID           map[int64]int64
	accByCRMID, accByDom map[string]int64
	contacts             map[int64]*storedContact
}

func (db *DB) contactRefs(ctx context.Context, q querier, recs []*csvio.Record) (*contactRefs, error) {
	var emails, exts, accExts, accDoms []string
	var tids []int64
	for _, rec := range recs {
		c := rec.Contact
		emails = appendSome(emails, c.Email)
		exts = appendSome(exts, c.ExternalID)
		accExts = appendSome(accExts, c.AccountExternalID)
		accDoms = appendSome(accDoms, c.AccountDomain)
		if c.TandemID != 0 {
			tids = append(tids, c.TandemID)
		}
	}
	refs := &contactRefs{contacts: map[int64]*storedContact{}}
	var err error
	if refs.byEmail, err = idsOf(ctx, q, db.dialect, contactsByEmail, "value", emails); err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	if refs.byCRMID, err = idsOf(ctx, q, db.dialect, contactsByCRMID, "x.external_id", exts); err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	if refs.accByCRMID, err = idsOf(ctx, q, db.dialect, accountsByCRMID, "external_id", accExts); err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	if refs.accByDom, err = idsOf(ctx, q, db.dialect, accountsByDomain, "domain", accDoms); err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	if refs.byTandemID, err = canonicalContacts(ctx, q, db.dialect, tids); err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	ids := slices.Collect(maps.Values(refs.byEmail))
	ids = append(ids, slices.Collect(maps.Values(refs.byCRMID))...)
	ids = append(ids, slices.Collect(maps.Values(refs.byTandemID))...)
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := db.dialect.inIDs("id", 1, chunk)
		rows, err := q.QueryContext(ctx, `SELECT id, COALESCE(email, ''), traits, COALESCE(account_id, 0) FROM contacts WHERE `+cond, arg)
		if err != nil {
			return nil, fmt.Errorf("import contacts: %w", err)
		}
		for rows.Next() {
			var (
				id     int64
				s      storedContact
				traits string
			)
			if err := rows.Scan(&id, &s.email, &traits, &s.account); err != nil {
				rows.Close()
				return nil, fmt.Errorf("import contacts: %w", err)
			}
			s.traits = decodeObject([]byte(traits))
			refs.contacts[id] = &s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("import contacts: %w", err)
		}
	}
	return refs, nil
}

func appendSome(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

// account returns the account a contact row names, zero if it names none, or the row's
// error when it names one the store does not have.
func (refs *contactRefs) account(rec *csvio.Record) (int64, *csvio.RowError) {
	c := rec.Contact
	if id := refs.accByCRMID[c.AccountExternalID]; id != 0 && c.AccountExternalID != "" {
		return id, nil
	}
	if id := refs.accByDom[c.AccountDomain]; id != 0 && c.AccountDomain != "" {
		return id, nil
	}
	switch {
	case c.AccountExternalID != "":
		return 0, rec.Fail("account_external_id", "no account has the CRM id %q: import the accounts first", c.AccountExternalID)
	case c.AccountDomain != "":
		return 0, rec.Fail("account_domain", "no account has the domain %s: import the accounts first", c.AccountDomain)
	}
	return 0, nil
}

// same reports whether contact id already is what a row says: its traits, its account,
// its CRM id. The email trait is left out when the address is the contact's: a contact
// that identified by context.traits has none, and an export writes the address alone.
func (refs *contactRefs) same(id int64, c *csvio.Contact, account int64) bool {
	s := refs.contacts[id]
	if s == nil || c.Email != "" && s.email != c.Email {
		return false
	}
	traits := c.Traits
	if _, ok := traits["email"]; ok {
		traits = maps.Clone(traits)
		delete(traits, "email")
	}
	return csvio.SameTraits(csvio.Contacts, s.traits, traits) &&
		(account == 0 || s.account == account) &&
		(c.ExternalID == "" || refs.byCRMID[c.ExternalID] == id)
}

// contactPlan is what is to become of one contact row.
type contactPlan struct {
	rec     *csvio.Record
	msg     int   // index of its message
	existed bool  // the address named a contact before
	account int64 // the account the row links the contact to, zero for none
}

// contacts imports a batch of contact rows: the changed ones as identify messages through
// ingest, then their CRM ids and account links in one transaction.
func (im *importer) contacts(ctx context.Context, recs []*csvio.Record) (tally, error) {
	var t tally
	db := im.db
	refs, err := db.contactRefs(ctx, db.read, recs)
	if err != nil {
		return t, err
	}
	now := db.Now().UTC()
	var (
		plans []contactPlan
		msgs  []*tandem.Message
		seen  = map[string]bool{}
	)
	for _, rec := range recs {
		c := rec.Contact
		acc, rowErr := refs.account(rec)
		if rowErr != nil {
			t.errs = append(t.errs, rowErr)
			continue
		}
		id := refs.byEmail[c.Email]
		if c.Email == "" {
			// Only an export's row of a contact known by a user id alone lacks one; it is
			// fine as long as it changes nothing.
			if id = refs.byTandemID[c.TandemID]; id != 0 && refs.same(id, c, acc) {
				t.unchanged++
			} else {
				t.errs = append(t.errs, rec.Fail("email", "is empty: a contact is known by its email address, so only a row that changes nothing may lack one"))
			}
			continue
		}
		if id != 0 && refs.same(id, c, acc) && !seen[c.Email] {
			t.unchanged++
			continue
		}
		if im.opt.DryRun {
			continue
		}
		plans = append(plans, contactPlan{rec: rec, msg: len(msgs), existed: id != 0 || seen[c.Email], account: acc})
		seen[c.Email] = true
		msgs = append(msgs, im.identify(c, now))
	}
	if len(msgs) == 0 {
		return t, nil
	}
	out, err := im.opt.Ingest(ctx, msgs)
	if err != nil {
		return t, fmt.Errorf("import contacts: %w", err)
	}
	changed, err := im.linkContacts(ctx, plans)
	if err != nil {
		return t, err
	}
	for i, p := range plans {
		switch {
		case out[p.msg] == tandem.Stored && !p.existed:
			t.created++
		case out[p.msg] == tandem.Stored || changed[i]:
			t.updated++
		default:
			t.unchanged++
		}
	}
	return t, nil
}

// identify makes the message a contact row becomes. Its id is a hash of what it says and
// its client timestamp fixed, so that the same row sent again is a duplicate, which
// ingest neither stores nor applies. It happens when the CRM says the person was
// created, else now.
func (im *importer) identify(c *csvio.Contact, now time.Time) *tandem.Message {
	traits := maps.Clone(c.Traits)
	traits["email"] = c.Email
	raw, _ := json.Marshal(traits) // sorted keys: the same row hashes the same
	h := sha256.New()
	h.Write([]byte("contact\x00" + c.Email + "\x00"))
	h.Write(raw)
	at := now
	if c.CreatedAt != nil && c.CreatedAt.Before(now) {
		at = *c.CreatedAt
	}
	return &tandem.Message{
		SourceID: im.src, Type: tandem.TypeIdentify, MessageID: "csv-" + hex.EncodeToString(h.Sum(nil)[:16]),
		Email: c.Email, Traits: traits, Properties: json.RawMessage("{}"), Context: json.RawMessage("{}"),
		Timestamp: at, ReceivedAt: now,
	}
}

// linkContacts records the CRM ids of the contacts the plans wrote and links them to the
// accounts their rows name, rescoring those whose account changed. It reports which
// plans changed something.
func (im *importer) linkContacts(ctx context.Context, plans []contactPlan) ([]bool, error) {
	db := im.db
	changed := make([]bool, len(plans))
	var emails []string
	for _, p := range plans {
		if p.rec.Contact.ExternalID != "" || p.account != 0 {
			emails = append(emails, p.rec.Contact.Email)
		}
	}
	if len(emails) == 0 {
		return changed, nil
	}
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		ids, err := idsOf(ctx, tx, db.dialect, contactsByEmail, "value", emails)
		if err != nil {
			return err
		}
		crm := &crmIDs{tx: tx}
		defer crm.close()
		link, err := tx.PrepareContext(ctx, `UPDATE contacts SET account_id = $1, updated_at = $2
			WHERE id = $3 AND (account_id IS NULL OR account_id <> $1)`)
		if err != nil {
			return err
		}
		defer link.Close()
		var moved []int64
		for i, p := range plans {
			c := p.rec.Contact
			if c.ExternalID == "" && p.account == 0 {
				continue
			}
			id := ids[c.Email]
			if id == 0 {
				return fmt.Errorf("contact %s not found after ingest", c.Email)
			}
			if c.ExternalID != "" {
				if changed[i], err = crm.set(ctx, "contact", c.ExternalID, id); err != nil {
					return err
				}
			}
			if p.account == 0 {
				continue
			}
			res, err := link.ExecContext(ctx, p.account, micros(now), id)
			if err != nil {
				return fmt.Errorf("link contact %d to account %d: %w", id, p.account, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				changed[i] = true
				moved = append(moved, id)
			}
		}
		return db.rescoreAccountMembers(ctx, tx, moved, nil, now)
	})
	if err != nil {
		return nil, fmt.Errorf("import contacts: %w", err)
	}
	return changed, nil
}
