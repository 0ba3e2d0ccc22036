package demohistory

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/simulator/contractor"
)

// InProcess is the contractor API served in process by maintenance.Service,
// with the API's semantics: the checklist is recorded with the domain's
// RecordChecklist (as POST /work-orders/{id}/checklist does) and taken into
// the completion, refusals are conflicts with the current state. The demo's
// history uses it, where there is no server yet and the clock is simulated.
// Listings come from Orders, as of the clock's now: an order created later
// (by the service, in a run of the demo after an earlier history) does not
// exist yet for the history's contractors.
type InProcess struct {
	Svc    *maintenance.Service
	Orders *Orders
	// Actor signs as the contractor's account would (the API takes it from
	// the token).
	Actor maintenance.Actor
	Now   func() time.Time
}

var _ contractor.API = (*InProcess)(nil)

// View converts a work order to the API's view as a contractor reads it.
func View(w *maintenance.WorkOrder) contractor.WorkOrder {
	v := contractor.WorkOrder{ID: w.ID, Lift: w.Lift, Estate: w.Estate, Kind: string(w.Kind), State: string(w.State),
		Contractor: w.Contractor, Technician: w.Technician, WindowStart: w.WindowStart, Due: w.Due, StartedAt: w.StartedAt}
	if w.Kind == maintenance.KindRoutine {
		v.Level = w.Level.String()
	}
	return v
}

// WorkOrders lists the contractor's orders in any of states that exist at
// the clock's now.
func (p *InProcess) WorkOrders(_ context.Context, company string, states ...string) ([]contractor.WorkOrder, error) {
	ss := make([]maintenance.State, 0, len(states))
	for _, st := range states {
		ss = append(ss, maintenance.State(st))
	}
	ws := p.Orders.List(company, ss, p.Now())
	out := make([]contractor.WorkOrder, 0, len(ws))
	for _, w := range ws {
		out = append(out, View(w))
	}
	return out, nil
}

// Checklist lists the TSG T5002 items of a level.
func (p *InProcess) Checklist(_ context.Context, level string) ([]contractor.Item, error) {
	l, ok := checklist.ParseLevel(level)
	if !ok {
		return nil, fmt.Errorf("checklist level %q: %w", level, maintenance.ErrInvalid)
	}
	var out []contractor.Item
	for _, it := range checklist.For(l) {
		out = append(out, contractor.Item{Code: it.Code, Level: it.Level.String(), ZH: it.ZH, EN: it.EN, NeedsValueOrPhoto: it.Test})
	}
	return out, nil
}

// Start starts the order.
func (p *InProcess) Start(ctx context.Context, id int64, technician string) (*contractor.WorkOrder, error) {
	return p.result(p.Svc.Start(ctx, id, p.Actor, technician))
}

// RecordChecklist records the results on the order (maintenance's
// RecordChecklist, as the API does).
func (p *InProcess) RecordChecklist(ctx context.Context, id int64, results []contractor.Result) (*contractor.WorkOrder, error) {
	rs := make([]maintenance.ItemResult, 0, len(results))
	for _, r := range results {
		rs = append(rs, maintenance.ItemResult{Code: r.Item, Result: maintenance.Result(r.Result), Value: r.Value, Photo: r.Photo})
	}
	return p.result(p.Svc.RecordChecklist(ctx, id, p.Actor, rs))
}

// Complete signs the order with the checklist recorded on it.
func (p *InProcess) Complete(ctx context.Context, id int64, c contractor.Completion) (*contractor.WorkOrder, error) {
	return p.result(p.Svc.Complete(ctx, id, p.Actor, maintenance.Completion{Findings: c.Findings, PartsFen: c.PartsFen,
		LabourFen: c.LabourFen, Signature: c.Signature}))
}

func (p *InProcess) result(w *maintenance.WorkOrder, err error) (*contractor.WorkOrder, error) {
	var te *maintenance.TransitionError
	var nf *maintenance.NotFoundError
	switch {
	case errors.As(err, &te):
		return nil, &contractor.ConflictError{ID: te.ID, Action: string(te.Action), Current: string(te.Current), Message: te.Error()}
	case errors.As(err, &nf):
		return nil, fmt.Errorf("%w: %w", contractor.ErrNotFound, err)
	case errors.Is(err, maintenance.ErrInvalid): // the API's 400
		return nil, &contractor.StatusError{Status: 400, Code: "invalid", Message: err.Error()}
	case err != nil:
		return nil, err
	}
	v := View(w)
	return &v, nil
}

