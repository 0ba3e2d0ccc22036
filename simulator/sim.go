// Package simulator stands in for the monitoring terminals of a fleet of
// lifts, so that liftwatch runs and is tested without hardware.
//
// Each lift is a small, physically consistent state machine driven by a
// discrete-event engine on a virtual clock: passenger calls follow the daily
// profile of a 6-storey walk-up (60–150 runs a day, morning and evening
// peaks), every run ends with a door cycle, lifetime counters in status grow
// exactly with the trips and door cycles published, and seq restarts on every
// reboot. Faults, entrapments (explicit, and as the raw conditions the
// service must recognise), technician visits, offline periods with buffered
// and reordered delivery, reboots and resends happen at configurable rates, or
// exactly when a scenario file says. A hostile mode mixes in messages that
// must be rejected and counts them by the reason they must be rejected with.
//
// The engine is single-threaded and seeded, so the same configuration and
// seed give the same messages. Time runs live, accelerated, or as fast as
// possible (backfill) up to a point and live after it.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Out is one message the simulator sends.
type Out struct {
	Lift    string
	Kind    telemetry.Kind
	Topic   string
	Payload []byte
	// Msg is the message as sent; zero for hostile messages.
	Msg telemetry.Message
	// Resend marks a repeat of an already-sent message.
	Resend bool
	// Hostile is the reason the message must be rejected with; "" if valid.
	Hostile telemetry.Reason
}

// Sink receives the simulator's messages in order.
type Sink interface {
	Send(ctx context.Context, o *Out) error
}

// Rates are the random behaviour of the fleet. Zero values switch a behaviour
// off; DefaultRates gives the domain's figures.
type Rates struct {
	TripsPerDayMin, TripsPerDayMax float64       // runs a day, drawn per lift
	StatusInterval                 time.Duration // heartbeat
	FaultsPerLiftDay               float64       // non-entrapment faults
	EntrapmentsPerLiftMonth        float64       // passengers trapped
	VisitInterval                  time.Duration // routine technician visits
	DisconnectsPerLiftDay          float64       // terminal offline periods
	RebootsPerLiftDay              float64       // terminal restarts
	ResendProb                     float64       // chance a message is sent twice
	Hostile                        float64       // hostile messages per valid message
	BufferLimit                    int           // messages a terminal buffers while offline
}

// DefaultRates are the simulator's defaults from the domain reference.
func DefaultRates() Rates {
	return Rates{
		TripsPerDayMin: 60, TripsPerDayMax: 150,
		StatusInterval:          time.Minute,
		FaultsPerLiftDay:        0.02,
		EntrapmentsPerLiftMonth: 0.005,
		VisitInterval:           15 * 24 * time.Hour,
		DisconnectsPerLiftDay:   0.05,
		RebootsPerLiftDay:       0.01,
		ResendProb:              0.001,
		BufferLimit:             1000,
	}
}

// Config configures a simulation.
type Config struct {
	Root  string
	Lifts []registry.Lift
	Seed  uint64
	// BootBase is added to every terminal's first boot counter: a
	// simulation started again over data kept from an earlier one (the
	// demo on a kept data directory) is every terminal restarted, so its
	// boots must count on from the earlier ones (a larger base), or its
	// messages repeat (lift, boot, seq) already seen.
	BootBase int64
	// Start is the virtual time of the first event (zero: now).
	Start time.Time
	// End stops the simulation at this virtual time (zero: never).
	End time.Time
	// FastUntil: events before this virtual time are sent as fast as
	// possible (backfill); after it the clock is paced by Speed.
	FastUntil time.Time
	// LiveFrom is the wall-clock time that FastUntil stands for, when
	// virtual time is real time (a backfill up to now, then live). After
	// the backfill the simulation then runs as fast as possible until it has
	// caught up with FastUntil + (Now() − LiveFrom) × Speed — the backfill
	// itself took time — and from there it is locked to the clock. Zero:
	// virtual time is not tied to the clock (a pinned start), and pacing
	// starts where the backfill ends, whenever that is.
	LiveFrom time.Time
	// Speed paces virtual time against wall time: 1 is live, N is ×N, 0 is
	// as fast as possible throughout.
	Speed float64
	Rates Rates
	// Scenario scripts exact events; with Scenario.Background false only
	// heartbeats and the script run.
	Scenario *Scenario
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	// After waits on the wall clock (default time.After); a test that
	// injects Now injects the matching timer.
	After func(time.Duration) <-chan time.Time
}

// tick is how close to its due time an event counts as on time.
const tick = time.Millisecond

