package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/identity"
	"tandem/store"
)

// demoOptions say how much demo data to make, and from which seed.
type demoOptions struct {
	contacts int
	events   int
	accounts int
	days     int
	seed     uint64
	now      time.Time // when the activity ends
}

// demoGroupSize is how many messages one ingest transaction of the demo takes, and
// demoGroupSpan how much time at most they cover, so that what the store records as
// happening "now" (a contact's creation) stays close to the events that caused it.
const (
	demoGroupSize = 2000
	demoGroupSpan = 6 * time.Hour
)

// demo fills the store with synthetic activity: Segment messages of a B2B company's
// marketing site and product, made as the tracking API's decoder would make them (a
// test holds the two alike) and handed to the store's ingest transaction directly, with
// the store's clock following the events. It refuses a SQLite file that a running server
// ingests into, whose identity cache assumes it is the only one ingesting.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	var (
		sf       storeFlags
		contacts = fs.Int("contacts", 2000, "people who identify themselves")
		events   = fs.Int("events", 50000, "messages in all: page views, track events, identify and group calls")
		accounts = fs.Int("accounts", 0, "companies; 0 makes one for every ten contacts")
		seed     = fs.Uint64("seed", 1, "the seed of the random choices: the same seed makes the same data")
		days     = fs.Int("days", 90, "how many days before --now the activity spreads over")
		nowFlag  = fs.String("now", "", "when the activity ends, as 2026-05-01 or 2026-05-01T15:04:05Z; empty is the start of the current hour")
		terms    = fs.Bool("agreement", true, "activate the default agreement if none is active, and score every contact under it")
		deals    = fs.Int("deals", -1, "deals with contacts at companies, some won, some lost; -1 makes one for every ten contacts")
	)
	sf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	opt := demoOptions{contacts: *contacts, events: *events, accounts: *accounts, days: *days, seed: *seed}
	if opt.accounts == 0 {
		opt.accounts = max(1, opt.contacts/10)
	}
	if *nowFlag == "" {
		opt.now = time.Now().UTC().Truncate(time.Hour)
	} else {
		t, err := parseDemoTime(*nowFlag)
		if err != nil {
			return err
		}
		opt.now = t
	}
	d, err := newDemoData(opt)
	if err != nil {
		return err
	}

	db, err := openStore(ctx, sf, nil, true)
	if err != nil {
		return err
	}
	defer db.Close()
	src, key, err := demoSource(ctx, db)
	if err != nil {
		return err
	}

	fmt.Fprintf(stderr, "planning %s contacts at %s companies, %s anonymous visitors and %s events over %d days (seed %d)\n",
		commas(int64(opt.contacts)), commas(int64(opt.accounts)), commas(int64(d.visitors)), commas(int64(opt.events)), opt.days, opt.seed)
	start := time.Now()
	d.plan()
	bar := newProgress(stderr, "demo", "events", int64(opt.events), 0)
	bar.Start()
	res, err := d.load(ctx, db, src.ID, bar)
	bar.Finish()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	n, err := db.CountContacts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Demo data is in %s (%s), made in %s.\n", redact(sf.db), db.Engine(), shortDuration(elapsed))
	if key != "" {
		fmt.Fprintf(stdout, "  source     %q (id %d), new; its write key: %s\n", src.Name, src.ID, key)
	} else {
		fmt.Fprintf(stdout, "  source     %q (id %d), reused\n", src.Name, src.ID)
	}
	fmt.Fprintf(stdout, "  contacts   %s in the store; the demo has %s, %s of them with a free-mail address\n",
		commas(n), commas(int64(opt.contacts)), commas(int64(d.freeMailContacts())))
	fmt.Fprintf(stdout, "  accounts   %s companies, each described by a group call\n", commas(int64(opt.accounts)))
	fmt.Fprintf(stdout, "  visitors   %s who never identified\n", commas(int64(d.visitors)))
	fmt.Fprintf(stdout, "  events     %s stored, %s already there (page %s, track %s, identify %s, group %s)\n",
		commas(res.stored), commas(res.duplicates), commas(res.types[tandem.TypePage]), commas(res.types[tandem.TypeTrack]),
		commas(res.types[tandem.TypeIdentify]), commas(res.types[tandem.TypeGroup]))
	fmt.Fprintf(stdout, "  period     %s to %s\n", d.begin.Format(time.DateTime), opt.now.Format(time.DateTime))
	fmt.Fprintf(stdout, "  rate       %s events/s\n", commas(int64(float64(opt.events)/elapsed.Seconds())))
	if p, c := d.hottest(); c > 0 {
		fmt.Fprintf(stdout, "  hottest    %s with %s events\n", d.person(p).email, commas(int64(c)))
	}
	if *terms {
		if err := demoAgreement(ctx, db, stdout, stderr); err != nil {
			return err
		}
	}
	if *deals < 0 {
		*deals = opt.contacts / 10
	}
	return demoRevenue(ctx, db, d, *deals, stdout, stderr)
}

