// Package agreement reads the document in which marketing and sales write down their
// common terms: how leads are scored, what each funnel stage means, who gets which lead
// and what each team promises the other. Parse checks a whole document at once and
// compiles its rules, so a bad rule is refused when it is saved, never when it runs.
package agreement

import (
	"time"

	"tandem/attribution"
)

// Agreement is a parsed, validated and compiled agreement document.
type Agreement struct {
	Name     string         `json:"name"`
	Timezone *time.Location `json:"-"`
	// TimezoneName is the IANA name Timezone was loaded from, such as America/New_York.
	TimezoneName string        `json:"timezone"`
	Hours        BusinessHours `json:"business_hours"`
	Scoring      Scoring       `json:"scoring"`
	// Stages are in funnel order; detour stages are among them where the document put
	// them but are never part of the forward path.
	Stages  []*Stage `json:"stages"`
	Recycle Recycle  `json:"recycle"`
	Teams   []*Team  `json:"teams"`
	Routing []*Route `json:"routing"`
	SLA     SLA      `json:"sla"`
	// Attribution is how revenue is credited to the campaigns that touched a deal.
	Attribution Attribution `json:"attribution"`
}

// Attribution is how the agreement credits revenue to campaigns: the model reports lead
// with, the touches that count (before the deal's creation or close, within the
// lookback) and every model's weights.
type Attribution struct {
	Model    attribution.Kind `json:"model"`
	Cutoff   string           `json:"cutoff"`
	Lookback time.Duration    `json:"lookback"`
	// Models has every kind of model, with the agreement's weights where it sets them.
	Models map[attribution.Kind]attribution.Model `json:"-"`
}

// DefaultAttribution is attribution as an agreement that says nothing of it has it:
// W-shaped, touches before the deal's creation, no lookback, every model's default
// weights.
func DefaultAttribution() Attribution {
	a := Attribution{Model: attribution.WShaped, Cutoff: attribution.CutoffCreated,
		Models: map[attribution.Kind]attribution.Model{}}
	for _, k := range attribution.Kinds {
		a.Models[k] = attribution.Default(k)
	}
	return a
}

// BusinessHours is the calendar that SLA clocks run on.
type BusinessHours struct {
	// Days holds true for each weekday that has working hours.
	Days [7]bool `json:"days"`
	// Open and Close are offsets from local midnight.
	Open  time.Duration `json:"open"`
	Close time.Duration `json:"close"`
	// Holidays are dates ("2006-01-02") in the agreement's timezone with no working hours.
	Holidays []string `json:"holidays"`
}

// Scoring is the lead scoring model: engagement points for what a person does, which
// decay, and fit points for who they are, which do not.
type Scoring struct {
	// HalfLife is the time after which an engagement point counts half; zero means
	// engagement never decays.
	HalfLife   time.Duration     `json:"half_life"`
	Engagement []*EngagementRule `json:"engagement"`
	Fit        []*FitRule        `json:"fit"`
	// Grades are fit thresholds, highest first. A fit below every threshold gets
	// Fallback.
	Grades   []Grade `json:"grades"`
	Fallback string  `json:"fallback"`
}

// EngagementRule gives points for an event.
type EngagementRule struct {
	Name string `json:"name"`
	// Type is the event type the rule listens to: track, page, screen, identify or group.
	Type string `json:"type"`
	// Event, when set, narrows the rule to track events of that name, or to pages or
	// screens of that name.
	Event string `json:"event"`
	// When, when set, must hold for the event; its environment is Event.
	When   *Expr   `json:"when,omitempty"`
	Points float64 `json:"points"`
	Cap    Cap     `json:"cap"`
}

// Cap limits how often a rule gives points to one contact.
type Cap struct {
	// Times is the number of times the rule may fire per window; zero means no cap.
	Times int `json:"times"`
	// Per is the window, starting at the first firing; zero means ever.
	Per time.Duration `json:"per"`
}

// FitRule gives points for who a person is; its environment is Profile.
type FitRule struct {
	Name   string  `json:"name"`
	When   *Expr   `json:"when,omitempty"`
	Points float64 `json:"points"`
}

// Grade is a letter given to contacts whose fit is at least Min.
type Grade struct {
	Letter string  `json:"letter"`
	Min    float64 `json:"min"`
}

