package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
)

func csvRead(b []byte) ([][]string, error) { return csv.NewReader(bytes.NewReader(b)).ReadAll() }

// postCSV sends a bank statement.
func (f *mfix) postCSV(t *testing.T, lift, file, body string) (*http.Response, []byte) {
	t.Helper()
	return f.req(t, "", "POST", "/api/v1/lifts/"+lift+"/fund/bank-statements?file="+file, "text/csv", body)
}

const bankHeader = "date,value_date,amount,direction,counterparty,reference,txn_id,balance\n"

// TestFundRoutes: entries (contribution, expense split to the fen,
// reversal), the fund view, statements in JSON and CSV that balance to the
// fen, bank statements imported once, and a reconciliation that shows a
// planted mismatch.
func TestFundRoutes(t *testing.T) {
	f := newMaintFixture(t, false)
	lift := f.lifts[fundLift].ID
	base := "/api/v1/lifts/" + lift + "/fund"
	var e FundEntryView
	f.call(t, "POST", base+"/entries", `{"type": "contribution", "unit": "502", "amount_fen": 120000, "date": "2027-03-01", "reason": "2027 share", "bank_ref": "C-502-03"}`, 201, &e)
	if e.AmountFen != 120000 || e.Amount != "1200.00" || e.Kind != "contribution" || len(e.Lines) != 1 || e.Lines[0].Unit != "502" || e.Actor != "system:api" {
		t.Fatalf("contribution %+v", e)
	}
	const formula = `=HYPERLINK("http://evil","pay")`
	f.call(t, "POST", base+"/entries", fmt.Sprintf(`{"type": "contribution", "unit": "302", "amount_fen": 50000, "reason": %q, "bank_ref": "C-302-03"}`, formula), 201, &e)
	f.call(t, "POST", base+"/entries", `{"type": "expense", "category": "work_order", "source_id": "WO-1", "amount_fen": 33333, "reason": "door rollers"}`, 201, &e)
	var sum int64
	for _, l := range e.Lines {
		sum += l.AmountFen
	}
	if e.AmountFen != -33333 || sum != -33333 || len(e.Lines) != 5 || e.BankRef != "WO-1" || e.Date != "2027-03-01" {
		t.Fatalf("expense %+v (lines sum %d)", e, sum)
	}
	// The same expense again is the same entry, not a second one.
	var again FundEntryView
	f.call(t, "POST", base+"/entries", `{"type": "expense", "category": "work_order", "source_id": "WO-1", "amount_fen": 33333, "reason": "door rollers"}`, 201, &again)
	if again.ID != e.ID {
		t.Fatalf("repeat posted entry %d, first %d", again.ID, e.ID)
	}
	f.wantError(t, "POST", base+"/entries", `{"type": "expense", "category": "work_order", "source_id": "WO-1", "amount_fen": 1, "reason": "x"}`, 409, "")
	var ins, rev FundEntryView
	f.call(t, "POST", base+"/entries", `{"type": "expense", "category": "insurance", "source_id": "INS-9", "amount_fen": 10000, "reason": "posted twice by mistake"}`, 201, &ins)
	f.call(t, "POST", fmt.Sprintf("/api/v1/fund/entries/%d/reverse", ins.ID), `{"reason": "duplicate of the January premium"}`, 201, &rev)
	if rev.Kind != "reversal" || rev.AmountFen != 10000 || rev.Reverses != ins.ID {
		t.Fatalf("reversal %+v", rev)
	}
	f.wantError(t, "POST", fmt.Sprintf("/api/v1/fund/entries/%d/reverse", ins.ID), `{"reason": "again"}`, 409, "")
	f.wantError(t, "POST", fmt.Sprintf("/api/v1/fund/entries/%d/reverse", rev.ID), `{"reason": "undo"}`, 409, "")
	f.wantError(t, "POST", "/api/v1/fund/entries/999/reverse", `{"reason": "x"}`, 404, "")
	f.wantError(t, "POST", "/api/v1/fund/entries/x/reverse", `{"reason": "x"}`, 400, "id")
	f.wantError(t, "POST", fmt.Sprintf("/api/v1/fund/entries/%d/reverse", e.ID), `{}`, 400, "reason")

	for body, field := range map[string]string{
		`{"unit": "502", "amount_fen": 1, "reason": "x"}`:                                              "type",
		`{"type": "gift", "unit": "502", "amount_fen": 1, "reason": "x"}`:                              "type",
		`{"type": "contribution", "unit": "502", "amount_fen": 0, "reason": "x"}`:                      "amount_fen",
		`{"type": "contribution", "unit": "999", "amount_fen": 1, "reason": "x"}`:                      "unit",
		`{"type": "contribution", "amount_fen": 1, "reason": "x"}`:                                     "unit",
		`{"type": "contribution", "unit": "502", "amount_fen": 1}`:                                     "reason",
		`{"type": "contribution", "unit": "502", "amount_fen": 1, "reason": "x", "date": "3/1"}`:       "date",
		`{"type": "expense", "category": "party", "source_id": "x", "amount_fen": 1, "reason": "x"}`:   "category",
		`{"type": "expense", "category": "other", "amount_fen": 1, "reason": "x"}`:                     "source_id",
		`{"type": "expense", "category": "other", "source_id": "x", "amount_fen": 1.5, "reason": "x"}`: "amount_fen",
		`{"type": "contribution", "unit": "502", "amount_fen": 1, "reason": "x", "actor": "boss"}`:     "actor",
	} {
		f.wantError(t, "POST", base+"/entries", body, 400, field)
	}
	// A lift without households cannot split an expense.
	f.wantError(t, "POST", "/api/v1/lifts/"+f.lifts[1].ID+"/fund/entries", `{"type": "expense", "category": "other", "source_id": "x", "amount_fen": 100, "reason": "x"}`, 409, "")

	var fv FundView
	f.call(t, "GET", base, "", 200, &fv)
	if fv.BalanceFen != 120000+50000-33333 || fv.Balance != "1366.67" || len(fv.Entries) != 5 || len(fv.Households) != 5 {
		t.Fatalf("fund %+v", fv)
	}
	f.call(t, "GET", base+"?from=2027-03-02&to=2027-03-31", "", 200, &fv)
	if len(fv.Entries) != 0 || fv.OpeningFen != fv.BalanceFen {
		t.Fatalf("period after the entries: %+v", fv)
	}
	f.wantError(t, "GET", base+"?from=2027-04-01&to=2027-03-01", "", 400, "to")
	f.wantError(t, "GET", "/api/v1/lifts/NOPE/fund", "", 404, "")

	// Statements balance to the fen, in JSON and in CSV; all households'
	// closings sum to the fund's balance.
	var total int64
	for _, h := range fv.Households {
		var st StatementView
		path := fmt.Sprintf("/api/v1/households/%d/statement?from=2027-03-01&to=2027-03-31", h.ID)
		f.call(t, "GET", path, "", 200, &st)
		run := st.OpeningFen
		for _, l := range st.Lines {
			run += l.AmountFen
			if l.BalanceFen != run {
				t.Fatalf("%s: running balance %d, want %d", path, l.BalanceFen, run)
			}
		}
		if run != st.ClosingFen || st.OpeningFen+st.InFen+st.OutFen != st.ClosingFen {
			t.Fatalf("%s does not balance: %+v", path, st)
		}
		total += st.ClosingFen
		resp, b := f.req(t, "", "GET", fmt.Sprintf("/api/v1/export/statement.csv?household=%d&from=2027-03-01&to=2027-03-31", h.ID), "", "")
		recs := parseCSV(t, resp, b)
		if strings.Join(recs[0], ",") != strings.Join(fund.StatementColumns, ",") || recs[1][2] != "opening" || recs[len(recs)-1][2] != "closing" ||
			len(recs) != len(st.Lines)+3 {
			t.Fatalf("statement CSV %q", recs)
		}
		amount := func(s string) int64 {
			v, err := fund.ParseYuan(s)
			if err != nil {
				t.Fatalf("amount %q: %v", s, err)
			}
			return v
		}
		bal := amount(recs[1][7])
		for _, r := range recs[2 : len(recs)-1] {
			bal += amount(r[6])
			if amount(r[7]) != bal {
				t.Fatalf("CSV balance %s, running %d", r[7], bal)
			}
			if r[4] == formula || strings.HasPrefix(r[4], "=") {
				t.Fatalf("formula not defused: %q", r[4])
			}
		}
		if closing := amount(recs[len(recs)-1][7]); closing != bal || closing != st.ClosingFen {
			t.Fatalf("CSV closing %d, running %d, statement %d", closing, bal, st.ClosingFen)
		}
		if h.Unit == "302" && !strings.Contains(string(b), `'=HYPERLINK(""http://evil"",""pay"")`) {
			t.Fatalf("302's statement lacks the defused reason: %s", b)
		}
	}
	if total != fv.BalanceFen {
		t.Fatalf("households' closings sum to %d, fund balance %d", total, fv.BalanceFen)
	}
	f.wantError(t, "GET", "/api/v1/households/999/statement?from=2027-03-01&to=2027-03-31", "", 404, "")
	f.wantError(t, "GET", fmt.Sprintf("/api/v1/households/%d/statement?to=2027-03-31", fv.Households[0].ID), "", 400, "from")
	f.wantError(t, "GET", "/api/v1/households/x/statement?from=2027-03-01&to=2027-03-31", "", 400, "id")
	f.wantError(t, "GET", "/api/v1/export/statement.csv?from=2027-03-01&to=2027-03-31", "", 400, "household")

	// The bank: 502 matches, 302 was paid 400.00 against 500.00 in the
	// ledger (the planted mismatch), WO-1 matches, a fee has no reference.
	file1 := bankHeader +
		"2027-03-01,2027-03-01,1200.00,CR,Wang,C-502-03,T1,1200.00\n" +
		"2027-03-01,2027-03-01,400.00,CR,Li,C-302-03,T2,1600.00\n" +
		"2027-03-01,2027-03-01,333.33,DR,Otis,WO-1,T3,1266.67\n" +
		"2027-03-02,2027-03-02,5.00,DR,Bank,,T4,1261.67\n"
	var im ImportView
	resp, b := f.postCSV(t, lift, "march.csv", file1)
	if resp.StatusCode != 201 || json.Unmarshal(b, &im) != nil || im.New != 4 || im.AlreadyImported || im.Import.Actor != "system:api" {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	resp, b = f.postCSV(t, lift, "march-again.csv", file1)
	if resp.StatusCode != 200 || json.Unmarshal(b, &im) != nil || !im.AlreadyImported || im.New != 0 {
		t.Fatalf("same file again: %d %s", resp.StatusCode, b)
	}
	file2 := file1 + "2027-03-03,2027-03-03,100.00,CR,Zhao,C-602-03,T5,1361.67\n"
	resp, b = f.postCSV(t, lift, "march-full.csv", file2)
	if resp.StatusCode != 201 || json.Unmarshal(b, &im) != nil || im.New != 1 || im.Duplicates != 4 {
		t.Fatalf("overlapping file: %d %s", resp.StatusCode, b)
	}
	resp, b = f.postCSV(t, lift, "forged.csv", bankHeader+"2027-03-01,2027-03-01,9999.00,CR,Wang,C-502-03,T1,1200.00\n")
	checkError(t, "conflicting txn", resp, b, 409, "")
	resp, b = f.postCSV(t, lift, "bad.csv", bankHeader+"2027-03-01,2027-03-01,12.345,CR,x,y,T9,0\n")
	if e := checkError(t, "malformed", resp, b, 400, "body"); !strings.Contains(e.Message, "line 2") {
		t.Fatalf("malformed message %q: want the line", e.Message)
	}
	resp, b = f.req(t, "", "POST", base+"/bank-statements?file=x.csv", "application/json", file1)
	checkError(t, "wrong type", resp, b, 415, "")
	resp, b = f.req(t, "", "POST", base+"/bank-statements", "text/csv", file1)
	checkError(t, "no file name", resp, b, 400, "file")

	var rec ReconciliationView
	f.call(t, "GET", base+"/reconciliation?from=2027-03-01&to=2027-03-31", "", 200, &rec)
	if len(rec.Matched) != 2 || len(rec.Mismatched) != 1 || rec.Clean {
		t.Fatalf("reconciliation %+v", rec)
	}
	mm := rec.Mismatched[0]
	if mm.Bank.Reference != "C-302-03" || mm.Bank.AmountFen != 40000 || mm.Entry.AmountFen != 50000 ||
		len(mm.Reasons) != 1 || !strings.HasPrefix(mm.Reasons[0], "amount") {
		t.Fatalf("mismatch %+v", mm)
	}
	if len(rec.UnmatchedBank) != 2 || len(rec.UnmatchedLedger) != 0 || rec.BankNetFen != 120000+40000-33333-500+10000 {
		t.Fatalf("unmatched %+v / %+v, bank net %d", rec.UnmatchedBank, rec.UnmatchedLedger, rec.BankNetFen)
	}
	f.wantError(t, "GET", base+"/reconciliation?from=2027-03-01", "", 400, "to")
}

// TestScopedListsHideOutOfScopeRows: with Deps.Auth set, lists keep only
// the rows the actor may see (a manager: their estate; a contractor: its
// lifts), objects out of scope are 404 as unknown ones are, an owner reads only their own
// household's statement, and nobody signed in gets 401.
func TestScopedListsHideOutOfScopeRows(t *testing.T) {
	f := newMaintFixture(t, true)
	lift0 := f.lifts[fundLift]
	f.actors["mgrA"] = identity.Actor{UserID: 1, Name: "mgr.a", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{f.estateA}}}
	f.actors["owner"] = identity.Actor{UserID: 2, Name: "owner.502", Role: identity.RoleOwner, Scope: identity.Scope{Lift: lift0.ID, Household: "502"}}
	f.actors["contractor"] = identity.Actor{UserID: 3, Name: "tech", Role: identity.RoleContractor, Scope: identity.Scope{Company: f.lifts[3].Contractor}}
	f.actors["admin"] = identity.Actor{UserID: 4, Name: "root", Role: identity.RoleAdmin}

	inA := map[string]bool{}
	ofC := map[string]bool{}
	for _, l := range f.lifts {
		inA[l.ID] = l.Estate == f.estateA
		ofC[l.ID] = l.Contractor == f.lifts[3].Contractor
	}
	all, _ := pages[WorkOrderView](t, f, "admin", "/api/v1/work-orders")
	mine, _ := pages[WorkOrderView](t, f, "mgrA", "/api/v1/work-orders?limit=1")
	if len(all) != 5 || len(mine) != 3 {
		t.Fatalf("admin sees %d orders, manager of A %d (want 5, 3)", len(all), len(mine))
	}
	for _, o := range mine {
		if !inA[o.Lift] {
			t.Fatalf("manager of A sees %s's order", o.Lift)
		}
	}
	theirs, _ := pages[WorkOrderView](t, f, "contractor", "/api/v1/work-orders")
	want := 0
	for _, o := range all {
		if ofC[o.Lift] {
			want++
		}
	}
	if len(theirs) != want || want == 0 {
		t.Fatalf("contractor sees %d orders, want %d", len(theirs), want)
	}
	plans, _ := pages[PlanView](t, f, "mgrA", "/api/v1/plans")
	sup, _ := pages[SupervisionView](t, f, "mgrA", "/api/v1/supervision")
	if len(plans) != 3 || slices.ContainsFunc(sup, func(v SupervisionView) bool { return !inA[v.Lift] }) {
		t.Fatalf("manager of A: %d plans, supervision %+v", len(plans), sup)
	}
	if sup, _ := pages[SupervisionView](t, f, "admin", "/api/v1/supervision"); !slices.ContainsFunc(sup, func(v SupervisionView) bool { return !inA[v.Lift] }) {
		t.Fatal("the admin's supervision list has no estate B item: the filter test proves nothing")
	}
	resp, b := f.req(t, "mgrA", "GET", "/api/v1/export/work-orders.csv", "", "")
	if recs := parseCSV(t, resp, b); len(recs) != 4 {
		t.Fatalf("manager's export: %d rows, want 3", len(recs)-1)
	}
	var outside WorkOrderView
	for _, o := range all {
		if !inA[o.Lift] {
			outside = o
		}
	}
	// Out of scope answers as unknown does: 404, the same words (issue 18).
	resp, b = f.req(t, "mgrA", "GET", woPath(outside.ID, ""), "", "")
	if e := checkError(t, "manager reads another estate's order", resp, b, 404, ""); e.Message != "nothing at "+woPath(outside.ID, "")+" that you may see" {
		t.Errorf("out of scope says %q", e.Message)
	}
	resp, b = f.req(t, "contractor", "POST", woPath(mine[0].ID, "accept"), "application/json", `{"note": "x"}`)
	checkError(t, "contractor signs off", resp, b, 403, "")
	resp, b = f.req(t, "mgrA", "GET", woPath(999, ""), "", "")
	if e := checkError(t, "unknown order", resp, b, 404, ""); e.Message != "nothing at "+woPath(999, "")+" that you may see" {
		t.Errorf("unknown says %q", e.Message)
	}
	resp, b = f.req(t, "", "GET", "/api/v1/work-orders", "", "")
	checkError(t, "anonymous", resp, b, 401, "")
	resp, b = f.req(t, "mgrA", "GET", "/api/v1/lifts/NOPE/plan", "", "")
	checkError(t, "unknown lift", resp, b, 404, "")

	var hs FundView
	resp, b = f.req(t, "admin", "GET", "/api/v1/lifts/"+lift0.ID+"/fund", "", "")
	if resp.StatusCode != 200 || json.Unmarshal(b, &hs) != nil {
		t.Fatalf("admin fund: %d %s", resp.StatusCode, b)
	}
	resp, b = f.req(t, "owner", "GET", "/api/v1/lifts/"+lift0.ID+"/fund", "", "")
	checkError(t, "owner reads the lift's fund", resp, b, 403, "")
	for _, h := range hs.Households {
		path := fmt.Sprintf("/api/v1/households/%d/statement?from=2027-03-01&to=2027-03-31", h.ID)
		resp, b = f.req(t, "owner", "GET", path, "", "")
		if h.Unit == "502" && resp.StatusCode != 200 {
			t.Fatalf("owner's own statement: %d %s", resp.StatusCode, b)
		}
		if h.Unit != "502" {
			checkError(t, "owner reads "+h.Unit, resp, b, 403, "")
		}
		resp, b = f.req(t, "owner", "GET", fmt.Sprintf("/api/v1/export/statement.csv?household=%d&from=2027-03-01&to=2027-03-31", h.ID), "", "")
		if (h.Unit == "502") != (resp.StatusCode == 200) {
			t.Fatalf("owner's CSV of %s: %d", h.Unit, resp.StatusCode)
		}
	}
	// The households list: the owner finds only their own (the id of
	// their statement); the manager of the estate all; a contractor none.
	ownHs, _ := pages[HouseholdView](t, f, "owner", "/api/v1/households?lift="+lift0.ID)
	if len(ownHs) != 1 || ownHs[0].Unit != "502" {
		t.Fatalf("the owner's households: %+v, want only 502", ownHs)
	}
	mgrHs, _ := pages[HouseholdView](t, f, "mgrA", "/api/v1/households?lift="+lift0.ID+"&limit=2")
	if len(mgrHs) != len(hs.Households) || len(mgrHs) < 3 {
		t.Fatalf("the manager's households: %d over pages of 2, want %d", len(mgrHs), len(hs.Households))
	}
	resp, b = f.req(t, "contractor", "GET", "/api/v1/households?lift="+lift0.ID, "", "")
	checkError(t, "contractor lists households", resp, b, 403, "")
	resp, b = f.req(t, "owner", "GET", "/api/v1/households", "", "")
	checkError(t, "households without lift", resp, b, 400, "lift")
	resp, b = f.req(t, "admin", "GET", "/api/v1/households?lift=NOPE", "", "")
	checkError(t, "households of an unknown lift", resp, b, 404, "")
	resp, b = f.req(t, "admin", "GET", "/api/v1/households?lift="+lift0.ID+"&cursor=x", "", "")
	checkError(t, "households with a made-up cursor", resp, b, 400, "cursor")

	// Only an admin changes trusteeship.
	resp, b = f.req(t, "mgrA", "POST", "/api/v1/lifts/"+lift0.ID+"/manager", "application/json", `{"kind": "resident", "name": "x", "from": "2027-06-01"}`)
	checkError(t, "manager sets the manager", resp, b, 403, "")
	resp, _ = f.req(t, "admin", "POST", "/api/v1/lifts/"+lift0.ID+"/manager", "application/json", `{"kind": "resident", "name": "x", "from": "2027-06-01"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("admin sets the manager: %d", resp.StatusCode)
	}
	var tv TrusteeshipView
	_, b = f.req(t, "admin", "GET", "/api/v1/lifts/"+lift0.ID+"/trusteeship", "", "")
	if json.Unmarshal(b, &tv) != nil || tv.Audit[len(tv.Audit)-1].Actor != "root" {
		t.Fatalf("audit actor: %s", b)
	}
}
