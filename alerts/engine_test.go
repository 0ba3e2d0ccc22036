package alerts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))

type rig struct {
	t       *testing.T
	db      *store.DB
	path    string
	clk     *clock.Fake
	e       *alerts.Engine
	mu      sync.Mutex
	changes []alerts.Change
	fleet   *registry.Index
	policy  alerts.Policies
	work    map[string]bool
	lifts   *liftstate.Store // the lifts' live state, which ingest writes in production
	// recipients, if set before start, is the engine's Config.Recipients.
	recipients func(*alerts.Alert) []string
}

func (r *rig) InProgress(lift string) bool { return r.work[lift] }

func newRig(t *testing.T) *rig {
	t.Helper()
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, path: filepath.Join(t.TempDir(), "lw.db"), clk: clock.NewFake(t0), fleet: registry.NewIndex(fleet),
		policy: alerts.Policies{Default: alerts.DefaultPolicy()}, work: map[string]bool{}}
	r.start()
	return r
}

// start opens the database and an engine over it (again after stop: a
// restart that keeps only what was persisted).
func (r *rig) start() {
	r.t.Helper()
	db, err := store.OpenSQLite(context.Background(), r.path)
	if err != nil {
		r.t.Fatal(err)
	}
	r.db = db
	r.t.Cleanup(func() { db.Close() })
	r.lifts = liftstate.New(r.fleet, liftstate.Options{})
	r.e, err = alerts.New(context.Background(), alerts.Config{Policies: r.policy, Store: db.Alerts(), Clock: r.clk.Now, WorkOrders: r, Lifts: r.lifts,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Estates: r.fleet.Estate, Recipients: r.recipients})
	if err != nil {
		r.t.Fatal(err)
	}
	r.e.Listen(func(c alerts.Change) { r.mu.Lock(); r.changes = append(r.changes, c); r.mu.Unlock() })
}

// crash abandons the engine without any shutdown and starts a new one.
func (r *rig) crash() {
	r.db.Close()
	r.mu.Lock()
	r.changes = nil
	r.mu.Unlock()
	r.start()
}

// play runs a scenario through the simulator and feeds every message to the
// engine in order, moving the clock with the messages and ticking, as live.
func (r *rig) play(sc string) []simulator.Out {
	r.t.Helper()
	s, err := simulator.ParseScenario([]byte(sc))
	if err != nil {
		r.t.Fatal(err)
	}
	s.Start = r.clk.Now()
	fleet, _ := registry.Jiangwan()
	rec := &simulator.Recorder{}
	sim, err := simulator.New(simulator.Config{Lifts: fleet, Seed: 1, Scenario: s, Rates: simulator.DefaultRates(), Now: r.clk.Now}, rec)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := sim.Run(context.Background()); err != nil {
		r.t.Fatal(err)
	}
	for i := range rec.Out {
		o := &rec.Out[i]
		if o.Hostile != "" {
			continue
		}
		if ts := o.Msg.Time(); ts.After(r.clk.Now()) {
			r.clk.Set(ts)
			r.e.Tick()
		}
		m := o.Msg
		r.consume(&m)
	}
	return rec.Out
}

// consume applies m to the lifts' state and hands it to the engine, as
// ingest's dispatch loop does.
func (r *rig) consume(m *telemetry.Message) { feed(r.lifts, r.e, r.clk.Now(), m) }

func feed(lifts *liftstate.Store, e *alerts.Engine, recv time.Time, m *telemetry.Message) {
	u, _ := lifts.Observe(m, recv, true)
	e.Consume(m, &u)
}

func (r *rig) advance(d time.Duration) {
	for step := time.Second; d > 0; d -= step {
		r.clk.Advance(min(step, d))
		r.e.Tick()
	}
}

func (r *rig) alertsOf(lift, typ string) []*alerts.Alert {
	r.t.Helper()
	list, err := r.db.Alerts().List(context.Background(), store.AlertFilter{Lift: lift, Type: typ})
	if err != nil {
		r.t.Fatal(err)
	}
	return list
}

