package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/maintenance"
)

// bankLines makes n valid bank lines of lift with txn ids prefix-0, …
func bankLines(lift, prefix string, n int) []fund.BankLine {
	d, _ := civil.Parse("2025-03-01")
	out := make([]fund.BankLine, n)
	for i := range out {
		out[i] = fund.BankLine{Lift: lift, TxnID: fmt.Sprintf("%s-%d", prefix, i), Line: i + 2, Date: d, ValueDate: d,
			AmountFen: int64(100 + i), Counterparty: "业主 3-301", Reference: fmt.Sprintf("REF-%d", i), BalanceFen: int64(i)}
	}
	return out
}

func bankImportOf(lift, hash string, n int) *fund.BankImport {
	return &fund.BankImport{Lift: lift, FileName: hash + ".csv", FileHash: hash, At: at(0), Actor: "treasurer", Lines: n}
}

// stagedRows counts lift's bank lines and imports in the tables, staged
// or not.
func stagedRows(t *testing.T, db *DB, lift string) (lines, imports int) {
	t.Helper()
	q := db.Dialect.Rebind
	if err := db.SQL.QueryRow(q(`SELECT COUNT(*) FROM bank_lines WHERE lift = ?`), lift).Scan(&lines); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL.QueryRow(q(`SELECT COUNT(*) FROM bank_imports WHERE lift = ?`), lift).Scan(&imports); err != nil {
		t.Fatal(err)
	}
	return lines, imports
}

// TestBankImportChunksLetAlertsThrough (issue 17, point 10): a bank import
// is written in chunks of BulkChunk lines, each its own transaction. An
// alert written while a chunk is open is written before the next chunk
// begins (SQLite: the alert waits for that one chunk, then goes first), or
// at once without waiting for it (PostgreSQL). (That readers see nothing
// of a staged import: TestBankImportAllOrNothing.)
func TestBankImportChunksLetAlertsThrough(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		n := 3*BulkChunk + 17
		lines := bankLines("L1", "T", n)
		ids, err := db.Alerts().ReserveAlertIDs(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		a := newAlert("JW-0001", alerts.TypeEntrapment, time.Minute)
		a.ID = ids[0]
		var mu sync.Mutex
		var log []string // chunk stages, in order
		lineChunk := 0
		var written chan error
		db.bulkHook = func(what, stage string) error {
			mu.Lock()
			defer mu.Unlock()
			if what != "stage bank lines" {
				log = append(log, what+" "+stage)
				return nil
			}
			if stage == "begun" {
				lineChunk++
			}
			log = append(log, fmt.Sprintf("lines %d %s", lineChunk, stage))
			switch {
			case lineChunk == 2 && stage == "begun":
				// An entrapment's alert is written while this chunk is open.
				written = make(chan error, 1)
				go func() { written <- db.Alerts().WriteAlerts(ctx, []alerts.AlertWrite{{Alert: a}}) }()
				if db.gate == nil { // PostgreSQL: no wait for the chunk at all
					select {
					case err := <-written:
						if err != nil {
							t.Errorf("alert write: %v", err)
						}
						log = append(log, "alert written")
					case <-time.After(10 * time.Second):
						t.Errorf("the alert write waited for the bulk chunk")
					}
					return nil
				}
				itest.WaitUntil(t, 10*time.Second, "the alert write pending", func() bool {
					db.gate.mu.Lock()
					defer db.gate.mu.Unlock()
					return db.gate.urgent > 0
				})
			case lineChunk == 3 && stage == "begun" && db.gate != nil:
				// The next chunk begins only once the alert is written.
				if got, err := db.Alerts().Alert(ctx, a.ID); err != nil || got.ID != a.ID {
					t.Errorf("chunk 3 began before the pending alert was written: %v", err)
				}
				if err := <-written; err != nil {
					t.Errorf("alert write: %v", err)
				}
				log = append(log, "alert written before")
			}
			return nil
		}
		res, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h1", n), lines)
		if err != nil {
			t.Fatal(err)
		}
		if res.New != n || res.Import.New != n || res.AlreadyImported {
			t.Fatalf("import result %+v", res)
		}
		mu.Lock()
		want := []string{"stage bank import begun", "stage bank import committed", "lines 1 begun", "lines 1 committed", "lines 2 begun"}
		if db.gate == nil {
			want = append(want, "alert written", "lines 2 committed", "lines 3 begun")
		} else {
			want = append(want, "lines 2 committed", "lines 3 begun", "alert written before")
		}
		want = append(want, "lines 3 committed", "lines 4 begun", "lines 4 committed", "publish bank import begun", "publish bank import committed")
		if fmt.Sprint(log) != fmt.Sprint(want) {
			t.Errorf("chunks and alert in the order\n%q\nwant\n%q", log, want)
		}
		mu.Unlock()
		got, err := db.Fund().BankLines(ctx, "L1", civil.Date{}, civil.Date{})
		if err != nil || len(got) != n {
			t.Fatalf("published: %d lines (%v), want %d", len(got), err, n)
		}
	})
}

