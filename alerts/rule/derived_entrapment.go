package rule

import (
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// DerivedEntrapment presumes a passenger trapped when an occupied car, not
// moving, cannot release them — outside the door zone (door_zone false or
// fault stopped_outside_door_zone), door-open failure, main power lost, or
// the alarm pressed in the stopped, occupied car — for EntrapmentAfter
// (event time on messages, the clock on ticks). Not in inspection mode: a
// technician has the car. When the car no longer shows it (and the terminal
// does not report an entrapment) the alert's condition ends; only a person
// on site closes it.
//
// Once a person on site resolves the rescue while the car still shows the
// condition (Settler: an occupancy sensor that still reads occupied, a car
// left outside the door zone after a manual release), that episode raises
// nothing more: a new derived entrapment needs the condition to end (the
// car moves, the door cycles, the car is empty, or it is in inspection
// mode) and then hold again for EntrapmentAfter.
type DerivedEntrapment struct {
	since   map[string]time.Time // lift → start of the condition, while it holds
	settled map[string]bool      // lift → a person resolved the rescue during this episode
}

// NewDerivedEntrapment makes the rule with empty memory.
func NewDerivedEntrapment() *DerivedEntrapment {
	return &DerivedEntrapment{since: map[string]time.Time{}, settled: map[string]bool{}}
}

// Name implements Rule.
func (*DerivedEntrapment) Name() string { return "derived_entrapment" }

// Waiting implements Timer: a settled episode waits for nothing.
func (r *DerivedEntrapment) Waiting(lift string, _ *liftstate.Car) bool {
	_, ok := r.since[lift]
	return ok && !r.settled[lift]
}

// Resolved implements Settler.
func (r *DerivedEntrapment) Resolved(lift, typ string, car *liftstate.Car) string {
	if typ != TypeEntrapment {
		return ""
	}
	cond, why := Condition(car)
	if !cond {
		return ""
	}
	r.settled[lift] = true
	return "the car still shows: " + why
}

// Condition is the derived-entrapment condition of a car, and why it holds.
func Condition(c *liftstate.Car) (bool, string) {
	if !c.Occupied || c.Moving || c.Mode == telemetry.ModeInspection {
		return false, ""
	}
	switch {
	case !c.DoorZone || c.FaultActive(telemetry.FaultStoppedOutsideDoorZone):
		return true, "occupied car stopped outside the door zone"
	case c.FaultActive(telemetry.FaultDoorOpenFailure):
		return true, "occupied car, door will not open"
	case c.FaultActive(telemetry.FaultPowerLoss):
		return true, "occupied car, main power lost"
	case c.AlarmPending:
		return true, "alarm pressed in an occupied, stopped car"
	}
	return false, ""
}

// Reports says whether a car reports a trapped passenger now, whatever for
// how long: the terminal's fault entrapment is active, or the car shows the
// derived condition (an occupied car that cannot release its passengers).
// why says which, in words for the record.
func Reports(c *liftstate.Car) (reports bool, why string) {
	var parts []string
	if c.FaultActive(telemetry.FaultEntrapment) {
		parts = append(parts, "the terminal reports fault entrapment active")
	}
	if cond, w := Condition(c); cond {
		parts = append(parts, "the car shows: "+w)
	}
	return len(parts) > 0, strings.Join(parts, "; ")
}

// Eval implements Rule.
func (r *DerivedEntrapment) Eval(in *Input, out []Result) []Result {
	if in.Trigger == OnTransition || in.Trigger == OnTick && !r.Waiting(in.Lift, in.Car) {
		return out
	}
	cond, why := Condition(in.Car)
	if !cond {
		delete(r.since, in.Lift)
		delete(r.settled, in.Lift)
		if a, open := in.Open(TypeEntrapment); open && a.ConditionActive && !in.Car.FaultActive(telemetry.FaultEntrapment) {
			out = append(out, Result{Action: Clear, Type: TypeEntrapment, Severity: telemetry.SeverityCritical, At: in.Now,
				Summary: "the car no longer shows a trapped passenger; the alert stays open until someone on site confirms the passengers are out"})
		}
		return out
	}
	since, ok := r.since[in.Lift]
	if !ok {
		since = in.Now
		r.since[in.Lift] = since
	}
	if r.settled[in.Lift] {
		return out // resolved on site during this episode: not a new incident
	}
	if d := in.Now.Sub(since); d >= in.Policy.EntrapmentAfter {
		out = append(out, Result{Action: Raise, Type: TypeEntrapment, Severity: telemetry.SeverityCritical, At: since,
			Summary: fmt.Sprintf("passenger presumed trapped: %s for %v", why, d.Round(time.Second)), Derived: true, Sustained: true})
	}
	return out
}