func (r *rig) one(lift, typ string) *alerts.Alert {
	r.t.Helper()
	list := r.alertsOf(lift, typ)
	if len(list) != 1 {
		r.t.Fatalf("%s %s: %d alerts, want exactly 1", lift, typ, len(list))
	}
	a, err := r.db.Alerts().Alert(context.Background(), list[0].ID)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

func (r *rig) actions(id int64, action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.changes {
		if c.Alert.ID == id && c.Event.Action == action {
			n++
		}
	}
	return n
}

func msg(lift string, k telemetry.Kind, seq int64, at time.Time, f func(m *telemetry.Message)) *telemetry.Message {
	m := &telemetry.Message{Kind: k, Lift: lift, Boot: 1, Seq: seq, TS: at.UnixMilli(), BatteryPct: -1, LoadPct: -1, DoorZone: true}
	if f != nil {
		f(m)
	}
	return m
}

func TestExplicitEntrapmentIsOneRescueAlertThatDeviceCannotClose(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0042]
events:
  - {at: "00:00:30", lift: JW-0042, do: trap, variant: entrapment, floor: 3}
  - {at: "00:02:00", lift: JW-0042, do: fault, code: entrapment}
  - {at: "00:12:00", lift: JW-0042, do: rescue}
`)
	a := r.one("JW-0042", alerts.TypeEntrapment)
	if !a.Rescue || a.Severity != telemetry.SeverityCritical || a.Derived || a.State != alerts.StateOpen {
		t.Fatalf("alert %+v", a)
	}
	if a.ConditionActive {
		t.Fatal("the rescue cleared the fault and released the passenger: condition should be inactive")
	}
	if !strings.Contains(a.History[0].Note, "trapped") {
		t.Fatalf("history: %+v", a.History)
	}
	// Only a person on site closes it.
	if _, err := r.e.Resolve(a.ID, alerts.Action{Actor: "system-test", Note: "x", PassengersReleased: true}); err == nil {
		t.Fatal("rescue resolved without anyone on site")
	}
}

func TestDerivedEntrapmentEveryVariantAndThreshold(t *testing.T) {
	for i, v := range []string{simulator.TrapOutsideDoorZone, simulator.TrapDoorOpenFailure, simulator.TrapPowerLoss, simulator.TrapAlarmButton} {
		t.Run(v, func(t *testing.T) {
			r := newRig(t)
			lift := fmt.Sprintf("JW-%04d", 10+i)
			r.play(fmt.Sprintf(`
lifts: [%[1]s]
events:
  - {at: "00:01:00", lift: %[1]s, do: trap, variant: %[2]s, floor: 4}
  - {at: "00:20:00", lift: %[1]s, do: rescue}
`, lift, v))
			a := r.one(lift, alerts.TypeEntrapment)
			if !a.Derived || !a.Rescue || a.Severity != telemetry.SeverityCritical {
				t.Fatalf("%s: %+v", v, a)
			}
			// Raised once the condition had lasted the threshold, not before.
			started := t0.Add(time.Minute)
			if a.OpenedAt.Before(started.Add(30*time.Second)) || a.OpenedAt.After(started.Add(2*time.Minute)) {
				t.Fatalf("%s: opened at %v, condition from %v", v, a.OpenedAt.Sub(t0), started.Sub(t0))
			}
			if a.FirstSeen.After(started.Add(25 * time.Second)) {
				t.Fatalf("%s: first seen %v, want the condition's start", v, a.FirstSeen.Sub(t0))
			}
		})
	}
}

func TestShortStopIsNotAnEntrapment(t *testing.T) {
	r := newRig(t)
	now := r.clk.Now()
	l := "JW-0001"
	r.consume(msg(l, telemetry.KindStatus, 1, now, func(m *telemetry.Message) { m.Occupied, m.DoorZone = true, false }))
	r.advance(20 * time.Second)
	r.consume(msg(l, telemetry.KindTrip, 2, r.clk.Now(), func(m *telemetry.Message) { m.From, m.To = 3, 4 }))
	r.advance(5 * time.Minute)
	if got := r.alertsOf(l, alerts.TypeEntrapment); len(got) != 0 {
		t.Fatalf("a 20 s stop raised %d entrapment alerts", len(got))
	}
	// In inspection mode the technician has the car: no derived entrapment.
	r.consume(msg(l, telemetry.KindStatus, 3, r.clk.Now(), func(m *telemetry.Message) {
		m.Mode, m.Occupied, m.DoorZone = telemetry.ModeInspection, true, false
	}))
	r.advance(2 * time.Minute)
	if got := r.alertsOf(l, alerts.TypeEntrapment); len(got) != 0 {
		t.Fatal("entrapment derived while a technician had the car in inspection mode")
	}
}

func TestDerivedThenExplicitIsOneAlert(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0042]
events:
  - {at: "00:00:30", lift: JW-0042, do: trap, variant: outside_door_zone, floor: 3}
  - {at: "00:03:00", lift: JW-0042, do: fault, code: entrapment}
  - {at: "00:04:00", lift: JW-0042, do: alarm, source: button}
`)
	a := r.one("JW-0042", alerts.TypeEntrapment)
	if a.Derived || a.Count != 2 {
		t.Fatalf("want the derived alert confirmed by the terminal (derived=false, count 2): %+v", a)
	}
	if n := len(r.alertsOf("JW-0042", alerts.TypeAlarm)); n != 1 {
		t.Fatalf("alarm alerts %d", n)
	}
}

