package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tandem"
)

// rowByID reads the one row of query (which selects by id as $1, lock appended) with
// scan; a missing row is NotFound, naming it as noun and id.
func rowByID[T any](ctx context.Context, q querier, noun, query string, id int64, lock string, scan func(interface{ Scan(...any) error }) (T, error)) (T, error) {
	v, err := scan(q.QueryRowContext(ctx, query+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return v, tandem.Errorf(tandem.ENotFound, "%s %d not found", noun, id)
	}
	if err != nil {
		return v, fmt.Errorf("%s %d: %w", noun, id, err)
	}
	return v, nil
}

// rowsOf runs query and reads every row with scan, in order: an empty list, never nil,
// when there is none. Errors name what was read as noun.
func rowsOf[T any](ctx context.Context, q querier, noun, query string, args []any, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", noun, err)
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", noun, err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", noun, err)
	}
	return list, nil
}

// scanID scans a row of one id.
func scanID(s interface{ Scan(...any) error }) (id int64, err error) { return id, s.Scan(&id) }

// lastEvent returns the id of the last event stored, 0 when there is none.
func lastEvent(ctx context.Context, q querier) (id int64, err error) {
	err = q.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id)
	return id, err
}
