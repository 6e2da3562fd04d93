package main

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// rescore rescores every contact under the active agreement, in this process, with a
// progress bar; if a server is rescoring already, it shows that one's progress.
func rescore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rescore", stderr)
	var sf storeFlags
	sf.register(fs)
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, sf, log, false)
	if err != nil {
		return err
	}
	defer db.Close()
	var (
		once sync.Once
		bar  *progress
		seen int64
	)
	r, err := db.Rescore(ctx, func(done, total int64) {
		once.Do(func() {
			bar = newProgress(stderr, "rescore", "contacts", total, 0)
			bar.Start()
		})
		bar.Add(done - seen)
		seen = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	took := r.UpdatedAt.Sub(r.StartedAt)
	if r.FinishedAt != nil {
		took = r.FinishedAt.Sub(r.StartedAt)
	}
	fmt.Fprintf(stdout, "rescore of agreement version %d: %s, %d contacts in %s\n", r.Version, r.State, r.Done, took.Round(1e6))
	if r.State != "done" {
		return fmt.Errorf("rescore %s: %s", r.State, r.Error)
	}
	return nil
}
