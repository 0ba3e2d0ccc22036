package alerts_test

import (
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

// TestResolvedRescueIsNotReopened is the field trial's report: a rescue
// resolved on site while the terminal still shows an occupied car stopped
// outside the door zone (and, here, still reports the entrapment fault)
// must not open a new rescue alert for the same incident — not in the next
// second, not hours later, not when the terminal finally clears its fault.
// What still held is recorded on the resolved alert. Once the car moves and
// then stops with someone inside again, that is a new incident.
func TestResolvedRescueIsNotReopened(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0042"
	seq := int64(0)
	send := func(k telemetry.Kind, f func(m *telemetry.Message)) {
		seq++
		r.consume(msg(lift, k, seq, r.clk.Now(), f))
	}
	stuck := func(m *telemetry.Message) { m.Occupied, m.DoorZone, m.Floor = true, false, 3 }
	trap := func(m *telemetry.Message) {
		m.Code, m.Has, m.Occupied, m.DoorZone = telemetry.FaultEntrapment, telemetry.FieldOccupied|telemetry.FieldDoorZone, true, false
	}
	send(telemetry.KindStatus, stuck)
	r.advance(5 * time.Second)
	send(telemetry.KindFault, trap)
	r.advance(8 * time.Minute) // the derived condition passes its 30 s too
	list := r.alertsOf(lift, alerts.TypeEntrapment)
	if len(list) != 1 {
		t.Fatalf("%d entrapment alerts before the rescue, want 1", len(list))
	}
	first := r.rescue(list[0].ID)
	if first.State != alerts.StateResolved {
		t.Fatalf("resolved alert is %s", first.State)
	}

	// The terminal goes on reporting the car occupied outside the door zone
	// every minute, and re-sends its entrapment fault, for three hours.
	for i := 0; i < 180; i++ {
		send(telemetry.KindStatus, stuck)
		if i%30 == 0 {
			send(telemetry.KindFault, trap)
		}
		r.advance(time.Minute)
	}
	// It clears the fault; the occupancy sensor still reads occupied.
	send(telemetry.KindFault, func(m *telemetry.Message) { m.Code, m.State = telemetry.FaultEntrapment, telemetry.FaultCleared })
	for i := 0; i < 60; i++ {
		send(telemetry.KindStatus, stuck)
		r.advance(time.Minute)
	}
	if list := r.alertsOf(lift, alerts.TypeEntrapment); len(list) != 1 {
		t.Fatalf("%d entrapment alerts after one rescue resolved on site, want 1: %+v", len(list), list)
	}
	a := r.one(lift, alerts.TypeEntrapment)
	var persists []string
	for _, ev := range a.History {
		if ev.Action == "condition_persists" {
			persists = append(persists, ev.Note)
		}
	}
	if len(persists) != 1 || !strings.Contains(persists[0], "outside the door zone") || !strings.Contains(persists[0], "fault entrapment active") {
		t.Fatalf("the resolved alert should record once what still held at resolution: %q", persists)
	}
	if a.State != alerts.StateResolved || a.Count != 1 {
		t.Fatalf("resolved alert: state %s count %d, want resolved, 1", a.State, a.Count)
	}

	// The car moves (the technician ran it to a landing), is emptied and
	// later stops outside the door zone with someone inside: a new incident.
	send(telemetry.KindTrip, func(m *telemetry.Message) { m.From, m.To = 3, 1 })
	r.advance(time.Hour)
	send(telemetry.KindStatus, stuck)
	r.advance(29 * time.Second)
	if n := len(r.alertsOf(lift, alerts.TypeEntrapment)); n != 1 {
		t.Fatalf("new stop: alert after 29 s (%d alerts)", n)
	}
	r.advance(2 * time.Second)
	list = r.alertsOf(lift, alerts.TypeEntrapment)
	if len(list) != 2 || !list[0].Derived || list[0].State != alerts.StateOpen {
		t.Fatalf("a new stop with a passenger inside after the car moved: alerts %+v, want a second, derived, open", list)
	}
}

// TestResolvedExplicitRescueThenNewActivation: the terminal's own
// entrapment fault, still active after the rescue was resolved, opens
// nothing; cleared and reported active again, it is a new incident at once.
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
		r.advance(30 * time.Minute)
		fault(false)
	}
	if n := len(r.alertsOf(lift, alerts.TypeEntrapment)); n != 1 {
		t.Fatalf("the same activation re-reported after the rescue: %d alerts, want 1", n)
	}
	fault(true)
	r.advance(time.Hour)
	fault(false)
	list := r.alertsOf(lift, alerts.TypeEntrapment)
	if len(list) != 2 || list[0].State != alerts.StateOpen || list[0].Derived {
		t.Fatalf("a new activation after the clear: alerts %+v, want a second, explicit, open", list)
	}
}
