package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
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
	ix     *registry.Index
	reg    *prometheus.Registry
	db     *store.DB
	e      *alerts.Engine
	ing    *ingest.Ingester
	cancel context.CancelFunc
	done   chan struct{}
}

func startLive(t *testing.T, broker *testrig.Mosquitto, fleet []registry.Lift) *live {
	t.Helper()
	return startLiveOffline(t, broker, fleet, 0)
}

func startLiveOffline(t *testing.T, broker *testrig.Mosquitto, fleet []registry.Lift, offlineAfter time.Duration) *live {
	t.Helper()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	ix := registry.NewIndex(fleet)
	reg := prometheus.NewRegistry()
	ing, err := ingest.New(ingest.Config{SpoolDir: filepath.Join(dir, "spool"), Logger: quiet, MaxUnacked: 5000, OfflineAfter: offlineAfter}, ix, sqlhistory.New(db.SQL, db.Dialect), reg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: db.Alerts(), Logger: quiet, Lifts: ing.State(),
		Estates: ix.Estate})
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
	l := &live{ix: ix, reg: reg, db: db, e: e, ing: ing, cancel: cancel, done: make(chan struct{})}
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

// TestRulesThroughMosquitto: each critical fault, repeated faults,
// inhibition in inspection mode and a silence, scripted in one scenario and
// published through Mosquitto.
func TestRulesThroughMosquitto(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	l := startLive(t, broker, fleet)
	guyuan := ""
	for _, x := range fleet {
		if x.Estate == "guyuan" {
			guyuan = x.ID
			break
		}
	}
	sil, err := l.e.AddSilence(context.Background(), alerts.Silence{Estate: "guyuan", StartsAt: time.Now().Add(-2 * time.Hour),
		EndsAt: time.Now().Add(time.Hour), Reason: "estate-wide inspection", CreatedBy: "manager Zhou"})
	if err != nil {
		t.Fatal(err)
	}
	publish(t, broker, fleet, `
lifts: [JW-0011, JW-0012, JW-0013, JW-0014, JW-0015, JW-0020, JW-0021, `+guyuan+`]
events:
  - {at: "00:01:00", lift: JW-0011, do: fault, code: unintended_movement, for: 2m}
  - {at: "00:01:00", lift: JW-0012, do: fault, code: overspeed, for: 2m}
  - {at: "00:01:00", lift: JW-0013, do: fault, code: overtravel_top, for: 2m}
  - {at: "00:01:00", lift: JW-0014, do: fault, code: overtravel_bottom, for: 2m}
  - {at: "00:01:00", lift: JW-0015, do: fault, code: door_open_while_moving, for: 2m}
  - {at: "00:01:00", lift: JW-0020, do: fault, code: door_lock, for: 1m}
  - {at: "00:05:00", lift: JW-0020, do: fault, code: door_lock, for: 1m}
  - {at: "00:09:00", lift: JW-0020, do: fault, code: door_lock, for: 1m}
  - {at: "00:01:00", lift: JW-0021, do: visit, for: 30m}
  - {at: "00:05:00", lift: JW-0021, do: fault, code: no_restart, for: 2m}
  - {at: "00:05:00", lift: `+guyuan+`, do: fault, code: floor_position_lost, for: 2m}
`, simulator.DefaultRates(), 0)
	itest.WaitUntil(t, 2*time.Minute, "repeated-fault alert", func() bool {
		list, _ := l.db.Alerts().List(context.Background(), store.AlertFilter{Type: alerts.TypeRepeatPrefix + "door_lock"})
		return len(list) == 1
	})
	one := func(lift, typ string) *alerts.Alert {
		t.Helper()
		var list []*alerts.Alert
		itest.WaitUntil(t, time.Minute, lift+" "+typ, func() bool {
			list, _ = l.db.Alerts().List(context.Background(), store.AlertFilter{Lift: lift, Type: typ})
			return len(list) == 1
		})
		return list[0]
	}
	for i, code := range []string{"unintended_movement", "overspeed", "overtravel_top", "overtravel_bottom", "door_open_while_moving"} {
		a := one(fmt.Sprintf("JW-%04d", 11+i), alerts.TypeFaultPrefix+code)
		if a.Severity.String() != "critical" || a.State != alerts.StateOpen || a.Suppressed != "" {
			t.Errorf("%s: %+v (critical faults stay open until a technician resolves them)", code, a)
		}
	}
	if a := one("JW-0021", alerts.TypeFaultPrefix+"no_restart"); a.Suppressed != "inspection" {
		t.Errorf("fault during a technician's visit: suppressed=%q", a.Suppressed)
	}
	if a := one(guyuan, alerts.TypeFaultPrefix+"floor_position_lost"); a.Suppressed != fmt.Sprintf("silence:%d", sil.ID) {
		t.Errorf("fault in a silenced estate: suppressed=%q", a.Suppressed)
	}
}

