package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestCriticalFault(t *testing.T) {
	table(t, rule.CriticalFault, []tcase{
		{"raised at once; the terminal's clear only ends the condition",
			[]step{fault(0, "overspeed", false), fault(time.Minute, "overspeed", true), fault(2*time.Minute, "overspeed", true)},
			// each clear says so; the engine acts on the first (the condition was active)
			[]string{"raise fault.overspeed critical", "clear fault.overspeed", "clear fault.overspeed"}},
		{"late report after its clear is raised, inactive", []step{fault(time.Minute, "unintended_movement", true), fault(0, "unintended_movement", false)},
			[]string{"raise fault.unintended_movement critical inactive"}},
		{"non-critical faults are other rules'", []step{fault(0, "door_lock", false), fault(0, "safety_circuit", false)}, nil},
	})
}
