// Package liftstate owns what liftwatch knows of each lift right now: the
// car (mode, floor, door, occupancy, active faults), its counters, whether it
// is online, its boot and sequence health, and its inspection-mode sessions.
//
// One writer per lift: ingest applies every accepted message in the lift's
// order (Observe, from its per-shard dispatch loop) and counts duplicates,
// gaps and stale messages; the offline sweeper flips liveness. Readers
// (alerts, maintenance, the API) get value copies (Get, List, Car); no lock
// is held across I/O, and each lift has its own lock.
package liftstate

import (
	"slices"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Fault is a fault the terminal reports active.
type Fault struct {
	Code  string    `json:"code"`
	Since time.Time `json:"since"` // event time of the report that made it active
}

// Car is the car as the lift's messages in order describe it. It is built
// from the messages passed on to the consumers (fresh ones, and faults and
// alarms whatever their place in the sequence); a report older than what the
// car already shows does not overwrite occupancy or door zone.
type Car struct {
	HaveStatus bool                `json:"have_status"`
	Mode       telemetry.Mode      `json:"-"`
	ModeSince  time.Time           `json:"mode_since"` // event time the mode was entered
	Floor      int                 `json:"floor"`
	Moving     bool                `json:"moving"`
	Door       telemetry.DoorState `json:"-"`
	DoorZone   bool                `json:"door_zone"`
	Occupied   bool                `json:"occupied"`
	BatteryPct int                 `json:"battery_pct"` // -1: never reported
	// AlarmPending: the alarm was pressed in an occupied, stopped car and not
	// yet answered by movement or a door cycle.
	AlarmPending bool    `json:"alarm_pending"`
	Faults       []Fault `json:"faults"` // active faults, oldest first
	// At is the event time of the newest message applied to the car.
	At time.Time `json:"at"`
}

// FaultActive reports whether code is active.
func (c *Car) FaultActive(code string) bool {
	for i := range c.Faults {
		if c.Faults[i].Code == code {
			return true
		}
	}
	return false
}

// Counters are the lift's lifetime counters: the newest status report's
// values, advanced by the trips and door cycles reported since.
type Counters struct {
	Trips      int64     `json:"trips"`
	DoorCycles int64     `json:"door_cycles"`
	RunS       int64     `json:"run_s"`
	At         time.Time `json:"at"` // event time of the newest message counted
}

// Session is one stay in inspection mode (a technician has the car).
type Session struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"` // zero while it lasts
	// Minutes is the session's length once it has ended.
	Minutes float64 `json:"minutes"`
}

// Lift is a copy of what liftwatch knows of a lift right now.
type Lift struct {
	Lift      string             `json:"lift"`
	Estate    string             `json:"estate"`
	Online    bool               `json:"online"`
	LastSeen  *time.Time         `json:"last_seen,omitempty"`  // arrival of its last message
	LastEvent *time.Time         `json:"last_event,omitempty"` // ts of its newest message
	Boot      int64              `json:"boot"`
	Status    *telemetry.Message `json:"-"` // newest status report by event time
	// Sequence health (from ingest's duplicate and gap detection).
	Messages   int64 `json:"messages"`
	Duplicates int64 `json:"duplicates"`
	Gaps       int64 `json:"gaps"` // sequence numbers confirmed lost
	// Stale counts messages too far behind the lift's sequence to be checked
	// for repeats; SeqBackwards flags a lift that sent one (it reset its
	// counter without a new boot, or delivered a backlog out of order), and
	// SeqBackwardsAt is when the last one arrived.
	Stale          int64      `json:"stale"`
	SeqBackwards   bool       `json:"seq_backwards"`
	SeqBackwardsAt *time.Time `json:"seq_backwards_at,omitempty"`

	Car      Car      `json:"car"`
	Counters Counters `json:"counters"`
	// Inspections are the recent inspection-mode sessions, oldest first
	// (bounded: see Options).
	Inspections []Session `json:"inspections"`
}

