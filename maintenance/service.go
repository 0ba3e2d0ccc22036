package maintenance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// LiftInfo is what the planner needs to know about one lift.
type LiftInfo struct {
	ID     string
	Estate string
	// Commissioned is the hand-over date: the baseline of every level
	// until a visit of that level is done.
	Commissioned Day
	OnDemand     bool // the manager chose on-demand maintenance
	// CertExpiry is the periodic inspection certificate's expiry date
	// (0: unknown, no inspection planning).
	CertExpiry Day
}

// Service plans maintenance and runs work orders. Every field but Usage,
// Qual, Sessions, Callouts and Log is required.
type Service struct {
	Store       Store
	Contractors ContractorSource
	Usage       UsageSource         // nil: zero usage (on-demand lifts get the ceiling)
	Qual        QualificationSource // nil: nobody qualifies for on-demand
	Sessions    SessionSource       // nil: no routine visit is ever proven
	Sink        SupervisionSink
	Callouts    CalloutSource // nil: no call-out figures in compliance reports
	Policies    Policies
	Now         func() time.Time
	Log         *slog.Logger
	// Changed, if set, is told of every order created or moved to a new
	// state, after it is stored (the service keeps the alert engine's
	// "work in progress" inhibition current with it). It must not block.
	Changed func(w *WorkOrder)

	mu       sync.Mutex
	latch    map[string]int64 // lift/component → last meter cycle ordered
	recorded map[string]bool  // overdue event keys stored by this process
}

func (s *Service) wasRecorded(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorded[key]
}

