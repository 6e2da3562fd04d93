package tandem

import (
	"context"
	"time"
)

// Team is a side of the agreement: marketing or sales.
type Team string

// The two teams.
const (
	TeamMarketing Team = "marketing"
	TeamSales     Team = "sales"
)

// UserRole is what a user may do within their team.
type UserRole string

// The user roles. A manager is who escalations go to; an admin may do everything.
const (
	UserMember  UserRole = "member"
	UserManager UserRole = "manager"
	UserAdmin   UserRole = "admin"
)

// User is a person of either team. Sales users are the reps that routing names by
// email, as the agreement's teams do.
type User struct {
	ID    int64    `json:"id"`
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Team  Team     `json:"team"`
	Role  UserRole `json:"role"`
	// Manager is the email of whom this user's breached leads escalate to.
	Manager string `json:"manager"`
	// DailyCap is the most leads routing gives the user per day (in the agreement's
	// timezone); zero means no cap.
	DailyCap int  `json:"daily_cap"`
	Active   bool `json:"active"`
	// Away lists the user's out-of-office windows that have not ended.
	Away []Away `json:"away"`
	// Teams are the agreement's routing teams the user is a member of.
	Teams     []string  `json:"teams"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Away is an out-of-office window: routing skips the user from Start until End.
type Away struct {
	ID    int64     `json:"id"`
	Start time.Time `json:"from"`
	End   time.Time `json:"until"`
	Note  string    `json:"note"`
}

// UserChange is a partial update of a user: nil fields stay as they are.
type UserChange struct {
	Name     *string   `json:"name"`
	Team     *Team     `json:"team"`
	Role     *UserRole `json:"role"`
	Manager  *string   `json:"manager"`
	DailyCap *int      `json:"daily_cap"`
	Active   *bool     `json:"active"`
}

// AssignmentStatus is where a lead handed to sales stands.
type AssignmentStatus string

// The statuses of an assignment. Unassigned, assigned and accepted are open: the
// contact has at most one open assignment.
const (
	// AssignmentUnassigned is a lead no rep could take; it waits for someone to assign it.
	AssignmentUnassigned AssignmentStatus = "unassigned"
	// AssignmentAssigned waits for the rep to accept or reject it; its SLA clock runs.
	AssignmentAssigned  AssignmentStatus = "assigned"
	AssignmentAccepted  AssignmentStatus = "accepted"
	AssignmentQualified AssignmentStatus = "qualified"
	// AssignmentRejected went back to marketing with a reason.
	AssignmentRejected AssignmentStatus = "rejected"
	// AssignmentReassigned breached its SLA and went to another rep.
	AssignmentReassigned AssignmentStatus = "reassigned"
)

// Open reports whether the assignment still holds the lead.
func (s AssignmentStatus) Open() bool {
	return s == AssignmentUnassigned || s == AssignmentAssigned || s == AssignmentAccepted
}

// Assignment is a qualified lead handed to a rep, with the SLA clocks that run on it.
type Assignment struct {
	ID        int64            `json:"id"`
	ContactID int64            `json:"contact_id"`
	Rep       string           `json:"rep"`
	Status    AssignmentStatus `json:"status"`
	// Route is the routing rule that chose the rep, "fallback", or "manual"; Reason
	// says why in plain words, and Skipped the reps passed over and why.
	Route   string   `json:"route"`
	Reason  string   `json:"reason"`
	Skipped []string `json:"skipped"`
	// Version is the agreement version whose routing and SLA applied.
	Version    int       `json:"version"`
	AssignedAt time.Time `json:"assigned_at"`
	// AcceptDue is when the rep must have accepted or rejected the lead; TouchDue when
	// they must have first touched it. Due is the next deadline still running.
	AcceptDue    *time.Time `json:"accept_due"`
	TouchDue     *time.Time `json:"touch_due"`
	Due          *time.Time `json:"due"`
	AcceptedAt   *time.Time `json:"accepted_at"`
	RejectedAt   *time.Time `json:"rejected_at"`
	RejectReason string     `json:"reject_reason,omitempty"`
	QualifiedAt  *time.Time `json:"qualified_at"`
	FirstTouchAt *time.Time `json:"first_touch_at"`
	// BreachedAt is when the accept clock ran out; EscalatedTo who was told then.
	BreachedAt  *time.Time `json:"breached_at"`
	EscalatedTo string     `json:"escalated_to,omitempty"`
	ClosedAt    *time.Time `json:"closed_at"`
	// PreviousID is the assignment this one took over after a breach.
	PreviousID *int64 `json:"previous_id"`
	// ActedBy is who last acted on it.
	ActedBy string `json:"acted_by,omitempty"`
}

// AssignmentFilter narrows a listing of assignments.
type AssignmentFilter struct {
	Rep       string
	Status    AssignmentStatus
	ContactID int64
	// Open lists only open assignments when Status is empty.
	Open bool
}

// Touch is a rep's call, email or meeting with a lead.
type Touch struct {
	ID           int64     `json:"id"`
	AssignmentID int64     `json:"assignment_id"`
	Kind         string    `json:"kind"`
	At           time.Time `json:"at"`
	Note         string    `json:"note"`
	By           string    `json:"by"`
}

// TouchKinds are the kinds of touch a rep logs.
var TouchKinds = []string{"call", "email", "meeting"}

// Channel is where notifications go: a signed webhook (Standard Webhooks), a
// Slack-compatible incoming webhook, or email.
type Channel struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
	// Secret signs webhook requests. It is shown when the channel is created.
	Secret string `json:"secret,omitempty"`
	// To are an email channel's recipients: addresses, or "rep" for the lead's rep
	// and "manager" for the rep's manager.
	To []string `json:"to,omitempty"`
	// Events are the notification types the channel receives.
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery is one attempt to send a notification over a channel.
type Delivery struct {
	ID           int64     `json:"id"`
	ChannelID    int64     `json:"channel_id"`
	Notification string    `json:"notification"`
	Type         string    `json:"type"`
	Attempt      int       `json:"attempt"`
	At           time.Time `json:"at"`
	Status       int       `json:"status"`
	OK           bool      `json:"ok"`
	Duration     float64   `json:"duration_ms"`
	Response     string    `json:"response,omitempty"`
	Error        string    `json:"error,omitempty"`
	// NextAt is when the next attempt is due, nil when none will be made.
	NextAt *time.Time `json:"next_at"`
}

// HandoffService keeps the people of both teams, the leads handed to sales, and where
// the team is told about them.
type HandoffService interface {
	CreateUser(ctx context.Context, u *User) (*User, error)
	User(ctx context.Context, id int64) (*User, error)
	Users(ctx context.Context) ([]*User, error)
	UpdateUser(ctx context.Context, id int64, c UserChange) (*User, error)
	AddAway(ctx context.Context, userID int64, a Away) (*Away, error)
	DeleteAway(ctx context.Context, userID, awayID int64) error

	Assignment(ctx context.Context, id int64) (*Assignment, error)
	Assignments(ctx context.Context, f AssignmentFilter, p Page) ([]*Assignment, error)
	// Assign hands an open lead to a rep by hand; it returns the new assignment.
	Assign(ctx context.Context, id int64, rep string, by Actor) (*Assignment, error)
	Accept(ctx context.Context, id int64, by Actor) (*Assignment, error)
	Reject(ctx context.Context, id int64, reason string, by Actor) (*Assignment, error)
	Qualify(ctx context.Context, id int64, by Actor) (*Assignment, error)
	AddTouch(ctx context.Context, id int64, t Touch, by Actor) (*Touch, error)
	Touches(ctx context.Context, id int64) ([]*Touch, error)

	CreateChannel(ctx context.Context, c *Channel) (*Channel, error)
	Channels(ctx context.Context) ([]*Channel, error)
	DeleteChannel(ctx context.Context, id int64) error
	Deliveries(ctx context.Context, channelID int64, p Page) ([]*Delivery, error)
}
