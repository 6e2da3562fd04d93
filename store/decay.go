package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"tandem/agreement"
)

// reanchorAfter is how many half-lives the anchor may fall behind before the anchored
// sums are rebased: 2^256 is far from float64's limit of 2^1024, and rebasing is one
// UPDATE that runs about once in 256 half-lives.
const reanchorAfter = 256

// Decay finds the contacts whose engagement cooled below the bound of a detour stage
// (Marketo's "inactive") by time alone, and evaluates their stage rules again. It reads an
// index range per funnel stage — anchored sums below the bound anchored to now — rather
// than every contact. It also rebases the anchored sums when the anchor grows old. It
// returns how many contacts moved.
func (db *DB) Decay(ctx context.Context) (int, error) {
	// The index ranges below must see what ingest acknowledged.
	if err := db.settle(ctx); err != nil {
		return 0, err
	}
	a, err := db.activeIn(ctx, db.read)
	if err != nil || a == nil {
		return 0, err
	}
	now := db.Now()
	if h := a.agreement.Scoring.HalfLife; h > 0 && float64(now.Sub(a.model.Anchor))/float64(h) > reanchorAfter {
		if err := db.reanchor(ctx, a, now); err != nil {
			return 0, err
		}
		if a, err = db.activeIn(ctx, db.read); err != nil || a == nil {
			return 0, err
		}
	}
	moved := 0
	for _, d := range a.agreement.Stages {
		if !d.Detour || d.EngagementBelow == 0 {
			continue
		}
		// Rules see engagement rounded to hundredths, so a rule's bound of 10 holds
		// for engagement just under 10.005.
		bound := a.model.Anchored(d.EngagementBelow+0.005, now)
		for _, s := range a.agreement.Stages {
			if s.Detour || d.EnterFrom != nil && !slices.Contains(d.EnterFrom, s.Key) {
				continue
			}
			// Contacts under the previous run's bound were looked at then; only those
			// that cooled past it since are new. Once an hour everything under the
			// bound is looked at again, for contacts that reached the stage cold.
			key := decayKey{a.version, a.anchor, d.Key, s.Key}
			floor := math.Inf(-1)
			db.decayMu.Lock()
			if f, ok := db.decayFloors[key]; ok && now.Sub(db.decayFull) < time.Hour {
				floor = f
			}
			db.decayMu.Unlock()
			n, err := db.decayStage(ctx, a, s.Key, floor, bound)
			moved += n
			if err != nil {
				return moved, err
			}
			db.decayMu.Lock()
			db.decayFloors[key] = bound
			db.decayMu.Unlock()
		}
	}
	db.decayMu.Lock()
	if now.Sub(db.decayFull) >= time.Hour {
		db.decayFull = now
	}
	db.decayMu.Unlock()
	return moved, nil
}

// decayKey names what one decay scan covered: a detour stage entered from a funnel
// stage, under an agreement version and anchor.
type decayKey struct {
	version        int
	anchor         int64
	detour, funnel string
}

// decayStage evaluates the stage rules of the contacts in stage whose anchored
// engagement is at least floor and below bound, a page at a time.
func (db *DB) decayStage(ctx context.Context, a *active, stage string, floor, bound float64) (int, error) {
	moved := 0
	afterScore, afterID := floor, int64(-1)
	for {
		rows, err := db.read.QueryContext(ctx, `SELECT id, score_eng FROM contacts
			WHERE stage = $1 AND score_eng < $2 AND (score_eng > $3 OR (score_eng = $3 AND id > $4))
			ORDER BY score_eng, id LIMIT 500`, stage, bound, afterScore, afterID)
		if err != nil {
			return moved, fmt.Errorf("decay: %w", err)
		}
		var ids []int64
		for rows.Next() {
			if err := rows.Scan(&afterID, &afterScore); err != nil {
				rows.Close()
				return moved, fmt.Errorf("decay: %w", err)
			}
			ids = append(ids, afterID)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return moved, fmt.Errorf("decay: %w", err)
		}
		if len(ids) == 0 {
			return moved, nil
		}
		err = db.tx(ctx, func(tx *sql.Tx, now time.Time) error {
			if err := db.dialect.lockIngest(ctx, tx); err != nil {
				return err
			}
			if cur, err := db.activeIn(ctx, tx); err != nil {
				return err
			} else if cur == nil || cur.version != a.version || cur.anchor != a.anchor {
				return errAgreementChanged
			}
			db.scoreGen.Add(1)
			scores, err := a.loadScores(ctx, tx, db.dialect, ids)
			if err != nil {
				return err
			}
			var changed []*contactScore
			for _, id := range ids {
				cs := scores[id]
				if cs == nil || cs.version != a.version || cs.state.Stage != stage {
					continue // merged, stale, or moved since it was read
				}
				var prof *agreement.Profile
				if a.stagesReadProfile {
					if prof, err = contactProfile(ctx, tx, db.dialect, id); err != nil {
						return err
					}
				}
				a.settle(cs, prof, now, "")
				if len(cs.changes) > 0 {
					changed = append(changed, cs)
				}
			}
			moved += len(changed)
			saved, err := saveScores(ctx, tx, db.dialect, changed, now, false)
			if err != nil {
				return err
			}
			return db.handOff(ctx, tx, a, saved, now)
		})
		if errors.Is(err, errAgreementChanged) {
			return moved, nil // the next run works under the new terms
		}
		if err != nil {
			return moved, err
		}
	}
}

// errAgreementChanged stops work computed under an agreement version or anchor that
// changed meanwhile.
var errAgreementChanged = errors.New("the active agreement changed")

// reanchor rebases every anchored sum of the active version on now.
func (db *DB) reanchor(ctx context.Context, a *active, now time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.lockIngest(ctx, tx); err != nil {
			return err
		}
		// Sums computed under another half-life cannot be rebased with this one, so
		// nothing moves while a rescore is still converting contacts.
		var running int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rescores WHERE state = 'running'`).Scan(&running); err != nil {
			return fmt.Errorf("reanchor: %w", err)
		}
		if running > 0 {
			return nil
		}
		// A rescore that ended since a was read may have carried labels over.
		cur, err := db.activeIn(ctx, tx)
		if err != nil {
			return err
		}
		if cur == nil || cur.version != a.version {
			return nil
		}
		// The anchor moves first and only from the value this process read: of two
		// nodes that both decided to rebase, one does.
		res, err := tx.ExecContext(ctx, `UPDATE agreements SET anchor_at = $1 WHERE version = $2 AND anchor_at = $3`,
			micros(now), a.version, a.anchor)
		if err != nil {
			return fmt.Errorf("reanchor: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		db.scoreGen.Add(1)
		f := math.Exp2(float64(a.model.Anchor.Sub(now)) / float64(a.agreement.Scoring.HalfLife))
		// The capped rules' lines name the anchor they were written under and are
		// rebased when read.
		current := labelsIn(append([]int{a.version}, cur.carried...))
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET score_eng = score_eng * $1 WHERE scored_version IN `+current, f); err != nil {
			return fmt.Errorf("reanchor: %w", err)
		}
		return nil
	})
}

// RunDecay runs Decay every interval until ctx ends.
func (db *DB) RunDecay(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := db.Decay(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("decay", "err", err)
		}
		if n > 0 {
			log.Info("decay moved contacts", "count", n)
		}
	}
}
