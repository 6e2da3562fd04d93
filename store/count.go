package store

import (
	"context"
	"fmt"
)

// CountEvents returns the number of events stored, from every source, attributed to a
// contact or still anonymous.
func (db *DB) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}