func TestCriticalFaultsAlertAtOnceAndStayUntilResolved(t *testing.T) {
	r := newRig(t)
	crit := []string{"unintended_movement", "overspeed", "overtravel_top", "overtravel_bottom", "door_open_while_moving"}
	var sc strings.Builder
	sc.WriteString("lifts: [JW-0001, JW-0002, JW-0003, JW-0004, JW-0005]\nevents:\n")
	for i, c := range crit {
		fmt.Fprintf(&sc, "  - {at: \"00:0%d:00\", lift: JW-000%d, do: fault, code: %s, for: 10m}\n", i+1, i+1, c)
	}
	r.play(sc.String())
	for i, c := range crit {
		lift := fmt.Sprintf("JW-000%d", i+1)
		a := r.one(lift, alerts.TypeFaultPrefix+c)
		if a.Severity != telemetry.SeverityCritical || a.State != alerts.StateOpen || a.ConditionActive || a.Suppressed != "" {
			t.Fatalf("%s: %+v", c, a)
		}
		if !a.OpenedAt.Equal(t0.Add(time.Duration(i+1) * time.Minute)) {
			t.Fatalf("%s: opened at %v, not at once", c, a.OpenedAt.Sub(t0))
		}
		if n, unsafe := r.e.LiftAlerts(lift); n != 1 || !unsafe {
			t.Fatalf("%s: lift not flagged unsafe after the terminal cleared the fault (open %d)", c, n)
		}
		if got, err := r.e.Resolve(a.ID, alerts.Action{Actor: "technician Wang", Note: "governor checked"}); err != nil || got.State != alerts.StateResolved {
			t.Fatalf("%s: technician could not clear: %v", c, err)
		}
		if _, unsafe := r.e.LiftAlerts(lift); unsafe {
			t.Fatalf("%s: still unsafe after the technician resolved it", c)
		}
		// A notice about the lift's paperwork says nothing of whether
		// it runs: it is not one of the lift's open alerts.
		if _, _, err := r.e.Supervise(alerts.Supervision{Key: "contract/" + lift, Kind: "contract_expiring", Lift: lift,
			Summary: "contract ends in 10 days"}); err != nil {
			t.Fatal(err)
		}
		if n, unsafe := r.e.LiftAlerts(lift); n != 0 || unsafe {
			t.Fatalf("%s: a supervision notice counts as an open alert (%d, unsafe %v)", c, n, unsafe)
		}
	}
}

func TestOtherFaultsCloseThemselves(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0001]
events:
  - {at: "00:01:00", lift: JW-0001, do: fault, code: door_obstructed, for: 3m}
`)
	a := r.one("JW-0001", alerts.TypeFaultPrefix+"door_obstructed")
	if a.State != alerts.StateResolved || a.ResolvedBy != "system" || a.Severity != telemetry.SeverityMinor {
		t.Fatalf("%+v", a)
	}
}

func TestLifecycleAndConflicts(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0042]
events:
  - {at: "00:00:30", lift: JW-0042, do: trap, variant: entrapment}
`)
	id := r.one("JW-0042", alerts.TypeEntrapment).ID
	act := alerts.Action{Actor: "duty officer Li"}
	if _, err := r.e.Acknowledge(id, alerts.Action{}); err == nil {
		t.Fatal("action without actor accepted")
	}
	if a, err := r.e.Acknowledge(id, act); err != nil || a.State != alerts.StateAcknowledged {
		t.Fatal(err)
	}
	_, err := r.e.Acknowledge(id, act)
	var te *alerts.TransitionError
	if !errorsAs(err, &te) || te.Current != alerts.StateAcknowledged {
		t.Fatalf("second acknowledge: %v", err)
	}
	if _, err := r.e.Dispatch(id, act); err == nil {
		t.Fatal("dispatch without a destination accepted")
	}
	if a, err := r.e.Dispatch(id, alerts.Action{Actor: "duty officer Li", To: "technician Wang"}); err != nil || a.DispatchedTo != "technician Wang" {
		t.Fatal(err)
	}
	if _, err := r.e.Resolve(id, alerts.Action{Actor: "Wang", Note: "out", PassengersReleased: true}); !errorsAs(err, &te) || te.Current != alerts.StateDispatched {
		t.Fatalf("rescue resolved before arrival: %v", err)
	}
	r.advance(12 * time.Minute)
	if a, err := r.e.Arrive(id, alerts.Action{Actor: "Wang"}); err != nil || a.State != alerts.StateOnSite {
		t.Fatal(err)
	}
	if _, err := r.e.Resolve(id, alerts.Action{Actor: "Wang", Note: "out"}); err == nil {
		t.Fatal("rescue resolved without confirming the passengers are out")
	}
	if _, err := r.e.Comment(id, alerts.Action{Actor: "Wang", Note: "car moved to floor 4 by hand winding"}); err != nil {
		t.Fatal(err)
	}
	a, err := r.e.Resolve(id, alerts.Action{Actor: "Wang", Note: "two passengers released at floor 4", PassengersReleased: true})
	if err != nil || a.State != alerts.StateResolved {
		t.Fatal(err)
	}
	if _, err := r.e.Comment(id, alerts.Action{Actor: "x", Note: "y"}); err == nil {
		t.Fatal("action on a resolved alert accepted by the engine")
	}
	full := r.one("JW-0042", alerts.TypeEntrapment)
	var steps []string
	for _, ev := range full.History {
		steps = append(steps, ev.Action+"/"+ev.Actor)
	}
	// The scenario has no rescue: the terminal still reports the car trapped
	// when Wang resolves, which is recorded on the alert, not a new incident.
	want := "opened/system acknowledged/duty officer Li dispatched/duty officer Li arrived/Wang comment/Wang resolved/Wang condition_persists/system"
	if strings.Join(steps, " ") != want {
		t.Fatalf("history %v\nwant %s", steps, want)
	}
	if full.AckAt == nil || full.DispatchedAt == nil || full.OnSiteAt == nil || full.ResolvedAt == nil || full.OnSiteAt.Sub(full.OpenedAt) < 12*time.Minute {
		t.Fatalf("times not recorded: %+v", full)
	}
}

