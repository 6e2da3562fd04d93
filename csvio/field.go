// Package csvio reads and writes CSV files of contacts, accounts and opportunities under
// the column names that HubSpot and Salesforce exports use, one typed record or one row
// error at a time, so that a file of any size is read in bounded memory.
package csvio

import (
	"fmt"
	"strings"
)

// Object is the kind of record a file holds.
type Object string

// The objects a file can hold.
const (
	Contacts      Object = "contacts"
	Accounts      Object = "accounts"
	Opportunities Object = "opportunities"
)

// ParseObject reads an object's name, singular or plural.
func ParseObject(s string) (Object, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "contacts", "contact", "leads", "lead", "people":
		return Contacts, nil
	case "accounts", "account", "companies", "company":
		return Accounts, nil
	case "opportunities", "opportunity", "deals", "deal":
		return Opportunities, nil
	}
	return "", fmt.Errorf("%q is not contacts, accounts or opportunities", s)
}

// Kind is how a field's text is read.
type Kind uint8

// The kinds of field.
const (
	Text   Kind = iota
	Email       // an email address, normalized
	Number      // a number, thousands separators and a currency sign allowed
	Date        // a date or a time, in the formats CRMs export
	List        // values separated by semicolons
	Bool        // true/false, yes/no, 1/0
)

func (k Kind) String() string {
	return [...]string{"text", "email", "number", "date", "list", "yes/no"}[k]
}

// Field is a canonical field of an object.
type Field struct {
	Name string
	Kind Kind
	// Trait is the key a contact's or an account's value is kept under among its traits;
	// empty for fields with a place of their own.
	Trait string
	// ReadOnly fields are what Tandem computes: an export writes them, an import ignores
	// them.
	ReadOnly bool
	// Aliases are the column names of CRM exports that mean this field, most specific
	// first: when two columns mean one field, the one whose name comes first here wins.
	Aliases []string
}

