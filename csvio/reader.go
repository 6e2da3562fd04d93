package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"tandem"
	"tandem/identity"
)

// MaxRowBytes caps the text of one row: a contact becomes one message, which the
// tracking API caps at 32 KB.
const MaxRowBytes = 30 << 10

// RowError says why one row was not imported and where.
type RowError struct {
	// Row is the row as a spreadsheet numbers it: the header is row 1.
	Row int `json:"row"`
	// Line is the line of the file the row starts on; it differs from Row when a cell
	// holds line breaks.
	Line int `json:"line"`
	// Column is the header of the column at fault, if one is.
	Column  string `json:"column,omitempty"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

func (e *RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	}
	return fmt.Sprintf("row %d, column %q: %s", e.Row, e.Column, e.Message)
}

// FileError is a fault of a file as a whole, such as a header that lacks a column the
// object cannot do without: nothing of the file can be imported until it is fixed.
type FileError struct {
	Err error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Record is one row of a file, read into the object it describes: exactly one of
// Contact, Account and Opportunity is set.
type Record struct {
	Row, Line   int
	Contact     *Contact
	Account     *Account
	Opportunity *Opportunity

	m     *Mapping
	cells []string
}

// Fail returns an error of r at the column of field, for faults found after reading,
// such as a reference to an account that does not exist.
func (r *Record) Fail(field, format string, args ...any) *RowError {
	e := &RowError{Row: r.Row, Line: r.Line, Message: fmt.Sprintf(format, args...)}
	if i, ok := r.m.byField[field]; ok {
		e.Column = r.m.Columns[i].Header
		if i < len(r.cells) {
			e.Value = r.cells[i]
		}
	} else if field != "" {
		e.Column = field
	}
	return e
}

// Contact is a person as a row describes them. Empty cells are left out: an import
// never blanks what the store knows.
type Contact struct {
	TandemID   int64
	ExternalID string
	Email      string
	// CreatedAt is when the CRM says the person became known, if it says.
	CreatedAt *time.Time
	// Traits are the person's traits the row gives: the canonical fields' and the columns
	// kept as traits.
	Traits            map[string]any
	AccountExternalID string
	AccountDomain     string
}

// Account is a company as a row describes it.
type Account struct {
	TandemID   int64
	ExternalID string
	Name       string
	Domain     string
	Traits     map[string]any
}

// Opportunity is a deal as a row describes it. Zero values are what the row leaves
// blank.
type Opportunity struct {
	TandemID          int64
	ExternalID        string
	Name              string
	AccountExternalID string
	AccountDomain     string
	AccountName       string
	Amount            *float64
	Currency          string
	Stage             string
	// Status is what the status column, the Won and Closed columns or else the stage
	// ("Closed Won", "closedlost") say; empty when the row says nothing of it.
	Status             tandem.OpportunityStatus
	CloseDate          *time.Time
	CreatedAt          *time.Time
	Owner              string
	LostReason         string
	ContactEmails      []string
	ContactExternalIDs []string
}

// Reader reads the records of a CSV file one at a time.
type Reader struct {
	csv  *csv.Reader
	m    *Mapping
	rows int
	cols []int // the column of each field of the object, -1 where none
	vals map[string]value
}

// NewReader reads the header of a file of o and maps its columns (see Map). The
// delimiter is found from the header: a comma, a semicolon or a tab. A header that cannot
// be used is a *FileError; other errors are r's.
func NewReader(r io.Reader, o Object, overrides []Override) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	comma := sniff(br)
	c := csv.NewReader(br)
	c.Comma = comma
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	header, err := c.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return nil, &FileError{errors.New("the file is empty: want a header row naming the columns")}
	case errors.As(err, &pe):
		return nil, &FileError{fmt.Errorf("the header row is not valid CSV: %w", err)}
	case err != nil:
		return nil, err
	}
	header = append([]string(nil), header...)
	m, err := Map(o, header, overrides)
	if err != nil {
		return nil, &FileError{err}
	}
	rd := &Reader{csv: c, m: m, rows: 1}
	fs := fields[o]
	rd.cols = make([]int, len(fs))
	for i, f := range fs {
		rd.cols[i] = -1
		if j, ok := m.byField[f.Name]; ok {
			rd.cols[i] = j
		}
	}
	return rd, nil
}

// sniff guesses the delimiter from the first line: the most frequent of comma,
// semicolon and tab outside quotes.
func sniff(br *bufio.Reader) rune {
	b, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	counts := map[rune]int{}
	quoted := false
	for _, c := range b {
		switch c {
		case '"':
			quoted = !quoted
		case ',', ';', '\t':
			if !quoted {
				counts[rune(c)]++
			}
		}
	}
	best := ','
	for _, c := range []rune{';', '\t'} {
		if counts[c] > counts[best] {
			best = c
		}
	}
	return best
}

// Mapping returns what each column is used for.
func (r *Reader) Mapping() *Mapping { return r.m }

// Read returns the next record. A row that cannot be imported is returned as a
// *RowError, after which Read goes on with the next row; at the end it returns io.EOF.
// Any other error is the file's reader's.
func (r *Reader) Read() (*Record, error) {
	cells, err := r.csv.Read()
	if errors.Is(err, io.EOF) {
		return nil, io.EOF
	}
	r.rows++
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &RowError{Row: r.rows, Line: pe.StartLine, Message: "not valid CSV: " + pe.Err.Error() +
				fmt.Sprintf(" (line %d, column %d)", pe.Line, pe.Column)}
		}
		return nil, err
	}
	line, _ := r.csv.FieldPos(0)
	rec := &Record{Row: r.rows, Line: line, m: r.m}
	if len(cells) != len(r.m.Columns) {
		return nil, &RowError{Row: r.rows, Line: line, Message: fmt.Sprintf("has %d cells; the header has %d", len(cells), len(r.m.Columns))}
	}
	size, empty := 0, true
	for _, c := range cells {
		size += len(c)
		empty = empty && strings.TrimSpace(c) == ""
	}
	if empty {
		return nil, &RowError{Row: r.rows, Line: line, Message: "the row is empty"}
	}
	if size > MaxRowBytes {
		return nil, &RowError{Row: r.rows, Line: line, Message: fmt.Sprintf("holds %d bytes of text; at most %d are imported", size, MaxRowBytes)}
	}
	rec.cells = make([]string, len(cells))
	for i, c := range cells {
		if r.m.Columns[i].Use == UseIgnored {
			continue
		}
		v, err := cleanCell(c)
		if err != nil {
			return nil, &RowError{Row: r.rows, Line: line, Column: r.m.Columns[i].Header, Message: err.Error()}
		}
		rec.cells[i] = v
	}
	var rowErr *RowError
	switch r.m.Object {
	case Contacts:
		rec.Contact, rowErr = r.contact(rec)
	case Accounts:
		rec.Account, rowErr = r.account(rec)
	case Opportunities:
		rec.Opportunity, rowErr = r.opportunity(rec)
	}
	if rowErr != nil {
		return nil, rowErr
	}
	return rec, nil
}

// value is one field's cell, read as its kind.
type value struct {
	text string
	num  float64
	date time.Time
	yes  bool
	list []string
}

// fields reads every mapped field of rec into vals, by field name; blank cells are
// left out. The map is the reader's, filled anew for each row: making one a row was a
// third of what an import allocated.
func (r *Reader) fields(rec *Record) (map[string]value, *RowError) {
	fs := fields[r.m.Object]
	if r.vals == nil {
		r.vals = make(map[string]value, len(fs))
	}
	vals := r.vals
	clear(vals)
	for i, f := range fs {
		col := r.cols[i]
		if col < 0 || rec.cells[col] == "" {
			continue
		}
		s := rec.cells[col]
		v := value{text: s}
		var err error
		switch f.Kind {
		case Text:
			if n := utf8.RuneCountInString(s); n > 2000 {
				err = fmt.Errorf("is %d characters long; at most 2,000 are allowed", n)
			}
		case Email:
			e, ok := identity.Email(s)
			if !ok {
				err = fmt.Errorf("%q is not an email address", s)
			}
			v.text = e
		case Number:
			v.num, err = ParseNumber(s)
			if err == nil && v.num < 0 {
				err = fmt.Errorf("%s is negative", s)
			}
		case Date:
			v.date, err = ParseDate(s)
		case Bool:
			v.yes, err = ParseBool(s)
		case List:
			v.list = ParseList(s)
			if len(v.list) == 0 {
				continue
			}
		}
		if err != nil {
			return nil, rec.Fail(f.Name, "%v", err)
		}
		vals[f.Name] = v
	}
	return vals, nil
}

// traits gathers the traits of a contact or an account: its fields' and its kept
// columns'.
func (r *Reader) traits(rec *Record, vals map[string]value) map[string]any {
	t := map[string]any{}
	for _, f := range fields[r.m.Object] {
		v, ok := vals[f.Name]
		if !ok || f.Trait == "" {
			continue
		}
		switch f.Kind {
		case Number:
			t[f.Trait] = v.num
		case Date:
			t[f.Trait] = FormatDate(v.date)
		default:
			t[f.Trait] = v.text
		}
	}
	for i, c := range r.m.Columns {
		if c.Use == UseTrait && rec.cells[i] != "" {
			t[c.Trait] = rec.cells[i]
		}
	}
	return t
}

// tandemID reads the id an export gave a record.
func tandemID(rec *Record, vals map[string]value) (int64, *RowError) {
	v, ok := vals["tandem_id"]
	if !ok {
		return 0, nil
	}
	if v.num < 1 || v.num > 1<<53 || v.num != float64(int64(v.num)) {
		return 0, rec.Fail("tandem_id", "%q is not an id", v.text)
	}
	return int64(v.num), nil
}

// checkID refuses an external id too long to be one.
func checkID(rec *Record, field, id string) *RowError {
	if len(id) > 200 {
		return rec.Fail(field, "is %d bytes long; an id may have at most 200", len(id))
	}
	return nil
}

func (r *Reader) contact(rec *Record) (*Contact, *RowError) {
	vals, err := r.fields(rec)
	if err != nil {
		return nil, err
	}
	c := &Contact{ExternalID: vals["external_id"].text, Email: vals["email"].text, Traits: r.traits(rec, vals)}
	if c.TandemID, err = tandemID(rec, vals); err != nil {
		return nil, err
	}
	if c.Email == "" && c.TandemID == 0 {
		return nil, rec.Fail("email", "is empty: a contact is known by its email address, so a row without one cannot be imported")
	}
	if v, ok := vals["created_at"]; ok {
		c.CreatedAt = &v.date
	}
	if err := checkID(rec, "external_id", c.ExternalID); err != nil {
		return nil, err
	}
	if ids := vals["account_external_id"].list; len(ids) > 0 {
		c.AccountExternalID = ids[0] // a person belongs to one account: the primary
		if err := checkID(rec, "account_external_id", c.AccountExternalID); err != nil {
			return nil, err
		}
	}
	if d, ok := vals["account_domain"]; ok {
		if c.AccountDomain = identity.Domain(d.text); c.AccountDomain == "" {
			return nil, rec.Fail("account_domain", "%q is not a domain or a website", d.text)
		}
	}
	return c, nil
}

func (r *Reader) account(rec *Record) (*Account, *RowError) {
	vals, err := r.fields(rec)
	if err != nil {
		return nil, err
	}
	a := &Account{ExternalID: vals["external_id"].text, Name: vals["name"].text, Traits: r.traits(rec, vals)}
	if a.TandemID, err = tandemID(rec, vals); err != nil {
		return nil, err
	}
	if err := checkID(rec, "external_id", a.ExternalID); err != nil {
		return nil, err
	}
	if len(a.Name) > 200 {
		return nil, rec.Fail("name", "is %d bytes long; at most 200 are allowed", len(a.Name))
	}
	if d, ok := vals["domain"]; ok {
		if a.Domain = identity.Domain(d.text); a.Domain == "" {
			return nil, rec.Fail("domain", "%q is not a domain or a website", d.text)
		}
		if identity.IsFreeMail(a.Domain) {
			return nil, rec.Fail("domain", "%s is a free-mail domain, which names no company", a.Domain)
		}
	}
	if a.ExternalID == "" && a.Domain == "" && a.TandemID == 0 {
		field := "external_id"
		if !r.m.Has(field) {
			field = "domain"
		}
		return nil, rec.Fail(field, "is empty: an account needs an external id or a domain, by which a re-import finds it")
	}
	return a, nil
}

func (r *Reader) opportunity(rec *Record) (*Opportunity, *RowError) {
	vals, err := r.fields(rec)
	if err != nil {
		return nil, err
	}
	o := &Opportunity{
		ExternalID: vals["external_id"].text, Name: vals["name"].text, AccountName: vals["account_name"].text,
		Stage: vals["stage"].text, Owner: vals["owner"].text, LostReason: vals["lost_reason"].text,
		ContactExternalIDs: vals["contact_external_ids"].list,
	}
	if o.TandemID, err = tandemID(rec, vals); err != nil {
		return nil, err
	}
	if o.ExternalID == "" && o.TandemID == 0 {
		return nil, rec.Fail("external_id", "is empty: a deal is found again on re-import by its external id")
	}
	if err := checkID(rec, "external_id", o.ExternalID); err != nil {
		return nil, err
	}
	if o.Name == "" {
		return nil, rec.Fail("name", "is empty: a deal needs a name")
	}
	if len(o.Name) > 200 {
		return nil, rec.Fail("name", "is %d bytes long; at most 200 are allowed", len(o.Name))
	}
	if ids := vals["account_external_id"].list; len(ids) > 0 {
		o.AccountExternalID = ids[0]
		if err := checkID(rec, "account_external_id", o.AccountExternalID); err != nil {
			return nil, err
		}
	}
	if d, ok := vals["account_domain"]; ok {
		if o.AccountDomain = identity.Domain(d.text); o.AccountDomain == "" {
			return nil, rec.Fail("account_domain", "%q is not a domain or a website", d.text)
		}
	}
	if v, ok := vals["amount"]; ok {
		if v.num > 1e15 {
			return nil, rec.Fail("amount", "%s is more than 10^15", v.text)
		}
		o.Amount = &v.num
	}
	if v, ok := vals["currency"]; ok {
		o.Currency = strings.ToUpper(v.text)
		if len(o.Currency) != 3 || strings.Trim(o.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, rec.Fail("currency", "%q is not an ISO 4217 code such as USD", v.text)
		}
	}
	if len(o.Stage) > 100 {
		return nil, rec.Fail("stage", "is %d bytes long; at most 100 are allowed", len(o.Stage))
	}
	if len(o.Owner) > 200 {
		return nil, rec.Fail("owner", "is %d bytes long; at most 200 are allowed", len(o.Owner))
	}
	if v, ok := vals["close_date"]; ok {
		o.CloseDate = &v.date
	}
	if v, ok := vals["created_at"]; ok {
		o.CreatedAt = &v.date
	}
	for _, e := range vals["contact_emails"].list {
		email, ok := identity.Email(e)
		if !ok {
			return nil, rec.Fail("contact_emails", "%q is not an email address", e)
		}
		if !slices.Contains(o.ContactEmails, email) {
			o.ContactEmails = append(o.ContactEmails, email)
		}
	}
	for _, id := range o.ContactExternalIDs {
		if err := checkID(rec, "contact_external_ids", id); err != nil {
			return nil, err
		}
	}
	if len(o.ContactEmails)+len(o.ContactExternalIDs) > 500 {
		return nil, rec.Fail("contact_emails", "names %d contacts; a deal may have at most 500", len(o.ContactEmails)+len(o.ContactExternalIDs))
	}
	var won, closed *bool
	if v, ok := vals["won"]; ok {
		won = &v.yes
	}
	if v, ok := vals["closed"]; ok {
		closed = &v.yes
	}
	var msg string
	if o.Status, msg = dealStatus(vals["status"].text, o.Stage, won, closed); msg != "" {
		field := "stage"
		for _, f := range []string{"won", "closed", "status"} {
			if _, ok := vals[f]; ok {
				field = f
			}
		}
		return nil, rec.Fail(field, "%s", msg)
	}
	return o, nil
}

// dealStatus decides whether a deal is open, won or lost from what a row says: a status
// column first, then Salesforce's Won and Closed flags, then a stage such as
// "Closed Won" or HubSpot's "closedlost". It returns "" when the row says nothing, or a
// message when what it says does not add up.
func dealStatus(status, stage string, won, closed *bool) (tandem.OpportunityStatus, string) {
	if status != "" {
		switch s := tandem.OpportunityStatus(strings.ToLower(status)); s {
		case tandem.OpportunityOpen, tandem.OpportunityWon, tandem.OpportunityLost:
			return s, ""
		}
		return "", fmt.Sprintf("%q is not open, won or lost", status)
	}
	fromStage := stageStatus(stage)
	switch {
	case closed != nil && !*closed:
		if won != nil && *won {
			return "", "the deal is won but not closed"
		}
		return tandem.OpportunityOpen, ""
	case won != nil && *won:
		return tandem.OpportunityWon, ""
	case closed != nil && won != nil:
		return tandem.OpportunityLost, ""
	case closed != nil:
		if fromStage == tandem.OpportunityOpen || fromStage == "" {
			return "", fmt.Sprintf("the deal is closed, but neither a Won column nor its stage %q says whether it was won", stage)
		}
		return fromStage, ""
	case won != nil && fromStage == tandem.OpportunityWon:
		return "", fmt.Sprintf("the stage %q says won, the Won column says no", stage)
	}
	return fromStage, ""
}

// stageStatus reads the status a stage's name implies: "Closed Won", "closedwon" and
// "Won" are won; "Closed Lost", "closedlost" and "Lost" lost; any other stage open.
func stageStatus(stage string) tandem.OpportunityStatus {
	if stage == "" {
		return ""
	}
	s := normalize(stage)
	switch {
	case strings.HasPrefix(s, "closedwon") || s == "won":
		return tandem.OpportunityWon
	case strings.HasPrefix(s, "closedlost") || s == "lost":
		return tandem.OpportunityLost
	}
	return tandem.OpportunityOpen
}
