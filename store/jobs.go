package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// Durable jobs: SLA timers and notification deliveries live in the jobs table,
// enqueued in the transaction whose change causes them (a transactional outbox), so a
// crash never loses one. Any number of processes work the queue: a process claims a
// due job by leasing it (PostgreSQL skips rows another claim holds, with FOR UPDATE SKIP
// LOCKED; SQLite has one writer), and a job whose lease ran out because its process
// died is claimed again. A job's effect commits in the same transaction that marks it
// done, and only while its lease holds, so a timer acts exactly once however many
// processes run.
//
// The queue is a table of this store rather than a job library: the jobs must be
// enqueued inside the store's own transactions on both engines, and the one maintained
// library with both drivers (river) calls its SQLite driver early testing and would need
// a second schema and connection setup for each engine.

// The kinds of job.
const (
	jobWarn    = "sla.warn"   // the accept clock of an assignment is about to run out
	jobBreach  = "sla.breach" // the accept clock ran out
	jobDeliver = "deliver"    // send a notification over a channel
)

// jobRef is a job's payload: what it acts on.
type jobRef struct {
	Assignment   int64 `json:"assignment,omitempty"`
	Notification int64 `json:"notification,omitempty"`
	Channel      int64 `json:"channel,omitempty"`
}

const (
	// jobAttempts is how often a failing timer job is tried before it is given up.
	jobAttempts = 8
)

// enqueue adds a job to run at runAt. ref, when not zero, is the assignment it acts on,
// so that acting on the assignment can cancel it.
//
// A delivery due now, enqueued while this process runs the queue (RunJobs), is leased to
// this process as it is enqueued and handed to the runner as soon as its transaction
// commits: the webhook need not wait for a claim, which on SQLite queues behind ingest
// commits for the one writer. If the process dies first, the lease runs out and any
// process delivers it.
func enqueue(ctx context.Context, tx *sql.Tx, db *DB, kind string, payload jobRef, ref int64, runAt, now time.Time) error {
	raw, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	due := !runAt.After(now)
	if kind == jobDeliver && due && db.dispatching.Load() {
		j := &job{kind: kind, ref: payload, attempts: 1, runAt: micros(runAt), owner: db.owner, leaseUntil: micros(now.Add(db.JobLease))}
		if err := tx.QueryRowContext(ctx, `INSERT INTO jobs (kind, payload, state, run_at, ref, created_at, attempts, owner, lease_until)
			VALUES ($1, $2, 'running', $3, $4, $5, 1, $6, $7) RETURNING id`,
			kind, string(raw), micros(runAt), nullID(ref), micros(now), db.owner, micros(now.Add(db.JobLease))).Scan(&j.id); err != nil {
			return fmt.Errorf("enqueue %s: %w", kind, err)
		}
		db.preMu.Lock()
		db.pre[tx] = append(db.pre[tx], j)
		db.preMu.Unlock()
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, payload, state, run_at, ref, created_at) VALUES ($1, $2, 'pending', $3, $4, $5)`,
		kind, string(raw), micros(runAt), nullID(ref), micros(now)); err != nil {
		return fmt.Errorf("enqueue %s: %w", kind, err)
	}
	if due {
		db.jobsDue.Store(true)
	}
	return nil
}

// committed hands the runner the deliveries tx leased to this process, now that they
// are stored, and wakes it for other work due now; ended forgets what a transaction that
// did not commit enqueued.
func (db *DB) committed(tx *sql.Tx) {
	db.preMu.Lock()
	jobs := db.pre[tx]
	delete(db.pre, tx)
	db.preMu.Unlock()
	if len(jobs) > 0 {
		select {
		case db.dispatch <- jobs:
		default:
			// The runner is far behind: the leases run out and claims take them.
		}
	}
	db.kickJobs()
}

func (db *DB) ended(tx *sql.Tx) {
	db.preMu.Lock()
	delete(db.pre, tx)
	db.preMu.Unlock()
}

// cancelJobs cancels the pending timers of an assignment.
func cancelJobs(ctx context.Context, tx *sql.Tx, assignment int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'canceled', finished_at = $1 WHERE ref = $2 AND state = 'pending' AND kind IN ($3, $4)`,
		micros(now), assignment, jobWarn, jobBreach)
	if err != nil {
		return fmt.Errorf("cancel timers of assignment %d: %w", assignment, err)
	}
	return nil
}

