package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"tandem"
	"tandem/identity"
)

const userColumns = `id, email, name, team, role, manager, daily_cap, active, created_at, updated_at`

func scanUser(s interface{ Scan(...any) error }) (*tandem.User, error) {
	var (
		u                tandem.User
		created, updated int64
	)
	if err := s.Scan(&u.ID, &u.Email, &u.Name, &u.Team, &u.Role, &u.Manager, &u.DailyCap, &u.Active, &created, &updated); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	u.Away, u.Teams = []tandem.Away{}, []string{}
	return &u, nil
}

// checkUser validates a user as it is about to be stored, and normalizes its email
// addresses.
func checkUser(u *tandem.User) error {
	var errs []tandem.FieldError
	bad := func(ptr, format string, args ...any) {
		errs = append(errs, tandem.FieldError{Pointer: ptr, Detail: fmt.Sprintf(format, args...)})
	}
	if e, ok := identity.Email(u.Email); ok {
		u.Email = e
	} else {
		bad("/email", "want an email address, got %q", u.Email)
	}
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" || len(u.Name) > 200 {
		bad("/name", "must be 1 to 200 characters")
	}
	if u.Team != tandem.TeamMarketing && u.Team != tandem.TeamSales {
		bad("/team", "want marketing or sales, got %q", u.Team)
	}
	if u.Role == "" {
		u.Role = tandem.UserMember
	}
	if u.Role != tandem.UserMember && u.Role != tandem.UserManager && u.Role != tandem.UserAdmin {
		bad("/role", "want member, manager or admin, got %q", u.Role)
	}
	if u.Manager != "" {
		if e, ok := identity.Email(u.Manager); ok {
			u.Manager = e
		} else {
			bad("/manager", "want the email address of a user, got %q", u.Manager)
		}
	}
	if u.DailyCap < 0 {
		bad("/daily_cap", "must be zero (no cap) or more, got %d", u.DailyCap)
	}
	if len(errs) > 0 {
		return &tandem.Error{Code: tandem.EInvalid, Message: errs[0].Pointer[1:] + ": " + errs[0].Detail, Fields: errs}
	}
	return nil
}

// CreateUser stores a new user. Its email must not be taken.
func (db *DB) CreateUser(ctx context.Context, u *tandem.User) (*tandem.User, error) {
	nu := *u
	if err := checkUser(&nu); err != nil {
		return nil, err
	}
	var id int64
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE email = $1`, nu.Email).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return tandem.Errorf(tandem.EConflict, "a user with email %s exists already", nu.Email)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO users (email, name, team, role, manager, daily_cap, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id`,
			nu.Email, nu.Name, nu.Team, nu.Role, nu.Manager, nu.DailyCap, true, micros(now)).Scan(&id)
	})
	if uniqueViolation(err) {
		// Another request created the same user between the check and the insert.
		return nil, tandem.Errorf(tandem.EConflict, "a user with email %s exists already", nu.Email)
	}
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	return db.User(ctx, id)
}

// uniqueViolation reports whether err is a unique constraint refusing a row, on either
// engine.
func uniqueViolation(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// User returns one user with their coming out-of-office windows and routing teams.
func (db *DB) User(ctx context.Context, id int64) (*tandem.User, error) {
	u, err := rowByID(ctx, db.read, "user", `SELECT `+userColumns+` FROM users WHERE id = $1`, id, "", scanUser)
	if err != nil {
		return nil, err
	}
	if err := db.withAway(ctx, []*tandem.User{u}); err != nil {
		return nil, err
	}
	return u, nil
}

// Users lists every user by email.
func (db *DB) Users(ctx context.Context) ([]*tandem.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	defer rows.Close()
	list := []*tandem.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		list = append(list, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return list, db.withAway(ctx, list)
}

// withAway fills in users' out-of-office windows that have not ended and the routing
// teams of the active agreement they belong to.
func (db *DB) withAway(ctx context.Context, users []*tandem.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[int64]*tandem.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	rows, err := db.read.QueryContext(ctx, `SELECT id, user_id, starts_at, ends_at, note FROM away WHERE ends_at > $1 ORDER BY starts_at, id`,
		micros(db.Now()))
	if err != nil {
		return fmt.Errorf("away: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a          tandem.Away
			user       int64
			start, end int64
		)
		if err := rows.Scan(&a.ID, &user, &start, &end, &a.Note); err != nil {
			return fmt.Errorf("away: %w", err)
		}
		a.Start, a.End = fromMicros(start), fromMicros(end)
		if u := byID[user]; u != nil {
			u.Away = append(u.Away, a)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("away: %w", err)
	}
	act, err := db.activeIn(ctx, db.read)
	if err != nil || act == nil {
		return err
	}
	for _, t := range act.agreement.Teams {
		for _, m := range t.Members {
			for _, u := range users {
				if u.Email == m.Rep && !slices.Contains(u.Teams, t.Name) {
					u.Teams = append(u.Teams, t.Name)
				}
			}
		}
	}
	return nil
}

// UpdateUser changes the fields of c that are set.
func (db *DB) UpdateUser(ctx context.Context, id int64, c tandem.UserChange) (*tandem.User, error) {
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		u, err := rowByID(ctx, tx, "user", `SELECT `+userColumns+` FROM users WHERE id = $1`, id, "", scanUser)
		if err != nil {
			return err
		}
		set(&u.Name, c.Name)
		set(&u.Team, c.Team)
		set(&u.Role, c.Role)
		set(&u.Manager, c.Manager)
		set(&u.DailyCap, c.DailyCap)
		set(&u.Active, c.Active)
		if err := checkUser(u); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET name = $1, team = $2, role = $3, manager = $4, daily_cap = $5, active = $6,
			updated_at = $7 WHERE id = $8`, u.Name, u.Team, u.Role, u.Manager, u.DailyCap, u.Active, micros(now), id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update user %d: %w", id, err)
	}
	return db.User(ctx, id)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// AddAway records an out-of-office window of a user.
func (db *DB) AddAway(ctx context.Context, userID int64, a tandem.Away) (*tandem.Away, error) {
	if a.Start.IsZero() || a.End.IsZero() || !a.Start.Before(a.End) {
		return nil, tandem.Errorf(tandem.EInvalid, "from and until: want two times, from before until")
	}
	a.Note = strings.TrimSpace(a.Note)
	if len(a.Note) > 500 {
		return nil, tandem.Errorf(tandem.EInvalid, "note: at most 500 characters")
	}
	a.Start, a.End = a.Start.UTC().Truncate(time.Microsecond), a.End.UTC().Truncate(time.Microsecond)
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = $1`, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return tandem.Errorf(tandem.ENotFound, "user %d not found", userID)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO away (user_id, starts_at, ends_at, note) VALUES ($1, $2, $3, $4) RETURNING id`,
			userID, micros(a.Start), micros(a.End), a.Note).Scan(&a.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("add away: %w", err)
	}
	return &a, nil
}

// DeleteAway removes an out-of-office window.
func (db *DB) DeleteAway(ctx context.Context, userID, awayID int64) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM away WHERE id = $1 AND user_id = $2`, awayID, userID)
		if err != nil {
			return fmt.Errorf("delete away: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tandem.Errorf(tandem.ENotFound, "away window %d of user %d not found", awayID, userID)
		}
		return nil
	})
}
