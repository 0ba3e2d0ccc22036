package maintenance

import (
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/maintenance/checklist"
)

// Level is a TSG T5002 maintenance level (see checklist.Level).
type Level = checklist.Level

// The levels, re-exported for callers of this package.
const (
	HalfMonthly = checklist.HalfMonthly
	Quarterly   = checklist.Quarterly
	SemiAnnual  = checklist.SemiAnnual
	Annual      = checklist.Annual
)

// nLevels is the number of levels; arrays indexed by level use index l-1.
const nLevels = 4

// OnDemandPolicy holds the on-demand (按需维保) formula's parameters
// (docs/maintenance.md, "On-demand formula").
type OnDemandPolicy struct {
	// FloorDays and CeilingDays bound the interval between visits.
	FloorDays   int `json:"floor_days" yaml:"floor_days"`
	CeilingDays int `json:"ceiling_days" yaml:"ceiling_days"`
	// Reference usage: a lift at or above any of these per day is fully
	// loaded (interval at the floor before health).
	RefTripsPerDay      float64 `json:"ref_trips_per_day" yaml:"ref_trips_per_day"`
	RefDoorCyclesPerDay float64 `json:"ref_door_cycles_per_day" yaml:"ref_door_cycles_per_day"`
	RefRunHoursPerDay   float64 `json:"ref_run_hours_per_day" yaml:"ref_run_hours_per_day"`
	// Health points per event in the last 90 days; HealthZeroPoints or
	// more bring the interval down to the floor.
	FaultPoints      float64 `json:"fault_points" yaml:"fault_points"`
	AlarmPoints      float64 `json:"alarm_points" yaml:"alarm_points"`
	CalloutPoints    float64 `json:"callout_points" yaml:"callout_points"`
	EntrapmentPoints float64 `json:"entrapment_points" yaml:"entrapment_points"`
	HealthZeroPoints float64 `json:"health_zero_points" yaml:"health_zero_points"`
	// UsageWindowDays: the daily means are taken over the counters of
	// this many days; MinUsageDays: with fewer days measured the lift
	// stays periodic (its usage is not known yet).
	UsageWindowDays int `json:"usage_window_days" yaml:"usage_window_days"`
	MinUsageDays    int `json:"min_usage_days" yaml:"min_usage_days"`
}

// MeterRule services a component every Every counts of a counter.
type MeterRule struct {
	Component string `json:"component" yaml:"component"` // e.g. "door_operator"
	Counter   string `json:"counter" yaml:"counter"`     // trips, door_cycles or run_hours
	Every     int64  `json:"every" yaml:"every"`
	DueDays   int    `json:"due_days" yaml:"due_days"` // due this many days after the crossing
}

// Counter names a meter rule may use.
const (
	CounterTrips      = "trips"
	CounterDoorCycles = "door_cycles"
	CounterRunHours   = "run_hours"
)

// Policy holds maintenance rules. Defaults come from the domain rules;
// operators override them per estate.
type Policy struct {
	// IntervalDays is each level's regulatory maximum, indexed by level-1:
	// 15, 90, 180, 365 days (TSG T5002).
	IntervalDays [nLevels]int `json:"interval_days" yaml:"interval_days"`
	// RoutineLeadDays: a routine work order is created this many days
	// before its due date (and may be done from then on: its window).
	RoutineLeadDays int `json:"routine_lead_days" yaml:"routine_lead_days"`
	// ProofMinutes is, per level, how long the lift must have been in
	// inspection mode during a routine order's window for the visit to
	// count as verified.
	ProofMinutes [nLevels]int   `json:"proof_minutes" yaml:"proof_minutes"`
	OnDemand     OnDemandPolicy `json:"on_demand" yaml:"on_demand"`
	// CorrectiveWithin: a root-cause check after an entrapment, critical
	// fault or problem-lift alert is due this long after the incident.
	CorrectiveWithin time.Duration `json:"corrective_within" yaml:"corrective_within"`
	// InspectionLeadDays: the inspection reminder and work order come this
	// many days before the certificate expires (apply at least a month
	// ahead: TSG T7001).
	InspectionLeadDays int `json:"inspection_lead_days" yaml:"inspection_lead_days"`
	// ProblemLiftCallouts: more call-outs than this in 12 months make a
	// problem lift.
	ProblemLiftCallouts int         `json:"problem_lift_callouts" yaml:"problem_lift_callouts"`
	Meters              []MeterRule `json:"meters,omitempty" yaml:"meters,omitempty"`
}

