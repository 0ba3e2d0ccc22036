package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/fund"
)

// ImportBank records an import and its new lines, all or nothing for
// readers, without holding the database for the whole file (issue 17):
//
//  1. under the lift's bulk lock (bulkJob), a file whose hash was imported
//     before records nothing, and what an import that did not finish left
//     staged is dropped;
//  2. every line is checked against the lines recorded (reads only, in
//     chunks): a txn_id recorded with the same content is a duplicate,
//     with different content it refuses the whole file (ErrBankConflict)
//     before anything is written;
//  3. the import is staged: its record (state 'staging') and its new lines,
//     BulkChunk lines per transaction, each after the alert path's pending
//     writes (writeGate); readers do not see a staging import's lines;
//  4. it is published in one short transaction (state 'done').
//
// A failure in 3 or 4 drops what was staged (or the next import of the
// lift does, after a crash); the file can simply be imported again.
func (r *Fund) ImportBank(ctx context.Context, imp *fund.BankImport, lines []fund.BankLine) (fund.ImportResult, error) {
	res := fund.ImportResult{}
	run, release, err := r.db.bulkJob(ctx, "liftwatch.bank-import."+imp.Lift)
	if err != nil {
		return res, err
	}
	defer release()
	prev, err := r.bankImport(ctx, run, imp.Lift, imp.FileHash)
	if err == nil {
		return fund.ImportResult{Import: *prev, AlreadyImported: true}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return res, err
	}
	if err := r.dropStaged(ctx, run, imp.Lift); err != nil {
		return res, err
	}
	fresh, dups, err := r.newBankLines(ctx, run, imp.Lift, lines)
	if err != nil {
		return res, err
	}
	res.Duplicates = dups
	imp.New = len(fresh)
	if err := r.stage(ctx, run, imp, fresh); err != nil {
		if derr := r.dropStaged(context.WithoutCancel(ctx), run, imp.Lift); derr != nil {
			err = errors.Join(err, fmt.Errorf("drop the staged import: %w", derr))
		}
		return res, err
	}
	res.Import, res.New = *imp, imp.New
	return res, nil
}

// newBankLines returns the lines not recorded yet and the number already
// recorded alike; a txn_id recorded with other content is ErrBankConflict.
func (r *Fund) newBankLines(ctx context.Context, q queryer, lift string, lines []fund.BankLine) ([]fund.BankLine, int, error) {
	var fresh []fund.BankLine
	dups := 0
	const batch = 500 // parameters per query, within every driver's limit
	for start := 0; start < len(lines); start += batch {
		part := lines[start:min(start+batch, len(lines))]
		args := []any{lift}
		for _, l := range part {
			args = append(args, l.TxnID)
		}
		old, err := r.scanBankLines(q.QueryContext(ctx, r.q(`SELECT `+bankCols+` FROM bank_lines WHERE lift = ? AND txn_id IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`), args...))
		if err != nil {
			return nil, 0, err
		}
		byTxn := make(map[string]*fund.BankLine, len(old))
		for i := range old {
			byTxn[old[i].TxnID] = &old[i]
		}
		for i := range part {
			l := &part[i]
			o, ok := byTxn[l.TxnID]
			switch {
			case !ok:
				fresh = append(fresh, *l)
			case !o.Same(l):
				return nil, 0, fmt.Errorf("line %d, txn_id %s: %w (import %d, line %d)", l.Line, l.TxnID, fund.ErrBankConflict, o.ImportID, o.Line)
			default:
				dups++
			}
		}
	}
	return fresh, dups, nil
}

// stage writes the import's record and lines in chunks, then publishes it.
func (r *Fund) stage(ctx context.Context, run bulkRunner, imp *fund.BankImport, fresh []fund.BankLine) error {
	err := r.db.chunk(ctx, run, "stage bank import", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, r.q(`INSERT INTO bank_imports (lift, file_name, file_hash, imported_at, actor, lines, new_lines, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'staging') RETURNING id`), imp.Lift, imp.FileName, imp.FileHash, ms(imp.At), string(imp.Actor),
			imp.Lines, imp.New).Scan(&imp.ID)
	})
	if err != nil {
		return fmt.Errorf("record bank import: %w", err)
	}
	const perStmt = 100 // rows per INSERT: 1,000 parameters
	for start := 0; start < len(fresh); start += BulkChunk {
		part := fresh[start:min(start+BulkChunk, len(fresh))]
		err := r.db.chunk(ctx, run, "stage bank lines", func(tx *sql.Tx) error {
			for s := 0; s < len(part); s += perStmt {
				rows := part[s:min(s+perStmt, len(part))]
				args := make([]any, 0, 10*len(rows))
				for i := range rows {
					l := &rows[i]
					l.ImportID = imp.ID
					args = append(args, l.Lift, l.TxnID, l.ImportID, l.Line, l.Date.String(), l.ValueDate.String(), l.AmountFen,
						l.Counterparty, l.Reference, l.BalanceFen)
				}
				if _, err := tx.ExecContext(ctx, r.q(`INSERT INTO bank_lines (lift, txn_id, import_id, line_no, booked, value_date, amount_fen,
					counterparty, reference, balance_fen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`+
					strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(rows)-1)), args...); err != nil {
					return fmt.Errorf("record bank lines %d-%d: %w", rows[0].Line, rows[len(rows)-1].Line, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if (start/BulkChunk)%checkpointEvery == checkpointEvery-1 {
			if err := r.db.checkpoint(ctx, run); err != nil {
				return err
			}
		}
	}
	err = r.db.chunk(ctx, run, "publish bank import", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, r.q(`UPDATE bank_imports SET state = 'done' WHERE id = ?`), imp.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("publish bank import %d: %w", imp.ID, err)
	}
	return r.db.checkpoint(ctx, run)
}

// checkpointEvery is how many chunks of lines are staged between WAL
// checkpoints (about 1,000 pages of log).
const checkpointEvery = 16

// dropStaged deletes the staged imports of lift (and their lines, in
// chunks). The caller holds the lift's bulk lock, so none of them is
// being written.
func (r *Fund) dropStaged(ctx context.Context, run bulkRunner, lift string) error {
	rows, err := run.QueryContext(ctx, r.q(`SELECT id FROM bank_imports WHERE lift = ? AND state = 'staging'`), lift)
	if err != nil {
		return fmt.Errorf("staged bank imports: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("staged bank imports: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("staged bank imports: %w", err)
	}
	for _, id := range ids {
		for more := true; more; {
			err := r.db.chunk(ctx, run, "drop staged bank lines", func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, r.q(`DELETE FROM bank_lines WHERE id IN (SELECT id FROM bank_lines WHERE import_id = ? LIMIT ?)`),
					id, BulkChunk)
				if err != nil {
					return err
				}
				n, err := res.RowsAffected()
				more = n == BulkChunk
				return err
			})
			if err != nil {
				return fmt.Errorf("drop staged bank import %d: %w", id, err)
			}
		}
		err := r.db.chunk(ctx, run, "drop staged bank import", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, r.q(`DELETE FROM bank_imports WHERE id = ? AND state = 'staging'`), id)
			return err
		})
		if err != nil {
			return fmt.Errorf("drop staged bank import %d: %w", id, err)
		}
	}
	return nil
}
