package rule_test

import (
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
)

// TestPolicyValidateReportsEveryProblem: a policy with several bad keys
// names each of them, not only the first; a severity override for a code
// outside the fault catalogue is refused, naming the closest code.
func TestPolicyValidateReportsEveryProblem(t *testing.T) {
	p := rule.DefaultPolicy()
	p.AckWithin = -5 * time.Minute
	p.LowBatteryPct = 250
	p.RepeatCount = 1
	p.Severities = map[string]string{"nosuchcode": "huge", "door_obstruct": "major", "door_lock": "critical"}
	err := p.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"ack_within -5m0s must be positive and below on_site_within 30m0s",
		"low_battery_pct 250 must be in 0..95",
		"repeat_count 1 must be ≥ 2",
		`severities[nosuchcode]: "nosuchcode" is not a fault code of the catalogue`,
		`severities[nosuchcode] = "huge": want warning, minor, major or critical`,
		`severities[door_obstruct]: "door_obstruct" is not a fault code of the catalogue (did you mean door_obstructed?)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "door_lock") || strings.Contains(err.Error(), "renotify") {
		t.Errorf("a good key reported:\n%v", err)
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 6 {
		t.Errorf("%d problems, want 6:\n%v", n, err)
	}
	good := rule.DefaultPolicy()
	good.Severities = map[string]string{"door_obstructed": "major"}
	if err := good.Validate(); err != nil {
		t.Errorf("good policy: %v", err)
	}
}
