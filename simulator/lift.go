package simulator

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// storey is the height between landings in metres.
const storey = 2.9

// Entrapment variants: how a trapped passenger shows up in telemetry.
const (
	TrapExplicit        = "entrapment"        // the terminal senses it: entrapment fault
	TrapOutsideDoorZone = "outside_door_zone" // occupied car stopped between floors
	TrapDoorOpenFailure = "door_open_failure" // occupied car at a floor, door will not open
	TrapPowerLoss       = "power_loss"        // main power lost with someone inside
	TrapAlarmButton     = "alarm_button"      // the passenger presses the alarm, car not moving
)

// TrapVariants lists every variant.
var TrapVariants = []string{TrapExplicit, TrapOutsideDoorZone, TrapDoorOpenFailure, TrapPowerLoss, TrapAlarmButton}

type lift struct {
	s          *Simulator
	reg        *registry.Lift
	r          *rand.Rand
	background bool
	tripsDay   float64

	boot, seq  int64
	mode       telemetry.Mode
	floor      int
	moving     bool
	dir        telemetry.Direction
	door       telemetry.DoorState
	doorZone   bool
	occupied   bool
	trips      int64
	doorCycles int64
	runMS      int64
	battery    int

	gen      int // bumps cancel the scheduled journey events
	runFrom  int
	runStart time.Time
	dest     int // where the boarded passenger goes next; 0 none
	aboard   bool

	fault    string // active non-entrapment fault
	trapped  bool
	trapCode string // fault raised by the entrapment, "" if none
	visiting bool

	offline bool
	buffer  []*Out
	last    *Out // last message sent, for resends after a lost ack
}

func newLift(s *Simulator, idx int, reg *registry.Lift, background bool) *lift {
	r := rand.New(rand.NewPCG(s.cfg.Seed, uint64(idx)+1))
	rt := s.cfg.Rates
	l := &lift{s: s, reg: reg, r: r, background: background,
		tripsDay: rt.TripsPerDayMin + r.Float64()*(rt.TripsPerDayMax-rt.TripsPerDayMin),
		boot:     s.cfg.BootBase + int64(r.IntN(5)), floor: 1, doorZone: true, battery: 80 + r.IntN(21)}
	// Lifetime counters from the install date, so status looks like a lift
	// that has been running.
	if inst, err := time.Parse(time.DateOnly, reg.InstallDate); err == nil && s.cfg.Start.After(inst) {
		days := s.cfg.Start.Sub(inst).Hours() / 24
		l.trips = int64(days * l.tripsDay)
		l.doorCycles = l.trips + l.trips/8
		l.runMS = l.trips * 14000
	}
	return l
}

func (l *lift) start(t time.Time) {
	rt := l.s.cfg.Rates
	// Spread heartbeats over the interval; the first status is the terminal
	// announcing itself.
	l.s.at(t.Add(time.Duration(l.r.Int64N(int64(rt.StatusInterval)))), l.heartbeat)
	if !l.background {
		return
	}
	l.scheduleCall(t)
	if rt.FaultsPerLiftDay > 0 {
		l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.FaultsPerLiftDay))), l.randomFault)
	}
	if rt.EntrapmentsPerLiftMonth > 0 {
		l.s.at(t.Add(expDuration(l.r, time.Duration(float64(30*24*time.Hour)/rt.EntrapmentsPerLiftMonth))), l.randomTrap)
	}
	if rt.VisitInterval > 0 {
		l.s.at(t.Add(time.Duration(l.r.Int64N(int64(rt.VisitInterval)))), l.routineVisit)
	}
	if rt.DisconnectsPerLiftDay > 0 {
		l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.DisconnectsPerLiftDay))), l.randomDisconnect)
	}
	if rt.RebootsPerLiftDay > 0 {
		l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.RebootsPerLiftDay))), l.randomReboot)
	}
}

// ---- emission ----

func (l *lift) msg(t time.Time, k telemetry.Kind) *telemetry.Message {
	l.seq++
	return &telemetry.Message{Kind: k, Lift: l.reg.ID, Boot: l.boot, Seq: l.seq, TS: t.UnixMilli(),
		BatteryPct: -1, LoadPct: -1}
}

