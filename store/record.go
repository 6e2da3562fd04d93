package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"tandem/agreement"
)

// The score record. A version that changes the half-life weighs every event anew, and
// its rescore read all ten million events of the 1 M contact demo to do so, a scan of
// the whole events table (10 of a 25 s rescore). What it needs of them is little: which
// engagement rule counted which event of which contact, and when. That is the record:
// per contact, the rules' hits in the order the events were stored, a few bytes each
// (tens of megabytes for the demo, against gigabytes of events).
//
// A rescore that reads every event writes the record as one generation, with the
// contacts it writes: the hits of the events up to the one stored last when its
// version was activated (upto), under its rules. It holds once that rescore is done.
// A later rescore that must read every event, under rules that count as the
// generation's did (the same names, events, conditions and caps; points and the
// half-life may differ), replays the record instead, reads the events stored after
// upto as it would have, and reads in full only the contacts whose events changed
// otherwise since (stale: a merge, a visitor's events joining them, a recycle). Caps
// fire in the order events were stored, so replaying a rule's hits in that order and
// then the later events gives every window as reading all of them would.
//
// Ingest does not write the record: an index by contact written with each event cost
// ingest dearly (see filing.go). So the record ages, and once the events after it or
// its stale contacts are many, a rescore reads every event again and writes a new
// generation.

const (
	// recordTailShare is the largest share of the events stored after a generation that
	// a rescore replays it with; past it, reading every event is as quick.
	recordTailShare = 4
	// recordStaleMax is the most stale contacts a rescore reads one by one, a few
	// seconds of reading by contact.
	recordStaleMax = 20_000
)

// recordGen is the generation score_record_gen describes.
type recordGen struct {
	gen, upto int64
	rules     []string // ruleSig of each rule, by the index the hits give
	state     string   // none, building, complete or dropped
}

func readRecordGen(ctx context.Context, q querier) (*recordGen, error) {
	var (
		g     recordGen
		rules string
	)
	err := q.QueryRowContext(ctx, `SELECT gen, upto, rules, state FROM score_record_gen`).Scan(&g.gen, &g.upto, &rules, &g.state)
	if err != nil {
		return nil, fmt.Errorf("score record: %w", err)
	}
	if rules != "" {
		if err := json.Unmarshal([]byte(rules), &g.rules); err != nil {
			return nil, fmt.Errorf("score record: %w", err)
		}
	}
	return &g, nil
}

// ruleSig is what decides which events an engagement rule counts, and in which order
// its hits are recorded: its name, the events it is on, its condition and its cap.
func ruleSig(r *agreement.EngagementRule) string {
	return strings.Join([]string{r.Name, r.Type, r.Event, source(r.When),
		strconv.Itoa(r.Cap.Times), strconv.FormatInt(int64(r.Cap.Per), 10)}, "\x1f")
}

// recorder collects the record of a rescore that reads every event, for the contacts
// base, base+1, … (those of its sums).
type recorder struct {
	gen   int64
	upto  int64 // the last event recorded: later ones are the next rescore's to read
	index map[*agreement.EngagementRule]uint64
	base  int64
	hits  [][]byte // by contact
	prev  []int64  // each contact's last recorded time
}

// add records that rule r counted the contact's event at ts.
func (rec *recorder) add(contact int64, r *agreement.EngagementRule, ts int64) {
	i := contact - rec.base
	b := binary.AppendUvarint(rec.hits[i], rec.index[r])
	rec.hits[i] = binary.AppendVarint(b, ts-rec.prev[i])
	rec.prev[i] = ts
}

// errHitCut is the error of a record whose last hit is cut short.
var errHitCut = errors.New("score record: a hit is cut short")

// eachHit calls fn with each hit of a contact's record, in order.
func eachHit(hits []byte, fn func(rule uint64, ts int64)) error {
	var ts int64
	for len(hits) > 0 {
		rule, n := binary.Uvarint(hits)
		if n <= 0 {
			return errHitCut
		}
		d, m := binary.Varint(hits[n:])
		if m <= 0 {
			return errHitCut
		}
		ts += d
		fn(rule, ts)
		hits = hits[n+m:]
	}
	return nil
}

