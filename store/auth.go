package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"tandem"
)

// newSecret returns a random secret with a prefix that says what it is for.
func newSecret(prefix string) string {
	var b [20]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// hashSecret hashes a secret for storage. The secrets are 160 random bits, so a fast
// hash is enough: nothing short of guessing the secret finds a preimage.
func hashSecret(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// CreateSource stores a source named name and returns it with its new write key.
func (db *DB) CreateSource(ctx context.Context, name string) (*tandem.Source, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, "", tandem.Errorf(tandem.EInvalid, "name: must be 1 to 200 characters")
	}
	key := newSecret("wk_")
	s := &tandem.Source{Name: name}
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		s.CreatedAt = now.Truncate(time.Microsecond)
		return tx.QueryRowContext(ctx, `INSERT INTO sources (name, write_key_hash, created_at) VALUES ($1, $2, $3) RETURNING id`,
			name, hashSecret(key), micros(now)).Scan(&s.ID)
	})
	if err != nil {
		return nil, "", fmt.Errorf("create source: %w", err)
	}
	return s, key, nil
}

// SourceByWriteKey returns the source a write key belongs to.
func (db *DB) SourceByWriteKey(ctx context.Context, key string) (*tandem.Source, error) {
	var (
		s       tandem.Source
		created int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, name, created_at FROM sources WHERE write_key_hash = $1`, hashSecret(key)).
		Scan(&s.ID, &s.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.EUnauthorized, "unknown write key")
	}
	if err != nil {
		return nil, fmt.Errorf("source by write key: %w", err)
	}
	s.CreatedAt = fromMicros(created)
	return &s, nil
}

// Sources lists every source.
func (db *DB) Sources(ctx context.Context) ([]*tandem.Source, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, created_at FROM sources ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sources: %w", err)
	}
	defer rows.Close()
	list := []*tandem.Source{}
	for rows.Next() {
		var (
			s       tandem.Source
			created int64
		)
		if err := rows.Scan(&s.ID, &s.Name, &created); err != nil {
			return nil, fmt.Errorf("sources: %w", err)
		}
		s.CreatedAt = fromMicros(created)
		list = append(list, &s)
	}
	return list, rows.Err()
}

// CreateToken stores an API token with a new secret and returns the secret.
func (db *DB) CreateToken(ctx context.Context, name string, role tandem.Role) (*tandem.Token, string, error) {
	secret := newSecret("tnd_")
	t, err := db.EnsureToken(ctx, name, role, secret)
	return t, secret, err
}

// EnsureToken stores a token with the given secret unless a token with that secret exists.
func (db *DB) EnsureToken(ctx context.Context, name string, role tandem.Role, secret string) (*tandem.Token, error) {
	return db.putToken(ctx, name, role, secret, false)
}

// ReplaceToken makes secret the only token called name: tokens of that name with another
// secret are deleted. A server configured with a token's secret uses it, so that
// changing the configured secret revokes the old one.
func (db *DB) ReplaceToken(ctx context.Context, name string, role tandem.Role, secret string) (*tandem.Token, error) {
	return db.putToken(ctx, name, role, secret, true)
}

func (db *DB) putToken(ctx context.Context, name string, role tandem.Role, secret string, replace bool) (*tandem.Token, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 200:
		return nil, tandem.Errorf(tandem.EInvalid, "name: must be 1 to 200 characters")
	case !role.Valid():
		return nil, tandem.Errorf(tandem.EInvalid, "role: %q is not one of admin, marketing, sales", role)
	case len(secret) < 16:
		return nil, tandem.Errorf(tandem.EInvalid, "token secret: must be at least 16 characters")
	}
	t := &tandem.Token{Name: name, Role: role}
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE name = $1 AND secret_hash <> $2`, name, hashSecret(secret)); err != nil {
				return err
			}
		}
		var created int64
		err := tx.QueryRowContext(ctx, `INSERT INTO tokens (name, role, secret_hash, created_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (secret_hash) DO UPDATE SET secret_hash = excluded.secret_hash
			RETURNING id, name, role, created_at`, name, string(role), hashSecret(secret), micros(now)).Scan(&t.ID, &t.Name, &t.Role, &created)
		t.CreatedAt = fromMicros(created)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store token: %w", err)
	}
	return t, nil
}

// Authenticate returns the token that secret belongs to.
func (db *DB) Authenticate(ctx context.Context, secret string) (*tandem.Token, error) {
	var (
		t       tandem.Token
		created int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, name, role, created_at FROM tokens WHERE secret_hash = $1`, hashSecret(secret)).
		Scan(&t.ID, &t.Name, &t.Role, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.EUnauthorized, "invalid API token")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}
