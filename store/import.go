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
	"sync"
	"time"

	"tandem"
	"tandem/csvio"
	"tandem/identity"

	segjson "github.com/segmentio/encoding/json"
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
//   - contacts are found by email (else by CRM id) and become identify messages, each
//     message's id a hash of what the row says, under one source: a row whose message
//     its contact has among its events already, or whose traits the contact has, sends
//     nothing (importedBefore); people new to the store are created a batch at a time
//     (create), the others' messages go through the ingest path, so identity
//     resolution, accounts by domain and scoring apply to both;
//   - accounts are found by their CRM id, else their domain, and updated in place;
//   - opportunities are found by their CRM id; creating, winning and adding people to
//     one moves its people's stages, and the file's created and close dates are kept.
//
// The CRM ids of contacts and accounts are kept so that deals can name them. The error
// returned, if any, is not a row's: the store failed, and what the batch being written
// had not stored yet was not stored (the new people of a batch of contacts are stored
// before its other rows). A file that cannot be read further ends the import after the
// rows read before.
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
	// The file is read a batch ahead, on another goroutine: parsing a row costs about
	// as much as storing it, and the two then share the machine's cores. The next batch
	// waits in the reader, so two are in memory at once.
	batches := make(chan readBatch)
	done := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() { readBatches(r, opt.Batch, !opt.DryRun && im.m.Object == csvio.Contacts, batches, done) })
	// The file is the caller's again when Import returns: the reader stops first.
	defer reader.Wait()
	defer close(done)
	for b := range batches {
		for _, rowErr := range b.errs {
			im.sum.Rows++
			if err := im.fail(rowErr); err != nil {
				return &im.sum, err
			}
		}
		im.sum.Rows += int64(len(b.recs))
		if err := im.flush(ctx, b); err != nil {
			return &im.sum, err
		}
		if b.err != nil {
			return &im.sum, fmt.Errorf("read row %d: %w", im.sum.Rows+2, b.err)
		}
	}
	return &im.sum, nil
}

// readBatch is a batch of rows read from a file: the records, for contacts what each
// would send (see prepare), the rows that are not valid among them, and the error that
// ended the reading, if any but the file's end.
type readBatch struct {
	recs  []*csvio.Record
	sends []*contactSend
	errs  []*csvio.RowError
	err   error
}