// Simulator runs a fleet.
type Simulator struct {
	cfg    Config
	sink   Sink
	lifts  []*lift
	byID   map[string]*lift
	known  map[string]bool
	events eventHeap
	evSeq  uint64
	r      *rand.Rand // hostile and engine-level draws
	stats  *Stats
	// paceV on the virtual clock is paceW on the wall clock (zero: not
	// anchored yet).
	paceV time.Time
	paceW time.Time
	// live is closed when the simulation has caught up with the clock,
	// at virtual time liveAt.
	live    chan struct{}
	liveAt  time.Time
	sendErr error
	ctx     context.Context
	// now is the virtual time of the event being run.
	now time.Time
	// triggers brings Trigger requests into the engine's goroutine; done
	// is closed when Run returns.
	triggers chan *trigger
	done     chan struct{}
}

// New prepares a simulator; nothing is sent until Run.
func New(cfg Config, sink Sink) (*Simulator, error) {
	if cfg.Root == "" {
		cfg.Root = telemetry.DefaultRoot
	}
	if err := telemetry.ValidRoot(cfg.Root); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	if len(cfg.Lifts) == 0 {
		return nil, fmt.Errorf("simulator: no lifts")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Scenario != nil && cfg.Start.IsZero() {
		cfg.Start = cfg.Scenario.Start // a start given in Config wins over the scenario's
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Now()
	}
	if cfg.Scenario != nil {
		lifts, err := cfg.Scenario.FilterLifts(cfg.Lifts)
		if err != nil {
			return nil, err
		}
		cfg.Lifts = lifts
	}
	if cfg.Rates.StatusInterval <= 0 {
		cfg.Rates.StatusInterval = time.Minute
	}
	if cfg.Rates.TripsPerDayMax < cfg.Rates.TripsPerDayMin {
		return nil, fmt.Errorf("simulator: trips per day max %g below min %g", cfg.Rates.TripsPerDayMax, cfg.Rates.TripsPerDayMin)
	}
	s := &Simulator{cfg: cfg, sink: sink, byID: map[string]*lift{}, known: map[string]bool{},
		r: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), stats: newStats(), now: cfg.Start,
		triggers: make(chan *trigger, 1), done: make(chan struct{}), live: make(chan struct{})}
	if !cfg.LiveFrom.IsZero() && cfg.Speed > 0 {
		s.paceV, s.paceW = cfg.FastUntil, cfg.LiveFrom
		if cfg.FastUntil.IsZero() {
			s.paceV = cfg.Start
		}
	}
	background := cfg.Scenario == nil || cfg.Scenario.Background
	for i := range cfg.Lifts {
		reg := &cfg.Lifts[i]
		l := newLift(s, i, reg, background)
		s.lifts = append(s.lifts, l)
		s.byID[reg.ID] = l
		s.known[reg.ID] = true
	}
	if cfg.Scenario != nil {
		if err := cfg.Scenario.schedule(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Live is closed once the simulation runs live: past the backfill and
// caught up with the clock, so that from then on each event is sent when the
// clock reaches it. It is never closed at Speed 0.
func (s *Simulator) Live() <-chan struct{} { return s.live }

// LiveAt is the virtual time at which the simulation went live; valid once
// Live is closed.
func (s *Simulator) LiveAt() time.Time {
	select {
	case <-s.live:
		return s.liveAt
	default:
		return time.Time{}
	}
}

// Stats are the counts of what was sent so far.
func (s *Simulator) Stats() *Stats { return s.stats }

// Run simulates until End, the scenario's end, or ctx is cancelled. It may
// be called once.
func (s *Simulator) Run(ctx context.Context) error {
	defer func() {
		// A request left in the buffer is answered: the run is over.
		for {
			select {
			case tr := <-s.triggers:
				tr.reply <- triggerReply{err: ErrEnded}
			default:
				close(s.done)
				return
			}
		}
	}()
	s.ctx = ctx
	for _, l := range s.lifts {
		l.start(s.cfg.Start)
	}
	end := s.end()
	for s.events.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil
		}
		select {
		case tr := <-s.triggers:
			s.accept(tr)
		default:
		}
		ev := s.events.pop()
		if !end.IsZero() && ev.at.After(end) {
			break
		}
		again, err := s.pace(ctx, ev.at)
		if err != nil {
			return nil
		}
		if again { // a trigger came in while waiting: it may come first
			s.events.push(ev)
			continue
		}
		s.now = ev.at
		ev.fn(ev.at)
		if s.sendErr != nil {
			if ctx.Err() != nil {
				return nil
			}
			return s.sendErr
		}
	}
	return nil
}

func (s *Simulator) end() time.Time {
	if s.cfg.Scenario != nil && !s.cfg.Scenario.Background && s.cfg.End.IsZero() {
		return s.cfg.Start.Add(s.cfg.Scenario.Length())
	}
	return s.cfg.End
}

// pace waits until wall time catches up with virtual time v. It returns
// early, with again true, when a trigger was accepted meanwhile. An event
// whose due time has passed (the backfill, then catching up with the clock)
// is not waited for.
func (s *Simulator) pace(ctx context.Context, v time.Time) (again bool, err error) {
	if s.cfg.Speed <= 0 || v.Before(s.cfg.FastUntil) {
		return false, nil
	}
	if s.paceW.IsZero() {
		s.paceV, s.paceW = v, s.cfg.Now()
		if !s.cfg.FastUntil.IsZero() && s.paceV.After(s.cfg.FastUntil) {
			s.paceV = s.cfg.FastUntil
		}
	}
	due := s.paceW.Add(time.Duration(float64(v.Sub(s.paceV)) / s.cfg.Speed))
	wait := due.Sub(s.cfg.Now())
	if wait < -tick {
		return false, nil // behind the clock: catching up
	}
	s.goLive(v)
	if wait <= tick {
		return false, nil
	}
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-s.cfg.After(wait):
		return false, nil
	case tr := <-s.triggers:
		s.accept(tr)
		return true, nil
	}
}

