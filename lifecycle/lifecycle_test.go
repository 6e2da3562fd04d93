package lifecycle_test

import (
	"slices"
	"testing"

	"tandem/agreement"
	"tandem/lifecycle"
)

// terms has a funnel of rule stages (mql, hot) and action stages (sal, sql), and two
// detours: one that only an engaged stage can cool into, and one for any stage.
const terms = `name: lifecycle terms
timezone: UTC
scoring:
  fit:
    rules:
      - { name: senior title, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: lead, meaning: "Known person" }
  - { key: mql, meaning: "Fits and engaged", enter_when: 'score.fit >= 20 && score.engagement >= 50' }
  - { key: hot, meaning: "Very engaged", enter_when: 'score.engagement >= 100' }
  - { key: sal, meaning: "A rep accepted it", enter_on: accept }
  - { key: inactive, meaning: "Cooled off", detour: true, enter_when: 'stage in ["mql", "hot"] && score.engagement < 10' }
  - { key: sql, meaning: "A rep qualified it", enter_on: qualify }
  - { key: disqualified, meaning: "A competitor", detour: true, enter_when: 'traits.competitor == true' }
recycle: { to: lead, reasons: [no_budget, bad_timing] }
`

// ruleFirst is an agreement whose first stage has a rule, so a contact has no stage
// until it holds.
const ruleFirst = `name: rule first
timezone: UTC
scoring:
  fit:
    rules:
      - { name: senior title, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: prospect, meaning: "Fits", enter_when: 'score.fit >= 10' }
  - { key: mql, meaning: "Fits and engaged", enter_when: 'score.fit >= 20 && score.engagement >= 50' }
  - { key: disqualified, meaning: "A competitor", detour: true, enter_when: 'traits.competitor == true' }
`

// actionFirst is an agreement whose first stage is entered by an action only.
const actionFirst = `name: action first
timezone: UTC
scoring:
  fit:
    rules:
      - { name: senior title, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: sal, meaning: "A rep accepted it", enter_on: accept }
  - { key: hot, meaning: "Very engaged", enter_when: 'score.engagement >= 100' }
`

func mustParse(tb testing.TB, doc string) *agreement.Agreement {
	tb.Helper()
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("Parse: %v", err)
	}
	return a
}

// facts makes the facts of a contact with scores fit and engagement.
func facts(fit, engagement float64) agreement.Facts {
	return agreement.Facts{
		Traits: map[string]any{},
		Score:  agreement.Score{Fit: fit, Engagement: engagement, Total: fit + engagement},
	}
}

// competitor makes the facts of a contact the disqualified detour holds for.
func competitor(fit, engagement float64) agreement.Facts {
	f := facts(fit, engagement)
	f.Traits["competitor"] = true
	return f
}

