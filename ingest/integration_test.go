package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
)

// countingConsumer counts the messages it gets: n the new ones, dups the
// faults and alarms duplicate detection knew, handed on marked (they may
// never have reached the alert store before a restart).
type countingConsumer struct{ n, dups atomic.Int64 }

func (c *countingConsumer) Consume(_ *telemetry.Message, u *liftstate.Update) {
	if u.Duplicate {
		c.dups.Add(1)
		return
	}
	c.n.Add(1)
}

type pipeline struct {
	ing      *ingest.Ingester
	rcv      *ingest.Receiver
	reg      *prometheus.Registry
	consumer *countingConsumer
	cancel   context.CancelFunc
	done     chan error
}

func startPipeline(t *testing.T, broker *testrig.Mosquitto, influx *testrig.InfluxDB, fleet []registry.Lift, spoolDir string) *pipeline {
	t.Helper()
	return startPipelineWith(t, broker, influx, fleet, spoolDir, ingest.ReceiverConfig{})
}

// startPipelineWith is startPipeline with the receiver's settings (its
// client ID and broker are filled in) and extra consumers.
func startPipelineWith(t *testing.T, broker *testrig.Mosquitto, influx *testrig.InfluxDB, fleet []registry.Lift, spoolDir string,
	rcfg ingest.ReceiverConfig, consumers ...ingest.Consumer) *pipeline {
	t.Helper()
	sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{reg: prometheus.NewRegistry(), consumer: &countingConsumer{}, done: make(chan error, 2)}
	p.ing, err = ingest.New(ingest.Config{SpoolDir: spoolDir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		FlushTimeout: 2 * time.Second}, registry.NewIndex(fleet), sink, p.reg)
	if err != nil {
		t.Fatal(err)
	}
	p.ing.AddConsumer(p.consumer)
	for _, c := range consumers {
		p.ing.AddConsumer(c)
	}
	rcfg.ClientID = "liftwatch-test"
	rcfg.Conn = mqttconn.Options{Broker: broker.URL, MaxReconnect: 500 * time.Millisecond}
	p.rcv, err = ingest.NewReceiver(rcfg, p.ing)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- p.ing.Run(ctx) }()
	go func() { p.done <- p.rcv.Run(ctx) }()
	return p
}

// startFleet starts a private Mosquitto and InfluxDB and a connected
// pipeline for the Jiangwan fleet, stopped when the test ends.
func startFleet(t *testing.T) (*testrig.Mosquitto, *testrig.InfluxDB, []registry.Lift, *pipeline) {
	t.Helper()
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	p := startPipeline(t, broker, influx, fleet, t.TempDir())
	t.Cleanup(func() { p.stop(t) })
	waitConnected(t, p)
	return broker, influx, fleet, p
}

func (p *pipeline) stop(t *testing.T) {
	t.Helper()
	p.cancel()
	for i := 0; i < 2; i++ {
		if err := <-p.done; err != nil {
			t.Fatalf("pipeline stopped with %v", err)
		}
	}
}

