package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// Domain is post-construction management as the API uses it: the three
// services over the store (the same database as everything else), and the
// lifts as the planner sees them. internal/app builds it; the API helper
// takes it from App.Domain.
type Domain struct {
	Maintenance *maintenance.Service
	Trusteeship *trusteeship.Service
	Fund        *fund.Service
	Policies    DomainPolicies
	// Lift is a registered lift as the planner sees it (commissioning
	// date, on-demand choice from its contract today).
	Lift func(ctx context.Context, id string) (maintenance.LiftInfo, bool, error)
}

// Plan is a lift's routine plan now, from the stored visits.
func (d *Domain) Plan(ctx context.Context, lift string) (maintenance.Plan, error) {
	visits, err := d.Maintenance.Store.RoutineHistory(ctx)
	if err != nil {
		return maintenance.Plan{}, err
	}
	l, ok, err := d.Lift(ctx, lift)
	if err != nil {
		return maintenance.Plan{}, err
	}
	if !ok {
		return maintenance.Plan{}, fmt.Errorf("no lift %q in the register", lift)
	}
	return d.Maintenance.Plan(ctx, l, visits[lift])
}

// Supervision event kinds raised besides maintenance's own.
const (
	EventNoContract       = string(trusteeship.NoContract)
	EventContractExpiring = string(trusteeship.ContractExpiring)
	EventLowBalance       = "low_fund_balance"
	EventProblemLift      = "problem_lift"
	// EventCostNotPosted: a signed order's cost could not be posted to its
	// lift's fund (the others are posted all the same).
	EventCostNotPosted = "cost_not_posted"
)

// seedActor is who the first-start seeding is recorded as.
const seedActor = "system:seed"

// maint runs the domain inside serve: the sweep loop, the incident feed
// from the alert engine, the in-progress inhibition and the adapters.
type maint struct {
	Domain
	log      *slog.Logger
	now      func() time.Time
	every    time.Duration
	db       *store.DB
	index    *registry.Index
	state    *liftstate.Store
	engine   *alerts.Engine
	outbox   *alerts.Outbox
	incident chan maintenance.Incident // bounded; the sweep reconciles what it drops
	// inflight is ingest's messages received and not yet acked, subscribed
	// whether the receiver holds its subscription (the sweep yields to a
	// backlog: catchingUp).
	inflight   func() int64
	subscribed func() bool

	mu         sync.Mutex
	inProgress map[string]map[int64]bool // lift → orders in progress
	saved      map[string]store.InspectionSession
	counterDay map[string]string // lift → Shanghai day of its last saved counter snapshot
	lastDaily  civil.Date
	// contractFen is the yearly price of seeded contracts.
	contractFen int64
	dropped     prometheus.Counter
	sweeps      prometheus.Counter
	costsFailed prometheus.Counter
	swept       atomic.Int64 // sweeps done
}

// buildDomain makes the services, seeds trusteeship and the fund's
// households on first start, and hooks maintenance to the alert engine.
func (a *App) buildDomain(ctx context.Context, pol DomainPolicies) error {
	m := &maint{log: a.log.With("component", "maintenance"), now: a.now, every: a.cfg.Maintenance.SweepInterval, db: a.db,
		index: a.index, state: a.ing.State(), inflight: a.ing.Unacked,
		subscribed: func() bool { return a.rcv != nil && a.rcv.Ready() == nil }, engine: a.engine, outbox: a.outbox,
		incident:   make(chan maintenance.Incident, 1024),
		inProgress: map[string]map[int64]bool{}, saved: map[string]store.InspectionSession{}, counterDay: map[string]string{}, contractFen: a.cfg.Maintenance.ContractFen}
	m.Policies = pol
	m.Trusteeship = trusteeship.NewService(a.db.Trusteeship(), a.now, pol.Trusteeship)
	m.Fund = fund.NewService(a.db.Fund(), a.now, pol.Fund)
	m.Fund.CheckSources(fundSources{m})
	m.Fund.CheckDates(func(lift string) (civil.Date, bool) {
		l, ok := a.index.Get(lift)
		if !ok || l.InstallDate == "" {
			return civil.Date{}, false
		}
		d, err := civil.Parse(l.InstallDate)
		return d, err == nil
	})
	m.Maintenance = &maintenance.Service{Store: a.db.Maintenance(), Contractors: m, Usage: m, Qual: m, Sessions: m, Sink: m, Callouts: m,
		Policies: pol.Maintenance, Now: a.now, Log: m.log, Changed: m.changed}
	m.Lift = m.liftInfo
	m.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_maintenance_incidents_deferred_total",
		Help: "Incidents the alert engine raised while the maintenance feed was full: their corrective orders come from the next sweep."})
	m.sweeps = prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_maintenance_sweeps_total", Help: "Maintenance sweeps run."})
	m.costsFailed = prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_fund_cost_postings_failed_total",
		Help: "Signed work orders whose cost a sweep could not post to the lift's fund (each also a cost_not_posted supervision notice); the other orders are posted all the same."})
	a.prom.MustRegister(m.dropped, m.sweeps, m.costsFailed)
	if err := m.seed(ctx); err != nil {
		return err
	}
	if err := m.loadInProgress(ctx); err != nil {
		return err
	}
	if !a.cfg.Maintenance.Disable {
		a.engine.Listen(m.onAlert)
	}
	a.maint = m
	return nil
}

