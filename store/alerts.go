package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Alerts is the alert repository. IDs are allocated here (MAX+1 under a
// lock: liftwatch is the only writer), which keeps the SQL portable.
type Alerts struct {
	db *DB
	mu sync.Mutex
}

// Alerts returns the alert repository.
func (s *DB) Alerts() *Alerts { return &Alerts{db: s} }

var _ alerts.Store = (*Alerts)(nil)

func ms(t time.Time) int64 { return t.UnixMilli() }

func msp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNull(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func (r *Alerts) nextID(ctx context.Context, tx *sql.Tx, table string) (int64, error) {
	var id int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM `+table).Scan(&id); err != nil {
		return 0, fmt.Errorf("next %s id: %w", table, err)
	}
	return id, nil
}

// SaveAlert inserts or updates an alert and appends events to its history.
func (r *Alerts) SaveAlert(ctx context.Context, a *alerts.Alert, events []alerts.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	q := r.db.Dialect.Rebind
	args := []any{a.Lift, a.Estate, a.Type, a.Severity.String(), a.Rescue, a.Summary, string(a.State), a.ConditionActive,
		a.Derived, a.Suppressed, a.Count, ms(a.FirstSeen), ms(a.LastSeen), ms(a.OpenedAt), msp(a.AckAt), a.AckBy,
		msp(a.DispatchedAt), a.DispatchedTo, msp(a.OnSiteAt), a.OnSiteBy, msp(a.ResolvedAt), a.ResolvedBy, a.Tier, ms(a.LastNotified)}
	id := a.ID
	if id == 0 {
		if id, err = r.nextID(ctx, tx, "alerts"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, q(`INSERT INTO alerts (lift, estate, type, severity, rescue, summary, state, condition_active,
			derived, suppressed, count, first_seen, last_seen, opened_at, ack_at, ack_by, dispatched_at, dispatched_to, on_site_at,
			on_site_by, resolved_at, resolved_by, tier, last_notified, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			append(args, id)...)
	} else {
		_, err = tx.ExecContext(ctx, q(`UPDATE alerts SET lift = ?, estate = ?, type = ?, severity = ?, rescue = ?, summary = ?, state = ?,
			condition_active = ?, derived = ?, suppressed = ?, count = ?, first_seen = ?, last_seen = ?, opened_at = ?, ack_at = ?, ack_by = ?,
			dispatched_at = ?, dispatched_to = ?, on_site_at = ?, on_site_by = ?, resolved_at = ?, resolved_by = ?, tier = ?, last_notified = ?
			WHERE id = ?`), append(args, id)...)
	}
	if err != nil {
		return fmt.Errorf("save alert %d: %w", id, err)
	}
	var seq int
	if err := tx.QueryRowContext(ctx, q(`SELECT COALESCE(MAX(seq), 0) FROM alert_events WHERE alert_id = ?`), id).Scan(&seq); err != nil {
		return fmt.Errorf("alert events: %w", err)
	}
	for _, ev := range events {
		seq++
		if _, err := tx.ExecContext(ctx, q(`INSERT INTO alert_events (alert_id, seq, at, action, actor, note, tier) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			id, seq, ms(ev.At), ev.Action, ev.Actor, ev.Note, ev.Tier); err != nil {
			return fmt.Errorf("append alert event: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit alert: %w", err)
	}
	a.ID = id
	return nil
}

const alertCols = `id, lift, estate, type, severity, rescue, summary, state, condition_active, derived, suppressed, count,
	first_seen, last_seen, opened_at, ack_at, ack_by, dispatched_at, dispatched_to, on_site_at, on_site_by, resolved_at,
	resolved_by, tier, last_notified`

func scanAlert(s interface{ Scan(...any) error }) (*alerts.Alert, error) {
	var a alerts.Alert
	var sev, state string
	var first, last, opened, notified int64
	var ack, disp, onsite, resolved sql.NullInt64
	if err := s.Scan(&a.ID, &a.Lift, &a.Estate, &a.Type, &sev, &a.Rescue, &a.Summary, &state, &a.ConditionActive, &a.Derived,
		&a.Suppressed, &a.Count, &first, &last, &opened, &ack, &a.AckBy, &disp, &a.DispatchedTo, &onsite, &a.OnSiteBy,
		&resolved, &a.ResolvedBy, &a.Tier, &notified); err != nil {
		return nil, fmt.Errorf("scan alert: %w", err)
	}
	a.Severity, _ = telemetry.ParseSeverity(sev)
	a.State = alerts.State(state)
	a.FirstSeen, a.LastSeen, a.OpenedAt, a.LastNotified = fromMS(first), fromMS(last), fromMS(opened), fromMS(notified)
	a.AckAt, a.DispatchedAt, a.OnSiteAt, a.ResolvedAt = fromNull(ack), fromNull(disp), fromNull(onsite), fromNull(resolved)
	return &a, nil
}

// OpenAlerts returns every alert not resolved.
func (r *Alerts) OpenAlerts(ctx context.Context) ([]*alerts.Alert, error) {
	return r.List(ctx, AlertFilter{Open: true})
}

// AlertFilter selects alerts; zero fields select everything. Each of State,
// Lift, Estate, Severity and Type is one more allowed value of its plural
// field: an alert matches if it has any of the allowed values.
type AlertFilter struct {
	Open     bool
	State    string
	Lift     string
	Estate   string
	Severity string
	Type     string
	Since    time.Time // opened at or after
	Until    time.Time // opened before
	Limit    int

	States, Lifts, Estates, Severities, Types []string
}

// anyOf returns the allowed values of one filter: the plural list plus the
// single value.
func anyOf(single string, multi []string) []string {
	if single == "" {
		return multi
	}
	return append(append([]string(nil), multi...), single)
}

// List returns alerts matching f, newest first.
func (r *Alerts) List(ctx context.Context, f AlertFilter) ([]*alerts.Alert, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Open {
		add("state <> ?", string(alerts.StateResolved))
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("state", anyOf(f.State, f.States))
	in("lift", anyOf(f.Lift, f.Lifts))
	in("estate", anyOf(f.Estate, f.Estates))
	in("severity", anyOf(f.Severity, f.Severities))
	in("type", anyOf(f.Type, f.Types))
	if !f.Since.IsZero() {
		add("opened_at >= ?", ms(f.Since))
	}
	if !f.Until.IsZero() {
		add("opened_at < ?", ms(f.Until))
	}
	q := `SELECT ` + alertCols + ` FROM alerts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []*alerts.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Alert returns one alert with its whole history.
func (r *Alerts) Alert(ctx context.Context, id int64) (*alerts.Alert, error) {
	a, err := scanAlert(r.db.SQL.QueryRowContext(ctx, r.db.Dialect.Rebind(`SELECT `+alertCols+` FROM alerts WHERE id = ?`), id))
	if err != nil {
		if strings.Contains(err.Error(), sql.ErrNoRows.Error()) {
			return nil, &alerts.NotFoundError{ID: id}
		}
		return nil, err
	}
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(`SELECT at, action, actor, note, tier FROM alert_events WHERE alert_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev alerts.Event
		var at int64
		if err := rows.Scan(&at, &ev.Action, &ev.Actor, &ev.Note, &ev.Tier); err != nil {
			return nil, fmt.Errorf("scan alert event: %w", err)
		}
		ev.At = fromMS(at)
		a.History = append(a.History, ev)
	}
	return a, rows.Err()
}

// insert runs one INSERT whose first argument is an ID allocated as MAX+1,
// in its own transaction, and returns the ID.
func (r *Alerts) insert(ctx context.Context, table, stmt string, args ...any) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	id, err := r.nextID(ctx, tx, table)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, r.db.Dialect.Rebind(stmt), append([]any{id}, args...)...); err != nil {
		return 0, fmt.Errorf("insert into %s: %w", table, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit %s: %w", table, err)
	}
	return id, nil
}

// SaveSilence stores a new silence, setting its ID.
func (r *Alerts) SaveSilence(ctx context.Context, s *alerts.Silence) error {
	id, err := r.insert(ctx, "silences", `INSERT INTO silences (id, lift, estate, starts_at, ends_at, reason, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, s.Lift, s.Estate, ms(s.StartsAt), ms(s.EndsAt), s.Reason, s.CreatedBy, ms(s.CreatedAt))
	if err != nil {
		return err
	}
	s.ID = id
	return nil
}

// DeleteSilence removes a silence.
func (r *Alerts) DeleteSilence(ctx context.Context, id int64) error {
	_, err := r.db.SQL.ExecContext(ctx, r.db.Dialect.Rebind(`DELETE FROM silences WHERE id = ?`), id)
	return err
}

// Silences lists all silences.
func (r *Alerts) Silences(ctx context.Context) ([]alerts.Silence, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT id, lift, estate, starts_at, ends_at, reason, created_by, created_at FROM silences ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list silences: %w", err)
	}
	defer rows.Close()
	var out []alerts.Silence
	for rows.Next() {
		var s alerts.Silence
		var st, en, cr int64
		if err := rows.Scan(&s.ID, &s.Lift, &s.Estate, &st, &en, &s.Reason, &s.CreatedBy, &cr); err != nil {
			return nil, err
		}
		s.StartsAt, s.EndsAt, s.CreatedAt = fromMS(st), fromMS(en), fromMS(cr)
		out = append(out, s)
	}
	return out, rows.Err()
}

// LogNotification appends to the notification log, setting rec.ID.
func (r *Alerts) LogNotification(ctx context.Context, rec *notify.Record) error {
	id, err := r.insert(ctx, "notifications", `INSERT INTO notifications (id, alert_id, receiver, event, tier, at, attempts,
		outcome, status_code, error, retryable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.AlertID, rec.Receiver, rec.Event,
		rec.Tier, ms(rec.At), rec.Attempts, rec.Outcome, rec.StatusCode, rec.Error, rec.Retryable)
	if err != nil {
		return err
	}
	rec.ID = id
	return nil
}

// Notifications lists the log, newest first, optionally for one alert.
func (r *Alerts) Notifications(ctx context.Context, alertID int64, limit int) ([]notify.Record, error) {
	var ids []int64
	if alertID > 0 {
		ids = []int64{alertID}
	}
	return r.NotificationsOf(ctx, ids, limit)
}

// NotificationsOf lists the log, newest first, for any of alertIDs (all
// alerts if none).
func (r *Alerts) NotificationsOf(ctx context.Context, alertIDs []int64, limit int) ([]notify.Record, error) {
	q := `SELECT id, alert_id, receiver, event, tier, at, attempts, outcome, status_code, error, retryable FROM notifications`
	var args []any
	if len(alertIDs) > 0 {
		q += ` WHERE alert_id IN (?` + strings.Repeat(`, ?`, len(alertIDs)-1) + `)`
		for _, id := range alertIDs {
			args = append(args, id)
		}
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	out := []notify.Record{}
	for rows.Next() {
		var n notify.Record
		var at int64
		if err := rows.Scan(&n.ID, &n.AlertID, &n.Receiver, &n.Event, &n.Tier, &at, &n.Attempts, &n.Outcome, &n.StatusCode, &n.Error, &n.Retryable); err != nil {
			return nil, err
		}
		n.At = fromMS(at)
		out = append(out, n)
	}
	return out, rows.Err()
}
