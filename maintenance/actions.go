package maintenance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/maintenance/checklist"
)

// transition loads order id, checks that action may be taken, lets change
// fill in the order, and saves it conditionally on the state it was read
// in, so concurrent actions cannot both win.
func (s *Service) transition(ctx context.Context, id int64, a Action, actor Actor, note string,
	change func(w *WorkOrder, now time.Time) (State, error)) (*WorkOrder, error) {
	if actor.ID == "" {
		return nil, fmt.Errorf("%w: %s needs an actor", ErrInvalid, a)
	}
	w, err := s.Store.WorkOrder(ctx, id)
	if err != nil {
		return nil, err
	}
	if !Allowed(a, w.State) {
		return nil, &TransitionError{ID: id, Action: a, Current: w.State}
	}
	now := s.Now()
	from := w.State
	to, err := change(w, now)
	if err != nil {
		return nil, err
	}
	w.State = to
	ev := Event{At: now, Action: string(a), Actor: actor.ID, From: from, To: to, Note: note}
	if err := s.Store.TransitionWorkOrder(ctx, w, from, ev); err != nil {
		return nil, err
	}
	w.History = append(w.History, ev)
	s.changed(w)
	return w, nil
}

// Assign gives a planned order to a contractor.
func (s *Service) Assign(ctx context.Context, id int64, actor Actor, contractor string) (*WorkOrder, error) {
	if contractor == "" {
		return nil, fmt.Errorf("%w: assign needs a contractor", ErrInvalid)
	}
	return s.transition(ctx, id, ActAssign, actor, contractor, func(w *WorkOrder, _ time.Time) (State, error) {
		w.Contractor = contractor
		return StateAssigned, nil
	})
}

// Start records that technician began the work.
func (s *Service) Start(ctx context.Context, id int64, actor Actor, technician string) (*WorkOrder, error) {
	if technician == "" {
		return nil, fmt.Errorf("%w: start needs the technician", ErrInvalid)
	}
	return s.transition(ctx, id, ActStart, actor, technician, func(w *WorkOrder, now time.Time) (State, error) {
		w.Technician, w.StartedAt = technician, &now
		return StateInProgress, nil
	})
}

// Completion is the technician's record of the work.
type Completion struct {
	// Results are the checklist results; nil keeps those recorded with
	// RecordChecklist. A routine visit needs every item of its level.
	Results   []ItemResult
	Findings  string
	PartsFen  int64
	LabourFen int64
	// Signature is the technician's signature as the client captured it
	// (a reference to a stored image, or the typed name); the signer is
	// the actor.
	Signature string
}

// RecordChecklist records checklist results of an order in progress, one
// per item, replacing an earlier result of the same item; the rest stay.
// Each must be an item of the order's level (a routine visit; any item
// for other kinds) with a valid result, and a test item not marked n.a.
// needs a value or a photo. Complete checks that the list is whole.
func (s *Service) RecordChecklist(ctx context.Context, id int64, actor Actor, results []ItemResult) (*WorkOrder, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("%w: no checklist results", ErrInvalid)
	}
	note := fmt.Sprintf("%d item(s) recorded", len(results))
	return s.transition(ctx, id, ActChecklist, actor, note, func(w *WorkOrder, _ time.Time) (State, error) {
		if err := checkItems(w, results); err != nil {
			return "", err
		}
		merged := append([]ItemResult(nil), w.Results...)
		for _, r := range results {
			i := slices.IndexFunc(merged, func(m ItemResult) bool { return m.Code == r.Code })
			if i >= 0 {
				merged[i] = r
			} else {
				merged = append(merged, r)
			}
		}
		w.Results = merged
		return w.State, nil
	})
}

// checkItems validates results one by one for order w: a known item, of
// the visit's level if w is routine, recorded once, a valid result, and a
// value or photo for a test item not marked n.a. Completeness is checked
// at completion (CheckResults).
func checkItems(w *WorkOrder, results []ItemResult) error {
	seen := make(map[string]bool, len(results))
	for _, r := range results {
		it, ok := checklist.Lookup(r.Code)
		switch {
		case !ok:
			return fmt.Errorf("%w: checklist item %q does not exist", ErrInvalid, r.Code)
		case w.Kind == KindRoutine && it.Level > w.Level:
			return fmt.Errorf("%w: checklist item %s is not part of a %s visit", ErrInvalid, r.Code, w.Level)
		case seen[r.Code]:
			return fmt.Errorf("%w: checklist item %s recorded twice", ErrInvalid, r.Code)
		case r.Result != Pass && r.Result != Fail && r.Result != NA:
			return fmt.Errorf("%w: checklist item %s: result %q (want pass, fail or na)", ErrInvalid, r.Code, r.Result)
		case it.Test && r.Result != NA && r.Value == "" && r.Photo == "":
			return fmt.Errorf("%w: checklist item %s (%s) is a test: record a measured value or a photo", ErrInvalid, it.Code, it.EN)
		}
		seen[r.Code] = true
	}
	return nil
}

