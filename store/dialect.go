package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	sqlitedriver "modernc.org/sqlite"

	"tandem/agreement"
)

// dialect holds what differs between the engines.
type dialect interface {
	name() string
	// in returns a condition that col is one of the strings bound to parameter n, and
	// the parameter's value.
	in(col string, n int, values []string) (string, any)
	// inIDs is in for ids.
	inIDs(col string, n int, ids []int64) (string, any)
	// insertEvents inserts rows, skipping those whose (source_id, client_ts, message_id)
	// exists, and reports which rows were inserted.
	insertEvents(ctx context.Context, tx *sql.Tx, rows []eventRow) ([]bool, error)
	// updateScores writes contacts' score columns in one statement and returns the ids
	// it updated. With onlyStale it skips contacts already scored under a row's version.
	updateScores(ctx context.Context, tx *sql.Tx, rows []scoreRow, onlyStale bool) (map[int64]bool, error)
	// holds is a condition that holds for an event whose column nd.Root (properties
	// or context) holds one of nd.Any as agreement.Needles says; arg binds a value and
	// returns its placeholder.
	holds(nd *agreement.Needles, arg func(any) string) string
	// lockIngest waits until no other ingest transaction runs, in any process, and
	// holds that until tx ends. It must be tx's first statement.
	lockIngest(ctx context.Context, tx *sql.Tx) error
	// forUpdate is the clause that locks the rows a SELECT reads until the transaction
	// ends; skipLocked also skips rows another transaction locked. SQLite has one writer
	// and needs neither.
	forUpdate() string
	skipLocked() string
	// param is the placeholder of the i'th parameter (from 1) of a statement.
	param(i int) string
	// newIDs reserves n ids of table, whose id is generated, for rows inserted with
	// them in tx, which holds the ingest lock.
	newIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error)
	// contactEvents is a query of cols, of contact_id, timestamp, id and touch, for
	// the events of known contacts where cond holds (a condition on those columns);
	// order, when not empty, orders and limits the rows of the filed events (see
	// filing.go), the only rows PostgreSQL has.
	contactEvents(cols, cond, order string) string
	// fileEvents files the events stored since the last filing in tx, when there are
	// more than keep of them.
	fileEvents(ctx context.Context, tx *sql.Tx, keep int64) error
}

// eventRow is an events table row ready to insert. Zero ids are stored as NULL.
type eventRow struct {
	sourceID    int64
	messageID   string
	typ         string
	event       string
	name        string
	userID      string
	anonymousID string
	contactID   int64
	visitorID   int64
	properties  []byte
	context     []byte
	timestamp   int64
	clientTS    int64
	receivedAt  int64
	// touch is the event's campaign touch tag, empty (stored as NULL) for most.
	touch string
}

// nullText stores the empty string as NULL.
func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

type sqlite struct{}

func (sqlite) name() string { return "sqlite" }