func (l *lift) emit(m *telemetry.Message) {
	o := &Out{Lift: l.reg.ID, Kind: m.Kind, Topic: telemetry.Topic(l.s.cfg.Root, l.reg.ID, m.Kind),
		Payload: telemetry.AppendJSON(make([]byte, 0, 320), m), Msg: *m}
	if l.offline {
		l.buffer = append(l.buffer, o)
		if lim := l.s.cfg.Rates.BufferLimit; lim > 0 && len(l.buffer) > lim {
			l.buffer = l.buffer[1:] // the terminal loses its oldest message
			l.s.stats.update(func(c *Counts) { c.Dropped++ })
		}
		return
	}
	l.last = o
	l.s.send(o, l)
}

func (l *lift) status(t time.Time) {
	m := l.msg(t, telemetry.KindStatus)
	m.Has = telemetry.FieldBattery
	m.Mode, m.Floor, m.Moving, m.Direction, m.Door = l.mode, l.floor, l.moving, l.dir, l.door
	m.DoorZone, m.Occupied, m.Trips, m.DoorCycles, m.RunS = l.doorZone, l.occupied, l.trips, l.doorCycles, l.runMS/1000
	m.BatteryPct = l.battery
	l.emit(m)
}

func (l *lift) setMode(t time.Time, mode telemetry.Mode) {
	if l.mode != mode {
		l.mode = mode
		l.status(t)
	}
}

func (l *lift) faultMsg(t time.Time, code string, state telemetry.FaultState, detail string) {
	m := l.msg(t, telemetry.KindFault)
	m.Code, m.State = code, state
	m.Has = telemetry.FieldFloor | telemetry.FieldDoorZone | telemetry.FieldOccupied
	m.Floor, m.DoorZone, m.Occupied = l.floor, l.doorZone, l.occupied
	if detail != "" {
		m.Has |= telemetry.FieldDetail
		m.Detail = detail
	}
	l.emit(m)
}

func (l *lift) alarm(t time.Time, src telemetry.AlarmSource) {
	m := l.msg(t, telemetry.KindAlarm)
	m.Source = src
	m.Has = telemetry.FieldFloor | telemetry.FieldOccupied
	m.Floor, m.Occupied = l.floor, l.occupied
	l.emit(m)
}

func (l *lift) heartbeat(t time.Time) {
	l.status(t)
	l.s.at(t.Add(l.s.cfg.Rates.StatusInterval), l.heartbeat)
}

// ---- traffic ----

func (l *lift) available() bool {
	return !l.trapped && !l.visiting && l.fault == "" && l.mode == telemetry.ModeNormal
}

func (l *lift) idle() bool { return !l.moving && l.door == telemetry.DoorClosed && l.dest == 0 }

func (l *lift) scheduleCall(t time.Time) {
	if !l.background {
		return
	}
	gen := l.gen
	l.s.at(nextCall(l.r, t, l.tripsDay), func(t time.Time) {
		if gen != l.gen {
			return
		}
		l.call(t)
	})
}

// call is a passenger calling the car: up from the ground floor, down to it,
// or now and then between upper floors.
func (l *lift) call(t time.Time) {
	if !l.available() || !l.idle() {
		l.scheduleCall(t)
		return
	}
	n := l.reg.Landings
	var from, to int
	switch x := l.r.IntN(100); {
	case x < 48:
		from, to = 1, 2+l.r.IntN(n-1)
	case x < 92:
		from, to = 2+l.r.IntN(n-1), 1
	default:
		from = 1 + l.r.IntN(n)
		to = 1 + l.r.IntN(n-1)
		if to >= from {
			to++
		}
	}
	l.dest = to
	if l.floor == from {
		l.openDoor(t) // board here
		return
	}
	l.run(t, from) // fetch the car
}

