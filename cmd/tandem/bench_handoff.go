package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tandem"
	"tandem/ingest"
	"tandem/metrics"
	"tandem/notify"
)

// bench handoff measures the product's promise to sales: the time from the event that
// makes a contact an MQL to the signed webhook that tells a rep, under a steady flow of
// qualifying leads on top of heavy background ingest.

// The budget the handoff is held to.
const (
	handoffBudgetP50 = 20 * time.Millisecond
	handoffBudgetP99 = 100 * time.Millisecond
	// handoffDrain is how long the run waits, after sending stops, for webhooks still
	// on their way.
	handoffDrain = 10 * time.Second
	// handoffJobPoll is the in-process server's job poll, serve's default: a webhook due
	// now is sent on the committer's kick, not on this poll.
	handoffJobPoll = time.Second
)

// handoffAgreement is the agreement the benchmark activates: the terms of
// agreement/testdata/handoff.yaml, open around the clock so that no lead waits for
// business hours, with one team of four reps taking leads in turn. A senior title
// (fit 20) and a demo request (engagement 60) make an MQL; the background load, which
// has no titles, never does.
const handoffAgreement = `name: handoff benchmark
timezone: UTC
business_hours: { days: [mon, tue, wed, thu, fri, sat, sun], hours: "00:00-24:00" }
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }
      - { name: demo request, on: 'track:Demo Requested', points: 60 }
  fit:
    rules:
      - { name: senior title, when: 'traits.title matches "(?i)\\b(vp|director|head|chief)\\b"', points: 20 }
  grades: { A: 40, B: 20, C: 10 }
stages:
  - { key: lead, meaning: "Known person" }
  - { key: mql, meaning: "Fits and engaged", enter_when: 'score.fit >= 20 && score.engagement >= 50' }
  - { key: sal, meaning: "A rep accepted it", enter_on: accept }
  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }
recycle: { to: lead, reasons: [no_budget, bad_timing, poor_fit] }
teams:
  bench:
    - { rep: ana@bench.test }
    - { rep: ben@bench.test }
    - { rep: chloe@bench.test }
    - { rep: dev@bench.test }
routing:
  - { name: everyone, assign: { round_robin: bench } }
sla:
  sales: { accept_within: 4h, first_touch_within: 8h, warn_before: 1h, on_breach: reassign }
`

// handoffReps are the sales users of handoffAgreement's team.
var handoffReps = []string{"ana@bench.test", "ben@bench.test", "chloe@bench.test", "dev@bench.test"}

// handoffOptions say what load bench handoff makes.
type handoffOptions struct {
	duration     time.Duration
	warmup       time.Duration
	leads        int // qualifying leads a minute
	background   int // background events a second
	batch        int
	clients      int
	users        int
	db           string
	url          string
	writeKey     string
	adminToken   string
	receiverAddr string
	json         bool
}

