package tandem

import (
	"context"
	"time"
)

// RequestStatus is where a request of sales to marketing stands.
type RequestStatus string

// The statuses of a request, in workflow order. A new request is triaged by marketing:
// accepted with a committed date, or declined with a reason. An accepted one goes in
// progress, is delivered, and is confirmed by the requester, who may reopen it instead.
const (
	RequestNew        RequestStatus = "new"
	RequestTriaged    RequestStatus = "triaged"
	RequestDeclined   RequestStatus = "declined"
	RequestInProgress RequestStatus = "in_progress"
	RequestDelivered  RequestStatus = "delivered"
	RequestConfirmed  RequestStatus = "confirmed"
)

// Open reports whether the request still waits on marketing or the requester.
func (s RequestStatus) Open() bool { return s != RequestDeclined && s != RequestConfirmed }

// LeadsRequestType is the request type that asks marketing for leads at named accounts;
// its report counts the MQLs those accounts produced since.
const LeadsRequestType = "leads"

// RequestPriorities are a request's priorities, lowest first.
var RequestPriorities = []string{"low", "normal", "high", "urgent"}

// Request is something sales asks of marketing: a deck for a client, posts for social, an
// event, leads at target accounts. Its type's turnaround comes from the agreement and
// runs in business time from when it was filed.
type Request struct {
	ID          int64         `json:"id"`
	Type        string        `json:"type"`
	Title       string        `json:"title"`
	Description string        `json:"description"`
	Status      RequestStatus `json:"status"`
	Priority    string        `json:"priority"`
	// Requester is the email of the sales user who filed it; Assignee the marketing
	// user working on it, empty until triage names one.
	Requester string `json:"requester"`
	Assignee  string `json:"assignee"`
	// AccountID and Opportunity say what it is for; Accounts are the target accounts of
	// a leads request.
	AccountID   *int64   `json:"account_id"`
	Opportunity string   `json:"opportunity"`
	Accounts    []int64  `json:"accounts"`
	Links       []string `json:"links"`
	// DueAsked is the date the requester asked for; DueAt when the agreement's
	// turnaround runs out; CommittedAt the date marketing committed to at triage.
	DueAsked      *time.Time `json:"due_asked"`
	DueAt         *time.Time `json:"due_at"`
	CommittedAt   *time.Time `json:"committed_at"`
	DeclineReason string     `json:"decline_reason,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	TriagedAt     *time.Time `json:"triaged_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
	ConfirmedAt   *time.Time `json:"confirmed_at"`
	Reopened      int        `json:"reopened"`
	Watchers      []string   `json:"watchers"`
	// Overdue says the turnaround ran out before delivery (or is running out now).
	Overdue bool `json:"overdue"`
}

// RequestChange is one recorded transition of a request.
type RequestChange struct {
	At   time.Time     `json:"at"`
	By   string        `json:"by"`
	From RequestStatus `json:"from"`
	To   RequestStatus `json:"to"`
	Note string        `json:"note,omitempty"`
}

// Comment is a remark on a request.
type Comment struct {
	ID   int64     `json:"id"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Body string    `json:"body"`
}

// RequestFilter narrows a listing of requests.
type RequestFilter struct {
	Type, Requester, Assignee string
	// Requesters, when not empty, keeps the requests of these requesters (a team's).
	Requesters    []string
	Status        RequestStatus
	Open, Overdue bool
	// Newest lists the latest filed first.
	Newest bool
}

// Triage is marketing's decision on a new request: accept it with a committed date and
// an assignee, or decline it with a reason.
type Triage struct {
	Accept    bool      `json:"accept"`
	Committed time.Time `json:"committed"`
	Assignee  string    `json:"assignee"`
	Reason    string    `json:"reason"`
}

// Person is who acts on a request: a signed-in user, or an API token acting for one.
// Email is empty for a token that speaks for nobody in particular.
type Person struct {
	Email string
	Name  string
	Role  Role
}

// RequestService keeps sales' requests of marketing. Who may do what: a sales user (or
// an admin) files requests and confirms or reopens their own; marketing triages,
// starts and delivers; anyone comments and watches. A refused transition is a
// Conflict; a refused person, Forbidden.
type RequestService interface {
	CreateRequest(ctx context.Context, r *Request, by Person) (*Request, error)
	Request(ctx context.Context, id int64) (*Request, error)
	Requests(ctx context.Context, f RequestFilter, p Page) ([]*Request, error)
	TriageRequest(ctx context.Context, id int64, t Triage, by Person) (*Request, error)
	StartRequest(ctx context.Context, id int64, by Person) (*Request, error)
	DeliverRequest(ctx context.Context, id int64, links []string, by Person) (*Request, error)
	ConfirmRequest(ctx context.Context, id int64, by Person) (*Request, error)
	ReopenRequest(ctx context.Context, id int64, reason string, by Person) (*Request, error)
	CommentRequest(ctx context.Context, id int64, body string, by Person) (*Comment, error)
	WatchRequest(ctx context.Context, id int64, email string, by Person) (*Request, error)
	RequestHistory(ctx context.Context, id int64) ([]*RequestChange, []*Comment, error)
}
