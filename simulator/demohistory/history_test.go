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
		Sessions: sessionStore{db.Inspections()}, Log: slog.New(slog.DiscardHandler)}
}

// sessionStore is the inspection-sessions table as the history keeps
// sessions (the demo has the same adapter).
type sessionStore struct{ r *store.Inspections }

func (s sessionStore) SaveSessions(ctx context.Context, ss []demohistory.LiftSession) error {
	out := make([]store.InspectionSession, len(ss))
	for i, x := range ss {
		out[i] = store.InspectionSession{Lift: x.Lift, Start: x.Start, End: x.End, Ended: true}
	}
	return s.r.Save(ctx, out)
}

func (s sessionStore) LiftSessions(ctx context.Context, lift string, from, to time.Time) ([]demohistory.LiftSession, error) {
	ss, err := s.r.Sessions(ctx, lift, from, to)
	out := make([]demohistory.LiftSession, len(ss))
	for i, x := range ss {
		out[i] = demohistory.LiftSession{Lift: x.Lift, Start: x.Start, End: x.End}
	}
	return out, err
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

type nullSink struct{}

func (nullSink) Supervise(context.Context, maintenance.SupervisionEvent) error { return nil }

type contractOf struct{ ts *trusteeship.Service }

func (c contractOf) ContractorOf(ctx context.Context, lift string, at time.Time) (string, error) {
	k, err := c.ts.ContractOn(ctx, lift, civil.Of(at))
	if err != nil || k == nil {
		return "", err
	}
	return k.Contractor, nil
}

// TestServiceAfterHistoryAgrees is the demo restarted on its data: the
// service, planning from the lifts' install dates and the stored visits,
// finds at the history's end exactly the orders the history left (the
// hand-over visit is stored, not a baseline in the history's memory); the
// orders it creates later, after the span, are not worked by a history run
// again over the span (they do not exist yet at its times); and every
// verified routine visit is proven again by the stored inspection sessions
// alone, as the service would after a restart.
func TestServiceAfterHistoryAgrees(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	lifts := fleet(t, 12)
	opts := demohistory.Options{From: pinned.AddDate(0, -2, 0), To: pinned, Seed: 11, PaperShare: 0.3}
	if _, err := demohistory.Run(ctx, deps(db, lifts), opts); err != nil {
		t.Fatal(err)
	}
	infos := make([]maintenance.LiftInfo, len(lifts))
	for i, l := range lifts {
		d, err := time.ParseInLocation(time.DateOnly, l.InstallDate, maintenance.Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		infos[i] = maintenance.LiftInfo{ID: l.ID, Estate: l.Estate, Commissioned: maintenance.DayOf(d)}
	}
	now := opts.To
	ts := trusteeship.NewService(db.Trusteeship(), func() time.Time { return now }, trusteeship.DefaultPolicies())
	svc := &maintenance.Service{Store: db.Maintenance(), Contractors: contractOf{ts}, Sink: nullSink{},
		Policies: maintenance.Policies{Default: maintenance.DefaultPolicy()}, Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)}
	res, err := svc.Sweep(ctx, infos)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 {
		t.Fatalf("the service at the history's end created %d orders: it plans differently from the history", res.Created)
	}

	// The next day the service learns of an entrapment of the span's last
	// day (an alert reconciled late): its corrective order's window lies
	// within the span, but it was created after it.
	now = opts.To.Add(24 * time.Hour)
	if _, created, err := svc.OnIncident(ctx, maintenance.Incident{ID: "late-1", Kind: maintenance.IncidentEntrapment, Lift: lifts[0].ID,
		Estate: lifts[0].Estate, At: opts.To.Add(-20 * time.Hour), Summary: "trapped"}); err != nil || !created {
		t.Fatalf("late incident: created %v, %v", created, err)
	}
	// A month on, the service has created the next visits.
	now = opts.To.AddDate(0, 1, 0)
	if res, err = svc.Sweep(ctx, infos); err != nil || res.Created == 0 {
		t.Fatalf("a month after the history the service created %d orders (%v), want the next visits", res.Created, err)
	}
	before := count(t, db, lifts)
	again, err := demohistory.Run(ctx, deps(db, lifts), opts)
	if err != nil {
		t.Fatal(err)
	}
	if after := count(t, db, lifts); after != before || again.Visits != 0 {
		t.Fatalf("the history again over its span worked orders created after it: %d visits signed, %+v → %+v", again.Visits, before, after)
	}

	// The stored sessions prove every verified routine visit again.
	ws, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{Kind: maintenance.KindRoutine, States: []maintenance.State{maintenance.StateVerified}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) < len(lifts) {
		t.Fatalf("%d verified routine visits for %d lifts", len(ws), len(lifts))
	}
	for _, w := range ws {
		ss, err := db.Inspections().Sessions(ctx, w.Lift, w.WindowStart, *w.CompletedAt)
		if err != nil {
			t.Fatal(err)
		}
		from := w.WindowStart
		if w.StartedAt.Before(from) {
			from = *w.StartedAt
		}
		// The table keeps milliseconds.
		if got := maintenance.Overlap(store.AsMaintenance(ss), from, *w.CompletedAt); got < w.Proof.Required || (got-w.Proof.Observed).Abs() > 10*time.Millisecond {
			t.Errorf("order %d (%s): %v in inspection mode in the stored sessions, its proof says %v (%v required)", w.ID, w.Lift, got, w.Proof.Observed, w.Proof.Required)
		}
	}
}