func (s *Service) markRecorded(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recorded == nil {
		s.recorded = map[string]bool{}
	}
	s.recorded[key] = true
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Plan computes a lift's routine plan from the stored history.
func (s *Service) Plan(ctx context.Context, l LiftInfo, visits []Visit) (Plan, error) {
	in := PlanInput{Last: LastByLevel(visits), Baseline: l.Commissioned, WantOnDemand: l.OnDemand}
	if l.OnDemand {
		now := s.Now()
		if s.Qual != nil {
			q, err := s.Qual.Qualification(ctx, l.ID, now)
			if err != nil {
				return Plan{}, fmt.Errorf("qualification of %s: %w", l.ID, err)
			}
			in.Qual = q
		}
		if s.Usage != nil {
			u, err := s.Usage.Usage(ctx, l.ID, now)
			if err != nil {
				return Plan{}, fmt.Errorf("usage of %s: %w", l.ID, err)
			}
			in.Usage = u
		}
	}
	return s.Policies.For(l.Estate).ComputePlan(&in), nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Created    int // work orders created
	Assigned   int // planned orders assigned to a contractor now known
	Events     int // supervision events delivered
	Overdue    int // open orders past due
	Plans      map[string]Plan
	Deliveries error // a delivery failure (events stay pending), if any
}

// Sweep recomputes every lift's plan and creates the work orders that are
// within their lead time (routine, inspection), assigns planned orders
// whose lift now has a contractor, raises overdue and inspection events,
// and delivers pending supervision events. It is idempotent: running it
// twice, or after a restart, creates nothing twice.
func (s *Service) Sweep(ctx context.Context, lifts []LiftInfo) (SweepResult, error) {
	now := s.Now()
	today := DayOf(now)
	res := SweepResult{Plans: make(map[string]Plan, len(lifts))}
	hist, err := s.Store.RoutineHistory(ctx)
	if err != nil {
		return res, fmt.Errorf("routine history: %w", err)
	}
	open, err := s.Store.WorkOrders(ctx, Filter{Open: true})
	if err != nil {
		return res, fmt.Errorf("open work orders: %w", err)
	}
	var routine []*WorkOrder // created together at the end
	openRoutine := make(map[string]bool)
	for _, w := range open {
		if w.Kind == KindRoutine {
			openRoutine[w.Lift] = true
		}
		if w.State == StatePlanned {
			ok, err := s.assignIfKnown(ctx, w, now)
			if err != nil {
				return res, err
			}
			if ok {
				res.Assigned++
			}
		}
		if w.Overdue(now) {
			res.Overdue++
			key := fmt.Sprintf("overdue/%d", w.ID)
			if s.wasRecorded(key) {
				continue // recorded by an earlier sweep of this process: no write
			}
			if _, err := s.Store.RecordEvent(ctx, SupervisionEvent{Key: key, Kind: EventOverdue,
				Lift: w.Lift, Estate: w.Estate, Contractor: w.Contractor, WorkOrder: w.ID, At: now,
				Summary: fmt.Sprintf("%s work order %d due %s is not done", w.Kind, w.ID, w.Due.In(Shanghai).Format(time.DateTime))}); err != nil {
				return res, err
			}
			s.markRecorded(key)
		}
	}
	for _, l := range lifts {
		visits := hist[l.ID]
		pl, err := s.Plan(ctx, l, visits)
		if err != nil {
			return res, err
		}
		res.Plans[l.ID] = pl
		p := s.Policies.For(l.Estate)
		if !openRoutine[l.ID] && today >= pl.Due-Day(p.RoutineLeadDays) {
			after := LastByLevel(visits)[0]
			cycle := "baseline"
			if after != 0 {
				cycle = after.String()
			}
			w := &WorkOrder{Lift: l.ID, Estate: l.Estate, Kind: KindRoutine, Level: pl.Level,
				NeedKey:     fmt.Sprintf("routine/%s/after/%s", l.ID, cycle),
				Reason:      fmt.Sprintf("%s visit due %s: %s", pl.Level, pl.Due, pl.Basis),
				WindowStart: (pl.Due - Day(p.RoutineLeadDays)).Start(), Due: pl.Due.End()}
			if err := s.prepare(ctx, w, now); err != nil {
				return res, err
			}
			routine = append(routine, w)
		}
		if l.CertExpiry != 0 {
			n, err := s.inspection(ctx, l, p, now)
			if err != nil {
				return res, err
			}
			res.Created += n
		}
	}
	n, err := s.insert(ctx, routine)
	res.Created += n
	if err != nil {
		return res, err
	}
	res.Events, res.Deliveries = s.Deliver(ctx)
	return res, nil
}

// insert stores prepared orders, in one transaction if the store can
// (BatchStore), and tells of those created.
func (s *Service) insert(ctx context.Context, ws []*WorkOrder) (int, error) {
	var created []bool
	if b, ok := s.Store.(BatchStore); ok {
		var err error
		if created, err = b.CreateWorkOrders(ctx, ws); err != nil {
			return 0, fmt.Errorf("create %d work orders: %w", len(ws), err)
		}
	} else {
		created = make([]bool, len(ws))
		for i, w := range ws {
			var err error
			if created[i], err = s.Store.CreateWorkOrder(ctx, w); err != nil {
				return 0, fmt.Errorf("create work order %s: %w", w.NeedKey, err)
			}
		}
	}
	n := 0
	for i, w := range ws {
		if created[i] {
			n++
			s.changed(w)
			s.log().Info("work order created", "id", w.ID, "lift", w.Lift, "kind", w.Kind, "need", w.NeedKey, "due", w.Due, "contractor", w.Contractor)
		}
	}
	return n, nil
}

// inspection plans the periodic inspection of a lift's certificate: one
// month ahead, an inspection work order and a reminder to apply; once the
// certificate has lapsed, an alert.
func (s *Service) inspection(ctx context.Context, l LiftInfo, p *Policy, now time.Time) (int, error) {
	today := DayOf(now)
	created := 0
	if today >= l.CertExpiry-Day(p.InspectionLeadDays) {
		w := &WorkOrder{Lift: l.ID, Estate: l.Estate, Kind: KindInspection,
			NeedKey:     fmt.Sprintf("inspection/%s/cert/%s", l.ID, l.CertExpiry),
			Reason:      fmt.Sprintf("periodic inspection: certificate expires %s; apply to the inspection body now", l.CertExpiry),
			WindowStart: (l.CertExpiry - Day(p.InspectionLeadDays)).Start(), Due: l.CertExpiry.Start()}
		ok, err := s.create(ctx, w, now)
		if err != nil {
			return 0, err
		}
		if ok {
			created++
		}
		if _, err := s.Store.RecordEvent(ctx, SupervisionEvent{Key: "inspection_due/" + l.ID + "/" + l.CertExpiry.String(),
			Kind: EventInspectionDue, Lift: l.ID, Estate: l.Estate, Contractor: w.Contractor, WorkOrder: w.ID, At: now,
			Summary: fmt.Sprintf("inspection certificate of %s expires %s: apply for the periodic inspection", l.ID, l.CertExpiry)}); err != nil {
			return created, err
		}
	}
	if today >= l.CertExpiry {
		if _, err := s.Store.RecordEvent(ctx, SupervisionEvent{Key: "inspection_lapsed/" + l.ID + "/" + l.CertExpiry.String(),
			Kind: EventInspectionLapsed, Lift: l.ID, Estate: l.Estate, At: now,
			Summary: fmt.Sprintf("inspection certificate of %s expired %s", l.ID, l.CertExpiry)}); err != nil {
			return created, err
		}
	}
	return created, nil
}

// prepare assigns w to the lift's contractor now (planned if none).
func (s *Service) prepare(ctx context.Context, w *WorkOrder, now time.Time) error {
	c, err := s.Contractors.ContractorOf(ctx, w.Lift, now)
	if err != nil {
		return fmt.Errorf("contractor of %s: %w", w.Lift, err)
	}
	w.CreatedAt, w.Contractor, w.State = now, c, StatePlanned
	w.History = []Event{{At: now, Action: "created", Actor: "planner", To: StatePlanned, Note: w.Reason}}
	if c != "" {
		w.State = StateAssigned
		w.History = append(w.History, Event{At: now, Action: string(ActAssign), Actor: "planner", From: StatePlanned, To: StateAssigned, Note: c})
	}
	return nil
}

// create assigns w to the lift's contractor now (planned if none) and
// inserts it unless its need already has a live order.
func (s *Service) create(ctx context.Context, w *WorkOrder, now time.Time) (bool, error) {
	if err := s.prepare(ctx, w, now); err != nil {
		return false, err
	}
	c := w.Contractor
	created, err := s.Store.CreateWorkOrder(ctx, w)
	if err != nil {
		return false, fmt.Errorf("create work order %s: %w", w.NeedKey, err)
	}
	if created {
		s.changed(w)
		s.log().Info("work order created", "id", w.ID, "lift", w.Lift, "kind", w.Kind, "need", w.NeedKey, "due", w.Due, "contractor", c)
	}
	return created, nil
}

func (s *Service) assignIfKnown(ctx context.Context, w *WorkOrder, now time.Time) (bool, error) {
	c, err := s.Contractors.ContractorOf(ctx, w.Lift, now)
	if err != nil {
		return false, fmt.Errorf("contractor of %s: %w", w.Lift, err)
	}
	if c == "" {
		return false, nil
	}
	w.Contractor, w.State = c, StateAssigned
	if err := s.Store.TransitionWorkOrder(ctx, w, StatePlanned, Event{At: now, Action: string(ActAssign), Actor: "planner",
		From: StatePlanned, To: StateAssigned, Note: c}); err != nil {
		var te *TransitionError
		if errors.As(err, &te) {
			return false, nil // someone else moved it on
		}
		return false, err
	}
	s.changed(w)
	return true, nil
}

func (s *Service) changed(w *WorkOrder) {
	if s.Changed != nil {
		s.Changed(w)
	}
}

// Deliver hands every pending supervision event to the sink, oldest first,
// marking each delivered; it stops at the first failure (the rest stay
// pending for the next call) and returns how many it delivered.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	evs, err := s.Store.PendingEvents(ctx)
	if err != nil {
		return 0, fmt.Errorf("pending supervision events: %w", err)
	}
	for i, ev := range evs {
		if err := s.Sink.Supervise(ctx, ev); err != nil {
			return i, fmt.Errorf("deliver supervision event %s: %w", ev.Key, err)
		}
		if err := s.Store.MarkDelivered(ctx, ev.Key, s.Now()); err != nil {
			return i, err
		}
	}
	return len(evs), nil
}