// Complete signs the work done by the technician who started it. A
// routine visit is checked against its checklist and against telemetry:
// unless the lift was in inspection mode for the level's ProofMinutes in
// the order's window, it becomes unverified and the manager is alerted.
func (s *Service) Complete(ctx context.Context, id int64, actor Actor, c Completion) (*WorkOrder, error) {
	if c.PartsFen < 0 || c.LabourFen < 0 {
		return nil, fmt.Errorf("%w: costs must not be negative", ErrInvalid)
	}
	var unverified *WorkOrder
	w, err := s.transition(ctx, id, ActComplete, actor, "", func(w *WorkOrder, now time.Time) (State, error) {
		to := StateCompleted
		results := c.Results
		if results == nil {
			results = w.Results
		}
		if w.Kind == KindRoutine {
			if err := CheckResults(w.Level, results); err != nil {
				return "", err
			}
			pr, err := s.prove(ctx, w, now)
			if err != nil {
				return "", err
			}
			w.Proof = pr
			if !pr.Verified {
				to = StateUnverified
				unverified = w
			}
		}
		w.Results, w.Findings, w.PartsFen, w.LabourFen = results, c.Findings, c.PartsFen, c.LabourFen
		w.CompletedAt, w.TechSign = &now, &SignOff{By: actor.ID, At: now, Signature: c.Signature}
		return to, nil
	})
	if err != nil {
		return nil, err
	}
	if unverified != nil {
		if _, err := s.Store.RecordEvent(ctx, SupervisionEvent{Key: fmt.Sprintf("unverified/%d/%d", w.ID, len(w.History)),
			Kind: EventUnverified, Lift: w.Lift, Estate: w.Estate, Contractor: w.Contractor, WorkOrder: w.ID, At: s.Now(),
			Summary: fmt.Sprintf("%s visit %d signed by %s without inspection-mode evidence: %v in inspection mode, %v required",
				w.Level, w.ID, actor.ID, w.Proof.Observed, w.Proof.Required)}); err != nil {
			return w, err
		}
		if _, err := s.Deliver(ctx); err != nil {
			s.log().Warn("supervision event pending", "err", err)
		}
	}
	return w, nil
}

// prove measures the inspection-mode time of w's lift between the start of
// its window (or of the work, if earlier) and now.
func (s *Service) prove(ctx context.Context, w *WorkOrder, now time.Time) (*Proof, error) {
	p := s.Policies.For(w.Estate)
	pr := &Proof{Required: time.Duration(p.ProofMinutes[w.Level-1]) * time.Minute}
	from := w.WindowStart
	if w.StartedAt != nil && w.StartedAt.Before(from) {
		from = *w.StartedAt
	}
	if s.Sessions != nil {
		ss, err := s.Sessions.InspectionSessions(ctx, w.Lift, from, now)
		if err != nil {
			return nil, fmt.Errorf("inspection sessions of %s: %w", w.Lift, err)
		}
		pr.Observed = Overlap(ss, from, now)
	}
	pr.Verified = pr.Observed >= pr.Required
	return pr, nil
}

// Overlap is the time sessions cover within [from, to), each instant
// counted once even where sessions overlap.
func Overlap(ss []Session, from, to time.Time) time.Duration {
	var total time.Duration
	covered := from // everything before covered is counted
	for _, x := range sortedSessions(ss) {
		st, en := x.Start, x.End
		if st.Before(covered) {
			st = covered
		}
		if en.After(to) {
			en = to
		}
		if en.After(st) {
			total += en.Sub(st)
			covered = en
		}
	}
	return total
}

func sortedSessions(ss []Session) []Session {
	out := append([]Session(nil), ss...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Start.Before(out[j-1].Start); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Accept is the manager's acceptance. Accepting an unverified visit needs
// a note saying why (it stays marked unproven in its Proof).
func (s *Service) Accept(ctx context.Context, id int64, actor Actor, note string) (*WorkOrder, error) {
	return s.transition(ctx, id, ActAccept, actor, note, func(w *WorkOrder, now time.Time) (State, error) {
		if w.State == StateUnverified && strings.TrimSpace(note) == "" {
			return "", fmt.Errorf("%w: accepting an unverified visit needs a note", ErrInvalid)
		}
		w.ManagerSign = &SignOff{By: actor.ID, At: now}
		return StateVerified, nil
	})
}

// Reject sends signed work back to the technician.
func (s *Service) Reject(ctx context.Context, id int64, actor Actor, reason string) (*WorkOrder, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: reject needs a reason", ErrInvalid)
	}
	return s.transition(ctx, id, ActReject, actor, reason, func(w *WorkOrder, _ time.Time) (State, error) {
		w.CompletedAt, w.TechSign, w.Proof = nil, nil, nil
		return StateInProgress, nil
	})
}

// Cancel withdraws work not yet signed; the need may then be planned
// again.
func (s *Service) Cancel(ctx context.Context, id int64, actor Actor, reason string) (*WorkOrder, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, fmt.Errorf("%w: cancel needs a reason", ErrInvalid)
	}
	return s.transition(ctx, id, ActCancel, actor, reason, func(*WorkOrder, time.Time) (State, error) {
		return StateCancelled, nil
	})
}