// DefaultPolicy is the domain's figures.
func DefaultPolicy() Policy {
	return Policy{
		IntervalDays:    [nLevels]int{15, 90, 180, 365},
		RoutineLeadDays: 3,
		ProofMinutes:    [nLevels]int{20, 30, 45, 60},
		OnDemand: OnDemandPolicy{
			FloorDays: 10, CeilingDays: 60,
			RefTripsPerDay: 150, RefDoorCyclesPerDay: 195, RefRunHoursPerDay: 0.75,
			FaultPoints: 1, AlarmPoints: 0.5, CalloutPoints: 2, EntrapmentPoints: 4, HealthZeroPoints: 10,
			UsageWindowDays: 30, MinUsageDays: 7,
		},
		CorrectiveWithin:    24 * time.Hour,
		InspectionLeadDays:  31,
		ProblemLiftCallouts: 4,
		Meters: []MeterRule{
			{Component: "door_operator", Counter: CounterDoorCycles, Every: 500_000, DueDays: 15},
			{Component: "traction_ropes", Counter: CounterTrips, Every: 1_000_000, DueDays: 30},
		},
	}
}

// Validate says precisely what is wrong with a policy.
func (p *Policy) Validate() error {
	for i := 0; i < nLevels; i++ {
		if p.IntervalDays[i] <= 0 || (i > 0 && p.IntervalDays[i] < p.IntervalDays[i-1]) {
			return fmt.Errorf("interval_days %v: must be positive and non-decreasing by level", p.IntervalDays)
		}
		if p.ProofMinutes[i] < 0 {
			return fmt.Errorf("proof_minutes %v: must not be negative", p.ProofMinutes)
		}
	}
	if p.RoutineLeadDays < 0 || p.RoutineLeadDays >= p.IntervalDays[0] {
		return fmt.Errorf("routine_lead_days %d must be in 0..%d", p.RoutineLeadDays, p.IntervalDays[0]-1)
	}
	o := &p.OnDemand
	switch {
	case o.FloorDays <= 0 || o.CeilingDays < o.FloorDays:
		return fmt.Errorf("on_demand floor_days %d and ceiling_days %d: want 0 < floor ≤ ceiling", o.FloorDays, o.CeilingDays)
	case o.CeilingDays > p.IntervalDays[1]:
		return fmt.Errorf("on_demand ceiling_days %d exceeds the quarterly interval %d", o.CeilingDays, p.IntervalDays[1])
	case o.RefTripsPerDay <= 0 || o.RefDoorCyclesPerDay <= 0 || o.RefRunHoursPerDay <= 0:
		return fmt.Errorf("on_demand ref_trips_per_day, ref_door_cycles_per_day and ref_run_hours_per_day must be positive")
	case o.FaultPoints < 0 || o.AlarmPoints < 0 || o.CalloutPoints < 0 || o.EntrapmentPoints < 0 || o.HealthZeroPoints <= 0:
		return fmt.Errorf("on_demand points must not be negative and health_zero_points must be positive")
	case o.MinUsageDays < 0 || o.UsageWindowDays < 1 || o.UsageWindowDays > 90 || o.MinUsageDays > o.UsageWindowDays:
		return fmt.Errorf("on_demand usage_window_days %d and min_usage_days %d: want 0 ≤ min ≤ window ≤ 90, window ≥ 1", o.UsageWindowDays, o.MinUsageDays)
	case p.CorrectiveWithin <= 0:
		return fmt.Errorf("corrective_within must be positive")
	case p.InspectionLeadDays < 0:
		return fmt.Errorf("inspection_lead_days must not be negative")
	case p.ProblemLiftCallouts < 1:
		return fmt.Errorf("problem_lift_callouts must be at least 1")
	}
	seen := map[string]bool{}
	for i, m := range p.Meters {
		switch {
		case m.Component == "" || seen[m.Component]:
			return fmt.Errorf("meters[%d]: component must be named and unique", i)
		case m.Counter != CounterTrips && m.Counter != CounterDoorCycles && m.Counter != CounterRunHours:
			return fmt.Errorf("meters[%d].counter %q: want trips, door_cycles or run_hours", i, m.Counter)
		case m.Every <= 0 || m.DueDays < 0:
			return fmt.Errorf("meters[%d]: every must be positive and due_days not negative", i)
		}
		seen[m.Component] = true
	}
	return nil
}

// Policies are the default policy and per-estate overrides (whole policies:
// an override starts from the default and changes what it names).
type Policies struct {
	Default Policy
	Estates map[string]Policy
}

// For returns the policy of an estate.
func (ps *Policies) For(estate string) *Policy {
	if p, ok := ps.Estates[estate]; ok {
		return &p
	}
	return &ps.Default
}
