package agreement

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a document.
type Error struct {
	// Rule is the rule or stage the problem is in ("pricing visit", "stage mql"), or
	// else the path of the field ("scoring.engagement.half_life", "timezone").
	Rule string `json:"rule"`
	// Line and Column are 1-based, in the submitted document.
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Error formats the problem as "line:col: rule: message".
func (e Error) Error() string {
	return fmt.Sprintf("%d:%d: %s: %s", e.Line, e.Column, e.Rule, e.Message)
}

// Errors is every problem Parse found in a document, in document order.
type Errors []Error

// Error lists the problems one a line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sort puts the problems in document order. It is stable so that two problems at one
// place keep the order they were found in.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
