package scoring_test

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"tandem/agreement"
	"tandem/lifecycle"
	"tandem/scoring"
)

// terms is a small agreement whose arithmetic the tests below work out by hand.
const terms = `name: scoring terms
timezone: UTC
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }
      - { name: careers visit, on: page, when: 'properties.path startsWith "/careers"', points: -10 }
      - { name: pricing page, on: 'page:Pricing', points: 5 }
      - { name: any track, on: track, points: 1 }
      - { name: demo request, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }
      - { name: newsletter, on: 'track:Newsletter Opened', points: 2, cap: { times: 2, per: 7d } }
      - { name: signup, on: 'track:Signed Up', points: 25, cap: { times: 1 } }
  fit:
    rules:
      - { name: senior title, when: 'traits.title matches "(?i)\\b(vp|director|head|chief)\\b"', points: 20 }
      - { name: mid-size company, when: 'account.employees >= 200', points: 15 }
      - { name: target industry, when: 'account.industry == "Software"', points: 5 }
      - { name: free email, when: 'contact.free_email', points: -25 }
  grades: { A: 40, B: 25, C: 10 }
stages:
  - { key: lead, meaning: "Known person" }
`

// noDecay is terms without a half-life.
const noDecay = `name: no decay
timezone: UTC
scoring:
  engagement:
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }
stages:
  - { key: lead, meaning: "Known person" }
`

// t0 is the anchor of the tests' models.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

func mustParse(tb testing.TB, doc string) *agreement.Agreement {
	tb.Helper()
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return a
}

func mustModel(tb testing.TB, doc string) *scoring.Model {
	tb.Helper()
	a := mustParse(tb, doc)
	return scoring.New(&a.Scoring, t0)
}

// mustRule returns the engagement rule called name.
func mustRule(tb testing.TB, m *scoring.Model, name string) *agreement.EngagementRule {
	tb.Helper()
	for _, r := range m.Scoring.Engagement {
		if r.Name == name {
			return r
		}
	}
	tb.Fatalf("no engagement rule %q", name)
	return nil
}

// approx reports whether got is want up to rounding.
func approx(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*max(1, math.Abs(want))
}

// fired is one engagement rule firing at a time.
type fired struct {
	rule string
	at   time.Time
}

// anchored fires each rule of evs in order on its own line and returns the anchored
// sum they add.
func anchored(tb testing.TB, m *scoring.Model, evs []fired) float64 {
	tb.Helper()
	lines := map[string]*scoring.Line{}
	var sum float64
	for _, e := range evs {
		l := lines[e.rule]
		if l == nil {
			l = &scoring.Line{}
			lines[e.rule] = l
		}
		p, _ := m.Fire(l, mustRule(tb, m, e.rule), e.at)
		sum += p
	}
	return sum
}

// engage runs the engagement rules an event may fire, as the store does, and returns
// the names of those that fired.
func engage(m *scoring.Model, lines map[string]*scoring.Line, e *agreement.Event, t time.Time) []string {
	var names []string
	for _, r := range m.Candidates(e.Type, ruleName(e)) {
		if r.When != nil && !r.When.Eval(e) {
			continue
		}
		l := lines[r.Name]
		if l == nil {
			l = &scoring.Line{}
			lines[r.Name] = l
		}
		if _, ok := m.Fire(l, r, t); ok {
			names = append(names, r.Name)
		}
	}
	return names
}

// ruleName is the name an event's rules are narrowed by: a track call's event, a page's
// or screen's name.
func ruleName(e *agreement.Event) string {
	if e.Type == "track" {
		return e.Event
	}
	return e.Name
}

