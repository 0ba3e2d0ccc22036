package app

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// rulesConfig is a test config over a real Mosquitto with the register
// fleet and the fake clock.
func rulesConfig(t *testing.T, fleet []registry.Lift) (Config, *testrig.Mosquitto) {
	t.Helper()
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	cfg := testConfig(t, broker.URL)
	regFile := filepath.Join(t.TempDir(), "fleet.json")
	b, _ := json.Marshal(fleet)
	if err := os.WriteFile(regFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Registry.File = regFile
	cfg.Debug = DebugConfig{Listen: "127.0.0.1:0", FakeClock: true}
	return cfg, broker
}

// startRules runs the app at t0 and waits for its first sweep; after it the
// loop sweeps only when the test moves the fake clock (sweepAt).
func startRules(t *testing.T, cfg Config, t0 time.Time) (*App, func()) {
	t.Helper()
	a, _, stop := runApp(t, cfg, t0)
	itest.WaitUntil(t, time.Minute, "the first sweep", func() bool { return sweeps(a) >= 1 })
	return a, stop
}

// sweepAt sets the fake clock to at (later than now by at least the sweep
// interval) and waits for the sweep it starts.
func sweepAt(t *testing.T, a *App, at time.Time) {
	t.Helper()
	before := sweeps(a)
	a.fake.Set(at)
	itest.WaitUntil(t, time.Minute, "a sweep at "+at.String(), func() bool { return sweeps(a) > before })
}

// openSupervision is the open supervision alerts of kind by lift.
func openSupervision(a *App, kind string) map[string]*alerts.Alert {
	out := map[string]*alerts.Alert{}
	for _, al := range a.engine.OpenSupervision(kind) {
		out[al.Lift] = al
	}
	return out
}

// statusSender publishes status reports with lifetime counters.
type statusSender struct {
	pub *simulator.MQTTSink
	seq atomic.Int64
}

func newStatusSender(t *testing.T, broker string) *statusSender {
	t.Helper()
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	return &statusSender{pub: pub}
}

// send publishes lift's status at ts with the counters and waits until the
// live state has taken them.
func (s *statusSender) send(t *testing.T, a *App, lift string, ts time.Time, trips, doors, runS int64) {
	t.Helper()
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":%d,"door_cycles":%d,"run_s":%d}`,
		s.seq.Add(1), ts.UnixMilli(), trips, doors, runS)
	if err := s.pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/status", Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	itest.WaitUntil(t, time.Minute, lift+"'s counters in the live state", func() bool {
		l, ok := a.ing.State().Get(lift)
		return ok && l.Counters.Trips == trips && l.Counters.DoorCycles == doors && l.Counters.At.Equal(ts)
	})
}

// TestInspectionRemindersThroughServe: the certificate expiry from the
// register plans the periodic inspection. 32 days before it nothing; 31
// days before, one inspection order and an inspection_due alert addressed
// to the lift's manager; on the expiry day an inspection_lapsed alert. A lift
// whose certificate runs longer gets neither.
func TestInspectionRemindersThroughServe(t *testing.T) {
	onEachStore(t, testInspectionRemindersThroughServe)
}

