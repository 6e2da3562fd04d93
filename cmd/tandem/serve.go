package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"sync"
	"time"

	"tandem"
	thttp "tandem/http"
	"tandem/ingest"
	"tandem/metrics"
	"tandem/notify"
	"tandem/store"
	"tandem/web"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	var (
		sf         storeFlags
		addr       = fs.String("addr", "127.0.0.1:8080", "address to listen on")
		adminToken = fs.String("admin-token", "", "ensure an admin API token with this secret exists (at least 16 characters)")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
		maxCommit  = fs.Int("commit-max-events", 10000, "most events one ingest commit takes")
		drain      = fs.Duration("shutdown-timeout", 30*time.Second, "how long shutdown waits for requests in flight")
		debugAddr  = fs.String("debug-addr", "", "if set, serve Go's profiler (/debug/pprof/) on this address; keep it private")
		decayEvery = fs.Duration("decay-interval", time.Minute, "how often contacts whose engagement decayed below a detour stage's bound are moved")
		jobPoll    = fs.Duration("job-poll", time.Second, "how often to look for SLA timers and deliveries that other processes scheduled")
		jobLease   = fs.Duration("job-lease", time.Minute, "how long a job this process claimed is its alone; another process takes it over after that if this one dies")
		smtpURL    = fs.String("smtp", "", "SMTP server for email notifications: smtp://user:password@host:587 (STARTTLS), smtps://… (TLS) or ?tls=none")
		smtpFrom   = fs.String("smtp-from", "", "the From address of email notifications")
		publicURL  = fs.String("public-url", "", "the address people reach this server at, for links in notifications")
		clockShift = fs.Duration("clock-offset", 0, "run the server's clock this far ahead (SLA drills and tests only)")
	)
	sf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *decayEvery <= 0 {
		return fmt.Errorf("--decay-interval %s: want a positive duration such as 1m", *decayEvery)
	}
	if *jobLease < time.Second {
		return fmt.Errorf("--job-lease %s: want at least 1s (a delivery must finish within it)", *jobLease)
	}
	if *jobPoll <= 0 {
		return fmt.Errorf("--job-poll %s: want a positive duration such as 1s", *jobPoll)
	}
	notifier := store.Notifier{BaseURL: *publicURL}
	if *smtpURL != "" {
		var err error
		if notifier.SMTP, err = notify.ParseSMTP(*smtpURL, *smtpFrom); err != nil {
			return fmt.Errorf("--smtp: %w", err)
		}
	}
	log, err := newLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, sf, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	db.Notifier, db.JobLease = notifier, *jobLease
	if *clockShift != 0 {
		shift := *clockShift
		db.Now = func() time.Time { return time.Now().Add(shift) }
		log.Warn("the clock runs ahead: SLA timers fire early", "offset", shift)
	}
	if *adminToken != "" {
		// Replaced, not added: a changed TANDEM_ADMIN_TOKEN revokes the old secret.
		if _, err := db.ReplaceToken(ctx, "admin (TANDEM_ADMIN_TOKEN)", tandem.RoleAdmin, *adminToken); err != nil {
			return fmt.Errorf("admin token: %w", err)
		}
	}

	if *debugAddr != "" {
		go func() {
			mux := http.NewServeMux()
			mux.HandleFunc("/debug/pprof/", pprof.Index)
			mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
			mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
			log.Info("profiler listening", "addr", *debugAddr)
			log.Error("profiler stopped", "err", http.ListenAndServe(*debugAddr, mux))
		}()
	}
	// Rescoring after an agreement is activated, and moving contacts that cooled off,
	// run beside the server until it stops.
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	var jobsDone sync.WaitGroup
	jobsDone.Go(func() { db.RunRescores(jobs, log) })
	jobsDone.Go(func() { db.RunDecay(jobs, *decayEvery, log) })
	// SLA timers and notification deliveries, shared with every process on the store.
	jobsDone.Go(func() { db.RunJobs(jobs, *jobPoll, log) })
	defer func() {
		stopJobs()
		jobsDone.Wait()
	}()
	app, err := web.New(db, log, web.Options{SecureCookies: strings.HasPrefix(*publicURL, "https://")})
	if err != nil {
		return fmt.Errorf("web app: %w", err)
	}
	srv, committer := newHTTPServer(db, metrics.NewRegistry(), *maxCommit, log)
	srv.Handler.(*thttp.Server).WithUI(app)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		committer.Close()
		return err
	}
	log.Info("tandem is serving", "url", "http://"+ln.Addr().String(), "store", db.Engine(), "db", redact(sf.db))
	fmt.Fprintf(stdout, "Tandem is listening on http://%s (store: %s)\n", ln.Addr(), db.Engine())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		committer.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	err = srv.Shutdown(sctx)
	committer.Close() // commits whatever was queued before the listener closed
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// newHTTPServer wires Tandem's HTTP handler over db with a group committer that takes
// at most maxCommit events a commit, registering metrics in reg. The caller closes the
// committer after the server.
func newHTTPServer(db *store.DB, reg *metrics.Registry, maxCommit int, log *slog.Logger) (*http.Server, *ingest.Committer) {
	committer := ingest.NewCommitter(db, maxCommit, reg, log)
	return &http.Server{
		Handler:           thttp.NewServer(db, committer, reg, log),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}, committer
}

// openStore opens and migrates the store; an ingester is a command that will ingest
// events (see store.Options.Ingester).
func openStore(ctx context.Context, sf storeFlags, log *slog.Logger, ingester bool) (*store.DB, error) {
	return openStoreWith(ctx, sf, log, store.Options{Ingester: ingester})
}

// openStoreWith is openStore with options of the command's own; the flags set the
// SQLite durability.
func openStoreWith(ctx context.Context, sf storeFlags, log *slog.Logger, opt store.Options) (*store.DB, error) {
	opt.SQLiteSync, opt.Log = sf.sqliteSync, log
	db, err := store.Open(ctx, sf.db, opt)
	if err != nil {
		return nil, err
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if n > 0 && log != nil {
		log.Info("applied migrations", "count", n)
	}
	return db, nil
}

// redact hides the password of a database URL for logs.
func redact(dsn string) string {
	if !store.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	var sf storeFlags
	sf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, "info")
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, sf.db, store.Options{SQLiteSync: sf.sqliteSync, Log: log})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s) to %s\n", n, redact(sf.db))
	return nil
}

func createKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys create", stderr)
	var sf storeFlags
	sf.register(fs)
	role := fs.String("role", "", "admin, marketing or sales")
	name := fs.String("name", "", "what the token is for")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *role == "" {
		fs.Usage()
		return errors.New("--role and --name are required")
	}
	db, err := openStore(ctx, sf, nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	_, secret, err := db.CreateToken(ctx, *name, tandem.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, secret)
	return nil
}

func createSource(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sources create", stderr)
	var sf storeFlags
	sf.register(fs)
	name := fs.String("name", "", "the source's name, such as website")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		fs.Usage()
		return errors.New("--name is required")
	}
	db, err := openStore(ctx, sf, nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	src, key, err := db.CreateSource(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "source %d (%s); its write key:\n", src.ID, src.Name)
	fmt.Fprintln(stdout, key)
	return nil
}
