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
