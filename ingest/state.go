package ingest

import (
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// LiftState is what liftwatch knows of a lift right now.
type LiftState struct {
	Lift       string             `json:"lift"`
	Estate     string             `json:"estate"`
	Online     bool               `json:"online"`
	LastSeen   *time.Time         `json:"last_seen,omitempty"`  // arrival of its last message
	LastEvent  *time.Time         `json:"last_event,omitempty"` // ts of its newest message
	Boot       int64              `json:"boot"`
	Status     *telemetry.Message `json:"-"`
	Messages   int64              `json:"messages"`
	Duplicates int64              `json:"duplicates"`
	Gaps       int64              `json:"gaps"` // sequence numbers confirmed lost
	// Stale counts messages too far behind the lift's sequence to be checked
	// for repeats; SeqBackwards flags a lift that sent one (it reset its
	// counter without a new boot, or delivered a backlog out of order), and
	// SeqBackwardsAt is when the last one arrived.
	Stale          int64      `json:"stale"`
	SeqBackwards   bool       `json:"seq_backwards"`
	SeqBackwardsAt *time.Time `json:"seq_backwards_at,omitempty"`
}

type liftEntry struct {
	mu sync.Mutex
	LiftState
	status  telemetry.Message
	changes uint64 // online/offline transitions, numbered under mu
}

// StateChange reports a lift going online or offline. Seq numbers one lift's
// transitions in the order they happened, so a consumer can ignore one that
// reaches it after a newer one.
type StateChange struct {
	Lift     string
	Online   bool
	Seq      uint64
	LastSeen time.Time
}

// State holds every registered lift's latest status and liveness. Entries
// exist for every registered lift from the start, so updates lock only their
// own lift.
type State struct {
	lifts        map[string]*liftEntry
	order        []*liftEntry
	offlineAfter time.Duration
}

// NewState makes state for the registered lifts; a lift is offline after
// offlineAfter without a message (and before its first).
func NewState(ix *registry.Index, offlineAfter time.Duration) *State {
	s := &State{lifts: make(map[string]*liftEntry, ix.Len()), offlineAfter: offlineAfter}
	for _, l := range ix.Lifts() {
		e := &liftEntry{LiftState: LiftState{Lift: l.ID, Estate: l.Estate}}
		s.lifts[l.ID] = e
		s.order = append(s.order, e)
	}
	return s
}

// observe records an accepted message that arrived at at; if the lift came
// back online it returns the transition's sequence number, else 0.
func (s *State) observe(m *telemetry.Message, at time.Time) uint64 {
	e := s.lifts[m.Lift]
	if e == nil {
		return 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var came uint64
	if !e.Online {
		e.changes++
		came = e.changes
	}
	e.Online = true
	e.Messages++
	seen := at
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
	return came
}

func (s *State) addDup(lift string) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Duplicates++
		e.mu.Unlock()
	}
}

func (s *State) addStale(lift string, at time.Time) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Stale++
		e.SeqBackwards = true
		e.SeqBackwardsAt = &at
		e.mu.Unlock()
	}
}

func (s *State) addGaps(lift string, n int64) {
	if e := s.lifts[lift]; e != nil {
		e.mu.Lock()
		e.Gaps += n
		e.mu.Unlock()
	}
}

// Sweep marks lifts silent for longer than offlineAfter as offline and
// returns those that just went offline. The check and the flip happen under
// the lift's lock, so a message arriving at the same moment either counts
// before (the lift stays online) or after (it comes back online): there is
// no lost transition.
func (s *State) Sweep(now time.Time) []StateChange {
	var out []StateChange
	for _, e := range s.order {
		e.mu.Lock()
		if e.Online && e.LastSeen != nil && now.Sub(*e.LastSeen) > s.offlineAfter {
			e.Online = false
			e.changes++
			out = append(out, StateChange{Lift: e.Lift, Online: false, Seq: e.changes, LastSeen: *e.LastSeen})
		}
		e.mu.Unlock()
	}
	return out
}

// Get returns a copy of one lift's state.
func (s *State) Get(lift string) (LiftState, bool) {
	e := s.lifts[lift]
	if e == nil {
		return LiftState{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.copyLocked(), true
}

func (e *liftEntry) copyLocked() LiftState {
	c := e.LiftState
	if e.Status != nil {
		st := e.status
		c.Status = &st
	}
	return c
}

// List returns copies of every lift's state, ordered by lift ID.
func (s *State) List() []LiftState {
	out := make([]LiftState, 0, len(s.order))
	for _, e := range s.order {
		e.mu.Lock()
		out = append(out, e.copyLocked())
		e.mu.Unlock()
	}
	return out
}

// Online counts lifts online and offline.
func (s *State) Online() (online, offline int) {
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
