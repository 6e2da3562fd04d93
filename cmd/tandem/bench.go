package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
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

	"tandem/ingest"
	"tandem/metrics"
	"tandem/store"
)

// benchOptions say what load bench ingest makes.
type benchOptions struct {
	mode       string // "batch" or "single"
	batch      int
	clients    int
	users      int
	duration   time.Duration
	events     int64 // stop after this many events; zero runs for duration
	step       int64 // with --grow: report each step of this many events; zero otherwise
	db         string
	sqliteSync string
	commitMax  int
	url        string
	writeKey   string
	json       bool
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench ingest", stderr)
	var (
		opt  benchOptions
		grow int64
	)
	fs.StringVar(&opt.mode, "mode", "batch", "batch: POST /v1/batch with --batch events a request; single: POST /v1/track, one event a request")
	fs.IntVar(&opt.batch, "batch", 100, "events in each /v1/batch request")
	fs.IntVar(&opt.clients, "clients", 16, "concurrent clients, each sending its next request when the last is answered")
	fs.IntVar(&opt.users, "users", 10000, "distinct people the events come from")
	fs.DurationVar(&opt.duration, "duration", 20*time.Second, "how long to send, unless --events or --grow is given")
	fs.Int64Var(&opt.events, "events", 0, "send this many events, then stop")
	fs.Int64Var(&grow, "grow", 0, "send this many events and report the throughput of every --step of them, to show how ingest holds up as the store grows")
	fs.Int64Var(&opt.step, "step", 0, "with --grow: the events in each reported step (default a tenth of --grow)")
	fs.StringVar(&opt.db, "db", "", "the store of the in-process server: a SQLite file path or a postgres:// URL; empty is a fresh temporary SQLite file, removed afterwards (taken from the command line only, so a TANDEM_DB meant for serve is never filled with benchmark events)")
	fs.StringVar(&opt.sqliteSync, "sqlite-sync", "normal", "SQLite durability of the in-process server: normal or full")
	fs.IntVar(&opt.commitMax, "commit-max-events", 10000, "most events one ingest commit of the in-process server takes")
	fs.StringVar(&opt.url, "url", "", "drive the Tandem server at this URL instead of one started in process")
	fs.StringVar(&opt.writeKey, "write-key", "", "with --url: the write key of a source of that server")
	fs.BoolVar(&opt.json, "json", false, "print the results as JSON")
	if err := parse(fs, args, "db"); err != nil {
		return err
	}
	if grow > 0 {
		opt.events = grow
		if opt.step <= 0 {
			opt.step = max(grow/10, 1)
		}
	}
	switch {
	case opt.mode != "batch" && opt.mode != "single":
		return fmt.Errorf("--mode %q: want batch or single", opt.mode)
	case opt.mode == "batch" && (opt.batch < 1 || opt.batch > ingest.MaxBatchMessages):
		return fmt.Errorf("--batch %d: want 1 to %d", opt.batch, ingest.MaxBatchMessages)
	case opt.clients < 1 || opt.clients > 10000:
		return fmt.Errorf("--clients %d: want 1 to 10000", opt.clients)
	case opt.users < 1:
		return fmt.Errorf("--users %d: want at least 1", opt.users)
	case opt.events < 0:
		return fmt.Errorf("--events %d: want 0 (a timed run) or more", opt.events)
	case opt.events == 0 && opt.duration <= 0:
		return errors.New("--duration must be positive, or give --events or --grow")
	case grow == 0 && opt.step != 0:
		return errors.New("--step needs --grow")
	case opt.step > opt.events:
		return fmt.Errorf("--step %d is more than --grow %d", opt.step, opt.events)
	case opt.url != "" && opt.writeKey == "":
		return errors.New("--url needs the --write-key of a source of that server")
	}
	if opt.mode == "single" {
		opt.batch = 1
	}

	target, err := startBenchTarget(ctx, opt, stderr)
	if err != nil {
		return err
	}
	defer target.close()
	if !opt.json {
		fmt.Fprintf(stderr, "bench ingest: %s against %s\n", opt.describe(), target.describe)
	}
	rep, err := runBench(ctx, opt, target, stderr)
	if err != nil {
		return err
	}
	target.finish(rep)
	if opt.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout, opt)
	}
	if rep.Failed > 0 || rep.Rejected > 0 {
		return fmt.Errorf("%d requests failed and %d events were refused", rep.Failed, rep.Rejected)
	}
	return nil
}

