package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/telemetry"
)

func battery(d time.Duration, pct int) step {
	return status(d, func(m *telemetry.Message) { m.Has, m.BatteryPct = telemetry.FieldBattery, pct })
}

func TestLowBattery(t *testing.T) {
	table(t, func() rule.Rule { return rule.LowBattery{} }, []tcase{
		{"below the threshold raises, 5 above clears", []step{battery(0, 19), battery(time.Minute, 22), battery(2*time.Minute, 25)},
			[]string{"raise low_battery warning sustained", "clear low_battery"}},
		{"a status without battery says nothing", []step{status(0, nil)}, nil},
		{"at the threshold is not low", []step{battery(0, 20)}, nil},
	})
}
