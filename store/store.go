// Package store keeps Tandem's state in SQLite (the embedded default) or PostgreSQL.
//
// The two engines share one implementation: the SQL they accept is the same but for a few
// statements, which the dialect supplies. One conformance suite runs against both, so
// they behave alike.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations
var migrations embed.FS

// DB is an open store. Its methods are safe for concurrent use, except Ingest, which the
// group committer calls from one goroutine.
type DB struct {
	dsn     string
	dialect dialect
	// log hears of long migrations; nil says nothing.
	log *slog.Logger
	// write is the pool that writes; for SQLite it holds one connection, since SQLite has
	// one writer at a time and a deferred transaction that upgrades to a write fails
	// under concurrency.
	write *sql.DB
	// read serves queries. For PostgreSQL it is the same pool as write.
	read *sql.DB
	// Now is the clock. It is read once per transaction.
	Now func() time.Time

	ids *idCache // nil when other processes may write (PostgreSQL)
	// recycled is what this process knows of recycled contacts: see engagedSince.
	recycled atomic.Int32
	scores   *scoreCache // nil when db.ids is
	// scoreGen counts transactions other than ingest that wrote scores; see scoreCache.
	scoreGen atomic.Int64
	// rescoreStretch is how many event ids a rescore's reader reads at a time.
	rescoreStretch int64
	// rescoreBatch is how many contacts a rescore settles and writes at a time on
	// SQLite (see the constant's comment), and rescoreTx how many one transaction
	// writes at most when nobody waits: its cursor is where a rescore picks up after a
	// crash.
	rescoreBatch int
	rescoreTx    int64
	// noRecord, set by tests, keeps rescores from writing or replaying the score
	// record, so that they read every event.
	noRecord bool
	// decayMu guards decayFloors and decayFull: how far Decay's last scans reached, and
	// when it last scanned everything.
	decayMu     sync.Mutex
	decayFloors map[decayKey]float64
	decayFull   time.Time
	// models caches the scoring models of earlier versions, by modelKey; see modelOf.
	models sync.Map
	// active caches the compiled active agreement; see activeIn.
	active atomic.Pointer[active]
	// rescoreKick wakes RunRescores when a version was activated in this process.
	rescoreKick chan struct{}
	// jobKick wakes RunJobs when a commit of this process enqueued a job due now, which
	// jobsDue says until the commit.
	jobKick chan struct{}
	jobsDue atomic.Bool
	// owner names this process in the job leases it takes. While dispatching (RunJobs
	// runs), deliveries due now are leased as they are enqueued, kept in pre by
	// transaction until it commits, then sent on dispatch. deliveries bounds how many
	// channels are sent to at once.
	owner       string
	dispatching atomic.Bool
	preMu       sync.Mutex
	pre         map[*sql.Tx][]*job
	dispatch    chan []*job
	deliveries  chan struct{}
	// Notifier sends what the job queue delivers.
	Notifier Notifier
	// JobLease is how long a claimed job is its process's alone: if the process dies,
	// another takes the job over after it. A delivery's time out (10 s) is well within
	// the default of a minute.
	JobLease     time.Duration
	checkpointer *checkpointer // SQLite only
	// writing is held by each SQLite transaction that tx runs, and by the checkpointer
	// while it restarts the log (see checkpointer).
	writing *writeSlot
	// ingesting adds up the time this process's ingest transactions took, in
	// nanoseconds: a rescore paces itself by how busy ingest is (see pacer).
	ingesting atomic.Int64
	lock      *os.File // SQLite with Options.Ingester: held while open
	// scoreLog is SQLite's log of score columns still to be written to contacts; see
	// scorelog.go. flushStop and flushDone end the ingester's flusher.
	scoreLog *scoreLog
	// filing says the store has contact_events (see filing.go): the flusher starts
	// before serve migrates, and files nothing until then.
	filing    atomic.Bool
	flushStop chan struct{}
	flushDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// Options tune how a store is opened.
type Options struct {
	// SQLiteSync is SQLite's synchronous setting: "normal" (the default) survives a
	// crash of the process; "full" also survives a power cut, at a cost in throughput.
	SQLiteSync string
	// Ingester says this process will ingest. For SQLite it then takes a lock on the
	// file that another ingesting process would also need, and keeps the identities it
	// has seen in memory, which is only right while no other process ingests into the
	// file. Other processes may still read it, create sources and tokens.
	Ingester bool
	// CacheSize caps the identities an Ingester keeps in memory. Zero picks a default.
	CacheSize int
	// Log, when set, hears of migrations that take long, as they go.
	Log *slog.Logger
}

// IsPostgres reports whether dsn selects PostgreSQL rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the store that dsn names: a postgres:// URL, or the path of a SQLite file,
// whose folder is created if missing. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	db := &DB{dsn: dsn, log: opt.Log, Now: time.Now, rescoreKick: make(chan struct{}, 1), jobKick: make(chan struct{}, 1), JobLease: time.Minute,
		owner: jobOwner(), pre: map[*sql.Tx][]*job{}, dispatch: make(chan []*job, 1024), deliveries: make(chan struct{}, 8),
		decayFloors:    map[decayKey]float64{},
		rescoreStretch: 50000, rescoreBatch: rescoreBatch, rescoreTx: rescoreTxContacts}
	if IsPostgres(dsn) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("postgres URL: %w", err)
		}
		if !strings.Contains(dsn, "default_query_exec_mode") {
			// Statements prepared once per connection get a generic plan after a few
			// runs, planned for whatever the tables held then: a server started on an
			// empty database kept sequential scans on tables that grew to millions of
			// rows, five times slower. Planning each statement for its arguments costs
			// far less than that.
			cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
		}
		pool := stdlib.OpenDB(*cfg)
		pool.SetMaxOpenConns(16)
		pool.SetMaxIdleConns(16)
		db.write, db.read, db.dialect = pool, pool, postgres{}
	} else {
		if err := os.MkdirAll(filepath.Dir(dsn), 0o755); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
		sync := strings.ToUpper(opt.SQLiteSync)
		if sync == "" {
			sync = "NORMAL"
		}
		if sync != "NORMAL" && sync != "FULL" {
			return nil, fmt.Errorf("sqlite sync %q: want normal or full", opt.SQLiteSync)
		}
		base := "file:" + dsn + "?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")&_pragma=journal_size_limit(67108864)"
		// The writer never checkpoints: a checkpoint copies the WAL into the database
		// file and syncs it, and done inside a commit it stalls every request waiting on
		// that commit. A separate connection checkpoints in the background instead.
		// Statement journals stay in memory: once one outgrows its 64 KiB buffer SQLite
		// writes it to a temporary file for the rest of the transaction, a write for
		// every page each later statement touches (an eighth of an import's CPU).
		w, err := sql.Open("sqlite", base+"&_pragma=busy_timeout(10000)&_txlock=immediate&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(0)&_pragma=temp_store(2)")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", base+"&_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		r.SetMaxOpenConns(4)
		r.SetMaxIdleConns(4)
		ck, err := sql.Open("sqlite", base+"&_pragma=busy_timeout("+strconv.Itoa(restartBusyMillis)+")")
		if err != nil {
			w.Close()
			r.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		ck.SetMaxOpenConns(1)
		db.write, db.read, db.dialect = w, r, sqlite{}
		db.writing = newWriteSlot()
		db.checkpointer = newCheckpointer(ck, db.writing)
		db.scoreLog = newScoreLog(opt.Ingester)
		if opt.Ingester {
			if db.lock, err = lockFile(dsn + ".ingest-lock"); err != nil {
				db.Close()
				return nil, err
			}
			size := opt.CacheSize
			if size == 0 {
				size = 500_000
			}
			db.ids = newIDCache(size)
			db.scores = newScoreCache(size)
			db.flushStop, db.flushDone = make(chan struct{}), make(chan struct{})
			go db.flushScores(db.flushStop, db.flushDone)
		}
	}
	if err := db.write.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", db.dialect.name(), err)
	}
	return db, nil
}