func (o benchOptions) describe() string {
	s := fmt.Sprintf("%d clients, one event a request (POST /v1/track)", o.clients)
	if o.mode == "batch" {
		s = fmt.Sprintf("%d clients, %d events a request (POST /v1/batch)", o.clients, o.batch)
	}
	switch {
	case o.step > 0:
		s += fmt.Sprintf(", %s events in steps of %s", commas(o.events), commas(o.step))
	case o.events > 0:
		s += fmt.Sprintf(", %s events", commas(o.events))
	default:
		s += ", for " + o.duration.String()
	}
	return s
}

// benchTarget is the server under load: one started in process, or one elsewhere.
type benchTarget struct {
	url, writeKey string
	describe      string
	engine        string
	sqlitePath    string // the store's file, to report its size
	reg           *metrics.Registry
	close         func()
}

// startBenchTarget starts what tandem serve runs — the store, the group committer and
// the HTTP handler — on a loopback port, with a source to send to.
func startBenchTarget(ctx context.Context, opt benchOptions, stderr io.Writer) (*benchTarget, error) {
	if opt.url != "" {
		return &benchTarget{url: strings.TrimSuffix(opt.url, "/"), writeKey: opt.writeKey, describe: opt.url, close: func() {}}, nil
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
	db, err := openStore(ctx, storeFlags{db: dsn, sqliteSync: opt.sqliteSync}, nil, true)
	if err != nil {
		cleanup()
		return nil, err
	}
	src, key, err := db.CreateSource(ctx, "bench")
	if err != nil {
		db.Close()
		cleanup()
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := metrics.NewRegistry()
	srv, committer := newHTTPServer(db, reg, opt.commitMax, log)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		committer.Close()
		db.Close()
		cleanup()
		return nil, err
	}
	go srv.Serve(ln)
	t := &benchTarget{
		url: "http://" + ln.Addr().String(), writeKey: key, engine: db.Engine(), reg: reg,
		describe: fmt.Sprintf("an in-process server on %s, %s store %s, source %d", ln.Addr(), db.Engine(), redact(dsn), src.ID),
	}
	if temp != "" {
		t.describe = fmt.Sprintf("an in-process server on %s, a temporary SQLite store", ln.Addr())
	}
	if !store.IsPostgres(dsn) {
		t.sqlitePath = dsn
	}
	t.close = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		committer.Close()
		db.Close()
		cleanup()
	}
	return t, nil
}

// finish adds what the server saw to the report.
func (t *benchTarget) finish(rep *benchReport) {
	rep.Store = t.engine
	if t.reg != nil {
		var b bytes.Buffer
		t.reg.Write(&b)
		commits := metricValue(b.String(), "tandem_ingest_commits_total")
		if commits > 0 {
			rep.Server = &benchServer{
				Commits:         int64(commits),
				EventsPerCommit: metricValue(b.String(), "tandem_ingest_events_total") / commits,
				CommitFailures:  int64(metricValue(b.String(), "tandem_ingest_commit_failures_total")),
			}
		}
	}
	if t.sqlitePath != "" {
		if fi, err := os.Stat(t.sqlitePath); err == nil {
			rep.StoreBytes = fi.Size()
		}
		if fi, err := os.Stat(t.sqlitePath + "-wal"); err == nil {
			rep.WALBytes = fi.Size()
		}
	}
}

