package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// Trusteeship is the repository of lift managers, maintenance contracts and
// their audit trail.
type Trusteeship struct{ db *DB }

// Trusteeship returns the trusteeship repository.
func (s *DB) Trusteeship() *Trusteeship { return &Trusteeship{db: s} }

var _ trusteeship.Store = (*Trusteeship)(nil)

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// lockKey serialises, on PostgreSQL, the transactions of one subject (SQLite's
// single connection already does): a transaction-scoped advisory lock.
func (s *DB) lockKey(ctx context.Context, tx *sql.Tx, key string) error {
	if s.Dialect.Name != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, key); err != nil {
		return fmt.Errorf("lock %s: %w", key, err)
	}
	return nil
}

// InLift runs fn in a transaction serialised per lift.
func (r *Trusteeship) InLift(ctx context.Context, lift string, fn func(trusteeship.Tx) error) error {
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := r.db.lockKey(ctx, tx, "liftwatch.trusteeship."+lift); err != nil {
		return err
	}
	if err := fn(&trusteeTx{db: r.db, q: tx, lift: lift}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit trusteeship of %s: %w", lift, err)
	}
	return nil
}

// Managers returns a lift's manager periods, oldest first.
func (r *Trusteeship) Managers(ctx context.Context, lift string) ([]trusteeship.Manager, error) {
	return (&trusteeTx{db: r.db, q: r.db.SQL, lift: lift}).Managers(ctx)
}

// Contracts returns a lift's contracts, oldest first.
func (r *Trusteeship) Contracts(ctx context.Context, lift string) ([]trusteeship.Contract, error) {
	return (&trusteeTx{db: r.db, q: r.db.SQL, lift: lift}).Contracts(ctx)
}

// Audit returns a lift's audit trail, oldest first.
func (r *Trusteeship) Audit(ctx context.Context, lift string) ([]trusteeship.AuditRecord, error) {
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(`SELECT id, lift, at, actor, action, subject, before_json, after_json
		FROM trusteeship_audit WHERE lift = ? ORDER BY id`), lift)
	if err != nil {
		return nil, fmt.Errorf("audit of %s: %w", lift, err)
	}
	defer rows.Close()
	var out []trusteeship.AuditRecord
	for rows.Next() {
		var a trusteeship.AuditRecord
		var at int64
		var actor string
		if err := rows.Scan(&a.ID, &a.Lift, &at, &actor, &a.Action, &a.Subject, &a.Before, &a.After); err != nil {
			return nil, fmt.Errorf("scan audit: %w", err)
		}
		a.At, a.Actor = fromMS(at), trusteeship.Actor(actor)
		out = append(out, a)
	}
	return out, rows.Err()
}

type trusteeTx struct {
	db   *DB
	q    queryer
	lift string
}

func parseDate(s string) (civil.Date, error) {
	if s == "" {
		return civil.Date{}, nil
	}
	return civil.Parse(s)
}