// Update is what applying one message did, handed with it to the consumers.
type Update struct {
	Estate string
	// Came is the sequence number of the lift's transition to online that
	// this message caused, 0 if it was online already.
	Came uint64
	// Redelivery: a fault or alarm with this (boot, seq) was applied
	// already; it changed nothing but liveness.
	Redelivery bool
	// Duplicate: ingest's duplicate detection had this fault or alarm's
	// (boot, seq) already (it is in the spool): the source delivered it
	// again, e.g. unacked when the service stopped. Set by ingest, not by
	// Observe; unlike Redelivery it may be new to this run's state (that
	// memory does not survive a restart), so a consumer must judge it by
	// what it persisted.
	Duplicate bool
	// Late: the message's event time is before the car's newest.
	Late bool
	// FaultLate: a fault report older than the newest report of its code;
	// it did not change whether the code is active.
	FaultLate bool
	// Car is the car after the message.
	Car Car
}

// Transition reports a lift going online or offline. Seq numbers one lift's
// transitions in the order they happened, so a consumer can ignore one that
// reaches it after a newer one.
type Transition struct {
	Lift     string
	Online   bool
	Seq      uint64
	LastSeen time.Time
}

// Options bound what each lift keeps.
type Options struct {
	// OfflineAfter: a lift silent this long is offline (default 3 minutes).
	OfflineAfter time.Duration
	// InspectionRetention and MaxInspections bound the inspection sessions
	// kept per lift: sessions ended longer ago than the retention (counted
	// from the newest session's start), and beyond the count, are dropped
	// (defaults 90 days and 500).
	InspectionRetention time.Duration
	MaxInspections      int
}

// EventMemory is how many faults and alarms per lift are remembered by
// (boot, seq) to recognise their redelivery. Faults and alarms are rare;
// lifts that never send one hold nothing.
const EventMemory = 256

type evKey struct{ boot, seq int64 }

type entry struct {
	mu sync.Mutex
	Lift
	status  telemetry.Message
	changes uint64 // online/offline transitions, numbered under mu
	faultAt map[string]time.Time
	runMS   int64 // milliseconds of running not yet whole seconds in Counters.RunS
	// The last EventMemory faults and alarms applied, by (boot, seq).
	seen     map[evKey]struct{}
	seenRing []evKey
	seenNext int
}

// Store holds every registered lift's live state. Entries exist for every
// registered lift from the start, so updates lock only their own lift.
type Store struct {
	lifts map[string]*entry
	order []*entry
	opt   Options
}

// New makes the state of the registered lifts; a lift is offline before its
// first message and after OfflineAfter without one.
func New(ix *registry.Index, opt Options) *Store {
	if opt.OfflineAfter <= 0 {
		opt.OfflineAfter = 3 * time.Minute
	}
	if opt.InspectionRetention <= 0 {
		opt.InspectionRetention = 90 * 24 * time.Hour
	}
	if opt.MaxInspections <= 0 {
		opt.MaxInspections = 500
	}
	s := &Store{lifts: make(map[string]*entry, ix.Len()), opt: opt}
	for _, l := range ix.Lifts() {
		e := &entry{Lift: Lift{Lift: l.ID, Estate: l.Estate, Car: Car{DoorZone: true, BatteryPct: -1}}}
		s.lifts[l.ID] = e
		s.order = append(s.order, e)
	}
	return s
}

