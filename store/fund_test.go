package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/clock"
)

// newFund returns a fund service on db whose clock starts 2026-03-01 09:00
// Shanghai, with the households of lift L1: units 101 (floor 1) to 602, two
// per floor, at the default stepped shares.
func newFund(t *testing.T, db *DB, pol fund.Policies) (*fund.Service, *clock.Fake, []fund.Household) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, civil.Shanghai))
	svc := fund.NewService(db.Fund(), clk.Now, pol)
	var hs []fund.Household
	for floor := 1; floor <= 6; floor++ {
		for u := 1; u <= 2; u++ {
			hs = append(hs, fund.Household{Lift: "L1", Unit: fmt.Sprintf("%d0%d", floor, u), Floor: floor, Share: fund.DefaultShare(floor),
				Contact: "1380000" + fmt.Sprint(floor, u)})
		}
	}
	if err := svc.SaveHouseholds(context.Background(), "officer", hs); err != nil {
		t.Fatal(err)
	}
	return svc, clk, hs
}

func TestFundLedgerStatementBalances(t *testing.T) {
	forEachBackend(t, testFundLedgerStatementBalances)
}

func testFundLedgerStatementBalances(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, clk, hs := newFund(t, db, fund.DefaultPolicies())
	rng := rand.New(rand.NewPCG(3, 4))
	// February: every household above the ground floor pays in.
	for _, h := range hs[2:] {
		if _, err := svc.PostContribution(ctx, "treasurer", fund.ContributionInput{Lift: "L1", Unit: h.Unit, AmountFen: 100_000 + rng.Int64N(99),
			Date: cday("2026-02-10"), Reason: "2026 contribution", BankRef: "C-" + h.Unit}); err != nil {
			t.Fatal(err)
		}
	}
	// March: awkward amounts split by share, one corrected by a reversal.
	var exp []*fund.Entry
	for i, amt := range []int64{35_051, 1, 99_999, 12_345, 7} {
		clk.Advance(24 * time.Hour)
		e, err := svc.PostExpense(ctx, "maintenance", "L1", fund.SourceRef{Category: fund.CatWorkOrder, ID: fmt.Sprintf("WO-%d", i)}, amt, "repair")
		if err != nil {
			t.Fatal(err)
		}
		exp = append(exp, e)
	}
	if _, err := svc.Reverse(ctx, "auditor", exp[2].ID, "double-billed"); err != nil {
		t.Fatal(err)
	}

	var sumClosing, sumPeriod int64
	from, to := cday("2026-03-01"), cday("2026-03-31")
	for _, h := range hs {
		st, err := svc.Statement(ctx, h.ID, from, to)
		if err != nil {
			t.Fatalf("statement of %s: %v", h.Unit, err)
		}
		if h.Floor == 1 && (st.ClosingFen != 0 || len(st.Lines) != 0) {
			t.Fatalf("ground floor household charged: %+v", st)
		}
		if h.Floor > 1 && (st.OpeningFen < 100_000 || len(st.Lines) < 4) {
			t.Fatalf("%s: opening %d, %d lines", h.Unit, st.OpeningFen, len(st.Lines))
		}
		sumClosing += st.ClosingFen
		sumPeriod += st.InFen + st.OutFen
		var b bytes.Buffer
		if err := fund.WriteStatementCSV(&b, st); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(b.String(), "\n"); n != len(st.Lines)+3 {
			t.Fatalf("csv of %s has %d lines", h.Unit, n)
		}
	}
	bal, err := svc.Balance(ctx, "L1", to)
	if err != nil {
		t.Fatal(err)
	}
	if sumClosing != bal {
		t.Fatalf("households' closing balances sum to %d fen, the fund holds %d", sumClosing, bal)
	}
	if want := -(35_051 + 1 + 12_345 + 7); sumPeriod != int64(want) {
		t.Fatalf("March nets to %d fen across households, want %d", sumPeriod, want)
	}
	// The statement before the expenses carries them nowhere.
	st, err := svc.Statement(ctx, hs[11].ID, cday("2026-02-01"), cday("2026-02-28"))
	if err != nil || st.OpeningFen != 0 || len(st.Lines) != 1 || st.ClosingFen != st.Lines[0].AmountFen {
		t.Fatalf("February statement %+v (%v)", st, err)
	}
}

func TestFundPostingRules(t *testing.T) { forEachBackend(t, testFundPostingRules) }

