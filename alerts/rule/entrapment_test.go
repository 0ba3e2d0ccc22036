package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestExplicitEntrapment(t *testing.T) {
	trap := fault(0, "entrapment", false)
	table(t, func() rule.Rule { return rule.ExplicitEntrapment{} }, []tcase{
		{"reported: raised", []step{trap}, []string{"raise entrapment critical"}},
		{"each report is evidence, a redelivery is not", []step{trap, redeliver(trap), fault(time.Second, "entrapment", false)},
			[]string{"raise entrapment critical", "raise entrapment critical"}},
		{"the terminal clearing it ends nothing", []step{fault(0, "entrapment", false), fault(time.Minute, "entrapment", true)},
			[]string{"raise entrapment critical"}},
		{"late report after its clear: raised, inactive", []step{fault(time.Minute, "entrapment", true), fault(0, "entrapment", false)},
			[]string{"raise entrapment critical inactive"}},
		{"other faults are not entrapments", []step{fault(0, "door_lock", false)}, nil},
	})
}
