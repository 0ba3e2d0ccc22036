package rule

import (
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// OutOfService raises out_of_service (major) once the lift has been in mode
// out_of_service for OutOfServiceAfter (event time on status reports, the
// clock on ticks), and clears it when the mode changes.
type OutOfService struct{}

// Name implements Rule.
func (OutOfService) Name() string { return "out_of_service" }

// Waiting implements Timer.
func (OutOfService) Waiting(_ string, car *liftstate.Car) bool {
	return car.HaveStatus && car.Mode == telemetry.ModeOutOfService
}

// Eval implements Rule.
func (r OutOfService) Eval(in *Input, out []Result) []Result {
	switch {
	case in.Trigger == OnMessage && in.Msg.Kind == telemetry.KindStatus:
	case in.Trigger == OnTick && r.Waiting(in.Lift, in.Car):
	default:
		return out
	}
	c := in.Car
	if c.Mode != telemetry.ModeOutOfService {
		return append(out, Result{Action: Clear, Type: TypeOutOfService, Severity: telemetry.SeverityMajor, At: in.Now,
			Summary: "back in service (" + c.Mode.String() + ")"})
	}
	if in.Now.Sub(c.ModeSince) >= in.Policy.OutOfServiceAfter {
		out = append(out, Result{Action: Raise, Type: TypeOutOfService, Severity: telemetry.SeverityMajor, At: c.ModeSince,
			Summary: fmt.Sprintf("out of service since %s", c.ModeSince.Format(time.RFC3339)), Sustained: true})
	}
	return out
}
