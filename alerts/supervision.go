package alerts

import (
	"hash/fnv"
	"strings"

	"github.com/liftwatch/liftwatch/telemetry"
)

// TypeSupervisionPrefix starts the type of every supervision alert:
// "supervision.<kind>" (work_order_overdue, work_order_unverified,
// inspection_due, inspection_lapsed, no_valid_contract, contract_expiring,
// low_fund_balance, problem_lift).
const TypeSupervisionPrefix = "supervision."

// Supervision is a finding of maintenance supervision, trusteeship or the
// fund, for the lift's manager: the events of docs/maintenance.md
// ("Supervision events"). Key identifies the situation; delivering the
// same key again changes nothing.
type Supervision struct {
	Key     string
	Kind    string // the alert type is TypeSupervisionPrefix + Kind
	Lift    string
	Manager string // whom it is addressed to ("" : the lift has no manager)
	Summary string
}

// keyEvidence is the evidence a supervision key leaves on its alert: its
// 64-bit FNV-1a hash under boot -1, which no terminal uses, so the key is
// persisted with the alert (Alert.Evidence) and a delivery repeated after a
// restart is recognised like a redelivered message.
func keyEvidence(key string) MessageKey {
	h := fnv.New64a()
	h.Write([]byte(key))
	return MessageKey{Boot: -1, Seq: int64(h.Sum64() >> 1)}
}

// Supervise raises a supervision alert: one alert per (lift, type) while it
// is open, a new key on it counts a repeat, a key already counted changes
// nothing (opened reports whether a new alert was opened). A supervision
// alert is a warning, addressed to the manager (named in its summary); it
// is never inhibited by the lift's situation (silences apply), and is
// closed by a person (Resolve) or by ClearSupervision.
func (e *Engine) Supervise(s Supervision) (a *Alert, opened bool, err error) {
	if s.Key == "" || s.Kind == "" || s.Lift == "" {
		return nil, false, &ValidationError{Msg: "supervision needs a key, a kind and a lift"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	typ := TypeSupervisionPrefix + s.Kind
	k := keyEvidence(s.Key)
	summary := s.Summary
	if s.Manager != "" {
		summary = "to " + s.Manager + ": " + summary
	} else {
		summary = "no manager on record (subdistrict office): " + summary
	}
	if cur := e.open[akey{s.Lift, typ}]; cur != nil {
		if cur.HasEvidence(k) {
			return cur.Clone(), false, nil
		}
		cur.addEvidence(k)
		cur.Count++
		cur.LastSeen = now
		cur.ConditionActive = true
		e.save(cur, Event{At: now, Action: "repeated", Actor: "system", Note: summary})
		return cur.Clone(), false, nil
	}
	l := e.lift(s.Lift)
	a = &Alert{Lift: s.Lift, Estate: l.estate, Type: typ, Severity: telemetry.SeverityWarning, Summary: summary, State: StateOpen,
		ConditionActive: true, Count: 1, FirstSeen: now, LastSeen: now, OpenedAt: now, Tier: 1, LastNotified: now}
	a.addEvidence(k)
	a.Suppressed = e.silences.Reason(s.Lift, l.estate, now)
	ev := Event{At: now, Action: "opened", Actor: "system", Note: summary, Tier: 1}
	if a.Suppressed != "" {
		ev.Note += " (suppressed: " + a.Suppressed + ")"
	}
	e.open[akey{s.Lift, typ}] = a
	e.save(a, ev)
	return a.Clone(), true, nil
}

// ClearSupervision resolves the open supervision alert of kind on lift, if
// any, because its situation no longer holds (why); it reports whether one
// was resolved.
func (e *Engine) ClearSupervision(lift, kind, why string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	typ := TypeSupervisionPrefix + kind
	if e.open[akey{lift, typ}] == nil {
		return false
	}
	e.clear(lift, typ, why)
	return true
}

// OpenSupervision lists the open supervision alerts of one kind ("" : all).
func (e *Engine) OpenSupervision(kind string) []*Alert {
	var out []*Alert
	for _, a := range e.Open() {
		if strings.HasPrefix(a.Type, TypeSupervisionPrefix) && (kind == "" || a.Type == TypeSupervisionPrefix+kind) {
			out = append(out, a)
		}
	}
	return out
}
