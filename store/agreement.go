package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"tandem"
	"tandem/agreement"
	"tandem/scoring"
)

const agreementColumns = `version, name, document, format, status, proposed_by, proposed_role, proposed_at,
	COALESCE(approved_by, ''), COALESCE(approved_role, ''), approved_at, activated_at`

func scanAgreement(s interface{ Scan(...any) error }) (*tandem.Agreement, error) {
	var (
		a                   tandem.Agreement
		proposed            int64
		approved, activated sql.NullInt64
	)
	err := s.Scan(&a.Version, &a.Name, &a.Document, &a.Format, &a.Status, &a.ProposedBy, &a.ProposedRole, &proposed,
		&a.ApprovedBy, &a.ApprovedRole, &approved, &activated)
	if err != nil {
		return nil, err
	}
	a.ID = int64(a.Version)
	a.ProposedAt = fromMicros(proposed)
	if approved.Valid {
		t := fromMicros(approved.Int64)
		a.ApprovedAt = &t
	}
	if activated.Valid {
		t := fromMicros(activated.Int64)
		a.ActivatedAt = &t
	}
	return &a, nil
}

// documentFormat tells JSON from YAML by the first character that is not white space.
func documentFormat(doc []byte) string {
	if t := bytes.TrimSpace(doc); len(t) > 0 && t[0] == '{' {
		return "json"
	}
	return "yaml"
}

// ProposeAgreement validates doc and stores it as a new proposed version. A document
// that does not validate is refused with every problem at its line and column.
func (db *DB) ProposeAgreement(ctx context.Context, doc []byte, format string, by tandem.Actor) (*tandem.Agreement, error) {
	if !by.Role.Valid() {
		return nil, tandem.Errorf(tandem.EForbidden, "role %q may not propose an agreement", by.Role)
	}
	if format == "" {
		format = documentFormat(doc)
	}
	if format != "yaml" && format != "json" {
		return nil, tandem.Errorf(tandem.EInvalid, "format %q: want yaml or json", format)
	}
	a, err := ParseAgreement(doc)
	if err != nil {
		return nil, err
	}
	var out *tandem.Agreement
	err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		var v int
		err := tx.QueryRowContext(ctx, `INSERT INTO agreements (name, document, format, status, proposed_by, proposed_role, proposed_at)
			VALUES ($1, $2, $3, 'proposed', $4, $5, $6) RETURNING version`,
			a.Name, string(doc), format, by.Name, string(by.Role), micros(now)).Scan(&v)
		if err != nil {
			return fmt.Errorf("propose agreement: %w", err)
		}
		out, err = agreementIn(ctx, tx, v)
		return err
	})
	return out, err
}

// ParseAgreement parses and validates an agreement document, translating its problems
// into an Unprocessable error that lists each at its line and column.
func ParseAgreement(doc []byte) (*agreement.Agreement, error) {
	a, err := agreement.Parse(doc)
	var errs agreement.Errors
	if errors.As(err, &errs) {
		e := &tandem.Error{Code: tandem.EUnprocessable}
		for _, p := range errs {
			e.Document = append(e.Document, tandem.DocumentError{Rule: p.Rule, Line: p.Line, Column: p.Column, Message: p.Message})
		}
		e.Message = fmt.Sprintf("the agreement has %d problem(s); the first: line %d, column %d: %s", len(errs), errs[0].Line, errs[0].Column, errs[0].Message)
		return nil, e
	}
	if err != nil {
		return nil, tandem.Errorf(tandem.EUnprocessable, "agreement: %v", err)
	}
	return a, nil
}

// ValidateAgreement checks a document as ProposeAgreement would, storing nothing.
func (db *DB) ValidateAgreement(doc []byte) error {
	_, err := ParseAgreement(doc)
	return err
}

// ApproveAgreement makes a proposed version active on behalf of the other team than the
// one that proposed it.
func (db *DB) ApproveAgreement(ctx context.Context, version int, by tandem.Actor) (*tandem.Agreement, error) {
	return db.activate(ctx, version, by, func(a *tandem.Agreement) error {
		if a.Status != tandem.AgreementProposed {
			return tandem.Errorf(tandem.EConflict, "version %d is %s, not proposed", version, a.Status)
		}
		switch {
		case by.Role == tandem.RoleAdmin:
			return tandem.Errorf(tandem.EForbidden, "approval is for the other team than the proposer's; an admin activates a version instead")
		case by.Role != tandem.RoleMarketing && by.Role != tandem.RoleSales:
			return tandem.Errorf(tandem.EForbidden, "role %q may not approve an agreement", by.Role)
		case by.Role == a.ProposedRole:
			return tandem.Errorf(tandem.EForbidden, "version %d was proposed by %s; someone from %s must approve it", version, a.ProposedRole, otherTeam(a.ProposedRole))
		}
		return nil
	})
}