// Observe applies an accepted message that arrived at recv. Every message
// counts for liveness and the last status report; toCar says whether it also
// updates the car, counters and inspection sessions (ingest passes false for
// status, trip and door messages too far behind the lift's sequence to be
// told from repeats). ok is false for a lift not in the register.
func (s *Store) Observe(m *telemetry.Message, recv time.Time, toCar bool) (u Update, ok bool) {
	e := s.lifts[m.Lift]
	if e == nil {
		return Update{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u.Estate = e.Estate
	if !e.Online {
		e.changes++
		u.Came = e.changes
	}
	e.Online = true
	e.Messages++
	seen := recv
	e.LastSeen = &seen
	ev := m.Time()
	if e.LastEvent == nil || ev.After(*e.LastEvent) {
		e.LastEvent = &ev
	}
	if m.Boot > e.Boot {
		e.Boot = m.Boot
	}
	if m.Kind == telemetry.KindStatus && (e.Status == nil || m.TS >= e.status.TS) {
		e.status = *m
		e.Status = &e.status
	}
	if toCar {
		if (m.Kind == telemetry.KindFault || m.Kind == telemetry.KindAlarm) && !e.remember(m.Boot, m.Seq) {
			u.Redelivery = true
		} else {
			s.applyCar(e, m, &u)
		}
	}
	u.Car = e.Car
	u.Car.Faults = slices.Clone(e.Car.Faults)
	return u, true
}

// remember records (boot, seq) and reports whether it is new.
func (e *entry) remember(boot, seq int64) bool {
	k := evKey{boot, seq}
	if _, ok := e.seen[k]; ok {
		return false
	}
	if e.seen == nil {
		e.seen = make(map[evKey]struct{}, 8)
	}
	if len(e.seenRing) < EventMemory {
		e.seenRing = append(e.seenRing, k)
	} else {
		delete(e.seen, e.seenRing[e.seenNext])
		e.seenRing[e.seenNext] = k
		e.seenNext = (e.seenNext + 1) % EventMemory
	}
	e.seen[k] = struct{}{}
	return true
}

// applyCar updates the car, counters and sessions with m, under e.mu.
func (s *Store) applyCar(e *entry, m *telemetry.Message, u *Update) {
	c := &e.Car
	at := m.Time()
	u.Late = at.Before(c.At) // a late report: it must not undo newer state
	if at.After(c.At) {
		c.At = at
	}
	switch m.Kind {
	case telemetry.KindStatus:
		if !c.HaveStatus || m.Mode != c.Mode {
			s.modeChange(e, m.Mode, at)
			c.ModeSince = at
		}
		c.HaveStatus = true
		c.Mode, c.Occupied, c.Moving, c.DoorZone = m.Mode, m.Occupied, m.Moving, m.DoorZone
		c.Floor, c.Door = m.Floor, m.Door
		if m.Moving || !m.Occupied {
			c.AlarmPending = false
		}
		if m.Has&telemetry.FieldBattery != 0 {
			c.BatteryPct = m.BatteryPct
		}
		if !at.Before(e.Counters.At) {
			e.Counters = Counters{Trips: m.Trips, DoorCycles: m.DoorCycles, RunS: m.RunS, At: at}
			e.runMS = 0
		}
	case telemetry.KindTrip:
		// A completed run ends at a landing: nobody is stuck now.
		c.Moving, c.DoorZone, c.AlarmPending = false, true, false
		if !u.Late {
			c.Floor = m.To
		}
		if at.After(e.Counters.At) {
			e.Counters.Trips++
			e.runMS += m.DurationMS
			e.Counters.RunS += e.runMS / 1000
			e.runMS %= 1000
			e.Counters.At = at
		}
	case telemetry.KindDoor:
		// The door cycled at a landing: whoever was inside could get out.
		c.DoorZone, c.AlarmPending, c.Occupied = true, false, false
		c.Faults = removeFault(c.Faults, telemetry.FaultDoorOpenFailure)
		if at.After(e.Counters.At) {
			e.Counters.DoorCycles++
			e.Counters.At = at
		}
	case telemetry.KindFault:
		if !u.Late {
			if m.Has&telemetry.FieldOccupied != 0 {
				c.Occupied = m.Occupied
			}
			if m.Has&telemetry.FieldDoorZone != 0 {
				c.DoorZone = m.DoorZone
			}
		}
		// The newest report of a code decides whether it is active; an
		// older one (a backlog, a terminal that reset its counter) is still
		// evidence that the fault happened, but changes nothing here.
		if last, ok := e.faultAt[m.Code]; ok && at.Before(last) {
			u.FaultLate = true
			return
		}
		if e.faultAt == nil {
			e.faultAt = map[string]time.Time{}
		}
		e.faultAt[m.Code] = at
		if m.State == telemetry.FaultCleared {
			c.Faults = removeFault(c.Faults, m.Code)
		} else if !c.FaultActive(m.Code) {
			c.Faults = append(c.Faults, Fault{Code: m.Code, Since: at})
		}
	case telemetry.KindAlarm:
		if m.Has&telemetry.FieldOccupied != 0 && !u.Late {
			c.Occupied = m.Occupied
		}
		if c.Occupied && !c.Moving && !u.Late {
			c.AlarmPending = true
		}
	}
}

func removeFault(fs []Fault, code string) []Fault {
	return slices.DeleteFunc(fs, func(f Fault) bool { return f.Code == code })
}

// modeChange keeps the inspection sessions as the mode changes to mode at at.
func (s *Store) modeChange(e *entry, mode telemetry.Mode, at time.Time) {
	ins := e.Inspections
	if n := len(ins); n > 0 && ins[n-1].End.IsZero() && mode != telemetry.ModeInspection {
		ins[n-1].End = at
		ins[n-1].Minutes = at.Sub(ins[n-1].Start).Minutes()
	}
	if mode != telemetry.ModeInspection || (len(ins) > 0 && ins[len(ins)-1].End.IsZero()) {
		return
	}
	ins = append(ins, Session{Start: at})
	cut := 0
	for cut < len(ins)-1 && (len(ins)-cut > s.opt.MaxInspections || at.Sub(ins[cut].End) > s.opt.InspectionRetention) {
		cut++
	}
	if cut > 0 {
		ins = append(ins[:0], ins[cut:]...)
	}
	e.Inspections = ins
}

// AddDuplicate counts a repeat of a message already taken.
func (s *Store) AddDuplicate(lift string) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Duplicates++
		e.mu.Unlock()
	}
}

