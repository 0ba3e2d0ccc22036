package simulator

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai)

func runFleet(t *testing.T, cfg Config) (*Simulator, []Out) {
	t.Helper()
	rec := &Recorder{}
	s, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, rec.Out
}

func jiangwan(t *testing.T) []registry.Lift {
	t.Helper()
	f, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// CheckContract decodes every message the simulator sent and checks the
// contract's rules: hostile messages are rejected with their reason, valid
// ones decode; per lift and boot, seq is unique; lifetime counters in status
// never fall, and where no message was lost they equal the first status plus
// the trips and door cycles published since. It returns the number of seq
// gaps found.
func CheckContract(t testing.TB, fleet []registry.Lift, outs []Out, now time.Time) (gaps int64) {
	t.Helper()
	ix := registry.NewIndex(fleet)
	var dec telemetry.Decoder
	byLift := map[string][]telemetry.Message{}
	seen := map[telemetry.Key][]byte{}
	for _, o := range outs {
		lift, kind, err := telemetry.ParseTopic(telemetry.DefaultRoot, o.Topic)
		if err == nil {
			if _, ok := ix.Get(lift); !ok {
				err = &telemetry.DecodeError{Reason: telemetry.ReasonUnknownLift}
			}
		}
		var m telemetry.Message
		if err == nil {
			err = dec.Decode(lift, kind, o.Payload, now, &m)
		}
		if o.Hostile != "" {
			if telemetry.ReasonOf(err) != o.Hostile {
				t.Fatalf("hostile %s message %s %q: got %v", o.Hostile, o.Topic, o.Payload, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("valid message rejected: %s %s: %v", o.Topic, o.Payload, err)
		}
		k := m.Key()
		if prev, ok := seen[k]; ok {
			if !o.Resend || string(prev) != string(o.Payload) {
				t.Fatalf("seq reused within a boot: %+v (resend=%v)", k, o.Resend)
			}
			continue
		}
		if o.Resend {
			t.Fatalf("resend of a message never sent: %+v", k)
		}
		seen[k] = o.Payload
		byLift[lift] = append(byLift[lift], m)
	}
	for lift, ms := range byLift {
		sort.Slice(ms, func(i, j int) bool {
			if ms[i].Boot != ms[j].Boot {
				return ms[i].Boot < ms[j].Boot
			}
			return ms[i].Seq < ms[j].Seq
		})
		lifted := false
		next := map[int64]int64{}
		for _, m := range ms {
			if want := next[m.Boot] + 1; m.Seq != want {
				if m.Seq < want {
					t.Fatalf("%s: seq went backwards", lift)
				}
				gaps += m.Seq - want
				lifted = true
			}
			next[m.Boot] = m.Seq
		}
		var base *telemetry.Message
		var trips, doors int64
		var last telemetry.Message
		for i := range ms {
			m := &ms[i]
			switch m.Kind {
			case telemetry.KindTrip:
				trips++
			case telemetry.KindDoor:
				doors++
			case telemetry.KindStatus:
				if base == nil {
					base, trips, doors = m, 0, 0
				} else {
					if m.Trips < last.Trips || m.DoorCycles < last.DoorCycles || m.RunS < last.RunS {
						t.Fatalf("%s: lifetime counter fell: %+v after %+v", lift, m, last)
					}
					if !lifted && (m.Trips != base.Trips+trips || m.DoorCycles != base.DoorCycles+doors) {
						t.Fatalf("%s seq %d: status trips=%d doors=%d, want %d and %d from messages",
							lift, m.Seq, m.Trips, m.DoorCycles, base.Trips+trips, base.DoorCycles+doors)
					}
				}
				last = *m
			}
		}
	}
	return gaps
}

func TestFleetDayMatchesContract(t *testing.T) {
	fleet := jiangwan(t)
	rates := DefaultRates()
	rates.FaultsPerLiftDay = 0.5
	rates.EntrapmentsPerLiftMonth = 3
	rates.DisconnectsPerLiftDay = 1
	rates.RebootsPerLiftDay = 0.3
	rates.ResendProb = 0.01
	rates.Hostile = 0.01
	rates.BufferLimit = 20
	end := t0.Add(24 * time.Hour)
	s, outs := runFleet(t, Config{Lifts: fleet, Seed: 7, Start: t0, End: end, Rates: rates, Now: func() time.Time { return end }})
	c := s.Stats().Snapshot()
	gaps := CheckContract(t, fleet, outs, end)
	// A message lost at the end of a boot leaves no gap behind it, so the
	// gaps are at most what the terminals dropped.
	if gaps == 0 || gaps > c.Dropped {
		t.Fatalf("found %d seq gaps, simulator dropped %d", gaps, c.Dropped)
	}
	if int64(len(outs)) != c.TotalSent()+sum(c.Resent)+c.TotalHostile() {
		t.Fatalf("stats %+v do not add up to %d messages", c, len(outs))
	}
	for _, r := range HostileReasons {
		if c.Hostile[string(r)] == 0 {
			t.Errorf("no hostile message of reason %s", r)
		}
	}
	codes := map[string]bool{}
	for _, o := range outs {
		if o.Hostile == "" && o.Kind == telemetry.KindFault {
			codes[o.Msg.Code] = true
		}
	}
	for _, f := range telemetry.Catalogue {
		if !codes[f.Code] {
			t.Errorf("fault code %s never raised", f.Code)
		}
	}
	if c.Reboots == 0 || c.Dropped == 0 || sum(c.Resent) == 0 {
		t.Errorf("terminal troubles missing: %+v", c)
	}
	t.Logf("one day of %d lifts: %+v", len(fleet), c)
}

func TestDailyProfile(t *testing.T) {
	fleet := jiangwan(t)[:60]
	rates := DefaultRates()
	rates.FaultsPerLiftDay, rates.EntrapmentsPerLiftMonth, rates.DisconnectsPerLiftDay, rates.RebootsPerLiftDay, rates.ResendProb, rates.VisitInterval = 0, 0, 0, 0, 0, 0
	days := 3
	end := t0.Add(time.Duration(days) * 24 * time.Hour)
	s, outs := runFleet(t, Config{Lifts: fleet, Seed: 1, Start: t0, End: end, Rates: rates, Now: func() time.Time { return end }})
	trips := map[string]int{}
	var byHour [24]int
	for _, o := range outs {
		if o.Kind == telemetry.KindTrip {
			trips[o.Lift]++
			byHour[o.Msg.Time().In(shanghai).Hour()]++
		}
	}
	for _, l := range fleet {
		perDay := float64(trips[l.ID]) / float64(days)
		if perDay < 45 || perDay > 175 {
			t.Errorf("%s: %.0f trips a day, want about 60–150", l.ID, perDay)
		}
	}
	c := s.Stats().Snapshot()
	ratio := float64(c.Sent["door"]) / float64(c.Sent["trip"])
	if ratio < 1.0 || ratio > 1.3 {
		t.Errorf("door cycles / trips = %.2f, want 1.0–1.3", ratio)
	}
	if byHour[8] < 5*byHour[3] || byHour[18] < 5*byHour[3] {
		t.Errorf("no morning/evening peak: %v", byHour)
	}
	// Status every 60 s: about 1440 a lift a day.
	if st := float64(c.Sent["status"]) / float64(len(fleet)*days); st < 1430 || st > 1460 {
		t.Errorf("%.0f status a lift a day, want ~1440", st)
	}
}

const stuckScenario = `
name: stuck between floors
start: 2026-11-24T08:00:00+08:00
background: false
events:
  - {at: "00:00:10", lift: JW-0042, do: trip, to: 5}
  - {at: "00:00:30", lift: JW-0042, do: trap, variant: outside_door_zone, floor: 3}
  - {at: "00:01:00", lift: JW-0042, do: alarm, source: button}
  - {at: "00:12:00", lift: JW-0042, do: rescue}
  - {at: "00:13:00", lift: JW-0007, do: fault, code: overspeed, for: 5m}
  - {at: "00:14:00", lift: JW-0007, do: hostile, reason: lift_mismatch}
  - {at: "00:15:00", lift: JW-0042, do: reboot}
`

func TestScenarioIsExactAndReproducible(t *testing.T) {
	sc, err := ParseScenario([]byte(stuckScenario))
	if err != nil {
		t.Fatal(err)
	}
	fleet := jiangwan(t)
	now := sc.Start.Add(time.Hour)
	run := func() []Out {
		_, outs := runFleet(t, Config{Lifts: fleet, Seed: 42, Scenario: sc, Rates: DefaultRates(), Now: func() time.Time { return now }})
		return outs
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("runs differ in length: %d vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Topic != b[i].Topic || string(a[i].Payload) != string(b[i].Payload) {
			t.Fatalf("message %d differs:\n%s %s\n%s %s", i, a[i].Topic, a[i].Payload, b[i].Topic, b[i].Payload)
		}
	}
	CheckContract(t, fleet, a, now)
	var story []string
	for _, o := range a {
		if o.Lift != "JW-0042" && o.Lift != "JW-0007" || o.Kind == telemetry.KindStatus && o.Msg.Mode == telemetry.ModeNormal && !o.Msg.Occupied {
			continue
		}
		m := o.Msg
		at := time.UnixMilli(m.TS).Sub(sc.Start).Round(time.Second)
		switch {
		case o.Hostile != "":
			story = append(story, fmt.Sprintf("%s hostile %s", o.Lift, o.Hostile))
		case o.Kind == telemetry.KindFault:
			story = append(story, fmt.Sprintf("%v %s fault %s %s occupied=%v zone=%v", at, o.Lift, m.Code, m.State, m.Occupied, m.DoorZone))
		case o.Kind == telemetry.KindStatus:
			story = append(story, fmt.Sprintf("%v %s status %s occupied=%v zone=%v boot=%d seq=%d", at, o.Lift, m.Mode, m.Occupied, m.DoorZone, m.Boot, m.Seq))
		case o.Kind == telemetry.KindAlarm:
			story = append(story, fmt.Sprintf("%v %s alarm %s", at, o.Lift, m.Source))
		case o.Kind == telemetry.KindTrip:
			story = append(story, fmt.Sprintf("%v %s trip %d→%d", at, o.Lift, m.From, m.To))
		}
	}
	want := []string{
		"30s JW-0042 fault stopped_outside_door_zone active occupied=true zone=false",
		"30s JW-0042 status normal occupied=true zone=false",
		"1m0s JW-0042 alarm button",
		"12m0s JW-0042 status inspection occupied=true zone=false",
		"12m1s JW-0042 fault stopped_outside_door_zone cleared occupied=false zone=true",
		"13m0s JW-0007 fault overspeed active occupied=false zone=true",
		"13m0s JW-0007 status out_of_service occupied=false zone=true",
		"JW-0007 hostile lift_mismatch",
	}
	got := story
	idx := 0
	for _, s := range got {
		if idx < len(want) && trimSeq(s) == want[idx] {
			idx++
		}
	}
	if idx != len(want) {
		t.Fatalf("scenario story missing %q; got:\n%v", want[idx], got)
	}
	// The trip at 00:10 must have run (from 1 to 5) before the trap.
	foundTrip := false
	for _, s := range got {
		if strings.Contains(s, "JW-0042 trip 1→5") {
			foundTrip = true
		}
	}
	if !foundTrip {
		t.Fatalf("scripted trip missing: %v", got)
	}
	// The reboot restarted seq at 1 in boot+1.
	var boots []int64
	for _, o := range a {
		if o.Lift == "JW-0042" && (len(boots) == 0 || boots[len(boots)-1] != o.Msg.Boot) {
			boots = append(boots, o.Msg.Boot)
			if len(boots) == 2 && o.Msg.Seq != 1 {
				t.Fatalf("first message after reboot has seq %d", o.Msg.Seq)
			}
		}
	}
	if len(boots) != 2 || boots[1] != boots[0]+1 {
		t.Fatalf("boots seen: %v, want one reboot", boots)
	}
}

func trimSeq(s string) string {
	before, _, _ := strings.Cut(s, " boot=")
	return before
}

func TestEveryTrapVariantReleased(t *testing.T) {
	fleet := jiangwan(t)
	for _, v := range TrapVariants {
		sc, err := ParseScenario([]byte(`
start: 2026-11-24T08:00:00+08:00
lifts: [JW-0001]
events:
  - {at: "00:01:00", lift: JW-0001, do: trap, variant: ` + v + `}
  - {at: "00:20:00", lift: JW-0001, do: rescue}
`))
		if err != nil {
			t.Fatal(err)
		}
		now := sc.Start.Add(time.Hour)
		_, outs := runFleet(t, Config{Lifts: fleet, Seed: 1, Scenario: sc, Rates: DefaultRates(), Now: func() time.Time { return now }})
		CheckContract(t, fleet, outs, now)
		var occupiedStill, occupiedLater, signal bool
		for _, o := range outs {
			at := time.UnixMilli(o.Msg.TS).Sub(sc.Start)
			if o.Kind == telemetry.KindFault && o.Msg.State == telemetry.FaultActive || o.Kind == telemetry.KindAlarm {
				signal = true
			}
			if o.Kind == telemetry.KindStatus && at > 2*time.Minute && at < 20*time.Minute && o.Msg.Occupied && !o.Msg.Moving {
				occupiedStill = true
			}
			if o.Kind == telemetry.KindStatus && at > 21*time.Minute && o.Msg.Occupied {
				occupiedLater = true
			}
		}
		if !signal || !occupiedStill || occupiedLater {
			t.Errorf("variant %s: signal=%v occupied while stuck=%v occupied after rescue=%v", v, signal, occupiedStill, occupiedLater)
		}
	}
}

func TestScenarioValidation(t *testing.T) {
	for _, bad := range []string{
		`events: [{at: "00:01", lift: A, do: fly}]`,
		`events: [{at: "soon", lift: A, do: rescue}]`,
		`events: [{at: "1m", do: rescue}]`,
		`events: [{at: "1m", lift: A, do: trap, variant: sideways}]`,
		`events: [{at: "1m", lift: A, do: mode, mode: party}]`,
		`bogus: 1`,
	} {
		if _, err := ParseScenario([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	sc, _ := ParseScenario([]byte(`lifts: [NOPE]`))
	if _, err := New(Config{Lifts: jiangwan(t), Scenario: sc}, &Recorder{}); err == nil {
		t.Error("scenario lift outside the registry accepted")
	}
}

func TestBackfillThenStop(t *testing.T) {
	fleet := jiangwan(t)[:5]
	now := t0.Add(48 * time.Hour)
	_, outs := runFleet(t, Config{Lifts: fleet, Seed: 3, Start: now.Add(-24 * time.Hour), End: now, FastUntil: now, Speed: 1,
		Rates: DefaultRates(), Now: func() time.Time { return now }})
	if len(outs) < 5*1400 {
		t.Fatalf("backfill of a day sent only %d messages", len(outs))
	}
	for _, o := range outs {
		if o.Msg.TS > now.UnixMilli()+int64(time.Minute/time.Millisecond) || o.Msg.TS < now.Add(-25*time.Hour).UnixMilli() && o.Hostile == "" {
			t.Fatalf("backfilled message outside the window: %s %s", o.Topic, o.Payload)
		}
	}
}

type discard struct{ n int }

func (d *discard) Send(_ context.Context, o *Out) error { d.n++; return nil }

// BenchmarkEngine measures message generation alone (encoding included, no
// transport): the ceiling of one simulator process.
func BenchmarkEngine(b *testing.B) {
	fleet := registry.GenerateN(1, 10_000)
	d := &discard{}
	b.ReportAllocs()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s, err := New(Config{Lifts: fleet, Seed: uint64(i), Start: t0, End: t0.Add(time.Hour), Rates: DefaultRates()}, d)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.n)/time.Since(start).Seconds(), "msg/s")
}
