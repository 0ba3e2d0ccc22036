package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
)

// Fakes of the other modules' sides (trusteeship, live lift state, alerts),
// which do not exist yet; the store under them is real.

type yearContractors struct{ switchAt time.Time }

func (c yearContractors) ContractorOf(_ context.Context, lift string, at time.Time) (string, error) {
	if lift == "L03" && !at.Before(c.switchAt) {
		return "bright", nil
	}
	if lift == "L06" {
		return "", nil // no contract yet: orders stay planned
	}
	return "acme", nil
}

type yearUsage map[string]maintenance.Usage

func (u yearUsage) Usage(_ context.Context, lift string, _ time.Time) (maintenance.Usage, error) {
	return u[lift], nil
}

type yearQual map[string]maintenance.Qualification

func (q yearQual) Qualification(_ context.Context, lift string, _ time.Time) (maintenance.Qualification, error) {
	return q[lift], nil
}

type yearSessions struct {
	mu sync.Mutex
	m  map[string][]maintenance.Session
}

func (s *yearSessions) add(lift string, start time.Time, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[lift] = append(s.m[lift], maintenance.Session{Start: start, End: start.Add(d)})
}

func (s *yearSessions) InspectionSessions(_ context.Context, lift string, from, to time.Time) ([]maintenance.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []maintenance.Session
	for _, x := range s.m[lift] {
		if x.End.After(from) && x.Start.Before(to) {
			out = append(out, x)
		}
	}
	return out, nil
}

type yearSink struct {
	mu  sync.Mutex
	evs []maintenance.SupervisionEvent
}

func (s *yearSink) Supervise(_ context.Context, ev maintenance.SupervisionEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evs = append(s.evs, ev)
	return nil
}

func (s *yearSink) byKind(kind string) []maintenance.SupervisionEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []maintenance.SupervisionEvent
	for _, ev := range s.evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// fullResults records every item of a level as passed, with a value for
// the tests.
func fullResults(l maintenance.Level) []maintenance.ItemResult {
	var out []maintenance.ItemResult
	for _, it := range checklist.For(l) {
		r := maintenance.ItemResult{Code: it.Code, Result: maintenance.Pass}
		if it.Test {
			r.Value = "ok"
		}
		out = append(out, r)
	}
	return out
}

