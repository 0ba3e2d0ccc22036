package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestExplicitEntrapment(t *testing.T) {
	trap := fault(0, "entrapment", false)
	table(t, func() rule.Rule { return rule.NewExplicitEntrapment() }, []tcase{
		{"reported: raised", []step{trap}, []string{"raise entrapment critical"}},
		{"each report is evidence, a redelivery is not", []step{trap, redeliver(trap), fault(time.Second, "entrapment", false)},
			[]string{"raise entrapment critical", "raise entrapment critical"}},
		{"the terminal clearing it ends nothing", []step{fault(0, "entrapment", false), fault(time.Minute, "entrapment", true)},
			[]string{"raise entrapment critical"}},
		{"late report after its clear: raised, inactive", []step{fault(time.Minute, "entrapment", true), fault(0, "entrapment", false)},
			[]string{"raise entrapment critical inactive"}},
		// Resolved on site while the terminal still reports the fault: the
		// same activation raises nothing more; a new activation does.
		{"resolved while active: its reports raise nothing", []step{trap, resolved(rule.TypeEntrapment),
			fault(time.Minute, "entrapment", false), fault(time.Hour, "entrapment", false), fault(3*time.Hour, "entrapment", false)},
			[]string{"raise entrapment critical", "settled entrapment"}},
		{"resolved, cleared, active again: a new alert", []step{trap, resolved(rule.TypeEntrapment),
			fault(time.Minute, "entrapment", false), fault(time.Hour, "entrapment", true), fault(2*time.Hour, "entrapment", false)},
			[]string{"raise entrapment critical", "settled entrapment", "raise entrapment critical"}},
		{"resolved after the terminal cleared it: nothing settled", []step{trap, fault(time.Minute, "entrapment", true),
			resolved(rule.TypeEntrapment), fault(time.Hour, "entrapment", false)},
			[]string{"raise entrapment critical", "raise entrapment critical"}},
		{"other faults are not entrapments", []step{fault(0, "door_lock", false)}, nil},
	})
}
