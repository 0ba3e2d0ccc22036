package trusteeship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/registry"
)

// Store persists managers, contracts and the audit trail.
type Store interface {
	// InLift runs fn in one transaction, serialised with every other InLift
	// of the same lift, so that a check for overlaps and the write it allows
	// cannot interleave with another change of that lift.
	InLift(ctx context.Context, lift string, fn func(Tx) error) error
	// Managers and Contracts return a lift's history, oldest first.
	Managers(ctx context.Context, lift string) ([]Manager, error)
	Contracts(ctx context.Context, lift string) ([]Contract, error)
	// Audit returns a lift's audit trail, oldest first.
	Audit(ctx context.Context, lift string) ([]AuditRecord, error)
}

// Tx is a Store transaction on one lift.
type Tx interface {
	Managers(ctx context.Context) ([]Manager, error)
	Contracts(ctx context.Context) ([]Contract, error)
	InsertManager(ctx context.Context, m *Manager) error // sets m.ID
	UpdateManager(ctx context.Context, m *Manager) error
	InsertContract(ctx context.Context, c *Contract) error // sets c.ID
	UpdateContract(ctx context.Context, c *Contract) error
	Audit(ctx context.Context, r *AuditRecord) error
}

// Service applies the trusteeship rules over a Store.
type Service struct {
	store    Store
	now      func() time.Time
	policies Policies
}

// NewService returns a service; now is the clock, policies the rules.
func NewService(s Store, now func() time.Time, policies Policies) *Service {
	return &Service{store: s, now: now, policies: policies}
}

func (s *Service) audit(ctx context.Context, tx Tx, actor Actor, lift, action, subject string, before, after any) error {
	r := &AuditRecord{Lift: lift, At: s.now(), Actor: actor, Action: action, Subject: subject}
	if before != nil {
		b, err := json.Marshal(before)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		r.Before = string(b)
	}
	b, err := json.Marshal(after)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	r.After = string(b)
	return tx.Audit(ctx, r)
}

// SetManager makes m the lift's manager from m.From. An open-ended current
// period that began earlier is closed on m.From (audited as manager.close);
// any other overlap is refused with ErrOverlap, so history is never silently
// rewritten. m.ID is set on return.
func (s *Service) SetManager(ctx context.Context, actor Actor, m *Manager) error {
	if actor == "" {
		return ErrNoActor
	}
	if err := m.Validate(); err != nil {
		return err
	}
	return s.store.InLift(ctx, m.Lift, func(tx Tx) error {
		existing, err := tx.Managers(ctx)
		if err != nil {
			return err
		}
		for i := range existing {
			e := &existing[i]
			if !managersOverlap(e, m) {
				continue
			}
			if e.To.IsZero() && e.From.Before(m.From) {
				before := *e
				e.To = m.From
				if err := tx.UpdateManager(ctx, e); err != nil {
					return err
				}
				if err := s.audit(ctx, tx, actor, m.Lift, "manager.close", "manager", before, e); err != nil {
					return err
				}
				if managersOverlap(e, m) {
					return fmt.Errorf("%w: manager %d", ErrOverlap, e.ID)
				}
				continue
			}
			return fmt.Errorf("%w: %s %s from %s to %s", ErrOverlap, e.Kind, e.Name, e.From, openEnd(e.To))
		}
		if err := tx.InsertManager(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, m.Lift, "manager.set", "manager", nil, m)
	})
}

func openEnd(d civil.Date) string {
	if d.IsZero() {
		return "open end"
	}
	return d.String()
}

