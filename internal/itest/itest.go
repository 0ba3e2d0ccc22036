// Package itest holds helpers for integration tests that run the simulator
// against a real broker and check what lands in a real InfluxDB.
package itest

import (
	"context"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Rates are busy simulator rates for tests: many faults, entrapments,
// reboots, offline periods and resends, and no terminal buffer overflow (so
// every counted message is really sent).
func Rates() simulator.Rates {
	r := simulator.DefaultRates()
	r.FaultsPerLiftDay = 2
	r.EntrapmentsPerLiftMonth = 10
	r.RebootsPerLiftDay = 2
	r.DisconnectsPerLiftDay = 4
	r.ResendProb = 0.01
	r.BufferLimit = 100000
	return r
}

var shanghai = time.FixedZone("CST", 8*3600)

// PinnedStart is the latest hour:00 Shanghai time (the simulator's traffic
// profile follows Shanghai hours) from which a simulation of span has ended
// by now. Tests pin simulated time with it, so what is simulated does not
// depend on the time of day they run at, while the messages stay in the
// recent past that ingest accepts (ts.horizon 7 days, ts.max-future 5 min).
func PinnedStart(now time.Time, hour int, span time.Duration) time.Time {
	n := now.In(shanghai)
	t := time.Date(n.Year(), n.Month(), n.Day(), hour, 0, 0, 0, shanghai)
	for t.Add(span).After(now) {
		t = t.AddDate(0, 0, -1)
	}
	return t
}

// Published is what a simulation sent.
type Published struct {
	simulator.Counts
	// Republished counts messages the transport sent again after a failed
	// or unacknowledged publish (possible extra duplicates at the broker).
	Republished int64
}

// Publish simulates span of the fleet's recent history, from 10:00 Shanghai
// time (PinnedStart), as fast as possible through the broker at url.
func Publish(t testing.TB, url string, fleet []registry.Lift, seed uint64, span time.Duration, rates simulator.Rates) Published {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(fleet))
	for i, l := range fleet {
		ids[i] = l.ID
	}
	sink, err := simulator.DialMQTT(ctx, simulator.MQTTConfig{Conn: mqttconn.Options{Broker: url, MaxReconnect: 500 * time.Millisecond}, Conns: 2}, ids)
	if err != nil {
		t.Fatal(err)
	}
	start := PinnedStart(time.Now(), 10, span)
	sim, err := simulator.New(simulator.Config{Lifts: fleet, Seed: seed, Start: start, End: start.Add(span), Rates: rates}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	if sink.Failed() > 0 {
		t.Fatalf("%d publishes failed", sink.Failed())
	}
	return Published{Counts: sim.Stats().Snapshot(), Republished: sink.Retries()}
}

// WaitPoints waits until InfluxDB holds exactly want points of each kind and
// fails with the difference if it does not within the time given.
func WaitPoints(t testing.TB, influx *testrig.InfluxDB, want map[string]int64, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		got := map[string]int64{}
		ok := true
		for _, k := range telemetry.Kinds {
			n, err := influx.Count(ctx, k.String())
			if err != nil {
				ok = false
				break
			}
			got[k.String()] = n
			if n != want[k.String()] {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("InfluxDB holds %v, want %v", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Sum adds per-kind counts.
func Sum(ms ...map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

// WaitUntil polls cond until it holds or fails the test after within.
func WaitUntil(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
