package maintenance

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOnDemandFormula pins the documented formula's figures and bounds.
func TestOnDemandFormula(t *testing.T) {
	o := DefaultPolicy().OnDemand
	cases := []struct {
		u    Usage
		want int
		why  string
	}{
		{Usage{}, 60, "0 trips/day"},
		{Usage{TripsPerDay: 62, DoorCyclesPerDay: 75, RunHoursPerDay: 0.31}, 39, "62 trips/day, 75 door cycles/day, 0.31 running h/day (load 41%); no faults, alarms, entrapments or call-outs in 90 days → 39 days (floor 10, ceiling 60)"},
		{Usage{TripsPerDay: 62, DoorCyclesPerDay: 75, RunHoursPerDay: 0.31, Faults90: 2, Alarms90: 2}, 30, "2 faults, 2 alarms, 0 entrapments, 0 call-outs in 90 days (3.0 points, health 70%)"},
		{Usage{TripsPerDay: 40, DoorCyclesPerDay: 300}, 10, "load 100%"},            // door cycles dominate
		{Usage{TripsPerDay: 10, Entrapments90: 3}, 10, "health 0%"},                 // 12 points: floor
		{Usage{TripsPerDay: 1e9, DoorCyclesPerDay: -5, RunHoursPerDay: 99}, 10, ""}, // clamped
	}
	for _, c := range cases {
		got, b := o.OnDemandDays(c.u)
		if got != c.want || !strings.Contains(b.String(), c.why) {
			t.Errorf("%+v: %d days (%s), want %d containing %q", c.u, got, b, c.want, c.why)
		}
	}
	// Bounds and monotony over random usage: more use or more trouble never
	// lengthens the interval.
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		u := Usage{TripsPerDay: r.Float64() * 300, DoorCyclesPerDay: r.Float64() * 400, RunHoursPerDay: r.Float64() * 2,
			Faults90: r.IntN(5), Alarms90: r.IntN(5), Entrapments90: r.IntN(2), Callouts90: r.IntN(3)}
		d, _ := o.OnDemandDays(u)
		if d < o.FloorDays || d > o.CeilingDays {
			t.Fatalf("%+v: %d days outside [%d, %d]", u, d, o.FloorDays, o.CeilingDays)
		}
		more := u
		more.TripsPerDay += 20
		more.Faults90++
		if d2, _ := o.OnDemandDays(more); d2 > d {
			t.Fatalf("%+v → %d days but busier, faultier %+v → %d", u, d, more, d2)
		}
	}
}

// TestPeriodicPlanLevels: the visit is at the earliest level due date, at
// the highest level due then; levels float from their last visit.
func TestPeriodicPlanLevels(t *testing.T) {
	p := DefaultPolicy()
	base := Date(2027, 1, 1)
	cases := []struct {
		name   string
		visits []Visit
		due    Day
		level  Level
	}{
		{"nothing done: 15 days after commissioning", nil, base + 15, HalfMonthly},
		{"last half-monthly floats", []Visit{{base + 10, HalfMonthly}}, base + 25, HalfMonthly},
		{"quarterly comes due before the next half-monthly", []Visit{{base + 80, HalfMonthly}}, base + 90, Quarterly},
		{"quarterly on the same day as half-monthly", []Visit{{base + 75, HalfMonthly}}, base + 90, Quarterly},
		{"a semi-annual visit counts as quarterly", []Visit{{base + 170, SemiAnnual}, {base + 175, HalfMonthly}}, base + 190, HalfMonthly},
		{"semi-annual and quarterly both due: semi-annual", []Visit{{base + 90, Quarterly}, {base + 170, HalfMonthly}}, base + 180, SemiAnnual},
		{"annual due", []Visit{{base + 360, SemiAnnual}}, base + 365, Annual},
	}
	for _, c := range cases {
		in := PlanInput{Baseline: base, Last: LastByLevel(c.visits)}
		pl := p.ComputePlan(&in)
		if pl.Due != c.due || pl.Level != c.level || pl.Mode != Periodic {
			t.Errorf("%s: due %s level %s mode %s, want %s %s periodic", c.name, pl.Due, pl.Level, pl.Mode, c.due, c.level)
		}
	}
	// On-demand refused names every missing condition and stays periodic.
	in := PlanInput{Baseline: base, WantOnDemand: true, Qual: Qualification{Insured: true}, Usage: Usage{TripsPerDay: 10, Days: 30}}
	pl := p.ComputePlan(&in)
	if pl.Mode != Periodic || pl.Due != base+15 || pl.Basis.String() != "periodic every 15 days: on-demand refused (monitoring not online, contractor not in good standing)" {
		t.Errorf("unqualified on-demand: %+v %q", pl, pl.Basis)
	}
	in.Qual = Qualification{true, true, true}
	pl = p.ComputePlan(&in)
	if pl.Mode != OnDemand || pl.IntervalDays != 56 || pl.Due != base+56 || pl.Level != HalfMonthly {
		t.Errorf("qualified on-demand: %+v (%s)", pl, pl.Basis)
	}
	// Qualified, but its usage is measured over less than min_usage_days:
	// periodic, saying so.
	in.Usage.Days = 2.5
	pl = p.ComputePlan(&in)
	if pl.Mode != Periodic || pl.Due != base+15 || pl.Basis.String() != "periodic every 15 days: on-demand refused (usage measured over 2.5 days, needs 7)" {
		t.Errorf("on-demand with 2.5 days of usage: %+v %q", pl, pl.Basis)
	}
}

