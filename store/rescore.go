package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/scoring"
)

// Rescoring: activating a version inserts a rescores row in the activating transaction,
// so a crash cannot lose it. A process works on a rescore while it holds its lease,
// renewed with every batch, and resumes from the last contact id it committed; a lease
// that lapses (its process died) lets another process carry on.
//
// While it runs, ingest keeps going: a contact that gets an event before the rescore
// reaches it is scored afresh by that ingest transaction, and the rescore's own write
// skips contacts already scored under the version, so no event is counted twice or lost
// between the rescore reading a contact and writing it.

const (
	// rescoreBatch is how many contacts a rescore settles and writes at a time on
	// SQLite. Ingest does not wait for a batch there: the writer commits every
	// rescorePiece contacts while another writer waits. Alone, the writer goes on with
	// the next batches in the same transaction (see writeRescoreBatch); a batch is what
	// the settling goroutines hold in memory. On PostgreSQL no writer is seen waiting
	// (other nodes wait for the ingest lock), a batch is one transaction, split only
	// while this process ingests busily, and so it stays at 2,000, which holds ingest a
	// fifth as long.
	rescoreBatch       = 10000
	rescoreBatchShared = 2000
	rescoreLease       = 30 * time.Second
	// rescoreNoteEvery is how often the first phase records its progress. Each record
	// is a commit, and on SQLite readers slow down after every commit they see (the
	// first phase read 30 % slower writing once a second).
	rescoreNoteEvery = 5 * time.Second
)

// startRescore starts a rescore of version in tx, which holds the ingest lock. fresh says
// the version was never active before, so that no contact holds its scores.
func (db *DB) startRescore(ctx context.Context, tx *sql.Tx, version int, now time.Time, fresh bool) error {
	db.scoreGen.Add(1)
	if _, err := tx.ExecContext(ctx, `UPDATE rescores SET state = 'canceled', error = $1, finished_at = $2, updated_at = $2
		WHERE state = 'running'`, fmt.Sprintf("version %d was activated", version), micros(now)); err != nil {
		return fmt.Errorf("start rescore: %w", err)
	}
	// A rescore's writes skip contacts already scored under the version, so contacts
	// scored under it before (a version activated again, a deliberate rerun) are marked
	// stale first. That looks at every contact, with ingest held, so it is skipped for
	// a version active for the first time.
	if !fresh {
		if err := resetLabels(ctx, tx, version); err != nil {
			return err
		}
	}
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM contacts`).Scan(&total); err != nil {
		return fmt.Errorf("start rescore: %w", err)
	}
	// The transaction holds the ingest lock: every event up to this one was counted
	// under the version before, and none after it was.
	events, err := lastEvent(ctx, tx)
	if err != nil {
		return fmt.Errorf("start rescore: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rescores (version, state, total, started_at, updated_at, events_upto) VALUES ($1, 'running', $2, $3, $3, $4)`,
		version, total, micros(now), events); err != nil {
		return fmt.Errorf("start rescore: %w", err)
	}
	return nil
}

func (db *DB) kickRescore() {
	select {
	case db.rescoreKick <- struct{}{}:
	default:
	}
}

const rescoreColumns = `id, version, state, phase, events_done, events_total, done, total, started_at, updated_at, finished_at, error`

func scanRescore(s interface{ Scan(...any) error }) (*tandem.Rescore, error) {
	var (
		r            tandem.Rescore
		started, upd int64
		finished     sql.NullInt64
	)
	if err := s.Scan(&r.ID, &r.Version, &r.State, &r.Phase, &r.EventsDone, &r.EventsTotal, &r.Done, &r.Total, &started, &upd, &finished, &r.Error); err != nil {
		return nil, err
	}
	r.StartedAt, r.UpdatedAt = fromMicros(started), fromMicros(upd)
	if finished.Valid {
		t := fromMicros(finished.Int64)
		r.FinishedAt = &t
	}
	r.Done = min(r.Done, r.Total) // contacts created meanwhile were scored by ingest
	return &r, nil
}

// LatestRescore returns the most recent rescore.
func (db *DB) LatestRescore(ctx context.Context) (*tandem.Rescore, error) {
	r, err := scanRescore(db.read.QueryRowContext(ctx, `SELECT `+rescoreColumns+` FROM rescores ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "no rescore has run: one starts when an agreement version is activated")
	}
	if err != nil {
		return nil, fmt.Errorf("latest rescore: %w", err)
	}
	return r, nil
}

// RescoreFrom is what a rescore by hand weighs the events from.
type RescoreFrom int

const (
	// FromRecord replays the score record where it holds, and reads every event where
	// it does not.
	FromRecord RescoreFrom = iota
	// FromEvents reads every event and keeps a new record, should the record ever be in
	// doubt.
	FromEvents
)

// StartRescore starts rescoring every contact under the active version again, unless a
// rescore of it is running, and returns the rescore. A rescore from the events is
// refused while one runs, which may be replaying the record.
func (db *DB) StartRescore(ctx context.Context, from RescoreFrom) (*tandem.Rescore, error) {
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		var version int
		err := tx.QueryRowContext(ctx, `SELECT version FROM agreements WHERE status = 'active'`).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) {
			return tandem.Errorf(tandem.ENotFound, "no agreement is active, so there is nothing to rescore under")
		}
		if err != nil {
			return fmt.Errorf("start rescore: %w", err)
		}
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rescores WHERE state = 'running' AND version = $1`, version).Scan(&running); err != nil {
			return fmt.Errorf("start rescore: %w", err)
		}
		switch {
		case running > 0 && from == FromEvents:
			return tandem.Errorf(tandem.EConflict, "a rescore of agreement version %d is running; ask for one from the events when it has ended", version)
		case running > 0:
			return nil
		case from == FromEvents:
			if err := dropRecord(ctx, tx); err != nil {
				return err
			}
		}
		return db.startRescore(ctx, tx, version, now, false)
	})
	if err != nil {
		return nil, err
	}
	db.kickRescore()
	return db.LatestRescore(ctx)
}