// demoAgreement activates the default agreement unless one is active, and rescores
// every contact under the active one, showing progress.
func demoAgreement(ctx context.Context, db *store.DB, stdout, stderr io.Writer) error {
	a, err := db.ActiveAgreement(ctx)
	if tandem.ErrorCode(err) == tandem.ENotFound {
		by := tandem.Actor{Name: "tandem demo", Role: tandem.RoleAdmin}
		p, err := db.ProposeAgreement(ctx, agreement.Default, "yaml", by)
		if err != nil {
			return fmt.Errorf("default agreement: %w", err)
		}
		if a, err = db.ActivateAgreement(ctx, p.Version, by); err != nil {
			return fmt.Errorf("default agreement: %w", err)
		}
	} else if err != nil {
		return err
	}
	users, err := demoUsers(ctx, db, a)
	if err != nil {
		return err
	}
	progress, finish := rescoreBars(stderr)
	r, err := db.Rescore(ctx, progress)
	finish()
	if err != nil {
		return fmt.Errorf("rescore: %w", err)
	}
	fmt.Fprintf(stdout, "  agreement  %q, version %d, active\n", a.Name, a.Version)
	fmt.Fprintf(stdout, "  users      %s\n", strings.Join(users, ", "))
	fmt.Fprintf(stdout, "             sign in at /login with any of them and the password %q\n", demoPassword)
	fmt.Fprintf(stdout, "  rescored   %s contacts in %s\n", commas(r.Done), shortDuration(rescoreTook(r)))
	counts, err := db.StageCounts(ctx)
	if err != nil {
		return err
	}
	var parts []string
	for _, c := range counts {
		parts = append(parts, fmt.Sprintf("%s %s", c.Stage, commas(c.Contacts)))
	}
	fmt.Fprintf(stdout, "  stages     %s\n", strings.Join(parts, ", "))
	return nil
}

// demoPassword is the password of the demo's users, printed with them: demo data is
// for trying Tandem on a laptop, never for a real install.
const demoPassword = "tandem-demo"

// demoUsers makes sure the reps the agreement's teams name exist, with a sales manager
// they escalate to (routing's fallback owner) and a marketer, so that the leads the
// rescore qualifies are handed to someone. It returns who they are.
func demoUsers(ctx context.Context, db *store.DB, active *tandem.Agreement) ([]string, error) {
	a, err := agreement.Parse([]byte(active.Document))
	if err != nil {
		return nil, fmt.Errorf("agreement v%d: %w", active.Version, err)
	}
	const manager = "morgan@example.com"
	users := []*tandem.User{
		{Email: manager, Name: "Morgan (sales manager)", Team: tandem.TeamSales, Role: tandem.UserManager},
		{Email: "mia@example.com", Name: "Mia (marketing)", Team: tandem.TeamMarketing},
	}
	for _, t := range a.Teams {
		for _, m := range t.Members {
			name, _, _ := strings.Cut(m.Rep, "@")
			users = append(users, &tandem.User{Email: m.Rep, Name: strings.ToUpper(name[:1]) + name[1:], Team: tandem.TeamSales, Manager: manager})
		}
	}
	var out []string
	for _, u := range users {
		if slices.Contains(out, fmt.Sprintf("%s (%s)", u.Email, u.Team)) {
			continue // in two teams
		}
		created, err := db.CreateUser(ctx, u)
		switch {
		case err == nil:
			if err := db.SetPassword(ctx, created.ID, demoPassword); err != nil {
				return nil, fmt.Errorf("demo user %s: %w", u.Email, err)
			}
		case tandem.ErrorCode(err) != tandem.EConflict:
			return nil, fmt.Errorf("demo user %s: %w", u.Email, err)
		}
		out = append(out, fmt.Sprintf("%s (%s)", u.Email, u.Team))
	}
	return out, nil
}

func parseDemoTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("--now %q: want a date such as 2026-05-01 or a time such as 2026-05-01T15:04:05Z", s)
}

// demoSource returns the source named "demo", creating it if missing; the write key is
// returned only when it was created, since only a hash of it is kept.
func demoSource(ctx context.Context, db *store.DB) (*tandem.Source, string, error) {
	list, err := db.Sources(ctx)
	if err != nil {
		return nil, "", err
	}
	for _, s := range list {
		if s.Name == "demo" {
			return s, "", nil
		}
	}
	return db.CreateSource(ctx, "demo")
}

// Kinds of random stream, so that each thing drawn for a company or a person comes from
// its own stream and stays the same whatever else changes.
const (
	streamCompany uint64 = iota + 1
	streamPerson
	streamProfile
	streamPlan
	streamEvents
	streamUser
	streamAnon
	streamMessage
	streamNames
	streamGroup
	streamFreeMail
)