func errorsAs[T error](err error, target *T) bool {
	if err == nil {
		return false
	}
	e, ok := err.(T)
	if ok {
		*target = e
	}
	return ok
}

func TestEscalationAndRenotifyOnTheClock(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0042]
events:
  - {at: "00:00:10", lift: JW-0042, do: trap, variant: entrapment}
`)
	a := r.one("JW-0042", alerts.TypeEntrapment)
	opened := a.OpenedAt
	r.clk.Set(opened)
	r.advance(4*time.Minute + 59*time.Second)
	if got := r.one("JW-0042", alerts.TypeEntrapment).Tier; got != 1 {
		t.Fatalf("tier %d before 5 minutes", got)
	}
	if n := r.actions(a.ID, "renotified"); n != 1 {
		t.Fatalf("renotified %d times in the first 5 minutes, want 1 (at 3 min)", n)
	}
	r.advance(time.Second)
	if got := r.one("JW-0042", alerts.TypeEntrapment).Tier; got != 2 {
		t.Fatalf("tier %d at 5 minutes, want 2", got)
	}
	// Acknowledged: no more re-notification; nobody on site at 30 minutes: tier 3.
	if _, err := r.e.Acknowledge(a.ID, alerts.Action{Actor: "Li"}); err != nil {
		t.Fatal(err)
	}
	before := r.actions(a.ID, "renotified")
	r.advance(25*time.Minute - time.Second)
	if got := r.one("JW-0042", alerts.TypeEntrapment).Tier; got != 2 {
		t.Fatalf("tier %d before 30 minutes", got)
	}
	r.advance(time.Second)
	full := r.one("JW-0042", alerts.TypeEntrapment)
	if full.Tier != 3 {
		t.Fatalf("tier %d at 30 minutes, want 3", full.Tier)
	}
	if r.actions(a.ID, "renotified") != before {
		t.Fatal("re-notified after acknowledgement")
	}
	if r.actions(a.ID, "escalated") != 2 {
		t.Fatalf("escalations notified %d times, want 2", r.actions(a.ID, "escalated"))
	}
	r.advance(time.Hour)
	if r.actions(a.ID, "escalated") != 2 {
		t.Fatal("escalated again")
	}
}

func TestRestartContinuesClocksExactly(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0042]
events:
  - {at: "00:00:10", lift: JW-0042, do: trap, variant: entrapment}
`)
	a := r.one("JW-0042", alerts.TypeEntrapment)
	r.clk.Set(a.OpenedAt)
	r.advance(4 * time.Minute)
	r.crash()
	r.advance(59 * time.Second)
	if got := r.one("JW-0042", alerts.TypeEntrapment).Tier; got != 1 {
		t.Fatalf("tier %d after restart before 5 minutes", got)
	}
	r.advance(time.Second)
	if got := r.one("JW-0042", alerts.TypeEntrapment); got.Tier != 2 || got.ID != a.ID {
		t.Fatalf("after restart: %+v", got)
	}
	r.crash()
	r.advance(10 * time.Minute)
	full := r.one("JW-0042", alerts.TypeEntrapment)
	n := 0
	for _, ev := range full.History {
		if ev.Action == "escalated" {
			n++
		}
	}
	if n != 1 || full.Tier != 2 {
		t.Fatalf("escalated %d times across restarts, tier %d", n, full.Tier)
	}
	// Detection goes on after a restart: the same condition does not open a
	// second alert.
	r.consume(msg("JW-0042", telemetry.KindFault, 900, r.clk.Now(), func(m *telemetry.Message) { m.Code = "entrapment" }))
	if len(r.alertsOf("JW-0042", alerts.TypeEntrapment)) != 1 {
		t.Fatal("restart duplicated the open alert")
	}
}

