package rule

import (
	"fmt"

	"github.com/liftwatch/liftwatch/telemetry"
)

// AlarmButton raises alarm_button (major) for every alarm message (button or
// intercom); each press is new evidence. A person resolves it. Pressed in an
// occupied, stopped car it is also one of DerivedEntrapment's conditions.
type AlarmButton struct{}

// Name implements Rule.
func (AlarmButton) Name() string { return "alarm_button" }

// Eval implements Rule.
func (AlarmButton) Eval(in *Input, out []Result) []Result {
	m := in.Msg
	if in.Trigger != OnMessage || m.Kind != telemetry.KindAlarm {
		return out
	}
	return append(out, Result{Action: Raise, Type: TypeAlarm, Severity: telemetry.SeverityMajor, At: in.Now,
		Summary: fmt.Sprintf("alarm %s pressed (occupied=%v, floor %d)", m.Source, in.Car.Occupied, m.Floor)})
}
