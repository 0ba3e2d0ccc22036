package alerts_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/store"
)

// live is the real pipeline in one process: Mosquitto → ingest (embedded
// history) → alert engine, over a real SQLite database.
type live struct {
	db     *store.DB
	e      *alerts.Engine
	ing    *ingest.Ingester
	cancel context.CancelFunc
	done   chan struct{}
}

func startLive(t *testing.T, broker *testrig.Mosquitto, fleet []registry.Lift) *live {
	t.Helper()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	ix := registry.NewIndex(fleet)
	ing, err := ingest.New(ingest.Config{SpoolDir: filepath.Join(dir, "spool"), Logger: quiet, MaxUnacked: 5000}, ix, db.History(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e, err := alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: db.Alerts(), Logger: quiet,
		Estates: func(l string) (string, bool) {
			x, ok := ix.Get(l)
			if !ok {
				return "", false
			}
			return x.Estate, true
		}})
	if err != nil {
		t.Fatal(err)
	}
	ing.AddConsumer(e)
	ing.OnStateChange(func(c ingest.StateChange) { e.LiftStateChange(c.Lift, c.Online, c.Seq, c.LastSeen) })
	rcv, err := ingest.NewReceiver(ingest.ReceiverConfig{ClientID: "lw-alerts-test", Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}}, ing)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &live{db: db, e: e, ing: ing, cancel: cancel, done: make(chan struct{})}
	go func() { ing.Run(ctx); close(l.done) }()
	go rcv.Run(ctx)
	itest.WaitUntil(t, 2*time.Minute, "receiver connected", rcv.Connected)
	time.Sleep(300 * time.Millisecond)
	t.Cleanup(func() { cancel(); <-l.done; db.Close() })
	return l
}

// publish runs a scenario (start: an hour ago) through Mosquitto.
func publish(t *testing.T, broker *testrig.Mosquitto, fleet []registry.Lift, scenario string, rates simulator.Rates, span time.Duration) simulator.Counts {
	t.Helper()
	sc, err := simulator.ParseScenario([]byte(scenario))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	ids := make([]string, len(fleet))
	for i, l := range fleet {
		ids[i] = l.ID
	}
	sink, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 2}, ids)
	if err != nil {
		t.Fatal(err)
	}
	cfg := simulator.Config{Lifts: fleet, Seed: 5, Scenario: sc, Start: start, Rates: rates}
	if span > 0 {
		cfg.End = start.Add(span)
	}
	sim, err := simulator.New(cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sink.Close()
	return sim.Stats().Snapshot()
}

func TestScenariosThroughMosquitto(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	l := startLive(t, broker, fleet)
	c := publish(t, broker, fleet, `
lifts: [JW-0001, JW-0002, JW-0003, JW-0004]
events:
  - {at: "00:01:00", lift: JW-0001, do: trap, variant: entrapment, floor: 2}
  - {at: "00:01:00", lift: JW-0002, do: trap, variant: outside_door_zone, floor: 5}
  - {at: "00:02:00", lift: JW-0003, do: fault, code: unintended_movement, for: 3m}
  - {at: "00:02:00", lift: JW-0004, do: alarm, source: intercom}
  - {at: "00:15:00", lift: JW-0001, do: rescue}
  - {at: "00:15:00", lift: JW-0002, do: rescue}
`, simulator.DefaultRates(), 0)
	itest.WaitUntil(t, 2*time.Minute, "all messages consumed", func() bool {
		st, _ := l.ing.State().Get("JW-0004")
		return st.Messages > 0 && len(l.e.Open()) >= 4
	})
	time.Sleep(500 * time.Millisecond)
	want := map[string]string{"JW-0001": alerts.TypeEntrapment, "JW-0002": alerts.TypeEntrapment,
		"JW-0003": alerts.TypeFaultPrefix + "unintended_movement", "JW-0004": alerts.TypeAlarm}
	open := l.e.Open()
	if len(open) != 4 {
		t.Fatalf("open alerts %d, want 4: %+v", len(open), open)
	}
	for _, a := range open {
		if want[a.Lift] != a.Type {
			t.Fatalf("unexpected alert %s %s", a.Lift, a.Type)
		}
		if a.Lift == "JW-0002" && !a.Derived || a.Lift == "JW-0001" && a.Derived {
			t.Fatalf("derived flag wrong: %+v", a)
		}
		if a.Rescue && a.ConditionActive {
			t.Fatalf("%s: the simulated rescue released the passenger; condition should be inactive", a.Lift)
		}
	}
	t.Logf("sent %v", c.Sent)
}

// TestHiddenLiftAmongTenThousand: one entrapment among 10,000 busy lifts is
// raised, and raised once.
func TestHiddenLiftAmongTenThousand(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet := registry.GenerateN(3, 10_000)
	l := startLive(t, broker, fleet)
	rates := simulator.DefaultRates()
	rates.EntrapmentsPerLiftMonth = 0 // the only entrapment is the hidden one
	c := publish(t, broker, fleet, `
background: true
events:
  - {at: "00:05:00", lift: LW-007321, do: trap, variant: alarm_button, floor: 4}
`, rates, 20*time.Minute)
	total := c.TotalSent()
	itest.WaitUntil(t, 5*time.Minute, "every message ingested", func() bool {
		var n int64
		for _, st := range l.ing.State().List() {
			n += st.Messages
		}
		return n >= total
	})
	list, err := l.db.Alerts().List(context.Background(), store.AlertFilter{Type: alerts.TypeEntrapment})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Lift != "LW-007321" || !list[0].Derived {
		t.Fatalf("entrapment alerts among %d messages of 10,000 lifts: %+v", total, list)
	}
	t.Logf("%d messages from 10,000 lifts; one entrapment alert, on %s", total, list[0].Lift)
}
