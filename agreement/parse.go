package agreement

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"tandem/attribution"
)

// Parse reads an agreement in YAML or JSON, checks all of it and compiles every rule.
// JSON is read as YAML, of which it is nearly a subset, so problems in either have a
// line and column. On failure it returns Errors listing every problem found, in
// document order.
func Parse(doc []byte) (*Agreement, error) {
	p := &parser{src: newSource(doc)}
	root := p.document(doc)
	var a *Agreement
	if root != nil {
		a = p.agreement(root)
	}
	if len(p.errs) > 0 {
		p.errs.sort()
		return nil, p.errs
	}
	return a, nil
}

// parser walks the YAML tree of one document, collecting every problem on the way
// rather than stopping at the first, so an author fixes them all in one round.
type parser struct {
	src  source
	errs Errors

	// stageKeys and teams are the names defined in the document, for checking the
	// places that refer to them.
	stageKeys []string
	teams     []string
	// ruleNames maps the name of each scoring rule to where it was written.
	ruleNames map[string][]*yaml.Node
}

// at says where a value is, for naming it in errors: problems inside a named rule or
// stage are reported against it, the others against the path of the field.
type at struct {
	rule string // "pricing visit", "stage mql"; empty outside any
	path string // "scoring.engagement.rules[0].cap.times"
	rel  string // the path inside rule: "cap.times"
}

func (s at) field(name string) at {
	s.path = joinPath(s.path, name)
	if s.rule != "" {
		s.rel = joinPath(s.rel, name)
	}
	return s
}

func (s at) index(i int) at {
	s.path += "[" + strconv.Itoa(i) + "]"
	if s.rule != "" {
		s.rel += "[" + strconv.Itoa(i) + "]"
	}
	return s
}

// in returns s inside the rule or stage called rule.
func (s at) in(rule string) at { return at{rule: rule, path: s.path} }

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// errorf records a problem with the value n (or, when n is nil, the document start).
func (p *parser) errorf(s at, n *yaml.Node, format string, args ...any) {
	where := pos{1, 1}
	if n != nil {
		where = pos{n.Line, n.Column}
	}
	p.report(s, where, fmt.Sprintf(format, args...))
}

// report records a problem at a place in the document.
func (p *parser) report(s at, where pos, msg string) {
	rule := s.path
	if s.rule != "" {
		rule = s.rule
		if s.rel != "" {
			msg = s.rel + ": " + msg
		}
	}
	if rule == "" {
		rule = "document"
	}
	p.errs = append(p.errs, Error{Rule: rule, Line: where.line, Column: where.column, Message: msg})
}

// yamlLine finds the line in yaml's error messages ("yaml: line 3: did not find
// expected key"); they carry no column.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// document parses the YAML of doc and returns its top-level node, or nil when there is
// none to check.
func (p *parser) document(doc []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(doc))
	var d yaml.Node
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(at{}, nil, "empty document")
			return nil
		}
		if json.Valid(doc) {
			if n, jerr := jsonNodes(doc); jerr == nil {
				return deref(n.Content[0])
			}
		}
		p.syntaxError(err)
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		p.errorf(at{}, &extra, "want one document, found a second")
		return nil
	case !errors.Is(err, io.EOF):
		p.syntaxError(err)
		return nil
	}
	if len(d.Content) == 0 {
		p.errorf(at{}, nil, "empty document")
		return nil
	}
	return d.Content[0]
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	p.errs = append(p.errs, Error{Rule: "document", Line: line, Column: 1, Message: msg})
}