func TestOfflineFlappingWithoutRaces(t *testing.T) {
	r := newRig(t)
	now := r.clk.Now()
	l := "JW-0100"
	r.e.LiftStateChange(l, false, 1, now)
	r.e.LiftStateChange(l, true, 2, now)
	r.e.LiftStateChange(l, false, 3, now)
	r.e.LiftStateChange(l, true, 2, now) // late, out of order: ignored
	open := r.e.Open()
	if len(open) != 1 || open[0].Type != alerts.TypeOffline {
		t.Fatalf("after flapping, open: %+v", open)
	}
	r.e.LiftStateChange(l, true, 4, now)
	if len(r.e.Open()) != 0 {
		t.Fatal("offline alert not closed when traffic returned")
	}
	list := r.alertsOf(l, alerts.TypeOffline)
	if len(list) != 2 {
		t.Fatalf("%d offline alerts, want 2 (one per outage)", len(list))
	}
	for _, a := range list {
		if a.State != alerts.StateResolved {
			t.Fatalf("outage alert left %s", a.State)
		}
	}
}

func TestRepeatedFaultsMakeAProblemLift(t *testing.T) {
	r := newRig(t)
	r.play(`
lifts: [JW-0007, JW-0008]
events:
  - {at: "00:01:00", lift: JW-0007, do: fault, code: door_lock, for: 1m}
  - {at: "00:10:00", lift: JW-0007, do: fault, code: door_lock, for: 1m}
  - {at: "00:20:00", lift: JW-0007, do: fault, code: door_lock, for: 1m}
  - {at: "00:30:00", lift: JW-0007, do: fault, code: door_lock, for: 1m}
  - {at: "00:01:00", lift: JW-0008, do: fault, code: door_lock, for: 1m}
  - {at: "00:10:00", lift: JW-0008, do: fault, code: door_lock, for: 1m}
`)
	a := r.one("JW-0007", alerts.TypeRepeatPrefix+"door_lock")
	if a.Count != 2 || a.State != alerts.StateOpen {
		t.Fatalf("problem lift alert %+v (want raised at the 3rd, repeated at the 4th)", a)
	}
	if n := len(r.alertsOf("JW-0008", alerts.TypeRepeatPrefix+"door_lock")); n != 0 {
		t.Fatal("two faults made a problem lift")
	}
	if n := len(r.alertsOf("JW-0007", alerts.TypeFaultPrefix+"door_lock")); n != 4 {
		t.Fatalf("%d door_lock alerts, want 4 (each closed when cleared)", n)
	}
}

func TestInhibitionAndSilences(t *testing.T) {
	r := newRig(t)
	r.work["JW-0003"] = true
	sil, err := r.e.AddSilence(context.Background(), alerts.Silence{Estate: "guyuan", StartsAt: t0, EndsAt: t0.Add(2 * time.Hour),
		Reason: "annual inspection of the whole estate", CreatedBy: "manager Zhou"})
	if err != nil {
		t.Fatal(err)
	}
	guyuan := ""
	for _, l := range r.fleet.Lifts() {
		if l.Estate == "guyuan" {
			guyuan = l.ID
			break
		}
	}
	r.play(fmt.Sprintf(`
lifts: [JW-0001, JW-0002, JW-0003, %[1]s]
events:
  - {at: "00:01:00", lift: JW-0001, do: visit, for: 40m}
  - {at: "00:05:00", lift: JW-0001, do: fault, code: door_close_failure, for: 2m}
  - {at: "00:08:00", lift: JW-0001, do: fault, code: overspeed, for: 1m}
  - {at: "00:12:00", lift: JW-0001, do: fault, code: entrapment}
  - {at: "00:05:00", lift: JW-0003, do: fault, code: safety_circuit, for: 2m}
  - {at: "00:05:00", lift: %[1]s, do: fault, code: runtime_limiter, for: 2m}
  - {at: "00:09:00", lift: %[1]s, do: fault, code: overtravel_top, for: 2m}
  - {at: "00:02:00", lift: JW-0002, do: disconnect, for: 30m}
`, guyuan))
	if a := r.one("JW-0001", alerts.TypeFaultPrefix+"door_close_failure"); a.Suppressed != "inspection" {
		t.Fatalf("fault in inspection mode: suppressed=%q", a.Suppressed)
	}
	if a := r.one("JW-0001", alerts.TypeFaultPrefix+"overspeed"); a.Suppressed != "" {
		t.Fatal("critical fault suppressed by inspection")
	}
	if a := r.one("JW-0001", alerts.TypeEntrapment); a.Suppressed != "" {
		t.Fatal("entrapment suppressed")
	}
	if a := r.one("JW-0003", alerts.TypeFaultPrefix+"safety_circuit"); a.Suppressed != "work_order" {
		t.Fatalf("fault with a work order in progress: suppressed=%q", a.Suppressed)
	}
	if a := r.one(guyuan, alerts.TypeFaultPrefix+"runtime_limiter"); a.Suppressed != fmt.Sprintf("silence:%d", sil.ID) {
		t.Fatalf("silenced estate: suppressed=%q", a.Suppressed)
	}
	if a := r.one(guyuan, alerts.TypeFaultPrefix+"overtravel_top"); a.Suppressed != "" {
		t.Fatal("critical fault silenced")
	}
	// Suppressed alerts are never notified (listeners see them, with the reason).
	if _, err := r.e.AddSilence(context.Background(), alerts.Silence{Lift: "JW-0001"}); err == nil {
		t.Fatal("silence without a window, reason and author accepted")
	}
	// Offline lift: door faults suppressed.
	r.e.LiftStateChange("JW-0200", false, 1, r.clk.Now())
	r.consume(msg("JW-0200", telemetry.KindFault, 5, r.clk.Now(), func(m *telemetry.Message) { m.Code = "door_lock" }))
	if a := r.one("JW-0200", alerts.TypeFaultPrefix+"door_lock"); a.Suppressed != "offline" {
		t.Fatalf("door fault of an offline lift: suppressed=%q", a.Suppressed)
	}
}

