package store

import (
	"context"
	"database/sql"
	"time"
)

// RemarkTouches drops the touch marks and makes them again from the events, as the
// migration that made them does for a store upgraded to it.
func (db *DB) RemarkTouches(ctx context.Context) error {
	return db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		if _, err := tx.ExecContext(ctx, `DROP TABLE touch_marks`); err != nil {
			return err
		}
		return touchMarksUp(db.dialect.name())(ctx, tx)
	})
}
