package app

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
)

// runApp builds and runs the app with its fake clock at t0; stop ends it
// and waits until it has shut down.
func runApp(t *testing.T, cfg Config, t0 time.Time) (a *App, logs *syncBuf, stop func()) {
	t.Helper()
	logs = &syncBuf{}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.fake.Set(t0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return a, logs, stop
}

func workOrders(t *testing.T, a *App, f maintenance.Filter) []*maintenance.WorkOrder {
	t.Helper()
	ws, err := a.Domain().Maintenance.Store.WorkOrders(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

func routineOrder(t *testing.T, a *App, lift string) *maintenance.WorkOrder {
	t.Helper()
	ws := workOrders(t, a, maintenance.Filter{Lift: lift, Kind: maintenance.KindRoutine})
	if len(ws) != 1 {
		t.Fatalf("%s: %d routine orders, want 1", lift, len(ws))
	}
	return ws[0]
}

// fullChecklist records every item of level l as passed, with a value for
// the tests.
func fullChecklist(l maintenance.Level) []maintenance.ItemResult {
	var rs []maintenance.ItemResult
	for _, it := range checklist.For(l) {
		r := maintenance.ItemResult{Code: it.Code, Result: maintenance.Pass}
		if it.Test {
			r.Value = "ok"
		}
		rs = append(rs, r)
	}
	return rs
}

// TestMaintenanceThroughServe runs the service with its maintenance loop
// against a real Mosquitto and the simulator, on a fake clock pinned to
// the simulated time:
//   - on start every lift of the register gets its manager and contract
//     (seeded) and a routine half-monthly order due in two days, assigned to
//     the contractor;
//   - a technician starts lift A's order: the lift counts as in progress for
//     the alert engine's inhibition;
//   - the simulator puts A in inspection mode for 25 minutes, and traps a
//     passenger in A: the entrapment makes exactly one corrective order,
//     due 24 h after it;
//   - the service restarts (the live state, with its inspection sessions,
//     is gone): still exactly one corrective order; A's order completed now
//     is proven by the saved sessions (completed, then verified by the
//     manager);
//   - B's order, with no inspection telemetry, ends unverified and raises a
//     supervision alert addressed to B's manager.
func TestMaintenanceThroughServe(t *testing.T) { onEachStore(t, testMaintenanceThroughServe) }

func testMaintenanceThroughServe(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	t0 := itest.PinnedStart(time.Now(), 10, 3*time.Hour)
	installed := t0.In(maintenance.Shanghai).AddDate(0, 0, -13).Format(time.DateOnly)
	fleet := []registry.Lift{
		{ID: "MT-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "虹房物业", Contractor: "三菱维保"},
		{ID: "MT-B", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "江湾物业", Contractor: "三菱维保"},
	}
	cfg := fleetConfig(t, broker.URL, fleet)
	ctx := context.Background()

	a, _, stop := runApp(t, cfg, t0)
	itest.WaitUntil(t, time.Minute, "routine orders planned at start", func() bool {
		return len(workOrders(t, a, maintenance.Filter{Kind: maintenance.KindRoutine})) == 2
	})
	woA, woB := routineOrder(t, a, "MT-A"), routineOrder(t, a, "MT-B")
	if woA.State != maintenance.StateAssigned || woA.Contractor != "三菱维保" || woA.Level != maintenance.HalfMonthly {
		t.Fatalf("A's routine order: %s, contractor %q, level %v (want assigned to 三菱维保, half-monthly)", woA.State, woA.Contractor, woA.Level)
	}
	tech := maintenance.Actor{ID: "tech-wang"}
	svc := a.Domain().Maintenance
	if _, err := svc.Start(ctx, woA.ID, tech, "王师傅"); err != nil {
		t.Fatal(err)
	}
	if !a.maint.InProgress("MT-A") || a.maint.InProgress("MT-B") {
		t.Fatal("the alert engine's inhibition does not see A's work in progress (or sees B's)")
	}

	// The simulator: A in inspection mode 00:05–00:30, a passenger trapped
	// in A at 01:00 and freed at 01:20.
	sc, err := simulator.ParseScenario([]byte(`name: maintenance visit
lifts: [MT-A, MT-B]
events:
  - {at: "00:01:00", lift: MT-A, do: trip, to: 3}
  - {at: "00:01:00", lift: MT-B, do: trip, to: 3}
  - {at: "00:05:00", lift: MT-A, do: visit, for: 25m}
  - {at: "01:00:00", lift: MT-A, do: trap, variant: entrapment, floor: 3}
  - {at: "01:20:00", lift: MT-A, do: rescue}
`))
	if err != nil {
		t.Fatal(err)
	}
	sink, err := simulator.DialMQTT(ctx, simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: 500 * time.Millisecond}, Conns: 1},
		[]string{"MT-A", "MT-B"})
	if err != nil {
		t.Fatal(err)
	}
	sim, err := simulator.New(simulator.Config{Lifts: fleet, Seed: 7, Start: t0, End: t0.Add(2 * time.Hour), Rates: simulator.DefaultRates(), Scenario: sc}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sink.Close()

	itest.WaitUntil(t, time.Minute, "A's inspection session in the live state", func() bool {
		l, _ := a.ing.State().Get("MT-A")
		return len(l.Inspections) > 0 && l.Inspections[0].Minutes >= 25
	})
	var entrapment *alerts.Alert
	itest.WaitUntil(t, time.Minute, "entrapment alert of A", func() bool {
		for _, al := range a.engine.Open() {
			if al.Lift == "MT-A" && al.Type == alerts.TypeEntrapment {
				entrapment = al
			}
		}
		return entrapment != nil
	})
	corrective := func(a *App) []*maintenance.WorkOrder {
		return workOrders(t, a, maintenance.Filter{Lift: "MT-A", Kind: maintenance.KindCorrective})
	}
	itest.WaitUntil(t, time.Minute, "corrective order after the entrapment", func() bool { return len(corrective(a)) > 0 })
	swept := sweeps(a)
	a.fake.Advance(cfg.Maintenance.SweepInterval) // a sweep reconciles incidents: still one
	itest.WaitUntil(t, time.Minute, "a sweep", func() bool { return sweeps(a) > swept })
	cs := corrective(a)
	if len(cs) != 1 || cs[0].NeedKey != fmt.Sprintf("corrective/MT-A/incident/%d", entrapment.ID) || !cs[0].Due.Equal(entrapment.FirstSeen.Add(24*time.Hour)) {
		t.Fatalf("corrective orders %+v, want one for alert %d due 24 h after %v", cs, entrapment.ID, entrapment.FirstSeen)
	}
	stop()

	// Restart: the live state is empty, the sessions are in the database.
	a, _, _ = runApp(t, cfg, t0.Add(2*time.Hour))
	svc = a.Domain().Maintenance
	itest.WaitUntil(t, time.Minute, "first sweep after the restart", func() bool {
		return sweeps(a) >= 1
	})
	if cs := corrective(a); len(cs) != 1 {
		t.Fatalf("after a restart: %d corrective orders for A, want 1", len(cs))
	}
	if !a.maint.InProgress("MT-A") {
		t.Fatal("after a restart the inhibition forgot A's work in progress")
	}
	done, err := svc.Complete(ctx, woA.ID, tech, maintenance.Completion{Results: fullChecklist(maintenance.HalfMonthly), Findings: "ok"})
	if err != nil {
		t.Fatal(err)
	}
	if done.State != maintenance.StateCompleted || done.Proof == nil || !done.Proof.Verified || done.Proof.Observed < 25*time.Minute {
		t.Fatalf("A completed: %s, proof %+v (want completed, verified by ≥ 25 min in inspection mode)", done.State, done.Proof)
	}
	if done, err = svc.Accept(ctx, woA.ID, maintenance.Actor{ID: "mgr-li"}, "checked"); err != nil || done.State != maintenance.StateVerified {
		t.Fatalf("accept A: %v, %v", done, err)
	}
	if a.maint.InProgress("MT-A") {
		t.Fatal("A still in progress for the inhibition after completion")
	}

	if _, err := svc.Start(ctx, woB.ID, tech, "王师傅"); err != nil {
		t.Fatal(err)
	}
	doneB, err := svc.Complete(ctx, woB.ID, tech, maintenance.Completion{Results: fullChecklist(maintenance.HalfMonthly), Findings: "ok",
		PartsFen: 12050, LabourFen: 8000})
	if err != nil {
		t.Fatal(err)
	}
	// The sweep posts the signed order's parts and labour to the lift's
	// fund ("who benefits pays"), once however often it runs.
	for range 2 {
		if err := a.maint.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := a.db.Fund().Entries(ctx, "MT-B", civil.Date{}, civil.Of(t0.AddDate(0, 1, 0)))
	if err != nil {
		t.Fatal(err)
	}
	var costs []int64
	for _, e := range entries {
		if e.SourceRef == fmt.Sprintf("%s:%d", fund.CatWorkOrder, doneB.ID) {
			costs = append(costs, e.AmountFen)
		}
	}
	if len(costs) != 1 || (costs[0] != 20050 && costs[0] != -20050) {
		t.Fatalf("fund expenses of work order %d: %v fen, want one of 20050", doneB.ID, costs)
	}
	if doneB.State != maintenance.StateUnverified || doneB.Proof == nil || doneB.Proof.Observed != 0 {
		t.Fatalf("B completed without inspection telemetry: %s, proof %+v (want unverified, 0 observed)", doneB.State, doneB.Proof)
	}
	sup := a.engine.OpenSupervision(maintenance.EventUnverified)
	if len(sup) != 1 || sup[0].Lift != "MT-B" || !strings.Contains(sup[0].Summary, "江湾物业") || sup[0].Count != 1 {
		t.Fatalf("supervision alerts for unverified visits: %+v (want one, for MT-B, to 江湾物业)", sup)
	}
	// Delivering the same event again (at least once) changes nothing.
	if err := a.maint.Supervise(ctx, maintenance.SupervisionEvent{Key: fmt.Sprintf("unverified/%d/%d", doneB.ID, len(doneB.History)),
		Kind: maintenance.EventUnverified, Lift: "MT-B", At: t0, Summary: "again"}); err != nil {
		t.Fatal(err)
	}
	if sup := a.engine.OpenSupervision(maintenance.EventUnverified); len(sup) != 1 || sup[0].Count != 1 {
		t.Fatalf("a repeated delivery counted: %+v", sup)
	}
}

// sweeps counts the maintenance sweeps done.
func sweeps(a *App) int64 { return a.maint.swept.Load() }

// fleetConfig is the test configuration for broker with fleet as the
// register (written to a file, as an operator gives it) and the alert
// clocks on the fake clock of the debug listener.
func fleetConfig(t *testing.T, broker string, fleet []registry.Lift) Config {
	t.Helper()
	regFile := filepath.Join(t.TempDir(), "fleet.json")
	b, err := json.Marshal(fleet)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(regFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, broker)
	cfg.Registry.File = regFile
	cfg.Debug = DebugConfig{Listen: "127.0.0.1:0", FakeClock: true}
	return cfg
}