func TestEngagement(t *testing.T) {
	now := t0.Add(30 * day)
	tests := []struct {
		name string
		doc  string
		evs  []fired
		now  time.Time
		want float64
	}{
		{"an event at now counts in full", terms, []fired{{"pricing visit", now}}, now, 10},
		{"one half-life before now counts half", terms, []fired{{"pricing visit", now.Add(-14 * day)}}, now, 5},
		{"two half-lives before now count a quarter", terms, []fired{{"pricing visit", now.Add(-28 * day)}}, now, 2.5},
		{"an event long after the anchor", terms, []fired{{"pricing visit", t0.Add(400 * day)}}, t0.Add(414 * day), 5},
		{"an event before the anchor", terms, []fired{{"pricing visit", t0.Add(-14 * day)}}, t0, 5},
		{"now before the event", terms, []fired{{"pricing visit", now}}, now.Add(-14 * day), 20},
		{"no half-life, no decay", noDecay, []fired{{"pricing visit", t0.Add(-300 * day)}}, t0.Add(300 * day), 10},
		{"no half-life, sums add", noDecay, []fired{{"pricing visit", t0}, {"pricing visit", t0.Add(99 * day)}}, t0.Add(999 * day), 20},
		{"negative points", terms, []fired{{"careers visit", now}}, now, -10},
		{"negative points decay too", terms, []fired{{"careers visit", now.Add(-14 * day)}, {"pricing visit", now}}, now, 5},
		{"a negative sum", terms, []fired{{"careers visit", now}, {"pricing visit", now.Add(-14 * day)}}, now, -5},
		{"a capped event adds nothing", terms, []fired{{"demo request", now}, {"demo request", now.Add(time.Hour)}}, now.Add(time.Hour), 40 * math.Exp2(-1.0/(14*24))},
		{"nothing", terms, nil, now, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustModel(t, tt.doc)
			e := anchored(t, m, tt.evs)
			if got := m.Current(e, tt.now); !approx(got, tt.want) {
				t.Errorf("Current(%v, now) = %v, want %v", e, got, tt.want)
			}
			if got := m.Anchored(m.Current(e, tt.now), tt.now); !approx(got, e) {
				t.Errorf("Anchored(Current(%v, now), now) = %v, want %v", e, got, e)
			}
		})
	}
}