func at(stage string) lifecycle.State { return lifecycle.State{Stage: stage, Funnel: stage} }

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name  string
		doc   string
		st    lifecycle.State
		f     agreement.Facts
		cause string
		want  lifecycle.State
		moves []lifecycle.Change
	}{
		{
			name: "a new contact enters the first stage",
			doc:  terms, st: lifecycle.State{}, f: facts(0, 0),
			want:  at("lead"),
			moves: []lifecycle.Change{{From: "", To: "lead", Cause: "created"}},
		},
		{
			name: "a new contact enters the first stage, then moves on by rule",
			doc:  terms, st: lifecycle.State{}, f: facts(20, 60),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "", To: "lead", Cause: "created"}, {From: "lead", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "a new contact that no detour holds for enters none",
			doc:  terms, st: lifecycle.State{}, f: facts(0, 0),
			want:  at("lead"),
			moves: []lifecycle.Change{{From: "", To: "lead", Cause: "created"}},
		},
		{
			name: "a new contact enters the first stage, then a detour",
			doc:  terms, st: lifecycle.State{}, f: competitor(0, 0),
			want: lifecycle.State{Stage: "disqualified", Funnel: "lead"},
			moves: []lifecycle.Change{
				{From: "", To: "lead", Cause: "created"},
				{From: "lead", To: "disqualified", Cause: "rule disqualified"},
			},
		},
		{
			name: "first stage with a rule: no stage until it holds",
			doc:  ruleFirst, st: lifecycle.State{}, f: facts(5, 0),
			want: lifecycle.State{},
		},
		{
			name: "first stage with a rule: no detour without a stage",
			doc:  ruleFirst, st: lifecycle.State{}, f: competitor(5, 0),
			want: lifecycle.State{},
		},
		{
			name: "first stage with a rule: entered when it holds",
			doc:  ruleFirst, st: lifecycle.State{}, f: facts(10, 0),
			want:  at("prospect"),
			moves: []lifecycle.Change{{From: "", To: "prospect", Cause: "rule prospect"}},
		},
		{
			name: "first stage with a rule: a new contact may jump past it",
			doc:  ruleFirst, st: lifecycle.State{}, f: facts(20, 50),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "first stage entered on an action: a new contact has no stage",
			doc:  actionFirst, st: lifecycle.State{}, f: facts(0, 0),
			want: lifecycle.State{},
		},
		{
			name: "nothing holds: no move",
			doc:  terms, st: at("lead"), f: facts(20, 49),
			want: at("lead"),
		},
		{
			name: "forward by rule",
			doc:  terms, st: at("lead"), f: facts(20, 50),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "lead", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "forward to the furthest stage whose rule holds",
			doc:  terms, st: at("lead"), f: facts(20, 150),
			want:  at("hot"),
			moves: []lifecycle.Change{{From: "lead", To: "hot", Cause: "rule hot"}},
		},
		{
			name: "forward past a stage whose rule does not hold",
			doc:  terms, st: at("lead"), f: facts(0, 150),
			want:  at("hot"),
			moves: []lifecycle.Change{{From: "lead", To: "hot", Cause: "rule hot"}},
		},
		{
			name: "no backward move when a rule stops holding",
			doc:  terms, st: at("hot"), f: facts(20, 60),
			want: at("hot"),
		},
		{
			name: "no backward move when no rule holds",
			doc:  terms, st: at("mql"), f: facts(0, 20),
			want: at("mql"),
		},
		{
			name: "no backward move by a rule behind the stage",
			doc:  terms, st: at("sal"), f: facts(20, 150),
			want: at("sal"),
		},
		{
			name: "rules do not enter enter_on stages",
			doc:  terms, st: at("hot"), f: facts(100, 1000),
			want: at("hot"),
		},
		{
			name: "detour entered when its rule holds",
			doc:  terms, st: at("mql"), f: facts(20, 9),
			want:  lifecycle.State{Stage: "inactive", Funnel: "mql"},
			moves: []lifecycle.Change{{From: "mql", To: "inactive", Cause: "rule inactive"}},
		},
		{
			name: "detour rule sees the stage: not entered from another",
			doc:  terms, st: at("lead"), f: facts(20, 9),
			want: at("lead"),
		},
		{
			name: "the first detour whose rule holds",
			doc:  terms, st: at("hot"), f: competitor(20, 9),
			want:  lifecycle.State{Stage: "inactive", Funnel: "hot"},
			moves: []lifecycle.Change{{From: "hot", To: "inactive", Cause: "rule inactive"}},
		},
		{
			name: "staying in a detour while its rule holds, asked with the funnel stage",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "mql"}, f: facts(20, 3),
			want: lifecycle.State{Stage: "inactive", Funnel: "mql"},
		},
		{
			name: "no forward move while in a detour",
			doc:  terms, st: lifecycle.State{Stage: "disqualified", Funnel: "lead"}, f: competitor(20, 150),
			want: lifecycle.State{Stage: "disqualified", Funnel: "lead"},
		},
		{
			name: "leaving a detour when its rule stops holding",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "mql"}, f: facts(20, 30),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "inactive", To: "mql", Cause: "left inactive"}},
		},
		{
			name: "leaving a detour, then forward",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "mql"}, f: facts(20, 150),
			want:  at("hot"),
			moves: []lifecycle.Change{{From: "inactive", To: "mql", Cause: "left inactive"}, {From: "mql", To: "hot", Cause: "rule hot"}},
		},
		{
			name: "leaving a detour, then into another",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "sal"}, f: competitor(20, 3),
			want: lifecycle.State{Stage: "disqualified", Funnel: "sal"},
			moves: []lifecycle.Change{
				{From: "inactive", To: "sal", Cause: "left inactive"},
				{From: "sal", To: "disqualified", Cause: "rule disqualified"},
			},
		},
		{
			name: "detour not entered when a forward move happens",
			doc:  terms, st: at("lead"), f: competitor(20, 60),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "lead", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "a removed stage sends the contact back to the top",
			doc:  terms, st: at("nurture"), f: facts(0, 0),
			want:  at("lead"),
			moves: []lifecycle.Change{{From: "nurture", To: "lead", Cause: "stage nurture removed"}},
		},
		{
			name: "a removed stage: the rules put the contact where it belongs",
			doc:  terms, st: at("nurture"), f: facts(20, 60),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "nurture", To: "lead", Cause: "stage nurture removed"}, {From: "lead", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "a removed funnel stage behind a detour sends the contact back to the top",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "nurture"}, f: facts(0, 3),
			want:  at("lead"),
			moves: []lifecycle.Change{{From: "inactive", To: "lead", Cause: "stage nurture removed"}},
		},
		{
			name: "a removed stage, first stage with a rule: the rules decide",
			doc:  ruleFirst, st: at("nurture"), f: facts(20, 60),
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "nurture", To: "prospect", Cause: "stage nurture removed"}, {From: "prospect", To: "mql", Cause: "rule mql"}},
		},
		{
			name: "cause overrides a creation and a rule",
			doc:  terms, st: lifecycle.State{}, f: facts(20, 60), cause: "agreement v2",
			want:  at("mql"),
			moves: []lifecycle.Change{{From: "", To: "lead", Cause: "agreement v2"}, {From: "lead", To: "mql", Cause: "agreement v2"}},
		},
		{
			name: "cause overrides entering and leaving a detour",
			doc:  terms, st: lifecycle.State{Stage: "inactive", Funnel: "sal"}, f: competitor(0, 30), cause: "agreement v2",
			want: lifecycle.State{Stage: "disqualified", Funnel: "sal"},
			moves: []lifecycle.Change{
				{From: "inactive", To: "sal", Cause: "agreement v2"},
				{From: "sal", To: "disqualified", Cause: "agreement v2"},
			},
		},
		{
			name: "cause overrides a removal",
			doc:  terms, st: at("nurture"), f: facts(0, 0), cause: "agreement v2",
			want:  at("lead"),
			moves: []lifecycle.Change{{From: "nurture", To: "lead", Cause: "agreement v2"}},
		},
		{
			name: "cause without a move records nothing",
			doc:  terms, st: at("mql"), f: facts(20, 60), cause: "agreement v2",
			want: at("mql"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := mustParse(t, tt.doc)
			f := tt.f
			got, moves := lifecycle.Evaluate(a, tt.st, &f, tt.cause)
			if got != tt.want {
				t.Errorf("state = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(moves, tt.moves) {
				t.Errorf("moves = %+v, want %+v", moves, tt.moves)
			}
			if f.Stage != got.Stage {
				t.Errorf("facts' stage = %q, want %q", f.Stage, got.Stage)
			}
		})
	}
}