// Domain is the post-construction management services (nil before New).
func (a *App) Domain() *Domain {
	if a.maint == nil {
		return nil
	}
	return &a.maint.Domain
}

// seed gives every registered lift without history its manager and
// contract from the register (trusteeship.Service.Seed), and every lift
// without households the default stepped ones (seedHouseholds).
func (m *maint) seed(ctx context.Context) error {
	lifts := m.index.Lifts()
	n, err := m.Trusteeship.Seed(ctx, seedActor, lifts, civil.Of(m.now()), m.contractFen)
	if err != nil {
		return fmt.Errorf("seed trusteeship: %w", err)
	}
	h := 0
	for _, l := range lifts {
		have, err := m.Fund.Households(ctx, l.ID)
		if err != nil {
			return fmt.Errorf("seed households: %w", err)
		}
		if len(have) > 0 {
			continue
		}
		if err := m.Fund.SaveHouseholds(ctx, seedActor, SeedHouseholds(l)); err != nil {
			return fmt.Errorf("seed households of %s: %w", l.ID, err)
		}
		h++
	}
	if n > 0 || h > 0 {
		m.log.Info("seeded from the register", "trusteeship_lifts", n, "household_lifts", h)
	}
	return nil
}

// SeedHouseholds are the default owners of a lift: two flats a floor
// ("<floor>01", "<floor>02") on every landing that is not a half-landing,
// sharing by fund.DefaultShare (ground floor 0, then 10, +3 a floor).
func SeedHouseholds(l registry.Lift) []fund.Household {
	half := map[int]bool{}
	for _, h := range l.HalfLandings {
		half[h] = true
	}
	var out []fund.Household
	floor := 0
	for landing := 1; landing <= l.Landings; landing++ {
		if half[landing] {
			continue
		}
		floor++
		for _, flat := range []string{"01", "02"} {
			out = append(out, fund.Household{Lift: l.ID, Unit: strconv.Itoa(floor) + flat, Floor: floor, Share: fund.DefaultShare(floor)})
		}
	}
	return out
}

// ---- adapters: what maintenance reads from the rest ----

// ContractorOf is the contractor of the lift's contract on at's day.
func (m *maint) ContractorOf(ctx context.Context, lift string, at time.Time) (string, error) {
	c, err := m.Trusteeship.ContractOn(ctx, lift, civil.Of(at))
	if err != nil || c == nil {
		return "", err
	}
	return c.Contractor, nil
}

// Qualification: monitoring online (the live state: the terminal reports
// and has not gone silent), insured and contractor in good standing (the
// contract on the day says so: trusteeship refuses an on-demand contract
// without both; the manager's kind is not taken as insurance).
func (m *maint) Qualification(ctx context.Context, lift string, at time.Time) (maintenance.Qualification, error) {
	var q maintenance.Qualification
	if l, ok := m.state.Get(lift); ok {
		q.MonitoringOnline = l.Online
	}
	c, err := m.Trusteeship.ContractOn(ctx, lift, civil.Of(at))
	if err != nil || c == nil {
		return q, err
	}
	q.Insured, q.ContractorGood = c.Insured, c.GoodStanding
	return q, nil
}