func (p *parser) agreement(root *yaml.Node) *Agreement {
	var s at
	f, ok := p.fields(s, root, "name", "timezone", "business_hours", "scoring", "stages",
		"recycle", "teams", "routing", "sla", "attribution")
	if !ok {
		return nil
	}
	a := &Agreement{}
	a.Name, _ = p.requiredString(s, root, f, "name")
	if tz, n := p.requiredString(s, root, f, "timezone"); n != nil {
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "Local" {
			// Local would make the agreement mean different hours on different servers.
			p.errorf(s.field("timezone"), n, "unknown time zone %q (want an IANA name such as America/New_York)", tz)
		} else {
			a.Timezone, a.TimezoneName = loc, tz
		}
	}
	a.Hours = p.businessHours(s.field("business_hours"), f["business_hours"])
	// Stages and teams first: other sections refer to them.
	a.Stages = p.stages(s.field("stages"), root, f["stages"])
	a.Teams = p.teamList(s.field("teams"), f["teams"])
	a.Scoring = p.scoring(s.field("scoring"), root, f["scoring"])
	a.Recycle = p.recycle(s.field("recycle"), f["recycle"], a.Stages)
	a.Routing = p.routing(s.field("routing"), f["routing"])
	a.SLA = p.sla(s.field("sla"), f["sla"])
	a.Attribution = p.attribution(s.field("attribution"), f["attribution"])
	return a
}

// The sections of the document, in the order they are written.

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// businessHours reads the SLA calendar; without one, it is Monday to Friday, 9 to 5.
func (p *parser) businessHours(s at, n *yaml.Node) BusinessHours {
	h := BusinessHours{Open: 9 * time.Hour, Close: 17 * time.Hour}
	for d := time.Monday; d <= time.Friday; d++ {
		h.Days[d] = true
	}
	if isNull(deref(n)) {
		return h
	}
	f, ok := p.fields(s, n, "days", "hours", "holidays")
	if !ok {
		return h
	}
	if n := f["days"]; !isNull(deref(n)) {
		ds := s.field("days")
		if items, ok := p.list(ds, n); ok {
			if len(items) == 0 {
				p.errorf(ds, deref(n), "want at least one working day")
			}
			var days [7]bool
			for i, item := range items {
				v, ok := p.text(ds.index(i), item)
				if !ok {
					continue
				}
				d, known := weekdays[v]
				switch {
				case !known:
					p.errorf(ds.index(i), deref(item), "unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", v)
				case days[d]:
					p.errorf(ds.index(i), deref(item), "duplicate day %q", v)
				default:
					days[d] = true
				}
			}
			h.Days = days
		}
	}
	if v, ok := p.str(s.field("hours"), f["hours"]); ok {
		open, close, ok := parseHours(v)
		if !ok {
			p.errorf(s.field("hours"), deref(f["hours"]), "want opening and closing time as HH:MM-HH:MM, opening first, got %q", v)
		}
		h.Open, h.Close = open, close
	}
	if n := f["holidays"]; !isNull(deref(n)) {
		hs := s.field("holidays")
		if items, ok := p.list(hs, n); ok {
			for i, item := range items {
				v, ok := p.text(hs.index(i), item)
				if !ok {
					continue
				}
				switch _, err := time.Parse(time.DateOnly, v); {
				case err != nil:
					p.errorf(hs.index(i), deref(item), "want a date as YYYY-MM-DD, got %q", v)
				case slices.Contains(h.Holidays, v):
					p.errorf(hs.index(i), deref(item), "duplicate holiday %q", v)
				default:
					h.Holidays = append(h.Holidays, v)
				}
			}
		}
	}
	return h
}

// parseHours reads "HH:MM-HH:MM"; closing may be 24:00, the end of the day.
func parseHours(v string) (open, close time.Duration, ok bool) {
	o, c, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	open, okOpen := parseClock(strings.TrimSpace(o))
	close, okClose := parseClock(strings.TrimSpace(c))
	if !okOpen || !okClose || open >= close || open == 24*time.Hour {
		return 0, 0, false
	}
	return open, close, true
}

