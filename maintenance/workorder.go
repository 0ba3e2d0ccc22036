package maintenance

import (
	"errors"
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/maintenance/checklist"
)

// Kind is what a work order is for.
type Kind string

// Kinds.
const (
	KindRoutine    Kind = "routine"    // a visit of the plan
	KindCorrective Kind = "corrective" // root-cause check after an entrapment, critical fault or problem-lift alert
	KindInspection Kind = "inspection" // periodic inspection (定期检验) by the inspection body
	KindComponent  Kind = "component"  // component service from a meter trigger
)

// State is a work order's lifecycle state (docs/maintenance.md).
type State string

// States.
const (
	StatePlanned    State = "planned"     // created, no contractor known yet
	StateAssigned   State = "assigned"    // assigned to the lift's contractor
	StateInProgress State = "in_progress" // a technician started it
	StateCompleted  State = "completed"   // signed by the technician, visit proven (or no proof needed)
	StateUnverified State = "unverified"  // signed, but no inspection-mode evidence of the visit
	StateVerified   State = "verified"    // accepted by the manager
	StateCancelled  State = "cancelled"
)

// Open reports whether the order still awaits work.
func (s State) Open() bool { return s == StatePlanned || s == StateAssigned || s == StateInProgress }

// Done reports whether the work was signed as done (completed, unverified
// or verified): it counts for the plan and is not overdue.
func (s State) Done() bool { return s == StateCompleted || s == StateUnverified || s == StateVerified }

// Action is a lifecycle transition.
type Action string

// Actions.
const (
	ActAssign   Action = "assign"
	ActStart    Action = "start"
	ActComplete Action = "complete"
	ActAccept   Action = "accept"
	ActReject   Action = "reject"
	ActCancel   Action = "cancel"
	// ActChecklist records checklist results; the state stays in_progress.
	ActChecklist Action = "checklist"
)

// transitions lists, per action, the states it may start from.
//
//	assign:   planned → assigned
//	start:    assigned → in_progress
//	complete: in_progress → completed | unverified (the proof decides)
//	accept:   completed | unverified → verified (from unverified only with a note)
//	reject:   completed | unverified → in_progress (with a reason)
//	cancel:   planned | assigned | in_progress → cancelled (with a reason)
//	checklist: in_progress → in_progress (records results)
//
// verified and cancelled are final: a signed record is never undone, only
// corrected by a new order.
var transitions = map[Action][]State{
	ActAssign:    {StatePlanned},
	ActStart:     {StateAssigned},
	ActComplete:  {StateInProgress},
	ActAccept:    {StateCompleted, StateUnverified},
	ActReject:    {StateCompleted, StateUnverified},
	ActCancel:    {StatePlanned, StateAssigned, StateInProgress},
	ActChecklist: {StateInProgress},
}

// Allowed reports whether action a may be taken in state s.
func Allowed(a Action, s State) bool {
	for _, from := range transitions[a] {
		if from == s {
			return true
		}
	}
	return false
}

// TransitionError is an action refused in the order's current state (the
// API maps it to 409 Conflict).
type TransitionError struct {
	ID      int64
	Action  Action
	Current State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("work order %d: cannot %s in state %s", e.ID, e.Action, e.Current)
}

// NotFoundError is a work order that does not exist.
type NotFoundError struct{ ID int64 }

func (e *NotFoundError) Error() string { return fmt.Sprintf("work order %d not found", e.ID) }

// ErrInvalid wraps every refusal of bad input (missing results, reasons).
var ErrInvalid = errors.New("invalid")

// Result is a checklist item's outcome.
type Result string

// Results.
const (
	Pass Result = "pass"
	Fail Result = "fail"
	NA   Result = "na"
)

// ItemResult is the record of one checklist item.
type ItemResult struct {
	Code   string `json:"code"`
	Result Result `json:"result"`
	Value  string `json:"value,omitempty"` // measured value with unit, e.g. "8 mm"
	Photo  string `json:"photo,omitempty"` // reference of a stored photo
	Note   string `json:"note,omitempty"`
}

// SignOff is a person's signature on the record.
type SignOff struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Signature is the signature as captured (technician's sign-off).
	Signature string `json:"signature,omitempty"`
}

// Proof is the telemetry evidence of a routine visit.
type Proof struct {
	Required time.Duration `json:"required"` // minutes in inspection mode the level asks for
	Observed time.Duration `json:"observed"` // minutes seen in the order's window
	Verified bool          `json:"verified"`
}

// WorkOrder is one piece of maintenance work and its record.
type WorkOrder struct {
	ID     int64
	Lift   string
	Estate string
	Kind   Kind
	// NeedKey identifies the need the order answers; one need never has
	// two live orders (docs/maintenance.md, "Need keys").
	NeedKey   string
	Level     Level  // routine: the visit's level
	Component string // component: which
	Reason    string // why the order exists (the plan's basis, the incident)
	State     State

	WindowStart time.Time // work may be done from here …
	Due         time.Time // … until here; later is overdue
	Contractor  string
	Technician  string

	CreatedAt   time.Time
	StartedAt   *time.Time
	CompletedAt *time.Time
	Results     []ItemResult
	Findings    string
	PartsFen    int64
	LabourFen   int64
	TechSign    *SignOff
	ManagerSign *SignOff
	Proof       *Proof
	History     []Event
}

// Event is one entry of a work order's history.
type Event struct {
	At     time.Time
	Action string
	Actor  string
	From   State
	To     State
	Note   string
}

// Overdue reports whether the order is past due and not done at now.
func (w *WorkOrder) Overdue(now time.Time) bool {
	return !now.Before(w.Due) && w.State.Open()
}

// CompletedOnTime reports whether the work was signed done by its due time.
func (w *WorkOrder) CompletedOnTime() bool {
	return w.CompletedAt != nil && w.State.Done() && !w.CompletedAt.After(w.Due)
}

// CheckResults validates checklist results for a routine order of level l:
// every item of the level recorded once, nothing else, a valid result, and
// a value or photo for every test item not marked n.a.
func CheckResults(l Level, results []ItemResult) error {
	items := checklist.For(l)
	byCode := make(map[string]*ItemResult, len(results))
	for i := range results {
		r := &results[i]
		if _, ok := checklist.Lookup(r.Code); !ok {
			return fmt.Errorf("%w: checklist item %q does not exist", ErrInvalid, r.Code)
		}
		if byCode[r.Code] != nil {
			return fmt.Errorf("%w: checklist item %s recorded twice", ErrInvalid, r.Code)
		}
		if r.Result != Pass && r.Result != Fail && r.Result != NA {
			return fmt.Errorf("%w: checklist item %s: result %q (want pass, fail or na)", ErrInvalid, r.Code, r.Result)
		}
		byCode[r.Code] = r
	}
	for _, it := range items {
		r := byCode[it.Code]
		if r == nil {
			return fmt.Errorf("%w: checklist item %s (%s) not recorded", ErrInvalid, it.Code, it.EN)
		}
		if it.Test && r.Result != NA && r.Value == "" && r.Photo == "" {
			return fmt.Errorf("%w: checklist item %s (%s) is a test: record a measured value or a photo", ErrInvalid, it.Code, it.EN)
		}
		delete(byCode, it.Code)
	}
	for code := range byCode {
		return fmt.Errorf("%w: checklist item %s is not part of a %s visit", ErrInvalid, code, l)
	}
	return nil
}
