package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Store persists alerts, their history and silences. SaveAlert inserts the
// alert when its ID is 0 (setting it) and updates it otherwise, appending
// events to its history, in one transaction.
type Store interface {
	SaveAlert(ctx context.Context, a *Alert, events []Event) error
	OpenAlerts(ctx context.Context) ([]*Alert, error)
	SaveSilence(ctx context.Context, s *Silence) error
	DeleteSilence(ctx context.Context, id int64) error
	Silences(ctx context.Context) ([]Silence, error)
}

// WorkOrders says whether a lift has maintenance work in progress (the
// maintenance package provides it; nil means never).
type WorkOrders interface {
	InProgress(lift string) bool
}

// Estates maps a lift to its estate; ok is false for unknown lifts.
type Estates func(lift string) (estate string, ok bool)

// Change is one alert change, given to listeners (notifiers, the live
// stream) after it is persisted.
type Change struct {
	Alert *Alert // a snapshot, without history
	Event Event
}

// Silence suppresses notification of non-critical alerts of a lift or an
// estate for a time window.
type Silence struct {
	ID        int64     `json:"id"`
	Lift      string    `json:"lift,omitempty"`
	Estate    string    `json:"estate,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Silence) matches(lift, estate string, at time.Time) bool {
	return (s.Lift != "" && s.Lift == lift || s.Estate != "" && s.Estate == estate) &&
		!at.Before(s.StartsAt) && at.Before(s.EndsAt)
}

// Config configures an Engine.
type Config struct {
	Policies   Policies
	Estates    Estates
	Store      Store
	WorkOrders WorkOrders
	Clock      func() time.Time
	Logger     *slog.Logger
	// Recipients names the receivers a change of the alert is sent to at
	// its current tier (notify.Dispatcher.Recipients); nil: none configured.
	// Escalation notes name them, or say that nobody was notified.
	Recipients func(a *Alert) []string
}

// Engine is the alert engine. All methods are safe for concurrent use.
type Engine struct {
	cfg       Config
	mu        sync.Mutex
	open      map[akey]*Alert
	byID      map[int64]*Alert
	lifts     map[string]*liftDetect
	timed     map[string]bool // lifts with a running timer (entrapment countdown, out of service): all Tick visits
	silences  []Silence
	listeners []func(Change)
}

type akey struct{ lift, typ string }

// liftDetect is what detection knows of one lift.
type liftDetect struct {
	estate     string
	haveStatus bool
	mode       telemetry.Mode
	modeSince  time.Time
	occupied   bool
	moving     bool
	doorZone   bool
	battery    int
	alarm      bool // alarm pressed in a stopped, occupied car, not yet answered by movement or a door cycle
	faults     map[string]bool
	faultTimes map[string][]time.Time
	faultAt    map[string]time.Time // event time of the newest report of each code
	trapSince  time.Time            // start of the derived-entrapment condition; zero if it does not hold
	lastEvent  time.Time
	offline    bool
	stateSeq   uint64
	// The last eventMemory faults and alarms taken, by (boot, seq): a
	// redelivery of one (ingest passes on faults and alarms it cannot check,
	// see ingest's stale messages) changes nothing.
	seen     map[evKey]struct{}
	seenRing []evKey
	seenNext int
}

// eventMemory is how many faults and alarms per lift the engine remembers
// by (boot, seq) to ignore their redelivery. Faults and alarms are rare;
// lifts that never send one hold nothing.
const eventMemory = 256

type evKey struct{ boot, seq int64 }

// remember records (boot, seq) and reports whether it is new.
func (l *liftDetect) remember(boot, seq int64) bool {
	k := evKey{boot, seq}
	if _, ok := l.seen[k]; ok {
		return false
	}
	if l.seen == nil {
		l.seen = make(map[evKey]struct{}, 8)
	}
	if len(l.seenRing) < eventMemory {
		l.seenRing = append(l.seenRing, k)
	} else {
		delete(l.seen, l.seenRing[l.seenNext])
		l.seenRing[l.seenNext] = k
		l.seenNext = (l.seenNext + 1) % eventMemory
	}
	l.seen[k] = struct{}{}
	return true
}

// New makes an engine and loads the open alerts and silences from the store,
// so that their clocks and escalation continue where they were.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Estates == nil {
		return nil, fmt.Errorf("alerts: an estate lookup is required")
	}
	if err := cfg.Policies.Default.Validate(); err != nil {
		return nil, fmt.Errorf("alerts: default policy: %w", err)
	}
	for e, p := range cfg.Policies.Estates {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("alerts: policy of estate %s: %w", e, err)
		}
	}
	e := &Engine{cfg: cfg, open: map[akey]*Alert{}, byID: map[int64]*Alert{}, lifts: map[string]*liftDetect{}, timed: map[string]bool{}}
	open, err := cfg.Store.OpenAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerts: load open alerts: %w", err)
	}
	for _, a := range open {
		e.open[akey{a.Lift, a.Type}] = a
		e.byID[a.ID] = a
	}
	if e.silences, err = cfg.Store.Silences(ctx); err != nil {
		return nil, fmt.Errorf("alerts: load silences: %w", err)
	}
	cfg.Logger.Info("alert engine loaded", "open_alerts", len(open), "silences", len(e.silences))
	return e, nil
}

// Listen registers a listener for every persisted change. Listeners run
// under the engine's lock and must not block.
func (e *Engine) Listen(f func(Change)) {
	e.mu.Lock()
	e.listeners = append(e.listeners, f)
	e.mu.Unlock()
}

func (e *Engine) lift(id string) *liftDetect {
	l := e.lifts[id]
	if l == nil {
		est, _ := e.cfg.Estates(id)
		l = &liftDetect{estate: est, doorZone: true, battery: -1} // maps made on first use: most lifts never fault
		e.lifts[id] = l
	}
	return l
}

// ---- detection ----

// Consume takes one lift's next message (ingest calls it in order per lift).
// It is idempotent on (lift, boot, seq) for faults and alarms, which ingest
// passes on even when they arrive far behind the lift's sequence; a fault
// or alarm older than what the engine already knows raises its alert but
// does not overwrite the car's newer state.
func (e *Engine) Consume(m *telemetry.Message) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lift(m.Lift)
	if (m.Kind == telemetry.KindFault || m.Kind == telemetry.KindAlarm) && !l.remember(m.Boot, m.Seq) {
		return // a redelivery of an event already taken
	}
	p := e.cfg.Policies.For(l.estate)
	at := m.Time()
	older := at.Before(l.lastEvent) // a late report: it must not undo newer state
	if at.After(l.lastEvent) {
		l.lastEvent = at
	}
	switch m.Kind {
	case telemetry.KindStatus:
		if !l.haveStatus || m.Mode != l.mode {
			l.modeSince = at
		}
		l.haveStatus = true
		l.mode, l.occupied, l.moving, l.doorZone = m.Mode, m.Occupied, m.Moving, m.DoorZone
		if m.Moving || !m.Occupied {
			l.alarm = false
		}
		if m.Has&telemetry.FieldBattery != 0 {
			l.battery = m.BatteryPct
			e.checkBattery(m.Lift, l, p, at)
		}
		e.checkMode(m.Lift, l, p, at)
	case telemetry.KindTrip:
		// A completed run ends at a landing: nobody is stuck now.
		l.moving, l.doorZone, l.alarm = false, true, false
	case telemetry.KindDoor:
		// The door cycled at a landing: whoever was inside could get out.
		l.doorZone, l.alarm, l.occupied = true, false, false
		delete(l.faults, telemetry.FaultDoorOpenFailure)
	case telemetry.KindFault:
		if m.Has&telemetry.FieldOccupied != 0 && !older {
			l.occupied = m.Occupied
		}
		if m.Has&telemetry.FieldDoorZone != 0 && !older {
			l.doorZone = m.DoorZone
		}
		e.fault(m, l, p, at)
	case telemetry.KindAlarm:
		if m.Has&telemetry.FieldOccupied != 0 && !older {
			l.occupied = m.Occupied
		}
		if l.occupied && !l.moving && !older {
			l.alarm = true
		}
		e.raise(m.Lift, l, TypeAlarm, telemetry.SeverityMajor, at,
			fmt.Sprintf("alarm %s pressed (occupied=%v, floor %d)", m.Source, l.occupied, m.Floor), false)
	}
	e.checkTrap(m.Lift, l, p, at)
	e.track(m.Lift, l)
}

// track keeps the set of lifts whose timers Tick must run.
func (e *Engine) track(id string, l *liftDetect) {
	if !l.trapSince.IsZero() || l.haveStatus && l.mode == telemetry.ModeOutOfService {
		e.timed[id] = true
	} else {
		delete(e.timed, id)
	}
}

// trapCondition is the derived-entrapment rule: an occupied, stopped car
// that cannot release its passengers. Not derived in inspection mode, when
// a technician has the car.
func (l *liftDetect) trapCondition() (bool, string) {
	if !l.occupied || l.moving || l.mode == telemetry.ModeInspection {
		return false, ""
	}
	switch {
	case !l.doorZone || l.faults[telemetry.FaultStoppedOutsideDoorZone]:
		return true, "occupied car stopped outside the door zone"
	case l.faults[telemetry.FaultDoorOpenFailure]:
		return true, "occupied car, door will not open"
	case l.faults[telemetry.FaultPowerLoss]:
		return true, "occupied car, main power lost"
	case l.alarm:
		return true, "alarm pressed in an occupied, stopped car"
	}
	return false, ""
}

// checkTrap starts, ends or fires the derived-entrapment condition at time
// now (an event time, or the clock on Tick).
func (e *Engine) checkTrap(lift string, l *liftDetect, p *Policy, now time.Time) {
	cond, why := l.trapCondition()
	a := e.open[akey{lift, TypeEntrapment}]
	if !cond {
		if !l.trapSince.IsZero() {
			l.trapSince = time.Time{}
		}
		if a != nil && a.ConditionActive && !l.faults[telemetry.FaultEntrapment] {
			a.ConditionActive = false
			e.save(a, Event{At: e.now(), Action: "condition_cleared", Actor: "system",
				Note: "the car no longer shows a trapped passenger; the alert stays open until someone on site confirms the passengers are out"})
		}
		return
	}
	if l.trapSince.IsZero() {
		l.trapSince = now
	}
	if now.Sub(l.trapSince) >= p.EntrapmentAfter {
		e.raise(lift, l, TypeEntrapment, telemetry.SeverityCritical, l.trapSince,
			fmt.Sprintf("passenger presumed trapped: %s for %v", why, now.Sub(l.trapSince).Round(time.Second)), true)
	}
}

func (e *Engine) checkMode(lift string, l *liftDetect, p *Policy, at time.Time) {
	if l.mode == telemetry.ModeOutOfService {
		if at.Sub(l.modeSince) >= p.OutOfServiceAfter {
			e.raise(lift, l, TypeOutOfService, telemetry.SeverityMajor, l.modeSince,
				fmt.Sprintf("out of service since %s", l.modeSince.Format(time.RFC3339)), false)
		}
		return
	}
	e.autoResolve(lift, TypeOutOfService, "back in service ("+l.mode.String()+")")
}

func (e *Engine) checkBattery(lift string, l *liftDetect, p *Policy, at time.Time) {
	switch {
	case l.battery >= 0 && l.battery < p.LowBatteryPct:
		e.raise(lift, l, TypeLowBattery, telemetry.SeverityWarning, at, fmt.Sprintf("alarm battery at %d%%", l.battery), false)
	case l.battery >= p.LowBatteryPct+5:
		e.autoResolve(lift, TypeLowBattery, fmt.Sprintf("battery back at %d%%", l.battery))
	}
}

func (e *Engine) fault(m *telemetry.Message, l *liftDetect, p *Policy, at time.Time) {
	code := m.Code
	if l.faults == nil {
		l.faults, l.faultTimes, l.faultAt = map[string]bool{}, map[string][]time.Time{}, map[string]time.Time{}
	}
	// The newest report of a code decides whether it is active; an older one
	// (a backlog, a terminal that reset its counter) is still evidence that
	// the fault happened.
	late := false
	if last, ok := l.faultAt[code]; ok && at.Before(last) {
		late = true
	} else {
		l.faultAt[code] = at
	}
	if late {
		if m.State == telemetry.FaultCleared {
			return
		}
		e.lateFault(m, l, p, at)
		return
	}
	if m.State == telemetry.FaultCleared {
		delete(l.faults, code)
		if code == telemetry.FaultEntrapment {
			return // checkTrap decides whether the condition still holds
		}
		typ := TypeFaultPrefix + code
		if a := e.open[akey{m.Lift, typ}]; a != nil {
			if a.Severity >= telemetry.SeverityCritical {
				if a.ConditionActive {
					a.ConditionActive = false
					e.save(a, Event{At: e.now(), Action: "condition_cleared", Actor: "system",
						Note: "terminal cleared the fault; the lift stays flagged unsafe until a technician resolves the alert"})
				}
			} else {
				e.autoResolve(m.Lift, typ, "terminal cleared the fault")
			}
		}
		return
	}
	l.faults[code] = true
	if code == telemetry.FaultEntrapment {
		e.raise(m.Lift, l, TypeEntrapment, telemetry.SeverityCritical, at, "terminal reports a trapped passenger"+detail(m), false)
		return
	}
	sev := p.severity(code)
	e.raise(m.Lift, l, TypeFaultPrefix+code, sev, at, faultName(code)+detail(m), false)
	e.countRepeat(m.Lift, l, p, code, at)
}

func faultName(code string) string {
	if f, ok := telemetry.LookupFault(code); ok {
		return f.NameEN + " (" + f.NameZH + ")"
	}
	return code
}

// lateFault takes a fault raised before the newest report of its code. A
// trapped passenger or a critical fault is raised whatever its age (people
// must check); another fault counts as a repeat of its open alert, or, if
// it has cleared since, only towards the problem-lift rule. It never changes
// whether the fault is active now.
func (e *Engine) lateFault(m *telemetry.Message, l *liftDetect, p *Policy, at time.Time) {
	code := m.Code
	note := " (reported late: event at " + at.UTC().Format(time.RFC3339) + ")"
	if code == telemetry.FaultEntrapment {
		e.raiseAs(m.Lift, l, TypeEntrapment, telemetry.SeverityCritical, at, "terminal reports a trapped passenger"+detail(m)+note, false, l.faults[code])
		return
	}
	typ, sev := TypeFaultPrefix+code, p.severity(code)
	if sev >= telemetry.SeverityCritical || e.open[akey{m.Lift, typ}] != nil {
		e.raiseAs(m.Lift, l, typ, sev, at, faultName(code)+detail(m)+note, false, l.faults[code])
	}
	e.countRepeat(m.Lift, l, p, code, at)
}

// countRepeat adds an occurrence of code at at: repeats of one code within
// the window make a problem lift.
func (e *Engine) countRepeat(lift string, l *liftDetect, p *Policy, code string, at time.Time) {
	times := l.faultTimes[code]
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
	l.faultTimes[code] = times
	if len(times) >= p.RepeatCount {
		e.raise(lift, l, TypeRepeatPrefix+code, telemetry.SeverityMajor, at,
			fmt.Sprintf("%s %d times within %v: problem lift", code, len(times), p.RepeatWindow), false)
	}
}

func detail(m *telemetry.Message) string {
	var b strings.Builder
	if m.Has&telemetry.FieldFloor != 0 {
		b.WriteString(", floor " + strconv.Itoa(m.Floor))
	}
	if m.Has&telemetry.FieldOccupied != 0 && m.Occupied {
		b.WriteString(", occupied")
	}
	if m.Detail != "" {
		b.WriteString(": " + m.Detail)
	}
	return b.String()
}

// LiftStateChange takes ingest's online/offline transitions. seq orders
// the transitions of one lift, so a late offline cannot undo a newer online.
func (e *Engine) LiftStateChange(lift string, online bool, seq uint64, lastSeen time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lift(lift)
	if seq <= l.stateSeq && seq != 0 {
		return
	}
	l.stateSeq = seq
	l.offline = !online
	if online {
		e.autoResolve(lift, TypeOffline, "terminal traffic returned")
		return
	}
	e.raise(lift, l, TypeOffline, telemetry.SeverityMajor, lastSeen,
		"no message from the terminal since "+lastSeen.UTC().Format(time.RFC3339), false)
}

// ---- raising, suppression, closing ----

func (e *Engine) now() time.Time { return e.cfg.Clock() }

// suppression says why an alert of this type would be suppressed now, "" if
// not. Entrapment and critical alerts never are.
func (e *Engine) suppression(lift string, l *liftDetect, typ string, sev telemetry.Severity) string {
	if typ == TypeEntrapment || sev >= telemetry.SeverityCritical {
		return ""
	}
	if strings.HasPrefix(typ, TypeFaultPrefix) || typ == TypeAlarm {
		if l.mode == telemetry.ModeInspection {
			return "inspection"
		}
		if e.cfg.WorkOrders != nil && e.cfg.WorkOrders.InProgress(lift) {
			return "work_order"
		}
	}
	if l.offline && strings.HasPrefix(typ, TypeFaultPrefix+"door") {
		return "offline"
	}
	now := e.now()
	for i := range e.silences {
		if e.silences[i].matches(lift, l.estate, now) {
			return "silence:" + strconv.FormatInt(e.silences[i].ID, 10)
		}
	}
	return ""
}

// sustained says whether typ is a condition that holds over time (a mode, a
// level, a silence, a derived entrapment) rather than an event: while its
// alert is open and the condition holds, re-evaluating it (on a clock tick
// or on the next status report) is not a repeat.
func sustained(typ string, derived bool) bool {
	switch typ {
	case TypeOutOfService, TypeLowBattery, TypeOffline:
		return true
	case TypeEntrapment:
		return derived
	}
	return false
}

// raise opens an alert of typ for lift, or counts a repeat of the open one.
func (e *Engine) raise(lift string, l *liftDetect, typ string, sev telemetry.Severity, at time.Time, summary string, derived bool) {
	e.raiseAs(lift, l, typ, sev, at, summary, derived, true)
}

// raiseAs is raise for evidence that may be late: holds says whether the
// condition holds now (a late report of a fault that has cleared since
// does not make it active again).
func (e *Engine) raiseAs(lift string, l *liftDetect, typ string, sev telemetry.Severity, at time.Time, summary string, derived, holds bool) {
	now := e.now()
	if a := e.open[akey{lift, typ}]; a != nil {
		if a.ConditionActive && sustained(typ, derived) {
			return // the same condition, re-evaluated: not a repeat
		}
		a.Count++
		if at.After(a.LastSeen) {
			a.LastSeen = at
		}
		ev := Event{At: now, Action: "repeated", Actor: "system", Note: summary}
		if holds && !a.ConditionActive {
			a.ConditionActive = true
			ev.Action = "condition_returned"
		}
		if typ == TypeEntrapment && !derived && a.Derived {
			a.Derived = false
			ev.Note = "terminal confirms: " + summary
		}
		e.save(a, ev)
		return
	}
	f, _ := telemetry.LookupFault(strings.TrimPrefix(typ, TypeFaultPrefix))
	a := &Alert{Lift: lift, Estate: l.estate, Type: typ, Severity: sev, Rescue: typ == TypeEntrapment || f.Rescue,
		Summary: summary, State: StateOpen, ConditionActive: holds, Derived: derived, Count: 1,
		FirstSeen: at, LastSeen: at, OpenedAt: now, Tier: 1, LastNotified: now}
	a.Suppressed = e.suppression(lift, l, typ, sev)
	ev := Event{At: now, Action: "opened", Actor: "system", Note: summary, Tier: 1}
	if a.Suppressed != "" {
		ev.Note += " (suppressed: " + a.Suppressed + ")"
	}
	e.open[akey{lift, typ}] = a
	e.save(a, ev)
}

// autoResolve closes an open non-rescue alert whose condition cleared.
func (e *Engine) autoResolve(lift, typ, why string) {
	a := e.open[akey{lift, typ}]
	if a == nil || a.Rescue {
		return
	}
	now := e.now()
	a.ConditionActive = false
	a.State, a.ResolvedAt, a.ResolvedBy = StateResolved, &now, "system"
	e.save(a, Event{At: now, Action: "resolved", Actor: "system", Note: why})
	e.forget(a)
}

func (e *Engine) forget(a *Alert) {
	delete(e.open, akey{a.Lift, a.Type})
	delete(e.byID, a.ID)
}

// save persists a change and tells the listeners. A store failure is logged
// and the in-memory alert kept: detection and notification must go on; the
// next change of the alert writes it whole again.
func (e *Engine) save(a *Alert, ev Event) {
	a.History = append(a.History, ev)
	if err := e.cfg.Store.SaveAlert(context.Background(), a, []Event{ev}); err != nil {
		e.cfg.Logger.Error("persist alert failed", "lift", a.Lift, "type", a.Type, "err", err)
	} else if a.Open() {
		e.byID[a.ID] = a // a new alert whose first save failed becomes actionable here
	}
	if len(a.History) > 20 { // memory keeps the recent record; the store has all of it
		a.History = append([]Event(nil), a.History[len(a.History)-20:]...)
	}
	snap := *a
	snap.History = nil
	for _, f := range e.listeners {
		f(Change{Alert: &snap, Event: ev})
	}
}

// ---- clocks ----

// Tick runs the clocks at the engine's current time: derived entrapments and
// out-of-service alerts that have waited long enough, escalation of rescue
// alerts, and re-notification of unacknowledged critical alerts. Production
// calls it every second; tests call it after moving a fake clock.
func (e *Engine) Tick() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	ids := make([]string, 0, len(e.timed))
	for id := range e.timed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		l := e.lifts[id]
		p := e.cfg.Policies.For(l.estate)
		if !l.trapSince.IsZero() {
			e.checkTrap(id, l, p, now)
		}
		if l.haveStatus && l.mode == telemetry.ModeOutOfService {
			e.checkMode(id, l, p, now)
		}
		e.track(id, l)
	}
	open := make([]*Alert, 0, len(e.open))
	for _, a := range e.open {
		open = append(open, a)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	for _, a := range open {
		if a.Suppressed != "" {
			continue
		}
		p := e.cfg.Policies.For(a.Estate)
		if a.Rescue {
			if a.Tier < 2 && a.State == StateOpen && now.Sub(a.OpenedAt) >= p.AckWithin {
				e.escalate(a, 2, now, fmt.Sprintf("not acknowledged within %v: escalated to tier 2 (property company, subdistrict duty desk)", p.AckWithin))
			}
			if a.Tier < 3 && stateRank[a.State] < stateRank[StateOnSite] && now.Sub(a.OpenedAt) >= p.OnSiteWithin {
				e.escalate(a, 3, now, fmt.Sprintf("nobody on site within %v: escalated to tier 3 (call emergency services, 110/119)", p.OnSiteWithin))
			}
		}
		if a.Severity >= telemetry.SeverityCritical && a.State == StateOpen && now.Sub(a.LastNotified) >= p.Renotify {
			a.LastNotified = now
			e.save(a, Event{At: now, Action: "renotified", Actor: "system", Tier: a.Tier,
				Note: fmt.Sprintf("still unacknowledged after %v", now.Sub(a.OpenedAt).Round(time.Second))})
		}
	}
}

// escalate raises the alert's tier. The note says whom the escalation is
// being sent to, or that nobody is; delivery outcomes follow as
// "notified"/"notify_failed" events (RecordNotification).
func (e *Engine) escalate(a *Alert, tier int, now time.Time, why string) {
	a.Tier = tier
	a.LastNotified = now
	var to []string
	if e.cfg.Recipients != nil {
		to = e.cfg.Recipients(a)
	}
	if len(to) == 0 {
		why += "; no receiver configured for this tier: nobody was notified"
	} else {
		why += "; sending to " + strings.Join(to, ", ")
	}
	e.save(a, Event{At: now, Action: "escalated", Actor: "system", Tier: tier, Note: why})
}

// Run ticks every interval until ctx ends.
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	return run.Every(ctx, interval, e.Tick)
}

// ---- people's actions ----

// Action is a person's step on an alert.
type Action struct {
	Actor string `json:"actor"`
	Note  string `json:"note"`
	// To is whom a dispatch sends (a technician, a rescue station).
	To string `json:"to"`
	// PassengersReleased confirms on resolving a rescue alert that
	// everyone is out.
	PassengersReleased bool `json:"passengers_released"`
}

func (e *Engine) act(id int64, name string, act Action, f func(a *Alert, now time.Time) (Event, error)) (*Alert, error) {
	if strings.TrimSpace(act.Actor) == "" {
		return nil, &ValidationError{Msg: "actor is required: who is doing this", Field: "actor"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byID[id]
	if a == nil {
		return nil, &NotFoundError{ID: id}
	}
	now := e.now()
	ev, err := f(a, now)
	if err != nil {
		return nil, err
	}
	ev.At, ev.Actor, ev.Action = now, act.Actor, name
	if ev.Note == "" {
		ev.Note = act.Note
	}
	e.save(a, ev)
	out := a.Clone()
	if a.State == StateResolved {
		e.forget(a)
	}
	return out, nil
}

// Acknowledge: someone has taken the alert in hand.
func (e *Engine) Acknowledge(id int64, act Action) (*Alert, error) {
	return e.act(id, "acknowledged", act, func(a *Alert, now time.Time) (Event, error) {
		if a.State != StateOpen {
			return Event{}, &TransitionError{Action: "acknowledge", Current: a.State, Reason: "only an open alert can be acknowledged"}
		}
		a.State, a.AckAt, a.AckBy = StateAcknowledged, &now, act.Actor
		return Event{}, nil
	})
}

// Dispatch sends someone (act.To); it acknowledges an open alert too.
func (e *Engine) Dispatch(id int64, act Action) (*Alert, error) {
	if strings.TrimSpace(act.To) == "" {
		return nil, &ValidationError{Msg: "to is required: whom the dispatch sends", Field: "to"}
	}
	return e.act(id, "dispatched", act, func(a *Alert, now time.Time) (Event, error) {
		if stateRank[a.State] > stateRank[StateDispatched] {
			return Event{}, &TransitionError{Action: "dispatch", Current: a.State, Reason: "someone is already on site or it is resolved"}
		}
		if a.AckAt == nil {
			a.AckAt, a.AckBy = &now, act.Actor
		}
		a.State, a.DispatchedAt, a.DispatchedTo = StateDispatched, &now, act.To
		return Event{Note: strings.TrimSpace("to " + act.To + ". " + act.Note)}, nil
	})
}

// Arrive records someone on site.
func (e *Engine) Arrive(id int64, act Action) (*Alert, error) {
	return e.act(id, "arrived", act, func(a *Alert, now time.Time) (Event, error) {
		if stateRank[a.State] >= stateRank[StateOnSite] {
			return Event{}, &TransitionError{Action: "record arrival on", Current: a.State, Reason: "arrival is already recorded"}
		}
		if a.AckAt == nil {
			a.AckAt, a.AckBy = &now, act.Actor
		}
		a.State, a.OnSiteAt, a.OnSiteBy = StateOnSite, &now, act.Actor
		return Event{}, nil
	})
}

// Resolve closes an alert. A rescue alert needs someone on site and their
// confirmation that the passengers are out.
func (e *Engine) Resolve(id int64, act Action) (*Alert, error) {
	return e.act(id, "resolved", act, func(a *Alert, now time.Time) (Event, error) {
		if a.State == StateResolved {
			return Event{}, &TransitionError{Action: "resolve", Current: a.State, Reason: "it is already resolved"}
		}
		if a.Rescue {
			if a.State != StateOnSite {
				return Event{}, &TransitionError{Action: "resolve", Current: a.State, Reason: "a rescue closes only when someone on site confirms the passengers are out: record the arrival first"}
			}
			if !act.PassengersReleased {
				return Event{}, &ValidationError{Msg: "resolving a rescue needs passengers_released: true and a note of what was done", Field: "passengers_released"}
			}
			if strings.TrimSpace(act.Note) == "" {
				return Event{}, &ValidationError{Msg: "resolving a rescue needs a note of what was done", Field: "note"}
			}
		}
		a.State, a.ResolvedAt, a.ResolvedBy = StateResolved, &now, act.Actor
		return Event{}, nil
	})
}

// Comment adds a note.
func (e *Engine) Comment(id int64, act Action) (*Alert, error) {
	if strings.TrimSpace(act.Note) == "" {
		return nil, &ValidationError{Msg: "note is required", Field: "note"}
	}
	return e.act(id, "comment", act, func(a *Alert, now time.Time) (Event, error) { return Event{}, nil })
}

// Get returns an open alert held in memory.
func (e *Engine) Get(id int64) (*Alert, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.byID[id]
	if a == nil {
		return nil, false
	}
	return a.Clone(), true
}

// Open lists the open alerts, oldest first.
func (e *Engine) Open() []*Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Alert, 0, len(e.open))
	for _, a := range e.open {
		out = append(out, a.Clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ---- silences ----

// AddSilence validates and stores a silence.
func (e *Engine) AddSilence(ctx context.Context, s Silence) (Silence, error) {
	switch {
	case (s.Lift == "") == (s.Estate == ""):
		return s, &ValidationError{Msg: "a silence names either a lift or an estate", Field: "lift"}
	case !s.EndsAt.After(s.StartsAt):
		return s, &ValidationError{Msg: "ends_at must be after starts_at", Field: "ends_at"}
	case strings.TrimSpace(s.Reason) == "" || strings.TrimSpace(s.CreatedBy) == "":
		return s, &ValidationError{Msg: "reason and created_by are required"}
	case s.EndsAt.Sub(s.StartsAt) > 31*24*time.Hour:
		return s, &ValidationError{Msg: "a silence lasts at most 31 days", Field: "ends_at"}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.CreatedAt = e.now()
	if err := e.cfg.Store.SaveSilence(ctx, &s); err != nil {
		return s, fmt.Errorf("save silence: %w", err)
	}
	e.silences = append(e.silences, s)
	return s, nil
}

// DeleteSilence ends a silence.
func (e *Engine) DeleteSilence(ctx context.Context, id int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.silences {
		if e.silences[i].ID == id {
			if err := e.cfg.Store.DeleteSilence(ctx, id); err != nil {
				return fmt.Errorf("delete silence: %w", err)
			}
			e.silences = append(e.silences[:i], e.silences[i+1:]...)
			return nil
		}
	}
	return &NotFoundError{ID: id}
}

// Silences lists the silences.
func (e *Engine) Silences() []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Silence(nil), e.silences...)
}

// LiftAlerts reports a lift's open alerts and whether it is flagged unsafe:
// an open critical fault alert, which only a technician resolving it clears.
func (e *Engine) LiftAlerts(lift string) (open int, unsafe bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, a := range e.open {
		if k.lift != lift {
			continue
		}
		open++
		if a.Severity >= telemetry.SeverityCritical && strings.HasPrefix(a.Type, TypeFaultPrefix) {
			unsafe = true
		}
	}
	return open, unsafe
}
