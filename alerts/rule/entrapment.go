package rule

import "github.com/liftwatch/liftwatch/telemetry"

// ExplicitEntrapment raises the rescue alert when the terminal reports a
// trapped passenger (fault entrapment active), whatever the report's age: a
// late one is raised too, marked late, and active only if the fault still is.
// The terminal clearing the fault ends nothing here: whether a passenger is
// still trapped is DerivedEntrapment's call, and only a person on site closes
// the alert.
type ExplicitEntrapment struct{}

// Name implements Rule.
func (ExplicitEntrapment) Name() string { return "explicit_entrapment" }

// Eval implements Rule.
func (ExplicitEntrapment) Eval(in *Input, out []Result) []Result {
	m := in.Msg
	if in.Trigger != OnMessage || m.Kind != telemetry.KindFault || m.Code != telemetry.FaultEntrapment ||
		m.State == telemetry.FaultCleared {
		return out
	}
	r := Result{Action: Raise, Type: TypeEntrapment, Severity: telemetry.SeverityCritical, At: in.Now,
		Summary: "terminal reports a trapped passenger" + Detail(m)}
	if in.FaultLate {
		r.Summary += lateNote(in.Now)
		r.Inactive = !in.Car.FaultActive(m.Code)
	}
	return append(out, r)
}