// RunRescores works on rescores until ctx ends: those this process starts, and those
// another process left unfinished.
func (db *DB) RunRescores(ctx context.Context, log *slog.Logger) {
	poll := time.NewTicker(5 * time.Second)
	defer poll.Stop()
	failures := map[int64]int{} // by rescore id
	for {
		job, err := db.claimRescore(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("rescore", "err", err)
		case job != nil:
			start := time.Now()
			err := db.runRescore(ctx, job, nil)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				failures[job.ID]++
				log.Error("rescore failed", "version", job.Version, "attempt", failures[job.ID], "err", err)
				if failures[job.ID] >= maxRescoreAttempts {
					_ = db.finishRescore(ctx, job, "failed", err.Error())
				}
			default:
				log.Info("rescored", "version", job.Version, "contacts", job.Total, "took", time.Since(start).Round(time.Millisecond))
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-db.rescoreKick:
		case <-poll.C:
		}
	}
}

// rescoreJob is a claimed rescore.
type rescoreJob struct {
	tandem.Rescore
	cursor int64
	owner  string     // this claim's lease owner
	anchor int64      // the engagement anchor the job scores against
	mu     sync.Mutex // guards noted
	noted  time.Time  // when the first phase's progress was last written
	// sumsAt is when the first phase began reading (or, when nothing is read, when the
	// rescore began), in Unix microseconds: a contact whose stage a sales action moved
	// since has sums that may not hold any more.
	sumsAt int64
	// eventsUpTo is the last event stored when the rescore began, 0 if unknown (a
	// rescore begun by an older binary).
	eventsUpTo int64
	// labels are the scored_version labels contacts had when it planned: at its end,
	// the contacts it left alone hold its scores under any of them (see carried.go).
	labels []int
	// rec is the score record it writes, if it does (see record.go).
	rec *recorder
}

// claimRescore takes the lease of a running rescore nobody works on, if there is one.
func (db *DB) claimRescore(ctx context.Context) (*rescoreJob, error) {
	var job *rescoreJob
	err := db.txAside(ctx, func(tx *sql.Tx, now time.Time) error {
		var j rescoreJob
		err := tx.QueryRowContext(ctx, `SELECT id, version, done, total, cursor, events_upto FROM rescores
			WHERE state = 'running' AND lease_until < $1 ORDER BY id DESC LIMIT 1`, micros(now)).
			Scan(&j.ID, &j.Version, &j.Done, &j.Total, &j.cursor, &j.eventsUpTo)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("claim rescore: %w", err)
		}
		j.owner = rand.Text()
		res, err := tx.ExecContext(ctx, `UPDATE rescores SET lease_until = $1, owner = $2 WHERE id = $3 AND lease_until < $4`,
			micros(now.Add(rescoreLease)), j.owner, j.ID, micros(now))
		if err != nil {
			return fmt.Errorf("claim rescore: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			job = &j
		}
		return nil
	})
	return job, err
}

