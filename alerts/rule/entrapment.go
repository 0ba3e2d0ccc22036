package rule

import (
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// ExplicitEntrapment raises the rescue alert when the terminal reports a
// trapped passenger (fault entrapment active), whatever the report's age: a
// late one is raised too, marked late, and active only if the fault still is.
// The terminal clearing the fault ends nothing here: whether a passenger is
// still trapped is DerivedEntrapment's call, and only a person on site closes
// the alert.
//
// Once a person on site resolves the rescue while the fault is still active
// (Settler), further reports of that same activation raise nothing: the
// person's word that everyone is out stands, and the engine records on the
// resolved alert that the terminal still reports the fault. Only a new
// activation — the fault cleared, then reported active again — raises a new
// alert.
type ExplicitEntrapment struct {
	settled map[string]bool // lift → a person resolved the rescue during this activation
}

// NewExplicitEntrapment makes the rule with empty memory.
func NewExplicitEntrapment() *ExplicitEntrapment {
	return &ExplicitEntrapment{settled: map[string]bool{}}
}

// Name implements Rule.
func (*ExplicitEntrapment) Name() string { return "explicit_entrapment" }

// Eval implements Rule.
func (r *ExplicitEntrapment) Eval(in *Input, out []Result) []Result {
	if in.Trigger != OnMessage {
		return out
	}
	if r.settled[in.Lift] && !in.Car.FaultActive(telemetry.FaultEntrapment) {
		delete(r.settled, in.Lift) // the activation ended: the next one is a new incident
	}
	m := in.Msg
	if m.Kind != telemetry.KindFault || m.Code != telemetry.FaultEntrapment || m.State == telemetry.FaultCleared ||
		r.settled[in.Lift] {
		return out
	}
	res := Result{Action: Raise, Type: TypeEntrapment, Severity: telemetry.SeverityCritical, At: in.Now,
		Summary: "terminal reports a trapped passenger" + Detail(m)}
	if in.FaultLate {
		res.Summary += lateNote(in.Now)
		res.Inactive = !in.Car.FaultActive(m.Code)
	}
	return append(out, res)
}

// Resolved implements Settler.
func (r *ExplicitEntrapment) Resolved(lift, typ string, car *liftstate.Car) string {
	if typ != TypeEntrapment || !car.FaultActive(telemetry.FaultEntrapment) {
		return ""
	}
	r.settled[lift] = true
	return "the terminal still reports fault entrapment active"
}