// TestBankImportAllOrNothing: an import that fails while staging leaves
// nothing a reader sees and nothing in the tables; one whose process died
// while staging (its staged rows left behind) is invisible, and the next
// import of the lift drops it and records the file whole; a conflict on
// the file's last line records nothing.
func TestBankImportAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		n := 2*BulkChunk + 5
		lines := bankLines("L1", "T", n)
		boom := errors.New("disk full")
		chunks := 0
		db.bulkHook = func(what, stage string) error {
			if what == "stage bank lines" && stage == "committed" {
				if chunks++; chunks == 2 {
					return boom
				}
			}
			return nil
		}
		if _, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h1", n), bankLines("L1", "T", n)); !errors.Is(err, boom) {
			t.Fatalf("failed import: %v", err)
		}
		if l, i := stagedRows(t, db, "L1"); l != 0 || i != 0 {
			t.Fatalf("a failed import left %d lines and %d imports", l, i)
		}
		db.bulkHook = nil

		// A crash while staging: the rows stay, as a process that died
		// leaves them.
		q := db.Dialect.Rebind
		var id int64
		if err := db.SQL.QueryRow(q(`INSERT INTO bank_imports (lift, file_name, file_hash, imported_at, actor, lines, new_lines, state)
			VALUES ('L1', 'x.csv', 'h1', 0, 'treasurer', 1, 1, 'staging') RETURNING id`)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(q(`INSERT INTO bank_lines (lift, txn_id, import_id, line_no, booked, value_date, amount_fen, counterparty,
			reference, balance_fen) VALUES ('L1', 'T-0', ?, 2, '2025-03-01', '2025-03-01', 999, '', '', 0)`), id); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Fund().BankLines(ctx, "L1", civil.Date{}, civil.Date{}); err != nil || len(got) != 0 {
			t.Fatalf("a staged import is read: %d lines (%v)", len(got), err)
		}
		res, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h1", n), lines)
		if err != nil || res.New != n || res.Duplicates != 0 || res.AlreadyImported {
			t.Fatalf("import after a crash: %+v %v", res, err)
		}
		if l, i := stagedRows(t, db, "L1"); l != n || i != 1 {
			t.Fatalf("after the import: %d lines and %d imports, want %d and 1", l, i, n)
		}
		again, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h1", n), lines)
		if err != nil || !again.AlreadyImported {
			t.Fatalf("the same file again: %+v %v", again, err)
		}

		// The last line of a new file conflicts with a recorded one.
		more := append(bankLines("L1", "U", n-1), lines[0])
		more[n-1].AmountFen++
		more[n-1].Line = n + 1
		if _, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h2", n), more); !errors.Is(err, fund.ErrBankConflict) {
			t.Fatalf("conflict: %v", err)
		}
		if l, i := stagedRows(t, db, "L1"); l != n || i != 1 {
			t.Fatalf("a refused file left rows: %d lines and %d imports", l, i)
		}
	})
}

// TestBulkReadsLeaveTheSharedConnection: ledger, bank and work order
// reads, which an export or a multi-year reconciliation makes at city
// size, run on the bulk connection: while the shared one is held (as a
// long read would hold it), they still answer, and the other way round,
// so the API's sign-in never waits for them (SQLite; PostgreSQL: a pool).
func TestBulkReadsLeaveTheSharedConnection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.Fund().ImportBank(ctx, bankImportOf("L1", "h1", 3), bankLines("L1", "T", 3)); err != nil {
			t.Fatal(err)
		}
		conn, err := db.SQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.Fund().BankLines(ctx, "L1", civil.Date{}, civil.Date{}); err != nil || len(got) != 3 {
			t.Fatalf("bank lines with the shared connection held: %d, %v", len(got), err)
		}
		if _, err := db.Fund().Entries(ctx, "L1", civil.Date{}, civil.Date{}); err != nil {
			t.Fatalf("ledger with the shared connection held: %v", err)
		}
		if _, err := db.Fund().HouseholdLines(ctx, 1, civil.Date{}); err != nil {
			t.Fatalf("statement lines with the shared connection held: %v", err)
		}
		if _, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{}); err != nil {
			t.Fatalf("work orders with the shared connection held: %v", err)
		}
		conn.Close()
		bulk, err := db.bulkSQL.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer bulk.Close()
		if _, err := db.Lifts().ListLifts(ctx); err != nil {
			t.Fatalf("the shared connection with the bulk one held: %v", err)
		}
	})
}