// Stage is one lifecycle stage: the common meaning of a word like "MQL".
type Stage struct {
	Key     string `json:"key"`
	Meaning string `json:"meaning"`
	// EnterWhen, when set, moves a contact into the stage as soon as it holds; its
	// environment is Facts.
	EnterWhen *Expr `json:"enter_when,omitempty"`
	// EnterOn, when set, is the sales action that moves a contact into the stage: one of
	// Actions.
	EnterOn string `json:"enter_on,omitempty"`
	// Detour stages (inactive, disqualified) sit beside the funnel: a contact enters one
	// by its rule and leaves it when the rule stops holding.
	Detour bool `json:"detour"`
	// EngagementBelow is, for a detour stage entered by decay, the engagement bound
	// its rule states as a top-level conjunct: score.engagement < N, or <= N, which
	// gives N too. A periodic job finds contacts that cooled to it with an index range
	// query (engagement <= EngagementBelow, so both forms are covered) and lets the
	// rule decide. Zero when the rule does not bound engagement.
	EngagementBelow float64 `json:"engagement_below"`
	// EnterFrom is, for a detour, the funnel stages its rule requires the contact to be
	// in (stage == "mql", stage in [...]), so the decay job reads only those; nil when
	// the rule does not say.
	EnterFrom []string `json:"enter_from,omitempty"`
}

// Actions are the sales actions a stage may be entered on.
var Actions = []string{"accept", "qualify", "opportunity_created", "opportunity_won"}

// Recycle says where a lead a rep rejected goes back to, and the reasons a rep may give.
type Recycle struct {
	To      string   `json:"to"`
	Reasons []string `json:"reasons"`
}

// Team is a named group of reps that leads are distributed across.
type Team struct {
	Name    string   `json:"name"`
	Members []Member `json:"members"`
}

// Member is a rep in a team. Weight is their share in round robin, at least 1.
type Member struct {
	Rep    string `json:"rep"`
	Weight int    `json:"weight"`
}

// Route is one routing rule; the first whose When holds (or that has none) assigns.
// Its environment is Facts.
type Route struct {
	Name   string `json:"name"`
	When   *Expr  `json:"when,omitempty"`
	Assign Assign `json:"assign"`
}

// Assign is who a route assigns to: exactly one field is set.
type Assign struct {
	AccountOwner bool   `json:"account_owner,omitempty"`
	RoundRobin   string `json:"round_robin,omitempty"` // a team name
	Rep          string `json:"rep,omitempty"`
}

// SLA holds each team's promise to the other.
type SLA struct {
	Sales     SalesSLA     `json:"sales"`
	Marketing MarketingSLA `json:"marketing"`
}

// SalesSLA is sales' promise: how fast an assigned lead is accepted or rejected and
// first touched, in business time.
type SalesSLA struct {
	AcceptWithin     time.Duration `json:"accept_within"`
	FirstTouchWithin time.Duration `json:"first_touch_within"`
	// WarnBefore is how long before a deadline a warning goes out; zero for none.
	WarnBefore time.Duration `json:"warn_before"`
	// OnBreach is "reassign" or "escalate".
	OnBreach string `json:"on_breach"`
	// EscalateTo is the manager told when OnBreach is "escalate".
	EscalateTo string `json:"escalate_to,omitempty"`
}

// MarketingSLA is marketing's promise: qualified leads per period, and turnaround on
// sales' requests per request type, in business time.
type MarketingSLA struct {
	MQLTarget         Target                   `json:"mql_target"`
	RequestTurnaround map[string]time.Duration `json:"request_turnaround"`
}

// Target is a number of MQLs per period ("month" or "quarter").
type Target struct {
	Per   string `json:"per"`
	Count int    `json:"count"`
}

// Stage returns the stage with key k, or nil.
func (a *Agreement) Stage(k string) *Stage {
	for _, s := range a.Stages {
		if s.Key == k {
			return s
		}
	}
	return nil
}

// Grade returns the grade of a fit score.
func (s *Scoring) Grade(fit float64) string {
	for _, g := range s.Grades {
		if fit >= g.Min {
			return g.Letter
		}
	}
	return s.Fallback
}

// Handoff returns the key of the stage whose entry hands a lead to sales (the MQL):
// the funnel stage just before the first stage entered by the accept action. It is
// empty when the agreement has no accept stage or nothing before it.
func (a *Agreement) Handoff() string {
	prev := ""
	for _, s := range a.Stages {
		if s.Detour {
			continue
		}
		if s.EnterOn == "accept" {
			return prev
		}
		prev = s.Key
	}
	return ""
}
