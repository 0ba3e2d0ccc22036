package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/telemetry"
)

func TestAlarmButton(t *testing.T) {
	alarm := func(d time.Duration) step { return mk(telemetry.KindAlarm, d, nil) }
	a := alarm(0)
	table(t, func() rule.Rule { return rule.AlarmButton{} }, []tcase{
		{"each press raises, a redelivery does not", []step{a, redeliver(a), alarm(time.Second)},
			[]string{"raise alarm_button major", "raise alarm_button major"}},
		{"status is not an alarm", []step{status(0, nil)}, nil},
	})
}