// Close closes the store's connections. Calls after the first do nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(func() { db.closeErr = db.close() })
	return db.closeErr
}

func (db *DB) close() error {
	if db.flushStop != nil {
		close(db.flushStop)
		<-db.flushDone
	}
	var err error
	if db.checkpointer != nil {
		err = db.checkpointer.close()
	}
	err = errors.Join(err, db.write.Close())
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.lock != nil {
		err = errors.Join(err, db.lock.Close()) // closing releases the lock
	}
	return err
}

// Engine names the database engine: "sqlite" or "postgres".
func (db *DB) Engine() string { return db.dialect.name() }

// Ping checks that the store answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.write.PingContext(ctx) }

// Migrate applies every schema migration not applied yet and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) { return db.migrate(ctx, 0) }

// migrate applies the migrations not applied yet up to version to, or all with 0.
func (db *DB) migrate(ctx context.Context, to int64) (int, error) {
	fsys, err := fs.Sub(migrations, "migrations/"+db.dialect.name())
	if err != nil {
		return 0, err
	}
	gd, opts := goose.DialectSQLite3, []goose.ProviderOption{goose.WithGoMigrations(touchMigration(db.dialect.name(), db.log), contactIndexMigration(db.dialect.name(), db.log),
		contactEventsMigration(db.dialect.name(), db.log))}
	if db.dialect.name() == "postgres" {
		// Nodes that start together would otherwise apply the same migration at once,
		// and all but one fail. The lock is polled each second for up to an hour: the
		// migration that tags a large store's touches runs for minutes.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 3600))
		if err != nil {
			return 0, fmt.Errorf("migrations: %w", err)
		}
		gd, opts = goose.DialectPostgres, append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.write, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if db.dialect.name() == "sqlite" {
		// The writer keeps temporary data in memory (see Open), which would include
		// the sort of an index a migration builds over millions of events: migrations
		// sort on disk. The pool's one connection is the one goose runs on.
		if _, err := db.write.ExecContext(ctx, `PRAGMA temp_store = FILE`); err != nil {
			return 0, fmt.Errorf("migrations: %w", err)
		}
		defer db.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA temp_store = MEMORY`)
	}
	up := p.Up
	if to > 0 {
		up = func(ctx context.Context) ([]*goose.MigrationResult, error) { return p.UpTo(ctx, to) }
	}
	res, err := up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// tx runs fn in a write transaction that commits if fn returns nil and rolls back
// otherwise. now is the transaction's clock reading. On SQLite the score log is applied
// first, so that fn reads and writes contacts as ingest left them.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	return db.runTx(ctx, true, db.Now, fn, nil)
}

// txAside is tx for the bookkeeping that polls while ingest runs (the job queue's and
// the rescore's claims), which neither reads nor writes contacts: it leaves the score
// log for the flusher to apply a second's lines at once.
func (db *DB) txAside(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	return db.runTx(ctx, false, db.Now, fn, nil)
}

// flushTx is tx (txAside unless applyLog) for the flusher's work, which needs no clock:
// it does not read db.Now, which tests set while the flusher runs.
func (db *DB) flushTx(ctx context.Context, applyLog bool, fn func(tx *sql.Tx) error) error {
	return db.runTx(ctx, applyLog, nil, func(tx *sql.Tx, _ time.Time) error { return fn(tx) }, nil)
}

// runTx is tx, applying the score log first if applyLog says so. Ingest does not: it
// applies the log only when it must read a contact that has lines in it. clock, if not
// nil, gives fn its now. committed, if not nil, runs once the transaction committed,
// before another may begin: what it records of the transaction is then never behind
// the store for the next writer.
func (db *DB) runTx(ctx context.Context, applyLog bool, clock func() time.Time, fn func(tx *sql.Tx, now time.Time) error, committed func()) error {
	if db.writing != nil {
		if !db.writing.acquire(ctx.Done()) {
			return fmt.Errorf("begin: %w", ctx.Err())
		}
		defer db.writing.release()
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	applied := false
	if applyLog {
		if applied, err = db.applyScoreLog(ctx, tx); err != nil {
			return err
		}
	}
	var now time.Time
	if clock != nil {
		now = clock().UTC()
	}
	if err := fn(tx, now); err != nil {
		db.ended(tx)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.ended(tx)
		return fmt.Errorf("commit: %w", err)
	}
	if applied {
		db.scoreLog.applied()
	}
	if committed != nil {
		committed()
	}
	db.committed(tx)
	return nil
}

// micros and fromMicros convert between times and the integer microseconds both engines
// store, so that times compare and sort alike everywhere.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }
