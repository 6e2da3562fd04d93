package csvio

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem"
)

// uses summarizes a mapping as column → field, "trait:KEY" or "ignored".
func uses(m *Mapping) map[string]string {
	out := map[string]string{}
	for _, c := range m.Columns {
		switch c.Use {
		case UseField:
			out[c.Header] = c.Field
		case UseTrait:
			out[c.Header] = "trait:" + c.Trait
		default:
			out[c.Header] = "ignored"
		}
	}
	return out
}

func TestMapExports(t *testing.T) {
	tests := []struct {
		name   string
		object Object
		header string
		want   map[string]string
	}{
		{"HubSpot contacts", Contacts,
			"\ufeffRecord ID,First Name,Last Name,Email,Job Title,Phone Number,Company Name,Website URL,Country/Region,City,Lifecycle Stage,Lead Status,Contact owner,Create Date,Associated Company IDs,Original Source",
			map[string]string{"Record ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
				"Job Title": "title", "Phone Number": "phone", "Company Name": "company", "Website URL": "website", "Country/Region": "country",
				"City": "city", "Lifecycle Stage": "lifecycle_stage", "Lead Status": "trait:lead_status", "Contact owner": "owner",
				"Create Date": "created_at", "Associated Company IDs": "account_external_id", "Original Source": "lead_source"}},
		{"HubSpot companies", Accounts,
			"Record ID,Company name,Company Domain Name,Industry,Number of Employees,Annual Revenue,Country/Region,Company owner,Create Date,Phone Number",
			map[string]string{"Record ID": "external_id", "Company name": "name", "Company Domain Name": "domain", "Industry": "industry",
				"Number of Employees": "employees", "Annual Revenue": "annual_revenue", "Country/Region": "country", "Company owner": "owner",
				"Create Date": "created_at", "Phone Number": "trait:phone_number"}},
		{"HubSpot deals", Opportunities,
			"Record ID,Deal Name,Deal Stage,Amount,Close Date,Create Date,Deal owner,Associated Company IDs,Associated Contact IDs,Closed Lost Reason,Pipeline",
			map[string]string{"Record ID": "external_id", "Deal Name": "name", "Deal Stage": "stage", "Amount": "amount", "Close Date": "close_date",
				"Create Date": "created_at", "Deal owner": "owner", "Associated Company IDs": "account_external_id",
				"Associated Contact IDs": "contact_external_ids", "Closed Lost Reason": "lost_reason", "Pipeline": "ignored"}},
		{"Salesforce contacts", Contacts,
			"Contact ID,First Name,Last Name,Title,Email,Phone,Account Name,Account ID,Mailing Country,Lead Source,Contact Owner,Created Date",
			map[string]string{"Contact ID": "external_id", "First Name": "first_name", "Last Name": "last_name", "Title": "title", "Email": "email",
				"Phone": "phone", "Account Name": "company", "Account ID": "account_external_id", "Mailing Country": "country",
				"Lead Source": "lead_source", "Contact Owner": "owner", "Created Date": "created_at"}},
		{"Salesforce accounts", Accounts,
			"Account ID,Account Name,Website,Industry,Employees,Annual Revenue,Billing Country,Account Owner,Created Date",
			map[string]string{"Account ID": "external_id", "Account Name": "name", "Website": "domain", "Industry": "industry", "Employees": "employees",
				"Annual Revenue": "annual_revenue", "Billing Country": "country", "Account Owner": "owner", "Created Date": "created_at"}},
		{"Salesforce opportunities", Opportunities,
			"Opportunity ID,Opportunity Name,Account ID,Account Name,Stage,Amount,Opportunity Currency,Close Date,Created Date,Opportunity Owner,Won,Closed,Contact Email",
			map[string]string{"Opportunity ID": "external_id", "Opportunity Name": "name", "Account ID": "account_external_id", "Account Name": "account_name",
				"Stage": "stage", "Amount": "amount", "Opportunity Currency": "currency", "Close Date": "close_date", "Created Date": "created_at",
				"Opportunity Owner": "owner", "Won": "won", "Closed": "closed", "Contact Email": "contact_emails"}},
		{"names differ in case and spacing", Contacts, "EMAIL,first_name, last name ,JobTitle",
			map[string]string{"EMAIL": "email", "first_name": "first_name", "last name": "last_name", "JobTitle": "title"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Map(tt.object, strings.Split(tt.header, ","), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := uses(m); !maps.Equal(got, tt.want) {
				for k, v := range tt.want {
					if got[k] != v {
						t.Errorf("column %q → %q, want %q", k, got[k], v)
					}
				}
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestMapPrefersTheSpecificColumn(t *testing.T) {
	// A Salesforce contact's Account Name is its company, unless the file has a company
	// column too; and a domain beats a website for an account.
	m, err := Map(Contacts, []string{"Email", "Account Name", "Company"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := uses(m)
	if got["Company"] != "company" || got["Account Name"] != "ignored" {
		t.Errorf("mapping = %v, want Company → company and Account Name ignored", got)
	}
	if note := m.Columns[1].Note; !strings.Contains(note, `"Company"`) {
		t.Errorf("note = %q, want it to name the column company comes from", note)
	}
	m, err = Map(Accounts, []string{"Website", "Domain", "Record ID"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := uses(m); got["Domain"] != "domain" || got["Website"] != "ignored" {
		t.Errorf("mapping = %v, want Domain → domain", got)
	}
}

func TestMapOverrides(t *testing.T) {
	header := []string{"E-Mail Adresse", "Mobile", "Notes", "Score", "fit_score"}
	ovs, err := ParseOverrides("E-Mail Adresse=email, mobile=phone,Notes=ignore,Score=trait:crm_score")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Map(Contacts, header, ovs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"E-Mail Adresse": "email", "Mobile": "phone", "Notes": "ignored", "Score": "trait:crm_score", "fit_score": "ignored"}
	if got := uses(m); !maps.Equal(got, want) {
		t.Errorf("mapping = %v, want %v", got, want)
	}

	bad := []struct {
		name, overrides, want string
	}{
		{"no such column", "Nope=email", `no column "Nope"`},
		{"no such field", "Mobile=mobile_phone", `no field "mobile_phone"`},
		{"read-only field", "Mobile=fit_score", "computed by Tandem"},
		{"no equals sign", "Mobile", "want COLUMN=FIELD"},
		{"mapped twice", "Mobile=phone,mobile=title", "mapped twice"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			ovs, err := ParseOverrides(tt.overrides)
			if err == nil {
				_, err = Map(Contacts, header, append(ovs, Override{"E-Mail Adresse", "email"}))
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestMapNeedsItsKeyColumns(t *testing.T) {
	tests := []struct {
		object Object
		header string
		want   string
	}{
		{Contacts, "Record ID,First Name", "email"},
		{Accounts, "Company name,Industry", "external_id or domain"},
		{Opportunities, "Deal Name,Amount", "external_id"},
		{Opportunities, "Record ID,Amount", "name"},
	}
	for _, tt := range tests {
		_, err := Map(tt.object, strings.Split(tt.header, ","), nil)
		if err == nil || !strings.Contains(err.Error(), "no column of the file is "+tt.want) {
			t.Errorf("%s %q: error = %v, want one naming %s", tt.object, tt.header, err, tt.want)
		}
	}
}

func TestPreviewNamesUnmappedColumns(t *testing.T) {
	m, err := Map(Contacts, []string{"Email", "Lead Status", "fit_score"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := m.WritePreview(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Email       → email", `Unmapped, kept as traits: "Lead Status"`, `Unmapped, ignored: "fit_score"`, "trait lead_status"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("preview lacks %q:\n%s", want, b.String())
		}
	}
}

func TestExportHeaderMapsBack(t *testing.T) {
	for _, o := range []Object{Contacts, Accounts, Opportunities} {
		m, err := Map(o, Header(o), nil)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		for _, c := range m.Columns {
			f, ok := field(o, c.Header)
			switch {
			case o == Contacts && c.Header == "account_name":
				if c.Use != UseIgnored {
					t.Errorf("contacts: account_name is %s, want ignored beside the company column", c.Use)
				}
			case !ok:
				t.Errorf("%s: export column %s is no field", o, c.Header)
			case f.ReadOnly && c.Use != UseIgnored, !f.ReadOnly && c.Field != f.Name:
				t.Errorf("%s: export column %s maps to %q (%s)", o, c.Header, c.Field, c.Use)
			}
		}
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2024-03-01", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-03-01 14:05", time.Date(2024, 3, 1, 14, 5, 0, 0, time.UTC)},
		{"2024-03-01 14:05:09", time.Date(2024, 3, 1, 14, 5, 9, 0, time.UTC)},
		{"2024-03-01T14:05:00Z", time.Date(2024, 3, 1, 14, 5, 0, 0, time.UTC)},
		{"2024-03-01T14:05:00.250Z", time.Date(2024, 3, 1, 14, 5, 0, 250e6, time.UTC)},
		{"2024-03-01T14:05:00+02:00", time.Date(2024, 3, 1, 12, 5, 0, 0, time.UTC)},
		{"3/1/2024", time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"03/01/2024 2:05 PM", time.Date(2024, 3, 1, 14, 5, 0, 0, time.UTC)},
		{"12/31/2023 23:59", time.Date(2023, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"1709301900000", time.Date(2024, 3, 1, 14, 5, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseDate(FormatDate(got)); err != nil || !back.Equal(got) {
			t.Errorf("FormatDate(%v) = %q does not read back: %v, %v", got, FormatDate(got), back, err)
		}
	}
	for _, bad := range []string{"yesterday", "31/12/2023", "2024-13-01", "2024-02-30", "0001-01-01"} {
		if got, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParseNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"1250", 1250}, {"1,250", 1250}, {"1,250.50", 1250.5}, {"$1,250,000", 1250000}, {"€ 99.90", 99.9},
		{"1.2E+06", 1.2e6}, {"0", 0}, {"-3", -3}, {"12 500", 12500},
	}
	for _, tt := range tests {
		if got, err := ParseNumber(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseNumber(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "12k", "1,5", "1,2345", "1.250,00", "NaN", "Inf", "0x10", "1e999", "ten"} {
		if got, err := ParseNumber(bad); err == nil {
			t.Errorf("ParseNumber(%q) = %v, want an error", bad, got)
		}
	}
}

func TestDealStatus(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name          string
		status, stage string
		won, closed   *bool
		want          tandem.OpportunityStatus
		fails         bool
	}{
		{"HubSpot label", "", "Closed Won", nil, nil, tandem.OpportunityWon, false},
		{"HubSpot internal name", "", "closedlost", nil, nil, tandem.OpportunityLost, false},
		{"HubSpot pipeline label", "", "Closed won (Sales Pipeline)", nil, nil, tandem.OpportunityWon, false},
		{"open stage", "", "Proposal/Price Quote", nil, nil, tandem.OpportunityOpen, false},
		{"nothing said", "", "", nil, nil, "", false},
		{"Salesforce won", "", "Negotiation", &yes, &yes, tandem.OpportunityWon, false},
		{"Salesforce lost", "", "Closed Lost", &no, &yes, tandem.OpportunityLost, false},
		{"Salesforce open", "", "Closed Won", &no, &no, tandem.OpportunityOpen, false},
		{"status column wins", "Lost", "Closed Won", &yes, &yes, tandem.OpportunityLost, false},
		{"closed, stage silent", "", "Negotiation", nil, &yes, "", true},
		{"won but open", "", "", &yes, &no, "", true},
		{"bad status", "pending", "", nil, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, msg := dealStatus(tt.status, tt.stage, tt.won, tt.closed)
			if got != tt.want || (msg != "") != tt.fails {
				t.Errorf("dealStatus = %q, %q; want %q (fails: %v)", got, msg, tt.want, tt.fails)
			}
		})
	}
}

// readAll reads every record and row error of a file.
func readAll(t *testing.T, o Object, file string) ([]*Record, []*RowError) {
	t.Helper()
	r, err := NewReader(strings.NewReader(file), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*Record
	var errs []*RowError
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return recs, errs
		}
		var re *RowError
		if errors.As(err, &re) {
			errs = append(errs, re)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestReaderRowErrors(t *testing.T) {
	file := "Record ID,Email,First Name,Number of Employees,Create Date,Notes\n" +
		"1,ann@acme.test,Ann,\"1,200\",2024-03-01,\"two\nlines\"\n" +
		"2,not-an-email,Bob,10,2024-03-01,\n" +
		"3,,Cy,10,2024-03-01,\n" +
		"4,dee@acme.test,Dee,ten,2024-03-01,\n" +
		"5,eve@acme.test,Eve,10,31/12/2024,\n" +
		"6,fay@acme.test,Fay\n" +
		",,,,,\n" +
		"7,gus@acme.test,\"Gus \"\"G\"\"\",3,3/1/2024,ok\n"
	recs, errs := readAll(t, Contacts, file)
	if len(recs) != 2 || recs[0].Contact.Email != "ann@acme.test" || recs[1].Contact.Email != "gus@acme.test" {
		t.Fatalf("records = %v, want ann's and gus's", recs)
	}
	ann := recs[0].Contact
	wantTraits := map[string]any{"email": "ann@acme.test", "firstName": "Ann", "employees": 1200.0, "createdAt": "2024-03-01T00:00:00Z", "notes": "two\nlines"}
	if !maps.Equal(ann.Traits, wantTraits) || ann.ExternalID != "1" {
		t.Errorf("ann = %+v, want external id 1 and traits %v", ann, wantTraits)
	}
	if recs[1].Row != 9 || recs[1].Line != 10 {
		t.Errorf("gus is row %d, line %d; want row 9, line 10", recs[1].Row, recs[1].Line)
	}
	want := []struct {
		row    int
		column string
		msg    string
	}{
		{3, "Email", "not an email address"},
		{4, "Email", "is empty"},
		{5, "Number of Employees", `"ten" is not a number`},
		{6, "Create Date", "not a date"},
		{7, "", "has 3 cells; the header has 6"},
		{8, "", "the row is empty"},
	}
	if len(errs) != len(want) {
		t.Fatalf("errors = %v, want %d", errs, len(want))
	}
	for i, w := range want {
		e := errs[i]
		if e.Row != w.row || e.Column != w.column || !strings.Contains(e.Message, w.msg) {
			t.Errorf("error %d = %+v, want row %d, column %q, message with %q", i, e, w.row, w.column, w.msg)
		}
	}
}

func TestReaderOpportunity(t *testing.T) {
	file := "Opportunity ID,Opportunity Name,Account ID,Stage,Amount,Opportunity Currency,Close Date,Created Date,Won,Closed,Contact Email\n" +
		"006A,Acme renewal,001A,Closed Won,\"$12,500.00\",eur,3/1/2024,1/15/2024 9:30 AM,true,true,ann@acme.test; BOB@acme.test\n" +
		"006B,Bad amount,001A,Prospecting,12.5k,USD,3/1/2024,1/15/2024,false,false,\n" +
		"006C,Bad contact,001A,Prospecting,1,USD,3/1/2024,1/15/2024,false,false,ann@acme.test;nobody\n"
	recs, errs := readAll(t, Opportunities, file)
	if len(recs) != 1 || len(errs) != 2 {
		t.Fatalf("got %d records and errors %v; want 1 and 2", len(recs), errs)
	}
	o := recs[0].Opportunity
	if o.ExternalID != "006A" || o.AccountExternalID != "001A" || *o.Amount != 12500 || o.Currency != "EUR" ||
		o.Status != tandem.OpportunityWon || !o.CloseDate.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) ||
		!o.CreatedAt.Equal(time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC)) ||
		!slices.Equal(o.ContactEmails, []string{"ann@acme.test", "bob@acme.test"}) {
		t.Errorf("deal = %+v", o)
	}
	if errs[0].Row != 3 || errs[0].Column != "Amount" || errs[0].Value != "12.5k" {
		t.Errorf("error = %+v, want row 3, column Amount, value 12.5k", errs[0])
	}
	if errs[1].Row != 4 || errs[1].Column != "Contact Email" || !strings.Contains(errs[1].Message, `"nobody"`) {
		t.Errorf("error = %+v, want row 4, column Contact Email naming nobody", errs[1])
	}
}

func TestReaderSemicolonsAndBadCSV(t *testing.T) {
	recs, errs := readAll(t, Accounts, "Record ID;Company name;Website\n1;Acme;https://www.acme.test/about\n2;Bad \"quote;x.test\n3;Gmail;gmail.com\n")
	if len(recs) != 1 || recs[0].Account.Domain != "acme.test" || recs[0].Account.Name != "Acme" {
		t.Fatalf("records = %+v, want Acme at acme.test", recs)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Message, "not valid CSV") || errs[0].Row != 3 ||
		errs[1].Column != "Website" || !strings.Contains(errs[1].Message, "free-mail") {
		t.Errorf("errors = %+v, want a CSV error on row 3 and a free-mail one", errs)
	}
}

func TestWriterEscapesFormulasAndReadsBack(t *testing.T) {
	values := []string{"=HYPERLINK(\"http://x\")", "@acme", "+1 555 0100", "-5", "'quoted", "+cmd", "plain, with comma", "multi\nline"}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Contacts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		w.Set("email", "p"+string(rune('a'+i))+"@acme.test")
		w.Set("title", v)
		if err := w.WriteRow(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), ",=HYPERLINK") || strings.Contains(buf.String(), ",@acme") {
		t.Errorf("export lets a spreadsheet run a formula:\n%s", buf.String())
	}
	recs, errs := readAll(t, Contacts, buf.String())
	if len(errs) > 0 || len(recs) != len(values) {
		t.Fatalf("read back %d records, errors %v", len(recs), errs)
	}
	for i, v := range values {
		if got := recs[i].Contact.Traits["title"]; got != v {
			t.Errorf("title %d = %q, want %q", i, got, v)
		}
	}
}

func TestReaderUnterminatedQuote(t *testing.T) {
	recs, errs := readAll(t, Contacts, "Email,First Name\nann@acme.test,Ann\n\"bob@acme.test,Bob\ncy@acme.test,Cy\n")
	if len(recs) != 1 || len(errs) != 1 || errs[0].Row != 3 || !strings.Contains(errs[0].Message, "not valid CSV") {
		t.Errorf("records %d, errors %+v; want ann's and a CSV error at row 3", len(recs), errs)
	}
}