// demoData makes the demo's synthetic activity. People 0 to contacts-1 identify
// themselves; those from contacts on are visitors who never do. Person j < accounts is
// the first contact of company j and sends its group call.
type demoData struct {
	opt      demoOptions
	base     uint64 // the seed, scattered
	begin    time.Time
	span     int64 // seconds from begin to opt.now
	visitors int

	coreStride, coreOffset int // a permutation of the company name cores
	nameStride             int // a permutation of the full names within a company

	titles    chooser[string]
	countries chooser[country]
	freeMail  chooser[string]
	forms     chooser[string]
	campaigns chooser[campaign]
	referrers chooser[string]
	agents    chooser[string]
	coldPages []float64 // cumulative weights of pages
	hotPages  []float64
	coldTrack []float64
	hotTrack  []float64
	pageIndex map[string]int

	// The plan, made by plan.
	companyCountry []uint8
	contactCompany []int32
	contactRank    []int32 // the contact's place among its company's contacts
	count          []uint32
	pre            []uint8  // page views a contact makes before identifying
	keys           []uint64 // every event: seconds after begin << 32 | person, in time order
}

func newDemoData(opt demoOptions) (*demoData, error) {
	switch {
	case opt.contacts < 1 || opt.contacts > 50_000_000:
		return nil, fmt.Errorf("--contacts %d: want 1 to 50,000,000", opt.contacts)
	case opt.accounts < 1 || opt.accounts > opt.contacts:
		return nil, fmt.Errorf("--accounts %d: want 1 to the number of contacts (%d), since each company has a contact who sends its group call", opt.accounts, opt.contacts)
	case opt.days < 1 || opt.days > 3650:
		return nil, fmt.Errorf("--days %d: want 1 to 3650", opt.days)
	case opt.events > 200_000_000: // the plan takes 8 bytes an event
		return nil, fmt.Errorf("--events %d: want at most 200,000,000", opt.events)
	}
	d := &demoData{
		opt: opt, base: mix64(opt.seed), visitors: opt.contacts / 2,
		begin: opt.now.Add(-time.Duration(opt.days) * 24 * time.Hour), span: int64(opt.days) * 86400,
		titles: newChooser(jobTitles), countries: newChooser(countries), freeMail: newChooser(freeMailDomains),
		forms: newChooser(formPages), campaigns: newChooser(campaigns), referrers: newChooser(organicReferrers),
		agents: newChooser(userAgents), pageIndex: map[string]int{},
	}
	if need := d.minEvents(); opt.events < need {
		return nil, fmt.Errorf("--events %d is too few for %d contacts at %d companies and %d anonymous visitors: at least %d are needed",
			opt.events, opt.contacts, opt.accounts, d.visitors, need)
	}
	cores := len(companyPrefixes) * len(companyRoots)
	d.coreStride = coprime(cores, 2749)
	d.coreOffset = int(d.base % uint64(cores))
	d.nameStride = coprime(len(firstNames)*len(lastNames), 7919)
	for i, p := range pages {
		d.pageIndex[p.path] = i
		d.coldPages = append(d.coldPages, cumulative(d.coldPages, p.cold))
		d.hotPages = append(d.hotPages, cumulative(d.hotPages, p.hot))
	}
	for _, e := range trackEvents {
		d.coldTrack = append(d.coldTrack, cumulative(d.coldTrack, e.cold))
		d.hotTrack = append(d.hotTrack, cumulative(d.hotTrack, e.hot))
	}
	return d, nil
}

// minEvents is the fewest events that make every person: a contact views a page and
// identifies, a company's first contact also sends its group call, a visitor views a page.
func (d *demoData) minEvents() int {
	return 2*d.opt.contacts + d.opt.accounts + d.visitors
}

func (d *demoData) people() int { return d.opt.contacts + d.visitors }

// rng seeds src for the stream of company or person i.
func (d *demoData) rng(src *rand.PCG, stream uint64, i int) {
	src.Seed(d.base^mix64(stream), uint64(i))
}

