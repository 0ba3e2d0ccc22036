package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
)

// slowSink records each message with the wall-clock time it was sent at,
// and makes the backfill slow: every message before slowUntil moves the
// clock on by perMsg, as a broker holding publishers back would.
type slowSink struct {
	clk       *clock.Fake
	slowUntil time.Time
	perMsg    time.Duration
	sent      []sentAt
}

type sentAt struct {
	wall time.Time
	o    Out
}

func (k *slowSink) Send(_ context.Context, o *Out) error {
	k.sent = append(k.sent, sentAt{k.clk.Now(), *o})
	if o.Msg.Time().Before(k.slowUntil) {
		k.clk.Advance(k.perMsg)
	}
	return nil
}

// fakeAfter is a timer on the fake clock: waiting moves the clock.
func fakeAfter(clk *clock.Fake) func(time.Duration) <-chan time.Time {
	return func(d time.Duration) <-chan time.Time {
		c := make(chan time.Time, 1)
		c <- clk.Advance(d)
		return c
	}
}

// TestBackfillCatchesUpWithClock: a day of history up to now that takes
// hours of wall time to publish is followed by a catch-up, as fast as
// possible, to the clock's now; from then on every message is sent when the
// clock reaches its time, never lagging by more than a tick (issue 8 item 9:
// the demo stayed 6m20s behind the clock, the backfill's duration).
func TestBackfillCatchesUpWithClock(t *testing.T) {
	fleet := jiangwan(t)[:5]
	now := t0.Add(48 * time.Hour)
	clk := clock.NewFake(now)
	rates := DefaultRates()
	rates.DisconnectsPerLiftDay, rates.RebootsPerLiftDay, rates.ResendProb = 0, 0, 0 // every message goes out at its own time
	sink := &slowSink{clk: clk, slowUntil: now, perMsg: time.Second}
	s, err := New(Config{Lifts: fleet, Seed: 3, Start: now.Add(-24 * time.Hour), FastUntil: now, LiveFrom: now,
		End: now.Add(6 * time.Hour), Speed: 1, Rates: rates, Now: clk.Now, After: fakeAfter(clk)}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var backfillEnd time.Time // the wall time when the last backfilled message went out
	for _, x := range sink.sent {
		if x.o.Msg.Time().Before(now) {
			backfillEnd = x.wall.Add(sink.perMsg)
		}
	}
	if took := backfillEnd.Sub(now); took < time.Hour {
		t.Fatalf("the backfill took %v of the fake clock; the test wants a long one", took)
	}
	select {
	case <-s.Live():
	default:
		t.Fatal("the simulation never went live")
	}
	if live := s.LiveAt(); live.Before(backfillEnd) || live.After(backfillEnd.Add(5*time.Minute)) {
		t.Fatalf("live from virtual %v; the backfill ended at wall %v: want live soon after that", live, backfillEnd)
	}
	var caughtUp, live int
	var maxLag time.Duration
	for _, x := range sink.sent {
		ts := x.o.Msg.Time()
		switch {
		case ts.Before(now):
		case !ts.After(backfillEnd): // history the clock has passed meanwhile: caught up at once
			if !x.wall.Equal(backfillEnd) {
				t.Fatalf("catching up: %s at %v sent at wall %v, want %v (no waiting)", x.o.Topic, ts, x.wall, backfillEnd)
			}
			caughtUp++
		default:
			live++
			lag := x.wall.Sub(ts)
			maxLag = max(maxLag, lag.Abs())
			if lag.Abs() > tick {
				t.Fatalf("live: %s %s at simulated %v sent at wall %v (off by %v)", x.o.Topic, x.o.Kind, ts, x.wall, lag)
			}
		}
	}
	if caughtUp == 0 || live < 5*60*3 {
		t.Fatalf("%d messages caught up, %d live: want both", caughtUp, live)
	}
	if last := sink.sent[len(sink.sent)-1].o.Msg.Time(); last.Before(now.Add(6*time.Hour - 2*rates.StatusInterval)) {
		t.Fatalf("the simulation stopped early, at %v", last)
	}
	t.Logf("backfill took %v of the clock; %d messages caught up, %d live, largest lag %v", backfillEnd.Sub(now), caughtUp, live, maxLag)
}