func TestWeight(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		at   time.Time
		want float64
	}{
		{"at the anchor", terms, t0, 1},
		{"one half-life after", terms, t0.Add(14 * day), 2},
		{"one half-life before", terms, t0.Add(-14 * day), 0.5},
		{"ten half-lives after", terms, t0.Add(140 * day), 1024},
		{"no half-life", noDecay, t0.Add(140 * day), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustModel(t, tt.doc).Weight(tt.at); !approx(got, tt.want) {
				t.Errorf("Weight = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOrdering pins the point of anchoring: sorting contacts by their anchored sums
// sorts them by current engagement, whenever now is.
func TestOrdering(t *testing.T) {
	m := mustModel(t, terms)
	h := m.Scoring.HalfLife
	contacts := map[string][]fired{
		"ana": {{"pricing visit", t0.Add(40 * day)}},
		"ben": {{"demo request", t0.Add(5 * day)}},
		"cy":  {{"pricing visit", t0.Add(20 * day)}, {"pricing visit", t0.Add(21 * day)}, {"pricing visit", t0.Add(22 * day)}},
		"dee": {{"pricing visit", t0.Add(10 * day)}, {"careers visit", t0.Add(41 * day)}},
		"eve": {{"demo request", t0.Add(30 * day)}, {"careers visit", t0.Add(44 * day)}},
	}
	points := map[string]float64{"pricing visit": 10, "careers visit": -10, "demo request": 40}
	want := []string{"eve", "cy", "ana", "ben", "dee"}

	sums := map[string]float64{}
	for name, evs := range contacts {
		sums[name] = anchored(t, m, evs)
	}
	byAnchored := sortedBy(sums)
	if !slices.Equal(byAnchored, want) {
		t.Errorf("by anchored sum: got %v, want %v", byAnchored, want)
	}
	for _, now := range []time.Time{t0.Add(45 * day), t0.Add(60 * day), t0.Add(400 * day), t0.Add(3000 * day)} {
		t.Run(now.Format(time.DateOnly), func(t *testing.T) {
			current := map[string]float64{}
			for name, evs := range contacts {
				// The engagement as DESIGN.md defines it, without an anchor.
				var direct float64
				for _, e := range evs {
					direct += points[e.rule] * math.Exp2(-float64(now.Sub(e.at))/float64(h))
				}
				current[name] = direct
				if got := m.Current(sums[name], now); !approx(got, direct) {
					t.Errorf("%s: Current = %v, want %v", name, got, direct)
				}
			}
			if got := sortedBy(current); !slices.Equal(got, want) {
				t.Errorf("by current engagement: got %v, want %v", got, want)
			}
		})
	}
}

// sortedBy returns the keys of scores, highest score first.
func sortedBy(scores map[string]float64) []string {
	var names []string
	for n := range scores {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return scores[names[i]] > scores[names[j]] })
	return names
}

func TestFireCaps(t *testing.T) {
	base := t0.Add(10*day + 10*time.Hour) // a day at 10:00
	tests := []struct {
		name string
		rule string
		at   []time.Duration // after base, in the order the events arrive
		want []bool
	}{
		{"uncapped", "pricing visit", []time.Duration{0, 0, time.Minute, day}, []bool{true, true, true, true}},
		{"1 per 1d: the same day is refused", "demo request", []time.Duration{0, 5 * time.Hour}, []bool{true, false}},
		{"1 per 1d: the next day is accepted", "demo request", []time.Duration{0, 5 * time.Hour, day}, []bool{true, false, true}},
		{"1 per 1d: just under a day is refused", "demo request", []time.Duration{0, day - time.Microsecond, day}, []bool{true, false, true}},
		{"1 per 1d: the window starts at the first firing", "demo request", []time.Duration{0, day + 12*time.Hour, 2*day + 11*time.Hour, 2*day + 12*time.Hour}, []bool{true, true, false, true}},
		{"2 per 7d", "newsletter", []time.Duration{0, day, 2 * day, 6 * day, 7 * day, 8 * day, 9 * day}, []bool{true, true, false, false, true, true, false}},
		{"1 with no per is once ever", "signup", []time.Duration{0, time.Hour, day, 400 * day}, []bool{true, false, false, false}},
		{"1 per 1d: a late event counts in the current window", "demo request", []time.Duration{0, -2 * time.Hour}, []bool{true, false}},
		{"1 per 1d: a late event days older than the window start", "demo request", []time.Duration{0, -3 * day}, []bool{true, false}},
		{"2 per 7d: a late event fills the current window", "newsletter", []time.Duration{3 * day, day, 4 * day, 10 * day}, []bool{true, true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustModel(t, terms)
			r := mustRule(t, m, tt.rule)
			var l scoring.Line
			var got []bool
			var wantPoints float64
			var wantHits, wantLast int64
			for i, d := range tt.at {
				at := base.Add(d)
				p, ok := m.Fire(&l, r, at)
				got = append(got, ok)
				switch {
				case ok && !approx(p, r.Points*m.Weight(at)):
					t.Errorf("event %d: points = %v, want %v", i, p, r.Points*m.Weight(at))
				case !ok && p != 0:
					t.Errorf("event %d: refused but points = %v, want 0", i, p)
				}
				if ok {
					wantPoints += p
					wantHits++
					wantLast = max(wantLast, at.UnixMicro())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("fired = %v, want %v", got, tt.want)
			}
			if !approx(l.Points, wantPoints) || l.Hits != wantHits || l.Last != wantLast {
				t.Errorf("line = %+v, want points %v, hits %d, last %d", l, wantPoints, wantHits, wantLast)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	m := mustModel(t, terms)
	tests := []struct {
		name      string
		typ, page string
		want      []string
	}{
		{"on page, no name", "page", "", []string{"pricing visit", "careers visit"}},
		{"on page and page:Pricing", "page", "Pricing", []string{"pricing visit", "careers visit", "pricing page"}},
		{"page names are case-sensitive", "page", "pricing", []string{"pricing visit", "careers visit"}},
		{"an unknown page name", "page", "Careers", []string{"pricing visit", "careers visit"}},
		{"on track and track:Demo Requested", "track", "Demo Requested", []string{"any track", "demo request"}},
		{"an unknown track event", "track", "Logged In", []string{"any track"}},
		{"on track, no name", "track", "", []string{"any track"}},
		{"a page name is not a track event", "track", "Pricing", []string{"any track"}},
		{"a type no rule listens to", "screen", "Pricing", nil},
		{"identify", "identify", "", nil},
		{"an unknown type", "click", "Demo Requested", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range m.Candidates(tt.typ, tt.page) {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Candidates(%q, %q) = %q, want %q", tt.typ, tt.page, got, tt.want)
			}
		})
	}
}

func TestCandidatesOnlyNamed(t *testing.T) {
	m := mustModel(t, `name: named only
timezone: UTC
scoring:
  engagement:
    half_life: 7d
    rules:
      - { name: demo request, on: 'track:Demo Requested', points: 40 }
      - { name: demo booked, on: 'track:Demo Requested', when: 'properties.booked == true', points: 10 }
stages:
  - { key: lead, meaning: "Known person" }
`)
	tests := []struct {
		name      string
		typ, page string
		want      []string
	}{
		{"named rules, in the agreement's order", "track", "Demo Requested", []string{"demo request", "demo booked"}},
		{"no general rule", "track", "Signed Up", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range m.Candidates(tt.typ, tt.page) {
				got = append(got, r.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Candidates(%q, %q) = %q, want %q", tt.typ, tt.page, got, tt.want)
			}
		})
	}
}

// TestWhen pins that an engagement rule whose condition fails at run time does not
// fire, and that the other candidates still do.
func TestWhen(t *testing.T) {
	tests := []struct {
		name string
		e    agreement.Event
		want []string
	}{
		{"pricing path", agreement.Event{Type: "page", Properties: map[string]any{"path": "/pricing/enterprise"}}, []string{"pricing visit"}},
		{"careers path", agreement.Event{Type: "page", Properties: map[string]any{"path": "/careers"}}, []string{"careers visit"}},
		{"another path", agreement.Event{Type: "page", Properties: map[string]any{"path": "/blog"}}, nil},
		{"no path property", agreement.Event{Type: "page", Properties: map[string]any{}}, nil},
		{"no properties", agreement.Event{Type: "page"}, nil},
		{"path is a number", agreement.Event{Type: "page", Properties: map[string]any{"path": 42}}, nil},
		{"a failing rule leaves the named one", agreement.Event{Type: "page", Name: "Pricing", Properties: map[string]any{"path": 42}}, []string{"pricing page"}},
		{"a rule without when", agreement.Event{Type: "track", Event: "Demo Requested"}, []string{"any track", "demo request"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustModel(t, terms)
			if got := engage(m, map[string]*scoring.Line{}, &tt.e, t0); !slices.Equal(got, tt.want) {
				t.Errorf("fired %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	m := mustModel(t, terms)
	senior := map[string]any{"title": "VP Marketing"}
	tests := []struct {
		name  string
		p     agreement.Profile
		fit   float64
		hits  []string
		grade string
	}{
		{"nothing holds", agreement.Profile{Traits: map[string]any{"title": "Intern"}}, 0, nil, "D"},
		{"a senior title", agreement.Profile{Traits: senior}, 20, []string{"senior title"}, "C"},
		{"senior at a mid-size company", agreement.Profile{Traits: senior, Account: agreement.Account{Employees: 200}}, 35, []string{"senior title", "mid-size company"}, "B"},
		{"exactly the A threshold", agreement.Profile{Traits: senior, Account: agreement.Account{Employees: 500, Industry: "Software"}}, 40, []string{"senior title", "mid-size company", "target industry"}, "A"},
		{"a negative rule", agreement.Profile{Traits: senior, Account: agreement.Account{Employees: 500}, Contact: agreement.Contact{FreeEmail: true}}, 10, []string{"senior title", "mid-size company", "free email"}, "C"},
		{"below zero", agreement.Profile{Contact: agreement.Contact{FreeEmail: true}}, -25, []string{"free email"}, "D"},
		{"a missing trait", agreement.Profile{Traits: map[string]any{}, Account: agreement.Account{Employees: 200}}, 15, []string{"mid-size company"}, "C"},
		{"no traits at all", agreement.Profile{Account: agreement.Account{Employees: 200}}, 15, []string{"mid-size company"}, "C"},
		{"a trait of the wrong type", agreement.Profile{Traits: map[string]any{"title": 42}, Account: agreement.Account{Employees: 200}}, 15, []string{"mid-size company"}, "C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Fit(&tt.p); got != tt.fit {
				t.Errorf("Fit = %v, want %v", got, tt.fit)
			}
			var hits []string
			var sum float64
			for _, h := range m.FitHits(&tt.p) {
				hits = append(hits, h.Rule)
				sum += h.Points
			}
			if !slices.Equal(hits, tt.hits) || sum != tt.fit {
				t.Errorf("FitHits = %q summing to %v, want %q summing to %v", hits, sum, tt.hits, tt.fit)
			}
			if got := m.Scoring.Grade(tt.fit); got != tt.grade {
				t.Errorf("Grade(%v) = %q, want %q", tt.fit, got, tt.grade)
			}
		})
	}
}

func TestGrade(t *testing.T) {
	graded := mustParse(t, terms).Scoring
	ungraded := mustParse(t, noDecay).Scoring
	tests := []struct {
		name string
		s    *agreement.Scoring
		fit  float64
		want string
	}{
		{"far above A", &graded, 1000, "A"},
		{"exactly A", &graded, 40, "A"},
		{"just below A", &graded, 39.99, "B"},
		{"exactly B", &graded, 25, "B"},
		{"just below B", &graded, 24.99, "C"},
		{"exactly C", &graded, 10, "C"},
		{"just below the lowest", &graded, 9.99, "D"},
		{"zero", &graded, 0, "D"},
		{"negative", &graded, -25, "D"},
		{"no grades", &ungraded, 40, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Grade(tt.fit); got != tt.want {
				t.Errorf("Grade(%v) = %q, want %q", tt.fit, got, tt.want)
			}
		})
	}
}

// benchTerms is an agreement of about twenty rules, as a real one might be.
const benchTerms = `name: bench terms
timezone: UTC
scoring:
  engagement:
    half_life: 14d
    rules:
      - { name: pricing visit, on: page, when: 'properties.path startsWith "/pricing"', points: 10 }
      - { name: docs visit, on: page, when: 'properties.path startsWith "/docs"', points: 3 }
      - { name: careers visit, on: page, when: 'properties.path startsWith "/careers"', points: -10 }
      - { name: pricing page, on: 'page:Pricing', points: 5 }
      - { name: demo request, on: 'track:Demo Requested', points: 40, cap: { times: 1, per: 1d } }
      - { name: webinar, on: 'track:Webinar Attended', when: 'properties.minutes >= 30', points: 15 }
      - { name: signup, on: 'track:Signed Up', points: 25, cap: { times: 1 } }
      - { name: newsletter, on: 'track:Newsletter Opened', points: 2, cap: { times: 2, per: 7d } }
      - { name: from ads, on: page, when: 'context.campaign.source == "google"', points: 1 }
  fit:
    rules:
      - { name: senior title, when: 'traits.title matches "(?i)\\b(vp|director|head|chief)\\b"', points: 20 }
      - { name: student, when: 'traits.title contains "Student"', points: -30 }
      - { name: mid-size company, when: 'account.employees >= 200', points: 15 }
      - { name: large company, when: 'account.employees >= 5000', points: 10 }
      - { name: target industry, when: 'account.industry in ["Software", "Fintech", "Media"]', points: 10 }
      - { name: home market, when: 'traits.country in ["US", "CA"]', points: 5 }
      - { name: free email, when: 'contact.free_email', points: -25 }
  grades: { A: 40, B: 25, C: 10 }
stages:
  - { key: lead, meaning: "Known person" }
  - { key: mql, meaning: "Fits and engaged", enter_when: 'score.fit >= 20 && score.engagement >= 50' }
  - { key: hot, meaning: "Very engaged", enter_when: 'grade == "A" && score.engagement >= 100' }
  - { key: sal, meaning: "A rep accepted it", enter_on: accept }
  - { key: inactive, meaning: "Cooled off", detour: true, enter_when: 'stage in ["mql", "hot"] && score.engagement < 5' }
  - { key: disqualified, meaning: "Competitor", detour: true, enter_when: 'traits.competitor == true' }
`

// BenchmarkContact scores one contact against a whole agreement: the engagement rules
// of one event, every fit rule, the grade and the stage rules. The budget is 20µs.
func BenchmarkContact(b *testing.B) {
	a := mustParse(b, benchTerms)
	m := scoring.New(&a.Scoring, t0)
	now := t0.Add(30 * day)
	ev := agreement.Event{
		Type: "page", Name: "Pricing",
		Properties: map[string]any{"path": "/pricing", "title": "Pricing"},
		Context:    map[string]any{"campaign": map[string]any{"source": "google"}},
	}
	prof := agreement.Profile{
		Contact: agreement.Contact{Email: "ana@acme.test", Domain: "acme.test"},
		Traits:  map[string]any{"title": "VP Marketing", "country": "US"},
		Account: agreement.Account{Name: "Acme", Domain: "acme.test", Industry: "Software", Employees: 800},
	}
	lines := map[string]*scoring.Line{}
	b.ReportAllocs()
	for b.Loop() {
		clear(lines)
		eng := 60 * m.Weight(now.Add(-7*day))
		for _, r := range m.Candidates(ev.Type, ev.Name) {
			if r.When != nil && !r.When.Eval(&ev) {
				continue
			}
			l := lines[r.Name]
			if l == nil {
				l = &scoring.Line{}
				lines[r.Name] = l
			}
			p, _ := m.Fire(l, r, now)
			eng += p
		}
		fit := m.Fit(&prof)
		grade := a.Scoring.Grade(fit)
		cur := m.Current(eng, now)
		f := agreement.Facts{
			Contact: prof.Contact, Traits: prof.Traits, Account: prof.Account,
			Score: agreement.Score{Fit: fit, Engagement: cur, Total: fit + cur},
			Grade: grade,
		}
		st, _ := lifecycle.Evaluate(a, lifecycle.State{Stage: "lead", Funnel: "lead"}, &f, "")
		if st.Stage != "mql" {
			b.Fatalf("stage = %q, want mql", st.Stage)
		}
	}
}
