// Package lifecycle moves contacts through the agreement's stages. Funnel stages are
// entered forward only, by their rules or by sales actions; detour stages (inactive,
// disqualified) are entered when their rule holds and left when it stops holding, back to
// the funnel stage the contact was in. Moving back along the funnel is a recycle, which
// the handoff records as such. The engine is pure: it takes the agreement, a contact's
// state and facts, and returns the moves.
package lifecycle

import (
	"fmt"

	"tandem/agreement"
)

// State is where a contact stands.
type State struct {
	// Stage is the current stage, empty before the contact entered any.
	Stage string
	// Funnel is the furthest funnel stage reached: Stage itself unless Stage is a
	// detour, whose leaving returns the contact to Funnel.
	Funnel string
}

// Change is one move between stages.
type Change struct {
	From, To string
	Cause    string
}

// Evaluate applies the agreement's stage rules to a contact whose facts are f and
// returns its new state and the moves that led there, oldest first. f.Stage is set by
// Evaluate as it goes. cause, when not empty, replaces the rule as the cause recorded
// (a rescore records the agreement version that caused the move).
func Evaluate(a *agreement.Agreement, st State, f *agreement.Facts, cause string) (State, []Change) {
	var changes []Change
	move := func(to, why string, detour bool) {
		if cause != "" {
			why = cause
		}
		changes = append(changes, Change{From: st.Stage, To: to, Cause: why})
		st.Stage = to
		if !detour {
			st.Funnel = to
		}
	}
	funnel := funnelIndex(a, st.Funnel)
	gone := ""
	switch {
	case st.Stage != "" && a.Stage(st.Stage) == nil:
		gone = st.Stage
	case st.Funnel != "" && a.Stage(st.Funnel) == nil:
		// A detour that is still there would be left for a funnel stage that is not.
		gone = st.Funnel
	}
	if gone != "" && gone == st.Stage && st.Funnel != st.Stage && a.Stage(st.Funnel) != nil {
		// Only the detour it was in is gone: it returns to its funnel stage.
		move(st.Funnel, "stage "+gone+" removed", false)
		gone = ""
	}
	if gone != "" {
		// The contact's stage is gone from a new version of the agreement: it starts
		// again from the top, and the rules put it where it belongs now.
		st.Funnel, funnel = "", -1
		if s := first(a); s != nil {
			move(s.Key, "stage "+gone+" removed", false)
			funnel = funnelIndex(a, s.Key)
		}
	}
	if st.Stage == "" {
		if s := first(a); s != nil && s.EnterWhen == nil && s.EnterOn == "" {
			move(s.Key, "created", false)
			funnel = funnelIndex(a, s.Key)
		}
	}
	f.Stage = st.Stage
	if d := a.Stage(st.Stage); d != nil && d.Detour {
		// The rule was written for entering the detour from the funnel, so it is asked
		// again as it was then: with the funnel stage as the stage.
		f.Stage = st.Funnel
		held := d.EnterWhen.Eval(f)
		f.Stage = st.Stage
		if held {
			return st, changes
		}
		back := st.Funnel
		changes = append(changes, Change{From: st.Stage, To: back, Cause: orCause(cause, "left "+d.Key)})
		st.Stage = back
		f.Stage = back
	}
	// Forward: the furthest rule stage beyond the current one whose rule holds.
	for i := len(a.Stages) - 1; i >= 0; i-- {
		s := a.Stages[i]
		if s.Detour || s.EnterWhen == nil || funnelIndex(a, s.Key) <= funnel {
			continue
		}
		if s.EnterWhen.Eval(f) {
			move(s.Key, "rule "+s.Key, false)
			f.Stage = s.Key
			return st, changes
		}
	}
	if st.Stage == "" {
		return st, changes
	}
	for _, s := range a.Stages {
		if s.Detour && s.EnterWhen != nil && s.EnterWhen.Eval(f) {
			move(s.Key, "rule "+s.Key, true)
			f.Stage = s.Key
			break
		}
	}
	return st, changes
}

// Act applies a sales action ("accept", "qualify", "opportunity_created",
// "opportunity_won") and returns the move to the stage it enters. An action that would
// move the contact backwards, or that no stage is entered on, changes nothing.
func Act(a *agreement.Agreement, st State, action string) (State, *Change, error) {
	var target *agreement.Stage
	for _, s := range a.Stages {
		// An empty action would match every stage that no action enters.
		if s.EnterOn != "" && s.EnterOn == action {
			target = s
		}
	}
	if target == nil {
		return st, nil, fmt.Errorf("no stage of the agreement is entered on %q", action)
	}
	// From a detour, an action may enter the funnel stage the contact left, but not
	// one behind it: that would be a recycle.
	to, from := funnelIndex(a, target.Key), funnelIndex(a, st.Funnel)
	if to < from || to == from && st.Stage == st.Funnel {
		return st, nil, nil
	}
	c := &Change{From: st.Stage, To: target.Key, Cause: "action " + action}
	return State{Stage: target.Key, Funnel: target.Key}, c, nil
}

// Recycle moves a contact back to the agreement's recycle stage for a reason.
func Recycle(a *agreement.Agreement, st State, reason string) (State, Change) {
	to := a.Recycle.To
	return State{Stage: to, Funnel: to}, Change{From: st.Stage, To: to, Cause: "recycle " + reason}
}

func orCause(cause, why string) string {
	if cause != "" {
		return cause
	}
	return why
}

// first is the first funnel stage.
func first(a *agreement.Agreement) *agreement.Stage {
	for _, s := range a.Stages {
		if !s.Detour {
			return s
		}
	}
	return nil
}

// funnelIndex is the position of stage k among the funnel stages, -1 for none.
func funnelIndex(a *agreement.Agreement, k string) int {
	i := 0
	for _, s := range a.Stages {
		if s.Detour {
			continue
		}
		if s.Key == k {
			return i
		}
		i++
	}
	return -1
}

// Further returns whichever of two states has reached further along the funnel: when
// two contacts turn out to be one person, the person keeps the further stage.
func Further(a *agreement.Agreement, x, y State) State {
	if funnelIndex(a, y.Funnel) > funnelIndex(a, x.Funnel) {
		return y
	}
	return x
}