// kickJobs wakes this process's job runner, after a commit that enqueued work due now.
func (db *DB) kickJobs() {
	if db.jobsDue.Swap(false) {
		select {
		case db.jobKick <- struct{}{}:
		default:
		}
	}
}

// job is a claimed job.
type job struct {
	id       int64
	kind     string
	ref      jobRef
	attempts int
	runAt    int64
	owner    string
	// leaseUntil is when the lease ends, in Unix microseconds; a delivery not begun by
	// then is left to whoever claims it next.
	leaseUntil int64
}

// errJobLeaseLost stops a job whose lease another process took over.
var errJobLeaseLost = errors.New("job lease lost")

// claimJobs leases up to n due jobs to owner.
func (db *DB) claimJobs(ctx context.Context, owner string, n int) ([]*job, error) {
	var out []*job
	err := db.txAside(ctx, func(tx *sql.Tx, now time.Time) error {
		// Jobs of processes that died go back to the queue.
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'pending', owner = '' WHERE state = 'running' AND lease_until < $1`, micros(now)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE jobs SET state = 'running', owner = $1, lease_until = $2, attempts = attempts + 1
			WHERE id IN (SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $3 ORDER BY run_at, id LIMIT $4`+db.dialect.skipLocked()+`)
			RETURNING id, kind, payload, attempts, run_at`, owner, micros(now.Add(db.JobLease)), micros(now), n)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j := &job{owner: owner, leaseUntil: micros(now.Add(db.JobLease))}
			var raw string
			if err := rows.Scan(&j.id, &j.kind, &raw, &j.attempts, &j.runAt); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(raw), &j.ref); err != nil {
				return fmt.Errorf("job %d: %w", j.id, err)
			}
			out = append(out, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING gives no order; jobs run in the order they were due, so that people
	// hear of a rejection before the recycle it caused.
	slices.SortFunc(out, func(x, y *job) int { return cmp.Or(cmp.Compare(x.runAt, y.runAt), cmp.Compare(x.id, y.id)) })
	return out, nil
}

// finishJob marks j done within tx, or returns errJobLeaseLost if another process has
// taken it over, so that tx's effects are rolled back.
func finishJob(ctx context.Context, tx *sql.Tx, j *job, now time.Time) error {
	res, err := tx.ExecContext(ctx, `UPDATE jobs SET state = 'done', finished_at = $1 WHERE id = $2 AND owner = $3 AND attempts = $4 AND state = 'running'`,
		micros(now), j.id, j.owner, j.attempts)
	if err != nil {
		return fmt.Errorf("finish job %d: %w", j.id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errJobLeaseLost
	}
	return nil
}

// retryJob puts j back in the queue to run at, or gives it up when at is zero.
func (db *DB) retryJob(ctx context.Context, j *job, at time.Time, cause error) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		state, runAt, finished := "pending", micros(at), any(nil)
		if at.IsZero() {
			state, runAt, finished = "failed", micros(now), micros(now)
		}
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET state = $1, run_at = $2, finished_at = $3, last_error = $4, owner = ''
			WHERE id = $5 AND owner = $6 AND attempts = $7 AND state = 'running'`,
			state, runAt, finished, truncate(cause.Error(), 1000), j.id, j.owner, j.attempts)
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// WorkJobs runs the jobs that are due now, as owner, and returns how many it ran.
func (db *DB) WorkJobs(ctx context.Context, owner string, log *slog.Logger) (int, error) {
	total := 0
	for {
		jobs, err := db.claimJobs(ctx, owner, 32)
		if err != nil {
			return total, err
		}
		if len(jobs) == 0 {
			return total, nil
		}
		// Deliveries wait on other servers, so they go out side by side; timers act in
		// the order they fell due.
		var (
			wg    sync.WaitGroup
			sends []*job
		)
		for _, j := range jobs {
			if j.kind == jobDeliver {
				sends = append(sends, j)
				continue
			}
			db.work(ctx, j, log)
		}
		db.send(ctx, sends, &wg, log)
		wg.Wait()
		total += len(jobs)
		if ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// send delivers jobs, each channel's in order and the channels side by side, at most
// cap(db.deliveries) at once; wg tracks them.
func (db *DB) send(ctx context.Context, jobs []*job, wg *sync.WaitGroup, log *slog.Logger) {
	var channels []int64
	byChannel := map[int64][]*job{}
	for _, j := range jobs {
		if byChannel[j.ref.Channel] == nil {
			channels = append(channels, j.ref.Channel)
		}
		byChannel[j.ref.Channel] = append(byChannel[j.ref.Channel], j)
	}
	for _, c := range channels {
		db.deliveries <- struct{}{}
		wg.Go(func() {
			defer func() { <-db.deliveries }()
			for _, j := range byChannel[c] {
				db.work(ctx, j, log)
			}
		})
	}
}

// work runs a claimed job, and if it fails puts it back in the queue for a later try.
func (db *DB) work(ctx context.Context, j *job, log *slog.Logger) {
	if j.kind == jobDeliver && db.Now().Add(db.JobLease/2).After(fromMicros(j.leaseUntil)) {
		// Too little of the lease is left for a send (deliver gives one half of it):
		// the job is left to the claim that follows its lease.
		return
	}
	err := db.runJob(ctx, j)
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.Is(err, errJobLeaseLost):
		log.Warn("job taken over by another process", "job", j.id, "kind", j.kind)
	default:
		delay := time.Duration(1<<min(j.attempts, 10)) * time.Second
		var at time.Time
		if j.attempts < jobAttempts {
			at = db.Now().Add(delay)
		}
		log.Error("job failed", "job", j.id, "kind", j.kind, "attempt", j.attempts, "err", err)
		if err := db.retryJob(ctx, j, at, err); err != nil {
			log.Error("job retry", "job", j.id, "err", err)
		}
	}
}

func (db *DB) runJob(ctx context.Context, j *job) error {
	switch j.kind {
	case jobWarn:
		return db.warn(ctx, j)
	case jobBreach:
		return db.breach(ctx, j)
	case jobDeliver:
		return db.deliver(ctx, j)
	}
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		return finishJob(ctx, tx, j, now) // a kind this version does not know: drop it
	})
}

// RunJobs works the queue until ctx ends: at once when this process enqueued work due
// now, at the next due time it knows of, and at least every poll to pick up what other
// processes scheduled.
func (db *DB) RunJobs(ctx context.Context, poll time.Duration, log *slog.Logger) {
	db.dispatching.Store(true)
	var sent sync.WaitGroup
	defer func() {
		db.dispatching.Store(false)
		sent.Wait()
		// Jobs this process leased and did not get to go back to the queue now,
		// rather than when their leases run out.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := db.write.ExecContext(rctx, `UPDATE jobs SET state = 'pending', owner = '' WHERE state = 'running' AND owner = $1`, db.owner); err != nil {
			log.Warn("jobs: releasing leases on stop", "err", err)
		}
	}()
	sent.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case jobs := <-db.dispatch:
				db.send(ctx, jobs, &sent, log)
			}
		}
	})
	owner := db.owner
	for {
		if _, err := db.WorkJobs(ctx, owner, log); err != nil && ctx.Err() == nil {
			log.Error("jobs", "err", err)
		}
		wait := poll
		if next, ok, err := db.nextJob(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(db.Now()), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-db.jobKick:
		case <-t.C:
		}
		t.Stop()
	}
}

// nextJob returns when the earliest pending job is due.
func (db *DB) nextJob(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := db.read.QueryRowContext(ctx, `SELECT min(run_at) FROM jobs WHERE state = 'pending'`).Scan(&at); err != nil {
		return time.Time{}, false, err
	}
	return fromMicros(at.Int64), at.Valid, nil
}

// jobOwner names this process in the leases it takes.
func jobOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