// plan decides who belongs where, how active each person is, and when every event
// happens.
func (d *demoData) plan() {
	opt := d.opt
	src := rand.NewPCG(0, 0)
	r := rand.New(src)

	// Companies: where they are and how big. Bigger companies bring more contacts.
	d.companyCountry = make([]uint8, opt.accounts)
	cum := make([]float64, opt.accounts)
	for j := range opt.accounts {
		c := d.companyNumbers(src, r, j)
		d.companyCountry[j] = uint8(c.country)
		cum[j] = cumulative(cum[:j], math.Pow(float64(c.employees), 0.45))
	}
	plan := rand.New(rand.NewPCG(d.base^mix64(streamPlan), 0))
	d.contactCompany = make([]int32, opt.contacts)
	d.contactRank = make([]int32, opt.contacts)
	size := make([]int32, opt.accounts)
	for i := range opt.contacts {
		j := i
		if i >= opt.accounts {
			j = pickCumulative(cum, plan)
		}
		d.contactCompany[i], d.contactRank[i] = int32(j), size[j]
		size[j]++
	}

	// How many events each person makes: what every person needs, and the rest shared
	// out by a heavy-tailed weight, so a few people are hot and most are cold.
	people := d.people()
	d.count = make([]uint32, people)
	weight := make([]float64, people)
	total := 0.0
	for p := range people {
		d.count[p] = 1
		w := min(math.Pow(1-plan.Float64(), -1/1.5), 100)
		if p < opt.contacts {
			d.count[p] = 2
			if p < opt.accounts {
				d.count[p] = 3
			}
		} else {
			w *= 0.08
		}
		weight[p] = w
		total += w
	}
	rest := opt.events - d.minEvents()
	given := 0
	for p := range people {
		n := int(float64(rest) * weight[p] / total)
		d.count[p] += uint32(n)
		given += n
	}
	for ; given < rest; given++ {
		d.count[plan.IntN(people)]++
	}

	// When: each person is active over a window of the period, in sessions of a few
	// events, mostly in office hours where they are.
	d.pre = make([]uint8, opt.contacts)
	d.keys = make([]uint64, 0, opt.events)
	for p := range people {
		d.rng(src, streamPerson, p)
		if p < opt.contacts {
			extra := int(d.count[p]) - 2
			if p < opt.accounts {
				extra--
			}
			d.pre[p] = uint8(1 + min(extra, r.IntN(4)))
		}
		d.schedule(r, p, int(d.count[p]), d.personCountry(p).tz)
	}
	slices.Sort(d.keys)
}

// schedule adds n events of person p to the plan.
func (d *demoData) schedule(r *rand.Rand, p, n, tz int) {
	const hour = 3600
	start := int64(float64(d.span) * math.Pow(r.Float64(), 0.7)) // more people arrive lately
	start = min(start, d.span-hour)
	end := d.span
	if r.Float64() < 0.45 { // gone quiet since
		end = start + hour + r.Int64N(d.span-start-hour+1)
	}
	for n > 0 {
		t := d.officeTime(r, start, end, tz)
		k := 1
		for k < 12 && r.Float64() < 0.6 {
			k++
		}
		k = min(k, n)
		for range k {
			d.keys = append(d.keys, uint64(t)<<32|uint64(p))
			t = min(t+10+r.Int64N(180), d.span-1)
		}
		n -= k
	}
}

// hourWeight is how likely someone is to be on the site at each hour of their day.
var hourWeight = [24]float64{
	0.04, 0.03, 0.03, 0.03, 0.04, 0.06, 0.12, 0.3, 0.7, 1, 1, 1,
	0.8, 0.95, 1, 1, 0.95, 0.7, 0.45, 0.3, 0.3, 0.25, 0.15, 0.08,
}

// officeTime draws a time between start and end, favouring working hours and weekdays
// in the time zone tz.
func (d *demoData) officeTime(r *rand.Rand, start, end int64, tz int) int64 {
	var t int64
	for range 8 {
		t = start + r.Int64N(end-start)
		local := d.begin.Unix() + t + int64(tz)*3600
		w := hourWeight[(local/3600)%24]
		if wd := (local/86400 + 4) % 7; wd == 0 || wd == 6 { // 1970-01-01 was a Thursday
			w *= 0.25
		}
		if r.Float64() < w {
			break
		}
	}
	return t
}

// demoResult is what loading the demo data did.
type demoResult struct {
	stored, duplicates int64
	types              map[string]int64
}

// demoGroup is the messages of one ingest transaction.
type demoGroup struct {
	msgs  []*tandem.Message
	clock time.Time        // the time of the last message, for the store's clock
	types map[string]int64 // messages of each type
	buf   []byte           // holds the messages' properties and contexts
}

// load makes the planned events into Segment messages and ingests them in groups, with
// the store's clock following the events.
func (d *demoData) load(ctx context.Context, db *store.DB, sourceID int64, bar *progress) (*demoResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	groups := make(chan *demoGroup, 2)
	errc := make(chan error, 1)
	go func() {
		defer close(groups)
		errc <- d.produce(ctx, sourceID, groups)
	}()
	res := &demoResult{types: map[string]int64{}}
	clock := db.Now
	defer func() { db.Now = clock }()
	for g := range groups {
		db.Now = func() time.Time { return g.clock }
		out, err := db.Ingest(ctx, g.msgs)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("ingest: %w", err)
		}
		for _, o := range out {
			if o == tandem.Stored {
				res.stored++
			} else {
				res.duplicates++
			}
		}
		for t, n := range g.types {
			res.types[t] += n
		}
		bar.Add(int64(len(g.msgs)))
	}
	if err := <-errc; err != nil {
		return nil, err
	}
	return res, nil
}

