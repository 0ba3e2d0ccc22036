package liftstate_test

import (
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

var t0 = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)

const lift = "JW-0001"

func newStore(t *testing.T, opt liftstate.Options) *liftstate.Store {
	t.Helper()
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	return liftstate.New(registry.NewIndex(fleet), opt)
}

func msg(k telemetry.Kind, seq int64, at time.Time, f func(m *telemetry.Message)) *telemetry.Message {
	m := &telemetry.Message{Kind: k, Lift: lift, Boot: 1, Seq: seq, TS: at.UnixMilli(), BatteryPct: -1, LoadPct: -1, DoorZone: true}
	if f != nil {
		f(m)
	}
	return m
}

func mode(md telemetry.Mode) func(m *telemetry.Message) {
	return func(m *telemetry.Message) { m.Mode = md }
}

func TestInspectionSessions(t *testing.T) {
	s := newStore(t, liftstate.Options{MaxInspections: 3})
	seq := int64(0)
	at := t0
	feed := func(md telemetry.Mode, d time.Duration) {
		seq++
		at = at.Add(d)
		s.Observe(msg(telemetry.KindStatus, seq, at, mode(md)), at, true)
	}
	feed(telemetry.ModeNormal, 0)
	feed(telemetry.ModeInspection, time.Minute)
	feed(telemetry.ModeInspection, 10*time.Minute) // the same session
	st, _ := s.Get(lift)
	if len(st.Inspections) != 1 || !st.Inspections[0].End.IsZero() || !st.Inspections[0].Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("open session: %+v", st.Inspections)
	}
	feed(telemetry.ModeNormal, 35*time.Minute)
	st, _ = s.Get(lift)
	if got := st.Inspections[0]; got.Minutes != 45 || !got.End.Equal(t0.Add(46*time.Minute)) {
		t.Fatalf("closed session: %+v", got)
	}
	// Bounded: at most MaxInspections, the oldest dropped first.
	for i := 0; i < 4; i++ {
		feed(telemetry.ModeInspection, time.Hour)
		feed(telemetry.ModeNormal, 20*time.Minute)
	}
	st, _ = s.Get(lift)
	if len(st.Inspections) != 3 || st.Inspections[2].Minutes != 20 || st.Inspections[0].Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("bounded history: %+v", st.Inspections)
	}
	// Sessions older than the retention are dropped at the next one.
	s2 := newStore(t, liftstate.Options{})
	s2.Observe(msg(telemetry.KindStatus, 1, t0, mode(telemetry.ModeInspection)), t0, true)
	s2.Observe(msg(telemetry.KindStatus, 2, t0.Add(time.Hour), mode(telemetry.ModeNormal)), t0, true)
	later := t0.Add(91 * 24 * time.Hour)
	s2.Observe(msg(telemetry.KindStatus, 3, later, mode(telemetry.ModeInspection)), later, true)
	if st, _ := s2.Get(lift); len(st.Inspections) != 1 || !st.Inspections[0].Start.Equal(later) {
		t.Fatalf("90-day retention: %+v", st.Inspections)
	}
}

