package demohistory_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// pinned is the history's end in the tests: a fixed instant, so that the
// history (which follows calendar days) is the same whenever they run.
var pinned = time.Date(2027, 3, 20, 15, 30, 0, 0, time.FixedZone("CST", 8*3600))

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fleet(t *testing.T, n int) []registry.Lift {
	t.Helper()
	all, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	// Every contractor of the fleet, a few lifts each.
	var out []registry.Lift
	for i := 0; len(out) < n && i < len(all); i += len(all) / n {
		out = append(out, all[i])
	}
	return out
}

func deps(db *store.DB, lifts []registry.Lift) demohistory.Deps {
	return demohistory.Deps{Lifts: lifts, Maintenance: db.Maintenance(), Trusteeship: db.Trusteeship(), Fund: db.Fund(),
		Log: slog.New(slog.DiscardHandler)}
}

// counts are what a history run leaves in the database.
type counts struct {
	orders, done, paper, verified, corrective, events, entries int
}

func count(t *testing.T, db *store.DB, lifts []registry.Lift) counts {
	t.Helper()
	ctx := context.Background()
	ws, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var c counts
	c.orders = len(ws)
	for _, w := range ws {
		if w.State.Done() {
			c.done++
		}
		if w.Kind == maintenance.KindRoutine && w.State.Done() && w.Proof != nil && !w.Proof.Verified {
			c.paper++
		}
		if w.State == maintenance.StateVerified {
			c.verified++
		}
		if w.Kind == maintenance.KindCorrective {
			c.corrective++
		}
	}
	for _, l := range lifts {
		es, err := db.Fund().Entries(ctx, l.ID, civil.Date{}, civil.Date{})
		if err != nil {
			t.Fatal(err)
		}
		c.entries += len(es)
	}
	var n int
	if err := db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM supervision_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	c.events = n
	return c
}

// TestHistoryTwiceAddsNothing: three months of history for a small fleet
// give routine visits for every lift, corrective orders after entrapments,
// paper visits flagged unverified, accepted visits and fund entries; running
// it again over the same span — and over a span a week later, as a demo
// restarted on the same data does — creates no duplicate order, event or
// ledger entry beyond the new days.
func TestHistoryTwiceAddsNothing(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	lifts := fleet(t, 24)
	opts := demohistory.Options{From: pinned.AddDate(0, -3, 0), To: pinned, Seed: 7, PaperShare: 0.15, EntrapmentsPerLiftMonth: 0.2}
	res, err := demohistory.Run(ctx, deps(db, lifts), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run: %+v", res)
	first := count(t, db, lifts)
	t.Logf("left: %+v", first)
	switch {
	case res.Days < 89:
		t.Errorf("%d days swept, want the three months", res.Days)
	case first.done < len(lifts)*5:
		t.Errorf("%d orders signed for %d lifts in three months; want at least 5 visits each", first.done, len(lifts))
	case first.paper == 0 || res.Paper != first.paper:
		t.Errorf("%d paper visits flagged unverified, contractors signed %d on paper", first.paper, res.Paper)
	case first.corrective == 0 || first.corrective != res.Incidents:
		t.Errorf("%d corrective orders for %d entrapments", first.corrective, res.Incidents)
	case first.verified == 0:
		t.Error("no visit accepted by the manager")
	case first.events < first.paper:
		t.Errorf("%d supervision events for %d unverified visits", first.events, first.paper)
	case first.entries == 0 || res.FundEntries != first.entries:
		t.Errorf("%d ledger entries, run says %d", first.entries, res.FundEntries)
	}
	// Every lift has had its visits: none is left without a signed one.
	hist, err := db.Maintenance().RoutineHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lifts {
		if len(hist[l.ID]) == 0 {
			t.Errorf("%s has no signed routine visit", l.ID)
		}
	}

	again, err := demohistory.Run(ctx, deps(db, lifts), opts)
	if err != nil {
		t.Fatal(err)
	}
	if second := count(t, db, lifts); second != first || again.OrdersCreated != 0 || again.FundEntries != 0 || again.Incidents != 0 {
		t.Fatalf("second run over the same span: %+v (run %+v), want %+v and nothing created", second, again, first)
	}

	// A restart a week later: the span moves; only its new days add.
	later := opts
	later.From, later.To = opts.From.AddDate(0, 0, 7), opts.To.AddDate(0, 0, 7)
	res3, err := demohistory.Run(ctx, deps(db, lifts), later)
	if err != nil {
		t.Fatal(err)
	}
	third := count(t, db, lifts)
	if third.corrective-first.corrective != res3.Incidents {
		t.Errorf("a week later: %d new corrective orders for %d new entrapments", third.corrective-first.corrective, res3.Incidents)
	}
	ws, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{Kind: maintenance.KindRoutine})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.State.Done() && w.CompletedAt.Before(opts.To) && w.CreatedAt.After(opts.To) {
			t.Errorf("order %d created after the first span (%v) but signed within it (%v)", w.ID, w.CreatedAt, w.CompletedAt)
		}
	}
	// The days the first run covered got nothing new: every order the
	// later run created is of its new days.
	all, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	old := 0
	for _, w := range all {
		if w.CreatedAt.Before(opts.To) {
			old++
		}
	}
	if old != first.orders {
		t.Errorf("a week later: %d orders created within the first span, the first run made %d", old, first.orders)
	}
	if third.orders-first.orders != res3.OrdersCreated || res3.Days < 7 {
		t.Errorf("a week later: %d more orders, the run says it created %d in %d days", third.orders-first.orders, res3.OrdersCreated, res3.Days)
	}
}