func (s *Simulator) goLive(v time.Time) {
	select {
	case <-s.live:
	default:
		s.liveAt = v
		close(s.live)
	}
}

// Trigger kinds besides the entrapment variants (TrapVariants).
const TriggerRescue = "rescue"

// triggerInspect is the internal kind of an Inspect request.
const triggerInspect = "inspect"

type trigger struct {
	lift  *lift
	kind  string
	dur   time.Duration // triggerInspect: how long the lift stays in inspection mode
	reply chan triggerReply
}

type triggerReply struct {
	at  time.Time
	err error
}

// Trigger errors.
var (
	ErrEnded        = errors.New("the simulation has ended")
	ErrNotSimulated = errors.New("not simulated")
	ErrTriggerKind  = errors.New("unknown trigger kind")
	// ErrBusy: the lift cannot be put in inspection mode now (a passenger
	// is trapped, or a technician has it already).
	ErrBusy = errors.New("lift busy")
)

// Trigger makes a lift of a running simulation do kind now: kind is an
// entrapment variant (TrapVariants: the passenger is freed 17–23 minutes
// later, as after a random entrapment) or "rescue". "Now" is the virtual
// time that corresponds to the wall clock; during a backfill, the moment the
// backfill ends (with LiveFrom: the virtual time of the wall clock's now,
// which the simulation reaches by catching up). A lift whose terminal is offline comes back online first.
// It returns that virtual time. Safe for concurrent use with Run.
func (s *Simulator) Trigger(ctx context.Context, liftID, kind string) (time.Time, error) {
	l := s.byID[liftID]
	if l == nil {
		return time.Time{}, fmt.Errorf("lift %q: %w", liftID, ErrNotSimulated)
	}
	if kind != TriggerRescue && !slices.Contains(TrapVariants, kind) {
		return time.Time{}, fmt.Errorf("%w %q: want one of %s, %s", ErrTriggerKind, kind, strings.Join(TrapVariants, ", "), TriggerRescue)
	}
	return s.request(ctx, &trigger{lift: l, kind: kind, reply: make(chan triggerReply, 1)})
}

// Inspect puts a lift of a running simulation in inspection mode (a
// technician on site, 检修) for d from now, as a contractor's visit does:
// the terminal reports the mode change at once and the return to normal d
// later. "Now" is as for Trigger. It returns that virtual time; ErrBusy if
// a passenger is trapped in the lift or it is in inspection mode already.
// Safe for concurrent use with Run.
func (s *Simulator) Inspect(ctx context.Context, liftID string, d time.Duration) (time.Time, error) {
	l := s.byID[liftID]
	if l == nil {
		return time.Time{}, fmt.Errorf("lift %q: %w", liftID, ErrNotSimulated)
	}
	if d <= 0 {
		return time.Time{}, fmt.Errorf("inspection of %s: duration %v must be positive", liftID, d)
	}
	return s.request(ctx, &trigger{lift: l, kind: triggerInspect, dur: d, reply: make(chan triggerReply, 1)})
}

