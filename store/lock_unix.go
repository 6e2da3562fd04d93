//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path, created if missing, or fails at once if
// another process holds it. Closing the file releases the lock, as does the process's
// death, so a crash never leaves the store locked.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another tandem process (serve or demo) is ingesting into this SQLite store; stop it first, or use PostgreSQL for several at once")
		}
		return nil, fmt.Errorf("ingest lock: %w", err)
	}
	return f, nil
}