func parseClock(v string) (time.Duration, bool) {
	if len(v) != 5 || v[2] != ':' {
		return 0, false
	}
	h, errH := strconv.Atoi(v[:2])
	m, errM := strconv.Atoi(v[3:])
	if errH != nil || errM != nil || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

// eventTypes are the activity types an engagement rule may listen to.
var eventTypes = []string{"track", "page", "screen", "identify", "group"}

func (p *parser) scoring(s at, root, n *yaml.Node) Scoring {
	var sc Scoring
	if isNull(deref(n)) {
		p.missing(at{}, root, "scoring")
		return sc
	}
	f, ok := p.fields(s, n, "engagement", "fit", "grades")
	if !ok {
		return sc
	}
	p.ruleNames = make(map[string][]*yaml.Node)
	var rules int
	if e := f["engagement"]; !isNull(deref(e)) {
		es := s.field("engagement")
		if ef, ok := p.fields(es, e, "half_life", "rules"); ok {
			sc.HalfLife = p.duration(es.field("half_life"), ef["half_life"])
			items := p.items(es.field("rules"), ef["rules"])
			rules += len(items)
			for i, item := range items {
				rs := ruleScope(es.field("rules").index(i), item, "name", "")
				if r := p.engagementRule(rs, item); r != nil {
					sc.Engagement = append(sc.Engagement, r)
				}
			}
		}
	}
	if fn := f["fit"]; !isNull(deref(fn)) {
		fs := s.field("fit")
		if ff, ok := p.fields(fs, fn, "rules"); ok {
			items := p.items(fs.field("rules"), ff["rules"])
			rules += len(items)
			for i, item := range items {
				rs := ruleScope(fs.field("rules").index(i), item, "name", "")
				if r := p.fitRule(rs, item); r != nil {
					sc.Fit = append(sc.Fit, r)
				}
			}
		}
	}
	p.checkRuleNames()
	if rules == 0 {
		p.errorf(s, deref(n), "want at least one engagement or fit rule")
	}
	sc.Grades, sc.Fallback = p.grades(s.field("grades"), f["grades"])
	return sc
}

// ruleScope names the rule or stage that item defines by the value of its field key
// (with prefix), when it has one.
func ruleScope(s at, item *yaml.Node, key, prefix string) at {
	if n := deref(peek(item, key)); n != nil && n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) != "" && !isNull(n) {
		return s.in(prefix + n.Value)
	}
	return s
}

func (p *parser) engagementRule(s at, n *yaml.Node) *EngagementRule {
	f, ok := p.fields(s, n, "name", "on", "when", "points", "cap")
	if !ok {
		return nil
	}
	r := &EngagementRule{Name: p.ruleName(s, n, f)}
	if on, node := p.requiredString(s, n, f, "on"); node != nil {
		r.Type, r.Event = p.on(s.field("on"), node, on)
	}
	r.When, _ = p.expr(s.field("when"), f["when"], eventEnv)
	r.Points = p.points(s, n, f)
	if c := f["cap"]; !isNull(deref(c)) {
		cs := s.field("cap")
		if cf, ok := p.fields(cs, c, "times", "per"); ok {
			if isNull(deref(cf["times"])) {
				p.missing(cs, deref(c), "times")
			} else if times, ok := p.integer(cs.field("times"), cf["times"]); ok {
				if times < 1 {
					p.errorf(cs.field("times"), deref(cf["times"]), "want at least 1, got %d", times)
				}
				r.Cap.Times = times
			}
			r.Cap.Per = p.duration(cs.field("per"), cf["per"])
		}
	}
	return r
}

// on reads what an engagement rule listens to: an event type, optionally narrowed to
// one name, as in "page", "track:Demo Requested" or "screen:Home".
func (p *parser) on(s at, n *yaml.Node, v string) (typ, event string) {
	typ, event, named := strings.Cut(v, ":")
	typ, event = strings.TrimSpace(typ), strings.TrimSpace(event)
	switch {
	case !slices.Contains(eventTypes, typ):
		p.errorf(s, n, "unknown event type %q (want track, page, screen, identify or group, then optionally :name)", typ)
	case named && event == "":
		p.errorf(s, n, "want a name after %q", typ+":")
	case named && (typ == "identify" || typ == "group"):
		p.errorf(s, n, "%s events have no name to narrow by", typ)
	}
	return typ, event
}

