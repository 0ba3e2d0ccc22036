package fund

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/internal/civil"
)

func TestSplitSumsExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: reproducible
	for i := range 5000 {
		n := 1 + rng.IntN(14)
		hs := make([]Household, n)
		for j := range hs {
			hs[j] = Household{ID: int64(j + 1), Unit: string(rune('A' + j)), Floor: 1 + rng.IntN(7), Share: rng.Int64N(MaxShare + 1)}
			if rng.IntN(4) == 0 {
				hs[j].Share = 0
			}
		}
		if i%7 == 0 {
			hs[0].Share = 1 + rng.Int64N(30) // small shares make many ties
		}
		var total int64
		for _, h := range hs {
			total += h.Share
		}
		amount := rng.Int64N(MaxAmountFen + 1)
		if i%3 == 0 {
			amount = rng.Int64N(100)
		}
		parts, err := Split(amount, hs)
		if total == 0 {
			if !errors.Is(err, ErrNoShares) {
				t.Fatalf("no shares: %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for j, p := range parts {
			sum += p
			// Each part is within one fen of the exact proportion.
			exactFloor := mulDiv(amount, hs[j].Share, total)
			if p != exactFloor && p != exactFloor+1 {
				t.Fatalf("case %d: household %d gets %d, exact floor %d", i, j, p, exactFloor)
			}
			if hs[j].Share == 0 && p != 0 {
				t.Fatalf("case %d: share 0 gets %d", i, p)
			}
		}
		if sum != amount {
			t.Fatalf("case %d: parts %v sum to %d, want %d", i, parts, sum, amount)
		}
	}
}

func mulDiv(a, b, c int64) int64 {
	// a ≤ 1e9 and b ≤ 1e6 keep a*b within int64.
	return a * b / c
}

func TestSplitRemainderRule(t *testing.T) {
	hs := func(spec ...Household) []Household { return spec }
	for _, tc := range []struct {
		name   string
		amount int64
		hs     []Household
		want   []int64
	}{
		{"equal shares, ties to the higher floor", 100, hs(
			Household{ID: 1, Unit: "201", Floor: 2, Share: 1}, Household{ID: 2, Unit: "301", Floor: 3, Share: 1},
			Household{ID: 3, Unit: "401", Floor: 4, Share: 1}), []int64{33, 33, 34}},
		{"same floor, ties by unit", 101, hs(
			Household{ID: 1, Unit: "602", Floor: 6, Share: 1}, Household{ID: 2, Unit: "601", Floor: 6, Share: 1}), []int64{50, 51}},
		{"largest remainder first", 10, hs(
			Household{ID: 1, Unit: "201", Floor: 2, Share: 10}, Household{ID: 2, Unit: "301", Floor: 3, Share: 13},
			Household{ID: 3, Unit: "401", Floor: 4, Share: 16}), []int64{3, 3, 4}}, // exact 2.56, 3.33, 4.10
		{"ground floor pays nothing", 7, hs(
			Household{ID: 1, Unit: "101", Floor: 1, Share: 0}, Household{ID: 2, Unit: "201", Floor: 2, Share: 10}), []int64{0, 7}},
		{"zero amount", 0, hs(Household{ID: 1, Unit: "201", Floor: 2, Share: 10}), []int64{0}},
	} {
		got, err := Split(tc.amount, tc.hs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	if _, err := Split(-1, hs(Household{Share: 1})); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative amount: %v", err)
	}
}

func TestDefaultShare(t *testing.T) {
	want := map[int]int64{1: 0, 2: 10, 3: 13, 4: 16, 5: 19, 6: 22, 7: 25}
	for f, w := range want {
		if got := DefaultShare(f); got != w {
			t.Errorf("floor %d: %d, want %d", f, got, w)
		}
	}
}

func TestParseYuan(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 100, "1.5": 150, "1.05": 105, "-0.07": -7, "1234567.89": 123456789,
		"0.10": 10, "9999999999999.99": 999999999999999} {
		got, err := ParseYuan(in)
		if err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
		if err == nil && in != "1" && in != "0" && in != "1.5" && in != "0.10" && FormatYuan(got) != in {
			t.Errorf("FormatYuan(%d) = %s, want %s", got, FormatYuan(got), in)
		}
	}
	for _, in := range []string{"", "-", ".5", "1.", "1.234", "1,000.00", "+1", "1e3", " 1", "1.5 ", "0x10", "12345678901234", "--1", "1.-5"} {
		if _, err := ParseYuan(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if FormatYuan(-5) != "-0.05" || FormatYuan(100) != "1.00" {
		t.Error(FormatYuan(-5), FormatYuan(100))
	}
}

const header = "date,value_date,amount,direction,counterparty,reference,txn_id,balance\n"

func TestParseBankCSV(t *testing.T) {
	good := header + "2026-03-02,2026-03-02,1200.00,CR,Wang 502,C-502-2026,T1,1200.00\n" +
		"2026-03-05,2026-03-06,350.5,DR,Hongkou Lift Co,WO-17,T2,849.50\n"
	lines, err := ParseBankCSV([]byte("\xef\xbb\xbf" + good))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0].AmountFen != 120000 || lines[1].AmountFen != -35050 || lines[1].ValueDate != civil.MustParse("2026-03-06") ||
		lines[1].Line != 3 || lines[1].Reference != "WO-17" || lines[1].BalanceFen != 84950 {
		t.Fatalf("parsed %+v", lines)
	}
	for name, tc := range map[string]struct {
		file string
		want []int // bad line numbers
	}{
		"empty":          {"", []int{1}},
		"wrong header":   {"date,amount\n2026-03-02,1\n", []int{1}},
		"header only":    {header, []int{2}},
		"bad lines":      {header + "2026-03-02,2026-03-02,1.00,CR,a,r,T1,1.00\n2026-02-30,2026-03-02,1.00,CR,a,r,T2,1.00\n2026-03-02,2026-03-02,1.001,CR,a,r,T3,1.00\n2026-03-02,2026-03-02,1.00,XX,a,r,T4,1.00\n2026-03-02,2026-03-02,1.00,CR,a,r,,1.00\n2026-03-02,2026-03-02,1.00,CR,a,r,T1,1.00\n2026-03-02,2026-03-02,1.00,CR,a,r\n2026-03-02,2026-03-02,-1.00,CR,a,r,T8,1.00\n2026-03-02,2026-03-02,1.00,CR,a,r,T9,1,000.00\n", []int{3, 4, 5, 6, 7, 8, 9, 10}},
		"bad quote":      {header + "2026-03-02,2026-03-02,1.00,CR,\"a,r,T1,1.00\n", []int{2}},
		"float notation": {header + "2026-03-02,2026-03-02,1e2,CR,a,r,T1,1.00\n", []int{2}},
	} {
		_, err := ParseBankCSV([]byte(tc.file))
		var me *MalformedError
		if !errors.As(err, &me) || !errors.Is(err, ErrMalformedCSV) {
			t.Errorf("%s: %v, want a MalformedError", name, err)
			continue
		}
		var got []int
		for _, l := range me.Lines {
			got = append(got, l.Line)
			if l.Reason == "" {
				t.Errorf("%s: line %d without a reason", name, l.Line)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: bad lines %v (%v), want %v", name, got, me.Lines, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: bad lines %v, want %v", name, got, tc.want)
				break
			}
		}
	}
}

func TestReconcileRule(t *testing.T) {
	d := civil.MustParse
	bank := []BankLine{
		{TxnID: "T1", Date: d("2026-03-02"), AmountFen: 120000, Reference: "C-502"}, // matched
		{TxnID: "T2", Date: d("2026-03-05"), AmountFen: -35050, Reference: "WO-17"}, // amount differs
		{TxnID: "T3", Date: d("2026-03-09"), AmountFen: -10000, Reference: "INS-1"}, // date differs
		{TxnID: "T4", Date: d("2026-03-10"), AmountFen: -150, Reference: ""},        // bank fee, no reference
		{TxnID: "T5", Date: d("2026-03-11"), AmountFen: 5000, Reference: "UNKNOWN"}, // not in the ledger
	}
	ledger := []Entry{
		{ID: 1, Kind: Contribution, Date: d("2026-03-02"), AmountFen: 120000, BankRef: "C-502"},
		{ID: 2, Kind: Expense, Date: d("2026-03-05"), AmountFen: -35000, BankRef: "WO-17"},
		{ID: 3, Kind: Expense, Date: d("2026-03-08"), AmountFen: -10000, BankRef: "INS-1"},
		{ID: 4, Kind: Expense, Date: d("2026-03-12"), AmountFen: -2000, BankRef: "ELEC-3"}, // not paid yet
		{ID: 5, Kind: Expense, Date: d("2026-03-12"), AmountFen: -999, BankRef: "X", ReversedBy: 6},
		{ID: 6, Kind: Reversal, Date: d("2026-03-13"), AmountFen: 999, BankRef: "X", Reverses: 5},
	}
	r := reconcile(bank, ledger)
	if len(r.Matched) != 1 || r.Matched[0].Bank.TxnID != "T1" || r.Matched[0].Entry.ID != 1 {
		t.Errorf("matched %+v", r.Matched)
	}
	if len(r.Mismatched) != 2 || r.Mismatched[0].Bank.TxnID != "T3" || r.Mismatched[1].Bank.TxnID != "T2" ||
		!strings.HasPrefix(r.Mismatched[0].Reasons[0], "date") || !strings.HasPrefix(r.Mismatched[1].Reasons[0], "amount") {
		t.Errorf("mismatched %+v", r.Mismatched)
	}
	if len(r.UnmatchedBank) != 2 || r.UnmatchedBank[0].TxnID != "T4" || r.UnmatchedBank[1].TxnID != "T5" {
		t.Errorf("unmatched bank %+v", r.UnmatchedBank)
	}
	if len(r.UnmatchedLedger) != 1 || r.UnmatchedLedger[0].ID != 4 {
		t.Errorf("unmatched ledger %+v", r.UnmatchedLedger)
	}
	if r.Clean() || r.BankNetFen != 120000-35050-10000-150+5000 || r.LedgerNetFen != 120000-35000-10000-2000 {
		t.Errorf("nets %d %d", r.BankNetFen, r.LedgerNetFen)
	}
}

func TestExpectedMonthlyCost(t *testing.T) {
	d := civil.MustParse
	es := []Entry{
		{Kind: Contribution, Category: CatContribution, Date: d("2026-01-01"), AmountFen: 1_000_000},
		{Kind: Expense, Category: CatWorkOrder, Date: d("2025-03-01"), AmountFen: -50_000}, // 12 months ago to the day: out
		{Kind: Expense, Category: CatWorkOrder, Date: d("2025-03-02"), AmountFen: -12_000},
		{Kind: Expense, Category: CatInsurance, Date: d("2026-02-01"), AmountFen: -1_001},
		{Kind: Expense, Category: CatOther, Date: d("2026-02-10"), AmountFen: -500},
		{Kind: Reversal, Category: CatOther, Date: d("2026-02-11"), AmountFen: 500},
		{Kind: Expense, Category: CatOther, Date: d("2026-03-02"), AmountFen: -99_999}, // after the day: out
	}
	if got := ExpectedMonthlyCost(es, d("2026-03-01")); got != 1084 { // (12000+1001)/12 = 1083.4 → 1084
		t.Fatalf("monthly cost %d, want 1084", got)
	}
}

func TestStatementCSV(t *testing.T) {
	d := civil.MustParse
	st := &Statement{From: d("2026-03-01"), To: d("2026-03-31"), OpeningFen: 1000, Lines: []StatementLine{
		{Entry: 7, Date: d("2026-03-02"), Kind: Expense, Category: CatWorkOrder, Reason: "=cmd|' /C calc'!A0", Reference: "WO-1",
			AmountFen: -1050, BalanceFen: -50}}, OutFen: -1050, ClosingFen: -50}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteStatementCSV(&b, st); err != nil {
		t.Fatal(err)
	}
	want := "date,entry,kind,category,reason,reference,amount,balance\n" +
		"2026-03-01,,opening,,,,,10.00\n" +
		"2026-03-02,7,expense,work_order,'=cmd|' /C calc'!A0,WO-1,-10.50,-0.50\n" +
		"2026-03-31,,closing,,,,,-0.50\n"
	if b.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	st.ClosingFen = 0
	if st.Check() == nil {
		t.Fatal("unbalanced statement passed Check")
	}
}
