// Package demohistory writes a few simulated months of maintenance history
// for the demo, so that plans, compliance reports, supervision and the
// owners' fund have content on first start. On a fake clock it runs the
// maintenance service's sweep every morning, lets the simulated contractors
// (simulator/contractor, in process) do their visits — inspection-mode
// sessions recorded as the live lift state would see them, and a share of
// paper visits — plays a few entrapments and their corrective orders, has
// the manager accept signed visits, and posts fund contributions and
// expenses (work orders, insurance, electricity) through fund.Service.
//
// Everything it writes is keyed by what it is (a need, a household and
// month, a work order), never by when the history was generated, so running
// it again — a restart of the demo on the same data — adds nothing twice
// (docs/simulator.md, "The demo's history").
package demohistory

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator/contractor"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// Deps are the stores the history is written to (the service's own).
type Deps struct {
	Lifts       []registry.Lift
	Maintenance maintenance.Store
	Trusteeship trusteeship.Store
	Fund        fund.Store
	// Policies of maintenance (zero: the defaults).
	Policies     maintenance.Policies
	FundPolicies fund.Policies
	// Sink receives the history's supervision events (nil: they are stored
	// and marked delivered without being sent: history, not news).
	Sink maintenance.SupervisionSink
	// Sessions keeps the inspection-mode sessions of the history's visits
	// where the service reads them (nil: only in memory, and a proof made
	// later finds none).
	Sessions SessionStore
	Log      *slog.Logger
}

// Options shape the history.
type Options struct {
	// From and To bound the simulated span; From is taken back to the
	// start of its Shanghai day.
	From, To time.Time
	Seed     uint64
	// PaperShare is each contractor's share of paper visits (0..1).
	PaperShare float64
	// EntrapmentsPerLiftMonth: passengers trapped (each gives a corrective
	// order); default 0.01.
	EntrapmentsPerLiftMonth float64
}

// Result says what the history holds.
type Result struct {
	From, To      time.Time
	Days          int
	Sweeps        int
	OrdersCreated int // by the sweeps and incidents of this run
	Visits        int // signed by the contractors in this run
	Paper         int // of those, routine visits signed without the work
	Incidents     int // entrapments whose corrective order was created in this run
	Accepted      int // visits the manager accepted in this run
	FundEntries   int // ledger entries posted in this run
	Elapsed       time.Duration
}

// Actors of the history.
const (
	ActorHistory = "demo-history" // fund postings and contracts
	ActorManager = "demo-manager" // acceptance of signed visits
)

// Run writes the history for opts.From..opts.To.
func Run(ctx context.Context, d Deps, opts Options) (Result, error) {
	began := time.Now()
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Policies.Default.IntervalDays == [4]int{} {
		d.Policies = maintenance.Policies{Default: maintenance.DefaultPolicy()}
	}
	if d.FundPolicies.Default == (fund.Policy{}) {
		d.FundPolicies = fund.DefaultPolicies()
	}
	if opts.EntrapmentsPerLiftMonth == 0 {
		opts.EntrapmentsPerLiftMonth = 0.01
	}
	if opts.PaperShare < 0 || opts.PaperShare > 1 {
		return Result{}, fmt.Errorf("paper share %v: want 0..1", opts.PaperShare)
	}
	from := maintenance.DayOf(opts.From).Start()
	if !opts.To.After(from) {
		return Result{}, fmt.Errorf("history span %s..%s is empty", from.Format(time.RFC3339), opts.To.Format(time.RFC3339))
	}
	h := &history{d: d, opts: opts, from: from, to: opts.To, clk: clock.NewFake(from)}
	if err := h.setUp(ctx); err != nil {
		return Result{}, err
	}
	err := h.run(ctx)
	if h.d.Sessions != nil {
		err = errors.Join(err, h.sessions.Flush(ctx, h.d.Sessions))
	}
	h.res.FundEntries = h.fund.created
	h.res.From, h.res.To, h.res.Elapsed = from, opts.To, time.Since(began)
	for _, c := range h.contractors {
		st := c.Stats()
		h.res.Visits += st.Completed
		h.res.Paper += st.Paper
	}
	return h.res, err
}