func (p *parser) fitRule(s at, n *yaml.Node) *FitRule {
	f, ok := p.fields(s, n, "name", "when", "points")
	if !ok {
		return nil
	}
	r := &FitRule{Name: p.ruleName(s, n, f)}
	if isNull(deref(f["when"])) {
		p.missing(s, n, "when")
	} else {
		r.When, _ = p.expr(s.field("when"), f["when"], profileEnv)
	}
	r.Points = p.points(s, n, f)
	return r
}

// ruleName reads a scoring rule's name, noting where it was written so that scoring
// can check that names are unique.
func (p *parser) ruleName(s at, n *yaml.Node, f map[string]*yaml.Node) string {
	name, node := p.requiredString(s, n, f, "name")
	if node != nil {
		p.ruleNames[name] = append(p.ruleNames[name], node)
	}
	return name
}

// checkRuleNames reports each rule that takes a name already used further up the
// document. Engagement and fit rules share names: a contact's score lines are keyed by
// them.
func (p *parser) checkRuleNames() {
	for name, nodes := range p.ruleNames {
		slices.SortFunc(nodes, func(a, b *yaml.Node) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
		for _, n := range nodes[1:] {
			p.errorf(at{}.in(name).field("name"), n, "duplicate rule name, first used on line %d (engagement and fit rules share names)", nodes[0].Line)
		}
	}
}

func (p *parser) points(s at, n *yaml.Node, f map[string]*yaml.Node) float64 {
	if isNull(deref(f["points"])) {
		p.missing(s, n, "points")
		return 0
	}
	v, ok := p.number(s.field("points"), f["points"])
	if ok && v == 0 {
		p.errorf(s.field("points"), deref(f["points"]), "must not be zero")
	}
	return v
}

// grades reads letter: minimum fit pairs. Letters further down the alphabet must have
// lower minimums, so the letter after the last is the natural grade for a fit below
// them all.
func (p *parser) grades(s at, n *yaml.Node) (grades []Grade, fallback string) {
	n = deref(n)
	if isNull(n) {
		return nil, ""
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(s, n, "want a mapping of letters to minimum fit, got %s", describe(n))
		return nil, ""
	}
	type grade struct {
		Grade
		node *yaml.Node
	}
	var gs []grade
	for _, kv := range p.pairs(s, n, "grade") {
		ks := s.field(kv.key)
		if len(kv.key) != 1 || kv.key[0] < 'A' || kv.key[0] > 'Z' {
			p.errorf(ks, kv.keyNode, "want a single capital letter, got %q", kv.key)
			continue
		}
		if isNull(deref(kv.value)) {
			p.errorf(ks, kv.keyNode, "want a number, got nothing")
			continue
		}
		min, ok := p.number(ks, kv.value)
		if !ok {
			continue
		}
		if i := slices.IndexFunc(gs, func(g grade) bool { return g.Min == min }); i >= 0 {
			p.errorf(ks, deref(kv.value), "same minimum as grade %s", gs[i].Letter)
			continue
		}
		gs = append(gs, grade{Grade{Letter: kv.key, Min: min}, deref(kv.value)})
	}
	slices.SortFunc(gs, func(a, b grade) int { return strings.Compare(a.Letter, b.Letter) })
	for i := 1; i < len(gs); i++ {
		if gs[i].Min > gs[i-1].Min {
			p.errorf(s.field(gs[i].Letter), gs[i].node, "want a lower minimum than grade %s (%v)", gs[i-1].Letter, gs[i-1].Min)
		}
	}
	if len(gs) == 0 {
		return nil, ""
	}
	for _, g := range gs {
		grades = append(grades, g.Grade)
	}
	slices.SortFunc(grades, func(a, b Grade) int { return cmp.Compare(b.Min, a.Min) }) // highest first
	if last := grades[len(grades)-1].Letter[0]; last < 'Z' {
		fallback = string(rune(last + 1))
	}
	return grades, fallback
}

// stageKey is the form of a stage key: it appears in URLs, filters and rules.
var stageKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (p *parser) stages(s at, root, n *yaml.Node) []*Stage {
	if isNull(deref(n)) {
		p.missing(at{}, root, "stages")
		return nil
	}
	items, ok := p.list(s, n)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(s, deref(n), "want at least one stage")
	}
	// Keys first, so that a rule may compare with a stage defined further down.
	for _, item := range items {
		if k := deref(peek(item, "key")); k != nil && k.Kind == yaml.ScalarNode && !slices.Contains(p.stageKeys, k.Value) {
			p.stageKeys = append(p.stageKeys, k.Value)
		}
	}
	seen := make(map[string]bool)
	actions := make(map[string]string) // action -> the stage it enters
	var stages []*Stage
	for i, item := range items {
		ss := ruleScope(s.index(i), item, "key", "stage ")
		if st := p.stage(ss, item, seen, actions); st != nil {
			stages = append(stages, st)
		}
	}
	return stages
}