// readBatches sends r's rows to out in batches of size rows, with what each contact
// row sends if send is set, and closes out at the end of the file, after an error, or
// when done is closed; it reads no further row once done is.
func readBatches(r *csvio.Reader, size int, sends bool, out chan<- readBatch, done <-chan struct{}) {
	defer close(out)
	b := readBatch{recs: make([]*csvio.Record, 0, size)}
	stopped := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	send := func() bool {
		if stopped() {
			return false
		}
		select {
		case out <- b:
			b = readBatch{recs: make([]*csvio.Record, 0, size)}
			return true
		case <-done:
			return false
		}
	}
	for !stopped() {
		rec, err := r.Read()
		var rowErr *csvio.RowError
		switch {
		case errors.Is(err, io.EOF):
			send()
			return
		case errors.As(err, &rowErr):
			b.errs = append(b.errs, rowErr)
		case err != nil:
			b.err = err
			send()
			return
		default:
			b.recs = append(b.recs, rec)
			if sends {
				b.sends = append(b.sends, prepare(rec.Contact))
			}
		}
		if len(b.recs)+len(b.errs) == size && !send() {
			return
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

func (im *importer) flush(ctx context.Context, b readBatch) error {
	recs := b.recs
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
		t, err = im.contacts(ctx, recs, b.sends)
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
// need be. Every import uses the same one, so that a row's message is known the second
// time.
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
		scores, err := act.scoreContacts(ctx, tx, db.dialect, chunk, now, "", nil)
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

// testHookBeforeCreate, when a test sets it, runs between the reading of a batch's
// references and the creating of its new people: where a Segment call for one of them
// may fall.
var testHookBeforeCreate func()

// contactPlan is what is to become of one contact row.
type contactPlan struct {
	rec     *csvio.Record
	send    *contactSend
	msg     int   // index of its message
	existed bool  // the address named a contact before
	account int64 // the account the row links the contact to, zero for none
	// created says the row was a new person's and is stored: see create.
	created bool
	// before says the row's message is stored already, imported before or earlier in
	// the batch (see importedBefore): it is not sent again, and its outcome is a
	// duplicate's.
	before bool
	// outcome is what became of the row's message.
	outcome tandem.Outcome
	// namesCRMID says the row is the batch's last to name its CRM id, which ends naming
	// the row's contact, as if the rows were written one after another.
	namesCRMID bool
}

// contacts imports a batch of contact rows. The rows of people the store does not know
// are created together (create); the changed others become identify messages through
// ingest, then their CRM ids and account links are written in one transaction.
func (im *importer) contacts(ctx context.Context, recs []*csvio.Record, sends []*contactSend) (tally, error) {
	var t tally
	db := im.db
	refs, err := db.contactRefs(ctx, db.read, recs)
	if err != nil {
		return t, err
	}
	var (
		plans []*contactPlan
		seen  = map[string]bool{}
	)
	for i, rec := range recs {
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
		plans = append(plans, &contactPlan{rec: rec, send: sends[i], existed: id != 0 || seen[c.Email], account: acc})
		seen[c.Email] = true
	}
	if len(plans) == 0 {
		return t, nil
	}
	if err := im.importedBefore(ctx, refs, plans); err != nil {
		return t, err
	}
	last := map[string]*contactPlan{}
	for _, p := range plans {
		if ext := p.rec.Contact.ExternalID; ext != "" {
			last[ext] = p
		}
	}
	for _, p := range plans {
		p.namesCRMID = p.rec.Contact.ExternalID != "" && last[p.rec.Contact.ExternalID] == p
	}
	if testHookBeforeCreate != nil {
		testHookBeforeCreate()
	}
	if t.created, err = im.create(ctx, plans); err != nil {
		return t, err
	}
	var (
		rest []*contactPlan
		msgs []*tandem.Message
	)
	now := db.Now().UTC()
	for _, p := range plans {
		switch {
		case p.created:
			continue
		case p.before:
			p.outcome = tandem.Duplicate
		default:
			p.msg = len(msgs)
			msgs = append(msgs, im.identify(p, now))
		}
		rest = append(rest, p)
	}
	if len(msgs) > 0 {
		out, err := im.opt.Ingest(ctx, msgs)
		if err != nil {
			return t, fmt.Errorf("import contacts: %w", err)
		}
		for _, p := range rest {
			if !p.before {
				p.outcome = out[p.msg]
			}
		}
	}
	// A row stored before still links its contact to the account and CRM id it names,
	// which may be new.
	changed, err := im.linkContacts(ctx, rest)
	if err != nil {
		return t, err
	}
	for i, p := range rest {
		switch {
		case p.outcome == tandem.Stored && !p.existed:
			t.created++
		case p.outcome == tandem.Stored || changed[i]:
			t.updated++
		default:
			t.unchanged++
		}
	}
	return t, nil
}

// importedBefore marks the plans whose row was imported before into the contact it names
// now, by its address or else by its CRM id: their identify message is among the
// contact's events. Such a row's traits change nothing even when the contact has changed
// since (a Segment identify, a merge, another address), so that importing a file again
// leaves the store as it is. A row is looked for among its own contact's events only,
// through their index by contact, so the messages' dedupe index needs no entry by the
// hash alone. A row repeated in the batch is marked too: its message was sent by the
// row before.
func (im *importer) importedBefore(ctx context.Context, refs *contactRefs, plans []*contactPlan) error {
	type key struct {
		contact int64
		msg     string
	}
	// Besides the contact the row names, the people who gave its address up for another
	// are looked in: the row may have been imported into one of them.
	emails := make([]string, len(plans))
	for i, p := range plans {
		emails[i] = p.rec.Contact.Email
	}
	former := map[string][]int64{}
	err := keyed(ctx, im.db.read, im.db.dialect, formerOwners, "f.value", emails, func(email string, id int64) {
		former[email] = append(former[email], id)
	})
	if err != nil {
		return fmt.Errorf("import contacts: rows imported before: %w", err)
	}
	of := make(map[*contactPlan][]key, len(plans))
	var keys []key
	sent := make(map[string]bool, len(plans))
	for _, p := range plans {
		p.before = sent[p.send.id]
		sent[p.send.id] = true
		c := p.rec.Contact
		id := refs.byEmail[c.Email]
		if id == 0 && c.ExternalID != "" {
			id = refs.byCRMID[c.ExternalID]
		}
		for _, id := range append(former[c.Email], id) {
			if id != 0 {
				of[p] = append(of[p], key{id, p.send.id})
			}
		}
		keys = append(keys, of[p]...)
	}
	if len(keys) == 0 {
		return nil
	}
	found := map[key]bool{}
	for chunk := range slices.Chunk(keys, 5000) {
		ids, msgs := make([]int64, len(chunk)), make([]string, len(chunk))
		for i, k := range chunk {
			ids[i], msgs[i] = k.contact, k.msg
		}
		byContact, contacts := im.db.dialect.inIDs("contact_id", 1, ids)
		byMessage, messages := im.db.dialect.in("message_id", 2, msgs)
		// The source is checked here rather than in SQL, where SQLite would take the
		// dedupe index's leading column for it and read every imported event.
		rows, err := im.db.read.QueryContext(ctx, `SELECT contact_id, message_id, source_id FROM events
			WHERE id IN (`+im.db.dialect.contactEvents("id", byContact, "")+`) AND `+byMessage,
			contacts, messages)
		if err == nil {
			err = scanAll(rows, func(rows *sql.Rows) error {
				var (
					k   key
					src int64
				)
				if err := rows.Scan(&k.contact, &k.msg, &src); err != nil {
					return err
				}
				found[k] = found[k] || src == im.src
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("import contacts: rows imported before: %w", err)
		}
	}
	for p, ks := range of {
		p.before = p.before || slices.ContainsFunc(ks, func(k key) bool { return found[k] })
	}
	return nil
}

// formerOwners finds the contacts that gave an address up (see former_emails).
const formerOwners = `SELECT f.value, COALESCE(m.into_id, f.contact_id) FROM former_emails f
	LEFT JOIN contact_merges m ON m.from_id = f.contact_id WHERE %s`

// create stores, in one transaction, the people among plans the store has no contact
// for, and marks their plans created. A first import of a CRM's contacts is mostly such
// rows, and making each an identify message cost a dozen statements a person; here a
// hundred people share each statement. They end as ingest would leave them: the contact
// with its traits, its address as its identity, its CRM id, the account its row names or
// else its company domain's (created if new), the row's identify message as an event,
// and, under an agreement, its scores, stage and handoff. A person that ingest gave a
// contact since the batch was read is left to ingest, as is a row whose identify message
// is stored already.
func (im *importer) create(ctx context.Context, plans []*contactPlan) (int64, error) {
	db := im.db
	var fresh []*contactPlan
	for _, p := range plans {
		if !p.existed && !p.before {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	var made []*contactPlan
	write := func(tx *sql.Tx, now time.Time, check bool) error {
		made = made[:0]
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		var known map[string]int64
		if check {
			emails := make([]string, len(fresh))
			for i, p := range fresh {
				emails[i] = p.rec.Contact.Email
			}
			var err error
			if known, err = idsOf(ctx, tx, db.dialect, contactsByEmail, "value", emails); err != nil {
				return err
			}
		}
		people := make([]*newPerson, 0, len(fresh))
		for _, p := range fresh {
			c := p.rec.Contact
			if known[c.Email] != 0 {
				p.existed = true
				continue
			}
			pp := &newPerson{plan: p, account: p.account}
			if pp.account == 0 {
				pp.domain = identity.CompanyDomain(c.Email)
			}
			people = append(people, pp)
		}
		if len(people) == 0 {
			return nil
		}
		ids, err := db.dialect.newIDs(ctx, tx, "contacts", len(people))
		if err != nil {
			return err
		}
		for i, pp := range people {
			pp.id = ids[i]
		}
		names := map[string]string{} // company domain → the name the first of its people gives
		for _, pp := range people {
			if pp.domain != "" {
				if _, ok := names[pp.domain]; !ok {
					names[pp.domain] = companyName(pp.plan.rec.Contact.Traits)
				}
			}
		}
		accounts, err := db.domainAccounts(ctx, tx, names, now)
		if err != nil {
			return err
		}
		for _, pp := range people {
			if pp.domain != "" {
				pp.account = accounts[pp.domain]
			}
		}
		// Under an agreement each person is scored before being stored, from their
		// profile and the identify message, as ingest scores someone new. Scoring is
		// CPU alone once their accounts are read, so it runs beside the inserts that do
		// not need it, on a core the writer leaves idle.
		act, err := db.activeIn(ctx, tx)
		if err != nil {
			return err
		}
		scored := act != nil
		var (
			scoring  sync.WaitGroup
			scoreErr error
		)
		defer scoring.Wait() // on every return: the scoring never outlives the attempt
		if scored {
			facts, err := peopleAccounts(ctx, tx, db.dialect, people)
			if err != nil {
				return err
			}
			// The scoring gets its own list: withEvent below rewrites people's array.
			all := slices.Clone(people)
			scoring.Go(func() {
				// A panic in a rule stays an error of this import, as it would be on the
				// request's own goroutine, rather than ending the server.
				defer func() {
					if r := recover(); r != nil {
						scoreErr = fmt.Errorf("score new contacts: %v", r)
					}
				}()
				scoreErr = scoreNew(act, all, facts, now)
			})
		}
		// Each row's identify message is kept as ingest keeps it, among the person's
		// events, where the same row imported again is found (importedBefore). Its key in
		// the dedupe index leads with the time it is stored, like a Segment message's, so
		// a batch's entries land together at the index's end: keyed by the hash alone
		// they fell all over it, and each commit rewrote most of its pages (two thirds of
		// an import's writes to disk at a million rows). Should the key be stored already (a
		// clock that stood still), the row is left to ingest rather than failing the batch.
		t := micros(now)
		wrote, err := insertValues(ctx, tx, db.dialect, `INSERT INTO events (source_id, message_id, type, contact_id, timestamp, client_ts, received_at)`,
			`ON CONFLICT DO NOTHING`, 7, len(people), func(i int, args []any) []any {
				pp := people[i]
				return append(args, im.src, pp.plan.send.id, tandem.TypeIdentify, pp.id, micros(pp.plan.send.at(now)), t, t)
			}, nil)
		if err != nil {
			return fmt.Errorf("create contacts: events: %w", err)
		}
		// A person whose message was stored already (a clock that stood still) is left to
		// ingest; their company's account, if made above, stays, and may bear the name
		// their row gave.
		if wrote < int64(len(people)) {
			if people, err = withEvent(ctx, tx, db.dialect, people); err != nil {
				return fmt.Errorf("create contacts: events: %w", err)
			}
		}
		crm := map[string]int64{}
		for _, pp := range people {
			if pp.plan.namesCRMID {
				crm[pp.plan.rec.Contact.ExternalID] = pp.id
			}
		}
		exts := slices.Sorted(maps.Keys(crm))
		_, err = insertValues(ctx, tx, db.dialect, `INSERT INTO crm_ids (object, external_id, local_id)`,
			`ON CONFLICT (object, external_id) DO UPDATE SET local_id = excluded.local_id`, 3, len(exts),
			func(i int, args []any) []any { return append(args, "contact", exts[i], crm[exts[i]]) }, nil)
		if err != nil {
			return fmt.Errorf("create contacts: CRM ids: %w", err)
		}
		if scoring.Wait(); scoreErr != nil {
			return scoreErr
		}
		// Without an agreement the score columns keep their defaults, and are not sent:
		// binding a value costs about as much as SQLite's storing it.
		head, width := `INSERT INTO contacts (id, email, traits, account_id, created_at, updated_at, lead_at`, 7
		if scored {
			head, width = head+`, score_fit, score_eng, grade, stage, funnel_stage, stage_at, scored_version, score_caps`, 15
		}
		_, err = insertValues(ctx, tx, db.dialect, head+`)`, "", width, len(people), func(i int, args []any) []any {
			pp := people[i]
			args = append(args, pp.id, pp.plan.rec.Contact.Email, pp.plan.send.raw, nullID(pp.account), t, t, micros(pp.plan.send.at(now)))
			if !scored {
				return args
			}
			cs := pp.score
			var stageAt any
			if len(cs.changes) > 0 {
				stageAt = t
			}
			return append(args, finite(cs.fit), finite(cs.eng), cs.grade, cs.state.Stage, cs.state.Funnel, stageAt, cs.version, pp.caps)
		}, nil)
		if err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		_, err = insertValues(ctx, tx, db.dialect, `INSERT INTO identities (kind, value, contact_id)`, "", 3, len(people),
			func(i int, args []any) []any {
				return append(args, "email", people[i].plan.rec.Contact.Email, people[i].id)
			}, nil)
		if err != nil {
			return fmt.Errorf("create contacts: %w", err)
		}
		for _, pp := range people {
			made = append(made, pp.plan)
		}
		if !scored {
			return nil
		}
		scores := make([]*contactScore, len(people))
		for i, pp := range people {
			scores[i] = pp.score
		}
		if err := saveStageChanges(ctx, tx, db.dialect, scores, t); err != nil {
			return err
		}
		return db.handOff(ctx, tx, act, scores, now)
	}
	// The batch's people were unknown when it was read, and almost always still are:
	// the insert of their addresses is what checks. Should ingest have given one of them
	// a contact since, that insert fails, and the batch is written again, looking first.
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error { return write(tx, now, false) })
	if uniqueViolation(err) {
		err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error { return write(tx, now, true) })
	}
	if err != nil {
		return 0, fmt.Errorf("import contacts: %w", err)
	}
	for _, p := range made {
		p.created = true
	}
	return int64(len(made)), nil
}

// withEvent returns those of people whose identify message create stored: the events of
// a new contact id can only be its own.
func withEvent(ctx context.Context, tx *sql.Tx, d dialect, people []*newPerson) ([]*newPerson, error) {
	ids := make([]int64, len(people))
	for i, pp := range people {
		ids[i] = pp.id
	}
	cond, arg := d.inIDs("contact_id", 1, ids)
	rows, err := tx.QueryContext(ctx, d.contactEvents("contact_id", cond, ""), arg)
	if err != nil {
		return nil, err
	}
	stored := map[int64]bool{}
	err = scanAll(rows, func(rows *sql.Rows) error {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		stored[id] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(people, func(pp *newPerson) bool { return !stored[pp.id] }), nil
}

// newPerson is a person an import creates.
type newPerson struct {
	plan    *contactPlan
	domain  string // the company domain of its address, when it needs an account
	account int64
	id      int64
	// score is what the active agreement makes of them, if one is, and caps its
	// capped rules' state as the contacts row keeps it.
	score *contactScore
	caps  string
}

// peopleAccounts reads what scoring needs of the accounts of people.
func peopleAccounts(ctx context.Context, q querier, d dialect, people []*newPerson) (map[int64]*accountFacts, error) {
	var ids []int64
	for _, pp := range people {
		if pp.account != 0 {
			ids = append(ids, pp.account)
		}
	}
	return loadAccounts(ctx, q, d, slices.Compact(slices.Sorted(slices.Values(ids))))
}

// scoreNew scores people under agreement a as ingest scores someone it has not met:
// their profile, and their identify message if a rule counts it. It reads nothing from
// the store, and writes nothing but each person's score and caps and the traits their
// row sends (traitsOf).
func scoreNew(a *active, people []*newPerson, accounts map[int64]*accountFacts, now time.Time) error {
	for _, pp := range people {
		c, send := pp.plan.rec.Contact, pp.plan.send
		cs := &contactScore{id: pp.id}
		e := &scoredEvent{contactID: pp.id, typ: tandem.TypeIdentify, ts: scoringTime(micros(send.at(now)), micros(now))}
		if len(a.model.Candidates(e.typ, e.ruleName())) > 0 {
			a.addEvents(cs, []*scoredEvent{e})
		}
		a.settle(cs, profile(c.Email, send.traitsOf(), accounts[pp.account]), now, "")
		caps, err := encodeCaps(cs.lines, cs.anchor)
		if err != nil {
			return fmt.Errorf("score of contact %s: %w", c.Email, err)
		}
		pp.caps, pp.score = caps, cs
	}
	return nil
}

// domainAccounts returns the accounts of the company domains that names holds, creating
// those the store does not have, named by names[domain] or else by the domain.
func (db *DB) domainAccounts(ctx context.Context, tx *sql.Tx, names map[string]string, now time.Time) (map[string]int64, error) {
	domains := slices.Sorted(maps.Keys(names))
	accounts, err := idsOf(ctx, tx, db.dialect, accountsByDomain, "domain", domains)
	if err != nil {
		return nil, fmt.Errorf("accounts by domain: %w", err)
	}
	var missing []string
	for _, d := range domains {
		if accounts[d] == 0 {
			missing = append(missing, d)
		}
	}
	t := micros(now)
	_, err = insertValues(ctx, tx, db.dialect, `INSERT INTO accounts (domain, name, created_at, updated_at)`, `RETURNING id, domain`, 4, len(missing),
		func(i int, args []any) []any {
			d := missing[i]
			n := names[d]
			if n == "" {
				n = d
			}
			return append(args, d, n, t, t)
		}, func(rows *sql.Rows) error {
			var (
				id int64
				d  string
			)
			if err := rows.Scan(&id, &d); err != nil {
				return err
			}
			accounts[d] = id
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("accounts by domain: %w", err)
	}
	return accounts, nil
}

// contactSend is what a contact row sends: its traits with the email address among them,
// as a JSON object, and the id of its identify message, a hash of what it says, by which
// the same row imported again is known (importedBefore).
type contactSend struct {
	c      *csvio.Contact
	raw    string // traits as JSON
	id     string
	traits map[string]any // see traitsOf
}

// prepare makes what contact row c sends. It is done as the file is read, beside the
// writing of the batch before, while the row is the reader's alone: the address joins
// the row's own traits while they are encoded, and leaves them as they were.
func prepare(c *csvio.Contact) *contactSend {
	// Not a copy of the traits with the address added: a new person with no agreement
	// to score them needs no map of their traits but the row's, and the copy was a tenth
	// of an import's allocations.
	traits := c.Traits
	if traits == nil {
		traits = map[string]any{}
	}
	old, had := traits["email"]
	traits["email"] = c.Email
	// Keys sorted, so that the same row hashes the same. The encoding must stay the
	// standard library's byte for byte, or rows imported by an earlier version would no
	// longer be known by their id; this one writes it in half the time, with one
	// allocation (TestPrepareEncodesAsEncodingJSON).
	raw, _ := segjson.Marshal(traits)
	if had {
		traits["email"] = old
	} else {
		delete(traits, "email")
	}
	h := sha256.New()
	h.Write([]byte("contact\x00" + c.Email + "\x00"))
	h.Write(raw)
	return &contactSend{c: c, raw: string(raw), id: "csv-" + hex.EncodeToString(h.Sum(nil)[:16])}
}

// traitsOf returns the traits the row sends, its address among them, made on first use.
func (s *contactSend) traitsOf() map[string]any {
	if s.traits == nil {
		s.traits = maps.Clone(s.c.Traits)
		if s.traits == nil {
			s.traits = map[string]any{}
		}
		s.traits["email"] = s.c.Email
	}
	return s.traits
}

// at is when the row's message happens: when the CRM says the person was created, else
// now.
func (s *contactSend) at(now time.Time) time.Time {
	if at := s.c.CreatedAt; at != nil && at.Before(now) {
		return *at
	}
	return now
}

// identify makes the message a contact row becomes, sent now: its client timestamp is
// the time it is stored, which keeps its dedupe index entry with the others of its
// batch (see create).
func (im *importer) identify(p *contactPlan, now time.Time) *tandem.Message {
	c := p.rec.Contact
	return &tandem.Message{
		SourceID: im.src, Type: tandem.TypeIdentify, MessageID: p.send.id,
		Email: c.Email, Traits: p.send.traitsOf(), Properties: json.RawMessage("{}"), Context: json.RawMessage("{}"),
		Timestamp: p.send.at(now), ClientTimestamp: now, ReceivedAt: now,
	}
}

// linkContacts records the CRM ids of the contacts the plans wrote and links them to the
// accounts their rows name, rescoring those whose account changed. It reports which
// plans changed something.
func (im *importer) linkContacts(ctx context.Context, plans []*contactPlan) ([]bool, error) {
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
			switch {
			case id == 0 && p.outcome == tandem.Stored:
				return fmt.Errorf("contact %s not found after ingest", c.Email)
			case id == 0:
				// A row imported before, whose person has another address now: it
				// changes nothing.
				continue
			}
			if p.namesCRMID {
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
