package agreement

import (
	"sync"

	"github.com/expr-lang/expr/vm"
)

// Rules are written in expr (github.com/expr-lang/expr): it is typed against the
// structs below, so a misspelt field or a comparison of a number with a string is
// refused when the agreement is saved, with a line and column; it cannot loop, call out
// or touch anything but the values it is given; and one evaluation with a reused VM
// costs about a tenth of a microsecond and no allocation, which matters because rules
// run inside every ingest commit. CEL was measured too: two to three times slower, with
// a larger dependency tree.

// Event is what an engagement rule's `when` sees: one activity message.
type Event struct {
	Type       string         `expr:"type"`
	Event      string         `expr:"event"` // a track call's event name
	Name       string         `expr:"name"`  // a page or screen name
	Properties map[string]any `expr:"properties"`
	Context    map[string]any `expr:"context"`
}

// Contact is what rules see of a person beyond their traits.
type Contact struct {
	Email     string `expr:"email"`
	Domain    string `expr:"domain"`
	FreeEmail bool   `expr:"free_email"`
}

// Account is what rules see of a person's company.
type Account struct {
	Name      string         `expr:"name"`
	Domain    string         `expr:"domain"`
	Industry  string         `expr:"industry"`
	Owner     string         `expr:"owner"`
	Employees float64        `expr:"employees"`
	Revenue   float64        `expr:"revenue"`
	Traits    map[string]any `expr:"traits"`
}

// Profile is what a fit rule sees: who a person is.
type Profile struct {
	Contact Contact        `expr:"contact"`
	Traits  map[string]any `expr:"traits"`
	Account Account        `expr:"account"`
}

// Score is a contact's current scores; Engagement is decayed to the time of evaluation.
type Score struct {
	Fit        float64 `expr:"fit"`
	Engagement float64 `expr:"engagement"`
	Total      float64 `expr:"total"`
}

// Facts is what a stage rule or a routing rule sees: the profile, the scores and the
// current stage.
type Facts struct {
	Contact Contact        `expr:"contact"`
	Traits  map[string]any `expr:"traits"`
	Account Account        `expr:"account"`
	Score   Score          `expr:"score"`
	Grade   string         `expr:"grade"`
	Stage   string         `expr:"stage"`
}

// Expr is a compiled rule expression.
type Expr struct {
	// Source is the expression as written; Line and Column are where it starts in the
	// document.
	Source       string
	Line, Column int
	program      *vm.Program
	// roots are the top-level names the expression reads, such as "traits" or "score".
	roots map[string]bool
	// needles, if set, is text the event holds whenever the expression does.
	needles *Needles
}

var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Eval runs the expression against env, which must be the struct type it was compiled
// for. A rule that fails at run time (a trait that is missing, a regular expression
// applied to a number) does not hold.
func (e *Expr) Eval(env any) bool {
	m := vms.Get().(*vm.VM)
	out, err := m.Run(e.program, env)
	vms.Put(m)
	if err != nil {
		return false
	}
	b, _ := out.(bool)
	return b
}

// Uses reports whether the expression reads the top-level name root, so that callers
// can skip loading what no rule looks at.
func (e *Expr) Uses(root string) bool {
	return e != nil && e.roots[root]
}

// MarshalText returns the expression as written, so that a compiled agreement encodes
// to readable JSON.
func (e *Expr) MarshalText() ([]byte, error) {
	return []byte(e.Source), nil
}