// request hands tr to the engine's goroutine and waits for its answer.
func (s *Simulator) request(ctx context.Context, tr *trigger) (time.Time, error) {
	select {
	case s.triggers <- tr:
	case <-s.done:
		return time.Time{}, ErrEnded
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
	select {
	case r := <-tr.reply:
		return r.at, r.err
	case <-s.done:
		// Run answers what it took before it ended; anything else
		// came too late.
		select {
		case r := <-tr.reply:
			return r.at, r.err
		default:
			return time.Time{}, ErrEnded
		}
	}
}

// accept schedules a trigger; it runs in Run's goroutine.
func (s *Simulator) accept(tr *trigger) {
	at := s.now
	switch {
	case s.cfg.Speed <= 0:
	case !s.paceW.IsZero():
		at = s.paceV.Add(time.Duration(float64(s.cfg.Now().Sub(s.paceW)) * s.cfg.Speed))
	case !s.cfg.FastUntil.IsZero():
		at = s.cfg.FastUntil // still backfilling: live starts there
	}
	if at.Before(s.now) {
		at = s.now
	}
	l := tr.lift
	switch {
	case !s.end().IsZero() && at.After(s.end()):
		tr.reply <- triggerReply{err: ErrEnded}
		return
	case tr.kind == TriggerRescue && !l.trapped:
		tr.reply <- triggerReply{err: fmt.Errorf("%s: nobody is trapped", l.reg.ID)}
		return
	case tr.kind == triggerInspect && (l.trapped || l.visiting):
		tr.reply <- triggerReply{err: fmt.Errorf("%s: %w: %s", l.reg.ID, ErrBusy, map[bool]string{true: "a passenger is trapped", false: "in inspection mode already"}[l.trapped])}
		return
	case tr.kind == triggerInspect:
		l.visiting = true // taken now: a second request before it starts is refused
		dur := tr.dur
		s.at(at, func(t time.Time) {
			l.reconnect(t)
			l.visiting = false
			l.visit(t, dur)
		})
		tr.reply <- triggerReply{at: at}
		return
	case tr.kind != TriggerRescue && l.trapped:
		tr.reply <- triggerReply{err: fmt.Errorf("%s: a passenger is trapped already", l.reg.ID)}
		return
	}
	kind := tr.kind
	s.at(at, func(t time.Time) {
		l.reconnect(t) // no-op when online
		if kind == TriggerRescue {
			l.rescue(t)
			return
		}
		if l.trapped {
			return
		}
		l.trap(t, kind, 0)
		l.s.at(t.Add(uniform(l.r, 17*time.Minute, 23*time.Minute)), l.rescue)
	})
	tr.reply <- triggerReply{at: at}
}

func (s *Simulator) at(t time.Time, fn func(time.Time)) {
	s.evSeq++
	s.events.push(event{key: t.UnixNano(), seq: s.evSeq, at: t, fn: fn})
}

// send hands one message to the sink, then maybe a resend and a hostile one.
func (s *Simulator) send(o *Out, l *lift) {
	s.deliver(o)
	if s.cfg.Rates.ResendProb > 0 && l.r.Float64() < s.cfg.Rates.ResendProb {
		dup := *o
		dup.Resend = true
		s.deliver(&dup)
	}
	if s.cfg.Rates.Hostile > 0 && s.r.Float64() < s.cfg.Rates.Hostile {
		s.deliver(s.hostile(l, o.Msg.TS))
	}
}

func (s *Simulator) deliver(o *Out) {
	if s.sendErr != nil {
		return
	}
	if err := s.sink.Send(s.ctx, o); err != nil {
		s.stats.update(func(c *Counts) { c.Failed++ })
		s.sendErr = fmt.Errorf("send %s: %w", o.Topic, err)
		return
	}
	s.stats.add(o)
}

// event is a callback due at a virtual time. key is at in Unix
// nanoseconds, so that ordering the heap compares integers held in the
// slice instead of loading two times through pointers: at 20,000 msg/s
// the heap's comparisons were 8% of the simulator's CPU.
type event struct {
	key int64
	seq uint64
	at  time.Time
	fn  func(time.Time)
}

// eventHeap is a min-heap of events by (at, seq), typed so that pushing and
// popping neither boxes an event nor calls through an interface.
type eventHeap []event

func (h eventHeap) Len() int { return len(h) }

func (h eventHeap) less(i, j int) bool {
	if h[i].key != h[j].key {
		return h[i].key < h[j].key
	}
	return h[i].seq < h[j].seq
}

func (h *eventHeap) push(e event) {
	*h = append(*h, e)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

// pop removes and returns the earliest event; the heap must not be empty.
func (h *eventHeap) pop() event {
	q := *h
	n := len(q) - 1
	e := q[0]
	q[0] = q[n]
	q[n] = event{} // let the callback go
	q = q[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && q.less(c+1, c) {
			c++
		}
		if !q.less(c, i) {
			break
		}
		q[i], q[c] = q[c], q[i]
		i = c
	}
	*h = q
	return e
}
