package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

func TestPowerLoss(t *testing.T) {
	table(t, rule.PowerLoss, []tcase{
		{"raised while power is lost, closed when it returns", []step{fault(0, "power_loss", false), fault(time.Minute, "power_loss", true)},
			[]string{"raise fault.power_loss major", "clear fault.power_loss"}},
		{"other codes are not", []step{fault(0, "door_lock", false)}, nil},
	})
}
