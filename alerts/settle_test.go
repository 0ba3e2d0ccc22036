package alerts_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/telemetry"
)

// rescue takes an open rescue alert through acknowledge → dispatch → arrive
// → resolve, as the operator in the field trial did.
func (r *rig) rescue(id int64) *alerts.Alert {
	r.t.Helper()
	act := alerts.Action{Actor: "technician Wang", Note: "released with the manual brake release; car left at floor 3", To: "technician Wang",
		PassengersReleased: true}
	if _, err := r.e.Acknowledge(id, act); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.e.Dispatch(id, act); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.e.Arrive(id, act); err != nil {
		r.t.Fatal(err)
	}
	a, err := r.e.Resolve(id, act)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

// lifter sends one lift's messages in sequence at the rig's clock.
type lifter struct {
	r    *rig
	lift string
	seq  int64
}

func (l *lifter) send(k telemetry.Kind, f func(m *telemetry.Message)) {
	l.seq++
	l.r.consume(msg(l.lift, k, l.seq, l.r.clk.Now(), f))
}

var (
	stuck = func(m *telemetry.Message) { m.Occupied, m.DoorZone, m.Floor = true, false, 3 }
	trap  = func(m *telemetry.Message) {
		m.Code, m.Has, m.Occupied, m.DoorZone = telemetry.FaultEntrapment, telemetry.FieldOccupied|telemetry.FieldDoorZone, true, false
	}
	trapCleared    = func(m *telemetry.Message) { m.Code, m.State = telemetry.FaultEntrapment, telemetry.FaultCleared }
	emptyAtLanding = func(m *telemetry.Message) { m.Occupied, m.DoorZone, m.Floor = false, true, 1 }
)

// openOf is lift's open alert of typ, nil if none.
func (r *rig) openOf(lift, typ string) *alerts.Alert {
	r.t.Helper()
	var found *alerts.Alert
	for _, a := range r.alertsOf(lift, typ) {
		if a.State != alerts.StateResolved {
			if found != nil {
				r.t.Fatalf("%s %s: two open alerts %d and %d", lift, typ, found.ID, a.ID)
			}
			found = a
		}
	}
	return found
}

// stillTrapped is the field trial's JW-0042: an occupied car stopped
// outside the door zone whose terminal reports the entrapment, rescued and
// resolved on site while the terminal goes on reporting it.
func stillTrapped(t *testing.T, r *rig, lift string) (*lifter, *alerts.Alert) {
	t.Helper()
	l := &lifter{r: r, lift: lift}
	l.send(telemetry.KindStatus, stuck)
	r.advance(5 * time.Second)
	l.send(telemetry.KindFault, trap)
	r.advance(8 * time.Minute) // the derived condition passes its 30 s too
	list := r.alertsOf(lift, alerts.TypeEntrapment)
	if len(list) != 1 {
		t.Fatalf("%d entrapment alerts before the rescue, want 1", len(list))
	}
	if first := r.rescue(list[0].ID); first.State != alerts.StateResolved {
		t.Fatalf("resolved alert is %s", first.State)
	}
	return l, list[0]
}

// TestResolvedRescueStillReportedStaysOpen is the field trial's report: a
// rescue resolved on site while the terminal still shows an occupied car
// stopped outside the door zone and still reports the entrapment fault
// leaves an open entrapment_still_reported alert on the lift (major: check
// on site), counted among the lift's open alerts; the same report repeated
// opens no second rescue; still reported after still_reported_after (10
// min) it becomes a rescue again, with its clocks and escalation.
// (It replaces TestResolvedRescueIsNotReopened, whose rule recorded the
// condition on the resolved alert and left the lift looking normal.)
func TestResolvedRescueStillReportedStaysOpen(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0042"
	l, first := stillTrapped(t, r, lift)
	s := r.openOf(lift, alerts.TypeStillReported)
	if s == nil {
		t.Fatal("no open entrapment_still_reported alert after a rescue resolved while the terminal still reports it")
	}
	if s.Severity != telemetry.SeverityMajor || s.State != alerts.StateOpen || s.Rescue ||
		!strings.Contains(s.Summary, "terminal still reports a trapped passenger: check on site") {
		t.Fatalf("still-reported alert: %+v", s)
	}
	if open, _ := r.e.LiftAlerts(lift); open != 1 {
		t.Fatalf("lift has %d open alerts after the resolve, want 1 (the still-reported condition)", open)
	}
	resolved := r.one(lift, alerts.TypeEntrapment)
	var persists []string
	for _, ev := range resolved.History {
		if ev.Action == "condition_persists" {
			persists = append(persists, ev.Note)
		}
	}
	if len(persists) != 1 || !strings.Contains(persists[0], "outside the door zone") || !strings.Contains(persists[0], "fault entrapment active") ||
		!strings.Contains(persists[0], fmt.Sprintf("alert #%d", s.ID)) {
		t.Fatalf("the resolved rescue should record once what still held and the alert left open: %q", persists)
	}

	// The terminal goes on reporting the car occupied outside the door zone
	// every minute, and re-sends its entrapment fault: within 10 minutes no
	// new rescue, the same still-reported alert.
	for i := 0; i < 9; i++ {
		l.send(telemetry.KindStatus, stuck)
		if i%3 == 0 {
			l.send(telemetry.KindFault, trap)
		}
		r.advance(time.Minute)
	}
	if n := len(r.alertsOf(lift, alerts.TypeEntrapment)); n != 1 {
		t.Fatalf("%d entrapment alerts 9 min after the resolve, want 1", n)
	}
	if got := r.openOf(lift, alerts.TypeStillReported); got == nil || got.ID != s.ID {
		t.Fatalf("still-reported alert after 9 min: %+v, want #%d open", got, s.ID)
	}
	r.advance(time.Minute)
	again := r.openOf(lift, alerts.TypeEntrapment)
	if again == nil || again.ID == first.ID || !again.Rescue || again.Severity != telemetry.SeverityCritical || again.Tier != 1 {
		t.Fatalf("still reported 10 min after the resolve: rescue %+v, want a new open rescue alert", again)
	}
	if r.openOf(lift, alerts.TypeStillReported) != nil {
		t.Fatal("the still-reported alert stays open beside the rescue it became")
	}
	closed := r.one(lift, alerts.TypeStillReported)
	if last := closed.History[len(closed.History)-1]; last.Action != "resolved" || !strings.Contains(last.Note, fmt.Sprintf("alert #%d", again.ID)) {
		t.Fatalf("the still-reported alert's last event %+v should name the rescue #%d", last, again.ID)
	}
	// The rescue runs its clocks: unacknowledged 5 min → tier 2.
	r.advance(5 * time.Minute)
	if a := r.openOf(lift, alerts.TypeEntrapment); a.Tier != 2 {
		t.Fatalf("the rescue again is at tier %d 5 min after, want 2", a.Tier)
	}
	// Resolved on site while still reported: left open again, once.
	r.rescue(again.ID)
	if r.openOf(lift, alerts.TypeStillReported) == nil {
		t.Fatal("a second resolve while still reported left no still-reported alert")
	}
	if n := len(r.alertsOf(lift, alerts.TypeStillReported)); n != 2 {
		t.Fatalf("%d still-reported alerts, want 2", n)
	}
}

// TestStillReportedAfterIsPerEstate: the estate's still_reported_after
// decides when the condition becomes a rescue again.
func TestStillReportedAfterIsPerEstate(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0042"
	est, _ := r.fleet.Estate(lift)
	p := alerts.DefaultPolicy()
	p.StillReportedAfter = 3 * time.Minute
	r.policy.Estates = map[string]alerts.Policy{est: p}
	r.crash()
	stillTrapped(t, r, lift)
	r.advance(3*time.Minute - time.Second)
	if r.openOf(lift, alerts.TypeEntrapment) != nil {
		t.Fatal("a rescue again before the estate's 3 min")
	}
	r.advance(time.Second)
	if r.openOf(lift, alerts.TypeEntrapment) == nil || r.openOf(lift, alerts.TypeStillReported) != nil {
		t.Fatal("not a rescue again after the estate's 3 min")
	}
}

// TestStillReportedClosesWhenTheTerminalStops: the still-reported alert
// resolves itself when the terminal no longer reports a trapped passenger
// (fault cleared, car no longer occupied and stuck), not while either holds;
// and then no rescue comes back.
func TestStillReportedClosesWhenTheTerminalStops(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0042"
	l, _ := stillTrapped(t, r, lift)
	r.advance(time.Minute)
	l.send(telemetry.KindFault, trapCleared) // the car still shows occupied outside the door zone
	r.advance(time.Minute)
	s := r.openOf(lift, alerts.TypeStillReported)
	if s == nil {
		t.Fatal("the still-reported alert closed while the car is still occupied and stuck")
	}
	if !s.Derived || !hasEvent(r.one(lift, alerts.TypeStillReported), "condition_changed", "the car shows: occupied car stopped outside the door zone") {
		t.Fatalf("the fault cleared, the car still stuck: the alert should say the car (not the terminal's fault) reports it: %+v", s)
	}
	l.send(telemetry.KindStatus, emptyAtLanding)
	if got := r.openOf(lift, alerts.TypeStillReported); got != nil {
		t.Fatalf("still open after the terminal stopped reporting: %+v", got)
	}
	a := r.one(lift, alerts.TypeStillReported)
	if a.ResolvedBy != "system" || !strings.Contains(a.History[len(a.History)-1].Note, "no longer reports a trapped passenger") {
		t.Fatalf("closed by %q, last event %+v", a.ResolvedBy, a.History[len(a.History)-1])
	}
	r.advance(time.Hour)
	if n := len(r.alertsOf(lift, alerts.TypeEntrapment)); n != 1 {
		t.Fatalf("%d entrapment alerts after the terminal stopped reporting, want 1", n)
	}
	if open, _ := r.e.LiftAlerts(lift); open != 0 {
		t.Fatalf("%d open alerts, want 0", open)
	}
}

// TestStillReportedClosedByAPerson: a person who checked on site resolves
// it; no rescue comes back for the episode.
func TestStillReportedClosedByAPerson(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0042"
	stillTrapped(t, r, lift)
	s := r.openOf(lift, alerts.TypeStillReported)
	if s == nil {
		t.Fatal("no still-reported alert")
	}
	if _, err := r.e.Resolve(s.ID, alerts.Action{Actor: "technician Wang", Note: "checked: the car is empty, occupancy sensor faulty"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour)
	if r.openOf(lift, alerts.TypeStillReported) != nil || r.openOf(lift, alerts.TypeEntrapment) != nil {
		t.Fatal("an alert came back after a person resolved the still-reported condition")
	}
}

// TestStillReportedNewEvidenceIsARescueAgain: new entrapment evidence while
// the condition is still reported makes it a rescue at once: a new
// activation of the terminal's fault, the alarm pressed in the occupied
// car, or the derived condition ending and holding again.
func TestStillReportedNewEvidenceIsARescueAgain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		evidence func(r *rig, l *lifter)
	}{
		{"new fault activation", func(r *rig, l *lifter) {
			l.send(telemetry.KindFault, trapCleared) // the car is still stuck: still reported
			r.advance(time.Minute)
			if r.openOf(l.lift, alerts.TypeStillReported) == nil {
				t.Fatal("closed when the fault cleared while the car is stuck")
			}
			l.send(telemetry.KindFault, trap)
		}},
		{"alarm pressed in the occupied car", func(r *rig, l *lifter) {
			l.send(telemetry.KindAlarm, func(m *telemetry.Message) { m.Source = telemetry.AlarmButton })
		}},
		{"derived condition ends and holds again", func(r *rig, l *lifter) {
			l.send(telemetry.KindTrip, func(m *telemetry.Message) { m.From, m.To = 3, 2 }) // moved; the fault still active
			if r.openOf(l.lift, alerts.TypeStillReported) == nil {
				t.Fatal("closed while the terminal still reports its fault")
			}
			l.send(telemetry.KindStatus, stuck)
			r.advance(31 * time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			const lift = "JW-0042"
			l, first := stillTrapped(t, r, lift)
			r.advance(time.Minute)
			s := r.openOf(lift, alerts.TypeStillReported)
			tc.evidence(r, l)
			again := r.openOf(lift, alerts.TypeEntrapment)
			if again == nil || again.ID == first.ID {
				t.Fatalf("new evidence while still reported: no new rescue")
			}
			if r.openOf(lift, alerts.TypeStillReported) != nil {
				t.Fatal("the still-reported alert stays open beside the new rescue")
			}
			if r.clk.Now().Sub(s.OpenedAt) >= 10*time.Minute {
				t.Fatal("test is wrong: the timer, not the evidence, made the rescue")
			}
		})
	}
}

// TestResolvedExplicitRescueThenNewActivation: the terminal's own
// entrapment fault, still active after the rescue was resolved, is left
// open as still reported, not a second rescue, while the same activation is
// re-sent; cleared (no status: nothing else reported) the still-reported
// alert closes, and reported active again it is a new incident at once.
func TestResolvedExplicitRescueThenNewActivation(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0043"
	seq := int64(0)
	fault := func(cleared bool) {
		seq++
		r.consume(msg(lift, telemetry.KindFault, seq, r.clk.Now(), func(m *telemetry.Message) {
			m.Code = telemetry.FaultEntrapment
			if cleared {
				m.State = telemetry.FaultCleared
			}
		}))
	}
	fault(false)
	r.advance(10 * time.Minute)
	r.rescue(r.one(lift, alerts.TypeEntrapment).ID)
	for i := 0; i < 6; i++ {
		r.advance(time.Minute)
		fault(false)
	}
	if n := len(r.alertsOf(lift, alerts.TypeEntrapment)); n != 1 {
		t.Fatalf("the same activation re-reported after the rescue: %d alerts, want 1", n)
	}
	if r.openOf(lift, alerts.TypeStillReported) == nil {
		t.Fatal("the fault still active after the rescue left no still-reported alert")
	}
	fault(true)
	if r.openOf(lift, alerts.TypeStillReported) != nil {
		t.Fatal("the still-reported alert stays open after the terminal cleared its fault")
	}
	r.advance(time.Hour)
	fault(false)
	list := r.alertsOf(lift, alerts.TypeEntrapment)
	if len(list) != 2 || list[0].State != alerts.StateOpen || list[0].Derived {
		t.Fatalf("a new activation after the clear: alerts %+v, want a second, explicit, open", list)
	}
}

// TestCriticalFaultClocks: a critical fault runs the rescue's notify clock
// (ack_within: unacknowledged → tier 2) and its own on-site clock
// (critical_on_site_within, 2 h: no technician on site → tier 3), each
// recorded on the alert; attended in time, it does not escalate.
func TestCriticalFaultClocks(t *testing.T) {
	r := newRig(t)
	overspeed := func(lift string) *alerts.Alert {
		r.consume(msg(lift, telemetry.KindFault, 1, r.clk.Now(), func(m *telemetry.Message) { m.Code = "overspeed" }))
		return r.one(lift, "fault.overspeed")
	}
	late := overspeed("JW-0042")
	kept := overspeed("JW-0043")
	r.advance(4 * time.Minute)
	if _, err := r.e.Acknowledge(kept.ID, alerts.Action{Actor: "manager Li"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Minute)
	if a := r.one("JW-0042", "fault.overspeed"); a.Tier != 2 || !hasEvent(a, "escalated", "not acknowledged within 5m0s: escalated to tier 2") {
		t.Fatalf("unacknowledged 5 min: tier %d, history %+v", a.Tier, a.History)
	}
	if _, err := r.e.Acknowledge(late.ID, alerts.Action{Actor: "manager Li"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour)
	if _, err := r.e.Arrive(kept.ID, alerts.Action{Actor: "technician Wang"}); err != nil {
		t.Fatal(err)
	}
	r.advance(time.Hour - 5*time.Minute - time.Second)
	if a := r.one("JW-0042", "fault.overspeed"); a.Tier != 2 {
		t.Fatalf("tier %d before 2 h", a.Tier)
	}
	r.advance(time.Second)
	if a := r.one("JW-0042", "fault.overspeed"); a.Tier != 3 || !hasEvent(a, "escalated", "no technician on site within 2h0m0s: escalated to tier 3") {
		t.Fatalf("no technician on site in 2 h: tier %d, history %+v", a.Tier, a.History)
	}
	if a := r.one("JW-0043", "fault.overspeed"); a.Tier != 1 {
		t.Fatalf("acknowledged in 4 min and attended in 1 h: tier %d, want 1", a.Tier)
	}
}

func hasEvent(a *alerts.Alert, action, note string) bool {
	for _, ev := range a.History {
		if ev.Action == action && strings.Contains(ev.Note, note) {
			return true
		}
	}
	return false
}