// ActivateAgreement makes a version active without the other team's approval: an
// admin's way to bootstrap, or to go back to an earlier version.
func (db *DB) ActivateAgreement(ctx context.Context, version int, by tandem.Actor) (*tandem.Agreement, error) {
	return db.activate(ctx, version, by, func(a *tandem.Agreement) error {
		if by.Role != tandem.RoleAdmin {
			return tandem.Errorf(tandem.EForbidden, "only an admin may activate a version directly; %s approves what %s proposed", otherTeam(a.ProposedRole), a.ProposedRole)
		}
		if a.Status == tandem.AgreementActive {
			return tandem.Errorf(tandem.EConflict, "version %d is already active", version)
		}
		return nil
	})
}

func otherTeam(r tandem.Role) string {
	switch r {
	case tandem.RoleMarketing:
		return "sales"
	case tandem.RoleSales:
		return "marketing"
	}
	return "marketing or sales"
}

// activate makes a version the active one if allowed says so, and starts rescoring
// every contact under it. The version keeps the engagement anchor of the one it
// replaces; the first version's anchor is its activation time.
func (db *DB) activate(ctx context.Context, version int, by tandem.Actor, allowed func(*tandem.Agreement) error) (*tandem.Agreement, error) {
	var out *tandem.Agreement
	err := db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		a, err := agreementIn(ctx, tx, version)
		if err != nil {
			return err
		}
		if err := allowed(a); err != nil {
			return err
		}
		// Every version measures engagement from the same anchor, moved only when the
		// sums are rebased, so a contact the rescore has not reached yet still shows
		// its engagement on the right scale.
		anchor := micros(now)
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(anchor_at), $1) FROM agreements WHERE status = 'active'`, anchor).Scan(&anchor); err != nil {
			return fmt.Errorf("activate agreement: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE agreements SET status = 'superseded' WHERE status = 'active'`); err != nil {
			return fmt.Errorf("activate agreement: %w", err)
		}
		approver, role := any(nil), any(nil)
		if by.Role != tandem.RoleAdmin || a.Status == tandem.AgreementProposed {
			approver, role = by.Name, string(by.Role)
		}
		_, err = tx.ExecContext(ctx, `UPDATE agreements SET status = 'active', approved_by = COALESCE($1, approved_by),
			approved_role = COALESCE($2, approved_role), approved_at = CASE WHEN $1 IS NULL THEN approved_at ELSE $3 END,
			activated_at = $3, anchor_at = $5 WHERE version = $4`, approver, role, micros(now), version, anchor)
		if err != nil {
			return fmt.Errorf("activate agreement: %w", err)
		}
		if err := db.startRescore(ctx, tx, version, now, a.Status == tandem.AgreementProposed); err != nil {
			return err
		}
		out, err = agreementIn(ctx, tx, version)
		return err
	})
	if err == nil {
		db.kickRescore()
	}
	return out, err
}