// demoSite is the marketing site the demo's visitors browse.
const demoSite = "https://www.example.com"

// produce turns the plan into groups of messages, in time order.
func (d *demoData) produce(ctx context.Context, sourceID int64, groups chan<- *demoGroup) error {
	people := d.people()
	seen := make([]uint32, people)     // events made so far
	last := make([]uint32, people)     // seconds after begin of the person's last event, plus one
	lastPage := make([]uint16, people) // the page the person is on
	er := rand.New(rand.NewPCG(d.base^mix64(streamEvents), 0))
	profile := rand.NewPCG(0, 0)
	g := &demoGroup{types: map[string]int64{}}
	var groupStart, lastT int64
	flush := func() error {
		if len(g.msgs) == 0 {
			return nil
		}
		g.clock = d.begin.Add(time.Duration(lastT+1) * time.Second)
		select {
		case groups <- g:
		case <-ctx.Done():
			return ctx.Err()
		}
		g = &demoGroup{types: map[string]int64{}}
		return nil
	}
	for _, key := range d.keys {
		t, p := int64(key>>32), int(uint32(key))
		if len(g.msgs) == demoGroupSize || (len(g.msgs) > 0 && t-groupStart > int64(demoGroupSpan/time.Second)) {
			if err := flush(); err != nil {
				return err
			}
		}
		if len(g.msgs) == 0 {
			groupStart = t
		}
		k := seen[p]
		seen[p]++
		newSession := last[p] == 0 || t-int64(last[p]-1) > 30*60
		last[p] = uint32(t + 1)
		at := d.begin.Add(time.Duration(t)*time.Second + time.Duration(er.IntN(1000))*time.Millisecond)
		m := &tandem.Message{
			SourceID: sourceID, MessageID: d.messageID(p, k), AnonymousID: d.anonymousID(p),
			Timestamp: at, ClientTimestamp: at, ReceivedAt: at.Add(time.Duration(40+er.IntN(400)) * time.Millisecond), // as if just sent
		}
		ev := &demoEvent{m: m, g: g, person: p, seq: k, newSession: newSession}
		switch {
		case p >= d.opt.contacts || k < uint32(d.pre[p]):
			lastPage[p] = uint16(d.page(er, ev, int(lastPage[p])))
		case k == uint32(d.pre[p]):
			d.rng(profile, streamProfile, p)
			lastPage[p] = uint16(d.identify(er, rand.New(profile), ev, int(lastPage[p])))
		case k == uint32(d.pre[p])+1 && p < d.opt.accounts:
			d.group(ev, int(lastPage[p]))
		default:
			intent := d.intent(p)
			if newSession || er.Float64() >= 0.22+0.25*intent {
				lastPage[p] = uint16(d.page(er, ev, int(lastPage[p])))
			} else {
				d.track(er, ev, int(lastPage[p]), intent)
			}
		}
		g.msgs = append(g.msgs, m)
		g.types[m.Type]++
		lastT = t
	}
	return flush()
}

// demoEvent is one planned event being made into a message.
type demoEvent struct {
	m          *tandem.Message
	g          *demoGroup // whose buffer holds the message's JSON
	person     int
	seq        uint32 // the person's events before this one
	newSession bool
}

// raw returns the JSON that write writes, kept in the group's buffer.
func (ev *demoEvent) raw(write func(w *jsonWriter)) json.RawMessage {
	if cap(ev.g.buf)-len(ev.g.buf) < 4096 {
		ev.g.buf = make([]byte, 0, 1<<20) // earlier messages keep the old buffer
	}
	rest := ev.g.buf[len(ev.g.buf):]
	w := &jsonWriter{b: rest}
	write(w)
	if cap(w.b) == cap(rest) { // written in place
		ev.g.buf = ev.g.buf[:len(ev.g.buf)+len(w.b)]
	}
	return json.RawMessage(w.b[:len(w.b):len(w.b)])
}

// intent is how close to buying a person is, from 0 to 1: the more they do, the closer.
// Up to 16 events, none; from 512, certain.
func (d *demoData) intent(p int) float64 {
	return min(max((math.Log2(float64(d.count[p]))-4)/5, 0), 1)
}

func (d *demoData) messageID(p int, seq uint32) string {
	hi := mix64(d.base ^ mix64(streamMessage) + uint64(p)<<24 + uint64(seq))
	return string(appendUUID(make([]byte, 0, 36), hi, mix64(hi^d.base)))
}

func (d *demoData) anonymousID(p int) string {
	return string(appendUUID(make([]byte, 0, 36), mix64(d.base^mix64(streamAnon)+uint64(p)), mix64(d.base+mix64(streamAnon)+uint64(p))))
}

func (d *demoData) userID(p int) string {
	return "usr_" + string(appendHex(nil, mix64(d.base^mix64(streamUser)+uint64(p)), 16))
}