func benchHandoff(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench handoff", stderr)
	var opt handoffOptions
	fs.DurationVar(&opt.duration, "duration", 60*time.Second, "how long to measure, after the warm-up")
	fs.DurationVar(&opt.warmup, "warmup", 5*time.Second, "how long to run the load before measuring")
	fs.IntVar(&opt.leads, "leads-per-minute", 1000, "qualifying leads a minute, evenly paced: each a new person who becomes an MQL")
	fs.IntVar(&opt.background, "background", 20000, "background events a second that qualify no one, sent as /v1/batch requests; 0 for none")
	fs.IntVar(&opt.batch, "batch", 100, "events in each background /v1/batch request")
	fs.IntVar(&opt.clients, "clients", 8, "concurrent background clients, each pacing its share of --background")
	fs.IntVar(&opt.users, "users", 50000, "distinct people the background events come from")
	fs.StringVar(&opt.db, "db", "", "the store of the in-process server: a SQLite file path or a postgres:// URL; empty is a fresh temporary SQLite file, removed afterwards (taken from the command line only, so a TANDEM_DB meant for serve is never filled with benchmark data)")
	fs.StringVar(&opt.url, "url", "", "drive the Tandem server at this URL instead of one started in process; its active agreement is replaced by the benchmark's")
	fs.StringVar(&opt.writeKey, "write-key", "", "with --url: the write key of a source of that server")
	fs.StringVar(&opt.adminToken, "admin-token", "", "with --url: an admin API token of that server")
	fs.StringVar(&opt.receiverAddr, "receiver-addr", "127.0.0.1:0", "where the webhook receiver listens; with --url, an address that server can reach")
	fs.BoolVar(&opt.json, "json", false, "print the results as JSON")
	if err := parse(fs, args, "db"); err != nil {
		return err
	}
	switch {
	case opt.duration <= 0:
		return fmt.Errorf("--duration %s: want a positive duration such as 60s", opt.duration)
	case opt.warmup < 0:
		return fmt.Errorf("--warmup %s: want 0 or more", opt.warmup)
	case opt.leads < 1 || opt.leads > 600000:
		return fmt.Errorf("--leads-per-minute %d: want 1 to 600000", opt.leads)
	case opt.background < 0:
		return fmt.Errorf("--background %d: want 0 or more events a second", opt.background)
	case opt.batch < 1 || opt.batch > ingest.MaxBatchMessages:
		return fmt.Errorf("--batch %d: want 1 to %d", opt.batch, ingest.MaxBatchMessages)
	case opt.clients < 1 || opt.clients > 10000:
		return fmt.Errorf("--clients %d: want 1 to 10000", opt.clients)
	case opt.users < 1:
		return fmt.Errorf("--users %d: want at least 1", opt.users)
	case opt.url != "" && (opt.writeKey == "" || opt.adminToken == ""):
		return errors.New("--url needs the --write-key of a source and an --admin-token of that server")
	}

	target, err := startHandoffTarget(ctx, opt, stderr)
	if err != nil {
		return err
	}
	defer target.close()
	if !opt.json {
		fmt.Fprintf(stderr, "bench handoff: %s against %s\n", opt.describe(), target.describe)
	}
	rep, err := runHandoff(ctx, opt, target, stderr)
	if err != nil {
		return err
	}
	rep.Store = target.engine
	if opt.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout, opt)
	}
	if rep.Missing > 0 || rep.BadSignatures > 0 || rep.FailedLeads > 0 {
		return fmt.Errorf("%d webhooks missing, %d with a bad signature, %d leads not sent", rep.Missing, rep.BadSignatures, rep.FailedLeads)
	}
	return nil
}

func (o handoffOptions) describe() string {
	s := fmt.Sprintf("%s qualifying leads a minute", commas(int64(o.leads)))
	if o.background > 0 {
		s += fmt.Sprintf(" over %s background events/s (%d clients, %d events a request, %s people)",
			commas(int64(o.background)), o.clients, o.batch, commas(int64(o.users)))
	}
	return s + fmt.Sprintf(", %s warm-up, then %s measured", o.warmup, o.duration)
}

// handoffTarget is the server under test with the admin token that sets it up.
type handoffTarget struct {
	benchTarget
	adminToken string
}

