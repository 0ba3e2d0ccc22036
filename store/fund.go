package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
)

// Fund is the repository of the owners' fund: households, the append-only
// ledger and the supervised account's bank lines.
type Fund struct{ db *DB }

// Fund returns the fund repository.
func (s *DB) Fund() *Fund { return &Fund{db: s} }

var _ fund.Store = (*Fund)(nil)

func (r *Fund) q(s string) string { return r.db.Dialect.Rebind(s) }

// SaveHouseholds upserts households by (lift, unit) in one transaction.
func (r *Fund) SaveHouseholds(ctx context.Context, hs []fund.Household) error {
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	for i := range hs {
		h := &hs[i]
		err := tx.QueryRowContext(ctx, r.q(`INSERT INTO fund_households (lift, unit, floor, share, contact) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (lift, unit) DO UPDATE SET floor = excluded.floor, share = excluded.share, contact = excluded.contact
			RETURNING id`), h.Lift, h.Unit, h.Floor, h.Share, h.Contact).Scan(&h.ID)
		if err != nil {
			return fmt.Errorf("save household %s/%s: %w", h.Lift, h.Unit, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit households: %w", err)
	}
	return nil
}

const householdCols = `id, lift, unit, floor, share, contact`

func scanHousehold(s interface{ Scan(...any) error }) (fund.Household, error) {
	var h fund.Household
	err := s.Scan(&h.ID, &h.Lift, &h.Unit, &h.Floor, &h.Share, &h.Contact)
	return h, err
}

// Households returns a lift's households by floor then unit.
func (r *Fund) Households(ctx context.Context, lift string) ([]fund.Household, error) {
	rows, err := r.db.SQL.QueryContext(ctx, r.q(`SELECT `+householdCols+` FROM fund_households WHERE lift = ? ORDER BY floor, unit`), lift)
	if err != nil {
		return nil, fmt.Errorf("households of %s: %w", lift, err)
	}
	defer rows.Close()
	var out []fund.Household
	for rows.Next() {
		h, err := scanHousehold(rows)
		if err != nil {
			return nil, fmt.Errorf("scan household: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// Household returns one household.
func (r *Fund) Household(ctx context.Context, id int64) (*fund.Household, error) {
	h, err := scanHousehold(r.db.SQL.QueryRowContext(ctx, r.q(`SELECT `+householdCols+` FROM fund_households WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("household %d: %w", id, fund.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("household %d: %w", id, err)
	}
	return &h, nil
}

// InsertEntry stores an entry and its lines atomically, serialised per lift.
func (r *Fund) InsertEntry(ctx context.Context, e *fund.Entry) (*fund.Entry, bool, error) {
	tx, err := r.db.SQL.BeginTx(ctx, nil)
	if err != nil {
		return nil, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := r.db.lockKey(ctx, tx, "liftwatch.fund."+e.Lift); err != nil {
		return nil, false, err
	}
	if e.SourceRef != "" {
		var id int64
		err := tx.QueryRowContext(ctx, r.q(`SELECT id FROM fund_entries WHERE source_ref = ?`), e.SourceRef).Scan(&id)
		if err == nil {
			ex, err := r.entry(ctx, tx, id)
			return ex, false, err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("look up source %s: %w", e.SourceRef, err)
		}
	}
	var reverses any
	if e.Reverses != 0 {
		reverses = e.Reverses
		var n int
		if err := tx.QueryRowContext(ctx, r.q(`SELECT COUNT(*) FROM fund_entries WHERE reverses = ?`), e.Reverses).Scan(&n); err != nil {
			return nil, false, fmt.Errorf("look up reversal of %d: %w", e.Reverses, err)
		}
		if n > 0 {
			return nil, false, fmt.Errorf("entry %d: %w", e.Reverses, fund.ErrAlreadyReversed)
		}
	}
	err = tx.QueryRowContext(ctx, r.q(`INSERT INTO fund_entries (lift, kind, category, amount_fen, entry_date, recorded_at, actor, reason,
		source_ref, bank_ref, reverses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), e.Lift, string(e.Kind), string(e.Category),
		e.AmountFen, e.Date.String(), ms(e.RecordedAt), string(e.Actor), e.Reason, e.SourceRef, e.BankRef, reverses).Scan(&e.ID)
	if err != nil {
		return nil, false, fmt.Errorf("insert entry: %w", err)
	}
	for _, l := range e.Lines {
		if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO fund_lines (entry_id, household_id, amount_fen) VALUES (?, ?, ?)`),
			e.ID, l.Household, l.AmountFen); err != nil {
			return nil, false, fmt.Errorf("insert line of entry %d: %w", e.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, false, fmt.Errorf("commit entry: %w", err)
	}
	return nil, true, nil
}

const entryCols = `e.id, e.lift, e.kind, e.category, e.amount_fen, e.entry_date, e.recorded_at, e.actor, e.reason, e.source_ref,
	e.bank_ref, COALESCE(e.reverses, 0), COALESCE((SELECT rv.id FROM fund_entries rv WHERE rv.reverses = e.id), 0)`

func scanEntry(s interface{ Scan(...any) error }, extra ...any) (fund.Entry, error) {
	var e fund.Entry
	var kind, cat, date, actor string
	var rec int64
	err := s.Scan(append([]any{&e.ID, &e.Lift, &kind, &cat, &e.AmountFen, &date, &rec, &actor, &e.Reason, &e.SourceRef, &e.BankRef,
		&e.Reverses, &e.ReversedBy}, extra...)...)
	if err != nil {
		return e, err
	}
	e.Kind, e.Category, e.Actor, e.RecordedAt = fund.Kind(kind), fund.Category(cat), fund.Actor(actor), fromMS(rec)
	if e.Date, err = civil.Parse(date); err != nil {
		return e, fmt.Errorf("entry %d: %w", e.ID, err)
	}
	return e, nil
}

// Entry returns one entry with its lines.
func (r *Fund) Entry(ctx context.Context, id int64) (*fund.Entry, error) {
	return r.entry(ctx, r.db.SQL, id)
}

func (r *Fund) entry(ctx context.Context, q queryer, id int64) (*fund.Entry, error) {
	e, err := scanEntry(q.QueryRowContext(ctx, r.q(`SELECT `+entryCols+` FROM fund_entries e WHERE e.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("entry %d: %w", id, fund.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("entry %d: %w", id, err)
	}
	es := []fund.Entry{e}
	if err := r.fillLines(ctx, q, es); err != nil {
		return nil, err
	}
	return &es[0], nil
}

// fillLines loads the lines of entries.
func (r *Fund) fillLines(ctx context.Context, q queryer, es []fund.Entry) error {
	if len(es) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(es))
	for i := range es {
		idx[es[i].ID] = i
	}
	// Chunks keep the parameter count within every driver's limit.
	for start := 0; start < len(es); start += 500 {
		end := min(start+500, len(es))
		args := make([]any, 0, end-start)
		for _, e := range es[start:end] {
			args = append(args, e.ID)
		}
		rows, err := q.QueryContext(ctx, r.q(`SELECT entry_id, household_id, amount_fen FROM fund_lines WHERE entry_id IN (?`+
			strings.Repeat(", ?", len(args)-1)+`) ORDER BY entry_id, household_id`), args...)
		if err != nil {
			return fmt.Errorf("entry lines: %w", err)
		}
		for rows.Next() {
			var id int64
			var l fund.Line
			if err := rows.Scan(&id, &l.Household, &l.AmountFen); err != nil {
				rows.Close()
				return fmt.Errorf("scan line: %w", err)
			}
			es[idx[id]].Lines = append(es[idx[id]].Lines, l)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("entry lines: %w", err)
		}
	}
	return nil
}

// dateRange adds the SQL condition and arguments of an inclusive date range
// on col (text dates compare as dates); a zero bound is open.
func dateRange(col string, from, to civil.Date, args []any) (string, []any) {
	cond := ""
	if !from.IsZero() {
		cond += ` AND ` + col + ` >= ?`
		args = append(args, from.String())
	}
	if !to.IsZero() {
		cond += ` AND ` + col + ` <= ?`
		args = append(args, to.String())
	}
	return cond, args
}

// Entries returns a lift's entries dated from..to inclusive, with lines.
// Ledger reads that may span years (statements, reconciliation, balances)
// run on the bulk connection (DB.bulkSQL), never holding the one the API's
// sign-in uses.
func (r *Fund) Entries(ctx context.Context, lift string, from, to civil.Date) ([]fund.Entry, error) {
	cond, args := dateRange("e.entry_date", from, to, []any{lift})
	rows, err := r.db.bulkSQL.QueryContext(ctx, r.q(`SELECT `+entryCols+` FROM fund_entries e WHERE e.lift = ?`+cond+
		` ORDER BY e.entry_date, e.id`), args...)
	if err != nil {
		return nil, fmt.Errorf("entries of %s: %w", lift, err)
	}
	var out []fund.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan entry: %w", err)
		}
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("entries of %s: %w", lift, err)
	}
	return out, r.fillLines(ctx, r.db.bulkSQL, out)
}

// HouseholdLines returns the entries touching a household up to to, each
// with only that household's line.
func (r *Fund) HouseholdLines(ctx context.Context, household int64, to civil.Date) ([]fund.Entry, error) {
	cond, args := dateRange("e.entry_date", civil.Date{}, to, []any{household})
	rows, err := r.db.bulkSQL.QueryContext(ctx, r.q(`SELECT `+entryCols+`, l.amount_fen FROM fund_lines l
		JOIN fund_entries e ON e.id = l.entry_id WHERE l.household_id = ?`+cond+` ORDER BY e.entry_date, e.id`), args...)
	if err != nil {
		return nil, fmt.Errorf("lines of household %d: %w", household, err)
	}
	defer rows.Close()
	var out []fund.Entry
	for rows.Next() {
		var amt int64
		e, err := scanEntry(rows, &amt)
		if err != nil {
			return nil, fmt.Errorf("scan household line: %w", err)
		}
		e.Lines = []fund.Line{{Household: household, AmountFen: amt}}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (r *Fund) bankImport(ctx context.Context, q queryer, lift, hash string) (*fund.BankImport, error) {
	var b fund.BankImport
	var at int64
	var actor string
	err := q.QueryRowContext(ctx, r.q(`SELECT id, lift, file_name, file_hash, imported_at, actor, lines, new_lines FROM bank_imports
		WHERE lift = ? AND file_hash = ? AND state = 'done'`), lift, hash).Scan(&b.ID, &b.Lift, &b.FileName, &b.FileHash, &at, &actor, &b.Lines, &b.New)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("look up bank import: %w", err)
	}
	b.At, b.Actor = fromMS(at), fund.Actor(actor)
	return &b, nil
}

const bankCols = `id, lift, txn_id, import_id, line_no, booked, value_date, amount_fen, counterparty, reference, balance_fen`

func (r *Fund) scanBankLines(rows *sql.Rows, err error) ([]fund.BankLine, error) {
	if err != nil {
		return nil, fmt.Errorf("bank lines: %w", err)
	}
	defer rows.Close()
	var out []fund.BankLine
	for rows.Next() {
		var b fund.BankLine
		var booked, value string
		if err := rows.Scan(&b.ID, &b.Lift, &b.TxnID, &b.ImportID, &b.Line, &booked, &value, &b.AmountFen, &b.Counterparty,
			&b.Reference, &b.BalanceFen); err != nil {
			return nil, fmt.Errorf("scan bank line: %w", err)
		}
		if b.Date, err = civil.Parse(booked); err != nil {
			return nil, fmt.Errorf("bank line %d: %w", b.ID, err)
		}
		if b.ValueDate, err = civil.Parse(value); err != nil {
			return nil, fmt.Errorf("bank line %d: %w", b.ID, err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// BankLines returns a lift's bank lines booked from..to inclusive, of
// published imports only (an import being staged is not read).
func (r *Fund) BankLines(ctx context.Context, lift string, from, to civil.Date) ([]fund.BankLine, error) {
	cond, args := dateRange("booked", from, to, []any{lift})
	return r.scanBankLines(r.db.bulkSQL.QueryContext(ctx, r.q(`SELECT `+bankCols+` FROM bank_lines WHERE lift = ?`+cond+
		` AND import_id IN (SELECT id FROM bank_imports WHERE state = 'done') ORDER BY booked, id`), args...))
}
