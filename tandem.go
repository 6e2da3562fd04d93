// Package tandem is the vocabulary of the system that marketing and sales share: the
// contacts, accounts and events they both look at, and the services that act on them.
// It imports no third-party package; the stores, the ingest pipeline and the HTTP layer
// implement and call the interfaces declared here.
package tandem

import (
	"context"
	"encoding/json"
	"time"
)

// Contact is a person who has identified themselves, by a user id or an email address.
// Anonymous visitors are Visitors, not contacts, so they never inflate contact counts.
type Contact struct {
	ID        int64          `json:"id"`
	Email     string         `json:"email"`
	UserIDs   []string       `json:"user_ids"`
	Traits    map[string]any `json:"traits"`
	AccountID *int64         `json:"account_id"`
	// Score, Grade and Stage are kept current under the active agreement; Score is nil
	// and Stage empty until one is active.
	Score     *Score     `json:"score"`
	Grade     string     `json:"grade"`
	Stage     string     `json:"stage"`
	StageAt   *time.Time `json:"stage_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Account is a company: contacts join it by their email domain (never a free-mail one)
// or by a Segment group call.
type Account struct {
	ID        int64          `json:"id"`
	Domain    string         `json:"domain"`
	GroupID   string         `json:"group_id"`
	Name      string         `json:"name"`
	Traits    map[string]any `json:"traits"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Event is one stored activity message, attributed to a contact once its author is known.
type Event struct {
	ID          int64           `json:"id"`
	SourceID    int64           `json:"source_id"`
	MessageID   string          `json:"message_id"`
	Type        string          `json:"type"`
	Event       string          `json:"event,omitempty"`
	Name        string          `json:"name,omitempty"`
	UserID      string          `json:"user_id,omitempty"`
	AnonymousID string          `json:"anonymous_id,omitempty"`
	ContactID   *int64          `json:"contact_id"`
	Properties  json.RawMessage `json:"properties"`
	Context     json.RawMessage `json:"context,omitempty"`
	Timestamp   time.Time       `json:"timestamp"`
	ReceivedAt  time.Time       `json:"received_at"`
}

// Source is a place activity comes from, such as a website. Its write key may only ingest.
type Source struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Role is what an API token or user may do.
type Role string

// The roles. Admins may do everything; marketing and sales each own their side of the
// agreement.
const (
	RoleAdmin     Role = "admin"
	RoleMarketing Role = "marketing"
	RoleSales     Role = "sales"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleMarketing || r == RoleSales
}

// Token is an API bearer token. Only a hash of its secret is stored.
type Token struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Page is one page of a keyset-paginated listing.
type Page struct {
	// After is the last id of the previous page; zero starts at the beginning.
	After int64
	// AfterTime is the last time of the previous page, for listings ordered by time.
	AfterTime time.Time
	// AfterScore is the last score of the previous page, for listings ordered by score.
	AfterScore float64
	// Limit caps the number of rows returned.
	Limit int
}

// ContactFilter narrows a contact listing.
type ContactFilter struct {
	Email     string
	AccountID int64
	Stage     string
	// Order is "id" (the default) or "-engagement": hottest first.
	Order string
}

// ContactService reads contacts. Every method returns an *Error with code NotFound when
// the contact does not exist. A contact that was merged into another is found under its
// old id too: the survivor is returned.
type ContactService interface {
	Contact(ctx context.Context, id int64) (*Contact, error)
	Contacts(ctx context.Context, f ContactFilter, p Page) ([]*Contact, error)
	ContactEvents(ctx context.Context, id int64, p Page) ([]*Event, error)
	CountContacts(ctx context.Context) (int64, error)
}

// AccountService reads accounts.
type AccountService interface {
	Account(ctx context.Context, id int64) (*Account, error)
}

// SourceService creates and authenticates ingestion sources.
type SourceService interface {
	// CreateSource stores a source and returns it with its write key, shown only once.
	CreateSource(ctx context.Context, name string) (*Source, string, error)
	// SourceByWriteKey returns the source a write key belongs to, or Unauthorized.
	SourceByWriteKey(ctx context.Context, key string) (*Source, error)
}

// TokenService creates and authenticates API tokens.
type TokenService interface {
	// CreateToken stores a token with a new random secret and returns the secret.
	CreateToken(ctx context.Context, name string, role Role) (*Token, string, error)
	// EnsureToken stores a token with the given secret unless one exists already.
	EnsureToken(ctx context.Context, name string, role Role, secret string) (*Token, error)
	// ReplaceToken makes secret the only token called name, deleting others of that
	// name, so that a changed configured secret revokes the old one.
	ReplaceToken(ctx context.Context, name string, role Role, secret string) (*Token, error)
	// Authenticate returns the token a secret belongs to, or Unauthorized.
	Authenticate(ctx context.Context, secret string) (*Token, error)
}
