package tandem

import (
	"context"
	"encoding/json"
	"time"
)

// Message types of the Segment tracking API.
const (
	TypeIdentify = "identify"
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Message is one validated Segment tracking API call, ready to store.
type Message struct {
	SourceID    int64
	Type        string
	MessageID   string
	UserID      string
	AnonymousID string
	PreviousID  string // alias: the id being merged into UserID
	GroupID     string // group: the account's id in the sender's system
	Event       string // track
	Name        string // page, screen
	// Email is the normalized address from traits or context.traits, if any.
	Email string
	// Traits are the person's (identify) or the account's (group) traits.
	Traits     map[string]any
	Properties json.RawMessage
	Context    json.RawMessage
	// Timestamp is when the event happened, corrected for the client's clock skew.
	Timestamp time.Time
	// ClientTimestamp is the timestamp as the client sent it (zero if it sent none). A
	// client's retry repeats it along with the MessageID, and it keeps the dedupe index
	// ordered by time, so that new entries land together instead of all over the index.
	ClientTimestamp time.Time
	ReceivedAt      time.Time
}

// Outcome is what became of one message handed to an Ingester.
type Outcome uint8

// The outcomes.
const (
	Stored    Outcome = iota + 1 // a new event
	Duplicate                    // a message with this id from this source was stored before
)

// Ingester stores messages durably, resolving who sent them. Ingest returns only after
// the messages are committed, with one outcome per message, in order. It is called by one
// goroutine at a time per process (the group committer), with the messages of many
// requests at once.
type Ingester interface {
	Ingest(ctx context.Context, msgs []*Message) ([]Outcome, error)
}
