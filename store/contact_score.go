package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"

	"tandem"
	"tandem/agreement"
)

// ContactScore explains a contact's score rule by rule under the active agreement. The
// lines of capped rules are the stored ones; the others are recomputed from the
// contact's events, which gives what ingest added up, since their sum does not depend on
// the order events arrived in.
func (db *DB) ContactScore(ctx context.Context, id int64) (*tandem.ScoreBreakdown, error) {
	var canonical int64
	err := db.read.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = `+canonicalContact, id).Scan(&canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %d score: %w", id, err)
	}
	all, err := db.ContactScores(ctx, []int64{canonical})
	if err != nil {
		return nil, err
	}
	b := all[canonical]
	if b == nil {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	return b, nil
}

// ContactScores explains the scores of several contacts at once, as ContactScore does
// one, in a handful of queries whatever their number: a rep's queue shows why each lead
// scored. Contacts that do not exist (or were merged away) are missing from the result.
func (db *DB) ContactScores(ctx context.Context, ids []int64) (map[int64]*tandem.ScoreBreakdown, error) {
	if err := db.settle(ctx); err != nil {
		return nil, err
	}
	a, err := db.activeIn(ctx, db.read)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, tandem.Errorf(tandem.ENotFound, "no agreement is active, so contacts have no score yet")
	}
	now := db.Now()
	replayed, err := a.scoreContacts(ctx, db.read, db.dialect, ids, now, "", nil)
	if err != nil {
		return nil, err
	}
	stored, err := a.loadScores(ctx, db.read, db.dialect, ids)
	if err != nil {
		return nil, err
	}
	people, accounts, err := loadPeople(ctx, db.read, db.dialect, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*tandem.ScoreBreakdown, len(replayed))
	for _, cs := range replayed {
		st, p := stored[cs.id], people[cs.id]
		if st == nil || p == nil {
			continue
		}
		for _, rule := range a.capped {
			delete(cs.lines, rule)
			if st.lines[rule] != nil {
				*cs.line(rule) = *st.lines[rule]
			}
		}
		current := a.model.Current(p.stored.eng, now)
		b := &tandem.ScoreBreakdown{
			ContactID: cs.id,
			Score:     tandem.Score{Fit: round2(p.stored.fit), Engagement: round2(current), Total: round2(p.stored.fit + current)},
			Grade:     p.stored.grade,
			Version:   st.version,
			Lines:     []tandem.ScoreLine{},
		}
		for _, r := range a.agreement.Scoring.Engagement {
			l := cs.lines[r.Name]
			if l == nil || l.Hits == 0 {
				continue
			}
			last := fromMicros(l.Last)
			b.Lines = append(b.Lines, tandem.ScoreLine{Rule: r.Name, Kind: "engagement", Points: round2(a.model.Current(l.Points, now)), Hits: l.Hits, LastAt: &last})
		}
		// The fit rules are evaluated on the profile as it is now, as they were when it
		// last changed.
		prof := profile(p.email, decodeObject([]byte(p.traits)), accounts[p.accountID])
		for _, h := range a.model.FitHits(prof) {
			b.Lines = append(b.Lines, tandem.ScoreLine{Rule: h.Rule, Kind: "fit", Points: h.Points, Hits: 1})
		}
		out[cs.id] = b
	}
	return out, nil
}

// contactProfile reads what fit and stage rules see of a contact.
func contactProfile(ctx context.Context, q querier, d dialect, id int64) (*agreement.Profile, error) {
	var (
		email, traits string
		acc           int64
	)
	err := q.QueryRowContext(ctx, `SELECT COALESCE(email, ''), traits, COALESCE(account_id, 0) FROM contacts WHERE id = $1`, id).Scan(&email, &traits, &acc)
	if err != nil {
		return nil, fmt.Errorf("contact %d profile: %w", id, err)
	}
	accounts, err := loadAccounts(ctx, q, d, []int64{acc})
	if err != nil {
		return nil, err
	}
	return profile(email, decodeObject([]byte(traits)), accounts[acc]), nil
}

// ContactStages lists a contact's stage changes, oldest first.
func (db *DB) ContactStages(ctx context.Context, id int64) ([]*tandem.StageChange, error) {
	var canonical int64
	err := db.read.QueryRowContext(ctx, `SELECT id FROM contacts WHERE id = `+canonicalContact, id).Scan(&canonical)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tandem.Errorf(tandem.ENotFound, "contact %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %d stages: %w", id, err)
	}
	rows, err := db.read.QueryContext(ctx, `SELECT from_stage, to_stage, at, cause, version FROM stage_changes
		WHERE contact_id = $1 ORDER BY at, id`, canonical)
	if err != nil {
		return nil, fmt.Errorf("contact %d stages: %w", id, err)
	}
	defer rows.Close()
	list := []*tandem.StageChange{}
	for rows.Next() {
		var (
			c  tandem.StageChange
			at int64
		)
		if err := rows.Scan(&c.From, &c.To, &at, &c.Cause, &c.Version); err != nil {
			return nil, fmt.Errorf("contact %d stages: %w", id, err)
		}
		c.At = fromMicros(at)
		list = append(list, &c)
	}
	return list, rows.Err()
}

// StageCount is how many contacts are in a stage.
type StageCount struct {
	Stage    string `json:"stage"`
	Contacts int64  `json:"contacts"`
}

// StageCounts counts the contacts in each stage, in the active agreement's funnel
// order, then stages it no longer names.
func (db *DB) StageCounts(ctx context.Context) ([]StageCount, error) {
	if err := db.settle(ctx); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, `SELECT stage, COUNT(*) FROM contacts GROUP BY stage`)
	if err != nil {
		return nil, fmt.Errorf("stage counts: %w", err)
	}
	defer rows.Close()
	byStage := map[string]int64{}
	for rows.Next() {
		var s string
		var n int64
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("stage counts: %w", err)
		}
		byStage[s] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stage counts: %w", err)
	}
	var out []StageCount
	if a, err := db.activeIn(ctx, db.read); err == nil && a != nil {
		for _, s := range a.agreement.Stages {
			out = append(out, StageCount{s.Key, byStage[s.Key]})
			delete(byStage, s.Key)
		}
	}
	for _, s := range slices.Sorted(maps.Keys(byStage)) {
		name := s
		if name == "" {
			name = "(none)"
		}
		out = append(out, StageCount{name, byStage[s]})
	}
	return out, nil
}
