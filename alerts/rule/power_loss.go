package rule

import "github.com/liftwatch/liftwatch/telemetry"

// PowerLoss raises fault.power_loss (major) while the terminal reports main
// power lost, and closes it when power returns. With someone in a stopped
// car it is also one of DerivedEntrapment's conditions.
func PowerLoss() Rule {
	return faultRule{name: "power_loss", cleared: "terminal cleared the fault", owns: func(code string, sev telemetry.Severity) bool {
		return sev < telemetry.SeverityCritical && code == telemetry.FaultPowerLoss
	}}
}