func TestOutOfServiceAndLowBattery(t *testing.T) {
	r := newRig(t)
	l := "JW-0050"
	r.consume(msg(l, telemetry.KindStatus, 1, r.clk.Now(), func(m *telemetry.Message) {
		m.Mode, m.Has, m.BatteryPct = telemetry.ModeOutOfService, telemetry.FieldBattery, 12
	}))
	if a := r.one(l, alerts.TypeLowBattery); a.Severity != telemetry.SeverityWarning {
		t.Fatal("low battery")
	}
	r.advance(29 * time.Minute)
	if len(r.alertsOf(l, alerts.TypeOutOfService)) != 0 {
		t.Fatal("out of service raised before 30 minutes")
	}
	r.advance(time.Minute)
	if len(r.alertsOf(l, alerts.TypeOutOfService)) != 1 {
		t.Fatal("out of service not raised at 30 minutes")
	}
	r.consume(msg(l, telemetry.KindStatus, 2, r.clk.Now(), func(m *telemetry.Message) {
		m.Mode, m.Has, m.BatteryPct = telemetry.ModeNormal, telemetry.FieldBattery, 90
	}))
	if len(r.e.Open()) != 0 {
		t.Fatalf("alerts left open after recovery: %+v", r.e.Open())
	}
}

func TestPerEstatePolicy(t *testing.T) {
	r := newRig(t)
	p := alerts.DefaultPolicy()
	p.EntrapmentAfter = 80 * time.Second
	r.policy.Estates = map[string]alerts.Policy{"yixian": p}
	r.crash()
	l := "JW-0001" // yixian
	r.consume(msg(l, telemetry.KindStatus, 1, r.clk.Now(), func(m *telemetry.Message) { m.Occupied, m.DoorZone = true, false }))
	r.advance(60 * time.Second)
	if len(r.alertsOf(l, alerts.TypeEntrapment)) != 0 {
		t.Fatal("estate threshold of 80 s not applied")
	}
	r.advance(20 * time.Second)
	if len(r.alertsOf(l, alerts.TypeEntrapment)) != 1 {
		t.Fatal("entrapment not raised at the estate's 80 s")
	}
}

// failingStore fails its first n saves, then delegates.
type failingStore struct {
	alerts.Store
	n int
}

func (f *failingStore) SaveAlert(ctx context.Context, a *alerts.Alert, ev []alerts.Event) error {
	if f.n > 0 {
		f.n--
		return fmt.Errorf("disk full")
	}
	return f.Store.SaveAlert(ctx, a, ev)
}

