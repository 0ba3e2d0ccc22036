package maintenance

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Compliance is one contractor's record for one month (docs/maintenance.md,
// "Compliance report").
type Compliance struct {
	Contractor string
	Month      string // YYYY-MM (Shanghai)
	Lifts      int    // lifts it maintained at mid-month
	// Orders due in the month (routine, corrective, component; not
	// cancelled, not inspections, which the inspection body does).
	Due    int
	OnTime int // of those, signed done by their due time
	// Routine visits due in the month and signed done.
	Visits   int
	Verified int           // of those, proven by inspection mode
	VisitSum time.Duration // inspection-mode time of the proven visits
	// Call-outs in the month and their rescue arrivals.
	Callouts     int
	Arrivals     int           // call-outs with a known arrival time
	ArrivalSum   time.Duration //
	ArrivalMax   time.Duration
	LateArrivals int // arrivals over 30 minutes (TSG T5002 article 5)
	// ProblemLifts: its lifts with more than ProblemLiftCallouts call-outs
	// in the 12 months ending with this month.
	ProblemLifts int
	days         int
}

func pct(n, d int) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return 100 * float64(n) / float64(d), true
}

// OnTimePct is OnTime/Due in percent; ok is false with nothing due.
func (c *Compliance) OnTimePct() (float64, bool) { return pct(c.OnTime, c.Due) }

// VerifiedPct is Verified/Visits in percent.
func (c *Compliance) VerifiedPct() (float64, bool) { return pct(c.Verified, c.Visits) }

// MeanVisitMinutes is the mean inspection-mode time of proven visits.
func (c *Compliance) MeanVisitMinutes() (float64, bool) {
	if c.Verified == 0 {
		return 0, false
	}
	return c.VisitSum.Minutes() / float64(c.Verified), true
}

// CalloutsPerLiftYear annualises the month's call-outs per lift:
// callouts / lifts × 365 / days in the month.
func (c *Compliance) CalloutsPerLiftYear() (float64, bool) {
	if c.Lifts == 0 || c.days == 0 {
		return 0, false
	}
	return float64(c.Callouts) / float64(c.Lifts) * 365 / float64(c.days), true
}

// MeanArrivalMinutes is the mean rescue arrival time.
func (c *Compliance) MeanArrivalMinutes() (float64, bool) {
	if c.Arrivals == 0 {
		return 0, false
	}
	return c.ArrivalSum.Minutes() / float64(c.Arrivals), true
}

// Compliance reports every contractor's record for a month over the given
// lifts (orders and call-outs of other lifts are not counted), sorted by
// contractor. Orders count for the contractor they are assigned to.
func (s *Service) Compliance(ctx context.Context, year int, month time.Month, lifts []LiftInfo) ([]Compliance, error) {
	from := time.Date(year, month, 1, 0, 0, 0, 0, Shanghai)
	to := from.AddDate(0, 1, 0)
	days := int(DayOf(to) - DayOf(from))
	label := from.Format("2006-01")
	rows := map[string]*Compliance{}
	row := func(c string) *Compliance {
		r := rows[c]
		if r == nil {
			r = &Compliance{Contractor: c, Month: label, days: days}
			rows[c] = r
		}
		return r
	}
	mid := from.Add(to.Sub(from) / 2)
	estate := make(map[string]string, len(lifts))
	for _, l := range lifts {
		estate[l.ID] = l.Estate
	}
	for _, l := range lifts {
		c, err := s.Contractors.ContractorOf(ctx, l.ID, mid)
		if err != nil {
			return nil, fmt.Errorf("contractor of %s: %w", l.ID, err)
		}
		if c != "" {
			row(c).Lifts++
		}
	}
	orders, err := s.Store.WorkOrders(ctx, Filter{DueFrom: from, DueTo: to})
	if err != nil {
		return nil, fmt.Errorf("work orders of %s: %w", label, err)
	}
	for _, w := range orders {
		if _, in := estate[w.Lift]; !in || w.State == StateCancelled || w.Kind == KindInspection || w.Contractor == "" {
			continue
		}
		r := row(w.Contractor)
		r.Due++
		if w.CompletedOnTime() {
			r.OnTime++
		}
		if w.Kind == KindRoutine && w.State.Done() {
			r.Visits++
			if w.Proof != nil && w.Proof.Verified {
				r.Verified++
				r.VisitSum += w.Proof.Observed
			}
		}
	}
	if s.Callouts != nil {
		cs, err := s.Callouts.Callouts(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("call-outs of %s: %w", label, err)
		}
		for _, c := range cs {
			if _, in := estate[c.Lift]; !in || c.Contractor == "" {
				continue
			}
			r := row(c.Contractor)
			r.Callouts++
			if c.Arrival > 0 {
				r.Arrivals++
				r.ArrivalSum += c.Arrival
				r.ArrivalMax = max(r.ArrivalMax, c.Arrival)
				if c.Arrival > 30*time.Minute {
					r.LateArrivals++
				}
			}
		}
	}
	if s.Callouts != nil {
		cs, err := s.Callouts.Callouts(ctx, to.AddDate(-1, 0, 0), to)
		if err != nil {
			return nil, fmt.Errorf("call-outs of the year to %s: %w", label, err)
		}
		type key struct{ contractor, lift string }
		n := map[key]int{}
		for _, c := range cs {
			if _, in := estate[c.Lift]; !in || c.Contractor == "" {
				continue
			}
			k := key{c.Contractor, c.Lift}
			n[k]++
			if n[k] == s.Policies.For(estate[c.Lift]).ProblemLiftCallouts+1 {
				row(c.Contractor).ProblemLifts++
			}
		}
	}
	out := make([]Compliance, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Contractor < out[j].Contractor })
	return out, nil
}

