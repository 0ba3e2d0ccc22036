package alerts

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/telemetry"
)

// TypeStillReported is the alert a rescue resolved on site leaves when the
// terminal still reports a trapped passenger (fault entrapment active, or an
// occupied car that cannot release its passengers): "terminal still reports
// a trapped passenger: check on site".
const TypeStillReported = rule.TypeStillReported

// ReportsEntrapment says whether a car reports a trapped passenger now (the
// terminal's fault entrapment active, or an occupied car stuck), and why:
// no page may show such a lift as normal or working.
func ReportsEntrapment(car *liftstate.Car) (bool, string) { return rule.Reports(car) }

// The life of an entrapment_still_reported alert:
//
//   - settle opens it when a person resolves a rescue on site while the rules
//     say the terminal still reports it (the rules have settled that episode:
//     they raise no new rescue for it);
//   - it becomes a rescue again (a new entrapment alert, with its clocks and
//     escalation, and this one resolved naming it) when it lasts
//     StillReportedAfter with nobody recorded on site for it (Tick), when a
//     passenger presses the alarm in the occupied car, or when a rule raises
//     a new entrapment on new evidence (a new fault activation, the derived
//     condition ending and holding again): raise resolves it then;
//   - it resolves itself when the car no longer reports a trapped passenger
//     (Consume, Tick), or a person resolves it.

// openStillReported opens the alert after the rescue resc was resolved while
// still (what the rules said) held. It returns the alert opened (or the one
// already open).
func (e *Engine) openStillReported(resc *Alert, still string, now time.Time) *Alert {
	if s := e.open[akey{resc.Lift, TypeStillReported}]; s != nil {
		return s
	}
	l := e.lift(resc.Lift)
	car, _ := e.cfg.Lifts.Car(resc.Lift)
	summary := fmt.Sprintf("terminal still reports a trapped passenger: check on site (rescue #%d resolved by %s; %s)",
		resc.ID, resc.ResolvedBy, still)
	a := &Alert{Lift: resc.Lift, Estate: l.estate, Type: TypeStillReported, Severity: telemetry.SeverityMajor,
		Summary: summary, State: StateOpen, ConditionActive: true, Derived: !car.FaultActive(telemetry.FaultEntrapment), Count: 1,
		FirstSeen: now, LastSeen: now, OpenedAt: now, Tier: 1, LastNotified: now}
	p := e.cfg.Policies.For(l.estate)
	e.open[akey{a.Lift, a.Type}] = a
	e.save(a, Event{At: now, Action: "opened", Actor: "system", Tier: 1,
		Note: fmt.Sprintf("%s; still reported after %v it becomes a rescue again", summary, p.StillReportedAfter)})
	e.cfg.Logger.Warn("rescue resolved while the terminal still reports a trapped passenger", "lift", a.Lift,
		"rescue", resc.ID, "alert", a.ID, "still", still)
	return a
}

// stillReported checks lift's open entrapment_still_reported alert against
// the car now: resolved when the car no longer reports a trapped passenger,
// a rescue again when it has lasted StillReportedAfter with nobody on site
// (onTick) or when alarm is set (the alarm pressed in the occupied car).
func (e *Engine) stillReported(lift string, car *liftstate.Car, now time.Time, onTick, alarm bool) {
	s := e.open[akey{lift, TypeStillReported}]
	if s == nil {
		return
	}
	reports, why := rule.Reports(car)
	if !reports {
		s.ConditionActive = false
		s.State, s.ResolvedAt, s.ResolvedBy = StateResolved, &now, "system"
		e.save(s, Event{At: now, Action: "resolved", Actor: "system",
			Note: "the terminal no longer reports a trapped passenger (fault entrapment cleared, the car is not occupied and stuck)"})
		e.forget(s)
		return
	}
	if derived := !car.FaultActive(telemetry.FaultEntrapment); derived != s.Derived {
		// What is reported changed (the terminal cleared its fault, the
		// car still shows the condition; or the reverse): the record and
		// the pages' text follow.
		s.Derived = derived
		e.save(s, Event{At: now, Action: "condition_changed", Actor: "system", Note: "still reported: " + why})
	}
	p := e.cfg.Policies.For(s.Estate)
	switch {
	case alarm && car.Occupied:
		e.rescueAgain(lift, car, now, fmt.Sprintf("alarm pressed in the occupied car while the terminal still reports a trapped passenger (%s)", why))
	case onTick && stateRank[s.State] < stateRank[StateOnSite] && now.Sub(s.OpenedAt) >= p.StillReportedAfter:
		e.rescueAgain(lift, car, now, fmt.Sprintf("terminal still reports a trapped passenger %v after the rescue was resolved, nobody on site to check (%s)",
			p.StillReportedAfter, why))
	}
}

// rescueAgain opens a new rescue (entrapment) alert on lift; raise then
// resolves the still-reported alert, naming it.
func (e *Engine) rescueAgain(lift string, car *liftstate.Car, now time.Time, summary string) {
	res := rule.Result{Action: rule.Raise, Type: TypeEntrapment, Severity: telemetry.SeverityCritical, At: now,
		Summary: summary, Derived: !car.FaultActive(telemetry.FaultEntrapment)}
	e.raise(lift, e.lift(lift), car, &res)
}

// rescueResumed resolves lift's open entrapment_still_reported alert, if
// any, because the rescue alert resc has just been opened for it.
func (e *Engine) rescueResumed(resc *Alert, now time.Time) {
	s := e.open[akey{resc.Lift, TypeStillReported}]
	if s == nil {
		return
	}
	s.State, s.ResolvedAt, s.ResolvedBy = StateResolved, &now, "system"
	e.save(s, Event{At: now, Action: "resolved", Actor: "system",
		Note: fmt.Sprintf("a rescue again: alert #%d (%s)", resc.ID, resc.Summary)})
	e.forget(s)
}

// stillReportedTick runs the clock of every open entrapment_still_reported
// alert, in ID order.
func (e *Engine) stillReportedTick(now time.Time) {
	var list []*Alert
	for k, a := range e.open {
		if k.typ == TypeStillReported {
			list = append(list, a)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	for _, a := range list {
		car, _ := e.cfg.Lifts.Car(a.Lift)
		e.stillReported(a.Lift, &car, now, true, false)
	}
}

// criticalFault says whether a is a critical fault alert, which runs the
// rescue clocks too: notify (AckWithin, then tier 2) and a technician on
// site (CriticalOnSiteWithin, then tier 3).
func criticalFault(a *Alert) bool {
	return !a.Rescue && a.Severity >= telemetry.SeverityCritical && strings.HasPrefix(a.Type, TypeFaultPrefix)
}

// criticalClocks escalates an unattended critical fault alert.
func (e *Engine) criticalClocks(a *Alert, p *Policy, now time.Time) {
	if a.Tier < 2 && a.State == StateOpen && now.Sub(a.OpenedAt) >= p.AckWithin {
		e.escalate(a, 2, now, fmt.Sprintf("critical fault not acknowledged within %v: escalated to tier 2 (the contractor's supervisor joins the on-call chain)", p.AckWithin))
	}
	if a.Tier < 3 && stateRank[a.State] < stateRank[StateOnSite] && now.Sub(a.OpenedAt) >= p.CriticalOnSiteWithin {
		e.escalate(a, 3, now, fmt.Sprintf("no technician on site within %v: escalated to tier 3 (subdistrict office; the lift stays stopped until a technician checks it)", p.CriticalOnSiteWithin))
	}
}