func (l *lift) runDuration(from, to int) (time.Duration, float64) {
	d := math.Abs(float64(to-from)) * storey
	v := l.reg.RatedSpeed
	const accel = 0.6 // m/s²
	if vmax := math.Sqrt(accel * d); vmax < v {
		v = vmax
	}
	secs := d/v + v/accel + 1.5 // cruise, accel+decel, door close and open
	secs *= 0.95 + 0.1*l.r.Float64()
	return time.Duration(secs * float64(time.Second)), math.Round(v*(0.97+0.05*l.r.Float64())*100) / 100
}

func (l *lift) run(t time.Time, to int) {
	l.runFrom, l.runStart = l.floor, t
	l.moving = true
	l.dir = telemetry.DirUp
	if to < l.floor {
		l.dir = telemetry.DirDown
	}
	l.occupied = l.aboard
	dur, speed := l.runDuration(l.floor, to)
	gen := l.gen
	l.s.at(t.Add(dur), func(t time.Time) {
		if gen != l.gen {
			return
		}
		l.arrive(t, to, dur, speed)
	})
}

func (l *lift) arrive(t time.Time, to int, dur time.Duration, speed float64) {
	m := l.msg(t, telemetry.KindTrip)
	m.From, m.To, m.DurationMS, m.MaxSpeed = l.runFrom, to, dur.Milliseconds(), speed
	m.Has = telemetry.FieldLoad
	if l.aboard {
		m.LoadPct = 8 + l.r.IntN(60)
	} else {
		m.LoadPct = 0
	}
	l.trips++
	l.runMS += dur.Milliseconds()
	l.floor, l.moving, l.dir = to, false, telemetry.DirNone
	l.emit(m)
	l.openDoor(t)
}

func (l *lift) openDoor(t time.Time) {
	l.door = telemetry.DoorOpen
	reopens := 0
	if x := l.r.IntN(100); x < 2 {
		reopens = 2
	} else if x < 12 {
		reopens = 1
	}
	open := uniform(l.r, 3*time.Second, 8*time.Second) + time.Duration(reopens)*1500*time.Millisecond
	gen := l.gen
	l.s.at(t.Add(open), func(t time.Time) {
		if gen != l.gen {
			return
		}
		l.closeDoor(t, open, reopens)
	})
}

func (l *lift) closeDoor(t time.Time, open time.Duration, reopens int) {
	m := l.msg(t, telemetry.KindDoor)
	m.Floor, m.OpenMS, m.Reopens = l.floor, open.Milliseconds(), int64(reopens)
	l.doorCycles++
	l.door = telemetry.DoorClosed
	l.emit(m)
	switch {
	case l.dest != 0 && l.dest != l.floor && !l.aboard:
		l.aboard = true // the passenger boarded at this landing
		dest := l.dest
		l.run(t, dest)
	case l.dest != 0 && l.dest != l.floor:
		dest := l.dest
		l.run(t, dest)
	default:
		l.dest, l.aboard, l.occupied = 0, false, false
		// Now and then the door opens again for someone at this landing.
		if l.r.IntN(100) < 12 {
			l.openDoor(t.Add(uniform(l.r, 5*time.Second, 2*time.Minute)))
			return
		}
		l.scheduleCall(t)
	}
}

// halt stops the journey in progress: scheduled journey events are dropped.
func (l *lift) halt() {
	l.gen++
	l.moving, l.dir = false, telemetry.DirNone
}

// resume puts an idle lift back into service.
func (l *lift) resume(t time.Time) {
	l.dest, l.aboard, l.occupied = 0, false, false
	l.door, l.doorZone = telemetry.DoorClosed, true
	l.scheduleCall(t)
}

// ---- faults, entrapments, visits ----

var randomFaultCodes = func() []string {
	var out []string
	for _, f := range telemetry.Catalogue {
		if f.Code != telemetry.FaultEntrapment {
			out = append(out, f.Code)
		}
	}
	return out
}()

func (l *lift) randomFault(t time.Time) {
	rt := l.s.cfg.Rates
	l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.FaultsPerLiftDay))), l.randomFault)
	if l.fault != "" || l.trapped || l.visiting {
		return
	}
	code := randomFaultCodes[l.r.IntN(len(randomFaultCodes))]
	l.raiseFault(t, code, uniform(l.r, time.Minute, 40*time.Minute))
}