func f1(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// ComplianceCSVHeader is the compliance export's columns.
var ComplianceCSVHeader = []string{"month", "contractor", "lifts", "orders_due", "on_time", "on_time_pct",
	"visits", "verified", "verified_pct", "mean_visit_min", "callouts", "callouts_per_lift_year",
	"rescue_arrivals", "mean_arrival_min", "max_arrival_min", "late_arrivals", "problem_lifts"}

// WriteComplianceCSV exports compliance rows (UTF-8, RFC 4180; a figure
// with no denominator is empty).
func WriteComplianceCSV(w io.Writer, rows []Compliance) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ComplianceCSVHeader); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		var maxArr string
		if r.Arrivals > 0 {
			maxArr = f1(r.ArrivalMax.Minutes(), true)
		}
		if err := cw.Write([]string{r.Month, r.Contractor, strconv.Itoa(r.Lifts), strconv.Itoa(r.Due), strconv.Itoa(r.OnTime),
			f1(r.OnTimePct()), strconv.Itoa(r.Visits), strconv.Itoa(r.Verified), f1(r.VerifiedPct()), f1(r.MeanVisitMinutes()),
			strconv.Itoa(r.Callouts), f1(r.CalloutsPerLiftYear()), strconv.Itoa(r.Arrivals), f1(r.MeanArrivalMinutes()),
			maxArr, strconv.Itoa(r.LateArrivals), strconv.Itoa(r.ProblemLifts)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WorkOrderCSVHeader is the work-order export's columns.
var WorkOrderCSVHeader = []string{"id", "lift", "estate", "kind", "level", "component", "need_key", "state", "overdue",
	"contractor", "technician", "created_at", "window_start", "due", "started_at", "completed_at",
	"proof_required_min", "proof_observed_min", "proof_verified", "checklist_items", "checklist_failed",
	"findings", "parts_fen", "labour_fen", "tech_sign_by", "tech_sign_at", "manager_sign_by", "manager_sign_at", "reason"}

// WriteWorkOrdersCSV exports work orders; times are RFC 3339 in Shanghai,
// money integer fen, overdue as of now.
func WriteWorkOrdersCSV(w io.Writer, orders []*WorkOrder, now time.Time) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(WorkOrderCSVHeader); err != nil {
		return err
	}
	for _, o := range orders {
		if err := cw.Write(WorkOrderCSVRecord(o, now)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WorkOrderCSVRecord is one order's line of the export (WorkOrderCSVHeader's
// columns), for exports that write the orders as they are read.
func WorkOrderCSVRecord(o *WorkOrder, now time.Time) []string {
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(Shanghai).Format(time.RFC3339)
	}
	tp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return ts(*t)
	}
	level := ""
	if o.Kind == KindRoutine {
		level = o.Level.String()
	}
	var req, obs, ver string
	if o.Proof != nil {
		req, obs, ver = f1(o.Proof.Required.Minutes(), true), f1(o.Proof.Observed.Minutes(), true), strconv.FormatBool(o.Proof.Verified)
	}
	failed := 0
	for _, r := range o.Results {
		if r.Result == Fail {
			failed++
		}
	}
	var tb, ta, mb, ma string
	if o.TechSign != nil {
		tb, ta = o.TechSign.By, ts(o.TechSign.At)
	}
	if o.ManagerSign != nil {
		mb, ma = o.ManagerSign.By, ts(o.ManagerSign.At)
	}
	return []string{strconv.FormatInt(o.ID, 10), o.Lift, o.Estate, string(o.Kind), level, o.Component, o.NeedKey,
		string(o.State), strconv.FormatBool(o.Overdue(now)), o.Contractor, o.Technician, ts(o.CreatedAt), ts(o.WindowStart),
		ts(o.Due), tp(o.StartedAt), tp(o.CompletedAt), req, obs, ver, strconv.Itoa(len(o.Results)), strconv.Itoa(failed),
		o.Findings, strconv.FormatInt(o.PartsFen, 10), strconv.FormatInt(o.LabourFen, 10), tb, ta, mb, ma, o.Reason}
}