// pageFields writes what analytics.js tells of a page, both in a page call's
// properties and in every call's context.page.
func pageFields(w *jsonWriter, pg *page, url, search, referrer string) {
	w.str("path", pg.path)
	w.str("referrer", referrer)
	w.str("search", search)
	w.str("title", pg.title)
	w.str("url", url)
}

// context writes the context analytics.js sends: the library, the browser, the page,
// and the campaign of a visit that came from one.
func (d *demoData) context(w *jsonWriter, p int, pg *page, url, search, referrer string, c *campaign) {
	w.open()
	w.key("library")
	w.open()
	w.str("name", "analytics.js")
	w.str("version", "npm:next-1.72.0")
	w.close()
	w.str("locale", d.personCountry(p).locale)
	w.str("userAgent", d.agents.at(unit(mix64(d.base^mix64(streamAnon)^uint64(p)))))
	w.key("page")
	w.open()
	pageFields(w, pg, url, search, referrer)
	w.close()
	if c != nil {
		w.key("campaign")
		w.open()
		w.str("name", c.name)
		w.str("source", c.source)
		w.str("medium", c.medium)
		if c.term != "" {
			w.str("term", c.term)
		}
		if c.content != "" {
			w.str("content", c.content)
		}
		w.close()
	}
	w.close()
}

// personCountry is where a person browses from: their company's country, or for a
// visitor one drawn for them.
func (d *demoData) personCountry(p int) country {
	if p < d.opt.contacts {
		return d.countries.vals[d.companyCountry[d.contactCompany[p]]]
	}
	return d.countries.at(unit(mix64(d.base ^ mix64(streamPerson) ^ uint64(p))))
}

// page makes a page view and returns the page viewed. The first page of a visit comes
// from a campaign or a referrer; later ones from the page before.
func (d *demoData) page(r *rand.Rand, ev *demoEvent, prev int) int {
	p, m := ev.person, ev.m
	m.Type = tandem.TypePage
	identified := p < d.opt.contacts && ev.seq > uint32(d.pre[p])
	if identified {
		m.UserID = d.userID(p)
	}
	cum := d.coldPages
	if identified && r.Float64() < d.intent(p) {
		cum = d.hotPages
	}
	i := pickCumulative(cum, r)
	pg := &pages[i]
	var (
		c                *campaign
		search, referrer string
	)
	switch {
	case !ev.newSession:
		referrer = demoSite + pages[prev].path
	case r.Float64() < 0.35:
		c = d.campaigns.pickPtr(r)
		referrer = c.referrer
		search = utm(c)
	default:
		referrer = d.referrers.pick(r)
	}
	url := demoSite + pg.path + search
	m.Name = pg.name
	m.Properties = ev.raw(func(w *jsonWriter) {
		w.open()
		if pg.category != "" {
			w.str("category", pg.category)
		}
		pageFields(w, pg, url, search, referrer)
		w.close()
	})
	m.Context = ev.raw(func(w *jsonWriter) { d.context(w, p, pg, url, search, referrer, c) })
	return i
}

func utm(c *campaign) string {
	s := "?utm_source=" + c.source + "&utm_medium=" + c.medium + "&utm_campaign=" + c.name
	if c.term != "" {
		s += "&utm_term=" + strings.ReplaceAll(c.term, " ", "+")
	}
	if c.content != "" {
		s += "&utm_content=" + c.content
	}
	return s
}

// identify makes the call that turns a visitor into a contact: a form filled in on one
// of the form pages, saying who they are. It returns the page of the form.
func (d *demoData) identify(r, profile *rand.Rand, ev *demoEvent, prev int) int {
	p, m := ev.person, ev.m
	who := d.profile(profile, p)
	co := d.company(int(d.contactCompany[p]))
	i := d.pageIndex[d.forms.pick(r)]
	pg := &pages[i]
	m.Type, m.UserID = tandem.TypeIdentify, d.userID(p)
	m.Email, _ = identity.Email(who.email)
	m.Traits = map[string]any{
		"email": who.email, "firstName": who.first, "lastName": who.last, "name": who.first + " " + who.last,
		"title": who.title, "company": map[string]any{"name": co.name}, "country": who.country,
	}
	m.Properties = json.RawMessage("{}")
	referrer := ""
	if !ev.newSession {
		referrer = demoSite + pages[prev].path
	}
	m.Context = ev.raw(func(w *jsonWriter) { d.context(w, p, pg, demoSite+pg.path, "", referrer, nil) })
	return i
}

// group makes the call that says which company a contact works for, as a product does
// once someone signs in.
func (d *demoData) group(ev *demoEvent, at int) {
	co, m := d.company(ev.person), ev.m
	m.Type, m.UserID, m.GroupID = tandem.TypeGroup, d.userID(ev.person), co.groupID
	m.Traits = map[string]any{
		"name": co.name, "domain": co.domain, "website": "https://www." + co.domain,
		"employees": float64(co.employees), "industry": co.industry, "country": co.country.code,
	}
	m.Properties = json.RawMessage("{}")
	pg := &pages[at]
	m.Context = ev.raw(func(w *jsonWriter) { d.context(w, ev.person, pg, demoSite+pg.path, "", "", nil) })
}

