package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/ingest"
)

// History is the embedded telemetry store: ingest's sink when no InfluxDB is
// configured. A point's key is its series and timestamp, as in InfluxDB, so
// writing a record twice keeps one row.
type History struct{ db *DB }

// History returns the embedded telemetry store.
func (s *DB) History() *History { return &History{db: s} }

var _ ingest.Sink = (*History)(nil)

// Write stores a batch in one transaction.
func (h *History) Write(ctx context.Context, recs []ingest.Record) error {
	tx, err := h.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, h.db.Dialect.Rebind(`INSERT INTO telemetry (kind, lift, ts_ns, line) VALUES (?, ?, ?, ?)
		ON CONFLICT (kind, lift, ts_ns) DO UPDATE SET line = excluded.line`))
	if err != nil {
		return fmt.Errorf("history prepare: %w", err)
	}
	defer stmt.Close()
	for i := range recs {
		r := &recs[i]
		if _, err := stmt.ExecContext(ctx, r.Kind.String(), r.Lift, r.PointNS, string(r.Line)); err != nil {
			return fmt.Errorf("history insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history commit: %w", err)
	}
	return nil
}

// Ping checks the database answers.
func (h *History) Ping(ctx context.Context) error { return h.db.SQL.PingContext(ctx) }

// Point is one stored telemetry point.
type Point struct {
	Kind   string `json:"kind"`
	TimeNS int64  `json:"time_ns"`
	Line   string `json:"line"`
}

// Recent returns a lift's newest points, newest first, optionally of one kind.
func (h *History) Recent(ctx context.Context, lift, kind string, limit int) ([]Point, error) {
	if limit <= 0 || limit > 10000 {
		return nil, errors.New("limit must be 1..10000")
	}
	q := `SELECT kind, ts_ns, line FROM telemetry WHERE lift = ?`
	args := []any{lift}
	if kind != "" {
		q += ` AND kind = ?`
		args = append(args, kind)
	}
	q += ` ORDER BY ts_ns DESC LIMIT ?`
	args = append(args, limit)
	rows, err := h.db.SQL.QueryContext(ctx, h.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("history query: %w", err)
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var p Point
		if err := rows.Scan(&p.Kind, &p.TimeNS, &p.Line); err != nil {
			return nil, fmt.Errorf("history scan: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Count returns the number of stored points of kind.
func (h *History) Count(ctx context.Context, kind string) (int64, error) {
	var n int64
	err := h.db.SQL.QueryRowContext(ctx, h.db.Dialect.Rebind(`SELECT COUNT(*) FROM telemetry WHERE kind = ?`), kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("history count: %w", err)
	}
	return n, nil
}

var _ ingest.HistoryReader = (*History)(nil)

// QueryHistory answers a history query with typed points, in the same order
// and pages as InfluxDB (ingest.InfluxHistory).
func (h *History) QueryHistory(ctx context.Context, hq ingest.HistoryQuery) (ingest.HistoryPage, error) {
	if err := hq.Validate(); err != nil {
		return ingest.HistoryPage{}, err
	}
	q := `SELECT ts_ns, line FROM telemetry WHERE lift = ?`
	args := []any{hq.Lift}
	if len(hq.Kinds) > 0 {
		q += ` AND kind IN (?` + strings.Repeat(`, ?`, len(hq.Kinds)-1) + `)`
		for _, k := range hq.Kinds {
			args = append(args, k)
		}
	}
	if !hq.Since.IsZero() {
		q += ` AND ts_ns >= ?`
		args = append(args, hq.Since.UnixNano())
	}
	if !hq.Until.IsZero() {
		q += ` AND ts_ns < ?`
		args = append(args, hq.Until.UnixNano())
	}
	if c := hq.After; c != nil {
		q += ` AND (ts_ns < ? OR (ts_ns = ? AND kind > ?))`
		args = append(args, c.TimeNS, c.TimeNS, c.Kind)
	}
	q += ` ORDER BY ts_ns DESC, kind ASC LIMIT ?`
	args = append(args, hq.Limit+1)
	rows, err := h.db.SQL.QueryContext(ctx, h.db.Dialect.Rebind(q), args...)
	if err != nil {
		return ingest.HistoryPage{}, fmt.Errorf("history query: %w", err)
	}
	defer rows.Close()
	var pts []ingest.HistoryPoint
	for rows.Next() {
		var ns int64
		var line string
		if err := rows.Scan(&ns, &line); err != nil {
			return ingest.HistoryPage{}, fmt.Errorf("history scan: %w", err)
		}
		p, err := ingest.ParseLine(line)
		if err != nil {
			return ingest.HistoryPage{}, fmt.Errorf("history point at %d: %w", ns, err)
		}
		pts = append(pts, p)
	}
	if err := rows.Err(); err != nil {
		return ingest.HistoryPage{}, fmt.Errorf("history rows: %w", err)
	}
	return ingest.FinishPage(pts, hq.Limit), nil
}
