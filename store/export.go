package store

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"tandem"
	"tandem/csvio"
)

// exportPage is how many rows an export reads at a time.
const exportPage = 1000

// Export writes every contact, account or opportunity to w as CSV under the columns of
// csvio.Header, in id order, reading a page at a time so that its memory stays flat
// however many there are. Importing what it writes changes nothing. It returns the
// number of rows written.
func (db *DB) Export(ctx context.Context, o csvio.Object, w io.Writer) (int64, error) {
	cw, err := csvio.NewWriter(w, o)
	if err != nil {
		return 0, err
	}
	var n int64
	switch o {
	case csvio.Contacts:
		n, err = db.exportContacts(ctx, cw)
	case csvio.Accounts:
		n, err = db.exportAccounts(ctx, cw)
	case csvio.Opportunities:
		n, err = db.exportOpportunities(ctx, cw)
	}
	if err != nil {
		return n, fmt.Errorf("export %s: %w", o, err)
	}
	return n, cw.Flush()
}

// crmIDsOf returns a CRM id of each of ids of object that has one (the least, when it
// has several); a contact has those of the contacts merged into it too.
func (db *DB) crmIDsOf(ctx context.Context, object string, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	lookups := []struct{ query, col string }{{`SELECT local_id, external_id FROM crm_ids WHERE object = $2 AND %s`, "local_id"}}
	if object == "contact" {
		lookups = append(lookups, struct{ query, col string }{`SELECT m.into_id, x.external_id FROM contact_merges m
			JOIN crm_ids x ON x.object = $2 AND x.local_id = m.from_id WHERE %s`, "m.into_id"})
	}
	for _, l := range lookups {
		cond, arg := db.dialect.inIDs(l.col, 1, ids)
		rows, err := db.read.QueryContext(ctx, fmt.Sprintf(l.query, cond), arg, object)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id  int64
				ext string
			)
			if err := rows.Scan(&id, &ext); err != nil {
				rows.Close()
				return nil, err
			}
			if cur, ok := out[id]; !ok || ext < cur {
				out[id] = ext
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func setTraits(cw *csvio.Writer, o csvio.Object, traits map[string]any, skip string) {
	for _, f := range csvio.Fields(o) {
		if f.Trait == "" || f.Name == skip {
			continue
		}
		if s, ok := csvio.TraitText(traits[f.Trait]); ok {
			cw.Set(f.Name, s)
		}
	}
}

func setID(cw *csvio.Writer, column string, id int64) { cw.Set(column, strconv.FormatInt(id, 10)) }

func (db *DB) exportContacts(ctx context.Context, cw *csvio.Writer) (int64, error) {
	var n int64
	p := tandem.Page{Limit: exportPage}
	for {
		list, next, err := db.ContactsPage(ctx, tandem.ContactFilter{}, p)
		if err != nil || len(list) == 0 {
			return n, err
		}
		ids, accIDs := make([]int64, len(list)), []int64{}
		for i, c := range list {
			ids[i] = c.ID
			if c.AccountID != nil {
				accIDs = append(accIDs, *c.AccountID)
			}
		}
		crm, err := db.crmIDsOf(ctx, "contact", ids)
		if err != nil {
			return n, err
		}
		accounts, err := db.exportedAccounts(ctx, accIDs)
		if err != nil {
			return n, err
		}
		for _, c := range list {
			setID(cw, "tandem_id", c.ID)
			cw.Set("external_id", crm[c.ID])
			cw.Set("email", c.Email)
			setTraits(cw, csvio.Contacts, c.Traits, "email")
			accounts.set(cw, c.AccountID)
			cw.Set("stage", c.Stage)
			if c.Score != nil {
				cw.Set("fit_score", csvio.FormatNumber(c.Score.Fit))
				cw.Set("engagement_score", csvio.FormatNumber(c.Score.Engagement))
				cw.Set("total_score", csvio.FormatNumber(c.Score.Total))
				cw.Set("grade", c.Grade)
			}
			cw.Set("tandem_created_at", csvio.FormatDate(c.CreatedAt))
			cw.Set("tandem_updated_at", csvio.FormatDate(c.UpdatedAt))
			if err := cw.WriteRow(); err != nil {
				return n, err
			}
			n++
		}
		if len(list) < p.Limit {
			return n, nil
		}
		p = next
	}
}

// exportedAccounts are the accounts an exported page of rows names, as the rows show
// them.
type exportedAccounts struct {
	facts map[int64]*accountFacts
	crm   map[int64]string
}

func (db *DB) exportedAccounts(ctx context.Context, ids []int64) (*exportedAccounts, error) {
	facts, err := loadAccounts(ctx, db.read, db.dialect, ids)
	if err != nil {
		return nil, err
	}
	crm, err := db.crmIDsOf(ctx, "account", ids)
	if err != nil {
		return nil, err
	}
	return &exportedAccounts{facts, crm}, nil
}

// set writes the columns of account id, if there is one, to cw.
func (e *exportedAccounts) set(cw *csvio.Writer, id *int64) {
	if id == nil {
		return
	}
	cw.Set("account_external_id", e.crm[*id])
	if a := e.facts[*id]; a != nil {
		cw.Set("account_domain", a.domain)
		cw.Set("account_name", a.name)
	}
}

func (db *DB) exportAccounts(ctx context.Context, cw *csvio.Writer) (int64, error) {
	var n, after int64
	for {
		list, err := rowsOf(ctx, db.read, "accounts", `SELECT `+accountColumns+` FROM accounts WHERE id > $1 ORDER BY id LIMIT $2`,
			[]any{after, exportPage}, scanAccount)
		if err != nil || len(list) == 0 {
			return n, err
		}
		ids := make([]int64, len(list))
		for i, a := range list {
			ids[i] = a.ID
		}
		crm, err := db.crmIDsOf(ctx, "account", ids)
		if err != nil {
			return n, err
		}
		members := map[int64]int64{}
		cond, arg := db.dialect.inIDs("account_id", 1, ids)
		counts, err := db.read.QueryContext(ctx, `SELECT account_id, COUNT(*) FROM contacts WHERE `+cond+` GROUP BY account_id`, arg)
		if err != nil {
			return n, err
		}
		for counts.Next() {
			var id, k int64
			if err := counts.Scan(&id, &k); err != nil {
				counts.Close()
				return n, err
			}
			members[id] = k
		}
		counts.Close()
		if err := counts.Err(); err != nil {
			return n, err
		}
		for _, a := range list {
			setID(cw, "tandem_id", a.ID)
			cw.Set("external_id", crm[a.ID])
			cw.Set("name", a.Name)
			cw.Set("domain", a.Domain)
			setTraits(cw, csvio.Accounts, a.Traits, "")
			setID(cw, "contacts", members[a.ID])
			cw.Set("tandem_created_at", csvio.FormatDate(a.CreatedAt))
			cw.Set("tandem_updated_at", csvio.FormatDate(a.UpdatedAt))
			if err := cw.WriteRow(); err != nil {
				return n, err
			}
			n++
		}
		if len(list) < exportPage {
			return n, nil
		}
		after = list[len(list)-1].ID
	}
}

func (db *DB) exportOpportunities(ctx context.Context, cw *csvio.Writer) (int64, error) {
	var n int64
	p := tandem.Page{Limit: exportPage}
	for {
		list, err := db.Opportunities(ctx, "", 0, p)
		if err != nil || len(list) == 0 {
			return n, err
		}
		ids, accIDs := make([]int64, len(list)), []int64{}
		for i, o := range list {
			ids[i] = o.ID
			if o.AccountID != nil {
				accIDs = append(accIDs, *o.AccountID)
			}
		}
		people, contactIDs, err := db.dealPeople(ctx, ids)
		if err != nil {
			return n, err
		}
		emails, err := db.contactEmails(ctx, contactIDs)
		if err != nil {
			return n, err
		}
		contactCRM, err := db.crmIDsOf(ctx, "contact", contactIDs)
		if err != nil {
			return n, err
		}
		accounts, err := db.exportedAccounts(ctx, accIDs)
		if err != nil {
			return n, err
		}
		for _, o := range list {
			setID(cw, "tandem_id", o.ID)
			cw.Set("external_id", o.ExternalID)
			cw.Set("name", o.Name)
			accounts.set(cw, o.AccountID)
			cw.Set("amount", csvio.FormatNumber(o.Amount))
			cw.Set("currency", o.Currency)
			cw.Set("stage", o.Stage)
			cw.Set("status", string(o.Status))
			cw.Set("won", strconv.FormatBool(o.Status == tandem.OpportunityWon))
			cw.Set("closed", strconv.FormatBool(o.Status != tandem.OpportunityOpen))
			closeDate := o.ExpectedClose
			if o.Status != tandem.OpportunityOpen {
				closeDate = o.ClosedAt
			}
			if closeDate != nil {
				cw.Set("close_date", csvio.FormatDate(*closeDate))
			}
			cw.Set("created_at", csvio.FormatDate(o.CreatedAt))
			cw.Set("owner", o.Owner)
			cw.Set("lost_reason", o.LostReason)
			var es, xs []string
			for _, c := range people[o.ID] {
				es, xs = appendSome(es, emails[c]), appendSome(xs, contactCRM[c])
			}
			slices.Sort(es)
			slices.Sort(xs)
			cw.Set("contact_emails", csvio.FormatList(es))
			cw.Set("contact_external_ids", csvio.FormatList(xs))
			cw.Set("tandem_updated_at", csvio.FormatDate(o.UpdatedAt))
			if err := cw.WriteRow(); err != nil {
				return n, err
			}
			n++
		}
		if len(list) < p.Limit {
			return n, nil
		}
		p.After = list[len(list)-1].ID
	}
}

// dealPeople returns the contacts of each of the deals ids, and all of them once.
func (db *DB) dealPeople(ctx context.Context, ids []int64) (map[int64][]int64, []int64, error) {
	cond, arg := db.dialect.inIDs("opportunity_id", 1, ids)
	rows, err := db.read.QueryContext(ctx, `SELECT opportunity_id, contact_id FROM opportunity_contacts WHERE `+cond, arg)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	people, all := map[int64][]int64{}, []int64{}
	for rows.Next() {
		var deal, contact int64
		if err := rows.Scan(&deal, &contact); err != nil {
			return nil, nil, err
		}
		people[deal] = append(people[deal], contact)
		all = append(all, contact)
	}
	slices.Sort(all)
	return people, slices.Compact(all), rows.Err()
}

// contactEmails returns the email address of each of ids that has one.
func (db *DB) contactEmails(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	for chunk := range slices.Chunk(ids, 5000) {
		cond, arg := db.dialect.inIDs("id", 1, chunk)
		rows, err := db.read.QueryContext(ctx, `SELECT id, COALESCE(email, '') FROM contacts WHERE `+cond, arg)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				id    int64
				email string
			)
			if err := rows.Scan(&id, &email); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = strings.TrimSpace(email)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