// track makes a track call of the kind a person of that intent makes on page at.
func (d *demoData) track(r *rand.Rand, ev *demoEvent, at int, intent float64) {
	cum := d.coldTrack
	if r.Float64() < intent {
		cum = d.hotTrack
	}
	m := ev.m
	m.Type, m.UserID = tandem.TypeTrack, d.userID(ev.person)
	m.Event = trackEvents[pickCumulative(cum, r)].name
	m.Properties = ev.raw(func(w *jsonWriter) {
		w.open()
		switch m.Event {
		case "Email Link Clicked":
			w.str("email_campaign", emailCampaigns[r.IntN(len(emailCampaigns))])
			w.str("link_url", demoSite+pages[at].path)
		case "Form Submitted":
			w.str("form_id", forms[r.IntN(len(forms))])
			w.str("page_path", pages[at].path)
		case "Whitepaper Downloaded":
			w.str("asset", assets[r.IntN(len(assets))])
			w.str("asset_type", []string{"report", "ebook", "template"}[r.IntN(3)])
		case "Webinar Registered":
			w.str("webinar", webinars[r.IntN(len(webinars))])
		case "Webinar Attended":
			w.str("webinar", webinars[r.IntN(len(webinars))])
			w.int("minutes_watched", int64(5+r.IntN(55)))
		case "Product Tour Started":
			w.str("tour", []string{"routing", "scoring", "sla", "attribution"}[r.IntN(4)])
		case "Pricing Calculator Used":
			w.str("plan", []string{"Growth", "Business", "Enterprise"}[r.IntN(3)])
			w.int("seats", int64(5+r.IntN(20)*5))
			w.bool("annual", r.IntN(3) > 0)
		case "Contact Sales Clicked":
			w.str("location", []string{"pricing", "navigation", "footer", "product"}[r.IntN(4)])
		case "Demo Requested":
			w.str("team_size", []string{"1-10", "11-50", "51-200", "201-1000", "1000+"}[r.IntN(5)])
			w.str("crm", []string{"Salesforce", "HubSpot", "Microsoft Dynamics", "Pipedrive", "Other"}[r.IntN(5)])
		case "Trial Started":
			w.str("plan", []string{"Growth", "Business"}[r.IntN(2)])
			w.int("trial_days", 14)
		case "Case Study Viewed":
			w.str("customer", []string{"Northwind", "Globex", "Initech", "Umbrella"}[r.IntN(4)])
		}
		w.close()
	})
	pg := &pages[at]
	m.Context = ev.raw(func(w *jsonWriter) { d.context(w, ev.person, pg, demoSite+pg.path, "", "", nil) })
}

// companyNumbers are the drawn facts of a company, from which its words follow.
type companyNumbers struct {
	country   int
	employees int
	tld       float64
	legal     float64
}

func (d *demoData) companyNumbers(src *rand.PCG, r *rand.Rand, j int) companyNumbers {
	d.rng(src, streamCompany, j)
	c := companyNumbers{country: d.countries.pickIndex(r)}
	e := math.Exp(3.6 + 1.6*r.NormFloat64())
	c.employees = int(min(max(e, 2), 300_000))
	if c.employees > 100 { // enrichment data is round
		p := math.Pow(10, math.Floor(math.Log10(float64(c.employees)))-1)
		c.employees = int(math.Round(float64(c.employees)/p) * p)
	}
	c.tld, c.legal = r.Float64(), r.Float64()
	return c
}

// company is a demo company as its group call describes it.
type company struct {
	name, domain, industry, groupID string
	employees                       int
	country                         country
}

// company returns company j. Its name is a core ("Brightwave") and a sector word
// ("Analytics"); every core is used once before any is used again with another sector,
// so names and domains never repeat.
func (d *demoData) company(j int) company {
	cores := len(companyPrefixes) * len(companyRoots)
	core := (j%cores*d.coreStride + d.coreOffset) % cores
	round := j / cores
	coreName := companyPrefixes[core/len(companyRoots)] + companyRoots[core%len(companyRoots)]
	sec := sectors[(core*7+round)%len(sectors)]
	src := rand.NewPCG(0, 0)
	n := d.companyNumbers(src, rand.New(src), j)
	c := company{
		name: coreName + " " + sec.word, industry: sec.industry, employees: n.employees,
		country: d.countries.vals[n.country],
		groupID: "org_" + string(appendHex(nil, mix64(d.base^mix64(streamGroup)+uint64(j)), 16)),
	}
	host := strings.ToLower(coreName)
	switch {
	case round == 0:
		switch {
		case c.country.code == "US" && n.tld < 0.85, c.country.code != "US" && n.tld >= 0.6 && n.tld < 0.9:
			c.domain = host + ".com"
		case n.tld >= 0.85:
			c.domain = host + ".io"
		default:
			c.domain = host + c.country.tld
		}
	case round < len(sectors):
		c.domain = host + "-" + strings.ToLower(sec.word) + ".com"
	default:
		c.domain = host + "-" + strings.ToLower(sec.word) + "-" + strconv.Itoa(round/len(sectors)) + ".com"
	}
	if n.legal < 0.3 {
		c.name += " " + c.country.legal
	}
	return c
}