func (p *parser) stage(s at, n *yaml.Node, seen map[string]bool, actions map[string]string) *Stage {
	f, ok := p.fields(s, n, "key", "meaning", "enter_when", "enter_on", "detour")
	if !ok {
		return nil
	}
	st := &Stage{}
	if key, node := p.requiredString(s, n, f, "key"); node != nil {
		switch {
		case !stageKey.MatchString(key):
			p.errorf(s.field("key"), node, "want lowercase letters, digits and _, starting with a letter, got %q", key)
		case seen[key]:
			p.errorf(s.field("key"), node, "duplicate stage key %q", key)
		}
		seen[key] = true
		st.Key = key
	}
	st.Meaning, _ = p.str(s.field("meaning"), f["meaning"])
	st.Detour, _ = p.boolean(s.field("detour"), f["detour"])
	var tree exprTree
	st.EnterWhen, tree = p.expr(s.field("enter_when"), f["enter_when"], factsEnv)
	p.checkStages(s.field("enter_when"), tree)
	onNode := deref(f["enter_on"])
	if v, ok := p.str(s.field("enter_on"), onNode); ok {
		switch {
		case !slices.Contains(Actions, v):
			p.errorf(s.field("enter_on"), onNode, "unknown action %q (want one of %s)", v, strings.Join(Actions, ", "))
		case actions[v] != "":
			p.errorf(s.field("enter_on"), onNode, "action %q already enters stage %s", v, actions[v])
		default:
			actions[v] = cmp.Or(st.Key, s.path)
		}
		st.EnterOn = v
	}
	hasWhen, hasOn := !isNull(deref(f["enter_when"])), !isNull(onNode)
	switch {
	case st.Detour && hasOn:
		p.errorf(s.field("enter_on"), onNode, "a detour stage is entered by its enter_when rule, not by an action")
	case st.Detour && !hasWhen:
		p.errorf(s, deref(n), "a detour stage needs enter_when: the rule that puts contacts in it")
	case hasWhen && hasOn:
		p.errorf(s.field("enter_on"), onNode, "set enter_when or enter_on, not both")
	}
	if st.Detour && tree.node != nil {
		st.EngagementBelow = engagementBelow(tree.node)
		st.EnterFrom = enterFrom(tree.node)
	}
	return st
}