func TestCountersAndCar(t *testing.T) {
	s := newStore(t, liftstate.Options{})
	s.Observe(msg(telemetry.KindStatus, 1, t0, func(m *telemetry.Message) {
		m.Trips, m.DoorCycles, m.RunS, m.Floor, m.Occupied = 100, 250, 3600, 2, true
		m.Has, m.BatteryPct = telemetry.FieldBattery, 80
	}), t0, true)
	s.Observe(msg(telemetry.KindTrip, 2, t0.Add(time.Minute), func(m *telemetry.Message) { m.From, m.To, m.DurationMS = 2, 5, 1500 }), t0, true)
	s.Observe(msg(telemetry.KindTrip, 3, t0.Add(2*time.Minute), func(m *telemetry.Message) { m.From, m.To, m.DurationMS = 5, 1, 1500 }), t0, true)
	s.Observe(msg(telemetry.KindDoor, 4, t0.Add(3*time.Minute), nil), t0, true)
	st, _ := s.Get(lift)
	if c := st.Counters; c.Trips != 102 || c.DoorCycles != 251 || c.RunS != 3603 {
		t.Fatalf("counters: %+v", c)
	}
	if c := st.Car; c.Floor != 1 || c.Occupied || c.BatteryPct != 80 || !c.HaveStatus {
		t.Fatalf("car: %+v", c)
	}
	// The next status is the terminal's own count.
	s.Observe(msg(telemetry.KindStatus, 5, t0.Add(4*time.Minute), func(m *telemetry.Message) { m.Trips, m.DoorCycles, m.RunS = 103, 252, 3604 }), t0, true)
	if st, _ := s.Get(lift); st.Counters.Trips != 103 || st.Counters.RunS != 3604 {
		t.Fatalf("counters after status: %+v", st.Counters)
	}
	// Stale status, trip and door messages count for liveness only.
	s.Observe(msg(telemetry.KindTrip, 1, t0.Add(5*time.Minute), nil), t0, false)
	if st, _ := s.Get(lift); st.Counters.Trips != 103 || st.Messages != 6 {
		t.Fatalf("a stale trip counted: %+v, messages %d", st.Counters, st.Messages)
	}
}

func TestFaultsLateAndRedelivered(t *testing.T) {
	s := newStore(t, liftstate.Options{})
	f := msg(telemetry.KindFault, 10, t0.Add(time.Minute), func(m *telemetry.Message) { m.Code = "door_lock" })
	if u, _ := s.Observe(f, t0, true); u.Redelivery || u.FaultLate || !u.Car.FaultActive("door_lock") {
		t.Fatalf("first report: %+v", u)
	}
	if u, _ := s.Observe(f, t0, true); !u.Redelivery {
		t.Fatal("the same (boot, seq) again is not a redelivery")
	}
	late := msg(telemetry.KindFault, 5, t0, func(m *telemetry.Message) {
		m.Code, m.State, m.Has, m.Occupied = "door_lock", telemetry.FaultCleared, telemetry.FieldOccupied, true
	})
	u, _ := s.Observe(late, t0, true)
	if !u.Late || !u.FaultLate || !u.Car.FaultActive("door_lock") || u.Car.Occupied {
		t.Fatalf("a late clear changed the car: %+v", u)
	}
	// Snapshots are copies.
	u.Car.Faults[0].Code = "changed"
	if c, _ := s.Car(lift); !c.FaultActive("door_lock") {
		t.Fatal("a reader's copy changed the state")
	}
}

// TestTransitionsNeverLost: a sweep racing messages either keeps the lift
// online or numbers its return after the offline; transitions alternate and
// their numbers rise.
func TestTransitionsNeverLost(t *testing.T) {
	s := newStore(t, liftstate.Options{OfflineAfter: time.Minute})
	var mu sync.Mutex
	var seen []liftstate.Transition
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := int64(1); i <= 2000; i++ {
			u, _ := s.Observe(msg(telemetry.KindStatus, i, t0, nil), t0, true)
			if u.Came != 0 {
				mu.Lock()
				seen = append(seen, liftstate.Transition{Online: true, Seq: u.Came})
				mu.Unlock()
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			for _, tr := range s.Sweep(t0.Add(2 * time.Minute)) {
				if tr.Lift == lift {
					mu.Lock()
					seen = append(seen, tr)
					mu.Unlock()
				}
			}
		}
	}()
	wg.Wait()
	// Order the transitions by number: they must alternate, starting online.
	bySeq := map[uint64]bool{}
	for _, tr := range seen {
		bySeq[tr.Seq] = tr.Online
	}
	if len(bySeq) != len(seen) {
		t.Fatal("a transition number was given twice")
	}
	for i := uint64(1); i <= uint64(len(seen)); i++ {
		on, ok := bySeq[i]
		if !ok || on != (i%2 == 1) {
			t.Fatalf("transition %d: online=%v present=%v", i, on, ok)
		}
	}
	st, _ := s.Get(lift)
	if st.Online != bySeq[uint64(len(seen))] {
		t.Fatal("the last transition is not the lift's state")
	}
}
