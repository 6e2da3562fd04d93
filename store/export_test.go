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

// ForgetAddress deletes the row that knows a contact by email address, which nothing
// but a damaged store lacks: tests use it to reach what only such a store allows.
func (db *DB) ForgetAddress(ctx context.Context, email string) error {
	_, err := db.write.ExecContext(ctx, `DELETE FROM identities WHERE kind = 'email' AND value = $1`, email)
	return err
}

// SetLogRestart sets the length of a SQLite store's write-ahead log, in pages, past
// which the checkpointer restarts it.
func (db *DB) SetLogRestart(pages int) {
	db.checkpointer.restartAt.Store(int64(pages))
}
