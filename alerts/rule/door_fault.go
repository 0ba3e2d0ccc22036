package rule

import "github.com/liftwatch/liftwatch/telemetry"

// DoorFault raises the non-critical door faults (door_close_failure,
// door_open_failure, door_lock, door_obstructed, …) and closes them when the
// terminal clears them. A door cycle also ends a door-open failure in the
// lift's state (liftstate). Door faults of a lift that is offline are
// suppressed (alerts/inhibit).
func DoorFault() Rule {
	return faultRule{name: "door_fault", cleared: "terminal cleared the fault", owns: func(code string, sev telemetry.Severity) bool {
		return sev < telemetry.SeverityCritical && isDoorFault(code)
	}}
}