func (p *pipeline) counter(name string, labels ...string) float64 {
	mfs, _ := p.reg.Gather()
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// TestFleetIntoInfluxDB: every valid message becomes exactly one point, every
// hostile one is rejected with its reason, every resend is counted as a
// duplicate and never reaches the consumers as new (fault and alarm resends
// reach them marked as duplicates).
func TestFleetIntoInfluxDB(t *testing.T) {
	broker, influx, fleet, p := startFleet(t)

	rates := itest.Rates()
	rates.Hostile = 0.02
	c := itest.Publish(t, broker.URL, fleet, 5, 3*time.Hour, rates)
	itest.WaitPoints(t, influx, c.Sent, 5*time.Minute)

	for _, r := range simulator.HostileReasons {
		if got := p.counter("liftwatch_ingest_messages_rejected_total", "reason", string(r)); int64(got) != c.Hostile[string(r)] {
			t.Errorf("rejected %s: %v, simulator sent %d", r, got, c.Hostile[string(r)])
		}
	}
	var resent int64
	for _, n := range c.Resent {
		resent += n
	}
	dups := int64(p.counter("liftwatch_ingest_duplicates_total"))
	if dups < resent || dups > resent+c.Republished {
		t.Errorf("duplicates %d, simulator resent %d (+%d republished)", dups, resent, c.Republished)
	}
	if got := p.consumer.n.Load(); got != c.TotalSent() {
		t.Errorf("consumers got %d messages, want %d distinct", got, c.TotalSent())
	}
	if got := int64(len(p.ing.DeadLetters().List("", 0))); got == 0 {
		t.Error("no dead letters kept")
	}
	if on, _ := p.ing.State().Online(); on != len(fleet) {
		t.Errorf("%d lifts online, want %d", on, len(fleet))
	}
	// A resent fault or alarm goes through the consumers and the spool
	// writer before its ack, like a new one: poll.
	itest.WaitUntil(t, time.Minute, "every message acked", func() bool { return p.counter("liftwatch_ingest_unacked_messages") == 0 })
	if got := p.consumer.dups.Load(); got < c.Resent["fault"]+c.Resent["alarm"] {
		t.Errorf("consumers got %d fault and alarm duplicates, simulator resent %d", got, c.Resent["fault"]+c.Resent["alarm"])
	}
	t.Logf("sent %v, hostile %v, resent %v", c.Sent, c.Hostile, c.Resent)
}

func waitConnected(t *testing.T, p *pipeline) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !p.rcv.Connected() {
		if time.Now().After(deadline) {
			t.Fatal("receiver did not connect")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the subscription follows the connection
}

// TestInfluxOutage: InfluxDB down mid-stream; the consumers keep receiving,
// the spool grows, and after InfluxDB returns the counts are exact.
func TestInfluxOutage(t *testing.T) {
	broker, influx, fleet, p := startFleet(t)

	first := itest.Publish(t, broker.URL, fleet[:100], 1, time.Hour, itest.Rates())
	itest.WaitPoints(t, influx, first.Sent, 5*time.Minute)

	influx.Stop()
	before := p.consumer.n.Load()
	second := itest.Publish(t, broker.URL, fleet[100:], 2, time.Hour, itest.Rates())
	// While InfluxDB is down every new message still reaches the consumers.
	deadline := time.Now().Add(2 * time.Minute)
	for p.consumer.n.Load()-before < second.TotalSent() {
		if time.Now().After(deadline) {
			t.Fatalf("during the outage consumers got %d of %d messages", p.consumer.n.Load()-before, second.TotalSent())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Consumers get a message before its batch is fsynced (dispatch comes
	// first, docs/architecture.md), so the spool catches up a moment later.
	for p.counter("liftwatch_ingest_spool_records") < float64(second.TotalSent()) {
		if time.Now().After(deadline) {
			t.Fatalf("spool holds %v records during the outage, want at least %d", p.counter("liftwatch_ingest_spool_records"), second.TotalSent())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.counter("liftwatch_ingest_write_failures_total") == 0 {
		t.Fatal("no write failure counted during the outage")
	}
	influx.Start()
	itest.WaitPoints(t, influx, itest.Sum(first.Sent, second.Sent), 5*time.Minute)
	if got := p.consumer.n.Load(); got != first.TotalSent()+second.TotalSent() {
		t.Errorf("consumers got %d, want %d", got, first.TotalSent()+second.TotalSent())
	}
}

// TestBrokerRestart: Mosquitto (persistence on) restarted while the fleet
// publishes; nothing is lost and nothing is stored twice.
func TestBrokerRestart(t *testing.T) {
	broker, influx, fleet, p := startFleet(t)

	done := make(chan itest.Published)
	go func() {
		done <- itest.Publish(t, broker.URL, fleet, 9, 4*time.Hour, itest.Rates())
	}()
	// Restart the broker while the simulator is publishing.
	itest.WaitUntil(t, 2*time.Minute, "5000 messages consumed", func() bool { return p.consumer.n.Load() > 5000 })
	broker.Stop()
	time.Sleep(500 * time.Millisecond)
	broker.Start()
	c := <-done
	itest.WaitPoints(t, influx, c.Sent, 5*time.Minute)
	if got := p.consumer.n.Load(); got != c.TotalSent() {
		t.Errorf("consumers got %d, want %d distinct messages", got, c.TotalSent())
	}
	if p.counter("liftwatch_ingest_broker_reconnects_total") < 1 {
		t.Error("reconnect not counted")
	}
	t.Logf("sent %d, republished %d, duplicates dropped %v", c.TotalSent(), c.Republished, p.counter("liftwatch_ingest_duplicates_total"))
}

// TestRestartKeepsDuplicateDetection: stopping and starting the ingester
// between a message and its resend still recognises the resend (detection
// is rebuilt from the spool): status, trip and door resends are dropped,
// faults and alarms are handed to the consumers marked as duplicates (the
// alert engine is idempotent; its change may not have been written before
// the stop), and none is spooled again.
func TestRestartKeepsDuplicateDetection(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	dir := t.TempDir()
	p := startPipeline(t, broker, influx, fleet[:3], dir)
	waitConnected(t, p)
	sc, err := simulator.ParseScenario([]byte(`
lifts: [JW-0001]
events:
  - {at: "00:00:10", lift: JW-0001, do: alarm}
`))
	if err != nil {
		t.Fatal(err)
	}
	rec := &simulator.Recorder{}
	sim, _ := simulator.New(simulator.Config{Lifts: fleet, Seed: 1, Scenario: sc, Start: time.Now().Add(-10 * time.Minute)}, rec)
	_ = sim.Run(context.Background())
	pub := func(o simulator.Out) {
		c, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Send(context.Background(), &o)
		c.Close()
	}
	for _, o := range rec.Out {
		pub(o)
	}
	// All consumed and acked: the broker has nothing of the first run to
	// deliver again, so what the second run sees are the resends alone.
	itest.WaitUntil(t, 2*time.Minute, "all consumed and acked", func() bool {
		return p.consumer.n.Load() == int64(len(rec.Out)) && p.counter("liftwatch_ingest_unacked_messages") == 0
	})
	p.stop(t)

	p2 := startPipeline(t, broker, influx, fleet[:3], dir)
	defer p2.stop(t)
	waitConnected(t, p2)
	for _, o := range rec.Out {
		pub(o) // every one a resend now
	}
	var events int64 // faults and alarms: handed on marked as duplicates, the rest dropped
	for _, o := range rec.Out {
		if o.Msg.Kind == telemetry.KindFault || o.Msg.Kind == telemetry.KindAlarm {
			events++
		}
	}
	itest.WaitUntil(t, 2*time.Minute, "all resends recognised", func() bool {
		return p2.counter("liftwatch_ingest_duplicates_total") == float64(len(rec.Out)) && p2.consumer.dups.Load() == events &&
			p2.counter("liftwatch_ingest_unacked_messages") == 0
	})
	if p2.consumer.n.Load() != 0 || events == 0 {
		t.Fatalf("consumers got %d resent messages as new after restart (%d faults and alarms resent)", p2.consumer.n.Load(), events)
	}
}

// liftConsumer counts messages and remembers which lifts it saw.
type liftConsumer struct {
	countingConsumer
	mu    sync.Mutex
	lifts map[string]bool
}

func (c *liftConsumer) Consume(m *telemetry.Message, u *liftstate.Update) {
	c.countingConsumer.Consume(m, u)
	c.mu.Lock()
	c.lifts[m.Lift] = true
	c.mu.Unlock()
}

// TestSharedSubscriptionSplitsLoad shows what --mqtt.shared-group does on
// Mosquitto, and why it is unsafe for production: two instances in one
// $share group split the messages between them and InfluxDB still holds
// exactly what was sent, but the broker deals messages, not lifts: one
// lift's messages reach both instances, so neither sees that lift's whole
// ordered stream (duplicate detection, live state and alert rules are
// per instance). It does not show failover: a stopped member's queued
// messages wait for it.
func TestSharedSubscriptionSplitsLoad(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	var consumers []*liftConsumer
	for i := 0; i < 2; i++ {
		sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
		if err != nil {
			t.Fatal(err)
		}
		ing, err := ingest.New(ingest.Config{SpoolDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			registry.NewIndex(fleet), sink, prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		c := &liftConsumer{lifts: map[string]bool{}}
		consumers = append(consumers, c)
		ing.AddConsumer(c)
		rcv, err := ingest.NewReceiver(ingest.ReceiverConfig{ClientID: fmt.Sprintf("liftwatch-%d", i), SharedGroup: "liftwatch",
			Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}}, ing)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { ing.Run(ctx); done <- struct{}{} }()
		go func() { rcv.Run(ctx); done <- struct{}{} }()
		t.Cleanup(func() { cancel(); <-done; <-done })
		itest.WaitUntil(t, time.Minute, "connected", rcv.Connected)
	}
	time.Sleep(500 * time.Millisecond)
	c := itest.Publish(t, broker.URL, fleet, 8, time.Hour, itest.Rates())
	itest.WaitPoints(t, influx, c.Sent, 5*time.Minute)
	// Storage is exact. Consumers are not: a resend (terminals resend their
	// last message on reconnecting) can reach the instance that never saw the
	// original, so each instance detects only its own duplicates.
	var resent int64
	for _, n := range c.Resent {
		resent += n
	}
	a, b := consumers[0].n.Load(), consumers[1].n.Load()
	if a == 0 || b == 0 || a+b < c.TotalSent() || a+b > c.TotalSent()+resent {
		t.Fatalf("instances consumed %d and %d of %d distinct (+%d resent)", a, b, c.TotalSent(), resent)
	}
	t.Logf("split %d / %d of %d distinct, %d resent", a, b, c.TotalSent(), resent)
	split := 0
	for lift := range consumers[0].lifts {
		if consumers[1].lifts[lift] {
			split++
		}
	}
	if split == 0 {
		t.Fatalf("no lift's messages reached both instances; the test no longer shows why a shared group is unsafe")
	}
	t.Logf("%d of %d lifts had their messages split across the two instances", split, len(fleet))
}

// TestStaleMessagesThroughMosquitto: messages far behind their lift's
// sequence (a counter reset without a reboot) are stored and update the live
// state; the alarm among them reaches the consumers, the status does not
// (it cannot be told from a repeat); the lift is flagged and the run of
// stale messages counted once.
func TestStaleMessagesThroughMosquitto(t *testing.T) {
	broker, influx, _, p := startFleet(t)
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const lift, n = "JW-0005", 1100
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	send := func(kind string, seq, at int64, body string) {
		t.Helper()
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,%s}`, seq, base.Add(time.Duration(at)*time.Second).UnixMilli(), body)
		if err := pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/" + kind, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	const status = `"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1`
	for seq := int64(1); seq <= n; seq++ {
		send("status", seq, seq, status)
	}
	itest.WaitUntil(t, time.Minute, "first messages consumed", func() bool { return p.consumer.n.Load() == n })
	// The counter restarts at 1 without a new boot (new event times).
	send("status", 3, n+1, strings.Replace(status, `"floor":1`, `"floor":7`, 1))
	send("alarm", 4, n+2, `"source":"button","occupied":true`)
	send("status", n+1, n+3, status) // fresh again
	itest.WaitUntil(t, time.Minute, "fresh status after the stale ones", func() bool {
		st, _ := p.ing.State().Get(lift)
		return st.Messages == n+3
	})
	itest.WaitPoints(t, influx, map[string]int64{"status": n + 2, "alarm": 1}, time.Minute)
	itest.WaitUntil(t, 30*time.Second, "the stale alarm and the fresh status consumed", func() bool { return p.consumer.n.Load() == n+2 })
	st, _ := p.ing.State().Get(lift)
	if !st.SeqBackwards || st.Stale != 2 || !st.Online {
		t.Fatalf("state: seq_backwards %v stale %d online %v", st.SeqBackwards, st.Stale, st.Online)
	}
	if got := p.counter("liftwatch_ingest_seq_backwards_total"); got != 1 {
		t.Fatalf("liftwatch_ingest_seq_backwards_total %v, want 1 (one run of stale messages)", got)
	}
	if got := p.counter("liftwatch_ingest_stale_total"); got != 2 {
		t.Fatalf("liftwatch_ingest_stale_total %v, want 2", got)
	}
	if p.consumer.n.Load() != n+2 {
		t.Fatalf("consumers got %d, want %d: the stale status must not reach them", p.consumer.n.Load(), n+2)
	}
}
