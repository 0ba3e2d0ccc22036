package inhibit_test

import (
	"testing"

	"github.com/liftwatch/liftwatch/alerts/inhibit"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

func TestReason(t *testing.T) {
	inspection := &liftstate.Car{Mode: telemetry.ModeInspection}
	normal := &liftstate.Car{Mode: telemetry.ModeNormal}
	yes := func() bool { return true }
	for _, tc := range []struct {
		name string
		typ  string
		sev  telemetry.Severity
		lift inhibit.Lift
		want string
	}{
		{"fault in inspection", "fault.door_lock", telemetry.SeverityMajor, inhibit.Lift{Car: inspection}, "inspection"},
		{"alarm in inspection", "alarm_button", telemetry.SeverityMajor, inhibit.Lift{Car: inspection}, "inspection"},
		{"critical fault never", "fault.overspeed", telemetry.SeverityCritical, inhibit.Lift{Car: inspection, WorkOrder: yes, Offline: true}, ""},
		{"entrapment never", "entrapment", telemetry.SeverityMajor, inhibit.Lift{Car: inspection}, ""},
		{"work order", "fault.safety_circuit", telemetry.SeverityMajor, inhibit.Lift{Car: normal, WorkOrder: yes}, "work_order"},
		{"door fault offline", "fault.door_lock", telemetry.SeverityMajor, inhibit.Lift{Car: normal, Offline: true}, "offline"},
		{"other fault offline", "fault.safety_circuit", telemetry.SeverityMajor, inhibit.Lift{Car: normal, Offline: true}, ""},
		{"out of service in inspection", "out_of_service", telemetry.SeverityMajor, inhibit.Lift{Car: inspection, WorkOrder: yes}, ""},
	} {
		if got := inhibit.Reason(tc.typ, tc.sev, tc.lift); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
