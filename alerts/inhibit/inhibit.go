// Package inhibit says when an alert is recorded but not notified because
// of the lift's situation (Alertmanager's inhibition): a technician has the
// car in inspection mode, maintenance work is in progress, or door faults of
// a lift that is offline. Entrapments and critical alerts are never
// inhibited. Silences (time windows people set) are package silence.
package inhibit

import (
	"strings"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Lift is the situation of the lift an alert is raised for.
type Lift struct {
	Car *liftstate.Car
	// Offline: the last online/offline transition the engine took said
	// offline.
	Offline bool
	// WorkOrder says whether maintenance work is in progress (asked only
	// when it matters); nil means never.
	WorkOrder func() bool
}

// Reason says why an alert of typ and sev would be inhibited now ("inspection",
// "work_order", "offline"), "" if not.
func Reason(typ string, sev telemetry.Severity, l Lift) string {
	if typ == rule.TypeEntrapment || sev >= telemetry.SeverityCritical {
		return ""
	}
	if strings.HasPrefix(typ, rule.TypeFaultPrefix) || typ == rule.TypeAlarm {
		if l.Car != nil && l.Car.Mode == telemetry.ModeInspection {
			return "inspection"
		}
		if l.WorkOrder != nil && l.WorkOrder() {
			return "work_order"
		}
	}
	if l.Offline && strings.HasPrefix(typ, rule.TypeFaultPrefix+"door") {
		return "offline"
	}
	return ""
}