func (t *trusteeTx) Managers(ctx context.Context) ([]trusteeship.Manager, error) {
	rows, err := t.q.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT id, lift, kind, name, contact, valid_from, valid_to
		FROM lift_managers WHERE lift = ? ORDER BY valid_from, id`), t.lift)
	if err != nil {
		return nil, fmt.Errorf("managers of %s: %w", t.lift, err)
	}
	defer rows.Close()
	var out []trusteeship.Manager
	for rows.Next() {
		var m trusteeship.Manager
		var kind, from, to string
		if err := rows.Scan(&m.ID, &m.Lift, &kind, &m.Name, &m.Contact, &from, &to); err != nil {
			return nil, fmt.Errorf("scan manager: %w", err)
		}
		m.Kind = trusteeship.ManagerKind(kind)
		if m.From, err = parseDate(from); err != nil {
			return nil, fmt.Errorf("manager %d: %w", m.ID, err)
		}
		if m.To, err = parseDate(to); err != nil {
			return nil, fmt.Errorf("manager %d: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (t *trusteeTx) Contracts(ctx context.Context) ([]trusteeship.Contract, error) {
	rows, err := t.q.QueryContext(ctx, t.db.Dialect.Rebind(`SELECT id, lift, contractor, start_date, end_date, mode, price_fen,
		good_standing, insured FROM maintenance_contracts WHERE lift = ? ORDER BY start_date, id`), t.lift)
	if err != nil {
		return nil, fmt.Errorf("contracts of %s: %w", t.lift, err)
	}
	defer rows.Close()
	var out []trusteeship.Contract
	for rows.Next() {
		var c trusteeship.Contract
		var mode, start, end string
		if err := rows.Scan(&c.ID, &c.Lift, &c.Contractor, &start, &end, &mode, &c.PriceFen, &c.GoodStanding, &c.Insured); err != nil {
			return nil, fmt.Errorf("scan contract: %w", err)
		}
		c.Mode = trusteeship.Mode(mode)
		if c.Start, err = parseDate(start); err != nil {
			return nil, fmt.Errorf("contract %d: %w", c.ID, err)
		}
		if c.End, err = parseDate(end); err != nil {
			return nil, fmt.Errorf("contract %d: %w", c.ID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (t *trusteeTx) check(m string) error {
	if m != t.lift {
		return fmt.Errorf("record of lift %s written in a transaction of lift %s", m, t.lift)
	}
	return nil
}

func (t *trusteeTx) InsertManager(ctx context.Context, m *trusteeship.Manager) error {
	if err := t.check(m.Lift); err != nil {
		return err
	}
	err := t.q.QueryRowContext(ctx, t.db.Dialect.Rebind(`INSERT INTO lift_managers (lift, kind, name, contact, valid_from, valid_to)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), m.Lift, string(m.Kind), m.Name, m.Contact, m.From.String(), m.To.String()).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("insert manager of %s: %w", m.Lift, err)
	}
	return nil
}

func (t *trusteeTx) UpdateManager(ctx context.Context, m *trusteeship.Manager) error {
	if err := t.check(m.Lift); err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, t.db.Dialect.Rebind(`UPDATE lift_managers SET kind = ?, name = ?, contact = ?, valid_from = ?,
		valid_to = ? WHERE id = ? AND lift = ?`), string(m.Kind), m.Name, m.Contact, m.From.String(), m.To.String(), m.ID, m.Lift)
	return affectedOne(res, err, "manager", m.ID)
}

func (t *trusteeTx) InsertContract(ctx context.Context, c *trusteeship.Contract) error {
	if err := t.check(c.Lift); err != nil {
		return err
	}
	err := t.q.QueryRowContext(ctx, t.db.Dialect.Rebind(`INSERT INTO maintenance_contracts (lift, contractor, start_date, end_date,
		mode, price_fen, good_standing, insured) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), c.Lift, c.Contractor, c.Start.String(),
		c.End.String(), string(c.Mode), c.PriceFen, c.GoodStanding, c.Insured).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("insert contract of %s: %w", c.Lift, err)
	}
	return nil
}

func (t *trusteeTx) UpdateContract(ctx context.Context, c *trusteeship.Contract) error {
	if err := t.check(c.Lift); err != nil {
		return err
	}
	res, err := t.q.ExecContext(ctx, t.db.Dialect.Rebind(`UPDATE maintenance_contracts SET contractor = ?, start_date = ?, end_date = ?,
		mode = ?, price_fen = ?, good_standing = ?, insured = ? WHERE id = ? AND lift = ?`), c.Contractor, c.Start.String(), c.End.String(),
		string(c.Mode), c.PriceFen, c.GoodStanding, c.Insured, c.ID, c.Lift)
	return affectedOne(res, err, "contract", c.ID)
}

func (t *trusteeTx) Audit(ctx context.Context, a *trusteeship.AuditRecord) error {
	if err := t.check(a.Lift); err != nil {
		return err
	}
	err := t.q.QueryRowContext(ctx, t.db.Dialect.Rebind(`INSERT INTO trusteeship_audit (lift, at, actor, action, subject, before_json,
		after_json) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), a.Lift, ms(a.At), string(a.Actor), a.Action, a.Subject, a.Before,
		a.After).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("audit %s of %s: %w", a.Action, a.Lift, err)
	}
	return nil
}

func affectedOne(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return fmt.Errorf("update %s %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("update %s %d: %w", what, id, err)
	}
	if n != 1 {
		return fmt.Errorf("update %s %d: %w", what, id, trusteeship.ErrNotFound)
	}
	return nil
}
