package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/alerts/inhibit"
	"github.com/liftwatch/liftwatch/alerts/rule"
	"github.com/liftwatch/liftwatch/alerts/silence"
	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/liftstate"
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

// Lifts reads the lifts' live state (a *liftstate.Store, which ingest
// writes): the clock's rules read the car of the lifts they wait on.
type Lifts interface {
	Car(lift string) (liftstate.Car, bool)
}

// Change is one alert change, given to listeners (notifiers, the live
// stream) after it is persisted.
type Change struct {
	Alert *Alert // a snapshot, without history
	Event Event
}

// Silence suppresses notification of non-critical alerts of a lift or an
// estate for a time window (package silence).
type Silence = silence.Silence

// Config configures an Engine.
type Config struct {
	Policies   Policies
	Estates    Estates
	Lifts      Lifts // required
	Store      Store
	WorkOrders WorkOrders
	// Rules are the detections, run in order on every input (nil:
	// rule.Defaults()).
	Rules  []rule.Rule
	Clock  func() time.Time
	Logger *slog.Logger
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
	rules     []rule.Rule
	timers    []rule.Timer
	lifts     map[string]*liftMem
	timed     map[string]bool // lifts a rule waits on with the clock (entrapment countdown, out of service): all Tick visits
	silences  *silence.Set
	listeners []func(Change)
	// renotTried is when a re-notification that reached nobody (no
	// receiver) was last recorded, by alert ID: LastNotified stays at the
	// last real notification, and this paces the record instead.
	renotTried map[int64]time.Time

	// Scratch of the evaluation in progress, under mu.
	in      rule.Input
	inDup   bool // the message is a duplicate ingest handed on (liftstate.Update.Duplicate)
	results []rule.Result
	openFn  func(typ string) (rule.Open, bool)
}

type akey struct{ lift, typ string }

// liftMem is what the engine itself remembers of a lift (the lift's state is
// liftstate's, each rule's memory its own): its estate, and the newest
// online/offline transition it took, so a late offline never undoes a newer
// online.
type liftMem struct {
	estate     string
	transition uint64
	offline    bool
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
	if cfg.Lifts == nil {
		return nil, fmt.Errorf("alerts: the lifts' live state is required")
	}
	if cfg.Rules == nil {
		cfg.Rules = rule.Defaults()
	}
	if err := cfg.Policies.Default.Validate(); err != nil {
		return nil, fmt.Errorf("alerts: default policy: %w", err)
	}
	for e, p := range cfg.Policies.Estates {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("alerts: policy of estate %s: %w", e, err)
		}
	}
	e := &Engine{cfg: cfg, open: map[akey]*Alert{}, byID: map[int64]*Alert{}, lifts: map[string]*liftMem{}, timed: map[string]bool{},
		rules: cfg.Rules, renotTried: map[int64]time.Time{}}
	for _, r := range cfg.Rules {
		if t, ok := r.(rule.Timer); ok {
			e.timers = append(e.timers, t)
		}
	}
	e.openFn = func(typ string) (rule.Open, bool) {
		a := e.open[akey{e.in.Lift, typ}]
		if a == nil {
			return rule.Open{}, false
		}
		return rule.Open{Severity: a.Severity, Rescue: a.Rescue, ConditionActive: a.ConditionActive, Derived: a.Derived}, true
	}
	open, err := cfg.Store.OpenAlerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerts: load open alerts: %w", err)
	}
	for _, a := range open {
		e.open[akey{a.Lift, a.Type}] = a
		e.byID[a.ID] = a
	}
	sil, err := cfg.Store.Silences(ctx)
	if err != nil {
		return nil, fmt.Errorf("alerts: load silences: %w", err)
	}
	e.silences = silence.NewSet(sil)
	cfg.Logger.Info("alert engine loaded", "open_alerts", len(open), "silences", len(sil), "rules", len(cfg.Rules))
	return e, nil
}

// Listen registers a listener for every persisted change. Listeners run
// under the engine's lock and must not block.
func (e *Engine) Listen(f func(Change)) {
	e.mu.Lock()
	e.listeners = append(e.listeners, f)
	e.mu.Unlock()
}

