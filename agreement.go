package tandem

import (
	"context"
	"time"
)

// AgreementStatus is where a version of the agreement stands.
type AgreementStatus string

// The statuses of an agreement version. A version is proposed by one team and becomes
// active when the other team approves it; the version it replaces is superseded.
const (
	AgreementProposed   AgreementStatus = "proposed"
	AgreementActive     AgreementStatus = "active"
	AgreementSuperseded AgreementStatus = "superseded"
)

// Agreement is one version of the document in which marketing and sales define their
// common terms: the scoring model, the meaning of every funnel stage, routing and SLAs.
type Agreement struct {
	ID      int64           `json:"id"`
	Version int             `json:"version"`
	Name    string          `json:"name"`
	Status  AgreementStatus `json:"status"`
	// Document is the text as it was proposed, in Format ("yaml" or "json").
	Document string `json:"document"`
	Format   string `json:"format"`

	ProposedBy   string     `json:"proposed_by"`
	ProposedRole Role       `json:"proposed_role"`
	ProposedAt   time.Time  `json:"proposed_at"`
	ApprovedBy   string     `json:"approved_by,omitempty"`
	ApprovedRole Role       `json:"approved_role,omitempty"`
	ApprovedAt   *time.Time `json:"approved_at,omitempty"`
	ActivatedAt  *time.Time `json:"activated_at,omitempty"`
}

// Actor is who does something: for now an API token, by its name and role.
type Actor struct {
	Name string
	Role Role
}

// AgreementService keeps the versions of the agreement.
//
// ProposeAgreement returns Unprocessable with the document's problems in Document (each
// at a line and column) when it does not parse or validate. ApproveAgreement returns
// Forbidden unless the approver is of the other team than the proposer (marketing ↔
// sales); ActivateAgreement is for admins, who may bootstrap without the other side.
// Activating or approving a version starts rescoring every contact under it.
type AgreementService interface {
	ProposeAgreement(ctx context.Context, doc []byte, format string, by Actor) (*Agreement, error)
	ApproveAgreement(ctx context.Context, version int, by Actor) (*Agreement, error)
	ActivateAgreement(ctx context.Context, version int, by Actor) (*Agreement, error)
	// ActiveAgreement returns the active version, or NotFound if none was ever activated.
	ActiveAgreement(ctx context.Context) (*Agreement, error)
	AgreementVersion(ctx context.Context, version int) (*Agreement, error)
	AgreementVersions(ctx context.Context) ([]*Agreement, error)
}

// Score is a contact's lead score: fit (who they are) plus engagement (what they did,
// decayed to now).
type Score struct {
	Fit        float64 `json:"fit"`
	Engagement float64 `json:"engagement"`
	Total      float64 `json:"total"`
}

// ScoreLine is what one rule contributed to a contact's score.
type ScoreLine struct {
	Rule string `json:"rule"`
	// Kind is "fit" or "engagement".
	Kind string `json:"kind"`
	// Points is the rule's contribution now: engagement points are decayed.
	Points float64 `json:"points"`
	// Hits is how many events the rule gave points for; one for a fit rule that holds.
	Hits   int64      `json:"hits"`
	LastAt *time.Time `json:"last_at,omitempty"`
}

// ScoreBreakdown explains a contact's score rule by rule.
type ScoreBreakdown struct {
	ContactID int64       `json:"contact_id"`
	Score     Score       `json:"score"`
	Grade     string      `json:"grade"`
	Version   int         `json:"version"`
	Lines     []ScoreLine `json:"lines"`
}

// StageChange is one move of a contact between lifecycle stages.
type StageChange struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	// Cause is the rule or action that moved the contact: "rule mql", "action accept",
	// "agreement v3" (rescoring under a new version), "decay inactive".
	Cause   string `json:"cause"`
	Version int    `json:"version"`
}

// Rescore is the progress of rescoring every contact under an agreement version.
type Rescore struct {
	ID      int64  `json:"id"`
	Version int    `json:"version"`
	State   string `json:"state"` // running, done, failed, or canceled by a newer version
	// Phase is "events" while every event is read once, then "contacts" while each
	// contact's new score is written.
	Phase       string `json:"phase"`
	EventsDone  int64  `json:"events_done"`
	EventsTotal int64  `json:"events_total"`
	// Done and Total count contacts written.
	Done       int64      `json:"done"`
	Total      int64      `json:"total"`
	StartedAt  time.Time  `json:"started_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// ScoreService explains scores and stages.
type ScoreService interface {
	// ContactScore lists which rules gave the contact how many points.
	ContactScore(ctx context.Context, id int64) (*ScoreBreakdown, error)
	// ContactStages lists the contact's stage changes, oldest first.
	ContactStages(ctx context.Context, id int64) ([]*StageChange, error)
	// LatestRescore returns the most recent rescore, or NotFound if there was none.
	LatestRescore(ctx context.Context) (*Rescore, error)
}
