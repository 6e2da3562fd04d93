package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A contact's scored_version labels the version its score columns were computed under.
// A rescore used to write the label of every contact it found unchanged: the rows of a
// store rewritten whole for a version that moved a few scores, the pages of every row
// dirtied on SQLite, and on PostgreSQL a dead copy of every row left for the vacuum (a
// million per rescore of the 1 M contact demo, which autovacuum did not clear between
// activations, and the rescores after slowed by a fifth or more).
//
// Now a rescore leaves an unchanged contact's row alone. When it ends, every contact it
// did not write holds the score the version gives it, whatever its label says, so the
// version notes the labels it found (agreements.carried): under the version, a contact
// labelled with one of them is as current as one labelled with the version itself.
// Before the rescore ends such a contact is stale, as any not reached yet is, and ingest
// scores it afresh.
//
// Only one version has a list, the one whose rescore ended last: every label other than
// its own is in it. A version activated after it leaves the list in place, since its
// rescore carries scores over from that version (a label in the list stands for it).
// Activating the listed version again, or rescoring it by hand, starts a new reckoning:
// its own label and those in its list are reset to 0 (unscored), as its own alone was.
// Label 0 is never listed: a rescore writes the label of an unchanged unscored contact.

// carriedIn returns the version with a list of carried labels and the list, 0 and nil if
// none has one.
func carriedIn(ctx context.Context, q querier) (int, []int, error) {
	var (
		version int
		list    string
	)
	err := q.QueryRowContext(ctx, `SELECT version, carried FROM agreements WHERE carried <> '' ORDER BY version LIMIT 1`).Scan(&version, &list)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("carried labels: %w", err)
	}
	labels, err := parseLabels(list)
	if err != nil {
		return 0, nil, fmt.Errorf("carried labels of version %d: %w", version, err)
	}
	return version, labels, nil
}

func parseLabels(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func formatLabels(labels []int) string {
	var b strings.Builder
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(l))
	}
	return b.String()
}

// labelsIn is an SQL IN list of labels, which are numbers.
func labelsIn(labels []int) string { return "(" + formatLabels(labels) + ")" }

// current reports whether a contact labelled with version label holds the score a gives
// it.
func (a *active) current(label int) bool {
	return label == a.version || slices.Contains(a.carried, label)
}

// resetLabels marks unscored, in a rescore's first transaction, the contacts that are
// to be scored afresh under version: those labelled with it, and, if it is the version
// with the list, those labelled as it carried. If version is a label in the list (a
// version activated again after a later one's rescore left its rows alone), its rows
// take the listed version's label instead. Others keep their labels for the rescore to
// carry over from.
func resetLabels(ctx context.Context, tx *sql.Tx, version int) error {
	from, labels, err := carriedIn(ctx, tx)
	if err != nil {
		return err
	}
	reset := []int{version}
	switch {
	case from == version:
		reset = append(reset, labels...)
		if _, err := tx.ExecContext(ctx, `UPDATE agreements SET carried = '' WHERE version = $1`, from); err != nil {
			return fmt.Errorf("start rescore: %w", err)
		}
	case slices.Contains(labels, version):
		// Rows left with the label hold the listed version's scores: they take its
		// label, for the rescore to carry over from, and the label leaves the list.
		// (Marking them unscored would have the rescore read every event.)
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET scored_version = $1 WHERE scored_version = $2`, from, version); err != nil {
			return fmt.Errorf("start rescore: %w", err)
		}
		labels = slices.DeleteFunc(labels, func(l int) bool { return l == version })
		if _, err := tx.ExecContext(ctx, `UPDATE agreements SET carried = $1 WHERE version = $2`, formatLabels(labels), from); err != nil {
			return fmt.Errorf("start rescore: %w", err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE contacts SET scored_version = 0 WHERE scored_version IN `+labelsIn(reset)); err != nil {
		return fmt.Errorf("start rescore: %w", err)
	}
	return nil
}

// settleLabels records, in the transaction that ends version's rescore, that contacts
// with any of labels (those the rescore found, other than 0 and its own) hold the
// version's scores.
func settleLabels(ctx context.Context, tx *sql.Tx, version int, labels []int) error {
	labels = slices.DeleteFunc(slices.Clone(labels), func(l int) bool { return l == 0 || l == version })
	slices.Sort(labels)
	labels = slices.Compact(labels)
	if _, err := tx.ExecContext(ctx, `UPDATE agreements SET carried = '' WHERE carried <> '' AND version <> $1`, version); err != nil {
		return fmt.Errorf("finish rescore: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE agreements SET carried = $1 WHERE version = $2`, formatLabels(labels), version); err != nil {
		return fmt.Errorf("finish rescore: %w", err)
	}
	return nil
}