// snakeCase is the form of recycle reasons and request types: stored and shown as keys.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// recycle reads where rejected leads go. Without the section they go back to the first
// stage, and a rep may give no reason.
func (p *parser) recycle(s at, n *yaml.Node, stages []*Stage) Recycle {
	var r Recycle
	if isNull(deref(n)) {
		if len(stages) > 0 {
			r.To = stages[0].Key
		}
		return r
	}
	f, ok := p.fields(s, n, "to", "reasons")
	if !ok {
		return r
	}
	if to, node := p.requiredString(s, deref(n), f, "to"); node != nil {
		if !slices.Contains(p.stageKeys, to) {
			p.errorf(s.field("to"), node, "unknown stage %q%s", to, oneOf(p.stageKeys))
		}
		r.To = to
	}
	rs := s.field("reasons")
	if isNull(deref(f["reasons"])) {
		p.missing(s, deref(n), "reasons")
		return r
	}
	items, ok := p.list(rs, f["reasons"])
	if !ok {
		return r
	}
	if len(items) == 0 {
		p.errorf(rs, deref(f["reasons"]), "want at least one reason")
	}
	for i, item := range items {
		v, ok := p.text(rs.index(i), item)
		switch {
		case !ok:
		case !snakeCase.MatchString(v):
			p.errorf(rs.index(i), deref(item), "want a lowercase snake_case word, got %q", v)
		case slices.Contains(r.Reasons, v):
			p.errorf(rs.index(i), deref(item), "duplicate reason %q", v)
		default:
			r.Reasons = append(r.Reasons, v)
		}
	}
	return r
}

func (p *parser) teamList(s at, n *yaml.Node) []*Team {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(s, n, "want a mapping of team names to lists of reps, got %s", describe(n))
		return nil
	}
	var teams []*Team
	for _, kv := range p.pairs(s, n, "team") {
		// Known even when its members have problems, so routes naming it are not
		// reported as well.
		p.teams = append(p.teams, kv.key)
		ts := s.field(kv.key)
		items, ok := p.list(ts, kv.value)
		if !ok {
			continue
		}
		if len(items) == 0 {
			p.errorf(ts, deref(kv.value), "want at least one rep")
		}
		t := &Team{Name: kv.key}
		reps := make(map[string]bool)
		for i, item := range items {
			ms := ts.index(i)
			f, ok := p.fields(ms, item, "rep", "weight")
			if !ok {
				continue
			}
			m := Member{Weight: 1}
			if isNull(deref(f["rep"])) {
				p.missing(ms, deref(item), "rep")
			} else if rep, ok := p.email(ms.field("rep"), f["rep"]); ok {
				if reps[strings.ToLower(rep)] {
					p.errorf(ms.field("rep"), deref(f["rep"]), "duplicate rep %q in team %s", rep, kv.key)
				}
				reps[strings.ToLower(rep)] = true
				m.Rep = rep
			}
			if w, ok := p.integer(ms.field("weight"), f["weight"]); ok {
				if w < 1 {
					p.errorf(ms.field("weight"), deref(f["weight"]), "want at least 1, got %d", w)
				}
				m.Weight = w
			}
			t.Members = append(t.Members, m)
		}
		teams = append(teams, t)
	}
	return teams
}

func (p *parser) routing(s at, n *yaml.Node) []*Route {
	var routes []*Route
	names := make(map[string]int) // name -> line first used
	catchAll := ""                // the first route without a rule
	for i, item := range p.items(s, n) {
		rs := ruleScope(s.index(i), item, "name", "")
		f, ok := p.fields(rs, item, "name", "when", "assign")
		if !ok {
			continue
		}
		r := &Route{}
		if name, node := p.requiredString(rs, item, f, "name"); node != nil {
			if line, dup := names[name]; dup {
				p.errorf(rs.field("name"), node, "duplicate route name, first used on line %d", line)
			} else {
				names[name] = node.Line
			}
			r.Name = name
		}
		var tree exprTree
		r.When, tree = p.expr(rs.field("when"), f["when"], factsEnv)
		p.checkStages(rs.field("when"), tree)
		if isNull(deref(f["assign"])) {
			p.missing(rs, deref(item), "assign")
		} else {
			r.Assign = p.assign(rs.field("assign"), f["assign"])
		}
		if catchAll != "" {
			p.errorf(rs, deref(item), "unreachable: route %q above has no when and takes every lead", catchAll)
		} else if isNull(deref(f["when"])) {
			catchAll = cmp.Or(r.Name, rs.path)
		}
		routes = append(routes, r)
	}
	return routes
}