func testInspectionRemindersThroughServe(t *testing.T) {
	t0 := itest.PinnedStart(time.Now(), 10, 0)
	d0 := civil.Of(t0)
	expiry := d0.AddDays(40)
	installed := d0.AddDays(-200).String()
	cfg, _ := rulesConfig(t, []registry.Lift{
		{ID: "IN-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "虹房物业", Contractor: "三菱维保", CertExpiry: expiry.String()},
		{ID: "IN-B", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "江湾物业", Contractor: "三菱维保", CertExpiry: d0.AddDays(200).String()},
	})
	a, _ := startRules(t, cfg, t0)
	at := func(d civil.Date) time.Time {
		return time.Date(d.Year, d.Month, d.Day, 10, 0, 0, 0, maintenance.Shanghai)
	}
	inspections := func() []*maintenance.WorkOrder {
		return workOrders(t, a, maintenance.Filter{Kind: maintenance.KindInspection})
	}

	sweepAt(t, a, at(expiry.AddDays(-32)))
	if ws, due := inspections(), openSupervision(a, maintenance.EventInspectionDue); len(ws) != 0 || len(due) != 0 {
		t.Fatalf("32 days before expiry: %d inspection orders, due alerts %v (want none)", len(ws), due)
	}
	sweepAt(t, a, at(expiry.AddDays(-31)))
	ws := inspections()
	if len(ws) != 1 || ws[0].Lift != "IN-A" || !ws[0].Due.Equal(time.Date(expiry.Year, expiry.Month, expiry.Day, 0, 0, 0, 0, maintenance.Shanghai)) ||
		ws[0].Contractor != "三菱维保" {
		t.Fatalf("31 days before expiry: inspection orders %+v (want one for IN-A, due at the start of %s, assigned)", ws, expiry)
	}
	due := openSupervision(a, maintenance.EventInspectionDue)
	if len(due) != 1 || due["IN-A"] == nil || !strings.Contains(due["IN-A"].Summary, "虹房物业") || !strings.Contains(due["IN-A"].Summary, expiry.String()) {
		t.Fatalf("inspection_due alerts %+v (want one, IN-A, to 虹房物业, naming %s)", due, expiry)
	}
	if lapsed := openSupervision(a, maintenance.EventInspectionLapsed); len(lapsed) != 0 {
		t.Fatalf("lapsed before the expiry day: %+v", lapsed)
	}

	sweepAt(t, a, at(expiry.AddDays(-1)))
	if lapsed := openSupervision(a, maintenance.EventInspectionLapsed); len(lapsed) != 0 {
		t.Fatalf("lapsed on the last valid day: %+v", lapsed)
	}
	sweepAt(t, a, at(expiry))
	lapsed := openSupervision(a, maintenance.EventInspectionLapsed)
	if len(lapsed) != 1 || lapsed["IN-A"] == nil || !strings.Contains(lapsed["IN-A"].Summary, "虹房物业") {
		t.Fatalf("inspection_lapsed alerts %+v (want one, IN-A, to 虹房物业)", lapsed)
	}
	if ws := inspections(); len(ws) != 1 {
		t.Fatalf("%d inspection orders after more sweeps, want still 1", len(ws))
	}
}

// TestOnDemandUsageThroughServe: an on-demand lift's interval follows the
// formula from its measured usage and health.
//   - Day 0: each lift reports its counters; the sweep stores the day's
//     snapshot. With less than min_usage_days measured, on-demand falls back
//     to periodic, saying why.
//   - The service restarts 30 days later (the live state is gone, the
//     snapshots are not); the lifts report again. OD-A (62 trips, 75 door
//     cycles, 0.31 running hours a day, no trouble) gets the formula's 39
//     days; OD-C (the same use; a fault, an alarm and a call-out in the last
//     90 days, a fault 100 days ago) fewer; OD-B, on-demand but silent, stays
//     periodic: monitoring not online.
func TestOnDemandUsageThroughServe(t *testing.T) { onEachStore(t, testOnDemandUsageThroughServe) }

func testOnDemandUsageThroughServe(t *testing.T) {
	t0 := itest.PinnedStart(time.Now(), 10, 31*24*time.Hour)
	t1 := t0.AddDate(0, 0, 30)
	d0 := civil.Of(t0)
	installed := d0.AddDays(-400).String()
	var fleet []registry.Lift
	for _, id := range []string{"OD-A", "OD-B", "OD-C"} {
		fleet = append(fleet, registry.Lift{ID: id, Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "虹房物业"})
	}
	cfg, broker := rulesConfig(t, fleet)
	cfg.Telemetry.Horizon = 40 * 24 * time.Hour // the test replays 31 days
	ctx := context.Background()

	a, stop := startRules(t, cfg, t0)
	for _, l := range fleet {
		if err := a.Domain().Trusteeship.AddContract(ctx, "admin", &trusteeship.Contract{Lift: l.ID, Contractor: "奥的斯", Start: d0.AddDays(-10),
			End: d0.AddDays(355), Mode: trusteeship.OnDemand, PriceFen: 400000, GoodStanding: true, Insured: true}); err != nil {
			t.Fatal(err)
		}
	}
	snd := newStatusSender(t, broker.URL)
	snd.send(t, a, "OD-A", t0, 10_000, 12_000, 360_000)
	snd.send(t, a, "OD-C", t0, 20_000, 25_000, 720_000)
	sweepAt(t, a, t0.Add(6*time.Minute))
	pl, err := a.Domain().Plan(ctx, "OD-A")
	if err != nil {
		t.Fatal(err)
	}
	if pl.Mode != maintenance.Periodic || !strings.Contains(pl.Basis.String(), "on-demand refused (usage measured over 0.0 days, needs 7)") {
		t.Fatalf("OD-A with one day of counters: %s, %q (want periodic: usage not measured long enough)", pl.Mode, pl.Basis)
	}
	stop()

	// The history the alerts of the last months left: OD-C had a fault, an
	// alarm someone was sent to, and (100 days ago, outside the window)
	// another fault.
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	past := func(typ string, ago int, dispatched bool) {
		opened := t1.AddDate(0, 0, -ago)
		al := &alerts.Alert{Lift: "OD-C", Estate: "yixian", Type: typ, Severity: telemetry.SeverityMajor, State: alerts.StateResolved,
			Summary: "past " + typ, Count: 1, FirstSeen: opened, LastSeen: opened, OpenedAt: opened}
		if dispatched {
			d, s := opened.Add(5*time.Minute), opened.Add(25*time.Minute)
			al.DispatchedAt, al.DispatchedTo, al.OnSiteAt = &d, "奥的斯", &s
		}
		r := opened.Add(time.Hour)
		al.ResolvedAt = &r
		if err := db.Alerts().SaveAlert(ctx, al, nil); err != nil {
			t.Fatal(err)
		}
	}
	past(alerts.TypeFaultPrefix+"door_lock", 20, false)
	past(alerts.TypeAlarm, 10, true)
	past(alerts.TypeFaultPrefix+"door_lock", 100, false)
	db.Close()

	a, _ = startRules(t, cfg, t1)
	const days = 30
	snd.send(t, a, "OD-A", t1, 10_000+62*days, 12_000+75*days, 360_000+1116*days) // 0.31 h = 1116 s a day
	snd.send(t, a, "OD-C", t1, 20_000+62*days, 25_000+75*days, 720_000+1116*days)
	pol := a.Domain().Policies.Maintenance.For("yixian").OnDemand
	check := func(lift string, u maintenance.Usage, reason string) {
		t.Helper()
		pl, err := a.Domain().Plan(ctx, lift)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := pol.OnDemandDays(u)
		if pl.Mode != maintenance.OnDemand || pl.IntervalDays != want || want < pol.FloorDays || want > pol.CeilingDays ||
			pl.Basis.Usage.Days != days || !strings.Contains(pl.Basis.String(), reason) {
			t.Fatalf("%s: %s every %d days, %q (measured over %.1f days); want on-demand every %d days within [%d, %d], reason with %q",
				lift, pl.Mode, pl.IntervalDays, pl.Basis, pl.Basis.Usage.Days, want, pol.FloorDays, pol.CeilingDays, reason)
		}
	}
	usage := maintenance.Usage{TripsPerDay: 62, DoorCyclesPerDay: 75, RunHoursPerDay: 0.31, Days: days}
	check("OD-A", usage, "62 trips/day, 75 door cycles/day, 0.31 running h/day (load 41%); no faults, alarms, entrapments or call-outs in 90 days → 39 days (floor 10, ceiling 60)")
	troubled := usage
	troubled.Faults90, troubled.Alarms90, troubled.Callouts90 = 1, 1, 1
	check("OD-C", troubled, "1 faults, 1 alarms, 0 entrapments, 1 call-outs in 90 days (3.5 points, health 65%) → 29 days")

	pl, err = a.Domain().Plan(ctx, "OD-B")
	if err != nil {
		t.Fatal(err)
	}
	if pl.Mode != maintenance.Periodic || pl.Basis.String() != "periodic every 15 days: on-demand refused (monitoring not online, usage measured over 0.0 days, needs 7)" &&
		pl.Basis.String() != "periodic every 15 days: on-demand refused (monitoring not online)" {
		t.Fatalf("OD-B, never reporting: %s %q (want periodic: monitoring not online)", pl.Mode, pl.Basis)
	}
}

// TestDailyChecksThroughServe: the daily trusteeship and fund checks.
// DC-A's seeded contract ends in 19 days (contract_expiring), DC-B has no
// contractor (no_valid_contract), DC-C is covered for most of a year; each
// alert is addressed to the lift's manager. An expense leaves DC-C's fund
// below three months of its expected cost: the next day's check raises
// low_fund_balance; once the owners pay in, the following day resolves it.
func TestDailyChecksThroughServe(t *testing.T) { onEachStore(t, testDailyChecksThroughServe) }

func testDailyChecksThroughServe(t *testing.T) {
	t0 := itest.PinnedStart(time.Now(), 10, 0)
	d0 := civil.Of(t0)
	cfg, _ := rulesConfig(t, []registry.Lift{
		{ID: "DC-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddMonths(-12).AddDays(20).String(), PropertyManager: "虹房物业", Contractor: "三菱维保"},
		{ID: "DC-B", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddDays(-100).String(), PropertyManager: "江湾物业"},
		{ID: "DC-C", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddDays(-100).String(), PropertyManager: "平安托管", Contractor: "三菱维保"},
	})
	ctx := context.Background()
	a, _ := startRules(t, cfg, t0)

	exp, none := openSupervision(a, EventContractExpiring), openSupervision(a, EventNoContract)
	if len(exp) != 1 || exp["DC-A"] == nil || !strings.Contains(exp["DC-A"].Summary, "虹房物业") ||
		!strings.Contains(exp["DC-A"].Summary, d0.AddDays(19).String()) {
		t.Fatalf("contract_expiring alerts %+v (want one, DC-A, to 虹房物业, cover ends %s)", exp, d0.AddDays(19))
	}
	if len(none) != 1 || none["DC-B"] == nil || !strings.Contains(none["DC-B"].Summary, "江湾物业") {
		t.Fatalf("no_valid_contract alerts %+v (want one, DC-B, to 江湾物业)", none)
	}
	if low := openSupervision(a, EventLowBalance); len(low) != 0 {
		t.Fatalf("low balance with no expected cost: %+v", low)
	}

	if _, err := a.Domain().Fund.PostExpenseOn(ctx, "admin", fund.ExpenseInput{Lift: "DC-C", Ref: fund.SourceRef{Category: fund.CatInspection, ID: "INS-1"},
		AmountFen: 120_000, Date: d0, Reason: "periodic inspection fee"}); err != nil {
		t.Fatal(err)
	}
	sweepAt(t, a, t0.Add(24*time.Hour))
	low := openSupervision(a, EventLowBalance)
	if len(low) != 1 || low["DC-C"] == nil || !strings.Contains(low["DC-C"].Summary, "平安托管") || !strings.Contains(low["DC-C"].Summary, "-1200.00") {
		t.Fatalf("low_fund_balance alerts %+v (want one, DC-C, to 平安托管, balance -1200.00)", low)
	}
	if _, err := a.Domain().Fund.PostContribution(ctx, "admin", fund.ContributionInput{Lift: "DC-C", Unit: "201", AmountFen: 200_000,
		Date: d0.AddDays(1), Reason: "owners pay in"}); err != nil {
		t.Fatal(err)
	}
	sweepAt(t, a, t0.Add(48*time.Hour))
	if low := openSupervision(a, EventLowBalance); len(low) != 0 {
		t.Fatalf("low_fund_balance still open after the owners paid in: %+v", low)
	}
}

// TestProblemLiftThroughServe: PL-A had 5 call-outs in the last 12 months
// (and one 13 months ago), PL-B 4: PL-A gets a problem_lift alert addressed
// to its manager and exactly one corrective order for it, which later
// sweeps do not repeat; PL-B gets neither.
func TestProblemLiftThroughServe(t *testing.T) { onEachStore(t, testProblemLiftThroughServe) }

func testProblemLiftThroughServe(t *testing.T) {
	t0 := itest.PinnedStart(time.Now(), 10, 0)
	d0 := civil.Of(t0)
	cfg, _ := rulesConfig(t, []registry.Lift{
		{ID: "PL-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddDays(-800).String(), PropertyManager: "虹房物业", Contractor: "三菱维保"},
		{ID: "PL-B", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddDays(-800).String(), PropertyManager: "江湾物业", Contractor: "三菱维保"},
	})
	ctx := context.Background()
	db, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	callout := func(lift string, ago int) {
		opened := t0.AddDate(0, 0, -ago)
		d, s, r := opened.Add(5*time.Minute), opened.Add(30*time.Minute), opened.Add(time.Hour)
		if err := db.Alerts().SaveAlert(ctx, &alerts.Alert{Lift: lift, Estate: "yixian", Type: alerts.TypeAlarm, Severity: telemetry.SeverityMajor,
			State: alerts.StateResolved, Summary: "alarm button", Count: 1, FirstSeen: opened, LastSeen: opened, OpenedAt: opened,
			DispatchedAt: &d, DispatchedTo: "三菱维保", OnSiteAt: &s, ResolvedAt: &r}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, ago := range []int{20, 60, 120, 200, 300, 400} {
		callout("PL-A", ago)
	}
	for _, ago := range []int{20, 60, 120, 200} {
		callout("PL-B", ago)
	}
	db.Close()

	a, _ := startRules(t, cfg, t0)
	corrective := func(lift string) []*maintenance.WorkOrder {
		return workOrders(t, a, maintenance.Filter{Lift: lift, Kind: maintenance.KindCorrective})
	}
	itest.WaitUntil(t, time.Minute, "the problem lift's corrective order", func() bool { return len(corrective("PL-A")) > 0 })
	prob := openSupervision(a, EventProblemLift)
	if len(prob) != 1 || prob["PL-A"] == nil || !strings.Contains(prob["PL-A"].Summary, "虹房物业") || !strings.Contains(prob["PL-A"].Summary, "5 call-outs") {
		t.Fatalf("problem_lift alerts %+v (want one, PL-A, to 虹房物业, 5 call-outs)", prob)
	}
	sweepAt(t, a, t0.Add(time.Hour))
	sweepAt(t, a, t0.Add(2*time.Hour))
	cs := corrective("PL-A")
	if len(cs) != 1 || cs[0].NeedKey != fmt.Sprintf("corrective/PL-A/incident/%d", prob["PL-A"].ID) || !strings.Contains(cs[0].Reason, "problem_lift") {
		t.Fatalf("PL-A's corrective orders %+v (want one, for problem-lift alert %d)", cs, prob["PL-A"].ID)
	}
	if cs := corrective("PL-B"); len(cs) != 0 {
		t.Fatalf("PL-B (4 call-outs) got corrective orders: %+v", cs)
	}
	if p := openSupervision(a, EventProblemLift)["PL-A"]; p.Count != 1 {
		t.Fatalf("the problem_lift alert counted %d times in one month, want 1", p.Count)
	}
}

// TestMeterOrdersLatchedThroughServe: the door operator is serviced every
// 500,000 door cycles. Below it no order; crossing it one component order;
// more messages in the same cycle, and a restart (the in-memory latch gone),
// none more; crossing the next multiple a second one.
func TestMeterOrdersLatchedThroughServe(t *testing.T) {
	onEachStore(t, testMeterOrdersLatchedThroughServe)
}

func testMeterOrdersLatchedThroughServe(t *testing.T) {
	t0 := itest.PinnedStart(time.Now(), 10, 2*time.Hour)
	d0 := civil.Of(t0)
	cfg, broker := rulesConfig(t, []registry.Lift{
		{ID: "MO-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: d0.AddDays(-800).String(), PropertyManager: "虹房物业", Contractor: "三菱维保"},
	})
	snd := newStatusSender(t, broker.URL)
	a, stop := startRules(t, cfg, t0)
	components := func() []*maintenance.WorkOrder {
		return workOrders(t, a, maintenance.Filter{Lift: "MO-A", Kind: maintenance.KindComponent})
	}
	ts := t0
	step := func(doors int64) {
		t.Helper()
		ts = ts.Add(6 * time.Minute)
		snd.send(t, a, "MO-A", ts, 100_000, doors, 100_000)
		sweepAt(t, a, ts)
	}
	step(499_990)
	if ws := components(); len(ws) != 0 {
		t.Fatalf("below the threshold: %d component orders", len(ws))
	}
	step(500_010)
	step(500_400)
	ws := components()
	if len(ws) != 1 || ws[0].Component != "door_operator" || ws[0].NeedKey != "component/MO-A/door_operator/1" || ws[0].Contractor != "三菱维保" {
		t.Fatalf("after crossing 500,000 door cycles: %+v (want one door_operator order, cycle 1)", ws)
	}
	stop()

	a, _ = startRules(t, cfg, ts.Add(time.Minute))
	ts = ts.Add(time.Minute)
	step(500_600)
	if ws := components(); len(ws) != 1 {
		t.Fatalf("after a restart in the same cycle: %d component orders, want 1", len(ws))
	}
	step(1_000_001)
	ws = components()
	if len(ws) != 2 || ws[1].NeedKey != "component/MO-A/door_operator/2" && ws[0].NeedKey != "component/MO-A/door_operator/2" {
		t.Fatalf("after crossing 1,000,000: %+v (want a second order, cycle 2)", ws)
	}
}

// TestSweepYieldsToBacklog: a sweep waits while ingest has more than
// YieldInflight messages in flight, and the first also until the
// subscription holds.
func TestSweepYieldsToBacklog(t *testing.T) {
	var inflight int64
	subscribed := false
	m := &maint{inflight: func() int64 { return inflight }, subscribed: func() bool { return subscribed }}
	for _, c := range []struct {
		inflight   int64
		subscribed bool
		first      bool
		want       bool
	}{
		{0, false, true, true},                 // first sweep, backlog not arrived yet
		{0, true, true, false},                 // subscribed, nothing in flight
		{YieldInflight + 1, true, true, true},  // a backlog draining
		{YieldInflight + 1, true, false, true}, // also for later sweeps
		{YieldInflight, true, false, false},    // live rates
		{0, false, false, false},               // later sweeps do not wait for the broker
	} {
		inflight, subscribed = c.inflight, c.subscribed
		if got := m.catchingUp(c.first); got != c.want {
			t.Errorf("in flight %d, subscribed %v, first %v: catching up %v, want %v", c.inflight, c.subscribed, c.first, got, c.want)
		}
	}
}
