package rule

import "github.com/liftwatch/liftwatch/telemetry"

// CriticalFault raises the faults that make a lift unsafe (catalogue or
// policy severity critical: unintended movement, overspeed, overtravel, door
// open while moving) at once. The terminal clearing one only marks its
// condition inactive: the lift stays flagged unsafe until a technician
// resolves the alert. A late report is raised whatever its age.
func CriticalFault() Rule {
	return faultRule{name: "critical_fault",
		cleared: "terminal cleared the fault; the lift stays flagged unsafe until a technician resolves the alert",
		owns:    func(code string, sev telemetry.Severity) bool { return sev >= telemetry.SeverityCritical }}
}