// assign reads who a route assigns to: account_owner, or a mapping with exactly one of
// account_owner: true, round_robin: <team> or rep: <email>.
func (p *parser) assign(s at, n *yaml.Node) Assign {
	n = deref(n)
	var a Assign
	if n.Kind == yaml.ScalarNode {
		if n.Value == "account_owner" {
			a.AccountOwner = true
		} else {
			p.errorf(s, n, "want account_owner or a mapping with one of account_owner, round_robin, rep; got %s", describe(n))
		}
		return a
	}
	f, ok := p.fields(s, n, "account_owner", "round_robin", "rep")
	if !ok {
		return a
	}
	if owner, ok := p.boolean(s.field("account_owner"), f["account_owner"]); ok {
		if !owner {
			p.errorf(s.field("account_owner"), deref(f["account_owner"]), "want true, or leave it out")
		}
		a.AccountOwner = owner
	}
	if team, ok := p.str(s.field("round_robin"), f["round_robin"]); ok {
		if !slices.Contains(p.teams, team) {
			p.errorf(s.field("round_robin"), deref(f["round_robin"]), "unknown team %q%s", team, oneOf(p.teams))
		}
		a.RoundRobin = team
	}
	a.Rep, _ = p.email(s.field("rep"), f["rep"])
	set := 0
	for _, k := range []string{"account_owner", "round_robin", "rep"} {
		if !isNull(deref(f[k])) {
			set++
		}
	}
	if set != 1 {
		p.errorf(s, n, "set exactly one of account_owner, round_robin, rep")
	}
	return a
}

// oneOf lists the valid names for an error message, or says there are none.
func oneOf(names []string) string {
	if len(names) == 0 {
		return " (none are defined)"
	}
	return " (want one of " + strings.Join(names, ", ") + ")"
}

func (p *parser) sla(s at, n *yaml.Node) SLA {
	var sla SLA
	if isNull(deref(n)) {
		return sla
	}
	f, ok := p.fields(s, n, "sales", "marketing")
	if !ok {
		return sla
	}
	if n := f["sales"]; !isNull(deref(n)) {
		ss := s.field("sales")
		if sf, ok := p.fields(ss, n, "accept_within", "first_touch_within", "warn_before", "on_breach", "escalate_to"); ok {
			sales := &sla.Sales
			sales.AcceptWithin = p.duration(ss.field("accept_within"), sf["accept_within"])
			sales.FirstTouchWithin = p.duration(ss.field("first_touch_within"), sf["first_touch_within"])
			sales.WarnBefore = p.duration(ss.field("warn_before"), sf["warn_before"])
			if v, ok := p.str(ss.field("on_breach"), sf["on_breach"]); ok {
				if v != "reassign" && v != "escalate" {
					p.errorf(ss.field("on_breach"), deref(sf["on_breach"]), "want reassign or escalate, got %q", v)
				}
				sales.OnBreach = v
			}
			if sales.OnBreach == "escalate" && isNull(deref(sf["escalate_to"])) {
				p.missing(ss, deref(n), "escalate_to")
			}
			sales.EscalateTo, _ = p.email(ss.field("escalate_to"), sf["escalate_to"])
		}
	}
	if n := f["marketing"]; !isNull(deref(n)) {
		ms := s.field("marketing")
		if mf, ok := p.fields(ms, n, "mql_target", "request_turnaround"); ok {
			sla.Marketing.MQLTarget = p.target(ms.field("mql_target"), mf["mql_target"])
			sla.Marketing.RequestTurnaround = p.turnaround(ms.field("request_turnaround"), mf["request_turnaround"])
		}
	}
	return sla
}

