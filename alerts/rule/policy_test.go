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

// TestPolicyClockKeys: the critical-fault on-site clock and the
// still-reported countdown default to 2 h and 10 min, and bad values are
// refused naming the key.
func TestPolicyClockKeys(t *testing.T) {
	p := rule.DefaultPolicy()
	if p.CriticalOnSiteWithin != 2*time.Hour || p.StillReportedAfter != 10*time.Minute {
		t.Fatalf("defaults: critical_on_site_within %v, still_reported_after %v", p.CriticalOnSiteWithin, p.StillReportedAfter)
	}
	p.CriticalOnSiteWithin = time.Minute
	p.StillReportedAfter = 0
	err := p.Validate()
	for _, want := range []string{"critical_on_site_within 1m0s must be above ack_within 5m0s", "still_reported_after 0s must be in (0, 24h]"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