// IncidentKind is what prompts a corrective work order.
type IncidentKind string

// Incident kinds.
const (
	IncidentEntrapment    IncidentKind = "entrapment"
	IncidentCriticalFault IncidentKind = "critical_fault"
	IncidentProblemLift   IncidentKind = "problem_lift" // more than ProblemLiftCallouts call-outs in 12 months
)

// Incident is an alert that calls for a root-cause check.
type Incident struct {
	ID      string // the alert's ID: one incident, one order
	Kind    IncidentKind
	Lift    string
	Estate  string
	At      time.Time
	Summary string
}

// OnIncident creates the corrective work order of an incident, due
// CorrectiveWithin (24 h) after it. Repeats of one incident create nothing.
func (s *Service) OnIncident(ctx context.Context, inc Incident) (*WorkOrder, bool, error) {
	switch inc.Kind {
	case IncidentEntrapment, IncidentCriticalFault, IncidentProblemLift:
	default:
		return nil, false, fmt.Errorf("%w: incident kind %q", ErrInvalid, inc.Kind)
	}
	if inc.ID == "" || inc.Lift == "" {
		return nil, false, fmt.Errorf("%w: incident needs an id and a lift", ErrInvalid)
	}
	p := s.Policies.For(inc.Estate)
	w := &WorkOrder{Lift: inc.Lift, Estate: inc.Estate, Kind: KindCorrective,
		NeedKey:     fmt.Sprintf("corrective/%s/incident/%s", inc.Lift, inc.ID),
		Reason:      fmt.Sprintf("root-cause check after %s: %s", inc.Kind, inc.Summary),
		WindowStart: inc.At, Due: inc.At.Add(p.CorrectiveWithin)}
	ok, err := s.create(ctx, w, s.Now())
	return w, ok, err
}