func TestAct(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		st      lifecycle.State
		action  string
		want    lifecycle.State
		move    *lifecycle.Change
		wantErr bool
	}{
		{
			name: "forward", doc: terms, st: at("mql"), action: "accept",
			want: at("sal"), move: &lifecycle.Change{From: "mql", To: "sal", Cause: "action accept"},
		},
		{
			name: "forward past stages", doc: terms, st: at("lead"), action: "qualify",
			want: at("sql"), move: &lifecycle.Change{From: "lead", To: "sql", Cause: "action qualify"},
		},
		{
			name: "a contact without a stage", doc: terms, st: lifecycle.State{}, action: "accept",
			want: at("sal"), move: &lifecycle.Change{From: "", To: "sal", Cause: "action accept"},
		},
		{
			name: "the first stage of an agreement", doc: actionFirst, st: lifecycle.State{}, action: "accept",
			want: at("sal"), move: &lifecycle.Change{From: "", To: "sal", Cause: "action accept"},
		},
		{
			name: "the same stage changes nothing", doc: terms, st: at("sal"), action: "accept",
			want: at("sal"),
		},
		{
			name: "backwards changes nothing", doc: terms, st: at("sql"), action: "accept",
			want: at("sql"),
		},
		{
			name: "leaving a detour forward", doc: terms, st: lifecycle.State{Stage: "inactive", Funnel: "mql"}, action: "accept",
			want: at("sal"), move: &lifecycle.Change{From: "inactive", To: "sal", Cause: "action accept"},
		},
		{
			name: "leaving a detour to its funnel stage", doc: terms, st: lifecycle.State{Stage: "disqualified", Funnel: "sal"}, action: "accept",
			want: at("sal"), move: &lifecycle.Change{From: "disqualified", To: "sal", Cause: "action accept"},
		},
		{
			name: "backwards from a detour changes nothing", doc: terms, st: lifecycle.State{Stage: "disqualified", Funnel: "sql"}, action: "accept",
			want: lifecycle.State{Stage: "disqualified", Funnel: "sql"},
		},
		{
			name: "an unknown action", doc: terms, st: at("mql"), action: "close",
			want: at("mql"), wantErr: true,
		},
		{
			name: "an action no stage is entered on", doc: terms, st: at("mql"), action: "opportunity_won",
			want: at("mql"), wantErr: true,
		},
		{
			name: "no action", doc: terms, st: at("mql"), action: "",
			want: at("mql"), wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, move, err := lifecycle.Act(mustParse(t, tt.doc), tt.st, tt.action)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Act(%q): err = %v, want error %v", tt.action, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("state = %+v, want %+v", got, tt.want)
			}
			switch {
			case (move == nil) != (tt.move == nil):
				t.Errorf("move = %+v, want %+v", move, tt.move)
			case move != nil && *move != *tt.move:
				t.Errorf("move = %+v, want %+v", *move, *tt.move)
			}
		})
	}
}

