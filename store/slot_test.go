package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// A SQLite write that waits behind another gives up when its caller does, rather than
// waiting out the transaction ahead of it.
func TestWriteWaitEndsWithContext(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inside, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.tx(context.Background(), func(*sql.Tx, time.Time) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = db.tx(ctx, func(*sql.Tx, time.Time) error {
		t.Error("ran while another transaction held the store")
		return nil
	})
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting write: got %v, want the context's deadline", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first write: %v", err)
	}
}
