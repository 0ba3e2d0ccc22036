package demohistory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
)

// handOver records, for every lift with no signed routine visit, the
// hand-over the history starts from: the contractor took the lift over one
// to fourteen days before the span with a full (annual-level) visit,
// proven by its inspection-mode session and accepted by the manager. Every
// level then falls due from that day — the first half-monthly visits
// spread over the span's first two weeks — for the history's planner and
// for the service's alike, since both plan from the stored visits (a
// baseline kept only in the history's memory would leave the service, which
// plans from the lifts' install dates, with every higher level overdue
// since installation). Its need key, handover/<lift>, makes it once.
func (h *history) handOver(ctx context.Context) error {
	hist, err := h.d.Maintenance.RoutineHistory(ctx)
	if err != nil {
		return fmt.Errorf("routine history: %w", err)
	}
	for _, l := range h.d.Lifts {
		if len(hist[l.ID]) > 0 || l.Contractor == "" {
			continue
		}
		p := h.d.Policies.For(l.Estate)
		r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "handover", l.ID), 0))
		day := maintenance.DayOf(h.from) - maintenance.Day(1+r.IntN(14))
		start := day.Start().Add(9*time.Hour + time.Duration(r.IntN(120))*time.Minute)
		hold := 100*time.Minute + time.Duration(r.IntN(50))*time.Minute
		done := start.Add(hold + 5*time.Minute)
		accepted := day.Start().Add(18 * time.Hour)
		tech := "交接检查组"
		var results []maintenance.ItemResult
		for _, it := range checklist.For(maintenance.Annual) {
			res := maintenance.ItemResult{Code: it.Code, Result: maintenance.Pass}
			if it.Test {
				res.Value = "ok (hand-over)"
			}
			results = append(results, res)
		}
		const note = "hand-over: full visit when the contract was taken over"
		w := &maintenance.WorkOrder{Lift: l.ID, Estate: l.Estate, Kind: maintenance.KindRoutine, Level: maintenance.Annual,
			NeedKey: "handover/" + l.ID, Reason: note, State: maintenance.StateVerified,
			WindowStart: day.Start(), Due: day.End(), Contractor: l.Contractor, Technician: tech,
			CreatedAt: day.Start(), StartedAt: &start, CompletedAt: &done, Results: results, Findings: "all items passed at hand-over",
			TechSign:    &maintenance.SignOff{By: l.Contractor, At: done, Signature: tech},
			ManagerSign: &maintenance.SignOff{By: ActorManager, At: accepted, Signature: ActorManager},
			Proof:       &maintenance.Proof{Required: time.Duration(p.ProofMinutes[maintenance.Annual-1]) * time.Minute, Observed: hold, Verified: true},
			History: []maintenance.Event{
				{At: day.Start(), Action: "created", Actor: ActorHistory, To: maintenance.StateAssigned, Note: note},
				{At: start, Action: string(maintenance.ActStart), Actor: l.Contractor, From: maintenance.StateAssigned, To: maintenance.StateInProgress, Note: tech},
				{At: done, Action: string(maintenance.ActComplete), Actor: l.Contractor, From: maintenance.StateInProgress, To: maintenance.StateCompleted},
				{At: accepted, Action: string(maintenance.ActAccept), Actor: ActorManager, From: maintenance.StateCompleted, To: maintenance.StateVerified, Note: "hand-over accepted"},
			}}
		created, err := h.d.Maintenance.CreateWorkOrder(ctx, w)
		if err != nil {
			return fmt.Errorf("hand-over visit of %s: %w", l.ID, err)
		}
		if created {
			h.sessions.Add(l.ID, start, hold)
		}
	}
	return nil
}
