package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
)

// TestWorkOrderCostsHoldUnderAbuse (issue 18, finding 1): a manager posted
// an expense naming another estate's work order, and from then on every
// sweep failed ("source reference already used") and no later cost was
// posted. Now a work order's reference is accepted only on the order's own
// lift, references are unique per lift, and one cost that cannot be posted
// is reported (a supervision notice, a metric) without stopping the others.
func TestWorkOrderCostsHoldUnderAbuse(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	t0 := itest.PinnedStart(time.Now(), 10, 3*time.Hour)
	installed := t0.In(maintenance.Shanghai).AddDate(0, 0, -13).Format(time.DateOnly)
	fleet := []registry.Lift{
		{ID: "MT-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "虹房物业", Contractor: "三菱维保"},
		{ID: "MT-B", Estate: "guyuan", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "江湾物业", Contractor: "三菱维保"},
	}
	cfg := fleetConfig(t, broker.URL, fleet)
	ctx := context.Background()
	a, _, _ := runApp(t, cfg, t0)
	itest.WaitUntil(t, time.Minute, "routine orders planned at start", func() bool {
		return len(workOrders(t, a, maintenance.Filter{Kind: maintenance.KindRoutine})) == 2
	})
	woA, woB := routineOrder(t, a, "MT-A"), routineOrder(t, a, "MT-B")
	svc, fs := a.Domain().Maintenance, a.Domain().Fund
	tech := maintenance.Actor{ID: "tech-wang"}
	for _, w := range []*maintenance.WorkOrder{woA, woB} {
		if _, err := svc.Start(ctx, w.ID, tech, "王师傅"); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: fullChecklist(maintenance.HalfMonthly), Findings: "ok",
			PartsFen: 10000 + w.ID, LabourFen: 0}); err != nil {
			t.Fatal(err)
		}
	}

	// The attack, through the real HTTP server: A's manager posts an
	// expense naming B's order (another estate's) on A.
	refB := fund.SourceRef{Category: fund.CatWorkOrder, ID: fmt.Sprint(woB.ID)}
	tok := account(t, a, "mgr-a", identity.RoleManager, identity.Scope{Estates: []string{"yixian"}})
	body := fmt.Sprintf(`{"type":"expense","category":"work_order","source_id":"%d","amount_fen":1,"date":"%s","reason":"x"}`, woB.ID, civil.Of(t0))
	req, _ := http.NewRequest("POST", "http://"+a.HTTPAddr()+"/api/v1/lifts/MT-A/fund/entries", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(answer), "no work_order") || strings.Contains(string(answer), "guyuan") {
		t.Fatalf("an expense naming another estate's order: %d %s, want 400 naming nothing of it", resp.StatusCode, answer)
	}
	// Even a reference stored on A before the check existed no longer
	// blocks B: references are unique per lift.
	e := &fund.Entry{Lift: "MT-A", Kind: fund.Expense, Category: fund.CatWorkOrder, AmountFen: -1, Date: civil.Of(t0), RecordedAt: t0,
		Actor: "mgr-a", SourceRef: refB.String()}
	hsA, err := a.db.Fund().Households(ctx, "MT-A")
	if err != nil || len(hsA) == 0 {
		t.Fatalf("A's households: %v %v", hsA, err)
	}
	e.Lines = []fund.Line{{Household: hsA[0].ID, AmountFen: -1}}
	if _, created, err := a.db.Fund().InsertEntry(ctx, e); err != nil || !created {
		t.Fatalf("an old entry on A naming B's order: %v %v", created, err)
	}
	// A's own order cannot be taken either: not at another amount than
	// it was signed for (nor before it is signed).
	refA := fund.SourceRef{Category: fund.CatWorkOrder, ID: fmt.Sprint(woA.ID)}
	if _, err := fs.PostExpenseOn(ctx, "mgr-a", fund.ExpenseInput{Lift: "MT-A", Ref: refA, AmountFen: 1, Date: civil.Of(t0), Reason: "typo"}); !errors.Is(err, fund.ErrInvalid) ||
		!strings.Contains(err.Error(), "was signed for") {
		t.Fatalf("A's order at 1 fen: %v, want refused", err)
	}
	// Say an entry of the wrong amount is there from before these checks:
	// A's posting then fails, and must not stop B's.
	typo := &fund.Entry{Lift: "MT-A", Kind: fund.Expense, Category: fund.CatWorkOrder, AmountFen: -1, Date: civil.Of(t0), RecordedAt: t0,
		Actor: "mgr-a", SourceRef: refA.String(), Lines: []fund.Line{{Household: hsA[0].ID, AmountFen: -1}}}
	if _, created, err := a.db.Fund().InsertEntry(ctx, typo); err != nil || !created {
		t.Fatalf("the old wrong entry of A's order: %v %v", created, err)
	}

	if err := a.maint.Sweep(ctx); err != nil {
		t.Fatalf("the sweep failed on one order's cost: %v", err)
	}
	posted := func(lift string, ref fund.SourceRef) []int64 {
		entries, err := a.db.Fund().Entries(ctx, lift, civil.Date{}, civil.Of(t0.AddDate(0, 1, 0)))
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range entries {
			if e.SourceRef == ref.String() {
				out = append(out, e.AmountFen)
			}
		}
		return out
	}
	if got := posted("MT-B", refB); len(got) != 1 || got[0] != -(10000+woB.ID) {
		t.Fatalf("B's cost on B: %v fen, want %d", got, -(10000 + woB.ID))
	}
	if got := posted("MT-A", refA); len(got) != 1 || got[0] != -1 {
		t.Fatalf("A's order on A: %v (the typo stays; the sweep does not overwrite it)", got)
	}
	itest.WaitUntil(t, time.Minute, "a cost_not_posted notice for A", func() bool {
		n := openSupervision(a, EventCostNotPosted)["MT-A"]
		return n != nil && strings.Contains(n.Summary, fmt.Sprint(woA.ID))
	})
	if n := metricValue(t, a, "liftwatch_fund_cost_postings_failed_total"); n < 1 {
		t.Fatalf("liftwatch_fund_cost_postings_failed_total = %v", n)
	}
	// The conflict says nothing outside the lift: the entry it names is
	// A's own, its amount in fen.
	_, err = fs.PostExpenseOn(ctx, "mgr-a", fund.ExpenseInput{Lift: "MT-A", Ref: refA, AmountFen: 10000 + woA.ID, Date: civil.Of(t0), Reason: "again"})
	if !errors.Is(err, fund.ErrConflict) || !strings.Contains(err.Error(), "of this lift") || !strings.Contains(err.Error(), "-1 fen") ||
		strings.Contains(err.Error(), "MT-B") {
		t.Fatalf("conflict: %v", err)
	}
}

// metricValue is the sum of a counter or gauge's series in a's registry.
func metricValue(t *testing.T, a *App, name string) float64 {
	t.Helper()
	mfs, err := a.prom.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