// startRecord begins a new generation of the record for job, which is about to read
// every event under a, unless job is no longer running in this process. The stale
// marks belong to the generation before: the events read from here on are read as they
// are, and a change to a contact's events after this marks it anew. Ingest is held
// meanwhile, so that no transaction that marks a contact commits after the marks are
// cleared with events read as they were before it.
func (db *DB) startRecord(ctx context.Context, job *rescoreJob, a *active) (*recorder, error) {
	rec := &recorder{upto: job.eventsUpTo, index: map[*agreement.EngagementRule]uint64{}}
	sigs := make([]string, len(a.model.Scoring.Engagement))
	for i, r := range a.model.Scoring.Engagement {
		sigs[i], rec.index[r] = ruleSig(r), uint64(i)
	}
	rules, err := json.Marshal(sigs)
	if err != nil {
		return nil, err
	}
	err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		var state, owner string
		if err := tx.QueryRowContext(ctx, `SELECT state, owner FROM rescores WHERE id = $1`, job.ID).Scan(&state, &owner); err != nil {
			return err
		}
		switch {
		case state != "running":
			return errCanceled
		case owner != job.owner:
			return errLeaseLost
		}
		if err := tx.QueryRowContext(ctx, `UPDATE score_record_gen SET gen = gen + 1, upto = $1, rules = $2, state = 'building'
			RETURNING gen`, rec.upto, string(rules)).Scan(&rec.gen); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM score_record_stale`)
		return err
	})
	switch {
	case errors.Is(err, errCanceled), errors.Is(err, errLeaseLost):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("score record: %w", err)
	}
	return rec, nil
}

// of makes room in rec for the contacts of sums, and returns it.
func (rec *recorder) of(sums *eventSums) *recorder {
	rec.base = sums.base
	rec.hits = make([][]byte, len(sums.sums))
	rec.prev = make([]int64, len(sums.sums))
	return rec
}

// writeRecords writes, in a rescore's transaction, the records of the contacts ids that
// any rule counted, and lets go of them.
func (db *DB) writeRecords(ctx context.Context, tx *sql.Tx, rec *recorder, ids []int64) error {
	var rows []int64
	for _, id := range ids {
		if i := id - rec.base; i >= 0 && i < int64(len(rec.hits)) && len(rec.hits[i]) > 0 {
			rows = append(rows, id)
		}
	}
	_, err := insertValues(ctx, tx, db.dialect, `INSERT INTO score_records (contact_id, gen, hits)`,
		`ON CONFLICT (contact_id) DO UPDATE SET gen = excluded.gen, hits = excluded.hits`, 3, len(rows),
		func(i int, args []any) []any {
			id := rows[i]
			return append(args, id, rec.gen, rec.hits[id-rec.base])
		}, nil)
	if err != nil {
		return fmt.Errorf("score record: %w", err)
	}
	for _, id := range rows {
		rec.hits[id-rec.base] = nil
	}
	return nil
}

// completeRecord marks job's generation of the record as holding, in the transaction
// that finishes job.
func completeRecord(ctx context.Context, tx *sql.Tx, rec *recorder) error {
	if _, err := tx.ExecContext(ctx, `UPDATE score_record_gen SET state = 'complete' WHERE gen = $1 AND state = 'building'`, rec.gen); err != nil {
		return fmt.Errorf("score record: %w", err)
	}
	return nil
}

// dropRecord forgets the score record: the next rescore that weighs every event reads
// them all, and keeps a new record.
func dropRecord(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE score_record_gen SET state = 'dropped' WHERE state <> 'none'`); err != nil {
		return fmt.Errorf("drop score record: %w", err)
	}
	return nil
}

// markStale marks a contact whose events changed other than by new events: its record
// no longer holds.
func markStale(ctx context.Context, exec func(ctx context.Context, q string, args ...any) (sql.Result, error), id int64) error {
	if _, err := exec(ctx, `INSERT INTO score_record_stale (contact_id) VALUES ($1) ON CONFLICT DO NOTHING`, id); err != nil {
		return fmt.Errorf("score record: %w", err)
	}
	return nil
}

// replayable is a generation of the record that a rescore under a may replay.
type replayable struct {
	*recordGen
	rules []*agreement.EngagementRule // a's rule for each of the generation's, or nil
	stale []int64                     // after the job's cursor, in order
	last  int64                       // the last event stored
}

