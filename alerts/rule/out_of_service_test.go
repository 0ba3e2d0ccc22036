package rule_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/telemetry"
)

func TestOutOfService(t *testing.T) {
	oos := func(d time.Duration) step {
		return status(d, func(m *telemetry.Message) { m.Mode = telemetry.ModeOutOfService })
	}
	table(t, func() rule.Rule { return rule.OutOfService{} }, []tcase{
		{"raised by the clock at 30 minutes, cleared by the mode", []step{oos(0), tick(29 * time.Minute), tick(time.Minute), status(31*time.Minute, nil)},
			[]string{"raise out_of_service major sustained", "clear out_of_service"}},
		{"raised by a status at 30 minutes", []step{oos(0), oos(30 * time.Minute)}, []string{"raise out_of_service major sustained"}},
		// a status in service clears (nothing, if no alert is open); no clock
		{"in service: nothing to wait for", []step{status(0, nil), tick(time.Hour)}, []string{"clear out_of_service"}},
	})
}
