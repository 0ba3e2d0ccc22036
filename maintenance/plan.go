package maintenance

import (
	"fmt"
	"math"
	"strings"
)

// Mode is how a lift's routine visits are scheduled.
type Mode string

// Modes.
const (
	Periodic Mode = "periodic"  // TSG T5002 fixed cycle
	OnDemand Mode = "on_demand" // 按需维保: interval from usage and health
)

// Usage is a lift's measured use and health, from its counters and alerts.
type Usage struct {
	TripsPerDay      float64 // mean over the counters' recent window
	DoorCyclesPerDay float64
	RunHoursPerDay   float64
	// Days is how many days the means cover (from the oldest counter
	// reading in the window to the newest); fewer than the policy's
	// MinUsageDays and on-demand falls back to periodic.
	Days float64
	// Health over the last 90 days.
	Faults90, Alarms90, Entrapments90, Callouts90 int
}

// Qualification says whether a lift may use on-demand maintenance (SAMR
// 2020 No. 56): monitoring online, insured, contractor in good standing.
type Qualification struct {
	MonitoringOnline bool
	Insured          bool
	ContractorGood   bool
}

// reason is why q does not qualify, "" if it does.
func (q Qualification) reason() string {
	var miss []string
	if !q.MonitoringOnline {
		miss = append(miss, "monitoring not online")
	}
	if !q.Insured {
		miss = append(miss, "not insured")
	}
	if !q.ContractorGood {
		miss = append(miss, "contractor not in good standing")
	}
	return strings.Join(miss, ", ")
}

// PlanInput is everything a lift's routine plan depends on.
type PlanInput struct {
	// Last is, per level (index level-1), the last day a visit of that
	// level or higher was completed; 0 means none since Baseline.
	Last [nLevels]Day
	// Baseline stands for every level with no completed visit: the
	// commissioning or hand-over date (the acceptance inspection).
	Baseline Day
	// WantOnDemand: the manager chose on-demand for this lift.
	WantOnDemand bool
	Qual         Qualification
	Usage        Usage
}

// Plan is a lift's next routine visit and why.
type Plan struct {
	Mode  Mode
	Due   Day   // the next visit's due date
	Level Level // the highest level due on that date
	// LevelDue is each level's own due date (index level-1).
	LevelDue [nLevels]Day
	// IntervalDays is the interval between visits: 15 periodic, or the
	// on-demand formula's result.
	IntervalDays int
	Basis        Basis
}

// Basis is the figures behind an on-demand interval, or the reason a lift
// that asked for on-demand fell back to periodic. Rendered by String.
type Basis struct {
	Usage        Usage
	Load         float64 // 0..1
	UsageDays    float64 // interval from usage alone
	HealthPoints float64
	Health       float64 // 0..1
	Fallback     string  // why on-demand was refused
	Floor, Ceil  int
	mode         Mode
	days         int
	halfMonthly  int
}

// String explains the plan's interval in one line, e.g. "62 trips/day, 75
// door cycles/day, 0.31 running h/day (load 41%); no faults, alarms,
// entrapments or call-outs in 90 days → 39 days (floor 10, ceiling 60)".
func (b Basis) String() string {
	if b.mode == Periodic {
		if b.Fallback != "" {
			return fmt.Sprintf("periodic every %d days: on-demand refused (%s)", b.halfMonthly, b.Fallback)
		}
		return fmt.Sprintf("periodic every %d days (TSG T5002)", b.halfMonthly)
	}
	u := b.Usage
	health := "no faults, alarms, entrapments or call-outs in 90 days"
	if b.HealthPoints > 0 {
		health = fmt.Sprintf("%d faults, %d alarms, %d entrapments, %d call-outs in 90 days (%.1f points, health %.0f%%)",
			u.Faults90, u.Alarms90, u.Entrapments90, u.Callouts90, b.HealthPoints, b.Health*100)
	}
	return fmt.Sprintf("%.0f trips/day, %.0f door cycles/day, %.2f running h/day (load %.0f%%); %s → %d days (floor %d, ceiling %d)",
		u.TripsPerDay, u.DoorCyclesPerDay, u.RunHoursPerDay, b.Load*100, health, b.days, b.Floor, b.Ceil)
}

