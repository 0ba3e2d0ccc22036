package maintenance

import (
	"context"
	"time"
)

// Store keeps work orders and supervision events (store/maintenance.go).
// Records are never deleted (docs/maintenance.md, "Retention").
type Store interface {
	// CreateWorkOrder inserts w unless a live (not cancelled) order with
	// its NeedKey exists; created reports which. On insert it sets w.ID
	// and stores w.History.
	CreateWorkOrder(ctx context.Context, w *WorkOrder) (created bool, err error)
	// TransitionWorkOrder saves w, whose state was from, appending ev to
	// its history, only if the stored state is still from; otherwise it
	// returns a *TransitionError with the stored state (or *NotFoundError).
	TransitionWorkOrder(ctx context.Context, w *WorkOrder, from State, ev Event) error
	WorkOrder(ctx context.Context, id int64) (*WorkOrder, error)
	WorkOrders(ctx context.Context, f Filter) ([]*WorkOrder, error)
	// RoutineHistory returns, per lift, its signed (completed, unverified
	// or verified) routine visits as far as planning needs them: at least
	// the last of each level (LastByLevel folds them).
	RoutineHistory(ctx context.Context) (map[string][]Visit, error)
	// RecordEvent stores ev unless an event with its Key exists.
	RecordEvent(ctx context.Context, ev SupervisionEvent) (created bool, err error)
	// PendingEvents lists recorded events not yet delivered, oldest first.
	PendingEvents(ctx context.Context) ([]SupervisionEvent, error)
	MarkDelivered(ctx context.Context, key string, at time.Time) error
}

// BatchStore is a Store that can insert many orders in one transaction
// (CreateWorkOrder's rule for each); the sweep uses it when the store has
// it, so that a sweep that plans many orders commits once.
type BatchStore interface {
	CreateWorkOrders(ctx context.Context, ws []*WorkOrder) (created []bool, err error)
}

// Filter selects work orders; zero fields select everything.
type Filter struct {
	Lift       string
	Contractor string
	Kind       Kind
	States     []State
	Open       bool      // planned, assigned or in_progress
	DueFrom    time.Time // due at or after
	DueTo      time.Time // due before
	Limit      int
}

// ContractorSource says who maintains a lift at a time (trusteeship,
// with contract history). "" means nobody is contracted.
type ContractorSource interface {
	ContractorOf(ctx context.Context, lift string, at time.Time) (string, error)
}

// UsageSource gives a lift's measured use and 90-day health (from the
// live counters and the alerts).
type UsageSource interface {
	Usage(ctx context.Context, lift string, at time.Time) (Usage, error)
}

// QualificationSource says whether a lift qualifies for on-demand.
type QualificationSource interface {
	Qualification(ctx context.Context, lift string, at time.Time) (Qualification, error)
}

// Session is one period a lift spent in inspection mode (检修).
type Session struct{ Start, End time.Time }

// SessionSource lists a lift's inspection-mode sessions overlapping
// [from, to) (the live lift state).
type SessionSource interface {
	InspectionSessions(ctx context.Context, lift string, from, to time.Time) ([]Session, error)
}

// Callout is an unplanned call-out (rescue or breakdown) of a contractor.
type Callout struct {
	Lift       string
	Contractor string
	At         time.Time
	Arrival    time.Duration // from dispatch to on site; 0 if not known
}

// CalloutSource lists call-outs in [from, to) (from the alerts).
type CalloutSource interface {
	Callouts(ctx context.Context, from, to time.Time) ([]Callout, error)
}

// Supervision event kinds.
const (
	EventOverdue          = "work_order_overdue"
	EventUnverified       = "work_order_unverified"
	EventInspectionDue    = "inspection_due"
	EventInspectionLapsed = "inspection_lapsed"
)

// SupervisionEvent is something the manager must be told (the alert engine
// consumes them). Key is stable: one situation is one event.
type SupervisionEvent struct {
	Key        string
	Kind       string
	Lift       string
	Estate     string
	Contractor string
	WorkOrder  int64
	At         time.Time
	Summary    string
}

// SupervisionSink receives supervision events; it must be idempotent on
// Key (an event is delivered again if it was not marked delivered).
type SupervisionSink interface {
	Supervise(ctx context.Context, ev SupervisionEvent) error
}

// Actor is who takes an action; it comes from the request's authenticated
// context, never from a request body.
type Actor struct {
	ID   string
	Name string
}