// raiseFault raises code now and clears it after dur. Major and critical
// faults take the lift out of service until they clear.
func (l *lift) raiseFault(t time.Time, code string, dur time.Duration) {
	l.fault = code
	sev := telemetry.FaultSeverity(code)
	if sev >= telemetry.SeverityMajor {
		l.halt()
		l.aboard, l.occupied = false, false // passengers got out at a landing
		l.door, l.doorZone = telemetry.DoorClosed, true
	}
	l.faultMsg(t, code, telemetry.FaultActive, "")
	if sev >= telemetry.SeverityMajor {
		l.setMode(t, telemetry.ModeOutOfService)
	}
	if dur > 0 {
		l.s.at(t.Add(dur), func(t time.Time) { l.clearFault(t, code) })
	}
}

func (l *lift) clearFault(t time.Time, code string) {
	if l.fault != code {
		return
	}
	l.fault = ""
	l.faultMsg(t, code, telemetry.FaultCleared, "")
	if l.mode == telemetry.ModeOutOfService && !l.trapped && !l.visiting {
		l.setMode(t, telemetry.ModeNormal)
		l.resume(t)
	}
}

func (l *lift) randomTrap(t time.Time) {
	rt := l.s.cfg.Rates
	l.s.at(t.Add(expDuration(l.r, time.Duration(float64(30*24*time.Hour)/rt.EntrapmentsPerLiftMonth))), l.randomTrap)
	if l.trapped || l.visiting || l.fault != "" {
		return
	}
	variant := TrapVariants[l.r.IntN(len(TrapVariants))]
	l.trap(t, variant, 0)
	// Maintainer arrives in 12–15 min, the rescue takes 5–8.
	l.s.at(t.Add(uniform(l.r, 17*time.Minute, 23*time.Minute)), l.rescue)
}

// trap leaves a passenger stuck in the car, reported as variant. floor 0
// means where the car is.
func (l *lift) trap(t time.Time, variant string, floor int) {
	if l.trapped {
		return
	}
	l.halt()
	l.trapped, l.aboard, l.occupied = true, true, true
	l.door = telemetry.DoorClosed
	if floor > 0 {
		l.floor = floor
	}
	l.trapCode = ""
	switch variant {
	case TrapExplicit:
		l.doorZone = l.r.IntN(2) == 0
		l.trapCode = telemetry.FaultEntrapment
		l.faultMsg(t, telemetry.FaultEntrapment, telemetry.FaultActive, "passenger trapped")
	case TrapOutsideDoorZone:
		l.doorZone = false
		l.trapCode = telemetry.FaultStoppedOutsideDoorZone
		l.faultMsg(t, telemetry.FaultStoppedOutsideDoorZone, telemetry.FaultActive, "")
	case TrapDoorOpenFailure:
		l.doorZone = true
		l.trapCode = telemetry.FaultDoorOpenFailure
		l.faultMsg(t, telemetry.FaultDoorOpenFailure, telemetry.FaultActive, "")
	case TrapPowerLoss:
		l.doorZone = l.r.IntN(2) == 0
		l.trapCode = telemetry.FaultPowerLoss
		l.faultMsg(t, telemetry.FaultPowerLoss, telemetry.FaultActive, "")
		l.setMode(t, telemetry.ModeEmergencyPower)
	case TrapAlarmButton:
		l.doorZone = l.r.IntN(2) == 0
		l.status(t)
		l.alarm(t.Add(20*time.Second), telemetry.AlarmButton)
		l.s.at(t.Add(3*time.Minute), func(t time.Time) {
			if l.trapped {
				l.alarm(t, telemetry.AlarmIntercom)
			}
		})
		return
	}
	l.status(t)
}