// OnDemandDays is the on-demand formula (docs/maintenance.md):
//
//	load      = min(1, max(trips/ref_trips, door_cycles/ref_door_cycles, run_hours/ref_run_hours))
//	usageDays = ceiling − (ceiling − floor) × load
//	points    = fault_points×faults + alarm_points×alarms + callout_points×callouts + entrapment_points×entrapments
//	health    = max(0, 1 − points/health_zero_points)
//	days      = floor + ⌊(usageDays − floor) × health⌋, within [floor, ceiling]
func (o *OnDemandPolicy) OnDemandDays(u Usage) (int, Basis) {
	load := math.Max(u.TripsPerDay/o.RefTripsPerDay, math.Max(u.DoorCyclesPerDay/o.RefDoorCyclesPerDay, u.RunHoursPerDay/o.RefRunHoursPerDay))
	if !(load > 0) { // also NaN
		load = 0
	}
	load = math.Min(load, 1)
	floor, ceil := float64(o.FloorDays), float64(o.CeilingDays)
	usageDays := ceil - (ceil-floor)*load
	points := o.FaultPoints*float64(u.Faults90) + o.AlarmPoints*float64(u.Alarms90) +
		o.CalloutPoints*float64(u.Callouts90) + o.EntrapmentPoints*float64(u.Entrapments90)
	health := math.Max(0, 1-points/o.HealthZeroPoints)
	days := o.FloorDays + int(math.Floor((usageDays-floor)*health+1e-9))
	days = min(max(days, o.FloorDays), o.CeilingDays)
	return days, Basis{Usage: u, Load: load, UsageDays: usageDays, HealthPoints: points, Health: health,
		Floor: o.FloorDays, Ceil: o.CeilingDays, mode: OnDemand, days: days}
}

// ComputePlan is the next routine visit of a lift under p. Each level's due
// date floats from the last completed visit of that level (or higher: the
// levels are cumulative): due[l] = last[l] + interval[l], where the
// half-monthly interval is 15 days, or the on-demand days for a qualified
// on-demand lift. The visit is on the earliest of those dates, at the
// highest level due by then, so no level's regulatory maximum is ever
// exceeded by the plan.
func (p *Policy) ComputePlan(in *PlanInput) Plan {
	var pl Plan
	pl.Mode = Periodic
	pl.IntervalDays = p.IntervalDays[0]
	if in.WantOnDemand {
		if why := in.Qual.reason(); why != "" {
			pl.Basis.Fallback = why
		} else if in.Usage.Days < float64(p.OnDemand.MinUsageDays) {
			pl.Basis.Fallback = fmt.Sprintf("usage measured over %.1f days, needs %d", in.Usage.Days, p.OnDemand.MinUsageDays)
		} else {
			pl.Mode = OnDemand
			pl.IntervalDays, pl.Basis = p.OnDemand.OnDemandDays(in.Usage)
		}
	}
	pl.Basis.mode, pl.Basis.halfMonthly = pl.Mode, p.IntervalDays[0]
	pl.Due = math.MaxInt32
	for i := 0; i < nLevels; i++ {
		last := in.Last[i]
		if last == 0 {
			last = in.Baseline
		}
		iv := p.IntervalDays[i]
		if i == 0 {
			iv = pl.IntervalDays
		}
		pl.LevelDue[i] = last + Day(iv)
		if pl.LevelDue[i] < pl.Due {
			pl.Due = pl.LevelDue[i]
		}
	}
	pl.Level = HalfMonthly
	for i := nLevels - 1; i >= 0; i-- {
		if pl.LevelDue[i] <= pl.Due {
			pl.Level = Level(i + 1)
			break
		}
	}
	return pl
}

// Visit is a completed routine visit, as history for planning.
type Visit struct {
	Day   Day
	Level Level
}

// LastByLevel folds completed visits into PlanInput.Last: a visit of level
// l counts for every level up to l.
func LastByLevel(visits []Visit) [nLevels]Day {
	var last [nLevels]Day
	for _, v := range visits {
		for i := 0; i < int(v.Level) && i < nLevels; i++ {
			if v.Day > last[i] {
				last[i] = v.Day
			}
		}
	}
	return last
}