// holds looks in the column's JSON text as it came, whatever the path: finding the
// member would cost a parse of every row. A string there may escape any character
// (/pr\u0069cing), so a backslash is looked for too.
func (sqlite) holds(nd *agreement.Needles, arg func(any) string) string {
	return containsAny + "(" + nd.Root + ", " + arg(strings.Join(append([]string{`\`}, nd.Any...), needleSep)) + ")"
}

// containsAny is an SQL function of SQLite stores: containsAny(text, needles, ...) is
// whether the text contains any of the needles, each argument holding one or several
// separated by needleSep. A rescore asks it of every page view's properties. SQLite's
// own instr, once per needle, stepped through the text a byte at a time and took a
// third of the CPU of a page rule's recount; this one looks with Go's strings.Contains,
// in SQLite's memory, without a copy. The needles go in one argument: the driver makes
// a Go value of each argument of each call, and with one for each needle that took as
// long as the looking.
const containsAny = "tandem_contains_any"

// needleSep separates needles in an argument of containsAny. Raw JSON text holds no
// NUL, so a needle that did would never be found in it: split in two, it only makes
// the look find more, which the rules then sort out.
const needleSep = "\x00"

func init() {
	sqlitedriver.MustRegisterFunction(containsAny, &sqlitedriver.FunctionImpl{
		NArgs:         -1,
		Deterministic: true,
		VolatileArgs:  true, // the strings are only read during the call
		Scalar: func(_ *sqlitedriver.FunctionContext, args []driver.Value) (driver.Value, error) {
			if len(args) < 2 {
				return nil, fmt.Errorf("%s: want a text and at least one needle, have %d arguments", containsAny, len(args))
			}
			var text string
			switch t := args[0].(type) {
			case string:
				text = t
			case []byte: // a column written as a blob, which no store writes now
				text = string(t)
			}
			for _, arg := range args[1:] {
				needles, _ := arg.(string)
				for n := range strings.SplitSeq(needles, needleSep) {
					if strings.Contains(text, n) {
						return int64(1), nil
					}
				}
			}
			return int64(0), nil
		},
	})
}

func (sqlite) in(col string, n int, values []string) (string, any) {
	b, _ := json.Marshal(values)
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))", string(b)
}

func (sqlite) inIDs(col string, n int, ids []int64) (string, any) {
	b, _ := json.Marshal(ids)
	return col + " IN (SELECT value FROM json_each($" + strconv.Itoa(n) + "))", string(b)
}

// updateScores runs one prepared statement per contact: in-process SQLite pays little
// per statement, and a single UPDATE … FROM json_each measured two and a half times
// slower, extracting every field from JSON text for each row.
func (sqlite) updateScores(ctx context.Context, tx *sql.Tx, rows []scoreRow, onlyStale bool) (map[int64]bool, error) {
	// Most writes move scores and leave the stage: SQLite updates every index on a
	// column the statement sets, so the stage columns are set only when they change,
	// which spares two index updates per contact.
	staleStaged, staleScored := "", ""
	if onlyStale {
		staleStaged, staleScored = ` AND scored_version <> $7`, ` AND scored_version <> $4`
	}
	var staged, scored *sql.Stmt
	defer func() {
		for _, s := range []*sql.Stmt{staged, scored} {
			if s != nil {
				s.Close()
			}
		}
	}()
	updated := make(map[int64]bool, len(rows))
	for _, r := range rows {
		var (
			res sql.Result
			err error
		)
		switch {
		case r.staged:
			if staged == nil {
				if staged, err = tx.PrepareContext(ctx, `UPDATE contacts SET score_fit = $1, score_eng = $2, grade = $3, stage = $4, funnel_stage = $5,
					stage_at = COALESCE($6, stage_at), scored_version = $7, score_caps = $8 WHERE id = $9`+staleStaged); err != nil {
					return nil, fmt.Errorf("save scores: %w", err)
				}
			}
			var at any
			if r.stageAt != 0 {
				at = r.stageAt
			}
			res, err = staged.ExecContext(ctx, r.fit, r.eng, r.grade, r.stage, r.funnel, at, r.version, r.caps, r.id)
		default:
			if scored == nil {
				if scored, err = tx.PrepareContext(ctx, `UPDATE contacts SET score_fit = $1, score_eng = $2, grade = $3,
					scored_version = $4, score_caps = $5 WHERE id = $6`+staleScored); err != nil {
					return nil, fmt.Errorf("save scores: %w", err)
				}
			}
			res, err = scored.ExecContext(ctx, r.fit, r.eng, r.grade, r.version, r.caps, r.id)
		}
		if err != nil {
			return nil, fmt.Errorf("save score of contact %d: %w", r.id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			updated[r.id] = true
		}
	}
	return updated, nil
}

// lockIngest has nothing to do: the write pool's one connection and its immediate
// transactions already let one writer in at a time.
func (sqlite) lockIngest(context.Context, *sql.Tx) error { return nil }

// param is a plain "?": the driver looks numbered parameters up by name, which costs a
// statement of hundreds of them more than running it.
func (sqlite) param(int) string { return "?" }

// newIDs continues AUTOINCREMENT's sequence, which an insert with an id beyond it moves
// on; the one writer is the only one taking from it.
func (sqlite) newIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error) {
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = $1`, table).Scan(&last); err != nil {
		return nil, fmt.Errorf("new %s ids: %w", table, err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = last + 1 + int64(i)
	}
	return ids, nil
}

func (sqlite) forUpdate() string  { return "" }
func (sqlite) skipLocked() string { return "" }

// insertEvents writes the rows a hundred to a statement: SQLite's cost of running a
// statement, binding its values and stepping it, is paid once per hundred rows instead
// of once per row. OR IGNORE, rather than ON CONFLICT DO NOTHING, also covers the NOT
// NULL columns, which no row leaves empty: a statement that can fail no constraint
// halfway needs no statement journal, where SQLite copied each page a statement touched
// before changing it, a page per event in a group commit.
func (sqlite) insertEvents(ctx context.Context, tx *sql.Tx, rows []eventRow) ([]bool, error) {
	wrote, err := insertValues(ctx, tx, sqlite{}, `INSERT OR IGNORE INTO events (source_id, message_id, type, event, name,
		user_id, anonymous_id, contact_id, visitor_id, properties, context, timestamp, client_ts, received_at, touch)`,
		"", 15, len(rows), func(i int, args []any) []any {
			r := &rows[i]
			return append(args, r.sourceID, r.messageID, r.typ, r.event, r.name, r.userID, r.anonymousID,
				nullID(r.contactID), nullID(r.visitorID), string(r.properties), string(r.context), r.timestamp, r.clientTS,
				r.receivedAt, nullText(r.touch))
		}, nil)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	stored := make([]bool, len(rows))
	if int(wrote) == len(rows) {
		for i := range stored {
			stored[i] = true
		}
		return stored, nil
	}
	return stored, newestStored(ctx, tx, rows, int(wrote), stored)
}

// newestStored marks which rows an insert that stored n of them stored, when some were
// duplicates. SQLite gives a new row the id after the largest, so the rows stored are
// the n largest ids among the rows' messages; of several copies of one message, the
// first is the one stored.
func newestStored(ctx context.Context, tx *sql.Tx, rows []eventRow, n int, stored []bool) error {
	stmt, err := tx.PrepareContext(ctx, `SELECT id FROM events WHERE source_id = ? AND client_ts = ? AND message_id = ?`)
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	defer stmt.Close()
	ids := make([]int64, len(rows))
	for i, r := range rows {
		if err := stmt.QueryRowContext(ctx, r.sourceID, r.clientTS, r.messageID).Scan(&ids[i]); err != nil {
			return fmt.Errorf("insert event %q: %w", r.messageID, err)
		}
	}
	distinct := slices.Compact(slices.Sorted(slices.Values(ids)))
	if n > len(distinct) {
		return fmt.Errorf("insert events: %d stored of %d distinct messages", n, len(distinct))
	}
	newest := distinct[len(distinct)-n:]
	taken := make([]bool, n)
	for i, id := range ids {
		if j, ok := slices.BinarySearch(newest, id); ok && !taken[j] {
			stored[i], taken[j] = true, true
		}
	}
	return nil
}

type postgres struct{}

func (postgres) name() string { return "postgres" }

// holds reads the member at path of the column's JSONB as text (#>>), which is the
// string itself, decoded; without a path, the whole column as JSON text, which writes
// a string's characters as themselves but for quotes, backslashes and control
// characters (and costs a rendering of the row's JSONB for each text).
func (postgres) holds(nd *agreement.Needles, arg func(any) string) string {
	of := nd.Root + "::text"
	if len(nd.Path) > 0 {
		of = "(" + nd.Root + " #>> " + arg(nd.Path) + ")"
	}
	terms := make([]string, len(nd.Any))
	for i, t := range nd.Any {
		terms[i] = "strpos(" + of + ", " + arg(t) + ") > 0"
	}
	return strings.Join(terms, " OR ")
}

func (postgres) in(col string, n int, values []string) (string, any) {
	return col + " = ANY($" + strconv.Itoa(n) + ")", values
}

func (postgres) inIDs(col string, n int, ids []int64) (string, any) {
	return col + " = ANY($" + strconv.Itoa(n) + ")", ids
}

func (postgres) updateScores(ctx context.Context, tx *sql.Tx, rows []scoreRow, onlyStale bool) (map[int64]bool, error) {
	n := len(rows)
	var (
		id, at, version        = make([]int64, n), make([]int64, n), make([]int64, n)
		fit, eng               = make([]float64, n), make([]float64, n)
		grade, stage, fun, cap = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, r := range rows {
		id[i], at[i], version[i] = r.id, r.stageAt, int64(r.version)
		fit[i], eng[i] = r.fit, r.eng
		grade[i], stage[i], fun[i], cap[i] = r.grade, r.stage, r.funnel, r.caps
	}
	q := `UPDATE contacts c SET score_fit = v.fit, score_eng = v.eng, grade = v.grade, stage = v.stage,
		funnel_stage = v.fun, stage_at = COALESCE(NULLIF(v.at, 0), c.stage_at), scored_version = v.version, score_caps = v.caps
		FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::int[], $9::text[])
			AS v(id, fit, eng, grade, stage, fun, at, version, caps)
		WHERE c.id = v.id`
	if onlyStale {
		q += ` AND c.scored_version <> v.version`
	}
	return updatedIDs(tx.QueryContext(ctx, q+` RETURNING c.id`, id, fit, eng, grade, stage, fun, at, version, cap))
}

// ingestLockKey names the advisory lock that ingest transactions take.
const ingestLockKey = 0x74616e64656d // "tandem"

func (postgres) forUpdate() string  { return " FOR UPDATE" }
func (postgres) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (postgres) param(i int) string { return "$" + strconv.Itoa(i) }

func (postgres) newIDs(ctx context.Context, tx *sql.Tx, table string, n int) ([]int64, error) {
	return rowsOf(ctx, tx, "new "+table+" ids", `SELECT nextval(pg_get_serial_sequence($1, 'id')) AS id FROM generate_series(1, $2) ORDER BY id`,
		[]any{table, n}, func(s interface{ Scan(...any) error }) (int64, error) {
			var id int64
			return id, s.Scan(&id)
		})
}

// lockIngest makes ingest transactions take turns across all nodes. The resolver reads
// the identities it needs, decides, then writes, so two transactions interleaving under
// read committed would each act on what the other is changing: claims of the same new
// identities in opposite orders deadlock, and a merge moves a contact's events while the
// other transaction adds events under the merged-away id, which no error reports and no
// contact then shows. Retrying on errors cannot catch that loss, and under serializable
// isolation concurrent groups, which all touch the same indexes, would often abort.
// Turns cost little: each transaction carries a whole group commit, and a waiting
// node's next group grows meanwhile. Read committed takes a snapshot per statement, so
// every statement after the lock sees what the previous holder committed.
func (postgres) lockIngest(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(ingestLockKey)); err != nil {
		return fmt.Errorf("lock ingest: %w", err)
	}
	return nil
}

// insertEvents sends all rows in one statement as arrays, so a group of thousands of
// events costs one round trip.
func (postgres) insertEvents(ctx context.Context, tx *sql.Tx, rows []eventRow) ([]bool, error) {
	n := len(rows)
	var (
		src, contact, visitor, ts, cts, recv = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		mid, typ, ev, nm, uid, aid           = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		props, ctxs, touch                   = make([]string, n), make([]string, n), make([]string, n)
	)
	for i, r := range rows {
		src[i], contact[i], visitor[i], ts[i], cts[i], recv[i] = r.sourceID, r.contactID, r.visitorID, r.timestamp, r.clientTS, r.receivedAt
		mid[i], typ[i], ev[i], nm[i], uid[i], aid[i] = r.messageID, r.typ, r.event, r.name, r.userID, r.anonymousID
		props[i], ctxs[i], touch[i] = string(r.properties), string(r.context), r.touch
	}
	q, err := tx.QueryContext(ctx, `INSERT INTO events (source_id, message_id, type, event, name,
		user_id, anonymous_id, contact_id, visitor_id, properties, context, timestamp, client_ts, received_at, touch)
		SELECT s, m, t, e, n, u, a, NULLIF(c, 0), NULLIF(v, 0), p::jsonb, x::jsonb, ts, cts, r, NULLIF(g, '')
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::bigint[], $9::bigint[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[])
			AS u(s, m, t, e, n, u, a, c, v, p, x, ts, cts, r, g)
		ON CONFLICT DO NOTHING RETURNING source_id, client_ts, message_id`,
		src, mid, typ, ev, nm, uid, aid, contact, visitor, props, ctxs, ts, cts, recv, touch)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	defer q.Close()
	inserted := make(map[msgKey]bool, n)
	for q.Next() {
		var k msgKey
		if err := q.Scan(&k.source, &k.ts, &k.id); err != nil {
			return nil, fmt.Errorf("insert events: %w", err)
		}
		inserted[k] = true
	}
	if err := q.Err(); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	stored := make([]bool, n)
	for i, r := range rows {
		k := r.key()
		if inserted[k] { // the first of several copies in one group is the stored one
			stored[i] = true
			delete(inserted, k)
		}
	}
	return stored, nil
}

// msgKey identifies a message for deduplication: a retry repeats all three.
type msgKey struct {
	source int64
	ts     int64
	id     string
}

func (r *eventRow) key() msgKey { return msgKey{r.sourceID, r.clientTS, r.messageID} }

// scoreRow is a contact's score columns ready to write.
type scoreRow struct {
	id                   int64
	fit, eng             float64
	grade, stage, funnel string
	stageAt              int64 // zero when the stage did not change
	staged               bool  // the stage columns differ from the stored ones
	version              int
	caps                 string
	seq                  int64 // a line of the score log: its place in the log
}

func updatedIDs(rows *sql.Rows, err error) (map[int64]bool, error) {
	if err != nil {
		return nil, fmt.Errorf("save scores: %w", err)
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("save scores: %w", err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("save scores: %w", err)
	}
	return ids, nil
}

// placeholders returns "$from, $from+1, ..., $from+n-1".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// valuesPerStatement is how many rows insertValues writes a statement.
const valuesPerStatement = 100

// insertValues runs head followed by a VALUES list of n rows and then tail (an ON
// CONFLICT or RETURNING clause), valuesPerStatement rows a statement. row appends the
// width values of row i to args. When scan is set, the statements are queries and scan
// reads each row they return; otherwise insertValues returns how many rows the
// statements wrote. The statement of a full list is prepared once: parsing hundreds of
// parameters costs SQLite a fifth of running them.
func insertValues(ctx context.Context, tx *sql.Tx, d dialect, head, tail string, width, n int,
	row func(i int, args []any) []any, scan func(*sql.Rows) error) (int64, error) {
	var wrote int64
	var full *sql.Stmt
	if n >= valuesPerStatement {
		var err error
		if full, err = tx.PrepareContext(ctx, valuesStatement(d, head, tail, width, valuesPerStatement)); err != nil {
			return 0, err
		}
		defer full.Close()
	}
	args := make([]any, 0, width*min(n, valuesPerStatement))
	for from := 0; from < n; from += valuesPerStatement {
		to := min(from+valuesPerStatement, n)
		args = args[:0]
		for i := from; i < to; i++ {
			args = row(i, args)
		}
		stmt := full
		if to-from < valuesPerStatement {
			var err error
			if stmt, err = tx.PrepareContext(ctx, valuesStatement(d, head, tail, width, to-from)); err != nil {
				return 0, err
			}
			defer stmt.Close()
		}
		if scan == nil {
			res, err := stmt.ExecContext(ctx, args...)
			if err != nil {
				return 0, err
			}
			affected, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			wrote += affected
			continue
		}
		rows, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return 0, err
		}
		if err := scanAll(rows, scan); err != nil {
			return 0, err
		}
	}
	return wrote, nil
}

// scanAll passes each of rows to scan, then closes them.
func scanAll(rows *sql.Rows, scan func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// valuesStatement is head, a VALUES list of n rows of width parameters, and tail.
func valuesStatement(d dialect, head, tail string, width, n int) string {
	var q strings.Builder
	q.WriteString(head)
	q.WriteString(" VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j := range width {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString(d.param(i*width + j + 1))
		}
		q.WriteByte(')')
	}
	q.WriteString(" ")
	q.WriteString(tail)
	return q.String()
}
