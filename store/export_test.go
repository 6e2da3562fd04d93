package store

import (
	"context"
	"database/sql"
	"time"
)

// RetagTouches clears the events' touch tags and the contacts' lead times and sets them
// again from the events, as the migration that added them does for an upgraded store.
func (db *DB) RetagTouches(ctx context.Context) error {
	return db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		for _, q := range []string{`UPDATE events SET touch = NULL`, `UPDATE contacts SET lead_at = NULL`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return fillTouches(ctx, tx, db.dialect.name(), nil)
	})
}

// BeforeImportCreates runs f in each contacts import batch between the reading of what
// the batch names and the creating of its new people, until the returned func is called.
func BeforeImportCreates(f func()) (restore func()) {
	testHookBeforeCreate = f
	return func() { testHookBeforeCreate = nil }
}