type history struct {
	d           Deps
	opts        Options
	from, to    time.Time
	clk         *clock.Fake
	ts          *trusteeship.Service
	fs          *fund.Service
	svc         *maintenance.Service
	sessions    *Sessions
	orders      *Orders
	fund        *fundStore
	contractors []*contractor.Contractor
	byCompany   map[string]int
	lifts       []maintenance.LiftInfo
	households  map[string][]fund.Household
	res         Result
}

// tsContractors is the lift's contractor from its contract of the day.
type tsContractors struct{ ts *trusteeship.Service }

func (c tsContractors) ContractorOf(ctx context.Context, lift string, at time.Time) (string, error) {
	k, err := c.ts.ContractOn(ctx, lift, civil.Of(at))
	if err != nil || k == nil {
		return "", err
	}
	return k.Contractor, nil
}

type quietSink struct{}

func (quietSink) Supervise(context.Context, maintenance.SupervisionEvent) error { return nil }

// hash64 mixes the seed with names into a stream id.
func hash64(seed uint64, parts ...string) uint64 {
	f := fnv.New64a()
	for _, p := range parts {
		f.Write([]byte(p))
		f.Write([]byte{0})
	}
	return f.Sum64() ^ seed
}

// ContractPriceFen is the yearly contract price the history gives every
// lift (6,000 yuan).
const ContractPriceFen = 600_000

func (h *history) setUp(ctx context.Context) error {
	d := h.d
	h.ts = trusteeship.NewService(d.Trusteeship, h.clk.Now, trusteeship.DefaultPolicies())
	if _, err := h.ts.Seed(ctx, ActorHistory, d.Lifts, civil.Of(h.from), ContractPriceFen); err != nil {
		return fmt.Errorf("trusteeship: %w", err)
	}
	// Fill the gaps in cover over the span (a contract seeded today
	// starts at the last anniversary, which may be within the span), so
	// every order has its contractor.
	for _, l := range d.Lifts {
		if l.Contractor == "" {
			continue
		}
		if err := h.cover(ctx, l); err != nil {
			return err
		}
	}
	h.sessions = &Sessions{Now: h.clk.Now}
	if d.Sessions != nil {
		ids := make([]string, len(d.Lifts))
		for i, l := range d.Lifts {
			ids[i] = l.ID
		}
		// A month before the span: an order of the previous run still in
		// progress is proven by its sessions.
		if err := h.sessions.Load(ctx, d.Sessions, ids, h.from.AddDate(0, -1, 0), h.to); err != nil {
			return err
		}
	}
	orders, err := NewOrders(ctx, d.Maintenance)
	if err != nil {
		return err
	}
	h.orders = orders
	sink := d.Sink
	if sink == nil {
		sink = quietSink{}
	}
	h.svc = &maintenance.Service{Store: h.orders, Contractors: tsContractors{h.ts}, Sessions: h.sessions, Sink: sink,
		Policies: d.Policies, Now: h.clk.Now, Log: d.Log}
	h.fund = &fundStore{Store: d.Fund}
	h.fs = fund.NewService(h.fund, h.clk.Now, d.FundPolicies)
	h.byCompany = map[string]int{}
	var companies []string
	for _, l := range d.Lifts {
		if l.Contractor != "" && !slices.Contains(companies, l.Contractor) {
			companies = append(companies, l.Contractor)
		}
	}
	slices.Sort(companies)
	for i, co := range companies {
		api := &InProcess{Svc: h.svc, Orders: h.orders, Actor: maintenance.Actor{ID: co, Name: co}, Now: h.clk.Now}
		c, err := contractor.New(contractor.Config{Company: co, Seed: h.opts.Seed + uint64(i)*7919, PaperShare: h.opts.PaperShare,
			Now: h.clk.Now, Log: d.Log}, api, h.sessions)
		if err != nil {
			return err
		}
		h.byCompany[co] = len(h.contractors)
		h.contractors = append(h.contractors, c)
	}
	// The lifts as the service's planner sees them (commissioned on their
	// install date), so that the service, started after the history, plans
	// what the history planned.
	for _, l := range d.Lifts {
		info := maintenance.LiftInfo{ID: l.ID, Estate: l.Estate}
		if t, err := time.ParseInLocation(time.DateOnly, l.InstallDate, maintenance.Shanghai); err == nil {
			info.Commissioned = maintenance.DayOf(t)
		}
		h.lifts = append(h.lifts, info)
	}
	if err := h.handOver(ctx); err != nil {
		return err
	}
	// The households the service seeded are kept; a lift without any gets
	// Households.
	h.households = map[string][]fund.Household{}
	for _, l := range d.Lifts {
		got, err := h.fs.Households(ctx, l.ID)
		if err != nil {
			return fmt.Errorf("households: %w", err)
		}
		if len(got) == 0 {
			if err := h.fs.SaveHouseholds(ctx, ActorHistory, Households(l)); err != nil {
				return fmt.Errorf("households of %s: %w", l.ID, err)
			}
			if got, err = h.fs.Households(ctx, l.ID); err != nil {
				return fmt.Errorf("households: %w", err)
			}
		}
		h.households[l.ID] = got
	}
	return nil
}