// Sessions records inspection-mode sessions as the live lift state would
// see them from the terminals, and is the maintenance service's
// SessionSource for the history; as a contractor.Inspector it puts a lift in
// inspection mode at the clock's now. The sessions it records are kept for
// Flush, which writes them where the service reads them after the history
// (the inspection-sessions table), so a proof looks the same after a
// restart; Load reads those of an earlier run.
type Sessions struct {
	Now   func() time.Time
	mu    sync.Mutex
	m     map[string][]maintenance.Session
	fresh []LiftSession
}

// LiftSession is one stay of a lift in inspection mode, ended.
type LiftSession struct {
	Lift       string
	Start, End time.Time
}

// SessionStore keeps inspection sessions (store.Inspections, through an
// adapter: the history does not know the store).
type SessionStore interface {
	// SaveSessions inserts ended sessions; one already stored (same lift
	// and start) is kept.
	SaveSessions(ctx context.Context, ss []LiftSession) error
	// LiftSessions lists lift's sessions overlapping [from, to).
	LiftSessions(ctx context.Context, lift string, from, to time.Time) ([]LiftSession, error)
}

// Load adds the stored sessions of lifts overlapping [from, to).
func (s *Sessions) Load(ctx context.Context, st SessionStore, lifts []string, from, to time.Time) error {
	for _, l := range lifts {
		ss, err := st.LiftSessions(ctx, l, from, to)
		if err != nil {
			return fmt.Errorf("inspection sessions of %s: %w", l, err)
		}
		s.mu.Lock()
		if s.m == nil {
			s.m = map[string][]maintenance.Session{}
		}
		for _, x := range ss {
			s.m[l] = append(s.m[l], maintenance.Session{Start: x.Start, End: x.End})
		}
		s.mu.Unlock()
	}
	return nil
}

// Flush saves the sessions recorded since the last Flush (in one call).
func (s *Sessions) Flush(ctx context.Context, st SessionStore) error {
	s.mu.Lock()
	fresh := s.fresh
	s.fresh = nil
	s.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	if err := st.SaveSessions(ctx, fresh); err != nil {
		s.mu.Lock()
		s.fresh = append(fresh, s.fresh...)
		s.mu.Unlock()
		return fmt.Errorf("save inspection sessions: %w", err)
	}
	return nil
}

// Add records a session of lift from start for d.
func (s *Sessions) Add(lift string, start time.Time, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]maintenance.Session{}
	}
	s.m[lift] = append(s.m[lift], maintenance.Session{Start: start, End: start.Add(d)})
	s.fresh = append(s.fresh, LiftSession{Lift: lift, Start: start, End: start.Add(d)})
}

// Inspect puts lift in inspection mode now for d; a lift in inspection
// mode already is busy.
func (s *Sessions) Inspect(_ context.Context, lift string, d time.Duration) (time.Time, error) {
	now := s.Now()
	s.mu.Lock()
	for _, x := range s.m[lift] {
		if x.Start.Before(now.Add(d)) && x.End.After(now) {
			s.mu.Unlock()
			return time.Time{}, fmt.Errorf("%s: lift busy: in inspection mode %s–%s", lift, x.Start.Format(time.RFC3339), x.End.Format(time.RFC3339))
		}
	}
	s.mu.Unlock()
	s.Add(lift, now, d)
	return now, nil
}

// InspectionSessions lists lift's sessions overlapping [from, to), cut at
// to as the live state would show a session still going on.
func (s *Sessions) InspectionSessions(_ context.Context, lift string, from, to time.Time) ([]maintenance.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []maintenance.Session
	for _, x := range s.m[lift] {
		if x.End.After(from) && x.Start.Before(to) {
			if x.End.After(to) {
				x.End = to
			}
			out = append(out, x)
		}
	}
	return out, nil
}