// startHandoffTarget starts what tandem serve runs — the store, the group committer,
// the HTTP handler, rescoring, decay and the job runner that delivers webhooks — on a
// loopback port, with a source and an admin token.
func startHandoffTarget(ctx context.Context, opt handoffOptions, stderr io.Writer) (*handoffTarget, error) {
	if opt.url != "" {
		return &handoffTarget{
			benchTarget: benchTarget{url: strings.TrimSuffix(opt.url, "/"), writeKey: opt.writeKey, describe: opt.url, close: func() {}},
			adminToken:  opt.adminToken,
		}, nil
	}
	dsn, temp := opt.db, ""
	if dsn == "" {
		dir, err := os.MkdirTemp("", "tandem-bench-")
		if err != nil {
			return nil, err
		}
		temp, dsn = dir, filepath.Join(dir, "bench.db")
	}
	cleanup := func() {
		if temp != "" {
			os.RemoveAll(temp)
		}
	}
	db, err := openStore(ctx, storeFlags{db: dsn, sqliteSync: "normal"}, nil, true)
	if err != nil {
		cleanup()
		return nil, err
	}
	fail := func(err error) (*handoffTarget, error) {
		db.Close()
		cleanup()
		return nil, err
	}
	src, key, err := db.CreateSource(ctx, "bench handoff")
	if err != nil {
		return fail(err)
	}
	_, admin, err := db.CreateToken(ctx, "bench handoff", tandem.RoleAdmin)
	if err != nil {
		return fail(err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := metrics.NewRegistry()
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	var jobsDone sync.WaitGroup
	jobsDone.Go(func() { db.RunRescores(jobs, log) })
	jobsDone.Go(func() { db.RunDecay(jobs, time.Minute, log) })
	jobsDone.Go(func() { db.RunJobs(jobs, handoffJobPoll, log) })
	srv, committer := newHTTPServer(db, reg, 10000, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopJobs()
		jobsDone.Wait()
		committer.Close()
		return fail(err)
	}
	go srv.Serve(ln)
	t := &handoffTarget{benchTarget: benchTarget{
		url: "http://" + ln.Addr().String(), writeKey: key, engine: db.Engine(), reg: reg,
		describe: fmt.Sprintf("an in-process server on %s, %s store %s, source %d", ln.Addr(), db.Engine(), redact(dsn), src.ID),
	}, adminToken: admin}
	if temp != "" {
		t.describe = fmt.Sprintf("an in-process server on %s, a temporary SQLite store", ln.Addr())
	}
	t.close = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		committer.Close()
		stopJobs()
		jobsDone.Wait()
		db.Close()
		cleanup()
	}
	return t, nil
}

// handoffReport is the outcome of a run.
type handoffReport struct {
	Store          string  `json:"store,omitempty"`
	Seconds        float64 `json:"seconds"` // measured, after the warm-up
	LeadsPerMinute int     `json:"leads_per_minute"`
	// Leads are the measured leads whose crossing event the server accepted; each
	// should bring one webhook.
	Leads       int64 `json:"leads"`
	Webhooks    int64 `json:"webhooks"`
	Missing     int64 `json:"missing"`
	FailedLeads int64 `json:"failed_leads"`
	// HandoffMS is from just before the crossing event is sent to the webhook's arrival.
	HandoffMS benchLatency `json:"handoff_latency_ms"`
	// CrossingMS is how long the server took to answer the crossing event: its commit,
	// scoring and routing included.
	CrossingMS    benchLatency       `json:"crossing_request_ms"`
	WithinBudget  bool               `json:"within_budget"`
	Background    handoffBackground  `json:"background"`
	BadSignatures int64              `json:"bad_signatures"`
	Duplicates    int64              `json:"duplicate_webhooks"`
	Unexpected    int64              `json:"unexpected_webhooks"`
	Errors        []string           `json:"errors,omitempty"`
	Aborted       string             `json:"aborted,omitempty"`
	Budget        map[string]float64 `json:"budget_ms"`
	Server        *benchServer       `json:"server,omitempty"`
	Types         map[string]int64   `json:"webhook_types,omitempty"`
}

// handoffBackground is what the background load achieved while measured.
type handoffBackground struct {
	Target          int          `json:"target_events_per_second"`
	EventsPerSecond float64      `json:"events_per_second"`
	Events          int64        `json:"events"`
	Requests        int64        `json:"requests"`
	Failed          int64        `json:"failed_requests"`
	LatencyMS       benchLatency `json:"request_latency_ms"`
}

// handoffLead is one qualifying lead on its way.
type handoffLead struct {
	sent     time.Time // just before the crossing event was sent; zero until then
	measured bool      // sent after the warm-up
	accepted bool      // the server answered the crossing event with 200
	arrived  bool
}

// handoffRun is a run in progress.
type handoffRun struct {
	stop    atomic.Bool
	measure atomic.Bool // set at the end of the warm-up
	secret  string      // the channel's signing secret, set before any lead is sent

	mu          sync.Mutex // guards what follows
	rep         handoffReport
	leads       map[string]*handoffLead // by email
	handoff     *latencies
	crossing    *latencies
	webhooks    int64 // of every lead, warm-up included, for progress
	sentLeads   int64
	bgLatency   *latencies
	bgEvents    int64 // accepted while measured
	bgAll       int64 // accepted since the start, for progress
	bgRequests  int64
	bgFailed    int64
	measureFrom time.Time
}

func (run *handoffRun) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	run.mu.Lock()
	defer run.mu.Unlock()
	if len(run.rep.Errors) < 8 && !slices.Contains(run.rep.Errors, msg) {
		run.rep.Errors = append(run.rep.Errors, msg)
	}
}