// TestSimulatedYear runs ten lifts through 2027 day by day against the real
// database: routine visits follow TSG T5002 (never more than 15 days apart,
// quarterly, semi-annual and annual on time, the annual exactly once); the
// on-demand lift follows its formula; a lift that asked for on-demand but
// is not insured stays periodic, with the reason; a meter threshold makes
// exactly one order; reopening the store and rebuilding the service
// mid-year creates no duplicates; a visit without inspection-mode
// evidence is flagged unverified; an entrapment creates its corrective
// order; the inspection certificate is reminded a month ahead and alerted
// once lapsed.
func TestSimulatedYear(t *testing.T) {
	forEachOpener(t, func(t *testing.T, open func(t *testing.T) *DB) {
		ctx := context.Background()
		start := maintenance.Date(2027, 1, 1)
		clk := clock.NewFake(start.Start().Add(8 * time.Hour))
		sessions := &yearSessions{m: map[string][]maintenance.Session{}}
		sink := &yearSink{}
		usage := yearUsage{
			"L07": {TripsPerDay: 140, DoorCyclesPerDay: 170, RunHoursPerDay: 0.7, Faults90: 3, Callouts90: 1, Days: 30},
			"L08": {TripsPerDay: 62, DoorCyclesPerDay: 75, RunHoursPerDay: 0.31, Days: 30},
			"L09": {TripsPerDay: 40, DoorCyclesPerDay: 50, RunHoursPerDay: 0.2, Days: 30},
		}
		qual := yearQual{
			"L07": {MonitoringOnline: true, Insured: true, ContractorGood: true},
			"L08": {MonitoringOnline: true, Insured: true, ContractorGood: true},
			"L09": {MonitoringOnline: true, Insured: false, ContractorGood: true},
		}
		var lifts []maintenance.LiftInfo
		for i := 0; i < 10; i++ {
			l := maintenance.LiftInfo{ID: fmt.Sprintf("L%02d", i), Estate: "JW", Commissioned: start - maintenance.Day(1+i)}
			l.OnDemand = i >= 7
			lifts = append(lifts, l)
		}
		lifts[0].CertExpiry = maintenance.Date(2027, 5, 10)
		lifts[1].CertExpiry = maintenance.Date(2027, 3, 1)
		switchAt := maintenance.Date(2027, 7, 1).Start()
		pol := maintenance.DefaultPolicy()
		newService := func(db *DB) *maintenance.Service {
			return &maintenance.Service{Store: db.Maintenance(), Contractors: yearContractors{switchAt: switchAt},
				Usage: usage, Qual: qual, Sessions: sessions, Sink: sink,
				Policies: maintenance.Policies{Default: pol}, Now: clk.Now, Log: slog.New(slog.DiscardHandler)}
		}
		db := open(t)
		svc := newService(db)
		tech := maintenance.Actor{ID: "tech-wang"}
		mgr := maintenance.Actor{ID: "mgr-li"}
		total := func() int {
			t.Helper()
			all, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			return len(all)
		}
		// earlyBy: how many days before the due date each lift's
		// technician does the visit (the plan floats from it).
		earlyBy := map[string]int{"L01": 1, "L02": 2, "L04": 1, "L05": 3}
		fed := 0
		var entrapmentOrder *maintenance.WorkOrder
		unverifiedSeen := false
		for day := start; day < start+365; day++ {
			clk.Set(day.Start().Add(8 * time.Hour))
			res, err := svc.Sweep(ctx, lifts)
			if err != nil {
				t.Fatal(err)
			}
			again, err := svc.Sweep(ctx, lifts)
			if err != nil {
				t.Fatal(err)
			}
			if again.Created != 0 {
				t.Fatalf("%s: a second sweep created %d orders", day, again.Created)
			}
			if day == start+181 { // a restart: reopen the database, rebuild the service (fresh latch)
				before := total()
				db.Close()
				db = open(t)
				svc = newService(db)
				for i := 0; i < 2; i++ {
					if _, err := svc.Sweep(ctx, lifts); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := svc.OnCounters(ctx, "L02", "JW", maintenance.Counters{DoorCycles: 480_000 + int64(day-start)*1000}); err != nil {
					t.Fatal(err)
				}
				if after := total(); after != before {
					t.Fatalf("restart: %d orders before, %d after", before, after)
				}
			}
			if day == start {
				if pl := res.Plans["L09"]; pl.Mode != maintenance.Periodic || !strings.Contains(pl.Basis.String(), "not insured") {
					t.Fatalf("L09 plan %+v (%s): want periodic, refused because not insured", pl, pl.Basis)
				}
				if pl := res.Plans["L08"]; pl.Mode != maintenance.OnDemand || !strings.Contains(pl.Basis.String(), "62 trips/day") {
					t.Fatalf("L08 plan %+v (%s): want on-demand explaining its trips", pl, pl.Basis)
				}
			}
			// The door operator counter of L02 passes 500,000 on day 20;
			// the terminal reports twice a day.
			for i := 0; i < 2; i++ {
				fed++
				if _, err := svc.OnCounters(ctx, "L02", "JW", maintenance.Counters{DoorCycles: 480_000 + int64(day-start)*1000, Trips: 400_000}); err != nil {
					t.Fatal(err)
				}
			}
			if day == start+100 {
				inc := maintenance.Incident{ID: "alert-77", Kind: maintenance.IncidentEntrapment, Lift: "L04", Estate: "JW",
					At: clk.Now().Add(-time.Hour), Summary: "passengers trapped 25 min"}
				w, created, err := svc.OnIncident(ctx, inc)
				if err != nil || !created {
					t.Fatalf("entrapment: created %v, %v", created, err)
				}
				if _, created, err := svc.OnIncident(ctx, inc); err != nil || created {
					t.Fatalf("the same entrapment again: created %v, %v", created, err)
				}
				entrapmentOrder = w
			}
			open, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{Open: true})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range open {
				if w.State == maintenance.StatePlanned {
					if _, err := svc.Assign(ctx, w.ID, mgr, "standby"); err != nil {
						t.Fatal(err)
					}
				}
				switch w.Kind {
				case maintenance.KindRoutine:
					if maintenance.DayOf(w.Due.Add(-time.Second))-maintenance.Day(earlyBy[w.Lift]) != day {
						continue
					}
					// L05's visit of 20 July is signed without the lift ever
					// entering inspection mode.
					skip := w.Lift == "L05" && day >= maintenance.Date(2027, 7, 20) && !unverifiedSeen
					visit(t, ctx, svc, clk, sessions, w, tech, mgr, skip)
					if skip {
						unverifiedSeen = true
						got, err := db.Maintenance().WorkOrder(ctx, w.ID)
						if err != nil {
							t.Fatal(err)
						}
						if got.State != maintenance.StateUnverified || got.Proof == nil || got.Proof.Verified {
							t.Fatalf("visit without inspection mode: state %s proof %+v, want unverified", got.State, got.Proof)
						}
						evs := sink.byKind(maintenance.EventUnverified)
						if len(evs) != 1 || evs[0].WorkOrder != w.ID {
							t.Fatalf("unverified events %+v, want one for order %d", evs, w.ID)
						}
						// The manager rejects it; the technician does it properly.
						if _, err := svc.Reject(ctx, w.ID, mgr, "no inspection-mode record"); err != nil {
							t.Fatal(err)
						}
						sessions.add(w.Lift, clk.Now(), 40*time.Minute)
						clk.Set(clk.Now().Add(45 * time.Minute))
						if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: fullResults(w.Level)}); err != nil {
							t.Fatal(err)
						}
						if _, err := svc.Accept(ctx, w.ID, mgr, ""); err != nil {
							t.Fatal(err)
						}
					}
				case maintenance.KindCorrective, maintenance.KindComponent, maintenance.KindInspection:
					if w.State == maintenance.StatePlanned {
						continue
					}
					if w.Kind == maintenance.KindInspection {
						if w.Lift != "L00" {
							continue // L01's manager never applies: its order goes overdue
						}
						// The inspection passes and the certificate is renewed.
						lifts[0].CertExpiry += 365
					}
					doWork(t, ctx, svc, w, tech)
				}
			}
		}
		end := start + 365
		clk.Set(end.Start())

		all, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		visits := map[string][]maintenance.Visit{}
		var components, correctives, inspections []*maintenance.WorkOrder
		for _, w := range all {
			if keys[w.NeedKey] {
				t.Errorf("need %s has two orders", w.NeedKey)
			}
			keys[w.NeedKey] = true
			switch w.Kind {
			case maintenance.KindRoutine:
				if w.State.Done() {
					visits[w.Lift] = append(visits[w.Lift], maintenance.Visit{Day: maintenance.DayOf(*w.CompletedAt), Level: w.Level})
				}
				if w.Lift == "L03" {
					want := "acme"
					if !w.CreatedAt.Before(switchAt) {
						want = "bright"
					}
					if w.Contractor != want {
						t.Errorf("L03 order %d created %v assigned to %q, want %q", w.ID, w.CreatedAt, w.Contractor, want)
					}
				}
			case maintenance.KindComponent:
				components = append(components, w)
			case maintenance.KindCorrective:
				correctives = append(correctives, w)
			case maintenance.KindInspection:
				inspections = append(inspections, w)
			}
		}
		for _, l := range lifts {
			vs := visits[l.ID]
			sort.Slice(vs, func(i, j int) bool { return vs[i].Day < vs[j].Day })
			checkTSG(t, l, vs, end)
			if l.ID == "L08" || l.ID == "L07" {
				days, _ := pol.OnDemand.OnDemandDays(usage[l.ID])
				if days <= 15 && l.ID == "L08" {
					t.Fatalf("L08's formula gives %d days: the test wants a light lift", days)
				}
				checkOnDemand(t, l, vs, days, pol.OnDemand)
			} else {
				checkHalfMonthly(t, l, vs)
			}
		}
		if len(components) != 1 || components[0].Lift != "L02" || components[0].Component != "door_operator" ||
			components[0].NeedKey != "component/L02/door_operator/1" {
			t.Errorf("component orders %+v: want exactly one, L02's door operator at 500,000 cycles (fed %d reports)", components, fed)
		}
		if len(correctives) != 1 || correctives[0].ID != entrapmentOrder.ID || correctives[0].Lift != "L04" ||
			!correctives[0].Due.Equal(entrapmentOrder.WindowStart.Add(24*time.Hour)) || correctives[0].Contractor != "acme" {
			t.Errorf("corrective orders %+v: want the entrapment's, due 24 h after it, assigned to acme", correctives)
		}
		// L00: one inspection order, a month before 10 May; L01's certificate
		// was never renewed: one order, reminded, then lapsed.
		if len(inspections) != 2 {
			t.Errorf("inspection orders: %d, want 2", len(inspections))
		}
		for _, w := range inspections {
			if w.Lift == "L00" && maintenance.DayOf(w.CreatedAt) != maintenance.Date(2027, 4, 9) {
				t.Errorf("L00 inspection order created %s, want 2027-04-09 (31 days ahead)", maintenance.DayOf(w.CreatedAt))
			}
		}
		if due := sink.byKind(maintenance.EventInspectionDue); len(due) != 2 {
			t.Errorf("inspection reminders %+v: want one each for L00 and L01", due)
		}
		lapsed := sink.byKind(maintenance.EventInspectionLapsed)
		if len(lapsed) != 1 || lapsed[0].Lift != "L01" || maintenance.DayOf(lapsed[0].At) != maintenance.Date(2027, 3, 1) {
			t.Errorf("lapsed alerts %+v: want one, L01 on 2027-03-01", lapsed)
		}
		// Every visit was on time; only L01's inspection went overdue, and
		// that raised one event however many sweeps saw it.
		if ov := sink.byKind(maintenance.EventOverdue); len(ov) != 1 || ov[0].Lift != "L01" ||
			maintenance.DayOf(ov[0].At) != maintenance.Date(2027, 3, 1) {
			t.Errorf("overdue events %+v: want one, L01's inspection order on 2027-03-01", ov)
		}
		if !unverifiedSeen {
			t.Error("the unverified visit never happened")
		}
		// routine_last, kept current transition by transition, equals a
		// rebuild from the work orders.
		kept, err := db.Maintenance().RoutineHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Maintenance().RebuildRoutineHistory(ctx); err != nil {
			t.Fatal(err)
		}
		rebuilt, err := db.Maintenance().RoutineHistory(ctx)
		if err != nil || !reflect.DeepEqual(kept, rebuilt) || len(kept) != 10 {
			t.Fatalf("routine history kept %v, rebuilt %v (%v)", kept, rebuilt, err)
		}
		pending, err := db.Maintenance().PendingEvents(ctx)
		if err != nil || len(pending) != 0 {
			t.Errorf("pending events %v, %v: want all delivered", pending, err)
		}
	})
}