// cover adds yearly contracts with the register's contractor for the days
// of the span no contract covers, each ending before the next contract.
func (h *history) cover(ctx context.Context, l registry.Lift) error {
	cs, err := h.d.Trusteeship.Contracts(ctx, l.ID)
	if err != nil {
		return fmt.Errorf("trusteeship: %w", err)
	}
	slices.SortFunc(cs, func(a, b trusteeship.Contract) int { return a.Start.Compare(b.Start) })
	for day, end := civil.Of(h.from), civil.Of(h.to); !day.After(end); {
		next := civil.Date{}
		covered := false
		for _, c := range cs {
			if c.On(day) {
				day, covered = c.End.AddDays(1), true
				break
			}
			if c.Start.After(day) && (next.IsZero() || c.Start.Before(next)) {
				next = c.Start
			}
		}
		if covered {
			continue
		}
		n := trusteeship.Contract{Lift: l.ID, Contractor: l.Contractor, Start: day, End: day.AddMonths(12).AddDays(-1),
			Mode: trusteeship.Periodic, PriceFen: ContractPriceFen}
		if !next.IsZero() && !n.End.Before(next) {
			n.End = next.AddDays(-1)
		}
		if err := h.ts.AddContract(ctx, ActorHistory, &n); err != nil {
			return fmt.Errorf("trusteeship: cover %s from %s: %w", l.ID, day, err)
		}
		cs = append(cs, n)
		day = n.End.AddDays(1)
	}
	return nil
}

// Households are a lift's paying households: two flats a floor from the
// second floor up (the ground floor does not use the lift), weighted by
// fund.DefaultShare.
func Households(l registry.Lift) []fund.Household {
	top := max(l.Landings-len(l.HalfLandings), 2)
	var out []fund.Household
	for f := 2; f <= top; f++ {
		for flat := 1; flat <= 2; flat++ {
			out = append(out, fund.Household{Lift: l.ID, Unit: fmt.Sprintf("%d%02d", f, flat), Floor: f,
				Share: fund.DefaultShare(f), Contact: fmt.Sprintf("household %d%02d, %s %s", f, flat, l.Building, l.Unit)})
		}
	}
	return out
}

// incident is an entrapment of the history.
type incident struct {
	lift, estate string
	at           time.Time
}

// incidents draws the span's entrapments, per lift and calendar day from
// the seed (so a later span draws the same ones on the days they share).
func (h *history) incidents() []incident {
	p := h.opts.EntrapmentsPerLiftMonth / 30
	var out []incident
	for day := maintenance.DayOf(h.from); day.Start().Before(h.to); day++ {
		for _, l := range h.d.Lifts {
			r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "trap", l.ID), uint64(day)))
			if r.Float64() >= p {
				continue
			}
			at := day.Start().Add(7*time.Hour + time.Duration(r.Int64N(int64(15*time.Hour))))
			if at.Before(h.to) {
				out = append(out, incident{lift: l.ID, estate: l.Estate, at: at})
			}
		}
	}
	slices.SortFunc(out, func(a, b incident) int { return a.at.Compare(b.at) })
	return out
}

const sweepHour = 6 // the planner's daily sweep, Shanghai time

