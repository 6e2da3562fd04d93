package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"

	"tandem"
	"tandem/identity"
)

// Passwords are hashed with argon2id at the parameters OWASP recommends for it (19 MiB,
// two passes, one lane): about 30 ms a hash on this kind of machine, slow enough to make
// guessing a stolen hash expensive, fast enough for a login.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLen is the shortest password a user may set.
const MinPasswordLen = 10

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 14 * 24 * time.Hour

func hashPassword(pw string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// checkPassword reports whether pw matches a hash made by hashPassword, with the
// parameters the hash records.
func checkPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var (
		m, t uint32
		p    uint8
	)
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// hashing bounds the argon2id hashes computed at once to the number of cores: each
// takes 19 MiB, and a burst of sign-ins must not take the memory with it.
var hashing = make(chan struct{}, runtime.NumCPU())

func hashSlot() func() {
	hashing <- struct{}{}
	return func() { <-hashing }
}

// dummyHash is checked against when the email is unknown, so that a login takes as
// long whether or not the address has an account.
var dummyHash = hashPassword("not a password anybody has")

// SetPassword sets a user's password.
func (db *DB) SetPassword(ctx context.Context, userID int64, pw string) error {
	if len([]rune(pw)) < MinPasswordLen {
		return &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("password: at least %d characters", MinPasswordLen),
			Fields: []tandem.FieldError{{Pointer: "/password", Detail: fmt.Sprintf("at least %d characters", MinPasswordLen)}}}
	}
	if len(pw) > 1024 {
		return tandem.Errorf(tandem.EInvalid, "password: at most 1024 bytes")
	}
	hash := hashPassword(pw)
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, micros(now), userID)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tandem.Errorf(tandem.ENotFound, "user %d not found", userID)
		}
		// A new password signs out every browser the old one signed in.
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
}

// CountUsers returns how many users exist: none means the app shows its first-run page.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// errBadLogin is the one answer to a wrong email or password, so that a login form does
// not tell which addresses have accounts.
var errBadLogin = tandem.Errorf(tandem.EUnauthorized, "wrong email or password")

// Login checks an email and password and starts a session; it returns the session's
// secret (for the cookie) and its CSRF token.
func (db *DB) Login(ctx context.Context, email, pw string) (u *tandem.User, secret, csrf string, err error) {
	e, ok := identity.Email(email)
	var hash string
	if ok {
		var id int64
		err := db.read.QueryRowContext(ctx, `SELECT id, password_hash FROM users WHERE email = $1 AND active = $2`, e, true).Scan(&id, &hash)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, "", "", fmt.Errorf("login: %w", err)
		}
		release := hashSlot()
		ok := err == nil && hash != "" && checkPassword(hash, pw)
		release()
		if ok {
			if u, err = db.User(ctx, id); err != nil {
				return nil, "", "", err
			}
			secret, csrf, err = db.startSession(ctx, id)
			return u, secret, csrf, err
		}
	}
	if hash == "" {
		release := hashSlot()
		checkPassword(dummyHash, pw)
		release()
	}
	return nil, "", "", errBadLogin
}

func (db *DB) startSession(ctx context.Context, userID int64) (secret, csrf string, err error) {
	secret, csrf = newSecret("s_"), newSecret("c_")
	err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		// Sessions of anyone that ended go at the next sign-in.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			hashSecret(secret), userID, csrf, micros(now), micros(now.Add(SessionTTL)))
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("start session: %w", err)
	}
	return secret, csrf, nil
}

// Session returns the user a session secret belongs to and the session's CSRF token,
// or Unauthorized when the session does not exist, ended, or its user was deactivated.
func (db *DB) Session(ctx context.Context, secret string) (*tandem.User, string, error) {
	var (
		id      int64
		csrf    string
		expires int64
		active  bool
	)
	err := db.read.QueryRowContext(ctx, `SELECT u.id, s.csrf, s.expires_at, u.active FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id_hash = $1`, hashSecret(secret)).Scan(&id, &csrf, &expires, &active)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (!active || expires < micros(db.Now())) {
		return nil, "", tandem.Errorf(tandem.EUnauthorized, "not signed in")
	}
	if err != nil {
		return nil, "", fmt.Errorf("session: %w", err)
	}
	u, err := db.User(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return u, csrf, nil
}

// Logout ends a session.
func (db *DB) Logout(ctx context.Context, secret string) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashSecret(secret))
		return err
	})
}

// CreateFirstAdmin makes the first user of an install, an admin with a password, in one
// transaction that refuses (Conflict) once anyone exists: two first-run forms posted at
// once make one admin, and a refused password leaves no user without one.
func (db *DB) CreateFirstAdmin(ctx context.Context, in *tandem.User, pw string) (*tandem.User, error) {
	u := *in
	u.Role = tandem.UserAdmin
	if err := checkUser(&u); err != nil {
		return nil, err
	}
	if n := len([]rune(pw)); n < MinPasswordLen || len(pw) > 1024 {
		return nil, &tandem.Error{Code: tandem.EInvalid, Message: fmt.Sprintf("password: %d to 1024 characters", MinPasswordLen),
			Fields: []tandem.FieldError{{Pointer: "/password", Detail: fmt.Sprintf("%d to 1024 characters", MinPasswordLen)}}}
	}
	hash := hashPassword(pw)
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return tandem.Errorf(tandem.EConflict, "Tandem has users already: sign in, or ask an admin for an account")
		}
		return tx.QueryRowContext(ctx, `INSERT INTO users (email, name, team, role, manager, daily_cap, active, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '', 0, $5, $6, $7, $7) RETURNING id`, u.Email, u.Name, u.Team, u.Role, true, hash, micros(now)).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return db.User(ctx, id)
}