func (p *parser) target(s at, n *yaml.Node) Target {
	var t Target
	if isNull(deref(n)) {
		return t
	}
	f, ok := p.fields(s, n, "per", "count")
	if !ok {
		return t
	}
	if per, node := p.requiredString(s, deref(n), f, "per"); node != nil {
		if per != "month" && per != "quarter" {
			p.errorf(s.field("per"), node, "want month or quarter, got %q", per)
		}
		t.Per = per
	}
	if isNull(deref(f["count"])) {
		p.missing(s, deref(n), "count")
	} else if c, ok := p.integer(s.field("count"), f["count"]); ok {
		if c < 1 {
			p.errorf(s.field("count"), deref(f["count"]), "want at least 1, got %d", c)
		}
		t.Count = c
	}
	return t
}

func (p *parser) turnaround(s at, n *yaml.Node) map[string]time.Duration {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(s, n, "want a mapping of request types to durations, got %s", describe(n))
		return nil
	}
	out := make(map[string]time.Duration)
	for _, kv := range p.pairs(s, n, "request type") {
		ks := s.field(kv.key)
		if !snakeCase.MatchString(kv.key) {
			p.errorf(ks, kv.keyNode, "want a lowercase snake_case request type, got %q", kv.key)
			continue
		}
		if isNull(deref(kv.value)) {
			p.errorf(ks, kv.keyNode, "want a duration, got nothing")
			continue
		}
		out[kv.key] = p.duration(ks, kv.value)
	}
	return out
}

// attribution reads how revenue is credited to campaigns: the model reports lead with,
// the cutoff and lookback, and the weights of the positional models. Whatever is left
// out keeps its default.
func (p *parser) attribution(s at, n *yaml.Node) Attribution {
	a := DefaultAttribution()
	if isNull(deref(n)) {
		return a
	}
	f, ok := p.fields(s, n, "model", "cutoff", "lookback", "half_life", "u_shaped", "w_shaped", "full_path")
	if !ok {
		return a
	}
	if v, ok := p.str(s.field("model"), f["model"]); ok {
		if !slices.Contains(attribution.Kinds, attribution.Kind(v)) {
			p.errorf(s.field("model"), deref(f["model"]), "want one of %s, got %q", attribution.KindList(), v)
		}
		a.Model = attribution.Kind(v)
	}
	if v, ok := p.str(s.field("cutoff"), f["cutoff"]); ok {
		if v != attribution.CutoffCreated && v != attribution.CutoffClosed {
			p.errorf(s.field("cutoff"), deref(f["cutoff"]), "want created or closed, got %q", v)
		}
		a.Cutoff = v
	}
	if !isNull(deref(f["lookback"])) {
		a.Lookback = p.duration(s.field("lookback"), f["lookback"])
	}
	if !isNull(deref(f["half_life"])) {
		if d := p.duration(s.field("half_life"), f["half_life"]); d > 0 {
			a.Models[attribution.TimeDecay] = withHalfLife(a.Models[attribution.TimeDecay], d)
		} else {
			p.errorf(s.field("half_life"), deref(f["half_life"]), "want a positive duration such as 7d")
		}
	}
	shares := func(key string, kind attribution.Kind, names ...string) {
		node := f[key]
		if isNull(deref(node)) {
			return
		}
		ks := s.field(key)
		sf, ok := p.fields(ks, node, names...)
		if !ok {
			return
		}
		m := a.Models[kind]
		for _, name := range names {
			if isNull(deref(sf[name])) {
				continue
			}
			v, ok := p.number(ks.field(name), sf[name])
			if !ok {
				continue
			}
			switch name {
			case "first":
				m.First = v
			case "last":
				m.Last = v
			case "lead":
				m.Lead = v
			case "opportunity":
				m.Opportunity = v
			case "close":
				m.Close = v
			}
		}
		if err := m.Validate(); err != nil {
			p.errorf(ks, deref(node), "%v", err)
		}
		a.Models[kind] = m
	}
	shares("u_shaped", attribution.UShaped, "first", "last")
	shares("w_shaped", attribution.WShaped, "first", "lead", "opportunity")
	shares("full_path", attribution.FullPath, "first", "lead", "opportunity", "close")
	return a
}

func withHalfLife(m attribution.Model, d time.Duration) attribution.Model {
	m.HalfLife = d
	return m
}
