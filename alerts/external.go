package alerts

import (
	"fmt"
	"strings"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Record appends an event by the system to an open alert (the pager's
// "paged", "page_failed", "page_acknowledged"), so its history says who was
// paged and how it went. An alert resolved since is left as it is.
func (e *Engine) Record(alertID int64, action, note string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byID[alertID]
	if a == nil {
		return
	}
	e.save(a, Event{At: e.now(), Action: action, Actor: "system", Note: note, Tier: a.Tier})
}

// Raise opens an alert of type typ on lift that no rule raises (the pager's
// paging_failed), or counts a repeat of the one open; it is never
// suppressed. It returns the alert's ID.
func (e *Engine) Raise(lift, typ string, sev telemetry.Severity, summary string) (int64, error) {
	if strings.TrimSpace(lift) == "" || strings.TrimSpace(typ) == "" {
		return 0, &ValidationError{Msg: "raise: lift and type are required"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	if a := e.open[akey{lift, typ}]; a != nil {
		a.Count++
		a.LastSeen = now
		a.ConditionActive = true
		e.save(a, Event{At: now, Action: "repeated", Actor: "system", Note: summary, Tier: a.Tier})
		return a.ID, nil
	}
	l := e.lift(lift)
	a := &Alert{Lift: lift, Estate: l.estate, Type: typ, Severity: sev, Summary: summary, State: StateOpen, ConditionActive: true,
		Count: 1, FirstSeen: now, LastSeen: now, OpenedAt: now, Tier: 1, LastNotified: now}
	e.open[akey{lift, typ}] = a
	e.save(a, Event{At: now, Action: "opened", Actor: "system", Note: summary, Tier: 1})
	if a.ID == 0 {
		return 0, fmt.Errorf("raise %s on %s: the alert was not written (see the log)", typ, lift)
	}
	return a.ID, nil
}
