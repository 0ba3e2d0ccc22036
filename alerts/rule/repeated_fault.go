package rule

import (
	"fmt"
	"sort"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// RepeatedFault makes a problem lift: the same fault code RepeatCount times
// within RepeatWindow (event time, late reports included) raises
// "repeated_fault.<code>"; a person resolves it (maintenance turns it into a
// corrective work order). Entrapments do not count.
type RepeatedFault struct {
	times map[string]map[string][]time.Time // lift → code → report times, sorted
}

// NewRepeatedFault makes the rule with empty memory.
func NewRepeatedFault() *RepeatedFault {
	return &RepeatedFault{times: map[string]map[string][]time.Time{}}
}

// Name implements Rule.
func (*RepeatedFault) Name() string { return "repeated_fault" }

// Eval implements Rule.
func (r *RepeatedFault) Eval(in *Input, out []Result) []Result {
	m := in.Msg
	if in.Trigger != OnMessage || m.Kind != telemetry.KindFault || m.Code == telemetry.FaultEntrapment ||
		m.State == telemetry.FaultCleared {
		return out
	}
	byCode := r.times[in.Lift]
	if byCode == nil {
		byCode = map[string][]time.Time{}
		r.times[in.Lift] = byCode
	}
	p, at := in.Policy, in.Now
	times := byCode[m.Code]
	i := sort.Search(len(times), func(i int) bool { return times[i].After(at) })
	times = append(times, time.Time{})
	copy(times[i+1:], times[i:])
	times[i] = at
	newest := times[len(times)-1]
	cut := 0
	for cut < len(times) && newest.Sub(times[cut]) > p.RepeatWindow {
		cut++
	}
	times = times[cut:]
	byCode[m.Code] = times
	if len(times) >= p.RepeatCount {
		out = append(out, Result{Action: Raise, Type: TypeRepeatPrefix + m.Code, Severity: telemetry.SeverityMajor, At: at,
			Summary: fmt.Sprintf("%s %d times within %v: problem lift", m.Code, len(times), p.RepeatWindow)})
	}
	return out
}