// TestPlansNeverExceedMaxima walks plans forward, completing each visit on
// its due date or up to 5 days early, for periodic and on-demand lifts over
// 3 years: no level's gap ever exceeds its maximum.
func TestPlansNeverExceedMaxima(t *testing.T) {
	p := DefaultPolicy()
	r := rand.New(rand.NewPCG(3, 4))
	for lift := 0; lift < 200; lift++ {
		base := Date(2027, 1, 1) - Day(r.IntN(15))
		in := PlanInput{Baseline: base, WantOnDemand: lift%2 == 1, Qual: Qualification{true, true, true},
			Usage: Usage{TripsPerDay: r.Float64() * 200, Faults90: r.IntN(3), Days: 30}}
		var visits []Visit
		for step := 0; ; step++ {
			if step > 3*365 {
				t.Fatalf("lift %d: the plan does not advance (%v)", lift, visits[len(visits)-5:])
			}
			in.Last = LastByLevel(visits)
			pl := p.ComputePlan(&in)
			if pl.Due > base+3*365 {
				break
			}
			day := pl.Due - Day(r.IntN(6))
			last := in.Last
			for i := 0; i < nLevels; i++ {
				if last[i] == 0 {
					last[i] = base
				}
			}
			if day <= last[0] {
				day = pl.Due
			}
			visits = append(visits, Visit{Day: day, Level: pl.Level})
		}
		last := [nLevels]Day{base, base, base, base}
		for _, v := range visits {
			for i := 0; i < int(v.Level); i++ {
				limit := p.IntervalDays[i]
				if i == 0 && in.WantOnDemand {
					limit = p.OnDemand.CeilingDays
				}
				if int(v.Day-last[i]) > limit {
					t.Fatalf("lift %d: %s gap %s → %s over %d days", lift, Level(i+1), last[i], v.Day, limit)
				}
				last[i] = v.Day
			}
		}
	}
}

// TestTransitionsTable pins which actions each state allows.
func TestTransitionsTable(t *testing.T) {
	states := []State{StatePlanned, StateAssigned, StateInProgress, StateCompleted, StateUnverified, StateVerified, StateCancelled}
	want := map[Action]string{
		ActAssign:   "planned",
		ActStart:    "assigned",
		ActComplete: "in_progress",
		ActAccept:   "completed unverified",
		ActReject:   "completed unverified",
		ActCancel:   "planned assigned in_progress",
	}
	for a, w := range want {
		var got []string
		for _, s := range states {
			if Allowed(a, s) {
				got = append(got, string(s))
			}
		}
		if strings.Join(got, " ") != w {
			t.Errorf("%s allowed in %v, want %s", a, got, w)
		}
	}
	now := Date(2027, 1, 2).Start()
	w := &WorkOrder{State: StateInProgress, Due: now}
	if !w.Overdue(now) || w.Overdue(now.Add(-time.Nanosecond)) {
		t.Error("overdue from the due instant on")
	}
	w.State = StateUnverified
	if w.Overdue(now.Add(time.Hour)) {
		t.Error("signed work is not overdue")
	}
}

