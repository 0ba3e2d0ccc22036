// Package sqlhistory is the embedded implementation of history.Store: the
// telemetry table of liftwatch's SQL database (SQLite by default; the schema
// is one of store's migrations), over database/sql.
package sqlhistory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/history"
)

// Dialect adapts a '?'-placeholder query to the database (store.Dialect).
type Dialect interface {
	Rebind(q string) string
}

// History is the embedded telemetry store: where history goes when no
// InfluxDB is configured. A point's key is its series and timestamp, as in
// InfluxDB, so writing a record twice keeps one row.
type History struct {
	sql     *sql.DB
	dialect Dialect
}

// New uses the telemetry table of db (migrated by store).
func New(db *sql.DB, d Dialect) *History { return &History{sql: db, dialect: d} }

var _ history.Store = (*History)(nil)

// Write stores a batch in one transaction.
func (h *History) Write(ctx context.Context, recs []history.Record) error {
	tx, err := h.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, h.dialect.Rebind(`INSERT INTO telemetry (kind, lift, ts_ns, line) VALUES (?, ?, ?, ?)
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
func (h *History) Ping(ctx context.Context) error { return h.sql.PingContext(ctx) }

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
	rows, err := h.sql.QueryContext(ctx, h.dialect.Rebind(q), args...)
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
	err := h.sql.QueryRowContext(ctx, h.dialect.Rebind(`SELECT COUNT(*) FROM telemetry WHERE kind = ?`), kind).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("history count: %w", err)
	}
	return n, nil
}

// Query answers a history query with typed points, in the same order and
// pages as InfluxDB (history/influx).
func (h *History) Query(ctx context.Context, hq history.Query) (history.Page, error) {
	if err := hq.Validate(); err != nil {
		return history.Page{}, err
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
	rows, err := h.sql.QueryContext(ctx, h.dialect.Rebind(q), args...)
	if err != nil {
		return history.Page{}, fmt.Errorf("history query: %w", err)
	}
	defer rows.Close()
	var pts []history.Point
	for rows.Next() {
		var ns int64
		var line string
		if err := rows.Scan(&ns, &line); err != nil {
			return history.Page{}, fmt.Errorf("history scan: %w", err)
		}
		p, err := history.ParseLine(line)
		if err != nil {
			return history.Page{}, fmt.Errorf("history point at %d: %w", ns, err)
		}
		pts = append(pts, p)
	}
	if err := rows.Err(); err != nil {
		return history.Page{}, fmt.Errorf("history rows: %w", err)
	}
	return history.FinishPage(pts, hq.Limit), nil
}