func (h *history) run(ctx context.Context) error {
	incs := h.incidents()
	next := make([]time.Time, len(h.contractors))
	nextSweep := maintenance.DayOf(h.from).Start().Add(sweepHour * time.Hour)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		wake := nextSweep
		if len(incs) > 0 && incs[0].at.Before(wake) {
			wake = incs[0].at
		}
		for _, n := range next {
			if !n.IsZero() && n.Before(wake) {
				wake = n
			}
		}
		if !wake.Before(h.to) {
			break
		}
		h.clk.Set(wake)
		tickAll := false
		if wake.Equal(nextSweep) {
			if err := h.morning(ctx); err != nil {
				return err
			}
			nextSweep = nextSweep.Add(24 * time.Hour)
			tickAll = true
		}
		for len(incs) > 0 && !incs[0].at.After(wake) {
			if err := h.entrapment(ctx, incs[0]); err != nil {
				return err
			}
			incs = incs[1:]
			tickAll = true
		}
		for i, c := range h.contractors {
			if !tickAll && (next[i].IsZero() || next[i].After(wake)) {
				continue
			}
			n, err := c.Tick(ctx)
			if err != nil {
				h.d.Log.Warn("demo history: contractor", "company", c.Company(), "err", err)
			}
			next[i] = n
		}
	}
	h.clk.Set(h.to)
	for _, c := range h.contractors {
		if _, err := c.Tick(ctx); err != nil {
			h.d.Log.Warn("demo history: contractor", "company", c.Company(), "err", err)
		}
	}
	return h.workOrderCosts(ctx)
}

// morning is the day's sweep, the manager's acceptances and the fund's
// postings due that day.
func (h *history) morning(ctx context.Context) error {
	res, err := h.svc.Sweep(ctx, h.lifts)
	if err != nil {
		return fmt.Errorf("sweep %s: %w", h.clk.Now().Format(time.DateOnly), err)
	}
	h.res.Sweeps++
	h.res.Days++
	h.res.OrdersCreated += res.Created
	if err := h.accept(ctx); err != nil {
		return err
	}
	return h.fundDay(ctx, civil.Of(h.clk.Now()))
}

// accept has the manager accept visits signed (and proven) more than a day
// ago; unverified ones are left for supervision.
func (h *history) accept(ctx context.Context) error {
	now := h.clk.Now()
	for _, w := range h.orders.List("", []maintenance.State{maintenance.StateCompleted}, now) {
		if w.CompletedAt == nil || now.Sub(*w.CompletedAt) < 24*time.Hour || w.CompletedAt.Before(h.from) {
			continue
		}
		r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "accept"), uint64(w.ID)))
		if r.IntN(10) == 0 {
			continue // one in ten stays for the manager to look at
		}
		_, err := h.svc.Accept(ctx, w.ID, maintenance.Actor{ID: ActorManager}, "checked on site")
		var te *maintenance.TransitionError
		switch {
		case errors.As(err, &te):
		case err != nil:
			return fmt.Errorf("accept %d: %w", w.ID, err)
		default:
			h.res.Accepted++
		}
	}
	return nil
}

// entrapment is a passenger trapped: the technician's rescue puts the lift
// in inspection mode 17–23 minutes later for 5–10, and the alert's
// corrective order is created.
func (h *history) entrapment(ctx context.Context, inc incident) error {
	r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "rescue", inc.lift), uint64(inc.at.Unix())))
	rescue := inc.at.Add(17*time.Minute + time.Duration(r.Int64N(int64(6*time.Minute))))
	h.sessions.Add(inc.lift, rescue, 5*time.Minute+time.Duration(r.Int64N(int64(5*time.Minute))))
	_, created, err := h.svc.OnIncident(ctx, maintenance.Incident{ID: "history-" + inc.lift + "-" + inc.at.UTC().Format("20060102T1504"),
		Kind: maintenance.IncidentEntrapment, Lift: inc.lift, Estate: inc.estate, At: inc.at,
		Summary: "passenger trapped, released by the maintainer " + rescue.Sub(inc.at).Round(time.Minute).String() + " later"})
	if err != nil {
		return fmt.Errorf("entrapment %s: %w", inc.lift, err)
	}
	if created {
		h.res.Incidents++
		h.res.OrdersCreated++
	}
	return nil
}

// Fund figures (fen): what a lift's households pay in, split by share,
// and the lift's running costs.
const (
	YearlyFen         = 1_500_000 // a fund year's contributions, paid at its start (15,000 yuan a lift)
	ElectricityMinFen = 6_000     // a month
	ElectricityMaxFen = 15_000
	InsuranceMinFen   = 120_000 // a year, on the policy's anniversary (the install date)
	InsuranceMaxFen   = 180_000
)

