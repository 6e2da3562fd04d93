// Package routing decides who gets a qualified lead: the agreement's routes in order
// (account owner, territory rules, named reps, weighted round robin within a team),
// honouring each rep's availability and daily cap. The engine is pure: the caller brings
// the reps as they are now and the teams' round-robin state, and persists the state
// Decide leaves behind in the transaction that records the assignment.
package routing

import (
	"fmt"

	"tandem/agreement"
)

// Rep is a sales rep as routing sees them now.
type Rep struct {
	Email string
	// Available is false when the rep is out of office or inactive; the caller decides
	// it from schedules.
	Available bool
	// Cap is the most leads the rep takes per day; zero means no cap.
	Cap int
	// AssignedToday is how many leads the rep has been given today, by any route. The
	// caller counts it and resets it at the start of each day; Decide never changes it.
	AssignedToday int
}

// Decision is who gets the lead and why.
type Decision struct {
	// Rep is the email of the rep who gets the lead, empty when nobody could take it.
	Rep string
	// Route is the name of the route that chose, "fallback", or empty when nobody
	// could take the lead.
	Route string
	// Reason says in plain words why Rep got the lead, or why nobody did.
	Reason string
	// Skipped lists, in the order they were met, the reps passed over and why (for a
	// round robin, every member who could not take the lead, whether or not it was
	// their turn), and the routes whose rule held but that could not assign.
	Skipped []string
	// Team is the team whose round-robin rotation Decide advanced, which the caller
	// persists; empty when no round robin chose.
	Team string
}

// Fallback is the Route of a decision no route made.
const Fallback = "fallback"

// Decide routes one lead whose facts are f. Routes are tried in the agreement's order;
// the first whose rule holds (a route without one always holds) and that finds a rep
// who can take the lead decides. A route whose rule holds but that cannot assign (the
// account owner or named rep is unavailable or at their cap, a lead without an account
// owner, a team with nobody available) does not decide: the lead goes on to the next
// route, and the skip is recorded in Skipped. When no route decides, fallback gets the
// lead if it can take it; otherwise nobody does and Rep is empty.
//
// accountOwner is the email of the owner of the lead's account, usually
// f.Account.Owner; empty when there is none. reps holds every rep Decide may name,
// keyed by email as the agreement and accountOwner write it, the fallback included:
// a rep missing from it cannot take leads. A rep can take a lead when Available and
// below their Cap.
//
// Decide advances st when a round robin chooses (see State) and changes nothing else;
// the same agreement, inputs and state always give the same decision. It is not safe
// for concurrent use with the same st: callers sharing rotations across processes
// load and store the team's rotation in the assignment's transaction (with a row lock
// or a version check and retry), so that no two nodes give away the same turn.
func Decide(a *agreement.Agreement, f *agreement.Facts, accountOwner string, reps map[string]Rep, st *State, fallback string) Decision {
	if f == nil {
		f = &agreement.Facts{}
	}
	if st == nil {
		st = &State{}
	}
	var d Decision
	for _, r := range a.Routing {
		if r.When != nil && !r.When.Eval(f) {
			continue
		}
		switch as := r.Assign; {
		case as.AccountOwner:
			if accountOwner == "" {
				d.skip("no account owner (route %s)", r.Name)
				continue
			}
			if why := unable(reps, accountOwner); why != "" {
				d.skip("%s: %s (account owner, route %s)", accountOwner, why, r.Name)
				continue
			}
			return d.to(accountOwner, r.Name, "account owner "+accountOwner)
		case as.Rep != "":
			if why := unable(reps, as.Rep); why != "" {
				d.skip("%s: %s (route %s)", as.Rep, why, r.Name)
				continue
			}
			return d.to(as.Rep, r.Name, "rep "+as.Rep)
		case as.RoundRobin != "":
			t := team(a, as.RoundRobin)
			if t == nil {
				d.skip("team %s is not in the agreement (route %s)", as.RoundRobin, r.Name)
				continue
			}
			if rep, reason := st.turn(t, reps, r.Name, &d); rep != "" {
				d.Team = t.Name
				return d.to(rep, r.Name, reason)
			}
		}
	}
	const none = "no route could assign"
	switch why := unable(reps, fallback); {
	case fallback == "":
		d.Reason = "nobody available: " + none + " and there is no fallback"
	case why != "":
		d.skip("%s: %s (fallback)", fallback, why)
		d.Reason = "nobody available: " + none + " and fallback " + fallback + " is " + why
	default:
		return d.to(fallback, Fallback, "fallback "+fallback+": "+none)
	}
	return d
}

func (d *Decision) skip(format string, args ...any) {
	d.Skipped = append(d.Skipped, fmt.Sprintf(format, args...))
}

func (d Decision) to(rep, route, reason string) Decision {
	d.Rep, d.Route, d.Reason = rep, route, reason
	return d
}

// unable says why the rep with this email cannot take a lead now, or returns "" when
// they can.
func unable(reps map[string]Rep, email string) string {
	r, ok := reps[email]
	switch {
	case !ok:
		return "not a known rep"
	case !r.Available:
		return "unavailable"
	case r.Cap > 0 && r.AssignedToday >= r.Cap:
		return fmt.Sprintf("at daily cap (%d of %d)", r.AssignedToday, r.Cap)
	}
	return ""
}

func team(a *agreement.Agreement, name string) *agreement.Team {
	for _, t := range a.Teams {
		if t.Name == name {
			return t
		}
	}
	return nil
}