// TestHistoryStatementsBalance: after the history every household's
// statement over the span balances to the fen, the lift's balance is the sum
// of its households' closing balances, and expenses of every kind were
// posted.
func TestHistoryStatementsBalance(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	lifts := fleet(t, 8)
	opts := demohistory.Options{From: pinned.AddDate(0, -3, 0), To: pinned, Seed: 3, PaperShare: 0.1, EntrapmentsPerLiftMonth: 0.3}
	if _, err := demohistory.Run(ctx, deps(db, lifts), opts); err != nil {
		t.Fatal(err)
	}
	fs := fund.NewService(db.Fund(), func() time.Time { return pinned }, fund.DefaultPolicies())
	from, to := civil.Of(opts.From), civil.Of(opts.To)
	cats := map[fund.Category]int{}
	for _, l := range lifts {
		es, err := db.Fund().Entries(ctx, l.ID, civil.Date{}, civil.Date{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			cats[e.Category]++
		}
		hs, err := fs.Households(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) == 0 {
			t.Fatalf("%s has no households", l.ID)
		}
		var sum int64
		for _, hh := range hs {
			st, err := fs.Statement(ctx, hh.ID, from, to)
			if err != nil {
				t.Fatalf("%s household %s: %v", l.ID, hh.Unit, err)
			}
			if err := st.Check(); err != nil {
				t.Fatalf("%s household %s: %v", l.ID, hh.Unit, err)
			}
			sum += st.ClosingFen
		}
		bal, err := fs.Balance(ctx, l.ID, to)
		if err != nil {
			t.Fatal(err)
		}
		if bal != sum {
			t.Errorf("%s: balance %d fen, households' closing balances add up to %d", l.ID, bal, sum)
		}
		if bal <= 0 {
			t.Errorf("%s: balance %d fen after three months: contributions do not cover the costs", l.ID, bal)
		}
	}
	for _, c := range []fund.Category{fund.CatContribution, fund.CatElectricity, fund.CatInsurance, fund.CatWorkOrder} {
		if cats[c] == 0 {
			t.Errorf("no %s entry in the history (%v)", c, cats)
		}
	}
}

// TestHistoryAfterServiceSeed: serve seeds each lift's contract for the
// year containing today before the history runs; the history fills the
// days before that contract's start, so every order of the span has its
// contractor and none waits unassigned.
func TestHistoryAfterServiceSeed(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	lifts := fleet(t, 12)
	ts := trusteeship.NewService(db.Trusteeship(), func() time.Time { return pinned }, trusteeship.DefaultPolicies())
	if _, err := ts.Seed(ctx, "system:seed", lifts, civil.Of(pinned), 500_000); err != nil {
		t.Fatal(err)
	}
	opts := demohistory.Options{From: pinned.AddDate(0, -3, 0), To: pinned, Seed: 5, PaperShare: 0.1}
	if _, err := demohistory.Run(ctx, deps(db, lifts), opts); err != nil {
		t.Fatal(err)
	}
	ws, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if w.Contractor == "" || w.State == maintenance.StatePlanned {
			t.Errorf("order %d of %s (%s, created %v) has no contractor", w.ID, w.Lift, w.State, w.CreatedAt)
		}
	}
	for _, l := range lifts {
		for d := civil.Of(opts.From); !d.After(civil.Of(opts.To)); d = d.AddDays(1) {
			if c, err := ts.ContractOn(ctx, l.ID, d); err != nil || c == nil || c.Contractor != l.Contractor {
				t.Fatalf("%s on %s: contract %+v, %v", l.ID, d, c, err)
			}
		}
	}
}