// visit is a technician's routine visit: start at 09:00, inspection mode
// for the level's proof time plus ten minutes (or none if skipProof),
// complete, and the manager accepts unless the visit is unverified.
func visit(t *testing.T, ctx context.Context, svc *maintenance.Service, clk *clock.Fake, s *yearSessions,
	w *maintenance.WorkOrder, tech, mgr maintenance.Actor, skipProof bool) {
	t.Helper()
	day := maintenance.DayOf(clk.Now())
	clk.Set(day.Start().Add(9 * time.Hour))
	if _, err := svc.Start(ctx, w.ID, tech, "Wang"); err != nil {
		t.Fatal(err)
	}
	d := time.Duration(maintenance.DefaultPolicy().ProofMinutes[w.Level-1]+10) * time.Minute
	if !skipProof {
		s.add(w.Lift, clk.Now(), d)
	}
	clk.Set(clk.Now().Add(d + 5*time.Minute))
	got, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: fullResults(w.Level), Findings: "ok", LabourFen: 12000})
	if err != nil {
		t.Fatal(err)
	}
	if skipProof {
		return
	}
	if got.State != maintenance.StateCompleted || !got.Proof.Verified {
		t.Fatalf("visit %d with %v in inspection mode: state %s proof %+v", w.ID, d, got.State, got.Proof)
	}
	if _, err := svc.Accept(ctx, w.ID, mgr, ""); err != nil {
		t.Fatal(err)
	}
	clk.Set(day.Start().Add(8 * time.Hour))
}