// Counters are a lift's lifetime counters.
type Counters struct {
	Trips, DoorCycles int64
	RunHours          float64
}

func (c Counters) of(name string) int64 {
	switch name {
	case CounterTrips:
		return c.Trips
	case CounterDoorCycles:
		return c.DoorCycles
	case CounterRunHours:
		return int64(c.RunHours)
	}
	return 0
}

// OnCounters applies the meter rules to a lift's counters: crossing the
// k-th multiple of a rule's Every creates one component order for cycle k.
// Latched: later messages in the same cycle create nothing, and the need
// key (lift, component, k) keeps it so across restarts.
func (s *Service) OnCounters(ctx context.Context, lift, estate string, c Counters) (int, error) {
	p := s.Policies.For(estate)
	created := 0
	for _, m := range p.Meters {
		k := c.of(m.Counter) / m.Every
		if k < 1 {
			continue
		}
		key := lift + "/" + m.Component
		s.mu.Lock()
		if s.latch == nil {
			s.latch = map[string]int64{}
		}
		latched := s.latch[key]
		s.mu.Unlock()
		if k <= latched {
			continue
		}
		now := s.Now()
		w := &WorkOrder{Lift: lift, Estate: estate, Kind: KindComponent, Component: m.Component,
			NeedKey:     fmt.Sprintf("component/%s/%s/%d", lift, m.Component, k),
			Reason:      fmt.Sprintf("%s service: %s passed %d (every %d)", m.Component, m.Counter, k*m.Every, m.Every),
			WindowStart: now, Due: (DayOf(now) + Day(m.DueDays)).End()}
		ok, err := s.create(ctx, w, now)
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
		s.mu.Lock()
		if s.latch[key] < k {
			s.latch[key] = k
		}
		s.mu.Unlock()
	}
	return created, nil
}