func TestRecycle(t *testing.T) {
	noRecycle := `name: no recycle
timezone: UTC
scoring:
  fit:
    rules:
      - { name: senior title, when: 'traits.title == "VP"', points: 20 }
stages:
  - { key: new, meaning: "Known person" }
  - { key: sal, meaning: "A rep accepted it", enter_on: accept }
`
	tests := []struct {
		name   string
		doc    string
		st     lifecycle.State
		reason string
		want   lifecycle.State
		move   lifecycle.Change
	}{
		{
			name: "from an action stage", doc: terms, st: at("sql"), reason: "no_budget",
			want: at("lead"), move: lifecycle.Change{From: "sql", To: "lead", Cause: "recycle no_budget"},
		},
		{
			name: "from a detour", doc: terms, st: lifecycle.State{Stage: "inactive", Funnel: "hot"}, reason: "bad_timing",
			want: at("lead"), move: lifecycle.Change{From: "inactive", To: "lead", Cause: "recycle bad_timing"},
		},
		{
			name: "without a recycle section, to the first stage", doc: noRecycle, st: at("sal"), reason: "",
			want: at("new"), move: lifecycle.Change{From: "sal", To: "new", Cause: "recycle "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, move := lifecycle.Recycle(mustParse(t, tt.doc), tt.st, tt.reason)
			if got != tt.want || move != tt.move {
				t.Errorf("Recycle = %+v, %+v; want %+v, %+v", got, move, tt.want, tt.move)
			}
		})
	}
}

func TestFurther(t *testing.T) {
	a := mustParse(t, terms)
	tests := []struct {
		name string
		x, y lifecycle.State
		want lifecycle.State
	}{
		{"the second is further", at("mql"), at("sal"), at("sal")},
		{"the first is further", at("sql"), at("lead"), at("sql")},
		{"a tie keeps the first", at("mql"), lifecycle.State{Stage: "inactive", Funnel: "mql"}, at("mql")},
		{"a detour counts by its funnel stage", lifecycle.State{Stage: "inactive", Funnel: "hot"}, at("mql"), lifecycle.State{Stage: "inactive", Funnel: "hot"}},
		{"any stage beats none", lifecycle.State{}, at("lead"), at("lead")},
		{"any stage beats a removed one", at("nurture"), at("lead"), at("lead")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lifecycle.Further(a, tt.x, tt.y); got != tt.want {
				t.Errorf("Further(%+v, %+v) = %+v, want %+v", tt.x, tt.y, got, tt.want)
			}
		})
	}
}

// TestRemovedDetourReturnsToFunnel: a contact that cooled from MQL into a detour which
// a new version drops goes back to MQL, not to the top of the funnel.
func TestRemovedDetourReturnsToFunnel(t *testing.T) {
	a, err := agreement.Parse([]byte(`name: t
timezone: UTC
scoring: { fit: { rules: [{ name: f, when: 'contact.free_email', points: 1 }] } }
stages:
  - { key: lead, meaning: "Known" }
  - { key: mql, meaning: "Qualified", enter_when: 'score.fit >= 20' }
`))
	if err != nil {
		t.Fatal(err)
	}
	st, changes := lifecycle.Evaluate(a, lifecycle.State{Stage: "inactive", Funnel: "mql"}, &agreement.Facts{}, "agreement v2")
	if st != (lifecycle.State{Stage: "mql", Funnel: "mql"}) || len(changes) != 1 || changes[0] != (lifecycle.Change{From: "inactive", To: "mql", Cause: "agreement v2"}) {
		t.Errorf("got %+v after %+v; want back in mql, moved once by agreement v2", st, changes)
	}
}