// fundDay posts what falls due on day: the households' yearly
// contributions and the insurance premium (the fund year and the policy
// year run from the install date's anniversary: the current year's on the
// first day, the next on the anniversary), and the previous month's
// electricity (on the 10th).
func (h *history) fundDay(ctx context.Context, day civil.Date) error {
	first := day == civil.Of(h.from)
	for _, l := range h.d.Lifts {
		if day.Day == 10 {
			prev := day.AddMonths(-1)
			month := fmt.Sprintf("%d-%02d", prev.Year, prev.Month)
			r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "electricity", l.ID), uint64(prev.Year*12+int(prev.Month))))
			amt := ElectricityMinFen + r.Int64N(ElectricityMaxFen-ElectricityMinFen)
			if err := h.expense(ctx, l.ID, fund.CatElectricity, l.ID+"/"+month, amt, day, "electricity "+month); err != nil {
				return err
			}
		}
		inst, err := civil.Parse(l.InstallDate)
		if err != nil {
			inst = civil.Of(h.from)
		}
		anniv := inst
		for !anniv.AddMonths(12).After(day) {
			anniv = anniv.AddMonths(12)
		}
		if anniv != day && !first {
			continue
		}
		year := anniv.String()
		hs := h.households[l.ID]
		var shares int64
		for _, hh := range hs {
			shares += hh.Share
		}
		for _, hh := range hs {
			if hh.Share == 0 {
				continue
			}
			// Each household pays its share of the lift's amount (rounded
			// down to the fen; contributions need not add up exactly).
			fen := max(YearlyFen*hh.Share/shares, 1)
			if err := h.contribute(ctx, l.ID, hh, fen, day, "contribution for the fund year from "+year, year); err != nil {
				return err
			}
		}
		r := rand.New(rand.NewPCG(hash64(h.opts.Seed, "insurance", l.ID), uint64(anniv.Year)))
		amt := InsuranceMinFen + r.Int64N(InsuranceMaxFen-InsuranceMinFen)
		if err := h.expense(ctx, l.ID, fund.CatInsurance, l.ID+"/"+year, amt, day, "lift insurance, policy year from "+year); err != nil {
			return err
		}
	}
	return nil
}

func (h *history) contribute(ctx context.Context, lift string, hh fund.Household, fen int64, day civil.Date, reason, key string) error {
	ref := "history/" + lift + "/" + hh.Unit + "/" + key
	_, err := h.fs.PostContribution(ctx, ActorHistory, fund.ContributionInput{Lift: lift, Unit: hh.Unit, AmountFen: fen, Date: day,
		Reason: reason, BankRef: ref, SourceRef: ref})
	if err != nil {
		return fmt.Errorf("contribution %s: %w", ref, err)
	}
	return nil
}

func (h *history) expense(ctx context.Context, lift string, cat fund.Category, id string, fen int64, day civil.Date, reason string) error {
	_, err := h.fs.PostExpenseOn(ctx, ActorHistory, fund.ExpenseInput{Lift: lift, Ref: fund.SourceRef{Category: cat, ID: id},
		AmountFen: fen, Date: day, Reason: reason, BankRef: string(cat) + ":" + id})
	if err != nil {
		return fmt.Errorf("expense %s:%s: %w", cat, id, err)
	}
	return nil
}

// workOrderCosts posts the parts and labour of every order signed in the
// span as an expense of its lift's fund, dated the day it was signed.
func (h *history) workOrderCosts(ctx context.Context) error {
	ws, err := h.orders.WorkOrders(ctx, maintenance.Filter{States: []maintenance.State{
		maintenance.StateCompleted, maintenance.StateUnverified, maintenance.StateVerified}})
	if err != nil {
		return err
	}
	for _, w := range ws {
		fen := w.PartsFen + w.LabourFen
		if fen == 0 || w.CompletedAt == nil || w.CompletedAt.Before(h.from) || !w.CompletedAt.Before(h.to) {
			continue
		}
		id := strconv.FormatInt(w.ID, 10)
		if err := h.expense(ctx, w.Lift, fund.CatWorkOrder, id, fen, civil.Of(*w.CompletedAt),
			fmt.Sprintf("work order %d (%s): parts %s, labour %s yuan", w.ID, w.Kind, fund.FormatYuan(w.PartsFen), fund.FormatYuan(w.LabourFen))); err != nil {
			return err
		}
	}
	return nil
}