func (e *Engine) lift(id string) *liftMem {
	l := e.lifts[id]
	if l == nil {
		est, _ := e.cfg.Estates(id)
		l = &liftMem{estate: est}
		e.lifts[id] = l
	}
	return l
}

// ---- detection ----

// Consume takes one lift's next message with what applying it to the lift's
// state did (ingest calls it in order per lift, after liftstate.Observe). A
// redelivered fault or alarm (same lift, boot and seq) changes nothing —
// within a run liftstate recognises it (u.Redelivery); after a restart the
// open alert's persisted evidence does, while a duplicate whose change was
// never written (a crash before the outbox wrote it) raises it now; a
// fault or alarm older than what the lift showed raises its alert but never
// undoes newer state (liftstate does not apply it; the rules mark it late).
func (e *Engine) Consume(m *telemetry.Message, u *liftstate.Update) {
	if u.Redelivery {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lift(m.Lift)
	e.in = rule.Input{Trigger: rule.OnMessage, Lift: m.Lift, Msg: m, Late: u.Late, FaultLate: u.FaultLate, Car: &u.Car,
		Now: m.Time(), Policy: e.cfg.Policies.For(l.estate)}
	e.inDup = u.Duplicate
	e.evaluate(l)
	e.inDup = false
	// A rescue resolved while the terminal still reported it left an
	// entrapment_still_reported alert: the car as it is now closes it, or
	// an alarm pressed in the occupied car makes it a rescue again.
	e.stillReported(m.Lift, &u.Car, e.now(), false, m.Kind == telemetry.KindAlarm && !u.Late)
}

// evaluate runs every rule on e.in, in order, acting on each verdict before
// the next rule runs (a later rule sees the alerts an earlier one opened).
func (e *Engine) evaluate(l *liftMem) {
	in := &e.in
	in.Open = e.openFn
	for _, r := range e.rules {
		e.results = r.Eval(in, e.results[:0])
		for i := range e.results {
			res := &e.results[i]
			switch res.Action {
			case rule.Raise:
				e.raise(in.Lift, l, in.Car, res)
			case rule.Clear:
				e.clear(in.Lift, res.Type, res.Summary)
			}
		}
	}
	waiting := false
	for _, t := range e.timers {
		waiting = waiting || t.Waiting(in.Lift, in.Car)
	}
	if waiting {
		e.timed[in.Lift] = true
	} else {
		delete(e.timed, in.Lift)
	}
	e.in = rule.Input{}
}

// LiftStateChange takes ingest's online/offline transitions. seq orders
// the transitions of one lift, so a late offline cannot undo a newer online.
func (e *Engine) LiftStateChange(lift string, online bool, seq uint64, lastSeen time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lift(lift)
	if seq <= l.transition && seq != 0 {
		return
	}
	l.transition = seq
	l.offline = !online
	car, _ := e.cfg.Lifts.Car(lift)
	e.in = rule.Input{Trigger: rule.OnTransition, Lift: lift, Online: online, LastSeen: lastSeen, Car: &car,
		Now: e.now(), Policy: e.cfg.Policies.For(l.estate)}
	e.evaluate(l)
}

// ---- raising, suppression, closing ----

func (e *Engine) now() time.Time { return e.cfg.Clock() }

// suppression says why an alert of this type would be suppressed now, "" if
// not: inhibition by the lift's situation, then silences. Entrapment and
// critical alerts never are.
func (e *Engine) suppression(lift string, l *liftMem, car *liftstate.Car, typ string, sev telemetry.Severity) string {
	if typ == TypeEntrapment || typ == TypeStillReported || sev >= telemetry.SeverityCritical {
		return ""
	}
	il := inhibit.Lift{Car: car, Offline: l.offline}
	if e.cfg.WorkOrders != nil {
		il.WorkOrder = func() bool { return e.cfg.WorkOrders.InProgress(lift) }
	}
	if why := inhibit.Reason(typ, sev, il); why != "" {
		return why
	}
	return e.silences.Reason(lift, l.estate, e.now())
}

// raise opens an alert for a rule's verdict, or counts a repeat of the open
// one. A condition raises once: re-raising a sustained condition whose alert
// is open and active is not a repeat; only new evidence is.
func (e *Engine) raise(lift string, l *liftMem, car *liftstate.Car, r *rule.Result) {
	now := e.now()
	typ, at, holds := r.Type, r.At, !r.Inactive
	key, evidence := e.evidence()
	if a := e.open[akey{lift, typ}]; a != nil {
		if a.ConditionActive && r.Sustained {
			return // the same condition, re-evaluated: not a repeat
		}
		if evidence && a.HasEvidence(key) {
			// Counted already: a redelivery after a restart (the live
			// state's memory of (boot, seq) is gone; the alert's is not).
			return
		}
		if evidence {
			a.addEvidence(key)
		}
		a.Count++
		if at.After(a.LastSeen) {
			a.LastSeen = at
		}
		ev := Event{At: now, Action: "repeated", Actor: "system", Note: r.Summary}
		if holds && !a.ConditionActive {
			a.ConditionActive = true
			ev.Action = "condition_returned"
		}
		if typ == TypeEntrapment && !r.Derived && a.Derived {
			a.Derived = false
			ev.Note = "terminal confirms: " + r.Summary
		}
		e.save(a, ev)
		return
	}
	f, _ := telemetry.LookupFault(strings.TrimPrefix(typ, TypeFaultPrefix))
	a := &Alert{Lift: lift, Estate: l.estate, Type: typ, Severity: r.Severity, Rescue: typ == TypeEntrapment || f.Rescue,
		Summary: r.Summary, State: StateOpen, ConditionActive: holds, Derived: r.Derived, Count: 1,
		FirstSeen: at, LastSeen: at, OpenedAt: now, Tier: 1, LastNotified: now}
	if evidence {
		a.addEvidence(key)
	}
	a.Suppressed = e.suppression(lift, l, car, typ, r.Severity)
	ev := Event{At: now, Action: "opened", Actor: "system", Note: r.Summary, Tier: 1}
	if e.inDup {
		ev.Note += " (from a message delivered again, after a restart or reconnect: no open alert had counted it)"
	}
	if a.Suppressed != "" {
		ev.Note += " (suppressed: " + a.Suppressed + ")"
	}
	e.open[akey{lift, typ}] = a
	e.save(a, ev)
	if typ == TypeEntrapment {
		e.rescueResumed(a, now) // new evidence: the rescue continues in a
	}
}

// evidence is the (boot, seq) of the message being evaluated, if it is a
// fault or alarm (the messages whose redelivery ingest hands on).
func (e *Engine) evidence() (MessageKey, bool) {
	m := e.in.Msg
	if e.in.Trigger != rule.OnMessage || m == nil || m.Kind != telemetry.KindFault && m.Kind != telemetry.KindAlarm {
		return MessageKey{}, false
	}
	return MessageKey{Boot: m.Boot, Seq: m.Seq}, true
}

// clear ends the condition of an open alert: a rescue or critical alert is
// marked inactive (a person closes it), any other is resolved.
func (e *Engine) clear(lift, typ, why string) {
	a := e.open[akey{lift, typ}]
	if a == nil {
		return
	}
	now := e.now()
	if a.Rescue || a.Severity >= telemetry.SeverityCritical {
		if a.ConditionActive {
			a.ConditionActive = false
			e.save(a, Event{At: now, Action: "condition_cleared", Actor: "system", Note: why})
		}
		return
	}
	a.ConditionActive = false
	a.State, a.ResolvedAt, a.ResolvedBy = StateResolved, &now, "system"
	e.save(a, Event{At: now, Action: "resolved", Actor: "system", Note: why})
	e.forget(a)
}

func (e *Engine) forget(a *Alert) {
	delete(e.open, akey{a.Lift, a.Type})
	delete(e.byID, a.ID)
	delete(e.renotTried, a.ID)
}

// save persists a change and tells the listeners. A store failure is logged
// and the in-memory alert kept: detection and notification must go on; the
// next change of the alert writes it whole again.
func (e *Engine) save(a *Alert, ev Event) {
	a.History = append(a.History, ev)
	a.Version++
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

// Tick runs the clocks at the engine's current time: the rules waiting on
// the clock (derived entrapments and out-of-service conditions that have
// lasted long enough), the still-reported conditions' countdown,
// escalation of rescue and critical fault alerts, and re-notification of
// unacknowledged critical alerts. Production calls it every second; tests
// call it after moving a fake clock.
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
		l := e.lift(id)
		car, _ := e.cfg.Lifts.Car(id)
		e.in = rule.Input{Trigger: rule.OnTick, Lift: id, Car: &car, Now: now, Policy: e.cfg.Policies.For(l.estate)}
		e.evaluate(l)
	}
	e.stillReportedTick(now)
	open := make([]*Alert, 0, len(e.open))
	for _, a := range e.open {
		open = append(open, a)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	e.silencesEnded(open, now, "ended")
	for _, a := range open {
		if a.Suppressed != "" {
			continue
		}
		p := e.cfg.Policies.For(a.Estate)
		if a.Rescue {
			if a.Tier < 2 && a.State == StateOpen && now.Sub(a.OpenedAt) >= p.AckWithin {
				e.escalate(a, 2, now, fmt.Sprintf("not acknowledged within %v: escalated to tier 2 (the contractor's supervisor joins the on-call chain)", p.AckWithin))
			}
			if a.Tier < 3 && stateRank[a.State] < stateRank[StateOnSite] && now.Sub(a.OpenedAt) >= p.OnSiteWithin {
				e.escalate(a, 3, now, fmt.Sprintf("nobody on site within %v: escalated to tier 3 (the subdistrict's duty officer joins the on-call chain; call emergency services, 110/119)", p.OnSiteWithin))
			}
		} else if criticalFault(a) {
			e.criticalClocks(a, p, now)
		}
		last := a.LastNotified
		if t := e.renotTried[a.ID]; t.After(last) {
			last = t
		}
		if a.Severity >= telemetry.SeverityCritical && a.State == StateOpen && now.Sub(last) >= p.Renotify {
			e.renotTried[a.ID] = now
			note := fmt.Sprintf("still unacknowledged after %v", now.Sub(a.OpenedAt).Round(time.Second))
			if to := e.recipients(a); len(to) == 0 {
				// Nobody was told: the renotify clock is not reset, so
				// the record never claims a notification that did not
				// happen.
				note += "; no receiver configured for this tier: nobody was notified"
			} else {
				a.LastNotified = now
				note += "; sending to " + strings.Join(to, ", ")
			}
			e.save(a, Event{At: now, Action: "renotified", Actor: "system", Tier: a.Tier, Note: note})
		}
	}
}

// recipients names whom a change of a is sent to at its tier (nil: nobody).
func (e *Engine) recipients(a *Alert) []string {
	if e.cfg.Recipients == nil {
		return nil
	}
	return e.cfg.Recipients(a)
}

// silencesEnded re-evaluates the open alerts suppressed by a silence that no
// longer holds them (deleted, or past its end): one that nothing else
// suppresses goes live and is notified now ("unsilenced", which the
// notifiers send). Its clocks run from now: LastNotified is set, so
// re-notification counts from the moment people were first told. (Tier
// escalation counts from OpenedAt, but it applies only to rescue and
// critical fault alerts, which are never suppressed.) One that something else suppresses now
// records the new reason. how is "ended" or "ended (deleted)".
func (e *Engine) silencesEnded(open []*Alert, now time.Time, how string) {
	for _, a := range open {
		if !strings.HasPrefix(a.Suppressed, "silence:") {
			continue
		}
		l := e.lift(a.Lift)
		id := strings.TrimPrefix(a.Suppressed, "silence:")
		if e.silences.Reason(a.Lift, l.estate, now) == a.Suppressed {
			continue // still silenced by the same silence
		}
		car, _ := e.cfg.Lifts.Car(a.Lift)
		why := e.suppression(a.Lift, l, &car, a.Type, a.Severity)
		if why == a.Suppressed {
			continue
		}
		a.Suppressed = why
		ev := Event{At: now, Action: "unsilenced", Actor: "system", Tier: a.Tier}
		if why != "" {
			ev.Note = fmt.Sprintf("silence %s %s: still suppressed (%s)", id, how, why)
		} else {
			a.LastNotified = now
			ev.Note = fmt.Sprintf("silence %s %s: alert is live", id, how)
		}
		e.save(a, ev)
	}
}

// escalate raises the alert's tier. The note says whom the escalation is
// being sent to, or that nobody is; delivery outcomes follow as
// "notified"/"notify_failed" events (RecordNotification).
func (e *Engine) escalate(a *Alert, tier int, now time.Time, why string) {
	a.Tier = tier
	a.LastNotified = now
	to := e.recipients(a)
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
	// Version, if not 0, is the alert's version the person acted on; an
	// alert that has changed since refuses the action (StaleError).
	Version int64 `json:"version,omitempty"`
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
	if act.Version != 0 && act.Version != a.Version {
		return nil, &StaleError{Want: act.Version, Current: a.Clone()}
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
	if a.State == StateResolved {
		e.settle(a, now)
	}
	out := a.Clone()
	if a.State == StateResolved {
		e.forget(a)
	}
	return out, nil
}

// settle tells the rules that a person resolved a; a rule whose condition
// still holds settles that episode (rule.Settler): it raises no new rescue
// for it. What still holds is recorded on the resolved alert and left open
// as an entrapment_still_reported alert on the lift ("terminal still
// reports a trapped passenger: check on site"), which becomes a rescue
// again if it lasts or new evidence arrives (stillreported.go).
func (e *Engine) settle(a *Alert, now time.Time) {
	car, _ := e.cfg.Lifts.Car(a.Lift)
	var still []string
	for _, r := range e.rules {
		if s, ok := r.(rule.Settler); ok {
			if why := s.Resolved(a.Lift, a.Type, &car); why != "" {
				still = append(still, why)
			}
		}
	}
	if len(still) == 0 {
		return
	}
	s := e.openStillReported(a, strings.Join(still, "; "), now)
	note := fmt.Sprintf("at resolution %s; left open as alert #%d (%s): check on site", strings.Join(still, "; "), s.ID, TypeStillReported)
	e.save(a, Event{At: now, Action: "condition_persists", Actor: "system", Note: note})
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
	if msg, field := s.Invalid(); msg != "" {
		return s, &ValidationError{Msg: msg, Field: field}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.CreatedAt = e.now()
	if err := e.cfg.Store.SaveSilence(ctx, &s); err != nil {
		return s, fmt.Errorf("save silence: %w", err)
	}
	e.silences.Add(s)
	return s, nil
}

// DeleteSilence ends a silence.
func (e *Engine) DeleteSilence(ctx context.Context, id int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.silences.Has(id) {
		return &NotFoundError{ID: id}
	}
	if err := e.cfg.Store.DeleteSilence(ctx, id); err != nil {
		return fmt.Errorf("delete silence: %w", err)
	}
	e.silences.Remove(id)
	open := make([]*Alert, 0, len(e.open))
	for _, a := range e.open {
		open = append(open, a)
	}
	sort.Slice(open, func(i, j int) bool { return open[i].ID < open[j].ID })
	e.silencesEnded(open, e.now(), "ended (deleted)")
	return nil
}

// Now is the engine's clock (reports measure against it).
func (e *Engine) Now() time.Time { return e.now() }

// Silences lists the silences.
func (e *Engine) Silences() []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.silences.List()
}

// LiftAlerts reports a lift's open alerts about how it works (rescues,
// faults, offline: not the supervision notices about its paperwork, which
// say nothing of whether it runs) and whether it is flagged unsafe: an open
// critical fault alert, which only a technician resolving it clears.
func (e *Engine) LiftAlerts(lift string) (open int, unsafe bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, a := range e.open {
		if k.lift != lift || strings.HasPrefix(a.Type, TypeSupervisionPrefix) {
			continue
		}
		open++
		if a.Severity >= telemetry.SeverityCritical && strings.HasPrefix(a.Type, TypeFaultPrefix) {
			unsafe = true
		}
	}
	return open, unsafe
}
