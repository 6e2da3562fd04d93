package tandem

import (
	"context"
	"time"
)

// OpportunityStatus is whether a deal is still being worked, won or lost.
type OpportunityStatus string

// The statuses of an opportunity.
const (
	OpportunityOpen OpportunityStatus = "open"
	OpportunityWon  OpportunityStatus = "won"
	OpportunityLost OpportunityStatus = "lost"
)

// Opportunity is a deal sales works on with an account: creating it moves its contacts
// to the stage the agreement enters on opportunity_created, winning it to the one
// entered on opportunity_won, each recorded as a stage change.
type Opportunity struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// ExternalID is the CRM's id, by which a re-import finds it.
	ExternalID string  `json:"external_id,omitempty"`
	AccountID  *int64  `json:"account_id"`
	Amount     float64 `json:"amount"`
	// Currency is an ISO 4217 code such as USD.
	Currency string `json:"currency"`
	// Stage is the CRM's pipeline stage (discovery, proposal…), free text.
	Stage         string              `json:"stage"`
	Status        OpportunityStatus   `json:"status"`
	ExpectedClose *time.Time          `json:"expected_close"`
	Owner         string              `json:"owner"`
	LostReason    string              `json:"lost_reason,omitempty"`
	Contacts      []OpportunityPerson `json:"contacts"`
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
	ClosedAt      *time.Time          `json:"closed_at"`
}

// OpportunityPerson is a contact on a deal with their role in it (decision maker,
// champion, user…).
type OpportunityPerson struct {
	ContactID int64  `json:"contact_id"`
	Role      string `json:"role"`
}

// OpportunityChange is a partial update of an open opportunity: nil fields stay.
type OpportunityChange struct {
	Name          *string    `json:"name"`
	Amount        *float64   `json:"amount"`
	Currency      *string    `json:"currency"`
	Stage         *string    `json:"stage"`
	ExpectedClose *time.Time `json:"expected_close"`
	Owner         *string    `json:"owner"`
}

// OpportunityService keeps sales' deals.
type OpportunityService interface {
	CreateOpportunity(ctx context.Context, o *Opportunity, by Actor) (*Opportunity, error)
	Opportunity(ctx context.Context, id int64) (*Opportunity, error)
	Opportunities(ctx context.Context, status OpportunityStatus, accountID int64, p Page) ([]*Opportunity, error)
	UpdateOpportunity(ctx context.Context, id int64, c OpportunityChange, by Actor) (*Opportunity, error)
	WinOpportunity(ctx context.Context, id int64, by Actor) (*Opportunity, error)
	LoseOpportunity(ctx context.Context, id int64, reason string, by Actor) (*Opportunity, error)
}