// TestStoreFailureDoesNotLoseTheAlert: detection and notification go on when
// the database fails, and the alert is written whole at its next change.
func TestStoreFailureDoesNotLoseTheAlert(t *testing.T) {
	r := newRig(t)
	fs := &failingStore{Store: r.db.Alerts(), n: 1}
	e, err := alerts.New(context.Background(), alerts.Config{Policies: r.policy, Store: fs, Clock: r.clk.Now, Lifts: r.lifts,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Estates: r.fleet.Estate})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	e.Listen(func(c alerts.Change) { seen = append(seen, c.Event.Action) })
	feed(r.lifts, e, r.clk.Now(), msg("JW-0042", telemetry.KindFault, 1, r.clk.Now(), func(m *telemetry.Message) { m.Code = "entrapment" }))
	if len(seen) != 1 || seen[0] != "opened" {
		t.Fatalf("listeners not told despite the store failure: %v", seen)
	}
	r.advance(0)
	feed(r.lifts, e, r.clk.Now(), msg("JW-0042", telemetry.KindFault, 2, r.clk.Now(), func(m *telemetry.Message) { m.Code = "entrapment" }))
	open := e.Open()
	if len(open) != 1 || open[0].ID == 0 {
		t.Fatalf("alert not persisted at its next change: %+v", open)
	}
	if _, err := e.Acknowledge(open[0].ID, alerts.Action{Actor: "Li"}); err != nil {
		t.Fatalf("alert not actionable after the store recovered: %v", err)
	}
}

// TestIdempotentOnLiftBootSeq: ingest passes on faults and alarms it cannot
// check for repeats, so the engine must take each (lift, boot, seq) once; a
// new message is new evidence, and a late one never undoes newer state.
func TestIdempotentOnLiftBootSeq(t *testing.T) {
	type step struct {
		kind      telemetry.Kind
		boot, seq int64
		at        time.Duration // event time after t0
		code      string        // fault code
		cleared   bool
	}
	fault := func(seq int64, at time.Duration, code string) step {
		return step{kind: telemetry.KindFault, boot: 1, seq: seq, at: at, code: code}
	}
	clear := func(seq int64, at time.Duration, code string) step {
		s := fault(seq, at, code)
		s.cleared = true
		return s
	}
	alarm := func(seq int64, at time.Duration) step {
		return step{kind: telemetry.KindAlarm, boot: 1, seq: seq, at: at}
	}
	for _, tc := range []struct {
		name    string
		steps   []step
		typ     string
		actions []string // the alert's history, in order
		open    bool
		active  bool
	}{
		{"entrapment redelivered", []step{fault(5, 0, "entrapment"), fault(5, 0, "entrapment"), fault(5, 0, "entrapment")},
			alerts.TypeEntrapment, []string{"opened"}, true, true},
		{"alarm redelivered", []step{alarm(7, 0), alarm(7, 0)},
			alerts.TypeAlarm, []string{"opened"}, true, true},
		{"critical fault redelivered", []step{fault(3, 0, "overspeed"), fault(3, 0, "overspeed")},
			alerts.TypeFaultPrefix + "overspeed", []string{"opened"}, true, true},
		{"fault redelivered after its clear", []step{fault(3, 0, "door_lock"), clear(4, time.Minute, "door_lock"), fault(3, 0, "door_lock")},
			alerts.TypeFaultPrefix + "door_lock", []string{"opened", "resolved"}, false, false},
		{"a new message is a repeat", []step{fault(5, 0, "entrapment"), fault(6, time.Second, "entrapment")},
			alerts.TypeEntrapment, []string{"opened", "repeated"}, true, true},
		{"same seq of a new boot is a new message", []step{alarm(7, 0), {kind: telemetry.KindAlarm, boot: 2, seq: 7, at: time.Minute}},
			alerts.TypeAlarm, []string{"opened", "repeated"}, true, true},
		{"late entrapment after its clear is raised, inactive", []step{clear(40, time.Minute, "entrapment"), fault(5, 0, "entrapment"), fault(5, 0, "entrapment")},
			alerts.TypeEntrapment, []string{"opened"}, true, false},
		{"late clear does not clear a newer fault", []step{fault(40, time.Minute, "door_lock"), clear(5, 0, "door_lock")},
			alerts.TypeFaultPrefix + "door_lock", []string{"opened"}, true, true},
		{"late fault that has cleared since opens nothing", []step{clear(40, time.Minute, "door_lock"), fault(5, 0, "door_lock")},
			alerts.TypeFaultPrefix + "door_lock", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			const lift = "JW-0031"
			for _, s := range tc.steps {
				r.consume(msg(lift, s.kind, s.seq, t0.Add(s.at), func(m *telemetry.Message) {
					m.Boot, m.Code = s.boot, s.code
					if s.cleared {
						m.State = telemetry.FaultCleared
					}
				}))
			}
			list := r.alertsOf(lift, tc.typ)
			if tc.actions == nil {
				if len(list) != 0 {
					t.Fatalf("alerts %+v, want none", list)
				}
				return
			}
			a := r.one(lift, tc.typ)
			var got []string
			for _, ev := range a.History {
				got = append(got, ev.Action)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.actions) || a.Count != int64(countOf(got, "opened", "repeated")) {
				t.Fatalf("history %v count %d, want %v", got, a.Count, tc.actions)
			}
			if a.Open() != tc.open || a.ConditionActive != tc.active {
				t.Fatalf("open %v condition_active %v, want %v %v", a.Open(), a.ConditionActive, tc.open, tc.active)
			}
			r.mu.Lock()
			n := len(r.changes)
			r.mu.Unlock()
			if n != len(tc.actions) {
				t.Fatalf("%d changes to listeners, want %d", n, len(tc.actions))
			}
		})
	}
}