// Usage is a lift's daily means over its estate's usage window, from the
// stored counter snapshots (one a day, kept across restarts) and the live
// counters, and its health from the alerts of the last 90 days
// (docs/maintenance.md, "Usage and health").
func (m *maint) Usage(ctx context.Context, lift string, at time.Time) (maintenance.Usage, error) {
	est, _ := m.index.Estate(lift)
	from := at.AddDate(0, 0, -m.Policies.Maintenance.For(est).OnDemand.UsageWindowDays)
	snaps, err := m.db.Counters().Since(ctx, lift, from)
	if err != nil {
		return maintenance.Usage{}, err
	}
	var pts []liftstate.Counters
	for _, c := range snaps {
		if !c.At.After(at) {
			pts = append(pts, liftstate.Counters{Trips: c.Trips, DoorCycles: c.DoorCycles, RunS: c.RunS, At: c.At})
		}
	}
	if l, ok := m.state.Get(lift); ok && !l.Counters.At.Before(from) && !l.Counters.At.After(at) &&
		(len(pts) == 0 || l.Counters.At.After(pts[len(pts)-1].At)) {
		pts = append(pts, l.Counters)
	}
	u := dailyMeans(pts)
	list, err := syncedRecords{m.db.Alerts(), m.outbox}.List(ctx, store.AlertFilter{Lift: lift, Since: at.AddDate(0, 0, -90), Until: at})
	if err != nil {
		return u, fmt.Errorf("alerts of %s: %w", lift, err)
	}
	for _, a := range list {
		switch {
		case a.Type == alerts.TypeEntrapment:
			u.Entrapments90++
		case strings.HasPrefix(a.Type, alerts.TypeSupervisionPrefix):
			continue // about the paperwork, not the lift
		case strings.HasPrefix(a.Type, alerts.TypeFaultPrefix):
			u.Faults90++
		case a.Type == alerts.TypeAlarm:
			u.Alarms90++
		}
		if a.DispatchedAt != nil && a.Type != alerts.TypeEntrapment {
			u.Callouts90++ // an entrapment's rescue counts as the entrapment
		}
	}
	return u, nil
}

// dailyMeans are the daily means of counter readings, oldest first: the
// increases between consecutive readings (a counter that went backwards, a
// replaced terminal, adds nothing for that step) over the days from the
// first reading to the last.
func dailyMeans(pts []liftstate.Counters) maintenance.Usage {
	var u maintenance.Usage
	if len(pts) < 2 {
		return u
	}
	var trips, doors, runS int64
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1], pts[i]
		trips += max(0, b.Trips-a.Trips)
		doors += max(0, b.DoorCycles-a.DoorCycles)
		runS += max(0, b.RunS-a.RunS)
	}
	u.Days = pts[len(pts)-1].At.Sub(pts[0].At).Hours() / 24
	if u.Days <= 0 {
		return maintenance.Usage{}
	}
	u.TripsPerDay, u.DoorCyclesPerDay, u.RunHoursPerDay = float64(trips)/u.Days, float64(doors)/u.Days, float64(runS)/3600/u.Days
	return u
}

// InspectionSessions are the stored sessions and those the live state holds
// now (a session still running counts up to the lift's newest message).
func (m *maint) InspectionSessions(ctx context.Context, lift string, from, to time.Time) ([]maintenance.Session, error) {
	stored, err := m.db.Inspections().Sessions(ctx, lift, from, to)
	if err != nil {
		return nil, err
	}
	out := store.AsMaintenance(stored)
	if l, ok := m.state.Get(lift); ok {
		for _, s := range liveSessions(l) {
			if s.Start.Before(to) && s.End.After(from) {
				out = append(out, maintenance.Session{Start: s.Start, End: s.End})
			}
		}
	}
	return out, nil
}

// liveSessions are a lift's sessions in the live state; one still running
// lasts until the lift's newest event.
func liveSessions(l liftstate.Lift) []store.InspectionSession {
	out := make([]store.InspectionSession, 0, len(l.Inspections))
	for _, s := range l.Inspections {
		is := store.InspectionSession{Lift: l.Lift, Start: s.Start, End: s.End, Ended: !s.End.IsZero()}
		if !is.Ended {
			is.End = l.Car.At
			if l.Car.Mode != telemetry.ModeInspection || is.End.Before(is.Start) {
				is.End = is.Start
			}
		}
		out = append(out, is)
	}
	return out
}