// person is who a contact says they are.
type person struct {
	first, last, email, title, country string
}

// freeMailContact reports whether contact p signs up with a free-mail address. A
// company's first contact never does, since it speaks for the company.
func (d *demoData) freeMailContact(p int) bool {
	return p >= d.opt.accounts && mix64(d.base^mix64(streamFreeMail)+uint64(p))%1000 < 150
}

func (d *demoData) freeMailContacts() int {
	n := 0
	for p := range d.opt.contacts {
		if d.freeMailContact(p) {
			n++
		}
	}
	return n
}

// person returns contact p's profile.
func (d *demoData) person(p int) person {
	src := rand.NewPCG(0, 0)
	d.rng(src, streamProfile, p)
	return d.profile(rand.New(src), p)
}

// profile draws contact p's profile from r, seeded for p. Full names are unique within
// a company, so company addresses are too; free-mail addresses carry the contact's
// number.
func (d *demoData) profile(r *rand.Rand, p int) person {
	j, rank := int(d.contactCompany[p]), int(d.contactRank[p])
	names := len(firstNames) * len(lastNames)
	off := int(mix64(d.base^mix64(streamNames)+uint64(j)) % uint64(names))
	idx := (off + rank%names*d.nameStride) % names
	who := person{first: firstNames[idx/len(lastNames)], last: lastNames[idx%len(lastNames)]}
	who.title = d.titles.pick(r)
	who.country = d.countries.vals[d.companyCountry[j]].code
	if r.Float64() < 0.15 {
		who.country = d.countries.pick(r).code
	}
	first, last := localPart(who.first), localPart(who.last)
	if d.freeMailContact(p) {
		domain := d.freeMail.pick(r)
		num := strconv.Itoa(p)
		switch r.IntN(3) {
		case 0:
			who.email = first + "." + last + num + "@" + domain
		case 1:
			who.email = first + last + num + "@" + domain
		default:
			who.email = first[:1] + last + num + "@" + domain
		}
		return who
	}
	local := first + "." + last
	if rank >= names {
		local += strconv.Itoa(rank / names)
	}
	who.email = local + "@" + d.company(j).domain
	return who
}

// localPart makes a name fit the left of an email address: "O'Brien" → "obrien".
func localPart(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, name)
}

// hottest returns the contact with the most events and how many.
func (d *demoData) hottest() (int, uint32) {
	best, n := 0, uint32(0)
	for p := range d.opt.contacts {
		if d.count[p] > n {
			best, n = p, d.count[p]
		}
	}
	return best, n
}

// chooser picks from weighted choices.
type chooser[T any] struct {
	cum  []float64
	vals []T
}

func newChooser[T any](ws []weighted[T]) chooser[T] {
	c := chooser[T]{}
	for _, w := range ws {
		c.cum = append(c.cum, cumulative(c.cum, w.w))
		c.vals = append(c.vals, w.v)
	}
	return c
}

func (c chooser[T]) pickIndex(r *rand.Rand) int { return pickCumulative(c.cum, r) }

func (c chooser[T]) pick(r *rand.Rand) T { return c.vals[c.pickIndex(r)] }

func (c chooser[T]) pickPtr(r *rand.Rand) *T { return &c.vals[c.pickIndex(r)] }

// at picks by u in [0, 1), for choices that must follow from a hash rather than a stream.
func (c chooser[T]) at(u float64) T { return c.vals[searchCumulative(c.cum, u*c.cum[len(c.cum)-1])] }

func cumulative(sofar []float64, w float64) float64 {
	if len(sofar) == 0 {
		return w
	}
	return sofar[len(sofar)-1] + w
}

func pickCumulative(cum []float64, r *rand.Rand) int {
	return searchCumulative(cum, r.Float64()*cum[len(cum)-1])
}

func searchCumulative(cum []float64, x float64) int {
	return min(sort.Search(len(cum), func(i int) bool { return cum[i] > x }), len(cum)-1)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// coprime returns the first number from start on that shares no factor with n, so that
// i ↦ i·stride mod n is a permutation.
func coprime(n, start int) int {
	gcd := func(a, b int) int {
		for b != 0 {
			a, b = b, a%b
		}
		return a
	}
	s := start
	for gcd(s, n) != 1 {
		s++
	}
	return s
}