func countOf(actions []string, names ...string) int {
	n := 0
	for _, a := range actions {
		for _, x := range names {
			if a == x {
				n++
			}
		}
	}
	return n
}

// TestEventRememberedAcrossTraffic: a fault redelivered after thousands of
// other messages (a backlog far behind the lift's sequence) is still
// recognised.
func TestEventRememberedAcrossTraffic(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0032"
	trap := func() *telemetry.Message {
		return msg(lift, telemetry.KindFault, 10, t0, func(m *telemetry.Message) { m.Code = "entrapment" })
	}
	r.consume(trap())
	for s := int64(11); s < 5000; s++ {
		r.consume(msg(lift, telemetry.KindStatus, s, t0.Add(time.Duration(s)*time.Second), nil))
	}
	for s := int64(5000); s < 5100; s++ { // other faults too, below the engine's memory
		r.consume(msg(lift, telemetry.KindFault, s, t0.Add(time.Duration(s)*time.Second), func(m *telemetry.Message) { m.Code = "door_lock" }))
	}
	r.consume(trap())
	if a := r.one(lift, alerts.TypeEntrapment); a.Count != 1 || len(a.History) != 1 {
		t.Fatalf("redelivered entrapment counted: count %d, %d history events", a.Count, len(a.History))
	}
}

// TestClockTicksNeverRepeat: a condition raises once; hours of clock ticks
// add nothing to its count, its history or the live stream.
func TestClockTicksNeverRepeat(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   string
		setup func(r *rig, lift string)
	}{
		{"out of service", alerts.TypeOutOfService, func(r *rig, lift string) {
			r.consume(msg(lift, telemetry.KindStatus, 1, r.clk.Now(), func(m *telemetry.Message) { m.Mode = telemetry.ModeOutOfService }))
			r.advance(30 * time.Minute)
		}},
		{"offline", alerts.TypeOffline, func(r *rig, lift string) {
			r.e.LiftStateChange(lift, false, 1, r.clk.Now())
		}},
		{"low battery", alerts.TypeLowBattery, func(r *rig, lift string) {
			r.consume(msg(lift, telemetry.KindStatus, 1, r.clk.Now(), func(m *telemetry.Message) {
				m.Has, m.BatteryPct = telemetry.FieldBattery, 10
			}))
		}},
		{"derived entrapment, someone on site", alerts.TypeEntrapment, func(r *rig, lift string) {
			r.consume(msg(lift, telemetry.KindStatus, 1, r.clk.Now(), func(m *telemetry.Message) { m.Occupied, m.DoorZone = true, false }))
			r.advance(31 * time.Second)
			a := r.one(lift, alerts.TypeEntrapment)
			if _, err := r.e.Arrive(a.ID, alerts.Action{Actor: "Li"}); err != nil {
				r.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			const lift = "JW-0060"
			tc.setup(r, lift)
			before := r.one(lift, tc.typ)
			if before.Count != 1 {
				t.Fatalf("count %d after raising, want 1", before.Count)
			}
			hub := alerts.NewHub()
			r.e.Listen(hub.Handle)
			stream, stop := hub.Subscribe()
			defer stop()
			r.advance(4 * time.Hour)
			after := r.one(lift, tc.typ)
			if after.Count != 1 || len(after.History) != len(before.History) {
				t.Fatalf("4 h of ticks: count %d, history %d events (was %d), last %+v", after.Count, len(after.History), len(before.History), after.History[len(after.History)-1])
			}
			select {
			case ev := <-stream:
				t.Fatalf("4 h of ticks put %q on the stream", ev.Event.Action)
			default:
			}
		})
	}
}

// TestSustainedConditionReportsAreNotRepeats: status reports confirming a
// condition already raised are not repeats either.
func TestSustainedConditionReportsAreNotRepeats(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0061"
	for i := int64(0); i < 120; i++ {
		r.clk.Set(t0.Add(time.Duration(i) * time.Minute))
		r.e.Tick()
		r.consume(msg(lift, telemetry.KindStatus, i+1, r.clk.Now(), func(m *telemetry.Message) {
			m.Mode, m.Has, m.BatteryPct = telemetry.ModeOutOfService, telemetry.FieldBattery, 10
		}))
	}
	for _, typ := range []string{alerts.TypeOutOfService, alerts.TypeLowBattery} {
		if a := r.one(lift, typ); a.Count != 1 || len(a.History) != 1 {
			t.Errorf("%s: count %d, %d history events after 2 h of status reports", typ, a.Count, len(a.History))
		}
	}
}
