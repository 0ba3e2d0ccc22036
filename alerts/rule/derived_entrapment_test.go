package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

func TestDerivedEntrapment(t *testing.T) {
	stuck := func(d time.Duration) step {
		return status(d, func(m *telemetry.Message) { m.Occupied, m.DoorZone = true, false })
	}
	occupied := func(d time.Duration) step { return status(d, func(m *telemetry.Message) { m.Occupied = true }) }
	trip := func(d time.Duration) step {
		return mk(telemetry.KindTrip, d, func(m *telemetry.Message) { m.From, m.To = 3, 4 })
	}
	door := func(d time.Duration) step { return mk(telemetry.KindDoor, d, nil) }
	alarm := func(d time.Duration) step {
		return mk(telemetry.KindAlarm, d, func(m *telemetry.Message) { m.Has, m.Occupied = telemetry.FieldOccupied, true })
	}
	const raised = "raise entrapment critical derived sustained"
	table(t, func() rule.Rule { return rule.NewDerivedEntrapment() }, []tcase{
		{"outside the door zone for 30 s", []step{stuck(0), tick(29 * time.Second), tick(time.Second)}, []string{raised}},
		{"a 20 s stop is not", []step{stuck(0), tick(20 * time.Second), trip(20 * time.Second), tick(5 * time.Minute)}, nil},
		{"door-open failure", []step{occupied(0), fault(0, "door_open_failure", false), tick(30 * time.Second)}, []string{raised}},
		{"a door cycle ends a door-open failure", []step{occupied(0), fault(0, "door_open_failure", false), door(10 * time.Second), tick(time.Minute)}, nil},
		{"power lost", []step{occupied(0), fault(0, "power_loss", false), tick(30 * time.Second)}, []string{raised}},
		{"alarm in a stopped, occupied car", []step{occupied(0), alarm(time.Second), tick(31 * time.Second)}, []string{raised}},
		{"not in inspection mode", []step{status(0, func(m *telemetry.Message) {
			m.Mode, m.Occupied, m.DoorZone = telemetry.ModeInspection, true, false
		}), tick(2 * time.Minute)}, nil},
		{"released: the condition ends", []step{stuck(0), tick(30 * time.Second), trip(40 * time.Second)}, []string{raised, "clear entrapment"}},
		{"released while the terminal reports the entrapment: still held",
			[]step{stuck(0), fault(time.Second, "entrapment", false), tick(30 * time.Second), trip(40 * time.Second)}, []string{raised}},
		// Resolved on site while the car still shows the condition (a stuck
		// occupancy sensor): that episode raises nothing more, for hours.
		{"resolved while it holds: no new alert for hours", []step{stuck(0), tick(31 * time.Second), resolved(rule.TypeEntrapment),
			tick(time.Minute), stuck(2 * time.Minute), tick(time.Hour), stuck(3 * time.Hour), tick(time.Hour)},
			[]string{raised, "settled entrapment"}},
		{"resolved, then the car moves and stops again: a new episode", []step{stuck(0), tick(31 * time.Second), resolved(rule.TypeEntrapment),
			stuck(time.Hour), trip(time.Hour + time.Minute), stuck(time.Hour + 2*time.Minute), tick(29 * time.Second), tick(time.Second)},
			[]string{raised, "settled entrapment", raised}},
		{"resolved, then the door cycles: a new episode", []step{stuck(0), tick(31 * time.Second), resolved(rule.TypeEntrapment),
			door(time.Hour), stuck(time.Hour + time.Minute), tick(31 * time.Second)},
			[]string{raised, "settled entrapment", raised}},
		{"resolved, then the car is empty: a new episode", []step{stuck(0), tick(31 * time.Second), resolved(rule.TypeEntrapment),
			status(time.Hour, func(m *telemetry.Message) { m.DoorZone = false }), stuck(time.Hour + time.Minute), tick(31 * time.Second)},
			[]string{raised, "settled entrapment", raised}},
		{"resolved after the condition ended: nothing settled", []step{stuck(0), tick(31 * time.Second), trip(40 * time.Second),
			resolved(rule.TypeEntrapment), stuck(time.Minute), tick(31 * time.Second)},
			[]string{raised, "clear entrapment", raised}},
		{"a late fault's occupancy does not start it", []step{status(time.Minute, nil), mk(telemetry.KindFault, 0, func(m *telemetry.Message) {
			m.Code, m.Has, m.Occupied, m.DoorZone = "door_lock", telemetry.FieldOccupied|telemetry.FieldDoorZone, true, false
		}), tick(time.Minute)}, nil},
	})
}

// TestReports: a car reports a trapped passenger while the terminal's
// fault entrapment is active or the derived condition holds (whatever for
// how long), and says which; an empty car at a landing reports nothing.
func TestReports(t *testing.T) {
	trap := liftstate.Fault{Code: telemetry.FaultEntrapment}
	for _, tc := range []struct {
		name string
		car  liftstate.Car
		want string
	}{
		{"empty at a landing", liftstate.Car{DoorZone: true}, ""},
		{"fault only", liftstate.Car{DoorZone: true, Faults: []liftstate.Fault{trap}}, "the terminal reports fault entrapment active"},
		{"stuck only", liftstate.Car{Occupied: true}, "the car shows: occupied car stopped outside the door zone"},
		{"both", liftstate.Car{Occupied: true, Faults: []liftstate.Fault{trap}},
			"the terminal reports fault entrapment active; the car shows: occupied car stopped outside the door zone"},
		{"inspection, fault cleared", liftstate.Car{Occupied: true, Mode: telemetry.ModeInspection}, ""},
	} {
		got, why := rule.Reports(&tc.car)
		if got != (tc.want != "") || why != tc.want {
			t.Errorf("%s: %v %q, want %q", tc.name, got, why, tc.want)
		}
	}
}