// fields are the canonical fields of each object, in the order an export writes them.
// tandem_id is Tandem's own id, which only an export writes: it finds a record again
// that has no id in a CRM.
var fields = map[Object][]Field{
	Contacts: {
		{Name: "tandem_id", Kind: Number},
		{Name: "external_id", Aliases: []string{"Record ID", "Contact ID", "Lead ID", "Contact Record ID", "Id", "External ID"}},
		{Name: "email", Kind: Email, Trait: "email", Aliases: []string{"Email", "Email Address", "E-mail", "Work Email", "Primary Email"}},
		{Name: "first_name", Trait: "firstName", Aliases: []string{"First Name", "FirstName", "Given Name"}},
		{Name: "last_name", Trait: "lastName", Aliases: []string{"Last Name", "LastName", "Surname", "Family Name"}},
		{Name: "title", Trait: "title", Aliases: []string{"Job Title", "Title"}},
		{Name: "phone", Trait: "phone", Aliases: []string{"Phone Number", "Phone", "Business Phone"}},
		// A Salesforce contact's company is its account: "Account Name" (and the account_name
		// an export writes) count when the file has no company column.
		{Name: "company", Trait: "company", Aliases: []string{"Company Name", "Company", "Account Name"}},
		{Name: "website", Trait: "website", Aliases: []string{"Website URL", "Website", "Company Website"}},
		{Name: "country", Trait: "country", Aliases: []string{"Country/Region", "Country", "Mailing Country", "Country Code"}},
		{Name: "city", Trait: "city", Aliases: []string{"City", "Mailing City"}},
		{Name: "industry", Trait: "industry", Aliases: []string{"Industry"}},
		{Name: "employees", Kind: Number, Trait: "employees", Aliases: []string{"Number of Employees", "Employees", "NumberOfEmployees", "Employee Count"}},
		{Name: "lead_source", Trait: "leadSource", Aliases: []string{"Lead Source", "Original Source", "LeadSource"}},
		{Name: "lifecycle_stage", Trait: "lifecycleStage", Aliases: []string{"Lifecycle Stage"}},
		{Name: "owner", Trait: "owner", Aliases: []string{"Contact owner", "Lead Owner", "Owner", "HubSpot Owner"}},
		{Name: "created_at", Kind: Date, Trait: "createdAt", Aliases: []string{"Create Date", "Created Date", "Created At", "CreatedDate"}},
		{Name: "account_external_id", Kind: List, Aliases: []string{"Account ID", "Associated Company IDs (Primary)", "Associated Company ID", "Associated Company IDs", "Company ID", "AccountId"}},
		{Name: "account_domain", Aliases: []string{"Account Domain", "Company Domain Name", "Company Domain"}},
		{Name: "stage", ReadOnly: true},
		{Name: "fit_score", Kind: Number, ReadOnly: true},
		{Name: "engagement_score", Kind: Number, ReadOnly: true},
		{Name: "total_score", Kind: Number, ReadOnly: true},
		{Name: "grade", ReadOnly: true},
		{Name: "tandem_created_at", Kind: Date, ReadOnly: true},
		{Name: "tandem_updated_at", Kind: Date, ReadOnly: true},
	},
	Accounts: {
		{Name: "tandem_id", Kind: Number},
		{Name: "external_id", Aliases: []string{"Record ID", "Company ID", "Account ID", "Company Record ID", "Id", "External ID"}},
		{Name: "name", Aliases: []string{"Company name", "Account Name", "Name", "Company"}},
		{Name: "domain", Aliases: []string{"Company Domain Name", "Domain", "Domain Name", "Website", "Website URL", "Account Website"}},
		{Name: "industry", Trait: "industry", Aliases: []string{"Industry"}},
		{Name: "employees", Kind: Number, Trait: "employees", Aliases: []string{"Number of Employees", "Employees", "NumberOfEmployees", "Employee Count"}},
		{Name: "annual_revenue", Kind: Number, Trait: "annual_revenue", Aliases: []string{"Annual Revenue", "AnnualRevenue", "Revenue"}},
		{Name: "country", Trait: "country", Aliases: []string{"Country/Region", "Country", "Billing Country"}},
		{Name: "city", Trait: "city", Aliases: []string{"City", "Billing City"}},
		{Name: "owner", Trait: "owner", Aliases: []string{"Company owner", "Account Owner", "Owner"}},
		{Name: "created_at", Kind: Date, Trait: "createdAt", Aliases: []string{"Create Date", "Created Date", "Created At", "CreatedDate"}},
		{Name: "contacts", Kind: Number, ReadOnly: true},
		{Name: "tandem_created_at", Kind: Date, ReadOnly: true},
		{Name: "tandem_updated_at", Kind: Date, ReadOnly: true},
	},
	Opportunities: {
		{Name: "tandem_id", Kind: Number},
		{Name: "external_id", Aliases: []string{"Record ID", "Deal ID", "Opportunity ID", "Id", "External ID"}},
		{Name: "name", Aliases: []string{"Deal Name", "Opportunity Name", "Name"}},
		{Name: "account_external_id", Kind: List, Aliases: []string{"Account ID", "Associated Company IDs (Primary)", "Associated Company ID", "Associated Company IDs", "Company ID", "AccountId"}},
		{Name: "account_domain", Aliases: []string{"Account Domain", "Company Domain Name", "Company Domain"}},
		{Name: "account_name", Aliases: []string{"Account Name", "Associated Company", "Company Name", "Company"}},
		{Name: "amount", Kind: Number, Aliases: []string{"Amount", "Deal Amount", "Opportunity Amount"}},
		{Name: "currency", Aliases: []string{"Opportunity Currency", "Deal Currency Code", "Currency", "Currency Code", "Currency ISO Code", "CurrencyIsoCode"}},
		{Name: "stage", Aliases: []string{"Deal Stage", "Opportunity Stage", "Stage", "StageName"}},
		{Name: "status"},
		{Name: "won", Kind: Bool, Aliases: []string{"Won", "IsWon"}},
		{Name: "closed", Kind: Bool, Aliases: []string{"Closed", "IsClosed"}},
		{Name: "close_date", Kind: Date, Aliases: []string{"Close Date", "CloseDate", "Expected Close Date"}},
		{Name: "created_at", Kind: Date, Aliases: []string{"Create Date", "Created Date", "Created At", "CreatedDate"}},
		{Name: "owner", Aliases: []string{"Deal owner", "Opportunity Owner", "Owner"}},
		{Name: "lost_reason", Aliases: []string{"Closed Lost Reason", "Lost Reason", "Loss Reason", "Reason Lost"}},
		{Name: "contact_emails", Kind: List, Aliases: []string{"Contact Emails", "Contact Email", "Associated Contact Emails"}},
		{Name: "contact_external_ids", Kind: List, Aliases: []string{"Associated Contact IDs", "Associated Contact ID", "Contact IDs", "Contact ID", "Primary Contact ID"}},
		{Name: "tandem_updated_at", Kind: Date, ReadOnly: true},
	},
}

// Fields returns the canonical fields of o.
func Fields(o Object) []Field { return fields[o] }

// Header returns the columns an export of o writes, each a field's name but for a
// contact's account_name: the account's name, which an import reads as the company only
// when the file has no company column.
func Header(o Object) []string {
	var h []string
	for _, f := range fields[o] {
		h = append(h, f.Name)
		if o == Contacts && f.Name == "account_domain" {
			h = append(h, "account_name")
		}
	}
	return h
}

// field returns o's field called name.
func field(o Object, name string) (Field, bool) {
	for _, f := range fields[o] {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// keepsTraits reports whether o keeps columns that map to no field, as traits.
func keepsTraits(o Object) bool { return o == Contacts || o == Accounts }
