// Package contractor simulates maintenance contractors the way a
// contractor's own system would work with liftwatch: through the work-order
// API only. A Contractor takes its company's due work orders, sends a
// technician (start), puts the lift in inspection mode for a realistic time
// through the running terminal simulator, records the TSG T5002 checklist and
// completes the order. A configurable share of "paper visits" are signed
// without the work: no inspection mode, a few minutes on site at most, which
// liftwatch's proof of visit must flag as unverified.
//
// Everything is deterministic for a seed and driven by an injected clock, so
// months of visits run in seconds (the demo's history) and the same code runs
// live against the HTTP API (the demo, `liftwatch sim`). The package imports
// nothing of liftwatch's domain: it knows the API's JSON, as a third party
// does (docs/simulator.md, "Contractors").
package contractor

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WorkOrder is the part of the API's work-order view a contractor reads.
type WorkOrder struct {
	ID          int64      `json:"id"`
	Lift        string     `json:"lift"`
	Estate      string     `json:"estate,omitempty"`
	Kind        string     `json:"kind"`            // routine, corrective, inspection, component
	Level       string     `json:"level,omitempty"` // routine: half_monthly, quarterly, semi_annual, annual
	State       string     `json:"state"`
	Contractor  string     `json:"contractor"`
	Technician  string     `json:"technician,omitempty"`
	WindowStart time.Time  `json:"window_start"`
	Due         time.Time  `json:"due"`
	StartedAt   *time.Time `json:"started_at,omitempty"`
}

// Work-order states and kinds the contractor acts on (the API's values).
const (
	StateAssigned   = "assigned"
	StateInProgress = "in_progress"
	KindRoutine     = "routine"
	KindCorrective  = "corrective"
	KindComponent   = "component"
	KindInspection  = "inspection"
)

// Item is one checklist item as GET /api/v1/checklist lists it.
type Item struct {
	Code  string `json:"code"`
	Level string `json:"level"`
	ZH    string `json:"zh"`
	EN    string `json:"en"`
	// NeedsValueOrPhoto: the item is a test whose record needs a measured
	// value or a photo.
	NeedsValueOrPhoto bool `json:"needs_value_or_photo"`
}

// IsTest reports whether the item's record needs a value or a photo.
func (it Item) IsTest() bool { return it.NeedsValueOrPhoto }

// Result is one checklist record, as POST …/checklist takes it.
type Result struct {
	Item   string `json:"item"`
	Result string `json:"result"` // pass, fail, na
	Value  string `json:"value,omitempty"`
	Photo  string `json:"photo,omitempty"`
}

// Completion is the body of POST …/complete.
type Completion struct {
	Findings  string `json:"findings"`
	PartsFen  int64  `json:"parts_fen"`
	LabourFen int64  `json:"labour_fen"`
	Signature string `json:"signature"`
}

// API is what a contractor's system does with liftwatch: the HTTP client
// (Client), or an in-process adapter (the demo's history).
type API interface {
	// WorkOrders lists the company's work orders in any of states.
	WorkOrders(ctx context.Context, contractor string, states ...string) ([]WorkOrder, error)
	Checklist(ctx context.Context, level string) ([]Item, error)
	Start(ctx context.Context, id int64, technician string) (*WorkOrder, error)
	RecordChecklist(ctx context.Context, id int64, results []Result) (*WorkOrder, error)
	Complete(ctx context.Context, id int64, c Completion) (*WorkOrder, error)
}

// Inspector switches a simulated lift into inspection mode for d from now
// (the terminal simulator: simulator.Simulator.Inspect); it returns the
// time the lift entered it.
type Inspector interface {
	Inspect(ctx context.Context, lift string, d time.Duration) (time.Time, error)
}

// ConflictError is an action the server refused in the order's current
// state (HTTP 409).
type ConflictError struct {
	ID      int64
	Action  string
	Current string // the order's state, if the server said
	Message string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("work order %d: %s refused in state %q: %s", e.ID, e.Action, e.Current, e.Message)
}

// ErrNotFound is a work order the server does not know (or does not show).
var ErrNotFound = errors.New("work order not found")