// metricValue finds an unlabelled sample in the Prometheus text format.
func metricValue(text, name string) float64 {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

// benchPayload is a request body built once and reused: before each send, the digits
// that make each event's messageId unique are rewritten, and each event is given to a
// user drawn at random, so the client does little more than write bytes.
type benchPayload struct {
	body   []byte
	events int
	msgIDs []int // where each event's 16 unique messageId digits are
	users  []int // where each event's 8 userId digits are, or -1 for an anonymous event
	anons  []int // where each event's 36-character anonymousId is
}

// benchEvents are the tracked actions of the load: a B2B product's and marketing site's.
var benchEvents = []struct {
	name  string
	props string
}{
	{"Product Viewed", `{"product_id":"routing","category":"features","plan":"business","price":49.5,"currency":"USD"}`},
	{"Form Submitted", `{"form_id":"contact-us","form_name":"Contact sales","page_path":"/contact","fields":6}`},
	{"Whitepaper Downloaded", `{"asset":"The State of Revenue Operations","asset_type":"report","gated":true}`},
	{"Webinar Registered", `{"webinar":"Speed to lead, live","webinar_id":"wb-2026-05","channel":"email"}`},
	{"Demo Requested", `{"team_size":"51-200","crm":"Salesforce","source_page":"/pricing","priority":"high"}`},
	{"Trial Started", `{"plan":"growth","trial_days":14,"seats":10,"billing":"annual","coupon":""}`},
}

var benchPages = []struct{ name, path, title string }{
	{"Pricing", "/pricing", "Pricing | Tandem"},
	{"Home", "/", "Tandem | One funnel for marketing and sales"},
	{"Lead Routing", "/product/routing", "Lead routing | Tandem"},
	{"Speed to lead", "/blog/speed-to-lead", "Speed to lead: why five minutes matters"},
}

// newBenchPayload builds a body of n events; single makes one /v1/track message.
func newBenchPayload(r *rand.Rand, runID string, n int, single bool, now time.Time) *benchPayload {
	p := &benchPayload{events: n}
	w := &jsonWriter{b: make([]byte, 0, n*450+64)}
	if !single {
		w.open()
		w.array("batch")
	}
	for range n {
		page := !single && r.IntN(5) < 2
		typ := "track"
		if page {
			typ = "page"
		}
		w.open()
		w.str("type", typ)
		w.key("messageId")
		w.b = append(w.b, `"bench-`...)
		w.b = append(w.b, runID...)
		w.b = append(w.b, '-')
		p.msgIDs = append(p.msgIDs, len(w.b))
		w.b = append(w.b, "0000000000000000\""...)
		if page && r.IntN(2) == 0 {
			p.users = append(p.users, -1) // not signed in yet
		} else {
			w.key("userId")
			w.b = append(w.b, `"usr_`...)
			p.users = append(p.users, len(w.b))
			w.b = append(w.b, "00000000\""...)
		}
		w.key("anonymousId")
		w.b = append(w.b, '"')
		p.anons = append(p.anons, len(w.b))
		w.b = append(w.b, "00000000-0000-4000-8000-000000000000\""...)
		w.time("timestamp", now)
		if single {
			w.time("sentAt", now)
		}
		if page {
			pg := benchPages[r.IntN(len(benchPages))]
			w.str("name", pg.name)
			w.key("properties")
			w.open()
			w.str("path", pg.path)
			w.str("title", pg.title)
			w.str("url", "https://www.example.com"+pg.path)
			w.str("referrer", "https://www.google.com/")
			w.close()
		} else {
			ev := benchEvents[r.IntN(len(benchEvents))]
			w.str("event", ev.name)
			w.key("properties")
			w.b = append(w.b, ev.props...)
		}
		w.key("context")
		w.open()
		w.key("library")
		w.open()
		w.str("name", "analytics-node")
		w.str("version", "2.1.0")
		w.close()
		w.str("ip", "203.0.113."+strconv.Itoa(1+r.IntN(254)))
		w.str("locale", "en-US")
		w.close()
		w.close()
	}
	if !single {
		w.closeArray()
		w.time("sentAt", now)
		w.close()
	}
	p.body = w.b
	return p
}

// renew makes every event of the payload new: a fresh messageId from client and seq,
// and a user drawn from users.
func (p *benchPayload) renew(r *rand.Rand, client int, seq *uint64, users int) {
	for i := range p.events {
		*seq++
		putHex(p.body[p.msgIDs[i]:p.msgIDs[i]+16], uint64(client)<<40|*seq)
		u := uint64(r.IntN(users))
		if off := p.users[i]; off >= 0 {
			putHex(p.body[off:off+8], u*2654435761&0xffffffff) // a bijection, so ids stay distinct
		}
		off := p.anons[i]
		appendUUID(p.body[off:off:off+36], mix64(u), mix64(u^0x5bd1e995))
	}
}

// latencies is a histogram of durations with buckets 1/128 of their size apart, so
// percentiles are within 1% without keeping every sample.
type latencies struct {
	counts []uint64
	n      uint64
	max    time.Duration
}

const latencySub = 128

func latencyBucket(us uint64) int {
	if us < 2*latencySub {
		return int(us)
	}
	e := bits.Len64(us) - 8
	return 2*latencySub + (e-1)*latencySub + int(us>>uint(e)) - latencySub
}

func latencyValue(i int) time.Duration {
	if i < 2*latencySub {
		return time.Duration(i) * time.Microsecond
	}
	e := (i-2*latencySub)/latencySub + 1
	m := uint64((i-2*latencySub)%latencySub + latencySub)
	return time.Duration(m<<uint(e)+(1<<uint(e))/2) * time.Microsecond
}

func (l *latencies) add(d time.Duration) {
	i := latencyBucket(uint64(max(d.Microseconds(), 0)))
	if i >= len(l.counts) {
		l.counts = append(l.counts, make([]uint64, i+1-len(l.counts)+64)...)
	}
	l.counts[i]++
	l.n++
	l.max = max(l.max, d)
}

// quantile returns the duration below which a fraction q of the samples lie.
func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	want := uint64(q*float64(l.n) + 0.5)
	want = min(max(want, 1), l.n)
	var seen uint64
	for i, c := range l.counts {
		seen += c
		if seen >= want {
			return min(latencyValue(i), l.max)
		}
	}
	return l.max
}