// Rescore runs the rescore of the active version to its end in this process, claiming
// it (or starting one if none runs), and calls progress after each batch. If another
// process holds the rescore's lease, it follows that one's progress instead.
func (db *DB) Rescore(ctx context.Context, progress Progress) (*tandem.Rescore, error) {
	if _, err := db.StartRescore(ctx, FromRecord); err != nil {
		return nil, err
	}
	for {
		job, err := db.claimRescore(ctx)
		if err != nil {
			return nil, err
		}
		if job != nil {
			if err := db.runRescore(ctx, job, progress); err != nil {
				return nil, err
			}
			r, err := db.LatestRescore(ctx)
			if err != nil || r.State != "running" {
				return r, err
			}
			continue // the agreement changed under it: claim it again
		}
		r, err := db.LatestRescore(ctx)
		if err != nil {
			return nil, err
		}
		if progress != nil {
			if r.Phase == "events" {
				progress("events", r.EventsDone, r.EventsTotal)
			} else {
				progress("contacts", r.Done, r.Total)
			}
		}
		if r.State != "running" {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// touched lists, for a sparse rescore (see carryOver.sparse), the contacts after the
// cursor that may come out changed: those to whom the rules counted again gave
// something, those with a line of a rule rescaled or dropped, and those scored under
// neither version. The rest keep their rows as they are, which the rescore's end
// carries (see carried.go): a version that changes one page rule's condition reads
// the few contacts with such pages, not the whole contacts table.
func (db *DB) touched(ctx context.Context, a *active, carry *carryOver, sums *eventSums, after int64) ([]int64, error) {
	var ids []int64
	for i := range sums.sums {
		if s := &sums.sums[i]; s.eng != 0 || len(s.caps) > 0 {
			if id := sums.base + int64(i); id > after {
				ids = append(ids, id)
			}
		}
	}
	args := []any{after}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	cond := `scored_version NOT IN ` + labelsIn(append([]int{a.version, carry.from}, carry.alias...))
	if len(carry.lined) > 0 {
		cond += ` OR ` + db.dialect.holds(&agreement.Needles{Root: "score_caps", Any: carry.lined}, arg)
	}
	listed, err := rowsOf(ctx, db.read, "rescore", `SELECT id FROM contacts WHERE id > $1 AND (`+cond+`)`, args,
		scanID)
	if err != nil {
		return nil, err
	}
	ids = append(ids, listed...)
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// batch is one batch of a rescore: the contact ids it covers, then their new scores.
type batch struct {
	seq    int
	ids    []int64
	scores []*contactScore
	err    error
}

// Progress reports how far a rescore is: the phase ("events" or "contacts") and the
// count done of the total in that phase.
type Progress func(phase string, done, total int64)

// runRescore rescores every contact in two phases. When the stored engagement carries
// over (see carryOver), the first reads only the events of the rules counted again, or
// is skipped when there are none.
//
// The first reads every event once, in the order they are stored, and adds up each
// contact's engagement and capped rules' state in memory: one sequential pass, where
// reading each contact's events by the contact index touched a random page of the table
// for nearly every event, five times slower on a store of ten million. Events that
// change after the pass read them (a visitor's events joining a contact, a merge, new
// events) belong to contacts that ingest rescores by themselves, which the second
// phase's writes then skip, as they skip anything already scored under the version.
//
// The second phase writes contacts in batches by id: one goroutine per core reads
// profiles and settles grades and stages while the caller's goroutine writes the
// batches in order, so the cursor it commits with each is where a resumed rescore
// picks up. A resumed rescore plans again, and if it reads the events, keeps only the
// contacts after it.
func (db *DB) runRescore(ctx context.Context, job *rescoreJob, progress Progress) error {
	a, err := db.activeIn(ctx, db.read)
	if err != nil {
		return err
	}
	if a == nil || a.version != job.Version {
		return db.finishRescore(ctx, job, "canceled", "the version is no longer active")
	}
	job.anchor = a.anchor
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	carry, labels, err := db.planCarryOver(ctx, a, job.eventsUpTo)
	if err != nil {
		db.releaseRescore(context.WithoutCancel(ctx), job)
		return err
	}
	job.labels = labels
	sums := &eventSums{}
	// Before the first phase reads anything, the record's stale contacts too: a sales
	// action after this moves the stage after it, which the writes look for (resettle).
	job.sumsAt = micros(db.Now())
	switch {
	case carry == nil || carry.events:
		var rec *replayable
		if rec, err = db.replayableRecord(ctx, job, a); err != nil {
			break
		}
		if rec != nil {
			if testHookBeforeReplay != nil {
				testHookBeforeReplay()
			}
			sums, err = db.sumRecorded(ctx, job, a, rec, progress)
			if !errors.Is(err, errRecordDamaged) {
				break
			}
			if db.log != nil {
				db.log.Warn("rescore: the score record is damaged, so every event is read", "err", err)
			}
		}
		// From the first contact on, it records what it reads; resumed, it does not.
		sums, err = db.sumEvents(ctx, job, a, 0, job.cursor == 0 && job.eventsUpTo > 0 && !db.noRecord, progress)
	case carry.counting != nil:
		// Only what the version before counted: a later event that only an old rule
		// counts is in no stored sum, and one a new rule counts had its contact
		// scored afresh by ingest.
		sums, err = db.sumEvents(ctx, job, carry.counting, job.eventsUpTo, false, progress)
	}
	switch {
	case errors.Is(err, errCanceled), errors.Is(err, errLeaseLost):
		return nil // a newer version, or another process, took over
	case err != nil:
		db.releaseRescore(context.WithoutCancel(ctx), job)
		return err
	}
	var (
		todo     = make(chan batch)
		scored   = make(chan batch, 4)
		workers  = max(1, min(runtime.GOMAXPROCS(0), 4))
		cause    = fmt.Sprintf("agreement v%d", a.version)
		accounts = newAccountCache(rescoreAccounts)
		wg       sync.WaitGroup // the workers
		all      sync.WaitGroup // every goroutine below, which ends before this returns
	)
	// Stopped early, the workers may still be settling a batch: they are waited for,
	// so that none reads the store or its clock after the rescore has returned.
	defer func() {
		cancel()
		all.Wait()
	}()
	size := db.rescoreBatch
	if db.writing == nil {
		size = rescoreBatchShared
	}
	var only []int64 // in a sparse rescore, the contacts it reads
	if carry != nil && carry.sparse {
		if only, err = db.touched(ctx, a, carry, sums, job.cursor); err != nil {
			db.releaseRescore(context.WithoutCancel(ctx), job)
			return err
		}
		job.Total = job.Done + int64(len(only))
	}
	all.Go(func() {
		defer close(todo)
		cursor := job.cursor
		for seq := 0; ctx.Err() == nil; seq++ {
			var (
				ids []int64
				err error
			)
			switch {
			case carry != nil && carry.sparse:
				ids, only = only[:min(size, len(only))], only[min(size, len(only)):]
			default:
				ids, err = contactIDsAfter(ctx, db.read, cursor, size)
			}
			if err == nil && len(ids) == 0 {
				return
			}
			select {
			case todo <- batch{seq: seq, ids: ids, err: err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			cursor = ids[len(ids)-1]
		}
	})
	for range workers {
		wg.Go(func() {
			pace := newPacer(db)
			for b := range todo {
				if b.err == nil {
					b.scores, b.err = a.settleSums(ctx, db.read, db.dialect, b.ids, sums, carry, accounts, db.Now().UTC(), cause, pace)
				}
				select {
				case scored <- b:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	all.Go(func() {
		wg.Wait()
		close(scored)
	})
	batches := &inOrder{from: scored, pending: map[int]batch{}}
	pace := newPacer(db) // the writer's, which measures ingest's load from batch to batch
	if testHookWriterPacer != nil {
		testHookWriterPacer(pace)
	}
	for ctx.Err() == nil { // stopping: the batches settled meanwhile are not written
		b, ok := batches.take(nil)
		if !ok {
			break
		}
		if err := db.writeRescoreBatch(ctx, job, b, batches, pace, progress); err != nil {
			switch {
			case errors.Is(err, errCanceled), errors.Is(err, errLeaseLost):
				return nil // a newer version, or another process, took over
			case errors.Is(err, errAgreementChanged):
				db.releaseRescore(context.WithoutCancel(ctx), job)
				return nil // claimed again, it starts over from the cursor
			}
			db.releaseRescore(context.WithoutCancel(ctx), job)
			return fmt.Errorf("rescore: %w", err)
		}
	}
	if ctx.Err() != nil {
		// Another process, or this one started again, picks it up from the cursor.
		db.releaseRescore(context.WithoutCancel(ctx), job)
		return ctx.Err()
	}
	return db.finishRescore(ctx, job, "done", "")
}

// eventSum is what one contact's events add up to in a rescore's first phase. It is
// kept small, one per contact of the store: a million of them fit in tens of
// megabytes.
type eventSum struct {
	eng  float64
	caps []capLine // the capped rules that fired
}

type capLine struct {
	rule *agreement.EngagementRule
	line scoring.Line
}

// eventSums holds the sums of contacts base, base+1, …: contact ids are dense.
type eventSums struct {
	base int64
	sums []eventSum
}

func (s *eventSums) of(id int64) *eventSum {
	if i := id - s.base; i >= 0 && i < int64(len(s.sums)) {
		return &s.sums[i]
	}
	return nil
}

// chunk is a stretch of the events table as one reader read it.
type chunk struct {
	seq    int
	events []pastEvent
}

// pastEvent is an event as a rescore's first phase reads it. Its text columns are kept
// as the driver returns them, strings, which saves a copy of each of ten million
// property objects.
type pastEvent struct {
	id, contactID, ts int64
	eventFacts
}

// scanPastEvent scans a row of id, contact_id, timestamp, received_at, type, event, name
// and the active version's object columns.
func scanPastEvent(s interface{ Scan(...any) error }) (pastEvent, error) {
	var (
		e        pastEvent
		received int64
	)
	err := s.Scan(&e.id, &e.contactID, &e.ts, &received, &e.typ, &e.event, &e.name, &e.properties, &e.context)
	e.ts = scoringTime(e.ts, received)
	return e, err
}

// eventFacts is everything an engagement rule's `when` can see of an event, so rules
// give the same answer for events with the same facts.
type eventFacts struct{ typ, event, name, properties, context string }

func (e *eventFacts) ruleName() string { return ruleName(e.typ, e.event, e.name) }

// ruleMemo remembers which of an event's candidate rules hold for the facts it has
// seen. A site's page views repeat (the same paths, titles and referrers), so most of a
// rescore's events are answered by a map lookup rather than by decoding their
// properties and running each rule's condition. It is bounded: when full it starts
// over.
type ruleMemo struct {
	a   *active
	max int
	m   map[eventFacts][]*agreement.EngagementRule
}

func newRuleMemo(a *active, max int) *ruleMemo {
	return &ruleMemo{a: a, max: max, m: map[eventFacts][]*agreement.EngagementRule{}}
}

// rules returns the engagement rules that fire on e, before caps.
func (m *ruleMemo) rules(e *eventFacts) []*agreement.EngagementRule {
	rules := m.a.model.Candidates(e.typ, e.ruleName())
	if !slices.ContainsFunc(rules, func(r *agreement.EngagementRule) bool { return r.When != nil }) {
		return rules
	}
	if hit, ok := m.m[*e]; ok {
		return hit
	}
	env := agreement.Event{Type: e.typ, Event: e.event, Name: e.name}
	if m.a.readsProperties {
		env.Properties = decodeObject([]byte(e.properties))
	}
	if m.a.readsContext {
		env.Context = decodeObject([]byte(e.context))
	}
	hit := make([]*agreement.EngagementRule, 0, len(rules))
	for _, r := range rules {
		if r.When == nil || r.When.Eval(&env) {
			hit = append(hit, r)
		}
	}
	if len(m.m) >= m.max {
		clear(m.m)
	}
	m.m[*e] = hit
	return hit
}

// sumEvents is a rescore's first phase: it reads the events of contacts after the
// job's cursor, in the order they were stored, up to the event upTo (0: the last one),
// and adds up what the engagement rules give each contact. Contacts created after it
// starts are scored by ingest, so it keeps none for them. With record, it records the
// rules' hits as a new generation of the score record (see record.go), which the
// second phase writes.
func (db *DB) sumEvents(ctx context.Context, job *rescoreJob, a *active, upTo int64, record bool, progress Progress) (*eventSums, error) {
	// The record's stale marks are cleared first: a contact made, merged, joined by
	// a visitor's events or recycled after that is marked anew.
	var (
		rec *recorder
		err error
	)
	if record {
		if rec, err = db.startRecord(ctx, job, a); err != nil {
			return nil, err
		}
	}
	s, err := db.newSummer(ctx, job, a)
	if err != nil {
		return nil, err
	}
	if rec != nil {
		s.rec = rec.of(s.sums)
	}
	// The events after the generation's upto, were any read, go unrecorded: the next
	// rescore reads them.
	if err := db.readSums(ctx, job, a, s, 0, upTo, progress); err != nil {
		return nil, err
	}
	if s.rec != nil {
		s.rec.prev = nil
	}
	job.rec = s.rec
	return s.sums, nil
}

// summer adds up what a rescore's first phase reads for each contact.
type summer struct {
	a       *active
	sums    *eventSums
	since   map[int64]int64 // see engagedSince
	memo    *ruleMemo
	scratch scoring.Line
	pace    *pacer
	rec     *recorder      // if not nil, records the hits of the events it adds
	skip    map[int64]bool // contacts whose events it does not add
}

// newSummer returns a summer of job's contacts: those after its cursor, up to the last
// one stored.
func (db *DB) newSummer(ctx context.Context, job *rescoreJob, a *active) (*summer, error) {
	var lastContact int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&lastContact); err != nil {
		return nil, fmt.Errorf("rescore: %w", err)
	}
	since, err := engagedSince(ctx, db.read)
	if err != nil {
		return nil, err
	}
	return &summer{
		a:     a,
		sums:  &eventSums{base: job.cursor + 1, sums: make([]eventSum, max(0, lastContact-job.cursor))},
		since: since,
		memo:  newRuleMemo(a, 1<<14),
		pace:  newPacer(db),
	}, nil
}

// add adds events, which come in the order they were stored.
func (s *summer) add(events []pastEvent) {
	s.pace.resume()
	for i := range events {
		if i%yieldEvery == yieldEvery-1 {
			s.pace.pace()
		}
		e := &events[i]
		sum := s.sums.of(e.contactID)
		if sum == nil || s.skip[e.contactID] {
			continue
		}
		if t, ok := s.since[e.contactID]; ok && e.ts < t {
			continue // before sales sent the lead back: it earns the handoff anew
		}
		for _, r := range s.memo.rules(&e.eventFacts) {
			if s.fire(sum, r, e.ts) && s.rec != nil && e.id <= s.rec.upto {
				s.rec.add(e.contactID, r, e.ts)
			}
		}
	}
}

// fire adds to sum what rule r gives for an event at ts, and reports whether it fired.
func (s *summer) fire(sum *eventSum, r *agreement.EngagementRule, ts int64) bool {
	l := &s.scratch
	if r.Cap.Times > 0 {
		l = nil
		for i := range sum.caps {
			if sum.caps[i].rule == r {
				l = &sum.caps[i].line
			}
		}
		if l == nil {
			sum.caps = append(sum.caps, capLine{rule: r})
			l = &sum.caps[len(sum.caps)-1].line
		}
	}
	p, ok := s.a.model.Fire(l, r, time.UnixMicro(ts))
	sum.eng += p
	return ok
}

// readSums reads the events with ids in (from, upTo] (0: up to the last one) of the
// contacts after job's cursor, and adds them to s in the order they were stored.
func (db *DB) readSums(ctx context.Context, job *rescoreJob, a *active, s *summer, from, upTo int64, progress Progress) error {
	last := upTo
	if last == 0 {
		var err error
		if last, err = lastEvent(ctx, db.read); err != nil {
			return fmt.Errorf("rescore: %w", err)
		}
	}
	// Reading rows is most of this phase's work, so two goroutines read stretches of
	// the table, on their own read connections, while the rules take the stretches in
	// order, as the events arrived. Stretches are handed out in order and at most
	// `window` are out at once: read, waiting for an earlier one, or being scored. A
	// reader that ran ahead unchecked once held a gigabyte of stretches waiting.
	const window = 4
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stretch := db.rescoreStretch
	candidates := a.candidateEvents(db.dialect, 4) // after the three arguments of readEvents' own
	var (
		work    = make(chan int)
		slots   = make(chan struct{}, window)
		chunks  = make(chan chunk, window)
		readErr = make(chan error, 3) // each reader's, then the closer's nil
		report  sync.Mutex            // serializes progress calls
		read    atomic.Int64
		readers sync.WaitGroup
	)
	for range window {
		slots <- struct{}{}
	}
	go func() {
		defer close(work)
		for seq := 0; from+int64(seq)*stretch < last; seq++ {
			select {
			case <-slots:
			case <-ctx.Done():
				return
			}
			select {
			case work <- seq:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range 2 {
		readers.Go(func() {
			pace := newPacer(db)
			for seq := range work {
				after := from + int64(seq)*stretch
				events, err := db.readStretch(ctx, a, candidates, after, min(after+stretch, last), job.cursor, pace)
				if err != nil {
					readErr <- err
					cancel() // the other reader and the dispatcher stop too
					return
				}
				select {
				case chunks <- chunk{seq, events}:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
				n := read.Add(min(after+stretch, last) - after)
				if progress != nil {
					report.Lock()
					progress("events", n, last-from)
					report.Unlock()
				}
				db.noteEventsRead(ctx, job, n, last-from)
			}
		})
	}
	go func() {
		readers.Wait()
		close(chunks)
		readErr <- nil
	}()
	pending, next := map[int][]pastEvent{}, 0
	for c := range chunks {
		pending[c.seq] = c.events
		for events, ok := pending[next]; ok; events, ok = pending[next] {
			delete(pending, next)
			next++
			s.add(events)
			slots <- struct{}{}
		}
	}
	return <-readErr
}

// engagedSince returns when recycled contacts' engagement started again, which rescoring
// counts from. Few contacts were ever recycled.
func engagedSince(ctx context.Context, q querier) (map[int64]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, engaged_since FROM contacts WHERE engaged_since IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("rescore: %w", err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("rescore: %w", err)
		}
		out[id] = at
	}
	return out, rows.Err()
}

// yieldEvery is how many events a rescore's busy loops take between calls of their
// pacer.
const yieldEvery = 256

// pacer keeps a rescore from crowding out ingest. A rescore keeps both cores busy, and
// Go gives goroutines no priorities: ingest's goroutines (a request's handler, the group
// committer, the handler again for the reply) queued behind the rescore's for each
// step, and single calls fell from a thousand a second to a few hundred. So each of the
// rescore's busy goroutines, after each stretch of work, pauses in proportion to how
// busy ingest is: up to twice as long as the stretch took, which leaves ingest about
// one core, once ingest transactions take a quarter of the time. A trickle of events
// slows a rescore little; a quiet store's rescore only yields, which costs nothing. A
// pacer belongs to one goroutine.
type pacer struct {
	db    *DB
	begun time.Time // when the current stretch began
	// load is the share of the time ingest transactions took over the window that
	// began at windowAt, when ingest's transactions had taken windowWork.
	load       float64
	windowAt   time.Time
	windowWork int64
}

const (
	pauseFor   = 2                      // the longest pause, as a multiple of the stretch
	ingestBusy = 0.25                   // the load that gets the longest pause
	loadWindow = 100 * time.Millisecond // how often the load is measured again
)

func newPacer(db *DB) *pacer {
	now := time.Now()
	return &pacer{db: db, begun: now, windowAt: now, windowWork: db.ingesting.Load()}
}

// resume begins a stretch after a wait that was no work (for a channel, a query).
func (p *pacer) resume() { p.begun = time.Now() }

// busy reports whether ingest is busy: more than a trickle of events, whose transactions
// a rescore's long ones would hold up.
func (p *pacer) busy() bool {
	p.measure(time.Now())
	return p.load >= ingestBusy/5
}

// measure takes ingest's load again if the window has passed.
func (p *pacer) measure(now time.Time) {
	if took := now.Sub(p.windowAt); took >= loadWindow {
		work := p.db.ingesting.Load()
		p.load = float64(work-p.windowWork) / float64(took)
		p.windowAt, p.windowWork = now, work
	}
}

// pace ends a stretch of work: it pauses as ingest's load asks, or else yields.
func (p *pacer) pace() {
	if !p.pause() {
		runtime.Gosched()
	}
}

// pause ends a stretch of work, pausing as ingest's load asks, and reports whether it
// did.
func (p *pacer) pause() bool {
	now := time.Now()
	p.measure(now)
	d := time.Duration(min(1, p.load/ingestBusy) * pauseFor * float64(now.Sub(p.begun)))
	if d < 50*time.Microsecond {
		p.begun = now
		return false
	}
	time.Sleep(d)
	p.begun = time.Now()
	return true
}

// readStretch reads the events with ids in (after, upTo] that belong to a contact after
// fromContact and that meet the candidates condition (see candidateEvents), in as many
// queries as restarts of the log ask it to break off (see checkpointer).
func (db *DB) readStretch(ctx context.Context, a *active, candidates *condition, after, upTo, fromContact int64, pace *pacer) ([]pastEvent, error) {
	var events []pastEvent
	stop := func() bool { return false }
	if db.checkpointer != nil {
		stop = db.checkpointer.breakAsked
	}
	for after < upTo {
		err := db.readAside(ctx, func(conn *sql.Conn) error {
			if testHookStretchQuery != nil {
				testHookStretchQuery()
			}
			var err error
			events, after, err = a.readEvents(ctx, conn, events, candidates, after, upTo, fromContact, pace, stop)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return events, nil
}

// Test hooks: testHookStretchQuery, if set, is called before each query of readStretch;
// testHookWriterPacer with the pacer of a rescore's writer; testHookBeforeReplay when a
// rescore has found the score record it replays.
var (
	testHookStretchQuery func()
	testHookWriterPacer  func(*pacer)
	testHookBeforeReplay func()
)

// readEvents appends to out the events with ids in (after, upTo] that readStretch
// reads, in order, until stop reports true; it returns the id it read through.
func (a *active) readEvents(ctx context.Context, q querier, out []pastEvent, candidates *condition, after, upTo, fromContact int64,
	pace *pacer, stop func() bool) ([]pastEvent, int64, error) {
	// +contact_id: PostgreSQL, told that few events match the candidates (a rule
	// counted again), otherwise adds the contact index to the id range and reads the
	// whole index for every stretch.
	rows, err := q.QueryContext(ctx, `SELECT id, contact_id, timestamp, received_at, type, event, name, `+a.objectColumns()+`
		FROM events WHERE id > $1 AND id <= $2 AND +contact_id > $3 AND `+candidates.sql+` ORDER BY id`,
		append([]any{after, upTo, fromContact}, candidates.args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("rescore events: %w", err)
	}
	defer rows.Close()
	pace.resume()
	for n := 1; rows.Next(); n++ {
		e, err := scanPastEvent(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("rescore events: %w", err)
		}
		out = append(out, e)
		if n%yieldEvery == 0 {
			if stop() {
				return out, e.id, rows.Close()
			}
			pace.pace()
			if stop() { // asked while it paused
				return out, e.id, rows.Close()
			}
		}
	}
	return out, upTo, rows.Err()
}

// condition is a piece of SQL and its arguments.
type condition struct {
	sql  string
	args []any
}

// candidateEvents is a condition, with its arguments numbered from n, that holds for the
// events some engagement rule may fire on, going by their type and name: the events of
// a type no rule names (identify and group calls, most often) are not read at all. A
// type's names go in one IN list (SQLite refuses an expression a thousand ORs deep);
// past maxNamedInQuery names the type alone is asked for, and the rules' candidates
// sort the events out as they are summed.
//
// A rule whose condition names text its events hold (properties.path startsWith
// "/pricing": see agreement.Needles) asks for only the events whose properties or
// context hold it, or a backslash (PostgreSQL looks in the member the rule reads, such
// as properties.path, when it can): four in five events are page views, and most page
// rules hold for a few paths, so the rest are never copied out of the database, decoded
// and matched. Past maxNeedleRules such rules, they are asked for by type and name.
func (a *active) candidateEvents(d dialect, n int) *condition {
	var (
		c      condition
		anyOf  []string
		typed  = map[string]bool{}
		names  = map[string][]string{}
		types  []string
		narrow []*agreement.EngagementRule
	)
	arg := func(v any) string {
		c.args = append(c.args, v)
		n++
		return fmt.Sprintf("$%d", n-1)
	}
	nameCol := func(typ string) string {
		if typ == tandem.TypeTrack {
			return "event"
		}
		return "name"
	}
	needles := map[*agreement.EngagementRule]agreement.Needles{}
	for _, r := range a.model.Scoring.Engagement {
		if nd, ok := r.When.Needles(); ok {
			narrow, needles[r] = append(narrow, r), nd
		}
	}
	if len(narrow) > maxNeedleRules {
		narrow, needles = nil, nil
	}
	for _, r := range a.model.Scoring.Engagement {
		switch _, ok := needles[r]; {
		case ok:
		case r.Event == "":
			typed[r.Type] = true
		case names[r.Type] == nil:
			types = append(types, r.Type)
			fallthrough
		default:
			names[r.Type] = append(names[r.Type], r.Event)
		}
	}
	for _, typ := range slices.Sorted(maps.Keys(typed)) {
		anyOf = append(anyOf, "type = "+arg(typ))
	}
	for _, typ := range types {
		switch {
		case typed[typ]:
		case len(names[typ]) > maxNamedInQuery:
			anyOf = append(anyOf, "type = "+arg(typ))
		default:
			in := make([]string, len(names[typ]))
			for i, name := range names[typ] {
				in[i] = arg(name)
			}
			anyOf = append(anyOf, "(type = "+arg(typ)+" AND "+nameCol(typ)+" IN ("+strings.Join(in, ", ")+"))")
		}
	}
	// Rules on the same events and member share one term, and one look for a
	// backslash.
	type textKey struct{ typ, event, root, path string }
	var (
		keys  []textKey
		texts = map[textKey]*agreement.Needles{}
	)
	for _, r := range narrow {
		if typed[r.Type] {
			continue // its type is read whole anyway
		}
		nd := needles[r]
		k := textKey{r.Type, r.Event, nd.Root, strings.Join(nd.Path, "\x00")}
		if texts[k] == nil {
			keys = append(keys, k)
			texts[k] = &agreement.Needles{Root: nd.Root, Path: nd.Path}
		}
		texts[k].Any = append(texts[k].Any, nd.Any...)
	}
	for _, k := range keys {
		term := "type = " + arg(k.typ)
		if k.event != "" {
			term += " AND " + nameCol(k.typ) + " = " + arg(k.event)
		}
		anyOf = append(anyOf, "("+term+" AND ("+d.holds(texts[k], arg)+"))")
	}
	c.sql = "1 = 0"
	if len(anyOf) > 0 {
		c.sql = "(" + strings.Join(anyOf, " OR ") + ")"
	}
	return &c
}

// maxNeedleRules bounds the rules a rescore's query narrows by their text.
const maxNeedleRules = 50

// maxNamedInQuery bounds the names of one type that a rescore's query lists.
const maxNamedInQuery = 500

// noteEventsRead records a rescore's first-phase progress, at most every
// rescoreNoteEvery, which also keeps its lease.
func (db *DB) noteEventsRead(ctx context.Context, job *rescoreJob, done, total int64) {
	job.mu.Lock()
	if time.Since(job.noted) < rescoreNoteEvery && done < total {
		job.mu.Unlock()
		return
	}
	job.noted = time.Now()
	job.mu.Unlock()
	_ = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE rescores SET phase = 'events', events_done = $1, events_total = $2, updated_at = $3,
			lease_until = $4 WHERE id = $5 AND owner = $6`, done, total, micros(now), micros(now.Add(rescoreLease)), job.ID, job.owner)
		return err
	})
}

// settleSums is a rescore's second phase for one batch of contacts: their summed
// events, or their stored scores carried over, their profiles, and the grades and
// stages those give.
func (a *active) settleSums(ctx context.Context, q querier, d dialect, ids []int64, sums *eventSums, carry *carryOver, accounts *accountCache,
	now time.Time, cause string, pace *pacer) ([]*contactScore, error) {
	var people map[int64]*person
	var err error
	if last := ids[len(ids)-1]; last-ids[0]+1 == int64(len(ids)) {
		// Every contact from the first to the last, as contactIDsAfter lists them.
		people, err = loadContactRange(ctx, q, ids[0], last)
	} else {
		people, err = loadContacts(ctx, q, d, ids) // a sparse rescore's
	}
	if err != nil {
		return nil, err
	}
	var (
		fresh  map[int64]*contactScore // scored from their own events
		strays []int64
		accIDs []int64
	)
	carried := func(p *person) bool { return carry.holds(p.stored.version) }
	// A contact whose fit carries over needs no profile, unless stage rules read one.
	profiled := func(p *person) bool { return !carried(p) || !carry.fit || a.stagesReadProfile }
	for _, id := range ids {
		switch p := people[id]; {
		case p == nil || p.stored.version == a.version:
		case carry != nil && !carry.events && !carried(p):
			strays = append(strays, id)
		case profiled(p) && p.accountID != 0:
			accIDs = append(accIDs, p.accountID)
		}
	}
	if len(strays) > 0 {
		scores, err := a.scoreContacts(ctx, q, d, strays, now, cause, nil)
		if err != nil {
			return nil, err
		}
		fresh = make(map[int64]*contactScore, len(scores))
		for _, cs := range scores {
			fresh[cs.id] = cs
		}
	}
	accts, err := accounts.load(ctx, q, d, accIDs)
	if err != nil {
		return nil, err
	}
	out := make([]*contactScore, 0, len(people))
	pace.resume()
	for i, id := range ids {
		if i%(yieldEvery/8) == yieldEvery/8-1 {
			pace.pace()
		}
		p := people[id]
		switch {
		case p == nil:
			continue // merged away meanwhile
		case p.stored.version == a.version:
			continue // ingest got to it first
		case fresh[id] != nil:
			out = append(out, fresh[id])
			continue
		case carry != nil && !carry.events:
			carry.apply(a, p, sums.of(id))
		default:
			if sum := sums.of(id); sum != nil {
				p.cs.eng = sum.eng
				for _, c := range sum.caps {
					*p.cs.line(c.rule.Name) = c.line
				}
			}
		}
		var prof *agreement.Profile // without one, settle keeps the fit it has
		if profiled(p) {
			prof = profile(p.email, decodeObject([]byte(p.traits)), accts[p.accountID])
		}
		if carried(p) && carry.fit {
			p.cs.fit = p.stored.fit
		}
		a.settle(p.cs, prof, now, cause)
		// A new version often changes a few rules: most contacts come out as they
		// were, and then nothing is written. An unscored one (label 0), which the
		// rescore's end cannot carry, is written whole.
		p.cs.unchanged = p.stored.version != 0 && a.sameAsStored(p)
		out = append(out, p.cs)
	}
	return out, nil
}

// writeRescoreBatch saves batch b's scores and moves the rescore's cursor past it.
// When another writer waits or ingest is busy, it commits every rescorePiece contacts
// and takes its turn again behind the others: a batch written in one
// transaction held ingest for a tenth of a second, and with ingest taking turns with
// batch after batch, single calls fell from a thousand a second to twenty. Between its
// transactions it paces itself as the first phase does.
//
// On SQLite, when nobody waits, the transaction that ends b goes on with the batches
// settled after it (taken from more), up to db.rescoreTx contacts. Each commit
// writes every page it changed to the log, and a batch's contacts, spread over the
// whole index of scores, change nearly every page of it: a commit for ten batches
// writes that index once instead of ten times (the second phase of a rescore that moves
// every score on 1 M contacts took 14–17 s instead of 19–20). On PostgreSQL a transaction holds the ingest
// lock of every node, and nobody is seen waiting for it, so it stays one batch.
func (db *DB) writeRescoreBatch(ctx context.Context, job *rescoreJob, b batch, more *inOrder, pace *pacer, progress Progress) error {
	// A batch, once begun, is written to its end: the rescore stops between batches.
	// Statements that watch a context that can end cost the SQLite driver a goroutine
	// each, and a batch is thousands of statements (a fifth of this phase's time).
	stopped := ctx.Err
	ctx = context.WithoutCancel(ctx)
	for b.err == nil && len(b.ids) > 0 {
		var n int64 // of the ids, once committed
		err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			pace.resume() // waiting for the slot was no work
			// Serialized with ingest and with activations, so the state, the lease and
			// the active version read here hold until this transaction commits.
			if err := db.dialect.lockIngest(ctx, tx); err != nil {
				return err
			}
			var (
				state string
				owner string
			)
			if err := tx.QueryRowContext(ctx, `SELECT state, owner FROM rescores WHERE id = $1`, job.ID).Scan(&state, &owner); err != nil {
				return fmt.Errorf("rescore: %w", err)
			}
			if state != "running" {
				return errCanceled
			}
			if owner != job.owner {
				return errLeaseLost
			}
			cur, err := db.activeIn(ctx, tx)
			if err != nil {
				return err
			} else if cur == nil || cur.version != job.Version || cur.anchor != job.anchor {
				return errAgreementChanged
			}
			db.scoreGen.Add(1)
			// SQLite writes in pieces and looks between them. On PostgreSQL a piece's
			// statements are round trips, a tenth more time for a rescore, so alone it
			// writes the batch at once.
			yield := func() bool { return db.writersWaiting() || pace.busy() }
			var (
				handed []*contactScore // leads that qualified, handed off once at the end
				cursor int64
			)
			for {
				for len(b.ids) > 0 && (n == 0 || !yield()) {
					k := len(b.ids)
					if db.writing != nil || yield() {
						k = min(k, rescorePiece)
					}
					last := b.ids[k-1]
					i := 0 // scores are in the order of ids, some ids without one
					for i < len(b.scores) && b.scores[i].id <= last {
						i++
					}
					written, err := db.writeRescorePiece(ctx, tx, cur, job, b.scores[:i], now)
					if err != nil {
						return err
					}
					if job.rec != nil {
						if err := db.writeRecords(ctx, tx, job.rec, b.ids[:k]); err != nil {
							return err
						}
					}
					handed = append(handed, qualified(cur, written)...)
					b.ids, b.scores = b.ids[k:], b.scores[i:]
					n, cursor = n+int64(k), last
				}
				if len(b.ids) > 0 || db.writing == nil || n >= db.rescoreTx || stopped() != nil || yield() {
					break
				}
				// The next batch is most often settled already; while it is not, the
				// slot this transaction holds is given up the moment a writer wants it.
				next, ok := more.take(func() bool { return stopped() != nil || yield() })
				if !ok {
					break
				}
				if b = next; b.err != nil {
					break
				}
			}
			if err := db.handOff(ctx, tx, cur, handed, now); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `UPDATE rescores SET phase = 'contacts', cursor = $1, done = $2, total = $3, updated_at = $4, lease_until = $5 WHERE id = $6`,
				cursor, job.Done+n, job.Total, micros(now), micros(now.Add(rescoreLease)), job.ID)
			return err
		})
		if err != nil {
			return err
		}
		job.Done += n
		if progress != nil {
			progress("contacts", min(job.Done, job.Total), job.Total)
		}
		pace.pause() // between transactions, when it holds up nobody
	}
	return b.err
}

// rescoreTxContacts is how many contacts one SQLite transaction of a rescore writes at
// most when nobody waits (DB.rescoreTx).
const rescoreTxContacts = 100_000

// inOrder hands out a rescore's settled batches in the order they were listed.
type inOrder struct {
	from    <-chan batch
	pending map[int]batch
	next    int
	closed  bool
}

// take returns the next batch, and false once there are no more. While it waits, it
// gives up and returns false as soon as stop, if not nil, reports true; it asks every
// millisecond.
func (q *inOrder) take(stop func() bool) (batch, bool) {
	var tick <-chan time.Time
	if stop != nil {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		tick = t.C
	}
	for {
		if b, ok := q.pending[q.next]; ok {
			delete(q.pending, q.next)
			q.next++
			return b, true
		}
		if q.closed {
			return batch{}, false
		}
		select {
		case b, ok := <-q.from:
			if !ok {
				q.closed = true
				continue
			}
			q.pending[b.seq] = b
		case <-tick:
			if stop() {
				return batch{}, false
			}
		}
	}
}

// rescorePiece is how many contacts a rescore writes before it looks whether another
// writer waits: about three milliseconds of writing on SQLite.
const rescorePiece = 100

// writeRescorePiece saves the scores of a piece of a batch, in the batch's transaction,
// and returns those it wrote.
func (db *DB) writeRescorePiece(ctx context.Context, tx *sql.Tx, a *active, job *rescoreJob, scores []*contactScore, now time.Time) ([]*contactScore, error) {
	if len(scores) == 0 {
		return nil, nil // all merged away meanwhile
	}
	scores, err := db.resettle(ctx, tx, a, job, scores, now)
	if err != nil {
		return nil, err
	}
	return saveScores(ctx, tx, db.dialect, scores, now, true)
}

// writersWaiting reports whether a write transaction waits for the one that runs.
func (db *DB) writersWaiting() bool { return db.writing != nil && db.writing.wanted() }

// resettle scores afresh, inside the batch's transaction, the contacts of scores that a
// sales action moved after the rescore began reading (a recycle restarts engagement; an
// accept moves the stage): the sums read before would undo the action.
func (db *DB) resettle(ctx context.Context, tx *sql.Tx, a *active, job *rescoreJob, scores []*contactScore, now time.Time) ([]*contactScore, error) {
	// scores are in the order of ids, and a piece's ids lie close together: the range
	// from the first to the last is read in order, where a list of ids is a lookup each.
	piece := make(map[int64]bool, len(scores))
	for _, cs := range scores {
		piece[cs.id] = true
	}
	moved, err := rowsOf(ctx, tx, "rescore", `SELECT id FROM contacts WHERE id >= $1 AND id <= $2 AND stage_at >= $3 AND scored_version <> $4`,
		[]any{scores[0].id, scores[len(scores)-1].id, job.sumsAt, a.version},
		scanID)
	if err != nil {
		return nil, err
	}
	moved = slices.DeleteFunc(moved, func(id int64) bool { return !piece[id] })
	if len(moved) == 0 {
		return scores, nil
	}
	fresh, err := a.scoreContacts(ctx, tx, db.dialect, moved, now, "", nil)
	if err != nil {
		return nil, err
	}
	scores = slices.DeleteFunc(scores, func(cs *contactScore) bool { return slices.Contains(moved, cs.id) })
	return append(scores, fresh...), nil
}

var (
	errCanceled  = errors.New("rescore canceled")
	errLeaseLost = errors.New("rescore lease lost")
)

// releaseRescore gives up a rescore's lease so that it can be claimed again at once.
func (db *DB) releaseRescore(ctx context.Context, job *rescoreJob) {
	_ = db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE rescores SET lease_until = 0 WHERE id = $1 AND owner = $2`, job.ID, job.owner)
		return err
	})
}

// maxRescoreAttempts is how often a rescore that fails is tried again before it is
// marked failed, for an operator to start anew.
const maxRescoreAttempts = 3

func (db *DB) finishRescore(ctx context.Context, job *rescoreJob, state, msg string) error {
	return db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		// Serialized with activations, which lock the agreements and then the rescores,
		// as settleLabels does.
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE rescores SET state = $1, error = $2, finished_at = $3, updated_at = $3, lease_until = 0
			WHERE id = $4 AND state = 'running' AND owner = $5`, state, msg, micros(now), job.ID, job.owner)
		if err != nil {
			return fmt.Errorf("finish rescore: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 || state != "done" {
			return nil // canceled by a newer version, or taken over
		}
		if job.rec != nil {
			if err := completeRecord(ctx, tx, job.rec); err != nil {
				return err
			}
		}
		return settleLabels(ctx, tx, job.Version, job.labels)
	})
}

func contactIDsAfter(ctx context.Context, q querier, after int64, n int) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM contacts WHERE id > $1 ORDER BY id LIMIT $2`, after, n)
	if err != nil {
		return nil, fmt.Errorf("rescore: %w", err)
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("rescore: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