// AddStale counts a message too far behind the lift's sequence to check,
// arrived at at, and flags the lift's sequence as going backwards.
func (s *Store) AddStale(lift string, at time.Time) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Stale++
		e.SeqBackwards = true
		e.SeqBackwardsAt = &at
		e.mu.Unlock()
	}
}

// AddGaps counts n sequence numbers confirmed lost.
func (s *Store) AddGaps(lift string, n int64) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Gaps += n
		e.mu.Unlock()
	}
}

// Sweep marks lifts silent for longer than OfflineAfter as offline and
// returns those that just went offline. The check and the flip happen under
// the lift's lock, so a message arriving at the same moment either counts
// before (the lift stays online) or after (it comes back online, with a
// newer transition number): there is no lost transition.
func (s *Store) Sweep(now time.Time) []Transition {
	var out []Transition
	for _, e := range s.order {
		e.mu.Lock()
		if e.Online && e.LastSeen != nil && now.Sub(*e.LastSeen) > s.opt.OfflineAfter {
			e.Online = false
			e.changes++
			out = append(out, Transition{Lift: e.Lift.Lift, Online: false, Seq: e.changes, LastSeen: *e.LastSeen})
		}
		e.mu.Unlock()
	}
	return out
}

// Get returns a copy of one lift's state.
func (s *Store) Get(lift string) (Lift, bool) {
	e := s.lifts[lift]
	if e == nil {
		return Lift{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.copyLocked(), true
}

// Car returns a copy of one lift's car.
func (s *Store) Car(lift string) (Car, bool) {
	e := s.lifts[lift]
	if e == nil {
		return Car{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.Car
	c.Faults = slices.Clone(e.Car.Faults)
	return c, true
}

func (e *entry) copyLocked() Lift {
	c := e.Lift
	if e.Status != nil {
		st := e.status
		c.Status = &st
	}
	c.Car.Faults = slices.Clone(e.Car.Faults)
	c.Inspections = slices.Clone(e.Inspections)
	return c
}

// List returns copies of every lift's state, ordered by lift ID.
func (s *Store) List() []Lift {
	out := make([]Lift, 0, len(s.order))
	for _, e := range s.order {
		e.mu.Lock()
		out = append(out, e.copyLocked())
		e.mu.Unlock()
	}
	return out
}

// Online counts lifts online and offline.
func (s *Store) Online() (online, offline int) {
	for _, e := range s.order {
		e.mu.Lock()
		if e.Online {
			online++
		} else {
			offline++
		}
		e.mu.Unlock()
	}
	return online, offline
}