// doWork carries a non-routine order through to verified.
func doWork(t *testing.T, ctx context.Context, svc *maintenance.Service, w *maintenance.WorkOrder, tech maintenance.Actor) {
	t.Helper()
	if _, err := svc.Start(ctx, w.ID, tech, "Wang"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Findings: "done", PartsFen: 35000}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Accept(ctx, w.ID, maintenance.Actor{ID: "mgr-li"}, ""); err != nil {
		var te *maintenance.TransitionError
		if !errors.As(err, &te) {
			t.Fatal(err)
		}
	}
}

// checkTSG checks the higher levels' maxima and the annual count over the
// year, counting the commissioning day as the baseline of every level.
func checkTSG(t *testing.T, l maintenance.LiftInfo, vs []maintenance.Visit, end maintenance.Day) {
	t.Helper()
	maxDays := map[maintenance.Level]maintenance.Day{maintenance.Quarterly: 90, maintenance.SemiAnnual: 180, maintenance.Annual: 365}
	for lv, max := range maxDays {
		last := l.Commissioned
		for _, v := range vs {
			if v.Level < lv {
				continue
			}
			if v.Day-last > max {
				t.Errorf("%s: %s-level gap %s → %s exceeds %d days", l.ID, lv, last, v.Day, max)
			}
			last = v.Day
		}
		if end-1-last > max {
			t.Errorf("%s: %s level overdue at year end (last %s)", l.ID, lv, last)
		}
	}
	annual := 0
	for _, v := range vs {
		if v.Level == maintenance.Annual {
			annual++
		}
	}
	if annual != 1 {
		t.Errorf("%s: %d annual visits in the year, want exactly 1 (%v)", l.ID, annual, vs)
	}
}

