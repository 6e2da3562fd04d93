package csvio

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// Writer writes an export of one object: the header of Header, then one row at a time.
type Writer struct {
	csv   *csv.Writer
	index map[string]int
	row   []string
}

// NewWriter writes the header of an export of o to w.
func NewWriter(w io.Writer, o Object) (*Writer, error) {
	h := Header(o)
	if len(h) == 0 {
		return nil, fmt.Errorf("unknown object %q", o)
	}
	cw := &Writer{csv: csv.NewWriter(w), index: make(map[string]int, len(h)), row: make([]string, len(h))}
	for i, c := range h {
		cw.index[c] = i
	}
	return cw, cw.csv.Write(h)
}

// Set sets a column of the row being written. Text a spreadsheet would run as a formula
// is escaped with an apostrophe, which an import takes off again.
func (w *Writer) Set(column, value string) {
	i, ok := w.index[column]
	if !ok {
		panic("csvio: no export column " + column)
	}
	w.row[i] = escapeCell(value)
}

// WriteRow writes the row and starts the next, blank.
func (w *Writer) WriteRow() error {
	err := w.csv.Write(w.row)
	clear(w.row)
	return err
}

// Flush writes what is buffered and returns the first error met.
func (w *Writer) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}

// ErrorWriter writes a report of the rows an import refused, one line a row: where it
// is, the column and value at fault, and why.
type ErrorWriter struct {
	csv *csv.Writer
}

// NewErrorWriter writes the report's header to w.
func NewErrorWriter(w io.Writer) (*ErrorWriter, error) {
	ew := &ErrorWriter{csv: csv.NewWriter(w)}
	return ew, ew.csv.Write([]string{"row", "line", "column", "value", "error"})
}

// Write adds a row error to the report.
func (w *ErrorWriter) Write(e *RowError) error {
	return w.csv.Write([]string{strconv.Itoa(e.Row), strconv.Itoa(e.Line), escapeCell(e.Column), escapeCell(e.Value), escapeCell(e.Message)})
}

// Flush writes what is buffered and returns the first error met.
func (w *ErrorWriter) Flush() error {
	w.csv.Flush()
	return w.csv.Error()
}