// AddContract records a new maintenance contract; it must not share a day
// with another contract of the lift (ErrOverlap). c.ID is set on return.
func (s *Service) AddContract(ctx context.Context, actor Actor, c *Contract) error {
	if actor == "" {
		return ErrNoActor
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.store.InLift(ctx, c.Lift, func(tx Tx) error {
		existing, err := tx.Contracts(ctx)
		if err != nil {
			return err
		}
		for i := range existing {
			if contractsOverlap(&existing[i], c) {
				e := &existing[i]
				return fmt.Errorf("%w: contract %d with %s from %s to %s", ErrOverlap, e.ID, e.Contractor, e.Start, e.End)
			}
		}
		if err := tx.InsertContract(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, c.Lift, "contract.add", "contract", nil, c)
	})
}

// ReviseContract changes contract c.ID (an early end, a renewal's extension,
// a change of standing or insurance, a price); the revised terms must still
// not overlap another contract. Before and after are audited.
func (s *Service) ReviseContract(ctx context.Context, actor Actor, c *Contract) error {
	if actor == "" {
		return ErrNoActor
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return s.store.InLift(ctx, c.Lift, func(tx Tx) error {
		existing, err := tx.Contracts(ctx)
		if err != nil {
			return err
		}
		var before *Contract
		for i := range existing {
			e := &existing[i]
			if e.ID == c.ID {
				before = e
				continue
			}
			if contractsOverlap(e, c) {
				return fmt.Errorf("%w: contract %d with %s from %s to %s", ErrOverlap, e.ID, e.Contractor, e.Start, e.End)
			}
		}
		if before == nil {
			return fmt.Errorf("contract %d of lift %s: %w", c.ID, c.Lift, ErrNotFound)
		}
		if *before == *c {
			return nil
		}
		if err := tx.UpdateContract(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, c.Lift, "contract.revise", "contract", before, c)
	})
}

// ManagerOn returns the lift's manager on day d, or nil if it had none.
func (s *Service) ManagerOn(ctx context.Context, lift string, d civil.Date) (*Manager, error) {
	ms, err := s.store.Managers(ctx, lift)
	if err != nil {
		return nil, err
	}
	return managerOn(ms, d), nil
}

// ContractOn returns the lift's contract on day d, or nil if it had none.
func (s *Service) ContractOn(ctx context.Context, lift string, d civil.Date) (*Contract, error) {
	cs, err := s.store.Contracts(ctx, lift)
	if err != nil {
		return nil, err
	}
	return contractOn(cs, d), nil
}

func managerOn(ms []Manager, d civil.Date) *Manager {
	for i := range ms {
		if ms[i].On(d) {
			return &ms[i]
		}
	}
	return nil
}

func contractOn(cs []Contract, d civil.Date) *Contract {
	for i := range cs {
		if cs[i].On(d) {
			return &cs[i]
		}
	}
	return nil
}

// coveredUntil is the last day of uninterrupted cover from contract c on:
// its end, or the end of the chain of contracts each starting the day after
// the previous ends (a renewal already signed).
func coveredUntil(cs []Contract, c *Contract) civil.Date {
	end := c.End
	sorted := append([]Contract(nil), cs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start.Before(sorted[j].Start) })
	for _, n := range sorted {
		if n.Start == end.AddDays(1) {
			end = n.End
		}
	}
	return end
}

// Seed initialises the register from the lifts' PropertyManager and
// Contractor fields, for lifts that have no history yet: the property
// manager from the install date (or from on, if none), and a periodic
// contract whose yearly term, anchored on the install date's anniversary,
// contains day on, at priceFen. Lifts with history are left alone, so
// seeding again changes nothing. It returns how many lifts it seeded.
func (s *Service) Seed(ctx context.Context, actor Actor, lifts []registry.Lift, on civil.Date, priceFen int64) (int, error) {
	n := 0
	for _, l := range lifts {
		ms, err := s.store.Managers(ctx, l.ID)
		if err != nil {
			return n, err
		}
		cs, err := s.store.Contracts(ctx, l.ID)
		if err != nil {
			return n, err
		}
		if len(ms) > 0 || len(cs) > 0 {
			continue
		}
		anchor := on
		if l.InstallDate != "" {
			if d, err := civil.Parse(l.InstallDate); err == nil && !d.After(on) {
				anchor = d
			}
		}
		if l.PropertyManager != "" {
			if err := s.SetManager(ctx, actor, &Manager{Lift: l.ID, Kind: PropertyCompany, Name: l.PropertyManager, From: anchor}); err != nil {
				return n, fmt.Errorf("seed lift %s: %w", l.ID, err)
			}
		}
		if l.Contractor != "" {
			start := anchor
			for !start.AddMonths(12).After(on) {
				start = start.AddMonths(12)
			}
			c := &Contract{Lift: l.ID, Contractor: l.Contractor, Start: start, End: start.AddMonths(12).AddDays(-1),
				Mode: Periodic, PriceFen: priceFen}
			if err := s.AddContract(ctx, actor, c); err != nil {
				return n, fmt.Errorf("seed lift %s: %w", l.ID, err)
			}
		}
		n++
	}
	return n, nil
}

// FindingKind names a supervision finding.
type FindingKind string

// Findings of Evaluate.
const (
	NoContract       FindingKind = "no_valid_contract" // no contract covers the day
	ContractExpiring FindingKind = "contract_expiring" // cover ends within the policy's days
)

// Finding is one supervision finding, addressed to the lift's manager (nil
// when the lift has none: then the supervising office must act).
type Finding struct {
	Lift     string      `json:"lift"`
	Estate   string      `json:"estate"`
	Kind     FindingKind `json:"kind"`
	On       civil.Date  `json:"on"`
	Manager  *Manager    `json:"manager,omitempty"`
	Contract *Contract   `json:"contract,omitempty"` // the current contract, if any
	// CoveredUntil is the last day of uninterrupted cover (renewals already
	// signed included); DaysLeft counts the days from On to it.
	CoveredUntil civil.Date `json:"covered_until"`
	DaysLeft     int        `json:"days_left"`
}

// Sink receives findings (the alert engine, later).
type Sink interface {
	Supervise(ctx context.Context, f Finding) error
}

// LiftRef names a lift and its estate (whose policy applies).
type LiftRef struct {
	ID     string
	Estate string
}

// Evaluate checks every lift at instant at: a lift with no contract on that
// day, or whose cover ends within its estate's ExpiryWarningDays, yields
// exactly one finding, given to sink (if not nil) and returned. Sink errors
// do not stop the evaluation; they are returned joined.
func (s *Service) Evaluate(ctx context.Context, at time.Time, lifts []LiftRef, sink Sink) ([]Finding, error) {
	day := civil.Of(at)
	var out []Finding
	var sinkErrs []error
	for _, l := range lifts {
		cs, err := s.store.Contracts(ctx, l.ID)
		if err != nil {
			return out, err
		}
		ms, err := s.store.Managers(ctx, l.ID)
		if err != nil {
			return out, err
		}
		f, ok := evaluate(l, day, ms, cs, s.policies.For(l.Estate))
		if !ok {
			continue
		}
		out = append(out, f)
		if sink != nil {
			if err := sink.Supervise(ctx, f); err != nil {
				sinkErrs = append(sinkErrs, fmt.Errorf("lift %s: %w", l.ID, err))
			}
		}
	}
	return out, errors.Join(sinkErrs...)
}

// evaluate is the rule for one lift on one day.
func evaluate(l LiftRef, day civil.Date, ms []Manager, cs []Contract, p *Policy) (Finding, bool) {
	f := Finding{Lift: l.ID, Estate: l.Estate, On: day, Manager: managerOn(ms, day)}
	c := contractOn(cs, day)
	if c == nil {
		f.Kind = NoContract
		return f, true
	}
	f.Contract = c
	f.CoveredUntil = coveredUntil(cs, c)
	f.DaysLeft = day.DaysUntil(f.CoveredUntil)
	if f.DaysLeft > p.ExpiryWarningDays {
		return Finding{}, false
	}
	f.Kind = ContractExpiring
	return f, true
}
