package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"tandem"
	"tandem/store"
)

// rescore rescores every contact under the active agreement, in this process, with a
// progress bar; if a server is rescoring already, it shows that one's progress.
func rescore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rescore", stderr)
	var sf storeFlags
	sf.register(fs)
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	fromEvents := fs.Bool("from-events", false, "read every event rather than replay the score record the last such rescore kept")
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
	if *fromEvents {
		// Started here, the rescore below claims it, or follows a server that did.
		if _, err := db.StartRescore(ctx, store.FromEvents); err != nil {
			return err
		}
	}
	progress, finish := rescoreBars(stderr)
	r, err := db.Rescore(ctx, progress)
	finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "rescore of agreement version %d: %s, %s contacts in %s\n", r.Version, r.State, commas(r.Done), shortDuration(rescoreTook(r)))
	if r.State != "done" {
		return fmt.Errorf("rescore %s: %s", r.State, r.Error)
	}
	return nil
}

// rescoreBars shows a rescore's progress: a bar for reading the events, then one for
// writing the contacts' scores. Call the function it returns when the rescore returns.
func rescoreBars(w io.Writer) (store.Progress, func()) {
	var (
		bar   *progress
		phase string
		seen  int64
	)
	labels := map[string][2]string{"events": {"reading", "events"}, "contacts": {"scoring", "contacts"}}
	report := func(p string, done, total int64) {
		if p != phase {
			if bar != nil {
				bar.Finish()
			}
			l := labels[p]
			bar, phase, seen = newProgress(w, l[0], l[1], total, 0), p, 0
			bar.Start()
		}
		bar.Add(done - seen)
		seen = done
	}
	return report, func() {
		if bar != nil {
			bar.Finish()
		}
	}
}

// rescoreTook is how long a rescore ran, or has run so far.
func rescoreTook(r *tandem.Rescore) time.Duration {
	if r.FinishedAt != nil {
		return r.FinishedAt.Sub(r.StartedAt)
	}
	return r.UpdatedAt.Sub(r.StartedAt)
}
