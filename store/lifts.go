package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/liftwatch/liftwatch/registry"
)

// Lifts is the registry's store.
type Lifts struct{ db *DB }

// Lifts returns the lift repository.
func (s *DB) Lifts() *Lifts { return &Lifts{db: s} }

var _ registry.Store = (*Lifts)(nil)

// UpsertLifts inserts or replaces lifts in one transaction.
func (r *Lifts) UpsertLifts(ctx context.Context, lifts []registry.Lift) error {
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	q := r.db.Dialect.Rebind(`INSERT INTO lifts (id, reg_code, estate, estate_name, building, unit, address, landings,
		half_landings, rated_speed, install_date, property_manager, contractor, cert_expiry)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET reg_code = excluded.reg_code, estate = excluded.estate,
		estate_name = excluded.estate_name, building = excluded.building, unit = excluded.unit,
		address = excluded.address, landings = excluded.landings, half_landings = excluded.half_landings,
		rated_speed = excluded.rated_speed, install_date = excluded.install_date,
		property_manager = excluded.property_manager, contractor = excluded.contractor,
		cert_expiry = excluded.cert_expiry`)
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("prepare upsert: %w", err)
	}
	defer stmt.Close()
	for _, l := range lifts {
		hl := make([]string, len(l.HalfLandings))
		for i, h := range l.HalfLandings {
			hl[i] = strconv.Itoa(h)
		}
		if _, err := stmt.ExecContext(ctx, l.ID, l.RegCode, l.Estate, l.EstateName, l.Building, l.Unit, l.Address,
			l.Landings, strings.Join(hl, ";"), l.RatedSpeed, l.InstallDate, l.PropertyManager, l.Contractor, l.CertExpiry); err != nil {
			return fmt.Errorf("upsert lift %s: %w", l.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit lifts: %w", err)
	}
	return nil
}

// ListLifts returns every lift ordered by ID.
func (r *Lifts) ListLifts(ctx context.Context) ([]registry.Lift, error) {
	rows, err := r.db.SQL.QueryContext(ctx, `SELECT id, reg_code, estate, estate_name, building, unit, address, landings,
		half_landings, rated_speed, install_date, property_manager, contractor, cert_expiry FROM lifts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list lifts: %w", err)
	}
	defer rows.Close()
	var out []registry.Lift
	for rows.Next() {
		var l registry.Lift
		var hl string
		if err := rows.Scan(&l.ID, &l.RegCode, &l.Estate, &l.EstateName, &l.Building, &l.Unit, &l.Address, &l.Landings,
			&hl, &l.RatedSpeed, &l.InstallDate, &l.PropertyManager, &l.Contractor, &l.CertExpiry); err != nil {
			return nil, fmt.Errorf("scan lift: %w", err)
		}
		if hl != "" {
			for _, s := range strings.Split(hl, ";") {
				h, err := strconv.Atoi(s)
				if err != nil {
					return nil, fmt.Errorf("lift %s: corrupt half_landings %q", l.ID, hl)
				}
				l.HalfLandings = append(l.HalfLandings, h)
			}
		}
		out = append(out, l)
	}
	return out, rows.Err()
}