func checkHalfMonthly(t *testing.T, l maintenance.LiftInfo, vs []maintenance.Visit) {
	t.Helper()
	last := l.Commissioned
	for _, v := range vs {
		if v.Day-last > 15 || v.Day == last {
			t.Errorf("%s: visit gap %s → %s: want 1..15 days", l.ID, last, v.Day)
		}
		last = v.Day
	}
	if len(vs) < 24 || len(vs) > 37 {
		t.Errorf("%s: %d routine visits in a year, want 24..37", l.ID, len(vs))
	}
}

// checkOnDemand: every gap is the formula's interval, or shorter only where
// a higher level fell due first; always within the floor and ceiling.
func checkOnDemand(t *testing.T, l maintenance.LiftInfo, vs []maintenance.Visit, days int, o maintenance.OnDemandPolicy) {
	t.Helper()
	last := l.Commissioned
	atFormula := 0
	for _, v := range vs {
		gap := int(v.Day - last)
		switch {
		case gap == days:
			atFormula++
		case gap < days && v.Level >= maintenance.Quarterly:
		default:
			t.Errorf("%s: on-demand gap %s → %s = %d days, formula %d (level %s)", l.ID, last, v.Day, gap, days, v.Level)
		}
		if gap > o.CeilingDays {
			t.Errorf("%s: gap %d above the ceiling %d", l.ID, gap, o.CeilingDays)
		}
		last = v.Day
	}
	if atFormula < 2 {
		t.Errorf("%s: only %d gaps at the formula's %d days (%v)", l.ID, atFormula, days, vs)
	}
}