// TestOfflineFlappingThroughMosquitto: a terminal that goes silent and comes
// back twice gives two offline alerts, each closed when traffic returns.
func TestOfflineFlappingThroughMosquitto(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	l := startLiveOffline(t, broker, fleet, time.Second)
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	seq := int64(0)
	beat := func() {
		seq++
		p := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1}`, seq, time.Now().UnixMilli())
		pub.Send(context.Background(), &simulator.Out{Lift: "JW-0099", Topic: "lifts/JW-0099/status", Payload: []byte(p)})
	}
	offline := func(n int) bool {
		list, _ := l.db.Alerts().List(context.Background(), store.AlertFilter{Lift: "JW-0099", Type: alerts.TypeOffline})
		return len(list) == n
	}
	for round := 1; round <= 2; round++ {
		beat()
		itest.WaitUntil(t, time.Minute, "online", func() bool { st, _ := l.ing.State().Get("JW-0099"); return st.Online })
		itest.WaitUntil(t, time.Minute, "offline alert", func() bool { return offline(round) && len(l.e.Open()) > 0 })
		beat()
		itest.WaitUntil(t, time.Minute, "offline alert closed", func() bool {
			for _, a := range l.e.Open() {
				if a.Lift == "JW-0099" {
					return false
				}
			}
			return true
		})
	}
	list, _ := l.db.Alerts().List(context.Background(), store.AlertFilter{Lift: "JW-0099", Type: alerts.TypeOffline})
	for _, a := range list {
		if a.State != alerts.StateResolved || a.ResolvedBy != "system" {
			t.Fatalf("offline alert left %s", a.State)
		}
	}
}

// TestStaleEntrapmentThroughMosquitto: a terminal that reset its counter
// without a new boot sends an entrapment with a sequence number far behind
// the duplicate window. It is raised; its redelivery raises nothing more;
// the lift is flagged in its state and API view, and counted in a metric.
func TestStaleEntrapmentThroughMosquitto(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	l := startLive(t, broker, fleet)
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const lift = "JW-0077"
	base := time.Now().Add(-time.Hour).Truncate(time.Second) // event times: the validator refuses the future and last week
	ts := func(seq int64) int64 { return base.Add(time.Duration(seq) * time.Second).UnixMilli() }
	send := func(kind, payload string) {
		t.Helper()
		if err := pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/" + kind, Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(seq int64) {
		send("status", fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1}`, seq, ts(seq)))
	}
	// fence sends a fresh status and waits until ingest has taken it: per
	// lift, everything published before it has then reached the engine.
	fence := func(seq int64) {
		t.Helper()
		status(seq)
		itest.WaitUntil(t, time.Minute, fmt.Sprintf("status %d taken", seq), func() bool {
			st, _ := l.ing.State().Get(lift)
			return st.Status != nil && st.Status.Seq == seq
		})
	}
	for seq := int64(1); seq < 2000; seq++ {
		status(seq)
	}
	fence(2000)
	// The counter restarted at 10 without a reboot: far behind the window.
	trap := fmt.Sprintf(`{"v":1,"boot":1,"seq":10,"ts":%d,"code":"entrapment","state":"active","floor":4,"door_zone":false,"occupied":true}`, ts(2001))
	send("fault", trap)
	fence(2001)
	list, err := l.db.Alerts().List(context.Background(), store.AlertFilter{Lift: lift, Type: alerts.TypeEntrapment})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Derived || list[0].Count != 1 {
		t.Fatalf("entrapment behind the sequence window: alerts %+v, want one explicit", list)
	}
	// The same message again (a QoS 1 redelivery, a terminal resending).
	send("fault", trap)
	fence(2002)
	a, err := l.db.Alerts().Alert(context.Background(), list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := l.db.Alerts().List(context.Background(), store.AlertFilter{Lift: lift, Type: alerts.TypeEntrapment})
	if len(n) != 1 || a.Count != 1 || len(a.History) != 1 || a.History[0].Action != "opened" {
		t.Fatalf("redelivered entrapment: %d alerts, count %d, history %+v; want one alert, opened once", len(n), a.Count, a.History)
	}
	// Reported: the lift's state, its API view, and the metrics.
	st, _ := l.ing.State().Get(lift)
	if !st.SeqBackwards || st.Stale != 2 || st.SeqBackwardsAt == nil {
		t.Fatalf("state: seq_backwards %v stale %d at %v; want flagged, 2 stale", st.SeqBackwards, st.Stale, st.SeqBackwardsAt)
	}
	srv := httptest.NewServer(api.New(api.Deps{Lifts: l.ix, States: l.ing.State(), Safety: l.e, Gatherer: l.reg}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/lifts/" + lift)
	if err != nil {
		t.Fatal(err)
	}
	var view map[string]any
	err = json.NewDecoder(resp.Body).Decode(&view)
	resp.Body.Close()
	if err != nil || view["seq_backwards"] != true || view["stale"] != 2.0 || view["open_alerts"] != 1.0 {
		t.Fatalf("GET /api/v1/lifts/%s: %v %v", lift, view, err)
	}
	// Two jumps backwards (each time after a fresh message), two stale messages.
	if got := gather(t, l.reg, "liftwatch_ingest_seq_backwards_total"); got != 2 {
		t.Fatalf("liftwatch_ingest_seq_backwards_total %v, want 2", got)
	}
	if got := gather(t, l.reg, "liftwatch_ingest_stale_total"); got != 2 {
		t.Fatalf("liftwatch_ingest_stale_total %v, want 2", got)
	}
}

func gather(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