// TestOverlap counts inspection time once, clipped to the window.
func TestOverlap(t *testing.T) {
	t0 := Date(2027, 1, 1).Start()
	m := func(a, b int) Session {
		return Session{t0.Add(time.Duration(a) * time.Minute), t0.Add(time.Duration(b) * time.Minute)}
	}
	got := Overlap([]Session{m(50, 70), m(-10, 10), m(60, 80), m(100, 200)}, t0, t0.Add(120*time.Minute))
	if want := (10 + 30 + 20) * time.Minute; got != want {
		t.Fatalf("overlap %v, want %v", got, want)
	}
}

func TestDay(t *testing.T) {
	d := Date(2027, 3, 1)
	if d.String() != "2027-03-01" || DayOf(d.Start()) != d || DayOf(d.End().Add(-time.Nanosecond)) != d || DayOf(d.End()) != d+1 {
		t.Fatalf("day arithmetic broken around %s", d)
	}
	// 23:30 UTC on 28 Feb is 07:30 on 1 March in Shanghai.
	if DayOf(time.Date(2027, 2, 28, 23, 30, 0, 0, time.UTC)) != d {
		t.Fatal("days are Shanghai dates")
	}
	if p, err := ParseDay("2027-03-01"); err != nil || p != d {
		t.Fatal(p, err)
	}
	// 12:00 UTC on 31 Dec 1969 is 20:00 that day in Shanghai: day -1.
	if DayOf(time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC)) != -1 {
		t.Fatal("negative days")
	}
}

func TestPolicyValidate(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Policy){
		"interval_days":     func(p *Policy) { p.IntervalDays[1] = 10 },
		"floor_days":        func(p *Policy) { p.OnDemand.FloorDays = 70 },
		"ceiling_days":      func(p *Policy) { p.OnDemand.CeilingDays = 120 },
		"routine_lead_days": func(p *Policy) { p.RoutineLeadDays = 15 },
		"meters[0].counter": func(p *Policy) { p.Meters[0].Counter = "floors" },
	} {
		q := DefaultPolicy()
		mut(&q)
		if err := q.Validate(); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want an error naming it", name, err)
		}
	}
}

// BenchmarkRecomputeCity recomputes the plan of every lift of a city of
// LIFTWATCH_BENCH_LIFTS (300,000) lifts, a fifth of them on-demand, from
// in-memory history (the database read is not included).
func BenchmarkRecomputeCity(b *testing.B) {
	n := 300_000
	if v, err := strconv.Atoi(os.Getenv("LIFTWATCH_BENCH_LIFTS")); err == nil && v > 0 {
		n = v
	}
	p := DefaultPolicy()
	r := rand.New(rand.NewPCG(5, 6))
	base := Date(2027, 1, 1)
	ins := make([]PlanInput, n)
	for i := range ins {
		visits := []Visit{{base - Day(r.IntN(15)), HalfMonthly}, {base - Day(r.IntN(90)), Quarterly},
			{base - Day(r.IntN(180)), SemiAnnual}, {base - Day(r.IntN(365)), Annual}}
		ins[i] = PlanInput{Baseline: base - 400, Last: LastByLevel(visits), WantOnDemand: i%5 == 0,
			Qual:  Qualification{true, i%10 != 0, true},
			Usage: Usage{TripsPerDay: 60 + r.Float64()*90, DoorCyclesPerDay: 80 + r.Float64()*100, RunHoursPerDay: r.Float64(), Faults90: r.IntN(3), Days: 30}}
	}
	plans := make([]Plan, n)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		for i := range ins {
			plans[i] = p.ComputePlan(&ins[i])
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(n), "lifts")
	_ = fmt.Sprint(plans[0].Due)
}

// cpuTime is the process's user and system CPU time: the figure that
// matters on a shared machine, where wall time includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