func agreementIn(ctx context.Context, q querier, version int) (*tandem.Agreement, error) {
	a, err := scanAgreement(q.QueryRowContext(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE version = $1`, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "agreement version %d not found", version)
	}
	if err != nil {
		return nil, fmt.Errorf("agreement version %d: %w", version, err)
	}
	return a, nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ActiveAgreement returns the active version.
func (db *DB) ActiveAgreement(ctx context.Context) (*tandem.Agreement, error) {
	a, err := scanAgreement(db.read.QueryRowContext(ctx, `SELECT `+agreementColumns+` FROM agreements WHERE status = 'active'`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "no agreement is active yet: propose one with PUT /api/v1/agreement")
	}
	if err != nil {
		return nil, fmt.Errorf("active agreement: %w", err)
	}
	return a, nil
}

// AgreementVersion returns one version.
func (db *DB) AgreementVersion(ctx context.Context, version int) (*tandem.Agreement, error) {
	return agreementIn(ctx, db.read, version)
}

// AgreementVersions lists every version, newest first.
func (db *DB) AgreementVersions(ctx context.Context) ([]*tandem.Agreement, error) {
	return rowsOf(ctx, db.read, "agreement versions", `SELECT `+agreementColumns+` FROM agreements ORDER BY version DESC`, nil, scanAgreement)
}

// active is the active agreement compiled, with the anchor of its engagement sums.
type active struct {
	version   int
	anchor    int64
	agreement *agreement.Agreement
	model     *scoring.Model
	// carried are the labels whose contacts hold its scores as well as those labelled
	// with its version (see carried.go); carriedList is the column they were read from.
	carried     []int
	carriedList string
	// What its rules read, so that what none reads is not loaded.
	readsProperties, readsContext bool
	stagesReadProfile             bool
	fitReadsAccount               bool
	capped                        []string // the engagement rules with a cap
	// names holds the agreement's stage keys, grade letters and rule names, so that
	// cached scores share one copy of each.
	names map[string]string
}

// intern returns the agreement's copy of a name, or s itself for one it does not have.
func (a *active) intern(s string) string {
	if n, ok := a.names[s]; ok {
		return n
	}
	return s
}

func newActive(version int, anchor int64, a *agreement.Agreement) *active {
	c := &active{version: version, anchor: anchor, agreement: a, model: scoring.New(&a.Scoring, fromMicros(anchor))}
	c.names = map[string]string{"": ""}
	for _, st := range a.Stages {
		c.names[st.Key] = st.Key
	}
	for _, g := range a.Scoring.Grades {
		c.names[g.Letter] = g.Letter
	}
	c.names[a.Scoring.Fallback] = a.Scoring.Fallback
	for _, r := range a.Scoring.Engagement {
		c.names[r.Name] = r.Name
		c.readsProperties = c.readsProperties || r.When.Uses("properties")
		c.readsContext = c.readsContext || r.When.Uses("context")
		if r.Cap.Times > 0 {
			c.capped = append(c.capped, r.Name)
		}
	}
	for _, s := range a.Stages {
		c.stagesReadProfile = c.stagesReadProfile || s.EnterWhen.Uses("contact") || s.EnterWhen.Uses("traits") || s.EnterWhen.Uses("account")
	}
	for _, r := range a.Scoring.Fit {
		c.fitReadsAccount = c.fitReadsAccount || r.When.Uses("account")
	}
	return c
}

// activeIn returns the active agreement as q sees it, nil if none is. The compiled form
// is cached by version and anchor, so a transaction pays one indexed lookup; another
// node activating a version is noticed by the next transaction.
func (db *DB) activeIn(ctx context.Context, q querier) (*active, error) {
	var (
		version int
		anchor  int64
		carried string
	)
	err := q.QueryRowContext(ctx, `SELECT version, anchor_at, carried FROM agreements WHERE status = 'active'`).Scan(&version, &anchor, &carried)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("active agreement: %w", err)
	}
	c := db.active.Load()
	if c != nil && c.version == version && c.anchor == anchor && c.carriedList == carried {
		return c, nil
	}
	labels, err := parseLabels(carried)
	if err != nil {
		return nil, fmt.Errorf("active agreement version %d: carried labels: %w", version, err)
	}
	if c != nil && c.version == version && c.anchor == anchor {
		// Its rescore ended: the same rules, with the labels it carried.
		n := *c
		n.carried, n.carriedList = labels, carried
		db.active.Store(&n)
		return &n, nil
	}
	var doc string
	if err := q.QueryRowContext(ctx, `SELECT document FROM agreements WHERE version = $1`, version).Scan(&doc); err != nil {
		return nil, fmt.Errorf("active agreement: %w", err)
	}
	a, err := agreement.Parse([]byte(doc))
	if err != nil {
		// It validated when it was proposed; a newer binary may be stricter.
		return nil, fmt.Errorf("active agreement version %d no longer parses: %w", version, err)
	}
	c = newActive(version, anchor, a)
	c.carried, c.carriedList = labels, carried
	db.active.Store(c)
	return c, nil
}

// modelOf returns the scoring model of an earlier version, anchored as a is, for
// showing the scores of contacts a rescore has not reached yet.
func (db *DB) modelOf(ctx context.Context, version int, a *active) (*scoring.Model, error) {
	key := modelKey{version, a.anchor}
	if m, ok := db.models.Load(key); ok {
		return m.(*scoring.Model), nil
	}
	var doc string
	if err := db.read.QueryRowContext(ctx, `SELECT document FROM agreements WHERE version = $1`, version).Scan(&doc); err != nil {
		return nil, fmt.Errorf("agreement version %d: %w", version, err)
	}
	parsed, err := agreement.Parse([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("agreement version %d no longer parses: %w", version, err)
	}
	m := scoring.New(&parsed.Scoring, a.model.Anchor)
	db.models.Store(key, m)
	return m, nil
}

// modelKey names a version's scoring model under an anchor.
type modelKey struct {
	version int
	anchor  int64
}

// Diff returns the changes from version a to version b of the agreement as a unified
// diff of their documents.
func (db *DB) AgreementDiff(ctx context.Context, a, b int) (string, error) {
	va, err := agreementIn(ctx, db.read, a)
	if err != nil {
		return "", err
	}
	vb, err := agreementIn(ctx, db.read, b)
	if err != nil {
		return "", err
	}
	d := agreement.Diff(va.Document, vb.Document)
	if d == "" {
		return "", nil
	}
	var s strings.Builder
	fmt.Fprintf(&s, "--- version %d\n+++ version %d\n", a, b)
	s.WriteString(d)
	return s.String(), nil
}