// replayableRecord returns the generation of the record that job, which must sum every
// event under a, may replay, or nil if there is none or reading every event is as
// quick.
func (db *DB) replayableRecord(ctx context.Context, job *rescoreJob, a *active) (*replayable, error) {
	if db.noRecord {
		return nil, nil
	}
	g, err := readRecordGen(ctx, db.read)
	if err != nil || g.state != "complete" {
		return nil, err
	}
	r := &replayable{recordGen: g, rules: make([]*agreement.EngagementRule, len(g.rules))}
	for _, rule := range a.model.Scoring.Engagement {
		i := slices.Index(g.rules, ruleSig(rule))
		if i < 0 {
			return nil, nil // it counts events the record does not tell
		}
		r.rules[i] = rule
	}
	if r.last, err = lastEvent(ctx, db.read); err != nil {
		return nil, fmt.Errorf("score record: %w", err)
	}
	if (r.last-g.upto)*recordTailShare > r.last {
		return nil, nil
	}
	r.stale, err = rowsOf(ctx, db.read, "score record", `SELECT contact_id FROM score_record_stale WHERE contact_id > $1 ORDER BY contact_id LIMIT $2`,
		[]any{job.cursor, recordStaleMax + 1}, scanID)
	if err != nil || len(r.stale) > recordStaleMax {
		return nil, err
	}
	// A rescore that began a new generation meanwhile cleared the marks read above.
	if again, err := readRecordGen(ctx, db.read); err != nil || again.gen != g.gen || again.state != "complete" {
		return nil, err
	}
	return r, nil
}

// errRecordDamaged is the error of a record that cannot be read: the rescore reads
// every event instead.
var errRecordDamaged = errors.New("score record damaged")

// sumRecorded is the first phase of a rescore that replays the record r: the contacts'
// records, then the events stored after the record, then, read whole, the events of the
// stale contacts. The caller sets job.sumsAt before it reads r.
func (db *DB) sumRecorded(ctx context.Context, job *rescoreJob, a *active, r *replayable, progress Progress) (*eventSums, error) {
	s, err := db.newSummer(ctx, job, a)
	if err != nil {
		return nil, err
	}
	stale := make(map[int64]bool, len(r.stale))
	for _, id := range r.stale {
		stale[id] = true
	}
	rows, err := db.read.QueryContext(ctx, `SELECT contact_id, hits FROM score_records WHERE contact_id > $1 AND gen = $2`, job.cursor, r.gen)
	if err != nil {
		return nil, fmt.Errorf("score record: %w", err)
	}
	defer rows.Close()
	s.pace.resume()
	for n := 1; rows.Next(); n++ {
		var (
			id   int64
			hits []byte
		)
		if err := rows.Scan(&id, &hits); err != nil {
			return nil, fmt.Errorf("score record: %w", err)
		}
		sum := s.sums.of(id)
		if sum == nil || stale[id] {
			continue
		}
		if err := eachHit(hits, func(i uint64, ts int64) {
			if i < uint64(len(r.rules)) && r.rules[i] != nil {
				s.fire(sum, r.rules[i], ts)
			}
		}); err != nil {
			return nil, fmt.Errorf("%w: contact %d: %w", errRecordDamaged, id, err)
		}
		if n%yieldEvery == 0 {
			s.pace.pace()
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("score record: %w", err)
	}
	rows.Close()
	s.skip = stale
	if err := db.readSums(ctx, job, a, s, r.upto, r.last, progress); err != nil {
		return nil, err
	}
	s.skip = nil
	candidates := a.candidateEvents(db.dialect, 3) // after readContactsEvents' own two
	for ids := r.stale; len(ids) > 0; {
		some := ids[:min(len(ids), 500)]
		ids = ids[len(some):]
		events, err := a.readContactsEvents(ctx, db.read, db.dialect, candidates, some, r.last)
		if err != nil {
			return nil, err
		}
		s.add(events)
	}
	return s.sums, nil
}

// readContactsEvents reads the events up to upTo of the contacts ids that meet the
// candidates condition (its arguments numbered from 3), in the order they were stored.
func (a *active) readContactsEvents(ctx context.Context, q querier, d dialect, candidates *condition, ids []int64, upTo int64) ([]pastEvent, error) {
	of, arg := d.inIDs("contact_id", 2, ids)
	return rowsOf(ctx, q, "rescore events", `SELECT id, contact_id, timestamp, received_at, type, event, name, `+a.objectColumns()+`
		FROM events WHERE id IN (`+d.contactEvents("id", of, "")+`) AND id <= $1 AND `+candidates.sql+` ORDER BY id`,
		append([]any{upTo, arg}, candidates.args...), scanPastEvent)
}
