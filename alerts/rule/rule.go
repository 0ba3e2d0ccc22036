// Package rule holds the alert detections, one per file, each behind the
// Rule interface. A rule sees one input (a lift's message, a clock tick or an
// online/offline transition) with the lift's state snapshot, the estate's
// policy and the lift's open alerts, keeps its own per-lift memory, and says
// raise, clear or nothing. The engine (package alerts) runs every rule of
// its list on each input and owns what follows: one alert per (lift, type),
// repeats, lifecycle, clocks, suppression and persistence.
//
// A new detection is one file here, its table test, and its place in
// Defaults.
package rule

import (
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Alert types. Fault alerts are "fault.<code>", repeated faults
// "repeated_fault.<code>".
const (
	TypeEntrapment   = "entrapment"
	TypeAlarm        = "alarm_button"
	TypeOffline      = "offline"
	TypeOutOfService = "out_of_service"
	TypeLowBattery   = "low_battery"
	// TypeStillReported is left open by a rescue resolved on site while
	// the terminal still reports a trapped passenger (or an occupied car
	// that cannot release them): someone must check on site. The engine
	// owns it (package alerts).
	TypeStillReported = "entrapment_still_reported"
	TypeFaultPrefix   = "fault."
	TypeRepeatPrefix  = "repeated_fault."
)

// Trigger is what an input is.
type Trigger uint8

// Triggers.
const (
	OnMessage    Trigger = iota // one of the lift's messages, in order
	OnTick                      // the clock moved (only for lifts a Timer waits on)
	OnTransition                // the lift went online or offline
)

// Input is what a rule sees.
type Input struct {
	Trigger Trigger
	Lift    string
	// Msg is the message (OnMessage), nil otherwise; Late and FaultLate say
	// whether it is older than what the lift's state already shows (see
	// liftstate.Update).
	Msg       *telemetry.Message
	Late      bool
	FaultLate bool
	// Online and LastSeen describe the transition (OnTransition).
	Online   bool
	LastSeen time.Time
	// Car is the lift's car after the message (a copy).
	Car *liftstate.Car
	// Now is the message's event time, or the clock on a tick or transition.
	Now    time.Time
	Policy *Policy
	// Open gives the lift's open alert of a type, if there is one.
	Open func(typ string) (Open, bool)
}

// Open is what a rule may know of an open alert.
type Open struct {
	Severity        telemetry.Severity
	Rescue          bool
	ConditionActive bool
	Derived         bool
}

// Action is a rule's verdict.
type Action uint8

// Actions.
const (
	Raise Action = iota + 1 // open an alert, or count new evidence on the open one
	Clear                   // the condition ended: the engine resolves the alert, or, for a rescue or critical alert, marks its condition inactive
)

// Result is one verdict of a rule.
type Result struct {
	Action   Action
	Type     string
	Severity telemetry.Severity
	// At is the event time of the evidence (the condition's start).
	At time.Time
	// Summary says what happened (Raise) or why it ended (Clear).
	Summary string
	// Derived marks an entrapment inferred from raw conditions.
	Derived bool
	// Sustained marks a condition that holds over time (a mode, a level, a
	// timer): re-raising it while its alert is open and active is not a
	// repeat. Events (faults, alarms) are not sustained: each is evidence.
	Sustained bool
	// Inactive: late evidence of a condition that no longer holds; it counts
	// but does not make the condition active again.
	Inactive bool
}

// Rule is one detection.
type Rule interface {
	// Name is the rule's name, for logs and tests.
	Name() string
	// Eval judges one input; it may append results to out and return it.
	Eval(in *Input, out []Result) []Result
}

// Timer is a rule that must also see clock ticks for a lift (a condition
// that must last some time before it raises).
type Timer interface {
	Rule
	// Waiting says whether the rule waits on the clock for lift.
	Waiting(lift string, car *liftstate.Car) bool
}

// Settler is a rule whose condition a person's resolution settles for the
// episode in progress: a rescue resolved on site while the car (or the
// terminal) still shows the condition is not a new incident. The rule raises
// nothing more until the condition has ended and begun again (a new
// episode), and then only after its own threshold.
type Settler interface {
	Rule
	// Resolved tells the rule that a person resolved lift's alert of type
	// typ, with the car as it is now. It returns what of the rule's
	// condition still holds, for the record ("" if nothing: then there is
	// nothing to settle).
	Resolved(lift, typ string, car *liftstate.Car) (stillHolds string)
}

// Defaults are the rules in the order the engine runs them: on a status,
// battery then mode; on a fault, the fault itself then its repeats; the
// derived entrapment after what the message changed.
func Defaults() []Rule {
	return []Rule{
		LowBattery{},
		OutOfService{},
		NewExplicitEntrapment(),
		CriticalFault(),
		DoorFault(),
		PowerLoss(),
		OtherFault(),
		NewRepeatedFault(),
		AlarmButton{},
		NewDerivedEntrapment(),
		Offline{},
	}
}

// FaultName is a fault code's name in both languages, or the code.
func FaultName(code string) string {
	if f, ok := telemetry.LookupFault(code); ok {
		return f.NameEN + " (" + f.NameZH + ")"
	}
	return code
}

// Detail is what a fault or alarm report adds to a summary.
func Detail(m *telemetry.Message) string {
	var b strings.Builder
	if m.Has&telemetry.FieldFloor != 0 {
		b.WriteString(", floor " + strconv.Itoa(m.Floor))
	}
	if m.Has&telemetry.FieldOccupied != 0 && m.Occupied {
		b.WriteString(", occupied")
	}
	if m.Detail != "" {
		b.WriteString(": " + m.Detail)
	}
	return b.String()
}

// lateNote marks a summary of a report older than what the lift showed.
func lateNote(at time.Time) string {
	return " (reported late: event at " + at.UTC().Format(time.RFC3339) + ")"
}
