package routing

import (
	"fmt"

	"tandem/agreement"
)

// State is the round-robin state of the agreement's teams: each member's place in
// their team's rotation. The caller persists it between decisions and shares it across
// processes; one row per team is enough, as a decision changes at most one team's
// Rotation (Decision.Team), which Decide replaces rather than edits. It encodes to
// JSON and back without loss.
//
// A member's pass is the leads they got from the team divided by their weight; the
// next lead goes to the member with the lowest pass among those who can take it, the
// earlier in the team's list on a tie. Turns interleave (with weights 2 and 1: alice,
// bob, alice, alice, bob, alice, …) and while everyone is available no member is ever
// more than one lead ahead of their share of the team's leads by weight, nor more than
// members·weight/total behind it, as each pass stays within 1/weight of the lowest. So 300
// leads at weights 2 and 1 go 200 and 100.
//
// Absence banks no credit. When a member is skipped (unavailable or at their cap),
// their pass is lifted to the lowest pass among the members who could take the lead,
// after the pick: back from a week off or a capped day, they resume level with the
// team's least-served member and take their share from then on, instead of every lead
// until their count caught up. A pass is never lowered, so a member who was ahead when
// they left is still ahead when they return.
//
// New versions of the agreement may change teams. A member new to a team starts
// level with its lowest pass, not at zero, which would give them a burst; a member no
// longer in the team is forgotten at its next pick, and starts level if they come
// back. A changed weight applies to the leads that follow: the pass is kept, so the
// change causes no burst either.
type State struct {
	Teams map[string]Rotation `json:"teams"`
}

// Rotation is one team's round-robin state, keyed by member email.
type Rotation map[string]Credit

// Credit is a member's place in a team's rotation.
type Credit struct {
	// Pass is the leads the member got from the team divided by their weight, lifted
	// while they were skipped; the lowest pass goes next.
	Pass float64 `json:"pass"`
	// Leads is how many leads the member got from the team's round robin.
	Leads int `json:"leads"`
}

// tie is the difference under which two passes count as equal, so that rounding in
// sums of 1/weight does not take a turn that member order should give.
const tie = 1e-9

// turn picks the member of t who gets the lead, records the skipped members in d and
// advances t's rotation. It returns the member and the reason, or "" when nobody in t
// can take the lead, and then leaves the rotation as it was.
func (st *State) turn(t *agreement.Team, reps map[string]Rep, route string, d *Decision) (rep, reason string) {
	rot := st.Teams[t.Name]
	start, known := 0.0, false // the pass of members new to the team
	for _, m := range t.Members {
		if c, ok := rot[m.Rep]; ok && (!known || c.Pass < start) {
			start, known = c.Pass, true
		}
	}
	pass := func(m agreement.Member) float64 {
		if c, ok := rot[m.Rep]; ok {
			return c.Pass
		}
		return start
	}

	next, nextPass := -1, 0.0
	for i, m := range t.Members {
		if !can(reps, m.Rep) {
			d.skip("%s: %s (team %s, route %s)", m.Rep, unable(reps, m.Rep), t.Name, route)
			continue
		}
		if p := pass(m); next < 0 || p < nextPass-tie {
			next, nextPass = i, p
		}
	}
	if next < 0 {
		d.skip("team %s: nobody available (route %s)", t.Name, route)
		return "", ""
	}

	out := make(Rotation, len(t.Members))
	floor, total := -1.0, 0 // floor is the lowest pass among those who could take the lead
	for i, m := range t.Members {
		c := Credit{Pass: pass(m), Leads: rot[m.Rep].Leads}
		if i == next {
			c.Pass += 1 / float64(max(m.Weight, 1))
			c.Leads++
		}
		if can(reps, m.Rep) && (floor < 0 || c.Pass < floor) {
			floor = c.Pass
		}
		out[m.Rep] = c
		total += c.Leads
	}
	for _, m := range t.Members {
		if c := out[m.Rep]; !can(reps, m.Rep) && c.Pass < floor {
			c.Pass = floor
			out[m.Rep] = c
		}
	}
	if st.Teams == nil {
		st.Teams = make(map[string]Rotation)
	}
	st.Teams[t.Name] = out

	m := t.Members[next]
	return m.Rep, fmt.Sprintf("round robin %s: %s (weight %d, served %d of %d)",
		t.Name, m.Rep, max(m.Weight, 1), out[m.Rep].Leads, total)
}

// can reports whether the rep with this email can take a lead now; unable says why not.
func can(reps map[string]Rep, email string) bool {
	r, ok := reps[email]
	return ok && r.Available && (r.Cap <= 0 || r.AssignedToday < r.Cap)
}
