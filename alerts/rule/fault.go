package rule

import (
	"strings"

	"github.com/liftwatch/liftwatch/telemetry"
)

// faultRule raises "fault.<code>" for the codes it owns, at the severity of
// the estate's policy; the critical, door, power-loss and other-fault rules
// are instances owning disjoint codes. An active report raises (each new
// report is new evidence: a repeat); the terminal clearing the fault clears
// it; a late report (older than the newest of its code) raises only a
// critical fault or counts on the open alert, and never makes a cleared fault
// active again. Entrapment is ExplicitEntrapment's.
type faultRule struct {
	name string
	// owns says whether the rule judges code at severity sev (the policy's
	// on a report, the open alert's on a clear).
	owns func(code string, sev telemetry.Severity) bool
	// cleared is the note when the terminal clears the fault.
	cleared string
}

// Name implements Rule.
func (r faultRule) Name() string { return r.name }

// Eval implements Rule.
func (r faultRule) Eval(in *Input, out []Result) []Result {
	m := in.Msg
	if in.Trigger != OnMessage || m.Kind != telemetry.KindFault || m.Code == telemetry.FaultEntrapment {
		return out
	}
	code, typ := m.Code, TypeFaultPrefix+m.Code
	sev := in.Policy.Severity(code)
	switch {
	case in.FaultLate:
		if m.State == telemetry.FaultCleared || !r.owns(code, sev) {
			return out // a late clear never clears a newer report
		}
		if _, open := in.Open(typ); sev >= telemetry.SeverityCritical || open {
			out = append(out, Result{Action: Raise, Type: typ, Severity: sev, At: in.Now,
				Summary: FaultName(code) + Detail(m) + lateNote(in.Now), Inactive: !in.Car.FaultActive(code)})
		}
	case m.State == telemetry.FaultCleared:
		if a, open := in.Open(typ); open && r.owns(code, a.Severity) {
			out = append(out, Result{Action: Clear, Type: typ, Severity: a.Severity, At: in.Now, Summary: r.cleared})
		}
	case r.owns(code, sev):
		out = append(out, Result{Action: Raise, Type: typ, Severity: sev, At: in.Now, Summary: FaultName(code) + Detail(m)})
	}
	return out
}

// OtherFault raises the faults no other fault rule owns, at their catalogue
// severity (or the policy's override; unknown codes are major), and closes
// them when the terminal clears them.
func OtherFault() Rule {
	return faultRule{name: "fault", cleared: "terminal cleared the fault", owns: func(code string, sev telemetry.Severity) bool {
		return sev < telemetry.SeverityCritical && !isDoorFault(code) && code != telemetry.FaultPowerLoss
	}}
}

func isDoorFault(code string) bool { return strings.HasPrefix(code, "door") }
