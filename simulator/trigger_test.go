package simulator

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// TestShippedScenariosAreRelative: every scenario in docs/scenarios parses,
// has no absolute start (a fixed date turns into ts_too_old within a week),
// and plays on the Jiangwan fleet from whatever start it is given.
func TestShippedScenariosAreRelative(t *testing.T) {
	files, err := filepath.Glob("../docs/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios: %v", err)
	}
	for _, f := range files {
		sc, err := LoadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f)
		if !sc.Start.IsZero() || strings.Contains(string(b), "\nstart:") {
			t.Errorf("%s has an absolute start (%v); scenario times must be relative", f, sc.Start)
		}
		start := t0.Add(10 * time.Hour)
		s, outs := runFleet(t, Config{Lifts: jiangwan(t), Seed: 1, Scenario: sc, Start: start, Rates: DefaultRates(), Now: func() time.Time { return start }})
		if len(outs) == 0 || len(sc.Events) == 0 {
			t.Fatalf("%s: %d events sent %d messages", f, len(sc.Events), len(outs))
		}
		for _, o := range outs {
			if o.Hostile == "" && (o.Msg.Time().Before(start) || o.Msg.Time().After(start.Add(sc.Length()))) {
				t.Fatalf("%s: message outside the scenario's span from its start: %s %s", f, o.Topic, o.Payload)
			}
		}
		t.Logf("%s: %d messages %v", f, len(outs), s.Stats().Snapshot().Sent)
	}
}

// TestConfigStartWinsOverScenarioStart: a scenario's own start: applies only
// when no start is given.
func TestConfigStartWinsOverScenarioStart(t *testing.T) {
	sc, err := ParseScenario([]byte("start: 2026-11-24T08:00:00+08:00\nlifts: [JW-0042]\nevents:\n  - {at: \"00:01:00\", lift: JW-0042, do: alarm}\n"))
	if err != nil {
		t.Fatal(err)
	}
	first := func(start time.Time) time.Time {
		_, outs := runFleet(t, Config{Lifts: jiangwan(t), Seed: 1, Scenario: sc, Start: start, Now: func() time.Time { return t0 }})
		return outs[0].Msg.Time()
	}
	given := t0.Add(-48 * time.Hour)
	if got := first(given); got.Before(given) || got.After(given.Add(time.Minute)) {
		t.Errorf("with a start given, first message at %v, want within a minute of %v", got, given)
	}
	if got := first(time.Time{}); got.Before(sc.Start) || got.After(sc.Start.Add(time.Minute)) {
		t.Errorf("without a start, first message at %v, want the scenario's %v", got, sc.Start)
	}
}

type chanSink chan Out