func testFundPostingRules(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _, _ := newFund(t, db, fund.DefaultPolicies())
	ref := fund.SourceRef{Category: fund.CatWorkOrder, ID: "WO-42"}
	e1, err := svc.PostExpense(ctx, "maintenance", "L1", ref, 12_345, "door operator")
	if err != nil {
		t.Fatal(err)
	}
	e2, err := svc.PostExpense(ctx, "maintenance", "L1", ref, 12_345, "door operator")
	if err != nil || e2.ID != e1.ID {
		t.Fatalf("repost: entry %v, %v; want entry %d again", e2, err, e1.ID)
	}
	if _, err := svc.PostExpense(ctx, "maintenance", "L1", ref, 12_346, "door operator"); !errors.Is(err, fund.ErrConflict) {
		t.Fatalf("same ref, other amount: %v", err)
	}
	if _, err := svc.PostExpense(ctx, "maintenance", "L2", ref, 12_345, "door operator"); err == nil {
		t.Fatal("same ref on a lift without households accepted")
	}
	es, _ := db.Fund().Entries(ctx, "L1", civil.Date{}, civil.Date{})
	if len(es) != 1 {
		t.Fatalf("%d entries after reposts, want 1", len(es))
	}
	var sum int64
	for _, l := range es[0].Lines {
		sum += l.AmountFen
	}
	if sum != -12_345 || es[0].Actor != "maintenance" || es[0].Reason != "door operator" || es[0].SourceRef != "work_order:WO-42" {
		t.Fatalf("stored entry %+v", es[0])
	}
	rv, err := svc.Reverse(ctx, "auditor", e1.ID, "wrong lift")
	if err != nil || rv.Reverses != e1.ID || rv.AmountFen != 12_345 {
		t.Fatalf("reversal %+v, %v", rv, err)
	}
	if _, err := svc.Reverse(ctx, "auditor", e1.ID, "again"); !errors.Is(err, fund.ErrAlreadyReversed) {
		t.Fatalf("second reversal: %v", err)
	}
	if _, err := svc.Reverse(ctx, "auditor", rv.ID, "undo"); !errors.Is(err, fund.ErrInvalid) {
		t.Fatalf("reversal of a reversal: %v", err)
	}
	if bal, _ := svc.Balance(ctx, "L1", cday("2026-12-31")); bal != 0 {
		t.Fatalf("balance after reversal %d", bal)
	}
	for name, err := range map[string]error{
		"no reason": func() error {
			_, err := svc.PostExpense(ctx, "maintenance", "L1", fund.SourceRef{Category: fund.CatOther, ID: "x"}, 1, " ")
			return err
		}(),
		"no actor": func() error {
			_, err := svc.PostExpense(ctx, "", "L1", fund.SourceRef{Category: fund.CatOther, ID: "y"}, 1, "r")
			return err
		}(),
		"zero": func() error {
			_, err := svc.PostExpense(ctx, "m", "L1", fund.SourceRef{Category: fund.CatOther, ID: "z"}, 0, "r")
			return err
		}(),
		"bad category": func() error {
			_, err := svc.PostExpense(ctx, "m", "L1", fund.SourceRef{Category: "beer", ID: "z"}, 1, "r")
			return err
		}(),
		"unknown household": func() error {
			_, err := svc.PostContribution(ctx, "m", fund.ContributionInput{Lift: "L1", Unit: "999", AmountFen: 1, Date: cday("2026-03-01"), Reason: "r"})
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// Racing posts of one work order record it once and all get that entry.
	var wg sync.WaitGroup
	start := make(chan struct{})
	ids := make([]int64, 8)
	errs := make([]error, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			e, err := svc.PostExpense(ctx, "maintenance", "L1", fund.SourceRef{Category: fund.CatWorkOrder, ID: "WO-race"}, 999, "race")
			if err == nil {
				ids[i] = e.ID
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("racing post %d: entry %d, %v (first %d)", i, ids[i], errs[i], ids[0])
		}
	}
	// The ledger is append-only in the database itself.
	for _, q := range []string{`UPDATE fund_entries SET amount_fen = 1`, `DELETE FROM fund_entries`, `UPDATE fund_lines SET amount_fen = 1`,
		`DELETE FROM fund_lines`} {
		if _, err := db.SQL.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "immutable") {
			t.Errorf("%s: %v, want refused as immutable", q, err)
		}
	}
}

const bankHeader = "date,value_date,amount,direction,counterparty,reference,txn_id,balance\n"

func TestFundBankImportReconcile(t *testing.T) { forEachBackend(t, testFundBankImportReconcile) }

func testFundBankImportReconcile(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _, _ := newFund(t, db, fund.DefaultPolicies())
	post := func(unit string, amt int64, day, ref string) {
		t.Helper()
		if _, err := svc.PostContribution(ctx, "treasurer", fund.ContributionInput{Lift: "L1", Unit: unit, AmountFen: amt, Date: cday(day),
			Reason: "contribution", BankRef: ref}); err != nil {
			t.Fatal(err)
		}
	}
	post("601", 120_000, "2026-03-02", "C-601")
	post("602", 120_000, "2026-03-02", "C-602")
	if _, err := svc.PostExpenseOn(ctx, "maintenance", fund.ExpenseInput{Lift: "L1", Ref: fund.SourceRef{Category: fund.CatWorkOrder, ID: "WO-17"},
		AmountFen: 35_000, Date: cday("2026-03-05"), Reason: "door", BankRef: "WO-17"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PostExpenseOn(ctx, "treasurer", fund.ExpenseInput{Lift: "L1", Ref: fund.SourceRef{Category: fund.CatElectricity, ID: "E-3"},
		AmountFen: 2_000, Date: cday("2026-03-20"), Reason: "electricity", BankRef: "E-3"}); err != nil {
		t.Fatal(err)
	}
	file1 := bankHeader +
		"2026-03-02,2026-03-02,1200.00,CR,Li 601,C-601,T1,1200.00\n" +
		"2026-03-02,2026-03-02,1200.00,CR,Zhao 602,C-602,T2,2400.00\n"
	res, err := svc.ImportBankStatement(ctx, "treasurer", "L1", "march-1.csv", []byte(file1))
	if err != nil || res.New != 2 || res.Duplicates != 0 || res.AlreadyImported {
		t.Fatalf("first import %+v, %v", res, err)
	}
	// The same file again: nothing counted twice.
	res, err = svc.ImportBankStatement(ctx, "treasurer", "L1", "march-1 (copy).csv", []byte(file1))
	if err != nil || !res.AlreadyImported || res.New != 0 {
		t.Fatalf("re-import %+v, %v", res, err)
	}
	// A later file overlapping the first: the overlap counts as duplicates.
	// WO-17 is planted with a different amount (350.50 against 350.00).
	file2 := bankHeader +
		"2026-03-02,2026-03-02,1200.00,CR,Zhao 602,C-602,T2,2400.00\n" +
		"2026-03-05,2026-03-05,350.50,DR,Hongkou Lift Co,WO-17,T3,2049.50\n" +
		"2026-03-06,2026-03-06,1.50,DR,Bank,,T4,2048.00\n"
	res, err = svc.ImportBankStatement(ctx, "treasurer", "L1", "march-2.csv", []byte(file2))
	if err != nil || res.New != 2 || res.Duplicates != 1 {
		t.Fatalf("overlapping import %+v, %v", res, err)
	}
	countLines := func() int {
		t.Helper()
		ls, err := db.Fund().BankLines(ctx, "L1", civil.Date{}, civil.Date{})
		if err != nil {
			t.Fatal(err)
		}
		return len(ls)
	}
	if n := countLines(); n != 4 {
		t.Fatalf("%d bank lines stored, want 4", n)
	}
	// A bad file: every bad line named, nothing of it imported (its good
	// first line T5 included).
	bad := bankHeader + "2026-03-07,2026-03-07,10.00,CR,Sun,C-1,T5,2058.00\n" +
		"2026-03-08,2026-03-08,10.001,CR,Sun,C-2,T6,2068.00\n" +
		"2026-03-09,2026-03-09,10.00,IN,Sun,C-3,T7,2078.00\n"
	_, err = svc.ImportBankStatement(ctx, "treasurer", "L1", "bad.csv", []byte(bad))
	var me *fund.MalformedError
	if !errors.As(err, &me) || len(me.Lines) != 2 || me.Lines[0].Line != 3 || me.Lines[1].Line != 4 ||
		!strings.Contains(me.Lines[1].Reason, "direction") {
		t.Fatalf("bad file: %v", err)
	}
	// A transaction id seen before with other content refuses the file.
	conflict := bankHeader + "2026-03-07,2026-03-07,10.00,CR,Sun,C-1,T5,2058.00\n" +
		"2026-03-05,2026-03-05,350.00,DR,Hongkou Lift Co,WO-17,T3,2049.50\n"
	if _, err := svc.ImportBankStatement(ctx, "treasurer", "L1", "conflict.csv", []byte(conflict)); !errors.Is(err, fund.ErrBankConflict) {
		t.Fatalf("conflicting txn: %v", err)
	}
	if n := countLines(); n != 4 {
		t.Fatalf("refused files left %d bank lines, want 4", n)
	}

	rec, err := svc.Reconcile(ctx, "L1", cday("2026-03-01"), cday("2026-03-31"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Matched) != 2 || len(rec.Mismatched) != 1 || rec.Mismatched[0].Bank.TxnID != "T3" ||
		!strings.Contains(rec.Mismatched[0].Reasons[0], "bank -350.50, ledger -350.00") {
		t.Fatalf("reconciliation: matched %d, mismatched %+v", len(rec.Matched), rec.Mismatched)
	}
	if len(rec.UnmatchedBank) != 1 || rec.UnmatchedBank[0].TxnID != "T4" || len(rec.UnmatchedLedger) != 1 ||
		rec.UnmatchedLedger[0].BankRef != "E-3" {
		t.Fatalf("unmatched: bank %+v ledger %+v", rec.UnmatchedBank, rec.UnmatchedLedger)
	}
}

type noticeSink struct{ got []fund.Notice }

func (s *noticeSink) LowBalance(_ context.Context, n fund.Notice) error {
	s.got = append(s.got, n)
	return nil
}

func TestFundLowBalance(t *testing.T) { forEachBackend(t, testFundLowBalance) }

func testFundLowBalance(t *testing.T, db *DB) {
	ctx := context.Background()
	pol := fund.DefaultPolicies()
	pol.Estates = map[string]fund.Policy{"lenient": {LowBalanceMonths: 1}}
	svc, clk, hs := newFund(t, db, pol)
	for _, h := range hs[2:] {
		if _, err := svc.PostContribution(ctx, "treasurer", fund.ContributionInput{Lift: "L1", Unit: h.Unit, AmountFen: 10_000,
			Date: cday("2025-06-01"), Reason: "contribution"}); err != nil {
			t.Fatal(err)
		}
	}
	// 12 months of 3,000 fen a month: expected cost 3,000 a month.
	for m := range 12 {
		if _, err := svc.PostExpenseOn(ctx, "treasurer", fund.ExpenseInput{Lift: "L1", Ref: fund.SourceRef{Category: fund.CatElectricity,
			ID: fmt.Sprint("E-", m)}, AmountFen: 3_000, Date: cday("2025-03-15").AddMonths(m), Reason: "electricity"}); err != nil {
			t.Fatal(err)
		}
	}
	// Balance 100,000 − 36,000 = 64,000 fen.
	for _, tc := range []struct {
		estate string
		notice bool
	}{{"strict", false}, {"lenient", false}} {
		got, err := svc.CheckBalances(ctx, clk.Now(), []fund.LiftRef{{ID: "L1", Estate: tc.estate}}, nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("%s: %+v, %v", tc.estate, got, err)
		}
	}
	// A large repair leaves 16,000 fen: below 3 months of the expected cost,
	// now (36,000 + 48,000) / 12 = 7,000 a month, but not below 1 month in
	// the lenient estate.
	if _, err := svc.PostExpense(ctx, "maintenance", "L1", fund.SourceRef{Category: fund.CatWorkOrder, ID: "WO-big"}, 48_000, "traction sheave"); err != nil {
		t.Fatal(err)
	}
	sink := &noticeSink{}
	got, err := svc.CheckBalances(ctx, clk.Now(), []fund.LiftRef{{ID: "L1", Estate: "strict"}, {ID: "L1-lenient", Estate: "lenient"}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(sink.got) != 1 || got[0].BalanceFen != 16_000 || got[0].MonthlyCostFen != 7_000 || got[0].ThresholdFen != 21_000 || got[0].Lift != "L1" {
		t.Fatalf("notices %+v (sink %d)", got, len(sink.got))
	}
	got, _ = svc.CheckBalances(ctx, clk.Now(), []fund.LiftRef{{ID: "L1", Estate: "lenient"}}, nil)
	if len(got) != 0 {
		t.Fatalf("lenient estate noticed %+v", got)
	}
}

func TestFundDatesArePlausible(t *testing.T) { forEachBackend(t, testFundDatesArePlausible) }

// testFundDatesArePlausible (issue 18, finding 3): with the hand-over dates
// given, an entry or a bank line dated before the lift's hand-over, or
// later than tomorrow, is refused as invalid, naming the date; nothing of
// a refused bank file is stored.
func testFundDatesArePlausible(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _, _ := newFund(t, db, fund.DefaultPolicies())
	svc.CheckDates(func(lift string) (civil.Date, bool) { return cday("2025-06-01"), lift == "L1" })
	for _, tc := range []struct {
		day, want string
	}{
		{"0001-01-01", "before lift L1's hand-over on 2025-06-01"},
		{"2025-05-31", "before lift L1's hand-over"},
		{"2026-03-03", "in the future"},
	} {
		_, err := svc.PostContribution(ctx, "treasurer", fund.ContributionInput{Lift: "L1", Unit: "601", AmountFen: 100, Date: cday(tc.day), Reason: "x"})
		if !errors.Is(err, fund.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("contribution dated %s: %v, want %q", tc.day, err, tc.want)
		}
		_, err = svc.PostExpenseOn(ctx, "treasurer", fund.ExpenseInput{Lift: "L1", Ref: fund.SourceRef{Category: fund.CatOther, ID: "X-" + tc.day},
			AmountFen: 100, Date: cday(tc.day), Reason: "x"})
		if !errors.Is(err, fund.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("expense dated %s: %v, want %q", tc.day, err, tc.want)
		}
	}
	for _, day := range []string{"2025-06-01", "2026-03-02"} { // the hand-over day and tomorrow (the clock: 2026-03-01)
		if _, err := svc.PostContribution(ctx, "treasurer", fund.ContributionInput{Lift: "L1", Unit: "601", AmountFen: 100, Date: cday(day),
			Reason: "x", BankRef: "B-" + day}); err != nil {
			t.Errorf("contribution dated %s: %v", day, err)
		}
	}
	file := bankHeader +
		"2026-03-01,2026-03-01,1.00,CR,Li 601,C-1,T1,1.00\n" +
		"0001-01-01,0001-01-01,1.00,CR,Li 601,C-2,T2,2.00\n"
	if _, err := svc.ImportBankStatement(ctx, "treasurer", "L1", "old.csv", []byte(file)); !errors.Is(err, fund.ErrInvalid) ||
		!strings.Contains(err.Error(), "transaction 2 (T2)") {
		t.Fatalf("a bank line dated 0001-01-01: %v", err)
	}
	rec, err := svc.Reconcile(ctx, "L1", cday("2025-06-01"), cday("2026-03-02"))
	if err != nil || len(rec.UnmatchedBank)+len(rec.Matched)+len(rec.Mismatched) != 0 {
		t.Fatalf("a refused file left bank lines: %+v %v", rec, err)
	}
}

func TestBankFileTextIsText(t *testing.T) { forEachBackend(t, testBankFileTextIsText) }

// testBankFileTextIsText (issue 18 trial): a bank file whose counterparty,
// reference or txn_id holds a control or bidirectional character, or whose
// value date is far from its booking date, is refused, naming the line;
// nothing of it is stored.
func testBankFileTextIsText(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _, _ := newFund(t, db, fund.DefaultPolicies())
	for _, tc := range []struct{ line, want string }{
		{"2026-03-01,2026-03-01,1.00,CR,Li \u202e601,C-1,T1,1.00\n", "counterparty contains the bidirectional control U+202E"},
		{"2026-03-01,2026-03-01,1.00,CR,Li 601,C-1\x00,T1,1.00\n", "reference contains the control character U+0000"},
		{"2026-03-01,2026-03-01,1.00,CR,Li 601,C-1,T\x07,1.00\n", "txn_id contains the control character U+0007"},
		{"2026-03-01,9999-12-31,1.00,CR,Li 601,C-1,T1,1.00\n", "more than 31 days"},
	} {
		_, err := svc.ImportBankStatement(ctx, "treasurer", "L1", "x.csv", []byte(bankHeader+tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.line, err, tc.want)
		}
	}
}
