package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestOtherFault(t *testing.T) {
	table(t, rule.OtherFault, []tcase{
		{"raised at its severity, closed by the terminal", []step{fault(0, "safety_circuit", false), fault(time.Minute, "safety_circuit", true)},
			[]string{"raise fault.safety_circuit major", "clear fault.safety_circuit"}},
		{"unknown code is major", []step{fault(0, "mystery_code", false)}, []string{"raise fault.mystery_code major"}},
		{"late clear does not clear a newer fault", []step{fault(time.Minute, "runtime_limiter", false), fault(0, "runtime_limiter", true)},
			[]string{"raise fault.runtime_limiter " + sevOf("runtime_limiter")}},
		{"late fault that has cleared since opens nothing", []step{fault(time.Minute, "safety_circuit", true), fault(0, "safety_circuit", false)}, nil},
		{"late fault counts on the open alert, inactive if cleared since",
			[]step{fault(0, "safety_circuit", false), fault(2*time.Minute, "safety_circuit", false), fault(time.Minute, "safety_circuit", false)},
			[]string{"raise fault.safety_circuit major", "raise fault.safety_circuit major", "raise fault.safety_circuit major"}},
		{"door, power-loss and critical faults are other rules'", []step{fault(0, "door_lock", false), fault(0, "power_loss", false), fault(0, "overspeed", false)}, nil},
	})
}
