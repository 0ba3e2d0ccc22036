package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
)

// Maintenance is the work-order repository. It has no deletion path:
// maintenance records are kept at least 5 years, and the schema's
// triggers refuse DELETE.
type Maintenance struct {
	db *DB
}

// Maintenance returns the work-order repository.
func (s *DB) Maintenance() *Maintenance { return &Maintenance{db: s} }

var _ maintenance.Store = (*Maintenance)(nil)

func jsonText(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

// woArgs is the order's columns after id, in woCols order.
func woArgs(w *maintenance.WorkOrder) ([]any, error) {
	results, err := jsonText(w.Results)
	if err != nil {
		return nil, err
	}
	if w.Results == nil {
		results = ""
	}
	var tech, mgr, proof string
	if w.TechSign != nil {
		if tech, err = jsonText(w.TechSign); err != nil {
			return nil, err
		}
	}
	if w.ManagerSign != nil {
		if mgr, err = jsonText(w.ManagerSign); err != nil {
			return nil, err
		}
	}
	if w.Proof != nil {
		if proof, err = jsonText(w.Proof); err != nil {
			return nil, err
		}
	}
	return []any{w.Lift, w.Estate, string(w.Kind), w.NeedKey, int(w.Level), w.Component, w.Reason, string(w.State),
		ms(w.WindowStart), ms(w.Due), w.Contractor, w.Technician, ms(w.CreatedAt), msp(w.StartedAt), msp(w.CompletedAt),
		results, w.Findings, w.PartsFen, w.LabourFen, tech, mgr, proof}, nil
}

const woCols = `lift, estate, kind, need_key, level, component, reason, state, window_start, due, contractor, technician,
	created_at, started_at, completed_at, results, findings, parts_fen, labour_fen, tech_sign, manager_sign, proof`

func scanWorkOrder(s interface{ Scan(...any) error }) (*maintenance.WorkOrder, error) {
	var w maintenance.WorkOrder
	var kind, state, results, tech, mgr, proof string
	var level int
	var win, due, created int64
	var started, completed sql.NullInt64
	if err := s.Scan(&w.ID, &w.Lift, &w.Estate, &kind, &w.NeedKey, &level, &w.Component, &w.Reason, &state, &win, &due,
		&w.Contractor, &w.Technician, &created, &started, &completed, &results, &w.Findings, &w.PartsFen, &w.LabourFen,
		&tech, &mgr, &proof); err != nil {
		return nil, fmt.Errorf("scan work order: %w", err)
	}
	w.Kind, w.State, w.Level = maintenance.Kind(kind), maintenance.State(state), maintenance.Level(level)
	w.WindowStart, w.Due, w.CreatedAt = fromMS(win), fromMS(due), fromMS(created)
	w.StartedAt, w.CompletedAt = fromNull(started), fromNull(completed)
	decode := func(s string, v any) error {
		if s == "" {
			return nil
		}
		if err := json.Unmarshal([]byte(s), v); err != nil {
			return fmt.Errorf("work order %d: decode: %w", w.ID, err)
		}
		return nil
	}
	if err := decode(results, &w.Results); err != nil {
		return nil, err
	}
	if tech != "" {
		w.TechSign = &maintenance.SignOff{}
		if err := decode(tech, w.TechSign); err != nil {
			return nil, err
		}
		w.TechSign.At = w.TechSign.At.UTC()
	}
	if mgr != "" {
		w.ManagerSign = &maintenance.SignOff{}
		if err := decode(mgr, w.ManagerSign); err != nil {
			return nil, err
		}
		w.ManagerSign.At = w.ManagerSign.At.UTC()
	}
	if proof != "" {
		w.Proof = &maintenance.Proof{}
		if err := decode(proof, w.Proof); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

// CreateWorkOrder inserts w unless a live order answers its need.
func (r *Maintenance) CreateWorkOrder(ctx context.Context, w *maintenance.WorkOrder) (bool, error) {
	created, err := r.CreateWorkOrders(ctx, []*maintenance.WorkOrder{w})
	if err != nil {
		return false, err
	}
	return created[0], nil
}

// CreateWorkOrders inserts each order unless a live order answers its need,
// all in one transaction (a sweep's new orders: one commit, not one each,
// on SQLite's single connection that the embedded history shares);
// created[i] says whether ws[i] was inserted (and has its ID).
func (r *Maintenance) CreateWorkOrders(ctx context.Context, ws []*maintenance.WorkOrder) ([]bool, error) {
	created := make([]bool, len(ws))
	if len(ws) == 0 {
		return created, nil
	}
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	q := r.db.Dialect.Rebind
	ids := make([]int64, len(ws))
	for i, w := range ws {
		args, err := woArgs(w)
		if err != nil {
			return nil, err
		}
		err = tx.QueryRowContext(ctx, q(`INSERT INTO work_orders (`+woCols+`) VALUES (?`+strings.Repeat(`, ?`, len(args)-1)+`)
			ON CONFLICT DO NOTHING RETURNING id`), args...).Scan(&ids[i])
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("insert work order %s: %w", w.NeedKey, err)
		}
		created[i] = true
		if err := appendWOEvents(ctx, tx, q, ids[i], 0, w.History); err != nil {
			return nil, err
		}
		if w.Kind == maintenance.KindRoutine && w.State.Done() {
			if err := refreshRoutineLast(ctx, tx, q, w.Lift); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit work orders: %w", err)
	}
	for i, w := range ws {
		if created[i] {
			w.ID = ids[i]
		}
	}
	return created, nil
}

func appendWOEvents(ctx context.Context, tx *sql.Tx, q func(string) string, id int64, seq int, evs []maintenance.Event) error {
	for _, ev := range evs {
		seq++
		if _, err := tx.ExecContext(ctx, q(`INSERT INTO work_order_events (work_order_id, seq, at, action, actor, from_state, to_state, note)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), id, seq, ms(ev.At), ev.Action, ev.Actor, string(ev.From), string(ev.To), ev.Note); err != nil {
			return fmt.Errorf("append work order event: %w", err)
		}
	}
	return nil
}

// TransitionWorkOrder saves w if its stored state is still from.
func (r *Maintenance) TransitionWorkOrder(ctx context.Context, w *maintenance.WorkOrder, from maintenance.State, ev maintenance.Event) error {
	args, err := woArgs(w)
	if err != nil {
		return err
	}
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	q := r.db.Dialect.Rebind
	set := strings.Join(strings.Fields(strings.ReplaceAll(woCols, ",", " = ?,")), " ") + " = ?"
	res, err := tx.ExecContext(ctx, q(`UPDATE work_orders SET `+set+` WHERE id = ? AND state = ?`), append(args, w.ID, string(from))...)
	if err != nil {
		return fmt.Errorf("update work order %d: %w", w.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update work order %d: %w", w.ID, err)
	} else if n == 0 {
		var cur string
		err := tx.QueryRowContext(ctx, q(`SELECT state FROM work_orders WHERE id = ?`), w.ID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return &maintenance.NotFoundError{ID: w.ID}
		}
		if err != nil {
			return fmt.Errorf("work order %d: %w", w.ID, err)
		}
		return &maintenance.TransitionError{ID: w.ID, Action: maintenance.Action(ev.Action), Current: maintenance.State(cur)}
	}
	var seq int
	if err := tx.QueryRowContext(ctx, q(`SELECT COALESCE(MAX(seq), 0) FROM work_order_events WHERE work_order_id = ?`), w.ID).Scan(&seq); err != nil {
		return fmt.Errorf("work order events: %w", err)
	}
	if err := appendWOEvents(ctx, tx, q, w.ID, seq, []maintenance.Event{ev}); err != nil {
		return err
	}
	if w.Kind == maintenance.KindRoutine && from.Done() != w.State.Done() {
		if err := refreshRoutineLast(ctx, tx, q, w.Lift); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit work order %d: %w", w.ID, err)
	}
	return nil
}

// WorkOrder returns one order with its whole history.
func (r *Maintenance) WorkOrder(ctx context.Context, id int64) (*maintenance.WorkOrder, error) {
	q := r.db.Dialect.Rebind
	w, err := scanWorkOrder(r.db.SQL.QueryRowContext(ctx, q(`SELECT id, `+woCols+` FROM work_orders WHERE id = ?`), id))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &maintenance.NotFoundError{ID: id}
		}
		return nil, err
	}
	rows, err := r.db.SQL.QueryContext(ctx, q(`SELECT at, action, actor, from_state, to_state, note FROM work_order_events
		WHERE work_order_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("work order history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ev maintenance.Event
		var at int64
		var from, to string
		if err := rows.Scan(&at, &ev.Action, &ev.Actor, &from, &to, &ev.Note); err != nil {
			return nil, fmt.Errorf("scan work order event: %w", err)
		}
		ev.At, ev.From, ev.To = fromMS(at), maintenance.State(from), maintenance.State(to)
		w.History = append(w.History, ev)
	}
	return w, rows.Err()
}

// WorkOrders lists orders matching f by due time, then id (no history).
func (r *Maintenance) WorkOrders(ctx context.Context, f maintenance.Filter) ([]*maintenance.WorkOrder, error) {
	var out []*maintenance.WorkOrder
	err := r.EachWorkOrder(ctx, f, func(w *maintenance.WorkOrder) error { out = append(out, w); return nil })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachWorkOrder calls fn with each work order matching f, in the order of
// WorkOrders, as the rows come (an export streams them: memory does not
// grow with the city); an error from fn stops it and is returned.
func (r *Maintenance) EachWorkOrder(ctx context.Context, f maintenance.Filter, fn func(*maintenance.WorkOrder) error) error {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Lift != "" {
		add("lift = ?", f.Lift)
	}
	if f.Contractor != "" {
		add("contractor = ?", f.Contractor)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	states := f.States
	if f.Open {
		states = append(append([]maintenance.State(nil), states...), maintenance.StatePlanned, maintenance.StateAssigned, maintenance.StateInProgress)
	}
	if len(states) > 0 {
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(states)-1)+")")
		for _, s := range states {
			args = append(args, string(s))
		}
	}
	if !f.DueFrom.IsZero() {
		add("due >= ?", ms(f.DueFrom))
	}
	if !f.DueTo.IsZero() {
		add("due < ?", ms(f.DueTo))
	}
	q := `SELECT id, ` + woCols + ` FROM work_orders`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY due, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	// A city's orders (the CSV export) can take a while: on the bulk
	// connection, not the one the API's sign-in uses.
	rows, err := r.db.bulkSQL.QueryContext(ctx, r.db.Dialect.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("list work orders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		w, err := scanWorkOrder(rows)
		if err != nil {
			return err
		}
		if err := fn(w); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list work orders: %w", err)
	}
	return nil
}

var doneStates = []any{string(maintenance.StateCompleted), string(maintenance.StateUnverified), string(maintenance.StateVerified)}

// refreshRoutineLast recomputes one lift's routine_last row from its signed
// routine orders, in the transaction that changed one of them.
func refreshRoutineLast(ctx context.Context, tx *sql.Tx, q func(string) string, lift string) error {
	rows, err := tx.QueryContext(ctx, q(`SELECT level, MAX(completed_at) FROM work_orders
		WHERE kind = ? AND lift = ? AND state IN (?, ?, ?) AND completed_at IS NOT NULL GROUP BY level`),
		append([]any{string(maintenance.KindRoutine), lift}, doneStates...)...)
	if err != nil {
		return fmt.Errorf("routine history of %s: %w", lift, err)
	}
	var visits []maintenance.Visit
	for rows.Next() {
		var level int
		var at int64
		if err := rows.Scan(&level, &at); err != nil {
			rows.Close()
			return fmt.Errorf("scan routine history: %w", err)
		}
		visits = append(visits, maintenance.Visit{Day: maintenance.DayOf(fromMS(at)), Level: maintenance.Level(level)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("routine history of %s: %w", lift, err)
	}
	last := maintenance.LastByLevel(visits)
	if _, err := tx.ExecContext(ctx, q(`INSERT INTO routine_last (lift, half_monthly, quarterly, semi_annual, annual) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (lift) DO UPDATE SET half_monthly = excluded.half_monthly, quarterly = excluded.quarterly,
		semi_annual = excluded.semi_annual, annual = excluded.annual`), lift, last[0], last[1], last[2], last[3]); err != nil {
		return fmt.Errorf("routine history of %s: %w", lift, err)
	}
	return nil
}

// RoutineHistory returns, per lift, the last day a routine visit of each
// level or higher was signed done (already folded: one Visit per level
// that has one), from routine_last: one row per lift.
func (r *Maintenance) RoutineHistory(ctx context.Context) (map[string][]maintenance.Visit, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT lift, half_monthly, quarterly, semi_annual, annual FROM routine_last`)
	if err != nil {
		return nil, fmt.Errorf("routine history: %w", err)
	}
	defer rows.Close()
	out := map[string][]maintenance.Visit{}
	for rows.Next() {
		var lift string
		var d [4]int32
		if err := rows.Scan(&lift, &d[0], &d[1], &d[2], &d[3]); err != nil {
			return nil, fmt.Errorf("scan routine history: %w", err)
		}
		vs := make([]maintenance.Visit, 0, 4)
		for i, day := range d {
			if day != 0 {
				vs = append(vs, maintenance.Visit{Day: maintenance.Day(day), Level: maintenance.Level(i + 1)})
			}
		}
		out[lift] = vs
	}
	return out, rows.Err()
}

// RebuildRoutineHistory recomputes routine_last for every lift from the
// work orders (a backfill or repair; normal operation keeps it current).
func (r *Maintenance) RebuildRoutineHistory(ctx context.Context) error {
	const day = `((completed_at / 1000 + 28800) / 86400)`
	_, err := r.db.exec(ctx, `INSERT INTO routine_last (lift, half_monthly, quarterly, semi_annual, annual)
		SELECT lift, MAX(`+day+`), MAX(CASE WHEN level >= 2 THEN `+day+` ELSE 0 END),
			MAX(CASE WHEN level >= 3 THEN `+day+` ELSE 0 END), MAX(CASE WHEN level >= 4 THEN `+day+` ELSE 0 END)
		FROM work_orders WHERE kind = ? AND state IN (?, ?, ?) AND completed_at IS NOT NULL GROUP BY lift
		ON CONFLICT (lift) DO UPDATE SET half_monthly = excluded.half_monthly, quarterly = excluded.quarterly,
		semi_annual = excluded.semi_annual, annual = excluded.annual`, append([]any{string(maintenance.KindRoutine)}, doneStates...)...)
	if err != nil {
		return fmt.Errorf("rebuild routine history: %w", err)
	}
	return nil
}

// RecordEvent stores a supervision event unless its key exists.
func (r *Maintenance) RecordEvent(ctx context.Context, ev maintenance.SupervisionEvent) (bool, error) {
	res, err := r.db.exec(ctx, `INSERT INTO supervision_events (event_key, kind, lift, estate, contractor, work_order_id, at, summary)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, ev.Key, ev.Kind, ev.Lift, ev.Estate, ev.Contractor, ev.WorkOrder, ms(ev.At), ev.Summary)
	if err != nil {
		return false, fmt.Errorf("record supervision event %s: %w", ev.Key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record supervision event %s: %w", ev.Key, err)
	}
	return n > 0, nil
}

// PendingEvents lists undelivered supervision events, oldest first.
func (r *Maintenance) PendingEvents(ctx context.Context) ([]maintenance.SupervisionEvent, error) {
	return r.events(ctx, `WHERE delivered_at IS NULL`)
}

// SupervisionEvents lists every supervision event, oldest first.
func (r *Maintenance) SupervisionEvents(ctx context.Context) ([]maintenance.SupervisionEvent, error) {
	return r.events(ctx, ``)
}

func (r *Maintenance) events(ctx context.Context, where string) ([]maintenance.SupervisionEvent, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT event_key, kind, lift, estate, contractor, work_order_id, at, summary
		FROM supervision_events `+where+` ORDER BY at, event_key`)
	if err != nil {
		return nil, fmt.Errorf("supervision events: %w", err)
	}
	defer rows.Close()
	var out []maintenance.SupervisionEvent
	for rows.Next() {
		var ev maintenance.SupervisionEvent
		var at int64
		if err := rows.Scan(&ev.Key, &ev.Kind, &ev.Lift, &ev.Estate, &ev.Contractor, &ev.WorkOrder, &at, &ev.Summary); err != nil {
			return nil, fmt.Errorf("scan supervision event: %w", err)
		}
		ev.At = fromMS(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// MarkDelivered records that the event with key reached the sink.
func (r *Maintenance) MarkDelivered(ctx context.Context, key string, at time.Time) error {
	if _, err := r.db.exec(ctx, `UPDATE supervision_events SET delivered_at = ? WHERE event_key = ?`, ms(at), key); err != nil {
		return fmt.Errorf("mark supervision event %s delivered: %w", key, err)
	}
	return nil
}