func (l *latencies) report() benchLatency {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return benchLatency{P50: ms(l.quantile(0.5)), P90: ms(l.quantile(0.9)), P99: ms(l.quantile(0.99)), Max: ms(l.max)}
}

// benchReport is the outcome of a run.
type benchReport struct {
	Mode              string       `json:"mode"`
	Batch             int          `json:"batch"`
	Clients           int          `json:"clients"`
	Users             int          `json:"users"`
	Store             string       `json:"store,omitempty"`
	Seconds           float64      `json:"seconds"`
	Requests          int64        `json:"requests"`
	Events            int64        `json:"events"`
	Accepted          int64        `json:"accepted"`
	Stored            int64        `json:"stored"`
	Duplicates        int64        `json:"duplicates"`
	Rejected          int64        `json:"rejected"`
	Failed            int64        `json:"failed_requests"`
	EventsPerSecond   float64      `json:"events_per_second"`
	RequestsPerSecond float64      `json:"requests_per_second"`
	LatencyMS         benchLatency `json:"latency_ms"`
	Steps             []benchStep  `json:"steps,omitempty"`
	Server            *benchServer `json:"server,omitempty"`
	StoreBytes        int64        `json:"store_bytes,omitempty"` // the SQLite file
	WALBytes          int64        `json:"wal_bytes,omitempty"`   // its write-ahead log
	Errors            []string     `json:"errors,omitempty"`
	Aborted           string       `json:"aborted,omitempty"`
}

// benchRun is a run in progress: the report being filled in as answers arrive.
type benchRun struct {
	stop atomic.Bool // set to stop sending
	bar  *progress
	step int64 // the events of a --grow step, or zero

	mu          sync.Mutex // guards what follows
	rep         benchReport
	latency     *latencies
	stepLatency *latencies
	start, end  time.Time
	stepStart   time.Time
	nextStep    int64
}

