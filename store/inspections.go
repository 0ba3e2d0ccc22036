package store

import (
	"context"
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
)

// InspectionSession is one stay of a lift in inspection mode. A session
// not Ended lasted at least until End (the newest event time seen in it).
type InspectionSession struct {
	Lift       string
	Start, End time.Time
	Ended      bool
}

// Inspections keeps the lifts' inspection-mode sessions (migration 0012).
type Inspections struct{ db *DB }

// Inspections returns the inspection-session repository.
func (s *DB) Inspections() *Inspections { return &Inspections{db: s} }

// Save inserts or updates sessions by (lift, start). A session already
// stored as ended is not reopened or shortened.
func (r *Inspections) Save(ctx context.Context, ss []InspectionSession) error {
	if len(ss) == 0 {
		return nil
	}
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, r.db.Dialect.Rebind(`INSERT INTO inspection_sessions (lift, start_at, end_at, ended) VALUES (?, ?, ?, ?)
		ON CONFLICT (lift, start_at) DO UPDATE SET end_at = excluded.end_at, ended = excluded.ended
		WHERE NOT inspection_sessions.ended AND excluded.end_at >= inspection_sessions.end_at`))
	if err != nil {
		return fmt.Errorf("save inspection sessions: %w", err)
	}
	defer stmt.Close()
	for _, s := range ss {
		if _, err := stmt.ExecContext(ctx, s.Lift, ms(s.Start), ms(s.End), s.Ended); err != nil {
			return fmt.Errorf("save inspection session of %s at %v: %w", s.Lift, s.Start, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save inspection sessions: %w", err)
	}
	return nil
}

// Sessions lists lift's stored sessions overlapping [from, to), oldest
// first.
func (r *Inspections) Sessions(ctx context.Context, lift string, from, to time.Time) ([]InspectionSession, error) {
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(`SELECT start_at, end_at, ended FROM inspection_sessions
		WHERE lift = ? AND start_at < ? AND end_at > ? ORDER BY start_at`), lift, ms(to), ms(from))
	if err != nil {
		return nil, fmt.Errorf("inspection sessions of %s: %w", lift, err)
	}
	defer rows.Close()
	var out []InspectionSession
	for rows.Next() {
		s := InspectionSession{Lift: lift}
		var st, en int64
		if err := rows.Scan(&st, &en, &s.Ended); err != nil {
			return nil, fmt.Errorf("scan inspection session: %w", err)
		}
		s.Start, s.End = fromMS(st), fromMS(en)
		out = append(out, s)
	}
	return out, rows.Err()
}

// AsMaintenance converts stored sessions for the proof of visit.
func AsMaintenance(ss []InspectionSession) []maintenance.Session {
	out := make([]maintenance.Session, len(ss))
	for i, s := range ss {
		out[i] = maintenance.Session{Start: s.Start, End: s.End}
	}
	return out
}
