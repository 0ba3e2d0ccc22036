package store

import (
	"context"
	"fmt"
	"time"
)

// CounterDay is a lift's lifetime counters as seen on one Shanghai day
// (Day, YYYY-MM-DD) at the terminal's event time At.
type CounterDay struct {
	Lift                    string
	Day                     string
	At                      time.Time
	Trips, DoorCycles, RunS int64
}

// Counters keeps one counter snapshot a lift a day (migration 0013), the
// history of the on-demand formula's daily usage means.
type Counters struct{ db *DB }

// Counters returns the counter-snapshot repository.
func (s *DB) Counters() *Counters { return &Counters{db: s} }

// SaveFirst stores each snapshot unless its lift already has one for its
// day (the first of the day is kept), all in one transaction.
func (r *Counters) SaveFirst(ctx context.Context, cs []CounterDay) error {
	if len(cs) == 0 {
		return nil
	}
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, r.db.Dialect.Rebind(`INSERT INTO counter_days (lift, day, at, trips, door_cycles, run_s)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lift, day) DO NOTHING`))
	if err != nil {
		return fmt.Errorf("save counter snapshots: %w", err)
	}
	defer stmt.Close()
	for _, c := range cs {
		if _, err := stmt.ExecContext(ctx, c.Lift, c.Day, ms(c.At), c.Trips, c.DoorCycles, c.RunS); err != nil {
			return fmt.Errorf("save counter snapshot of %s on %s: %w", c.Lift, c.Day, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save counter snapshots: %w", err)
	}
	return nil
}

// Since lists lift's snapshots taken at or after from, oldest first.
func (r *Counters) Since(ctx context.Context, lift string, from time.Time) ([]CounterDay, error) {
	rows, err := r.db.SQL.QueryContext(ctx, r.db.Dialect.Rebind(`SELECT day, at, trips, door_cycles, run_s FROM counter_days
		WHERE lift = ? AND at >= ? ORDER BY at`), lift, ms(from))
	if err != nil {
		return nil, fmt.Errorf("counter snapshots of %s: %w", lift, err)
	}
	defer rows.Close()
	var out []CounterDay
	for rows.Next() {
		c := CounterDay{Lift: lift}
		var at int64
		if err := rows.Scan(&c.Day, &at, &c.Trips, &c.DoorCycles, &c.RunS); err != nil {
			return nil, fmt.Errorf("scan counter snapshot: %w", err)
		}
		c.At = fromMS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}