// ServeHTTP is the webhook receiver: it checks each request's signature as a real
// receiver would and times the lead it tells of.
func (run *handoffRun) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := notify.Verify(run.secret, r.Header, body, at); err != nil {
		run.mu.Lock()
		run.rep.BadSignatures++
		run.mu.Unlock()
		run.fail("webhook signature: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Contact struct {
				Email string `json:"email"`
			} `json:"contact"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		run.fail("webhook body: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)

	run.mu.Lock()
	defer run.mu.Unlock()
	if run.rep.Types == nil {
		run.rep.Types = map[string]int64{}
	}
	run.rep.Types[p.Type]++
	l := run.leads[p.Data.Contact.Email]
	switch {
	case p.Type != "lead.assigned" || l == nil:
		run.rep.Unexpected++
		if p.Type == "lead.unassigned" {
			run.rep.Errors = appendOnce(run.rep.Errors, "a lead was handed off with no rep to take it")
		}
	case l.arrived:
		run.rep.Duplicates++
	case l.sent.IsZero():
		run.rep.Unexpected++
		run.rep.Errors = appendOnce(run.rep.Errors, "a webhook came before its lead's crossing event was sent: the identify alone made an MQL")
	default:
		l.arrived = true
		run.webhooks++
		if l.measured {
			run.rep.Webhooks++
			run.handoff.add(at.Sub(l.sent))
		}
	}
}

func appendOnce(list []string, s string) []string {
	if len(list) >= 8 || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// runHandoff sets the target up, runs the load for the warm-up and the measured time,
// and waits for the webhooks still on their way.
func runHandoff(ctx context.Context, opt handoffOptions, t *handoffTarget, stderr io.Writer) (*handoffReport, error) {
	run := &handoffRun{
		rep: handoffReport{LeadsPerMinute: opt.leads, Background: handoffBackground{Target: opt.background},
			Budget: map[string]float64{"p50": ms(handoffBudgetP50), "p99": ms(handoffBudgetP99)}},
		leads: map[string]*handoffLead{}, handoff: &latencies{}, crossing: &latencies{}, bgLatency: &latencies{},
	}
	api := &handoffAPI{url: t.url, token: t.adminToken, client: &http.Client{Timeout: 30 * time.Second}}

	ln, err := net.Listen("tcp", opt.receiverAddr)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	recv := &http.Server{Handler: run, ReadHeaderTimeout: 10 * time.Second}
	go recv.Serve(ln)
	defer recv.Close()

	channel, err := setUpHandoff(ctx, api, "http://"+ln.Addr().String()+"/hook")
	if err != nil {
		return nil, err
	}
	defer api.do(context.WithoutCancel(ctx), http.MethodDelete, "/api/v1/channels/"+strconv.FormatInt(channel.ID, 10), "", nil, nil)
	run.secret = channel.Secret

	runID := string(appendHex(nil, rand.Uint64(), 8))
	auth := []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(t.writeKey+":"))}
	transport := func(n int) *http.Client {
		return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        n,
			MaxIdleConnsPerHost: n,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}}
	}
	bgClient, leadClient := transport(opt.clients), transport(64)
	defer bgClient.CloseIdleConnections()
	defer leadClient.CloseIdleConnections()

	start := time.Now()
	var load sync.WaitGroup
	if opt.background > 0 {
		for c := range opt.clients {
			load.Go(func() { run.background(ctx, opt, c, runID, bgClient, t.url+"/v1/batch", auth) })
		}
	}
	var leads sync.WaitGroup
	load.Go(func() {
		interval := time.Minute / time.Duration(opt.leads)
		for i := 0; ; i++ {
			if !sleepUntil(ctx, &run.stop, start.Add(time.Duration(i)*interval)) {
				return
			}
			measured := run.measure.Load()
			leads.Go(func() { run.lead(ctx, runID, i, measured, leadClient, t.url, auth) })
		}
	})

	quit := make(chan struct{})
	go run.progress(quit, start, stderr)
	if sleepUntil(ctx, &run.stop, start.Add(opt.warmup)) {
		run.mu.Lock()
		run.measureFrom = time.Now()
		run.mu.Unlock()
		run.measure.Store(true)
		sleepUntil(ctx, &run.stop, start.Add(opt.warmup+opt.duration))
	}
	end := time.Now()
	run.stop.Store(true)
	load.Wait()
	leads.Wait()
	close(quit)

	// The webhooks still on their way.
	deadline := time.Now().Add(handoffDrain)
	for time.Now().Before(deadline) && ctx.Err() == nil && run.outstanding() > 0 {
		time.Sleep(20 * time.Millisecond)
	}

	run.mu.Lock()
	defer run.mu.Unlock()
	rep := &run.rep
	if run.measureFrom.IsZero() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		run.measureFrom = end
	}
	rep.Seconds = end.Sub(run.measureFrom).Seconds()
	for _, l := range run.leads {
		if l.measured && l.accepted {
			rep.Leads++
			if !l.arrived {
				rep.Missing++
			}
		}
	}
	rep.HandoffMS = run.handoff.report()
	rep.CrossingMS = run.crossing.report()
	rep.WithinBudget = rep.Webhooks > 0 && rep.Missing == 0 &&
		run.handoff.quantile(0.5) < handoffBudgetP50 && run.handoff.quantile(0.99) < handoffBudgetP99
	bg := &rep.Background
	bg.Events, bg.Requests, bg.Failed = run.bgEvents, run.bgRequests, run.bgFailed
	if rep.Seconds > 0 {
		bg.EventsPerSecond = float64(run.bgEvents) / rep.Seconds
	}
	bg.LatencyMS = run.bgLatency.report()
	if t.reg != nil {
		var b bytes.Buffer
		t.reg.Write(&b)
		if commits := metricValue(b.String(), "tandem_ingest_commits_total"); commits > 0 {
			rep.Server = &benchServer{
				Commits:         int64(commits),
				EventsPerCommit: metricValue(b.String(), "tandem_ingest_events_total") / commits,
				CommitFailures:  int64(metricValue(b.String(), "tandem_ingest_commit_failures_total")),
			}
		}
	}
	if ctx.Err() != nil {
		rep.Aborted = "interrupted"
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sleepUntil waits until at, and reports false if the run stopped first.
func sleepUntil(ctx context.Context, stop *atomic.Bool, at time.Time) bool {
	for {
		if stop.Load() || ctx.Err() != nil {
			return false
		}
		d := time.Until(at)
		if d <= 0 {
			return true
		}
		// Wake now and then to see the run stop.
		time.Sleep(min(d, 100*time.Millisecond))
	}
}

// outstanding counts the leads whose webhook the server owes.
func (run *handoffRun) outstanding() int {
	run.mu.Lock()
	defer run.mu.Unlock()
	n := 0
	for _, l := range run.leads {
		if l.accepted && !l.arrived {
			n++
		}
	}
	return n
}

// progress prints a line every 10 seconds until the run stops.
func (run *handoffRun) progress(quit <-chan struct{}, start time.Time, w io.Writer) {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	last, lastAt := int64(0), start
	for {
		select {
		case <-quit:
			return
		case now := <-tick.C:
			run.mu.Lock()
			sent, hooks, bg := run.sentLeads, run.webhooks, run.bgAll
			run.mu.Unlock()
			phase := "measuring"
			if !run.measure.Load() {
				phase = "warming up"
			}
			fmt.Fprintf(w, "bench handoff: %s (%s), %s leads, %s webhooks, background %s events/s\n",
				shortDuration(now.Sub(start)), phase, commas(sent), commas(hooks), commas(int64(float64(bg-last)/now.Sub(lastAt).Seconds())))
			last, lastAt = bg, now
		}
	}
}

// background sends client c's share of the background load: /v1/batch requests paced
// evenly, catching up after a slow answer but never by more than a second's worth.
func (run *handoffRun) background(ctx context.Context, opt handoffOptions, c int, runID string, client *http.Client, endpoint string, auth []string) {
	r := rand.New(rand.NewPCG(uint64(c), 3))
	now := time.Now()
	const variants = 4
	var payloads []*benchPayload
	for range variants {
		payloads = append(payloads, newBenchPayload(r, runID, opt.batch, false, now))
	}
	interval := time.Duration(float64(time.Second) * float64(opt.clients*opt.batch) / float64(opt.background))
	next := time.Now().Add(time.Duration(c) * interval / time.Duration(opt.clients)) // spread the clients out
	var (
		seq  uint64
		resp bytes.Buffer
	)
	for i := 0; ; i++ {
		if !sleepUntil(ctx, &run.stop, next) {
			return
		}
		next = next.Add(interval)
		if behind := time.Since(next); behind > time.Second {
			next = time.Now()
		}
		p := payloads[i%variants]
		p.renew(r, c, &seq, opt.users)
		a := send(ctx, client, endpoint, auth, p, false, &resp)
		measured := run.measure.Load()
		run.mu.Lock()
		run.bgAll += int64(a.accepted)
		if measured {
			run.bgRequests++
			if a.err != "" {
				run.bgFailed++
			} else {
				run.bgEvents += int64(a.accepted)
				run.bgLatency.add(a.latency)
			}
		}
		run.mu.Unlock()
		if a.err != "" {
			run.fail("background: %s", a.err)
		} else if a.rejected > 0 {
			run.fail("background: the server refused %d events of a batch", a.rejected)
		}
	}
}

// handoffTitles are senior titles, each worth the fit of an MQL.
var handoffTitles = []string{"VP of Sales", "Director of Revenue Operations", "Head of Growth", "Chief Revenue Officer", "VP Marketing"}

// lead makes lead number n an MQL: an identify with a senior title, answered before the
// one tracked event that crosses the threshold, sent as a website would.
func (run *handoffRun) lead(ctx context.Context, runID string, n int, measured bool, client *http.Client, url string, auth []string) {
	email := fmt.Sprintf("lead-%s-%d@company%d.bench.test", runID, n, n%97)
	user := fmt.Sprintf("lead-%s-%d", runID, n)
	now := time.Now()
	w := &jsonWriter{}
	w.open()
	w.str("type", "identify")
	w.str("messageId", fmt.Sprintf("bench-%s-lead-%d-identify", runID, n))
	w.str("userId", user)
	w.key("traits")
	w.open()
	w.str("email", email)
	w.str("name", fmt.Sprintf("Lead %d", n))
	w.str("title", handoffTitles[n%len(handoffTitles)])
	w.str("country", "US")
	w.close()
	w.time("timestamp", now)
	w.time("sentAt", now)
	w.close()
	if _, err := postSingle(ctx, client, url+"/v1/identify", auth, w.b); err != nil {
		if ctx.Err() != nil {
			return // interrupted
		}
		run.mu.Lock()
		if measured {
			run.rep.FailedLeads++
		}
		run.mu.Unlock()
		run.fail("identify: %v", err)
		return
	}

	w = &jsonWriter{}
	now = time.Now()
	w.open()
	w.str("type", "track")
	w.str("messageId", fmt.Sprintf("bench-%s-lead-%d-demo", runID, n))
	w.str("userId", user)
	w.str("event", "Demo Requested")
	w.key("properties")
	w.b = append(w.b, `{"team_size":"51-200","crm":"Salesforce","source_page":"/pricing","priority":"high"}`...)
	w.time("timestamp", now)
	w.time("sentAt", now)
	w.close()
	l := &handoffLead{measured: measured}
	run.mu.Lock()
	run.leads[email] = l
	run.sentLeads++
	l.sent = time.Now()
	run.mu.Unlock()
	took, err := postSingle(ctx, client, url+"/v1/track", auth, w.b)
	run.mu.Lock()
	if err == nil {
		l.accepted = true
		if measured {
			run.crossing.add(took)
		}
	} else if measured {
		run.rep.FailedLeads++
	}
	run.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		run.fail("crossing event: %v", err)
	}
}

// postSingle posts one tracking API message and says how long the answer took.
func postSingle(ctx context.Context, client *http.Client, url string, auth []string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Authorization"] = auth
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Success bool `json:"success"`
	}
	b, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return took, err
	}
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &out); err != nil || !out.Success {
		return took, fmt.Errorf("unexpected answer: %s", b)
	}
	return took, nil
}

// handoffAPI calls the management API with an admin token.
type handoffAPI struct {
	url, token string
	client     *http.Client
}

// do sends body (JSON unless contentType says otherwise) and decodes the answer into
// out, if given.
func (a *handoffAPI) do(ctx context.Context, method, path, contentType string, body, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &handoffAPIError{status: resp.StatusCode, msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

type handoffAPIError struct {
	status int
	msg    string
}

func (e *handoffAPIError) Error() string { return e.msg }

// setUpHandoff makes the reps, activates the benchmark's agreement and adds a webhook
// channel for lead.assigned pointing at hook.
func setUpHandoff(ctx context.Context, api *handoffAPI, hook string) (*tandem.Channel, error) {
	for _, rep := range handoffReps {
		name, _, _ := strings.Cut(rep, "@")
		u := tandem.User{Email: rep, Name: name, Team: tandem.TeamSales, Role: tandem.UserMember}
		err := api.do(ctx, http.MethodPost, "/api/v1/users", "", u, nil)
		var apiErr *handoffAPIError
		if err != nil && !(errors.As(err, &apiErr) && apiErr.status == http.StatusConflict) { // a rep of an earlier run
			return nil, fmt.Errorf("create rep: %w", err)
		}
	}
	var a tandem.Agreement
	if err := api.do(ctx, http.MethodPut, "/api/v1/agreement", "application/yaml", handoffAgreement, &a); err != nil {
		return nil, fmt.Errorf("propose agreement: %w", err)
	}
	if err := api.do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/agreement/versions/%d/activate", a.Version), "", nil, nil); err != nil {
		return nil, fmt.Errorf("activate agreement: %w", err)
	}
	var c tandem.Channel
	in := tandem.Channel{Kind: "webhook", Name: "bench handoff", URL: hook, Events: []string{"lead.assigned", "lead.unassigned"}}
	if err := api.do(ctx, http.MethodPost, "/api/v1/channels", "", in, &c); err != nil {
		return nil, fmt.Errorf("create webhook channel: %w", err)
	}
	if c.Secret == "" {
		return nil, errors.New("create webhook channel: the answer has no secret")
	}
	return &c, nil
}

func (rep *handoffReport) print(w io.Writer, opt handoffOptions) {
	fmt.Fprintf(w, "Handoff benchmark: %s\n", opt.describe())
	fmt.Fprintf(w, "  leads       %s sent in %.1f s (%.0f a minute), %s webhooks received, %s missing, %s failed to send\n",
		commas(rep.Leads), rep.Seconds, float64(rep.Leads)/max(rep.Seconds, 1e-9)*60, commas(rep.Webhooks), commas(rep.Missing), commas(rep.FailedLeads))
	l := rep.HandoffMS
	verdict := "within budget"
	if !rep.WithinBudget {
		verdict = "OVER budget"
	}
	fmt.Fprintf(w, "  handoff     p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (budget p50 < %.0f ms, p99 < %.0f ms: %s)\n",
		l.P50, l.P90, l.P99, l.Max, ms(handoffBudgetP50), ms(handoffBudgetP99), verdict)
	c := rep.CrossingMS
	fmt.Fprintf(w, "  crossing    the MQL event's request: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", c.P50, c.P90, c.P99, c.Max)
	b := rep.Background
	if b.Target > 0 {
		fmt.Fprintf(w, "  background  %s events/s of %s wanted, %s requests (%s failed), request p50 %.2f ms, p99 %.2f ms\n",
			commas(int64(b.EventsPerSecond)), commas(int64(b.Target)), commas(b.Requests), commas(b.Failed), b.LatencyMS.P50, b.LatencyMS.P99)
	}
	if s := rep.Server; s != nil {
		fmt.Fprintf(w, "  server      %s commits, %.0f events a commit on average, %d failed\n", commas(s.Commits), s.EventsPerCommit, s.CommitFailures)
	}
	if rep.BadSignatures > 0 || rep.Duplicates > 0 || rep.Unexpected > 0 {
		fmt.Fprintf(w, "  webhooks    %d with a bad signature, %d duplicates, %d unexpected\n", rep.BadSignatures, rep.Duplicates, rep.Unexpected)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  error       %s\n", e)
	}
	if rep.Aborted != "" {
		fmt.Fprintf(w, "  stopped early: %s\n", rep.Aborted)
	}
}
