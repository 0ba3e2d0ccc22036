package api

import (
	"fmt"
	"math"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// View types of the maintenance routes (see view.go for the conventions).
// Calendar dates (plan days, contract days) are YYYY-MM-DD Shanghai dates;
// instants are TimeFormat.

// PlanView is a lift's routine plan, and why its date is what it is.
type PlanView struct {
	Lift   string `json:"lift"`
	Estate string `json:"estate"`
	// Mode is periodic or on_demand; OnDemandRequested says the manager
	// asked for on-demand, OnDemandRefused why it was not granted.
	Mode              string `json:"mode"`
	OnDemandRequested bool   `json:"on_demand_requested"`
	OnDemandRefused   string `json:"on_demand_refused,omitempty"`
	Due               string `json:"due"`   // the next visit's date
	Level             string `json:"level"` // the highest level due on it
	IntervalDays      int    `json:"interval_days"`
	// Reason is the domain's one-line explanation of the interval, e.g.
	// "62 trips/day, … → 45 days (floor 10, ceiling 60)".
	Reason       string             `json:"reason"`
	Commissioned string             `json:"commissioned"`
	Levels       []PlanLevelView    `json:"levels"`
	Basis        *OnDemandBasisView `json:"on_demand_basis,omitempty"`
	CertExpiry   string             `json:"certificate_expires,omitempty"`
}

// PlanLevelView is one level's own due date and what it counts from.
type PlanLevelView struct {
	Level string `json:"level"`
	Due   string `json:"due"`
	// LastDone is the last visit of this level or higher signed done;
	// without one the level counts from the commissioning date.
	LastDone     string `json:"last_done,omitempty"`
	CountedFrom  string `json:"counted_from"`
	IntervalDays int    `json:"interval_days"`
}

// OnDemandBasisView is the figures of the on-demand formula
// (docs/maintenance.md).
type OnDemandBasisView struct {
	TripsPerDay      float64 `json:"trips_per_day"`
	DoorCyclesPerDay float64 `json:"door_cycles_per_day"`
	RunHoursPerDay   float64 `json:"run_hours_per_day"`
	Faults90         int     `json:"faults_90d"`
	Alarms90         int     `json:"alarms_90d"`
	Entrapments90    int     `json:"entrapments_90d"`
	Callouts90       int     `json:"callouts_90d"`
	Load             float64 `json:"load"`
	UsageDays        float64 `json:"usage_days"`
	HealthPoints     float64 `json:"health_points"`
	Health           float64 `json:"health"`
	FloorDays        int     `json:"floor_days"`
	CeilingDays      int     `json:"ceiling_days"`
}

func dayStr(d maintenance.Day) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func planView(lp *LiftPlan) PlanView {
	p := &lp.Plan
	v := PlanView{Lift: lp.Lift.ID, Estate: lp.Lift.Estate, Mode: string(p.Mode), OnDemandRequested: lp.Lift.OnDemand,
		OnDemandRefused: p.Basis.Fallback, Due: p.Due.String(), Level: p.Level.String(), IntervalDays: p.IntervalDays,
		Reason: p.Basis.String(), Commissioned: dayStr(lp.Lift.Commissioned), CertExpiry: dayStr(lp.Lift.CertExpiry)}
	for i, l := range checklist.Levels {
		from := lp.Last[i]
		if from == 0 {
			from = lp.Lift.Commissioned
		}
		v.Levels = append(v.Levels, PlanLevelView{Level: l.String(), Due: p.LevelDue[i].String(), LastDone: dayStr(lp.Last[i]),
			CountedFrom: dayStr(from), IntervalDays: int(p.LevelDue[i] - from)})
	}
	if p.Mode == maintenance.OnDemand {
		b, u := &p.Basis, p.Basis.Usage
		v.Basis = &OnDemandBasisView{TripsPerDay: u.TripsPerDay, DoorCyclesPerDay: u.DoorCyclesPerDay, RunHoursPerDay: u.RunHoursPerDay,
			Faults90: u.Faults90, Alarms90: u.Alarms90, Entrapments90: u.Entrapments90, Callouts90: u.Callouts90,
			Load: b.Load, UsageDays: b.UsageDays, HealthPoints: b.HealthPoints, Health: b.Health, FloorDays: b.Floor, CeilingDays: b.Ceil}
	}
	return v
}

// SignOffView is a signature on a work order.
type SignOffView struct {
	By        string `json:"by"`
	At        string `json:"at"`
	Signature string `json:"signature,omitempty"`
}

func signOffView(s *maintenance.SignOff) *SignOffView {
	if s == nil {
		return nil
	}
	return &SignOffView{By: s.By, At: ts(s.At), Signature: s.Signature}
}

// ProofView is the telemetry evidence of a routine visit: minutes in
// inspection mode in the order's window against the level's minimum.
type ProofView struct {
	Verified    bool    `json:"verified"`
	RequiredMin float64 `json:"required_minutes"`
	ObservedMin float64 `json:"observed_minutes"`
}

// WorkOrderView is a work order in a list.
type WorkOrderView struct {
	ID          int64        `json:"id"`
	Lift        string       `json:"lift"`
	Estate      string       `json:"estate"`
	Kind        string       `json:"kind"`
	Level       string       `json:"level,omitempty"`     // routine
	Component   string       `json:"component,omitempty"` // component
	Reason      string       `json:"reason"`
	State       string       `json:"state"`
	Overdue     bool         `json:"overdue"`
	WindowStart string       `json:"window_start"`
	Due         string       `json:"due"`
	Contractor  string       `json:"contractor"`
	Technician  string       `json:"technician,omitempty"`
	CreatedAt   string       `json:"created_at"`
	StartedAt   string       `json:"started_at,omitempty"`
	CompletedAt string       `json:"completed_at,omitempty"`
	Findings    string       `json:"findings,omitempty"`
	PartsFen    int64        `json:"parts_fen"`
	LabourFen   int64        `json:"labour_fen"`
	TechSign    *SignOffView `json:"technician_sign_off,omitempty"`
	ManagerSign *SignOffView `json:"manager_sign_off,omitempty"`
	Proof       *ProofView   `json:"proof,omitempty"`
}

// WorkOrderDetail is one work order with its checklist and history.
type WorkOrderDetail struct {
	WorkOrderView
	// Checklist is, for a routine visit, every item of its level with the
	// result recorded so far (none yet: no result); for other kinds the
	// items recorded.
	Checklist []ChecklistEntryView `json:"checklist"`
	History   []WorkOrderEventView `json:"history"`
}

// ChecklistItemView is one TSG T5002 annex A item.
type ChecklistItemView struct {
	Code  string `json:"code"`
	Level string `json:"level"`
	ZH    string `json:"zh"`
	EN    string `json:"en"`
	// NeedsValueOrPhoto: a test item; its record needs a measured value or
	// a photo unless marked na.
	NeedsValueOrPhoto bool `json:"needs_value_or_photo"`
}

func checklistItemView(it *checklist.Item) ChecklistItemView {
	return ChecklistItemView{Code: it.Code, Level: it.Level.String(), ZH: it.ZH, EN: it.EN, NeedsValueOrPhoto: it.Test}
}

// ChecklistEntryView is a checklist item of a work order and its result.
type ChecklistEntryView struct {
	ChecklistItemView
	Result string `json:"result,omitempty"` // pass, fail, na; empty: not recorded yet
	Value  string `json:"value,omitempty"`
	Photo  string `json:"photo,omitempty"`
	Note   string `json:"note,omitempty"`
}

// WorkOrderEventView is one entry of a work order's history.
type WorkOrderEventView struct {
	At     string `json:"at"`
	Action string `json:"action"`
	Actor  string `json:"actor"`
	From   string `json:"from,omitempty"`
	To     string `json:"to"`
	Note   string `json:"note,omitempty"`
}

func minutes(d time.Duration) float64 { return math.Round(d.Minutes()*10) / 10 }

func workOrderView(o *maintenance.WorkOrder, now time.Time) WorkOrderView {
	v := WorkOrderView{ID: o.ID, Lift: o.Lift, Estate: o.Estate, Kind: string(o.Kind), Component: o.Component, Reason: o.Reason,
		State: string(o.State), Overdue: o.Overdue(now), WindowStart: ts(o.WindowStart), Due: ts(o.Due), Contractor: o.Contractor,
		Technician: o.Technician, CreatedAt: ts(o.CreatedAt), StartedAt: tsp(o.StartedAt), CompletedAt: tsp(o.CompletedAt),
		Findings: o.Findings, PartsFen: o.PartsFen, LabourFen: o.LabourFen, TechSign: signOffView(o.TechSign),
		ManagerSign: signOffView(o.ManagerSign)}
	if o.Kind == maintenance.KindRoutine {
		v.Level = o.Level.String()
	}
	if o.Proof != nil {
		v.Proof = &ProofView{Verified: o.Proof.Verified, RequiredMin: minutes(o.Proof.Required), ObservedMin: minutes(o.Proof.Observed)}
	}
	return v
}

func workOrderDetail(o *maintenance.WorkOrder, now time.Time) WorkOrderDetail {
	d := WorkOrderDetail{WorkOrderView: workOrderView(o, now), Checklist: []ChecklistEntryView{}, History: []WorkOrderEventView{}}
	byCode := map[string]*maintenance.ItemResult{}
	for i := range o.Results {
		byCode[o.Results[i].Code] = &o.Results[i]
	}
	entry := func(it *checklist.Item) ChecklistEntryView {
		e := ChecklistEntryView{ChecklistItemView: checklistItemView(it)}
		if r := byCode[it.Code]; r != nil {
			e.Result, e.Value, e.Photo, e.Note = string(r.Result), r.Value, r.Photo, r.Note
		}
		return e
	}
	if o.Kind == maintenance.KindRoutine {
		items := checklist.For(o.Level)
		for i := range items {
			d.Checklist = append(d.Checklist, entry(&items[i]))
		}
	} else {
		for _, r := range o.Results {
			it, ok := checklist.Lookup(r.Code)
			if !ok {
				it = checklist.Item{Code: r.Code}
			}
			d.Checklist = append(d.Checklist, entry(&it))
		}
	}
	for _, e := range o.History {
		d.History = append(d.History, WorkOrderEventView{At: ts(e.At), Action: e.Action, Actor: e.Actor, From: string(e.From),
			To: string(e.To), Note: e.Note})
	}
	return d
}

// SupervisionView is one supervision item: an event maintenance raised
// (overdue, unverified, inspection due or lapsed), or a contract finding
// of trusteeship (no valid contract, contract expiring) as of now.
type SupervisionView struct {
	Source     string `json:"source"` // maintenance or trusteeship
	Kind       string `json:"kind"`
	Key        string `json:"key"`
	Lift       string `json:"lift"`
	Estate     string `json:"estate"`
	Contractor string `json:"contractor,omitempty"`
	WorkOrder  int64  `json:"work_order,omitempty"`
	At         string `json:"at"`
	Summary    string `json:"summary"`
	// Trusteeship findings: the lift's manager, cover and days left.
	Manager      string `json:"manager,omitempty"`
	CoveredUntil string `json:"covered_until,omitempty"`
	DaysLeft     *int   `json:"days_left,omitempty"`

	sortKey string
}

func supervisionEventView(e *maintenance.SupervisionEvent) SupervisionView {
	return SupervisionView{Source: "maintenance", Kind: e.Kind, Key: e.Key, Lift: e.Lift, Estate: e.Estate, Contractor: e.Contractor,
		WorkOrder: e.WorkOrder, At: ts(e.At), Summary: e.Summary, sortKey: timeKey(e.At, "m/"+e.Key)}
}

func findingView(f *trusteeship.Finding, now time.Time) SupervisionView {
	v := SupervisionView{Source: "trusteeship", Kind: string(f.Kind), Key: fmt.Sprintf("%s/%s/%s", f.Kind, f.Lift, f.On),
		Lift: f.Lift, Estate: f.Estate, At: ts(now)}
	if f.Manager != nil {
		v.Manager = f.Manager.Name
	}
	switch f.Kind {
	case trusteeship.NoContract:
		v.Summary = fmt.Sprintf("lift %s has no valid maintenance contract on %s", f.Lift, f.On)
	default:
		days := f.DaysLeft
		v.DaysLeft, v.CoveredUntil = &days, f.CoveredUntil.String()
		v.Summary = fmt.Sprintf("maintenance cover of lift %s ends %s (%d days left)", f.Lift, f.CoveredUntil, f.DaysLeft)
	}
	if f.Contract != nil {
		v.Contractor = f.Contract.Contractor
	}
	v.sortKey = timeKey(now, "t/"+v.Key)
	return v
}

// ComplianceView is one contractor's month (docs/maintenance.md,
// "Compliance report"); a figure with no denominator is null.
type ComplianceView struct {
	Month               string   `json:"month"`
	Contractor          string   `json:"contractor"`
	Lifts               int      `json:"lifts"`
	OrdersDue           int      `json:"orders_due"`
	OnTime              int      `json:"on_time"`
	OnTimePct           *float64 `json:"on_time_pct"`
	Visits              int      `json:"visits"`
	Verified            int      `json:"verified"`
	VerifiedPct         *float64 `json:"verified_pct"`
	MeanVisitMin        *float64 `json:"mean_visit_minutes"`
	Callouts            int      `json:"callouts"`
	CalloutsPerLiftYear *float64 `json:"callouts_per_lift_year"`
	RescueArrivals      int      `json:"rescue_arrivals"`
	MeanArrivalMin      *float64 `json:"mean_arrival_minutes"`
	MaxArrivalMin       *float64 `json:"max_arrival_minutes"`
	LateArrivals        int      `json:"late_arrivals"`
	ProblemLifts        int      `json:"problem_lifts"`
}

func opt(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	r := math.Round(v*10) / 10
	return &r
}

func complianceView(c *maintenance.Compliance) ComplianceView {
	v := ComplianceView{Month: c.Month, Contractor: c.Contractor, Lifts: c.Lifts, OrdersDue: c.Due, OnTime: c.OnTime,
		OnTimePct: opt(c.OnTimePct()), Visits: c.Visits, Verified: c.Verified, VerifiedPct: opt(c.VerifiedPct()),
		MeanVisitMin: opt(c.MeanVisitMinutes()), Callouts: c.Callouts, CalloutsPerLiftYear: opt(c.CalloutsPerLiftYear()),
		RescueArrivals: c.Arrivals, MeanArrivalMin: opt(c.MeanArrivalMinutes()), LateArrivals: c.LateArrivals, ProblemLifts: c.ProblemLifts}
	if c.Arrivals > 0 {
		v.MaxArrivalMin = opt(c.ArrivalMax.Minutes(), true)
	}
	return v
}
