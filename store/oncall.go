package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/oncall"
)

// OnCall is the repository of on-call rosters (oncall.Store).
type OnCall struct{ db *DB }

// OnCall returns the roster repository.
func (s *DB) OnCall() *OnCall { return &OnCall{db: s} }

var _ oncall.Store = (*OnCall)(nil)

func (r *OnCall) q(s string) string { return r.db.Dialect.Rebind(s) }

// LoadRoster reads every person (by id) and duty entry (in the order added).
func (r *OnCall) LoadRoster(ctx context.Context) ([]oncall.Person, []oncall.Duty, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT id, name, role, user_name, phone, lang, contractor, estate, contacts, source
		FROM oncall_people ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("oncall people: %w", err)
	}
	defer rows.Close()
	var people []oncall.Person
	for rows.Next() {
		var p oncall.Person
		var contacts string
		if err := rows.Scan(&p.ID, &p.Name, &p.Role, &p.User, &p.Phone, &p.Lang, &p.Contractor, &p.Estate, &contacts, &p.Source); err != nil {
			return nil, nil, fmt.Errorf("scan oncall person: %w", err)
		}
		if err := json.Unmarshal([]byte(contacts), &p.Contacts); err != nil {
			return nil, nil, fmt.Errorf("oncall person %s: contacts: %w", p.ID, err)
		}
		people = append(people, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("oncall people: %w", err)
	}
	drows, err := r.db.SQL.QueryContext(ctx, `SELECT id, person, contractor, estate, subdistrict, days, from_min, to_min, on_date, day_off, source
		FROM oncall_duty ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("oncall duty: %w", err)
	}
	defer drows.Close()
	var duty []oncall.Duty
	for drows.Next() {
		var d oncall.Duty
		var days string
		if err := drows.Scan(&d.ID, &d.Person, &d.Contractor, &d.Estate, &d.Subdistrict, &days, &d.Window.From, &d.Window.To, &d.Window.Date, &d.Off, &d.Source); err != nil {
			return nil, nil, fmt.Errorf("scan oncall duty: %w", err)
		}
		if days != "" {
			for _, s := range strings.Split(days, ",") {
				wd, err := oncall.ParseDay(s)
				if err != nil {
					return nil, nil, fmt.Errorf("oncall duty %d: %w", d.ID, err)
				}
				d.Window.Days = append(d.Window.Days, wd)
			}
		}
		duty = append(duty, d)
	}
	return people, duty, drows.Err()
}

func dayList(w oncall.Window) string { return strings.Join(w.DayStrings(), ",") }

func (r *OnCall) putPerson(ctx context.Context, q queryer, p oncall.Person) (bool, error) {
	contacts, err := json.Marshal(p.Contacts)
	if err != nil {
		return false, fmt.Errorf("contacts of %s: %w", p.ID, err)
	}
	res, err := q.ExecContext(ctx, r.q(`UPDATE oncall_people SET name = ?, role = ?, user_name = ?, phone = ?, lang = ?, contractor = ?, estate = ?,
		contacts = ?, source = ? WHERE id = ?`), p.Name, p.Role, p.User, p.Phone, p.Lang, p.Contractor, p.Estate, string(contacts), p.Source, p.ID)
	if err != nil {
		return false, fmt.Errorf("update oncall person %s: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return false, nil
	}
	if _, err := q.ExecContext(ctx, r.q(`INSERT INTO oncall_people (id, name, role, user_name, phone, lang, contractor, estate, contacts, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), p.ID, p.Name, p.Role, p.User, p.Phone, p.Lang, p.Contractor, p.Estate, string(contacts), p.Source); err != nil {
		return false, fmt.Errorf("insert oncall person %s: %w", p.ID, err)
	}
	return true, nil
}

// inTx runs fn in a transaction serialised with the other roster edits.
func (r *OnCall) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := r.db.lockKey(ctx, tx, "liftwatch.oncall"); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit roster: %w", err)
	}
	return nil
}

// PutPerson inserts or replaces the person of p.ID.
func (r *OnCall) PutPerson(ctx context.Context, p oncall.Person) (created bool, err error) {
	err = r.inTx(ctx, func(tx *sql.Tx) error {
		created, err = r.putPerson(ctx, tx, p)
		return err
	})
	return created, err
}

// DeletePerson deletes a person (oncall.ErrNotFound if there is none).
func (r *OnCall) DeletePerson(ctx context.Context, id string) error {
	res, err := r.db.exec(ctx, `DELETE FROM oncall_people WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete oncall person %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("person %q: %w", id, oncall.ErrNotFound)
	}
	return nil
}

func (r *OnCall) addDuty(ctx context.Context, q queryer, d *oncall.Duty) error {
	err := q.QueryRowContext(ctx, r.q(`INSERT INTO oncall_duty (person, contractor, estate, subdistrict, days, from_min, to_min, on_date, day_off, source)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), d.Person, d.Contractor, d.Estate, d.Subdistrict, dayList(d.Window),
		d.Window.From, d.Window.To, d.Window.Date, d.Off, d.Source).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("insert oncall duty: %w", err)
	}
	return nil
}

// AddDuty inserts d and sets its ID.
func (r *OnCall) AddDuty(ctx context.Context, d *oncall.Duty) error {
	return r.inTx(ctx, func(tx *sql.Tx) error { return r.addDuty(ctx, tx, d) })
}

// PutDuty replaces duty entry d.ID (oncall.ErrNotFound if there is none).
func (r *OnCall) PutDuty(ctx context.Context, d oncall.Duty) error {
	res, err := r.db.exec(ctx, `UPDATE oncall_duty SET person = ?, contractor = ?, estate = ?, subdistrict = ?, days = ?, from_min = ?, to_min = ?,
		on_date = ?, day_off = ?, source = ? WHERE id = ?`, d.Person, d.Contractor, d.Estate, d.Subdistrict, dayList(d.Window), d.Window.From, d.Window.To,
		d.Window.Date, d.Off, d.Source, d.ID)
	if err != nil {
		return fmt.Errorf("update oncall duty %d: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("duty entry %d: %w", d.ID, oncall.ErrNotFound)
	}
	return nil
}

// DeleteDuty deletes duty entry id (oncall.ErrNotFound if there is none).
func (r *OnCall) DeleteDuty(ctx context.Context, id int64) error {
	res, err := r.db.exec(ctx, `DELETE FROM oncall_duty WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete oncall duty %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("duty entry %d: %w", id, oncall.ErrNotFound)
	}
	return nil
}

// ReplaceSource replaces every entry of source in one transaction (see
// oncall.Store).
func (r *OnCall) ReplaceSource(ctx context.Context, source string, people []oncall.Person, duty []oncall.Duty, keep []string) error {
	if source == "" || source == oncall.SourceWeb {
		return errors.New("replace roster: the web's entries are never replaced in bulk")
	}
	return r.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM oncall_duty WHERE source = ?`), source); err != nil {
			return fmt.Errorf("replace roster: %w", err)
		}
		for _, id := range keep {
			if _, err := tx.ExecContext(ctx, r.q(`UPDATE oncall_people SET source = ? WHERE id = ?`), oncall.SourceWeb, id); err != nil {
				return fmt.Errorf("replace roster: keep %s: %w", id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, r.q(`DELETE FROM oncall_people WHERE source = ?`), source); err != nil {
			return fmt.Errorf("replace roster: %w", err)
		}
		for _, p := range people {
			p.Source = source
			if _, err := r.putPerson(ctx, tx, p); err != nil {
				return err
			}
		}
		for i := range duty {
			duty[i].Source = source
			if err := r.addDuty(ctx, tx, &duty[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