// rescue is the technician freeing the passenger: inspection mode while on
// site, faults cleared, car back in service.
func (l *lift) rescue(t time.Time) {
	if !l.trapped {
		return
	}
	l.setMode(t, telemetry.ModeInspection)
	l.trapped, l.aboard, l.occupied = false, false, false
	l.doorZone, l.door = true, telemetry.DoorClosed
	if l.trapCode != "" {
		l.faultMsg(t.Add(time.Second), l.trapCode, telemetry.FaultCleared, "passengers released")
		l.trapCode = ""
	}
	l.doorCycles++ // the door opened to let them out
	m := l.msg(t.Add(2*time.Second), telemetry.KindDoor)
	m.Floor, m.OpenMS = l.floor, 30000
	l.emit(m)
	l.s.at(t.Add(uniform(l.r, 5*time.Minute, 10*time.Minute)), func(t time.Time) {
		if l.trapped || l.visiting || l.fault != "" {
			return
		}
		l.setMode(t, telemetry.ModeNormal)
		l.resume(t)
	})
}

func (l *lift) routineVisit(t time.Time) {
	l.s.at(t.Add(l.s.cfg.Rates.VisitInterval+uniform(l.r, -24*time.Hour, 24*time.Hour)), l.routineVisit)
	l.visit(t, uniform(l.r, 35*time.Minute, 55*time.Minute))
}

// visit is a technician on site: the lift is in inspection mode for dur.
func (l *lift) visit(t time.Time, dur time.Duration) {
	if l.trapped || l.visiting {
		return
	}
	l.halt()
	l.visiting = true
	l.aboard, l.occupied, l.dest = false, false, 0
	l.door, l.doorZone = telemetry.DoorClosed, true
	l.setMode(t, telemetry.ModeInspection)
	l.s.at(t.Add(dur), func(t time.Time) {
		l.visiting = false
		if l.fault != "" || l.trapped {
			return
		}
		l.setMode(t, telemetry.ModeNormal)
		l.resume(t)
	})
}

// ---- terminal troubles ----

func (l *lift) randomDisconnect(t time.Time) {
	rt := l.s.cfg.Rates
	l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.DisconnectsPerLiftDay))), l.randomDisconnect)
	l.disconnect(t, uniform(l.r, time.Minute, 40*time.Minute))
}

// disconnect takes the terminal offline for dur: it buffers what it would
// send and, on reconnecting, sends the buffer partly out of order and resends
// the message whose ack it lost.
func (l *lift) disconnect(t time.Time, dur time.Duration) {
	if l.offline {
		return
	}
	l.offline = true
	l.s.at(t.Add(dur), l.reconnect)
}

func (l *lift) reconnect(t time.Time) {
	if !l.offline {
		return
	}
	l.offline = false
	if l.last != nil {
		dup := *l.last
		dup.Resend = true
		l.s.deliver(&dup)
	}
	buf := l.buffer
	l.buffer = nil
	for i := 0; i+1 < len(buf); i++ {
		if l.r.IntN(4) == 0 {
			buf[i], buf[i+1] = buf[i+1], buf[i]
			i++
		}
	}
	for _, o := range buf {
		l.last = o
		l.s.send(o, l)
	}
}

func (l *lift) randomReboot(t time.Time) {
	rt := l.s.cfg.Rates
	l.s.at(t.Add(expDuration(l.r, time.Duration(float64(24*time.Hour)/rt.RebootsPerLiftDay))), l.randomReboot)
	l.reboot(t)
}

// reboot restarts the terminal: boot+1, seq from 1, status on start-up. A
// terminal that reboots loses its offline buffer.
func (l *lift) reboot(t time.Time) {
	if l.offline {
		n := int64(len(l.buffer))
		l.s.stats.update(func(c *Counts) { c.Dropped += n })
		l.buffer = nil
		l.offline = false
	}
	l.boot++
	l.seq = 0
	l.s.stats.update(func(c *Counts) { c.Reboots++ })
	l.status(t.Add(5 * time.Second))
}

// resend sends the last message again, as after a lost PUBACK.
func (l *lift) resend() {
	if l.last != nil && !l.offline {
		dup := *l.last
		dup.Resend = true
		l.s.deliver(&dup)
	}
}
