package rule

import (
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Offline raises offline (major) when the lift goes silent for
// --offline-after (ingest's sweeper decides; the engine passes on only
// transitions newer than the last it took) and clears it when traffic
// returns.
type Offline struct{}

// Name implements Rule.
func (Offline) Name() string { return "offline" }

// Eval implements Rule.
func (Offline) Eval(in *Input, out []Result) []Result {
	if in.Trigger != OnTransition {
		return out
	}
	if in.Online {
		return append(out, Result{Action: Clear, Type: TypeOffline, Severity: telemetry.SeverityMajor, At: in.Now,
			Summary: "terminal traffic returned"})
	}
	return append(out, Result{Action: Raise, Type: TypeOffline, Severity: telemetry.SeverityMajor, At: in.LastSeen,
		Summary: "no message from the terminal since " + in.LastSeen.UTC().Format(time.RFC3339), Sustained: true})
}
