package alerts

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// TestAlertQueryMatch: single and plural values are alternatives, every
// field must hold, and Since/Until bound the opening time [since, until).
func TestAlertQueryMatch(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	a := &Alert{Lift: "L1", Estate: "e1", Type: TypeEntrapment, Severity: telemetry.Severity(3), State: StateAcknowledged, OpenedAt: t0}
	for _, c := range []struct {
		name string
		q    AlertQuery
		want bool
	}{
		{"everything", AlertQuery{}, true},
		{"open", AlertQuery{Open: true}, true},
		{"single lift", AlertQuery{Lift: "L1"}, true},
		{"other lift", AlertQuery{Lift: "L2"}, false},
		{"single or plural", AlertQuery{Lift: "L2", Lifts: []string{"L1"}}, true},
		{"states", AlertQuery{States: []string{"open", "resolved"}}, false},
		{"estate and type", AlertQuery{Estates: []string{"e1"}, Types: []string{TypeOffline}}, false},
		{"severity", AlertQuery{Severities: []string{telemetry.Severity(3).String()}}, true},
		{"since inclusive", AlertQuery{Since: t0}, true},
		{"until exclusive", AlertQuery{Until: t0}, false},
	} {
		if got := c.q.Match(a); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	a.State = StateResolved
	if (&AlertQuery{Open: true}).Match(a) {
		t.Error("a resolved alert matches open")
	}
}
