package rule

import (
	"fmt"

	"github.com/liftwatch/liftwatch/telemetry"
)

// LowBattery raises low_battery (warning) when a status reports the alarm
// battery below LowBatteryPct, and clears it at 5 points above.
type LowBattery struct{}

// Name implements Rule.
func (LowBattery) Name() string { return "low_battery" }

// Eval implements Rule.
func (LowBattery) Eval(in *Input, out []Result) []Result {
	m := in.Msg
	if in.Trigger != OnMessage || m.Kind != telemetry.KindStatus || m.Has&telemetry.FieldBattery == 0 {
		return out
	}
	b, p := in.Car.BatteryPct, in.Policy
	switch {
	case b >= 0 && b < p.LowBatteryPct:
		out = append(out, Result{Action: Raise, Type: TypeLowBattery, Severity: telemetry.SeverityWarning, At: in.Now,
			Summary: fmt.Sprintf("alarm battery at %d%%", b), Sustained: true})
	case b >= p.LowBatteryPct+5:
		out = append(out, Result{Action: Clear, Type: TypeLowBattery, Severity: telemetry.SeverityWarning, At: in.Now,
			Summary: fmt.Sprintf("battery back at %d%%", b)})
	}
	return out
}