func (c chanSink) Send(ctx context.Context, o *Out) error {
	select {
	case c <- *o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestTriggerEntrapmentInRunningSimulation: a live simulation accepts a
// trigger from another goroutine and the lift reports the entrapment at the
// virtual time the trigger returned; bad triggers are refused, and a
// finished simulation says so.
func TestTriggerEntrapmentInRunningSimulation(t *testing.T) {
	sc, err := ParseScenario([]byte("lifts: [JW-0041, JW-0042]\nduration: 1h\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(chanSink, 1000)
	// Live (speed 1), so the engine waits for the wall clock between
	// heartbeats; the time of day does not matter (no background traffic).
	s, err := New(Config{Lifts: jiangwan(t), Seed: 1, Scenario: sc, Speed: 1, Rates: DefaultRates()}, out)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()

	if _, err := s.Trigger(ctx, "JW-9999", TrapExplicit); !errors.Is(err, ErrNotSimulated) {
		t.Errorf("unknown lift: %v", err)
	}
	if _, err := s.Trigger(ctx, "JW-0042", "explode"); !errors.Is(err, ErrTriggerKind) {
		t.Errorf("bad kind: %v", err)
	}
	if _, err := s.Trigger(ctx, "JW-0042", TriggerRescue); err == nil {
		t.Error("rescue with nobody trapped accepted")
	}
	at, err := s.Trigger(ctx, "JW-0042", TrapExplicit)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(30 * time.Second)
	for found := false; !found; {
		select {
		case o := <-out:
			found = o.Lift == "JW-0042" && o.Kind == telemetry.KindFault && o.Msg.Code == telemetry.FaultEntrapment && o.Msg.State == telemetry.FaultActive
			if found && o.Msg.TS != at.UnixMilli() {
				t.Fatalf("entrapment at %d, trigger said %d", o.Msg.TS, at.UnixMilli())
			}
			if o.Lift == "JW-0041" && o.Kind == telemetry.KindFault {
				t.Fatalf("the other lift reported a fault: %s", o.Payload)
			}
		case <-deadline:
			t.Fatal("no entrapment fault after the trigger")
		}
	}
	if _, err := s.Trigger(ctx, "JW-0042", TrapPowerLoss); err == nil || !strings.Contains(err.Error(), "trapped already") {
		t.Errorf("second entrapment of a trapped lift: %v", err)
	}
	if _, err := s.Trigger(ctx, "JW-0042", TriggerRescue); err != nil {
		t.Errorf("rescue: %v", err)
	}
	cancel()
	<-ran
	if _, err := s.Trigger(context.Background(), "JW-0042", TrapExplicit); !errors.Is(err, ErrEnded) {
		t.Errorf("after the end: %v", err)
	}
}

// TestTriggerDuringBackfillHappensWhenLiveStarts: a trigger that arrives
// while history is generated takes effect at the first live moment, never
// in the past of the messages already sent.
func TestTriggerDuringBackfillHappensWhenLiveStarts(t *testing.T) {
	fleet := jiangwan(t)[:3]
	now := t0.Add(48 * time.Hour)
	gate := make(chan struct{})
	started := make(chan struct{})
	sink := &gateSink{started: started, gate: gate}
	s, err := New(Config{Lifts: fleet, Seed: 3, Start: now.Add(-time.Hour), End: now, FastUntil: now, Speed: 1,
		Rates: DefaultRates(), Now: func() time.Time { return now.Add(time.Hour) }}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()
	<-started // the engine is inside the backfill, blocked in its first send
	res := make(chan time.Time, 1)
	go func() {
		at, err := s.Trigger(context.Background(), fleet[1].ID, TrapExplicit)
		if err != nil {
			t.Error(err)
		}
		res <- at
	}()
	// The request waits in the engine's inbox before the backfill goes
	// on: without this the backfill could end before the request is
	// made, and the test would show nothing.
	for len(s.triggers) == 0 {
		runtime.Gosched()
	}
	close(gate)
	at := <-res
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if !at.Equal(now) {
		t.Fatalf("trigger during the backfill placed at %v, want the end of the backfill %v", at, now)
	}
	found := false
	for _, o := range sink.Out {
		if o.Lift == fleet[1].ID && o.Kind == telemetry.KindFault && o.Msg.Code == telemetry.FaultEntrapment {
			found = o.Msg.TS == now.UnixMilli()
		}
	}
	if !found {
		t.Fatal("no entrapment at the end of the backfill")
	}
}

type gateSink struct {
	Recorder
	started, gate chan struct{}
	once          bool
}

func (g *gateSink) Send(ctx context.Context, o *Out) error {
	if !g.once {
		g.once = true
		close(g.started)
		<-g.gate
	}
	return g.Recorder.Send(ctx, o)
}

// TestInspectHoldsInspectionMode: Inspect puts the lift in inspection mode
// at the virtual time it returns and back to normal the given duration
// later, as the terminal reports it; a second request meanwhile is refused
// as busy, an unknown lift as not simulated.
func TestInspectHoldsInspectionMode(t *testing.T) {
	fleet := jiangwan(t)[:2]
	start := t0.Add(10 * time.Hour)
	sc, err := ParseScenario([]byte("background: false\nduration: 3h\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Live, on a wall clock that stands still until both requests are
	// answered: the engine waits for it, taking requests meanwhile; then
	// every wait is over at once.
	wall := make(chan time.Time)
	sink := &Recorder{}
	s, err := New(Config{Lifts: fleet, Seed: 3, Start: start, Scenario: sc, Speed: 1, Rates: DefaultRates(),
		Now: func() time.Time { return start }, After: func(time.Duration) <-chan time.Time { return wall }}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- s.Run(context.Background()) }()
	if _, err := s.Inspect(context.Background(), "JW-9999", time.Minute); !errors.Is(err, ErrNotSimulated) {
		t.Errorf("unknown lift: %v", err)
	}
	if _, err := s.Inspect(context.Background(), fleet[1].ID, 0); err == nil {
		t.Error("an inspection of no duration accepted")
	}
	at, err := s.Inspect(context.Background(), fleet[1].ID, 42*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Inspect(context.Background(), fleet[1].ID, time.Minute); !errors.Is(err, ErrBusy) {
		t.Errorf("second inspection while the first holds the lift: %v, want ErrBusy", err)
	}
	close(wall)
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	var in, out time.Time
	for _, o := range sink.Out {
		if o.Lift != fleet[1].ID || o.Kind != telemetry.KindStatus {
			continue
		}
		switch {
		case o.Msg.Mode == telemetry.ModeInspection && in.IsZero():
			in = o.Msg.Time()
		case o.Msg.Mode == telemetry.ModeNormal && !in.IsZero() && out.IsZero():
			out = o.Msg.Time()
		}
	}
	if in.IsZero() || !in.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("inspection mode reported at %v, Inspect said %v", in, at)
	}
	if got := out.Sub(in); got != 42*time.Minute {
		t.Fatalf("inspection mode for %v (until %v), want 42m", got, out)
	}
}