type benchLatency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// benchStep is the throughput of one step of a --grow run: the events from
// EventsBefore to EventsBefore+step.
type benchStep struct {
	EventsBefore    int64   `json:"events_before"`
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"events_per_second"`
	P50             float64 `json:"p50_ms"`
	P99             float64 `json:"p99_ms"`
}

type benchServer struct {
	Commits         int64   `json:"commits"`
	EventsPerCommit float64 `json:"events_per_commit"`
	CommitFailures  int64   `json:"commit_failures"`
}

// answer is what one request got back.
type answer struct {
	latency                                time.Duration
	events                                 int
	accepted, stored, duplicates, rejected int
	err                                    string
}

func (run *benchRun) record(a answer) {
	now := time.Now()
	run.mu.Lock()
	defer run.mu.Unlock()
	rep := &run.rep
	rep.Requests++
	rep.Events += int64(a.events)
	run.end = now
	if a.err != "" {
		rep.Failed++
		if len(rep.Errors) < 5 && !slices.Contains(rep.Errors, a.err) {
			rep.Errors = append(rep.Errors, a.err)
		}
		if rep.Failed >= 50 && rep.Failed*10 > rep.Requests && rep.Aborted == "" {
			rep.Aborted = "too many requests failed"
			run.stop.Store(true)
		}
		return
	}
	run.latency.add(a.latency)
	rep.Accepted += int64(a.accepted)
	rep.Stored += int64(a.stored)
	rep.Duplicates += int64(a.duplicates)
	rep.Rejected += int64(a.rejected)
	run.bar.Add(int64(a.accepted))
	if run.step == 0 {
		return
	}
	run.stepLatency.add(a.latency)
	for rep.Accepted >= run.nextStep {
		secs := now.Sub(run.stepStart).Seconds()
		l := run.stepLatency.report()
		rep.Steps = append(rep.Steps, benchStep{
			EventsBefore: run.nextStep - run.step, Seconds: secs, EventsPerSecond: float64(run.step) / secs,
			P50: l.P50, P99: l.P99,
		})
		run.nextStep += run.step
		run.stepStart, run.stepLatency = now, &latencies{}
	}
}

// runBench drives the target with closed-loop clients until the events are sent or
// the time is up.
func runBench(ctx context.Context, opt benchOptions, t *benchTarget, stderr io.Writer) (*benchReport, error) {
	run := &benchRun{
		rep:     benchReport{Mode: opt.mode, Batch: opt.batch, Clients: opt.clients, Users: opt.users},
		latency: &latencies{}, stepLatency: &latencies{},
	}
	if opt.step > 0 {
		run.step, run.nextStep = opt.step, opt.step
	}

	runID := string(appendHex(nil, rand.Uint64(), 8))
	now := time.Now()
	const variants = 4 // bodies per client, so one is never rewritten while still being sent
	payloads := make([][]*benchPayload, opt.clients)
	for c := range payloads {
		r := rand.New(rand.NewPCG(uint64(c), 1))
		for range variants {
			payloads[c] = append(payloads[c], newBenchPayload(r, runID, opt.batch, opt.mode == "single", now))
		}
	}
	endpoint := t.url + "/v1/batch"
	if opt.mode == "single" {
		endpoint = t.url + "/v1/track"
	}
	auth := []string{"Basic " + base64.StdEncoding.EncodeToString([]byte(t.writeKey+":"))}
	client := &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        opt.clients,
			MaxIdleConnsPerHost: opt.clients,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
	defer client.CloseIdleConnections()

	var issued atomic.Int64
	// claim takes up to n events of the run's total, and says how many it got.
	claim := func(n int) int {
		if run.stop.Load() || ctx.Err() != nil {
			return 0
		}
		if opt.events == 0 {
			return n
		}
		after := issued.Add(int64(n))
		if over := after - opt.events; over > 0 {
			return max(n-int(over), 0)
		}
		return n
	}

	barOut := stderr
	if opt.json {
		barOut = io.Discard
	}
	if opt.events > 0 {
		run.bar = newProgress(barOut, "bench", "events", opt.events, 0)
	} else {
		run.bar = newProgress(barOut, "bench", "events", 0, opt.duration)
	}
	run.bar.extra = func() string {
		run.mu.Lock()
		defer run.mu.Unlock()
		s := commas(run.rep.Requests) + " requests"
		if run.rep.Failed > 0 {
			s += fmt.Sprintf(", %s failed", commas(run.rep.Failed))
		}
		return s
	}
	run.start = time.Now()
	run.stepStart = run.start
	run.bar.Start()
	if opt.events == 0 {
		timer := time.AfterFunc(opt.duration, func() { run.stop.Store(true) })
		defer timer.Stop()
	}
	var wg sync.WaitGroup
	for c := range opt.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 2))
			var (
				seq  uint64
				resp bytes.Buffer
			)
			for i := 0; ; i++ {
				n := claim(opt.batch)
				if n == 0 {
					return
				}
				p := payloads[c][i%variants]
				if n < p.events { // the last, short batch of a run with a set number of events
					p = newBenchPayload(r, runID, n, opt.mode == "single", now)
				}
				p.renew(r, c, &seq, opt.users)
				run.record(send(ctx, client, endpoint, auth, p, opt.mode == "single", &resp))
			}
		}()
	}
	wg.Wait()
	run.bar.Finish()

	rep := &run.rep
	if err := ctx.Err(); err != nil && rep.Requests == 0 {
		return nil, err
	}
	if run.end.IsZero() {
		run.end = time.Now()
	}
	rep.Seconds = run.end.Sub(run.start).Seconds()
	if rep.Seconds > 0 {
		rep.EventsPerSecond = float64(rep.Accepted) / rep.Seconds
		rep.RequestsPerSecond = float64(rep.Requests-rep.Failed) / rep.Seconds
	}
	rep.LatencyMS = run.latency.report()
	if ctx.Err() != nil && rep.Aborted == "" {
		rep.Aborted = "interrupted"
	}
	return rep, nil
}

// send posts one payload and reads the answer.
func send(ctx context.Context, client *http.Client, url string, auth []string, p *benchPayload, single bool, buf *bytes.Buffer) answer {
	a := answer{events: p.events}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(p.body))
	if err != nil {
		a.err = err.Error()
		return a
	}
	req.Header["Content-Type"] = []string{"application/json"}
	req.Header["Authorization"] = auth
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a.err = err.Error()
		return a
	}
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	a.latency = time.Since(start)
	if err != nil {
		a.err = "reading the answer: " + err.Error()
		return a
	}
	if resp.StatusCode != http.StatusOK {
		a.err = fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(bytes.TrimSpace(buf.Bytes()))))
		return a
	}
	if single {
		var out struct {
			Success   bool `json:"success"`
			Duplicate bool `json:"duplicate"`
		}
		if err := json.Unmarshal(buf.Bytes(), &out); err != nil || !out.Success {
			a.err = "unexpected answer: " + buf.String()
			return a
		}
		a.accepted = 1
		if out.Duplicate {
			a.duplicates = 1
		} else {
			a.stored = 1
		}
		return a
	}
	var out struct {
		Accepted   int `json:"accepted"`
		Stored     int `json:"stored"`
		Duplicates int `json:"duplicates"`
		Rejected   int `json:"rejected"`
	}
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		a.err = "unexpected answer: " + buf.String()
		return a
	}
	a.accepted, a.stored, a.duplicates, a.rejected = out.Accepted, out.Stored, out.Duplicates, out.Rejected
	return a
}

func (rep *benchReport) print(w io.Writer, opt benchOptions) {
	fmt.Fprintf(w, "Ingest benchmark: %s\n", opt.describe())
	fmt.Fprintf(w, "  events      %s accepted (%s stored, %s duplicates), %s refused, %s requests failed, in %.1f s\n",
		commas(rep.Accepted), commas(rep.Stored), commas(rep.Duplicates), commas(rep.Rejected), commas(rep.Failed), rep.Seconds)
	fmt.Fprintf(w, "  throughput  %s events/s, %s requests/s\n", commas(int64(rep.EventsPerSecond)), commas(int64(rep.RequestsPerSecond)))
	l := rep.LatencyMS
	fmt.Fprintf(w, "  latency     p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", l.P50, l.P90, l.P99, l.Max)
	if s := rep.Server; s != nil {
		fmt.Fprintf(w, "  server      %s commits, %.0f events a commit on average, %d failed\n", commas(s.Commits), s.EventsPerCommit, s.CommitFailures)
	}
	if rep.StoreBytes > 0 && rep.Stored > 0 {
		fmt.Fprintf(w, "  store       %s file %.1f MiB (%d bytes an event), write-ahead log %.1f MiB\n",
			rep.Store, float64(rep.StoreBytes)/(1<<20), rep.StoreBytes/rep.Stored, float64(rep.WALBytes)/(1<<20))
	}
	if len(rep.Steps) > 0 {
		fmt.Fprintf(w, "\n  %14s %10s %12s %10s %10s\n", "events before", "seconds", "events/s", "p50 ms", "p99 ms")
		for _, s := range rep.Steps {
			fmt.Fprintf(w, "  %14s %10.2f %12s %10.2f %10.2f\n", commas(s.EventsBefore), s.Seconds, commas(int64(s.EventsPerSecond)), s.P50, s.P99)
		}
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "  error       %s\n", e)
	}
	if rep.Aborted != "" {
		fmt.Fprintf(w, "  stopped early: %s\n", rep.Aborted)
	}
}