// Callouts are the alerts someone was sent to (dispatched) and every
// entrapment (a rescue call-out), opened in [from, to); arrival is from
// dispatch to on site.
func (m *maint) Callouts(ctx context.Context, from, to time.Time) ([]maintenance.Callout, error) {
	list, err := syncedRecords{m.db.Alerts(), m.outbox}.List(ctx, store.AlertFilter{Since: from, Until: to})
	if err != nil {
		return nil, err
	}
	var out []maintenance.Callout
	for _, a := range list {
		if a.DispatchedAt == nil && a.Type != alerts.TypeEntrapment {
			continue
		}
		c := maintenance.Callout{Lift: a.Lift, At: a.OpenedAt}
		if a.DispatchedAt != nil && a.OnSiteAt != nil {
			c.Arrival = a.OnSiteAt.Sub(*a.DispatchedAt)
		}
		if c.Contractor, err = m.ContractorOf(ctx, a.Lift, a.OpenedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Supervise hands a supervision event to the alert engine, addressed to
// the lift's manager on the event's day, and waits until the alert change
// is written (the event is marked delivered only after that).
func (m *maint) Supervise(ctx context.Context, ev maintenance.SupervisionEvent) error {
	mgr, err := m.Trusteeship.ManagerOn(ctx, ev.Lift, civil.Of(ev.At))
	if err != nil {
		return err
	}
	s := alerts.Supervision{Key: ev.Key, Kind: ev.Kind, Lift: ev.Lift, Summary: ev.Summary}
	if mgr != nil {
		s.Manager = mgr.Name
	}
	if _, _, err := m.engine.Supervise(s); err != nil {
		return err
	}
	return m.outbox.Sync(ctx)
}

// ---- the in-progress inhibition ----

// changed keeps the set of orders in progress (maintenance.Service.Changed).
func (m *maint) changed(w *maintenance.WorkOrder) {
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.inProgress[w.Lift]
	if w.State == maintenance.StateInProgress {
		if set == nil {
			set = map[int64]bool{}
			m.inProgress[w.Lift] = set
		}
		set[w.ID] = true
		return
	}
	delete(set, w.ID)
	if len(set) == 0 {
		delete(m.inProgress, w.Lift)
	}
}

// InProgress says whether lift has maintenance work in progress (the alert
// engine asks, under its lock: a map look-up).
func (m *maint) InProgress(lift string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.inProgress[lift]) > 0
}

func (m *maint) loadInProgress(ctx context.Context) error {
	ws, err := m.db.Maintenance().WorkOrders(ctx, maintenance.Filter{States: []maintenance.State{maintenance.StateInProgress}})
	if err != nil {
		return fmt.Errorf("work orders in progress: %w", err)
	}
	m.mu.Lock()
	m.inProgress = map[string]map[int64]bool{}
	m.mu.Unlock()
	for _, w := range ws {
		m.changed(w)
	}
	return nil
}

// ---- incidents ----

// incidentOf says which alerts call for a corrective order: an
// entrapment, a critical fault, a problem lift.
func incidentOf(a *alerts.Alert) (maintenance.IncidentKind, bool) {
	switch {
	case a.Type == alerts.TypeEntrapment:
		return maintenance.IncidentEntrapment, true
	case a.Type == alerts.TypeSupervisionPrefix+EventProblemLift:
		return maintenance.IncidentProblemLift, true
	case a.Severity >= telemetry.SeverityCritical && len(a.Type) > len(alerts.TypeFaultPrefix) && a.Type[:len(alerts.TypeFaultPrefix)] == alerts.TypeFaultPrefix:
		return maintenance.IncidentCriticalFault, true
	}
	return "", false
}

func incident(a *alerts.Alert, k maintenance.IncidentKind) maintenance.Incident {
	at := a.FirstSeen
	if at.IsZero() {
		at = a.OpenedAt
	}
	return maintenance.Incident{ID: strconv.FormatInt(a.ID, 10), Kind: k, Lift: a.Lift, Estate: a.Estate, At: at, Summary: a.Summary}
}

// onAlert is the engine listener (under the engine's lock: it never
// blocks): an alert opened that calls for a corrective order is queued;
// when the queue is full the next sweep finds it (reconcileIncidents).
func (m *maint) onAlert(c alerts.Change) {
	if c.Event.Action != "opened" {
		return
	}
	k, ok := incidentOf(c.Alert)
	if !ok {
		return
	}
	select {
	case m.incident <- incident(c.Alert, k):
	default:
		m.dropped.Inc()
	}
}

// IncidentLookback is how far back each sweep looks for alerts whose
// corrective order is missing (the feed was full, or the service stopped
// between the alert and the order).
const IncidentLookback = 7 * 24 * time.Hour

// reconcileIncidents creates the corrective orders of recent incident
// alerts (idempotent: one need key per alert).
func (m *maint) reconcileIncidents(ctx context.Context, now time.Time) error {
	list, err := syncedRecords{m.db.Alerts(), m.outbox}.List(ctx, store.AlertFilter{Since: now.Add(-IncidentLookback)})
	if err != nil {
		return fmt.Errorf("incident alerts: %w", err)
	}
	for _, a := range list {
		if k, ok := incidentOf(a); ok {
			if _, _, err := m.Maintenance.OnIncident(ctx, incident(a, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// ---- the loop ----

// run is the maintenance part of the run group: a sweep at start and then
// every SweepInterval of the service's clock (checked each second, so a
// fake clock moved forward sweeps at once), the daily checks when the
// Shanghai day changes, and the incident feed between sweeps. At the end
// it saves the inspection sessions once more.
func (m *maint) run(ctx context.Context) error {
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.saveSessions(sctx); err != nil {
			m.log.Error("inspection sessions not saved at shutdown", "err", err)
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var next, dueSince time.Time
	first := true
	for {
		if now := m.now(); !now.Before(next) {
			if dueSince.IsZero() {
				dueSince = time.Now()
			}
			if !m.catchingUp(first) || time.Since(dueSince) >= MaxYield {
				if err := m.Sweep(ctx); err != nil && ctx.Err() == nil {
					m.log.Error("maintenance sweep failed; retried at the next", "err", err)
				}
				next, dueSince, first = now.Add(m.every), time.Time{}, false
			}
		}
		var poll <-chan time.Time // a sweep yielding looks again soon
		if !dueSince.IsZero() {
			poll = time.After(yieldPoll)
		}
		select {
		case <-ctx.Done():
			return nil
		case inc := <-m.incident:
			if _, _, err := m.Maintenance.OnIncident(ctx, inc); err != nil && ctx.Err() == nil {
				m.log.Error("corrective work order not created; the next sweep retries", "alert", inc.ID, "err", err)
			}
		case <-poll:
		case <-tick.C:
		}
	}
}

// YieldInflight and MaxYield: a sweep that falls due while ingest has more
// than YieldInflight messages in flight (a broker backlog draining: at live
// rates a few) waits for it, checking each second, for at most MaxYield of
// wall time (looking every 50 ms). The first sweep also waits for the subscription, so that a
// backlog the broker kept during a restart goes first. Ingest acks only
// after the history write, and on SQLite the sweep shares that writer's
// connection; the sweep's work is days ahead of its due dates.
const (
	YieldInflight = 100
	MaxYield      = time.Minute
	yieldPoll     = 50 * time.Millisecond // how often a yielding sweep looks
)

// catchingUp says whether ingest is draining a backlog (or, before the
// first sweep, not subscribed yet).
func (m *maint) catchingUp(first bool) bool {
	if first && !m.subscribed() {
		return true
	}
	return m.inflight() > YieldInflight
}

// Sweep is one round: save inspection sessions, meter triggers from the
// live counters, missing corrective orders, problem lifts, the plan sweep
// (orders, overdue, supervision delivery), the daily trusteeship and fund
// checks, and clearing supervision alerts whose situation has ended.
func (m *maint) Sweep(ctx context.Context) error {
	now := m.now()
	defer func() { m.sweeps.Inc(); m.swept.Add(1) }() // counted when done (tests wait for it)
	var errs []error
	if err := m.saveSessions(ctx); err != nil {
		errs = append(errs, err)
	}
	var snaps []store.CounterDay
	for _, l := range m.state.List() {
		c := maintenance.Counters{Trips: l.Counters.Trips, DoorCycles: l.Counters.DoorCycles, RunHours: float64(l.Counters.RunS) / 3600}
		if _, err := m.Maintenance.OnCounters(ctx, l.Lift, l.Estate, c); err != nil {
			errs = append(errs, err)
			break
		}
		if at := l.Counters.At; !at.IsZero() {
			if day := civil.Of(at).String(); m.counterDay[l.Lift] != day {
				snaps = append(snaps, store.CounterDay{Lift: l.Lift, Day: day, At: at,
					Trips: l.Counters.Trips, DoorCycles: l.Counters.DoorCycles, RunS: l.Counters.RunS})
			}
		}
	}
	if err := m.db.Counters().SaveFirst(ctx, snaps); err != nil {
		errs = append(errs, err)
	} else {
		for _, c := range snaps {
			m.counterDay[c.Lift] = c.Day
		}
	}
	if err := m.reconcileIncidents(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := m.problemLifts(ctx, now); err != nil {
		errs = append(errs, err)
	}
	infos, err := m.liftInfos(ctx, now)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	res, err := m.Maintenance.Sweep(ctx, infos)
	if err != nil {
		errs = append(errs, err)
	} else if res.Deliveries != nil {
		errs = append(errs, res.Deliveries)
	}
	if d := civil.Of(now); d != m.lastDaily {
		if err := m.daily(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			m.lastDaily = d
		}
	}
	if err := m.clearOverdue(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := m.workOrderCosts(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := m.loadInProgress(ctx); err != nil {
		errs = append(errs, err)
	}
	m.log.Debug("maintenance sweep", "created", res.Created, "assigned", res.Assigned, "events", res.Events, "overdue", res.Overdue)
	return errors.Join(errs...)
}

// saveSessions stores the live state's inspection sessions that are new or
// changed since the last save.
func (m *maint) saveSessions(ctx context.Context) error {
	var changed []store.InspectionSession
	for _, l := range m.state.List() {
		for _, s := range liveSessions(l) {
			k := l.Lift + "@" + strconv.FormatInt(s.Start.UnixMilli(), 10)
			if prev, ok := m.saved[k]; ok && prev == s {
				continue
			}
			changed = append(changed, s)
		}
	}
	if err := m.db.Inspections().Save(ctx, changed); err != nil {
		return err
	}
	for _, s := range changed {
		m.saved[s.Lift+"@"+strconv.FormatInt(s.Start.UnixMilli(), 10)] = s
	}
	return nil
}

// liftInfo is a registered lift as the planner sees it on now's day.
func (m *maint) liftInfo(ctx context.Context, id string) (maintenance.LiftInfo, bool, error) {
	l, ok := m.index.Get(id)
	if !ok {
		return maintenance.LiftInfo{}, false, nil
	}
	info := maintenance.LiftInfo{ID: l.ID, Estate: l.Estate}
	if d, err := time.ParseInLocation(time.DateOnly, l.InstallDate, maintenance.Shanghai); err == nil {
		info.Commissioned = maintenance.DayOf(d)
	}
	if d, err := time.ParseInLocation(time.DateOnly, l.CertExpiry, maintenance.Shanghai); err == nil {
		info.CertExpiry = maintenance.DayOf(d)
	}
	c, err := m.Trusteeship.ContractOn(ctx, id, civil.Of(m.now()))
	if err != nil {
		return info, true, err
	}
	info.OnDemand = c != nil && c.Mode == trusteeship.OnDemand
	return info, true, nil
}

func (m *maint) liftInfos(ctx context.Context, now time.Time) ([]maintenance.LiftInfo, error) {
	out := make([]maintenance.LiftInfo, 0, m.index.Len())
	for _, l := range m.index.Lifts() {
		info, _, err := m.liftInfo(ctx, l.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// problemLifts raises a problem_lift supervision alert for every lift with
// more than its estate's ProblemLiftCallouts call-outs in the 12 months up
// to now (the alert rules detect repeated faults, not call-outs); the
// alert's corrective order follows from its incident. The key is per
// month: a lift that stays a problem counts one repeat a month.
func (m *maint) problemLifts(ctx context.Context, now time.Time) error {
	cs, err := m.Callouts(ctx, now.AddDate(-1, 0, 0), now)
	if err != nil {
		return err
	}
	per := map[string]int{}
	for _, c := range cs {
		per[c.Lift]++
	}
	for lift, n := range per {
		est, _ := m.index.Estate(lift)
		limit := m.Policies.Maintenance.For(est).ProblemLiftCallouts
		if n <= limit {
			continue
		}
		ev := maintenance.SupervisionEvent{Key: fmt.Sprintf("%s/%s/%s", EventProblemLift, lift, now.In(maintenance.Shanghai).Format("2006-01")),
			Kind: EventProblemLift, Lift: lift, Estate: est, At: now,
			Summary: fmt.Sprintf("problem lift: %d call-outs in the last 12 months (more than %d)", n, limit)}
		if _, err := m.db.Maintenance().RecordEvent(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// daily runs trusteeship's Evaluate and the fund's CheckBalances for every
// lift, records their findings as supervision events (keys below) and
// clears the alerts of lifts whose finding has gone.
//
//	contract_expiring/<lift>/<last covered day>   one per cover end
//	no_valid_contract/<lift>/<YYYY-MM>           a repeat a month while it lasts
//	low_fund_balance/<lift>/<YYYY-MM>            likewise
func (m *maint) daily(ctx context.Context, now time.Time) error {
	lifts := m.index.Lifts()
	trefs := make([]trusteeship.LiftRef, len(lifts))
	frefs := make([]fund.LiftRef, len(lifts))
	for i, l := range lifts {
		trefs[i], frefs[i] = trusteeship.LiftRef{ID: l.ID, Estate: l.Estate}, fund.LiftRef{ID: l.ID, Estate: l.Estate}
	}
	month := now.In(maintenance.Shanghai).Format("2006-01")
	found := map[string]map[string]bool{EventNoContract: {}, EventContractExpiring: {}, EventLowBalance: {}}
	findings, err := m.Trusteeship.Evaluate(ctx, now, trefs, nil)
	if err != nil {
		return fmt.Errorf("trusteeship evaluation: %w", err)
	}
	for _, f := range findings {
		ev := maintenance.SupervisionEvent{Kind: string(f.Kind), Lift: f.Lift, Estate: f.Estate, At: now}
		switch f.Kind {
		case trusteeship.NoContract:
			ev.Key = fmt.Sprintf("%s/%s/%s", f.Kind, f.Lift, month)
			ev.Summary = "no valid maintenance contract on " + f.On.String()
		default:
			ev.Key = fmt.Sprintf("%s/%s/%s", f.Kind, f.Lift, f.CoveredUntil)
			ev.Summary = fmt.Sprintf("maintenance cover ends %s (%d days left)", f.CoveredUntil, f.DaysLeft)
			if f.Contract != nil {
				ev.Contractor = f.Contract.Contractor
				ev.Summary += ": contract with " + f.Contract.Contractor
			}
		}
		found[string(f.Kind)][f.Lift] = true
		if _, err := m.db.Maintenance().RecordEvent(ctx, ev); err != nil {
			return err
		}
	}
	notices, err := m.Fund.CheckBalances(ctx, now, frefs, nil)
	if err != nil {
		return fmt.Errorf("fund balances: %w", err)
	}
	for _, n := range notices {
		found[EventLowBalance][n.Lift] = true
		if _, err := m.db.Maintenance().RecordEvent(ctx, maintenance.SupervisionEvent{
			Key: fmt.Sprintf("%s/%s/%s", EventLowBalance, n.Lift, month), Kind: EventLowBalance, Lift: n.Lift, Estate: n.Estate, At: now,
			Summary: fmt.Sprintf("fund balance %s yuan is below %d months of expected cost (%s yuan)", fund.FormatYuan(n.BalanceFen), n.Months,
				fund.FormatYuan(n.ThresholdFen))}); err != nil {
			return err
		}
	}
	if _, err := m.Maintenance.Deliver(ctx); err != nil {
		return err
	}
	for kind, lifts := range found {
		for _, a := range m.engine.OpenSupervision(kind) {
			if !lifts[a.Lift] {
				m.engine.ClearSupervision(a.Lift, kind, "no longer found on "+civil.Of(now).String())
			}
		}
	}
	return nil
}

// clearOverdue resolves the overdue alert of every lift with no overdue
// order left.
func (m *maint) clearOverdue(ctx context.Context, now time.Time) error {
	open := m.engine.OpenSupervision(maintenance.EventOverdue)
	if len(open) == 0 {
		return nil
	}
	ws, err := m.db.Maintenance().WorkOrders(ctx, maintenance.Filter{Open: true})
	if err != nil {
		return err
	}
	overdue := map[string]bool{}
	for _, w := range ws {
		if w.Overdue(now) {
			overdue[w.Lift] = true
		}
	}
	for _, a := range open {
		if !overdue[a.Lift] {
			m.engine.ClearSupervision(a.Lift, maintenance.EventOverdue, "no overdue work order left")
		}
	}
	return nil
}

// costWindow bounds the orders whose costs a sweep posts: signed orders due
// in the last 30 days or later (a visit is signed near its due date; an
// order signed later than that is posted by hand).
const costWindow = 30 * 24 * time.Hour

// workOrderCosts posts the parts and labour of every signed order (completed,
// unverified or verified) as an expense of its lift's fund, dated the day it
// was signed, as the demo's history does ("who benefits pays"). Posting is
// idempotent on the order number, so every sweep may try again; a lift with
// no households yet is skipped and tried again next sweep.
func (m *maint) workOrderCosts(ctx context.Context, now time.Time) error {
	ws, err := m.Maintenance.Store.WorkOrders(ctx, maintenance.Filter{DueFrom: now.Add(-costWindow), States: []maintenance.State{
		maintenance.StateCompleted, maintenance.StateUnverified, maintenance.StateVerified}})
	if err != nil {
		return fmt.Errorf("signed work orders: %w", err)
	}
	failed := 0
	for _, w := range ws {
		fen := w.PartsFen + w.LabourFen
		if fen <= 0 || w.CompletedAt == nil {
			continue
		}
		_, err := m.Fund.PostExpenseOn(ctx, "system:maintenance", fund.ExpenseInput{Lift: w.Lift,
			Ref:       fund.SourceRef{Category: fund.CatWorkOrder, ID: strconv.FormatInt(w.ID, 10)},
			AmountFen: fen, Date: civil.Of(*w.CompletedAt), BankRef: strconv.FormatInt(w.ID, 10),
			Reason: fmt.Sprintf("work order %d (%s): parts %s, labour %s yuan", w.ID, w.Kind, fund.FormatYuan(w.PartsFen), fund.FormatYuan(w.LabourFen))})
		if errors.Is(err, fund.ErrNoShares) {
			m.log.Warn("work order cost not posted: the lift's fund has no households", "order", w.ID, "lift", w.Lift)
			continue
		}
		if err != nil {
			// One order that cannot be posted must not stop the others: it
			// is reported (a supervision notice to the lift's manager, a
			// metric, the log) and tried again next sweep.
			failed++
			m.costsFailed.Inc()
			m.log.Warn("work order cost not posted", "order", w.ID, "lift", w.Lift, "err", err)
			if _, rerr := m.db.Maintenance().RecordEvent(ctx, maintenance.SupervisionEvent{
				Key: fmt.Sprintf("%s/%d", EventCostNotPosted, w.ID), Kind: EventCostNotPosted, Lift: w.Lift, Estate: w.Estate,
				WorkOrder: w.ID, At: now,
				Summary: fmt.Sprintf("the cost of work order %d (%s yuan) could not be posted to the lift's fund: %v", w.ID, fund.FormatYuan(fen), err)}); rerr != nil {
				return fmt.Errorf("record that work order %d's cost was not posted: %w", w.ID, rerr)
			}
		}
	}
	if failed > 0 {
		if _, err := m.Maintenance.Deliver(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fundSources checks the fund's source references against what they name:
// a work order's cost may be posted only on that order's own lift.
type fundSources struct{ m *maint }

func (f fundSources) Check(ctx context.Context, lift string, ref fund.SourceRef, amountFen int64) error {
	if ref.Category != fund.CatWorkOrder {
		return nil
	}
	unknown := fmt.Errorf("%w: source_id: no work_order %s of lift %s", fund.ErrInvalid, ref.ID, lift)
	id, err := strconv.ParseInt(ref.ID, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != ref.ID {
		return unknown
	}
	w, err := f.m.Maintenance.Store.WorkOrder(ctx, id)
	var nf *maintenance.NotFoundError
	if errors.As(err, &nf) {
		return unknown
	}
	if err != nil {
		return fmt.Errorf("check source %s: %w", ref, err)
	}
	if w.Lift != lift {
		return unknown
	}
	// A work order's cost is what was signed for it: nobody posts it
	// before (taking the reference from the sweep) or at another amount.
	if w.State != maintenance.StateCompleted && w.State != maintenance.StateUnverified && w.State != maintenance.StateVerified {
		return fmt.Errorf("%w: source_id: work_order %s of lift %s is not signed yet (%s): its cost is posted when it is", fund.ErrInvalid, ref.ID, lift, w.State)
	}
	if cost := w.PartsFen + w.LabourFen; amountFen != cost {
		return fmt.Errorf("%w: amount_fen: work_order %s was signed for %d fen (parts and labour), not %d", fund.ErrInvalid, ref.ID, cost, amountFen)
	}
	return nil
}
