package agreement

import (
	"fmt"
	"strings"
)

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// maxDiffCells bounds the work of the line matching. Agreements are a few hundred lines,
// far below it; past it, the changed middle of two documents is shown as removed and
// added whole rather than spending quadratic memory on it.
const maxDiffCells = 16 << 20

// Diff returns the lines that differ between two documents as unified diff hunks: each
// starts with an "@@ -l,n +l,n @@" header and shows its lines prefixed by " " (both),
// "-" (only in a) or "+" (only in b), with three lines of context. Identical documents
// give "". The caller adds any "---"/"+++" header. A missing newline at the end of a
// document is not reported as a difference.
func Diff(a, b string) string {
	ops := diffLines(splitLines(a), splitLines(b))
	var out strings.Builder
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk runs from context before this change through every later change
		// separated from the previous one by no more than two contexts of equal lines,
		// since their contexts would touch.
		start := max(0, i-diffContext)
		end := i
		for j := i; j < len(ops); j++ {
			if ops[j].kind == ' ' {
				continue
			}
			if j-end-1 > 2*diffContext {
				break
			}
			end = j
		}
		stop := min(len(ops), end+1+diffContext)
		writeHunk(&out, ops[start:stop])
		i = stop
	}
	return out.String()
}

// diffOp is one line of an edit script: kind ' ' keeps a line, '-' removes a line of a,
// '+' adds a line of b. aLine and bLine count the lines of a and b before it.
type diffOp struct {
	kind         byte
	text         string
	aLine, bLine int
}

func writeHunk(out *strings.Builder, ops []diffOp) {
	var aCount, bCount int
	for _, op := range ops {
		if op.kind != '+' {
			aCount++
		}
		if op.kind != '-' {
			bCount++
		}
	}
	// An empty range is numbered by the line it follows, as diff -u does.
	aStart, bStart := ops[0].aLine, ops[0].bLine
	if aCount > 0 {
		aStart++
	}
	if bCount > 0 {
		bStart++
	}
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", aStart, aCount, bStart, bCount)
	for _, op := range ops {
		out.WriteByte(op.kind)
		out.WriteString(op.text)
		out.WriteByte('\n')
	}
}

// splitLines splits a document into lines, not counting a final newline as the start of
// another line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// diffLines is a longest-common-subsequence line diff. The common head and tail are
// matched directly, so the quadratic table only covers the lines around the changes.
func diffLines(a, b []string) []diffOp {
	var head int
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	var tail int
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	midA, midB := a[head:len(a)-tail], b[head:len(b)-tail]

	ops := make([]diffOp, 0, len(a)+len(b)-head-tail)
	var i, j int // lines of a and b consumed
	keep := func(text string) {
		ops = append(ops, diffOp{kind: ' ', text: text, aLine: i, bLine: j})
		i++
		j++
	}
	remove := func(text string) {
		ops = append(ops, diffOp{kind: '-', text: text, aLine: i, bLine: j})
		i++
	}
	add := func(text string) {
		ops = append(ops, diffOp{kind: '+', text: text, aLine: i, bLine: j})
		j++
	}

	for _, line := range a[:head] {
		keep(line)
	}
	n, m := len(midA), len(midB)
	if (n+1)*(m+1) > maxDiffCells {
		for _, line := range midA {
			remove(line)
		}
		for _, line := range midB {
			add(line)
		}
	} else {
		// lcs[x*(m+1)+y] is the length of the longest common subsequence of midA[x:]
		// and midB[y:].
		lcs := make([]int32, (n+1)*(m+1))
		for x := n - 1; x >= 0; x-- {
			for y := m - 1; y >= 0; y-- {
				if midA[x] == midB[y] {
					lcs[x*(m+1)+y] = lcs[(x+1)*(m+1)+y+1] + 1
				} else {
					lcs[x*(m+1)+y] = max(lcs[(x+1)*(m+1)+y], lcs[x*(m+1)+y+1])
				}
			}
		}
		x, y := 0, 0
		for x < n && y < m {
			switch {
			case midA[x] == midB[y]:
				keep(midA[x])
				x++
				y++
			case lcs[(x+1)*(m+1)+y] >= lcs[x*(m+1)+y+1]:
				// Removals come before additions, so a changed line reads - then +.
				remove(midA[x])
				x++
			default:
				add(midB[y])
				y++
			}
		}
		for ; x < n; x++ {
			remove(midA[x])
		}
		for ; y < m; y++ {
			add(midB[y])
		}
	}
	for _, line := range a[len(a)-tail:] {
		keep(line)
	}
	return ops
}
