package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestDoorFault(t *testing.T) {
	table(t, rule.DoorFault, []tcase{
		{"raised and closed by the terminal", []step{fault(0, "door_obstructed", false), fault(time.Minute, "door_obstructed", true)},
			[]string{"raise fault.door_obstructed minor", "clear fault.door_obstructed"}},
		{"a redelivery after its clear changes nothing",
			func() []step {
				f := fault(0, "door_lock", false)
				return []step{f, fault(time.Minute, "door_lock", true), redeliver(f)}
			}(),
			[]string{"raise fault.door_lock major", "clear fault.door_lock"}},
		{"door open while moving is critical: not this rule's", []step{fault(0, "door_open_while_moving", false)}, nil},
	})
}
