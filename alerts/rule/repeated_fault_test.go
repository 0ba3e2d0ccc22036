package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestRepeatedFault(t *testing.T) {
	table(t, func() rule.Rule { return rule.NewRepeatedFault() }, []tcase{
		{"third within the window raises, the fourth repeats",
			[]step{fault(0, "door_lock", false), fault(time.Minute, "door_lock", true), fault(10*time.Minute, "door_lock", false),
				fault(20*time.Minute, "door_lock", false), fault(30*time.Minute, "door_lock", false)},
			[]string{"raise repeated_fault.door_lock major", "raise repeated_fault.door_lock major"}},
		{"outside the window: no problem lift",
			[]step{fault(0, "door_lock", false), fault(13*time.Hour, "door_lock", false), fault(26*time.Hour, "door_lock", false)}, nil},
		{"late reports count", []step{fault(2*time.Hour, "door_lock", false), fault(0, "door_lock", false), fault(time.Hour, "door_lock", false)},
			[]string{"raise repeated_fault.door_lock major"}},
		{"a redelivery does not count",
			func() []step { f := fault(0, "door_lock", false); return []step{f, redeliver(f), redeliver(f)} }(), nil},
		{"codes count apart; entrapments never",
			[]step{fault(0, "door_lock", false), fault(time.Minute, "safety_circuit", false), fault(2*time.Minute, "entrapment", false),
				fault(3*time.Minute, "entrapment", false), fault(4*time.Minute, "entrapment", false)}, nil},
	})
}
