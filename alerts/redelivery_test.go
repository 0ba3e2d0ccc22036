package alerts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// TestIdempotentAcrossRestart: the engine's persisted evidence recognises a
// fault delivered again after a restart (the live state's memory of
// (boot, seq) is gone), and still counts a new message.
func TestIdempotentAcrossRestart(t *testing.T) {
	r := newRig(t)
	const lift = "JW-0031"
	trap := func(seq int64) *telemetry.Message {
		return msg(lift, telemetry.KindFault, seq, t0, func(m *telemetry.Message) { m.Code = telemetry.FaultEntrapment })
	}
	r.consume(trap(5))
	r.crash()
	for range 2 {
		m := trap(5)
		u, _ := r.lifts.Observe(m, r.clk.Now(), true)
		u.Duplicate = true // as ingest marks it
		r.e.Consume(m, &u)
	}
	if a := r.one(lift, alerts.TypeEntrapment); a.Count != 1 || len(a.History) != 1 {
		t.Fatalf("redelivered after a restart: count %d, history %+v; want 1, opened only", a.Count, a.History)
	}
	r.consume(trap(6))
	if a := r.one(lift, alerts.TypeEntrapment); a.Count != 2 {
		t.Fatalf("a new message after the restart: count %d, want 2", a.Count)
	}
}

// The crash window of the alert outbox, through Mosquitto, the real ingest
// (spool, duplicate detection rebuilt from it) and SQLite: a fault spooled
// and fsynced whose alert change was not written when the service died must
// be raised from the broker's redelivery after the restart; one whose change
// was written must not be counted twice.

// unwritable is an alert store whose writes fail: the outbox keeps
// retrying, nothing reaches the database (the process dies before).
type unwritable struct{ *store.Alerts }

func (unwritable) WriteAlerts(context.Context, []alerts.AlertWrite) error {
	return errors.New("test: the database is unreachable")
}

// gate is the ingest's write-behind around the outbox; it counts batches
// that reached the acker (spooled and fsynced: the acker sees only those)
// and, when hold is set, never lets one be acked after its changes are
// written, as if the process died just then.
type gate struct {
	o       *alerts.Outbox
	hold    bool
	synced  atomic.Int64
	written atomic.Int64
}

func (g *gate) Mark() uint64 { g.synced.Add(1); return g.o.Mark() }

func (g *gate) WaitWritten(ctx context.Context, mark uint64) error {
	if err := g.o.WaitWritten(ctx, mark); err != nil {
		return err
	}
	g.written.Add(1)
	if g.hold {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// dupSeen records the duplicates ingest hands to its consumers.
type dupSeen struct {
	mu   sync.Mutex
	dups []string
}

func (d *dupSeen) Consume(m *telemetry.Message, u *liftstate.Update) {
	if u.Duplicate {
		d.mu.Lock()
		d.dups = append(d.dups, fmt.Sprintf("%s %s %d:%d", m.Lift, m.Kind, m.Boot, m.Seq))
		d.mu.Unlock()
	}
}

func (d *dupSeen) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dups...)
}

// node is one run of the service on a data dir: SQLite, outbox, ingest,
// engine, receiver, with a fixed clock.
type node struct {
	db     *store.DB
	reg    *prometheus.Registry
	e      *alerts.Engine
	ing    *ingest.Ingester
	gate   *gate
	seen   *dupSeen
	stop   func()
	outbox *alerts.Outbox
}

var redeliveryNow = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func startNode(t *testing.T, broker *testrig.Mosquitto, ix *registry.Index, dir string, failWrites, holdAcks bool) *node {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := func() time.Time { return redeliveryNow }
	db, err := store.OpenSQLite(ctx, filepath.Join(dir, "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	var st alerts.OutboxStore = db.Alerts()
	if failWrites {
		st = unwritable{db.Alerts()}
	}
	n := &node{db: db, reg: prometheus.NewRegistry(), seen: &dupSeen{}}
	n.outbox, err = alerts.NewOutbox(ctx, st, alerts.OutboxOptions{Logger: quiet, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.gate = &gate{o: n.outbox, hold: holdAcks}
	n.ing, err = ingest.New(ingest.Config{SpoolDir: filepath.Join(dir, "spool"), Logger: quiet, Clock: clk, WriteBehind: n.gate,
		FlushTimeout: time.Second}, ix, sqlhistory.New(db.SQL, db.Dialect), n.reg)
	if err != nil {
		t.Fatal(err)
	}
	n.e, err = alerts.New(ctx, alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: n.outbox, Logger: quiet,
		Lifts: n.ing.State(), Estates: ix.Estate, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	n.ing.AddConsumer(n.e)
	n.ing.AddConsumer(n.seen)
	rcv, err := ingest.NewReceiver(ingest.ReceiverConfig{ClientID: "lw-redelivery-test", Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}}, n.ing)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	octx, cancelOutbox := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); n.outbox.Run(octx) }()
	go func() { defer wg.Done(); n.ing.Run(runCtx) }()
	go func() { defer wg.Done(); rcv.Run(runCtx) }()
	itest.WaitUntil(t, time.Minute, "receiver connected", rcv.Connected)
	var once sync.Once
	// stop ends the run without the outbox's final write (Close): what it
	// has not written by then is lost, as in a crash.
	n.stop = func() {
		once.Do(func() {
			cancel()
			cancelOutbox()
			wg.Wait()
			db.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

func (n *node) entrapments(t *testing.T, lift string) []*alerts.Alert {
	t.Helper()
	list, err := n.db.Alerts().List(context.Background(), store.AlertFilter{Lift: lift, Type: alerts.TypeEntrapment})
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range list {
		if list[i], err = n.db.Alerts().Alert(context.Background(), a.ID); err != nil {
			t.Fatal(err)
		}
	}
	return list
}

func publishTrap(t *testing.T, broker *testrig.Mosquitto, lift string) {
	t.Helper()
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	p := fmt.Sprintf(`{"v":1,"boot":1,"seq":7,"ts":%d,"code":"entrapment","state":"active","floor":4,"door_zone":false,"occupied":true}`,
		redeliveryNow.Add(-10*time.Second).UnixMilli())
	if err := pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/fault", Payload: []byte(p)}); err != nil {
		t.Fatal(err)
	}
}

// afterRedelivery waits until the restarted node has taken the broker's
// redelivery as a duplicate and acked it (its consumers are done and what
// they queued is written).
func (n *node) afterRedelivery(t *testing.T) {
	t.Helper()
	itest.WaitUntil(t, time.Minute, "redelivery taken as a duplicate and acked", func() bool {
		return gather(t, n.reg, "liftwatch_ingest_duplicates_total") == 1 && gaugeOf(t, n.reg, "liftwatch_ingest_unacked_messages") == 0
	})
	if err := n.outbox.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestUnwrittenAlertRaisedFromRedelivery: the entrapment is spooled and
// fsynced, the engine raised it, but the outbox never wrote it (the
// database failed, then the process died). After the restart the broker
// delivers the message again; duplicate detection, rebuilt from the spool,
// knows it — and it still reaches the engine, which raises the alert.
func TestUnwrittenAlertRaisedFromRedelivery(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	ix := registry.NewIndex(fleet)
	dir := t.TempDir()
	const lift = "JW-0042"

	n1 := startNode(t, broker, ix, dir, true, false)
	publishTrap(t, broker, lift)
	itest.WaitUntil(t, time.Minute, "spooled, fsynced and raised in memory", func() bool {
		return n1.gate.synced.Load() >= 1 && len(n1.e.Open()) == 1
	})
	n1.stop()

	n2 := startNode(t, broker, ix, dir, false, false)
	n2.afterRedelivery(t)
	list := n2.entrapments(t, lift)
	if len(list) != 1 || list[0].Count != 1 || !list[0].Open() || len(list[0].History) != 1 || list[0].History[0].Action != "opened" {
		t.Fatalf("after the restart: entrapment alerts %+v, want one, opened from the redelivery", list)
	}
	if seen := n2.seen.list(); len(seen) != 1 || seen[0] != lift+" fault 1:7" {
		t.Fatalf("duplicates handed to the consumers: %q", seen)
	}
	t.Logf("raised after the restart: %s", list[0].History[0].Note)
}

// TestWrittenAlertNotRepeatedByRedelivery: the entrapment's alert is
// written, but the process dies before the ack; the broker's redelivery
// after the restart reaches the engine (marked a duplicate) and adds no
// repeat: the alert's persisted evidence has it.
func TestWrittenAlertNotRepeatedByRedelivery(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	fleet, _ := registry.Jiangwan()
	ix := registry.NewIndex(fleet)
	dir := t.TempDir()
	const lift = "JW-0042"

	n1 := startNode(t, broker, ix, dir, false, true)
	publishTrap(t, broker, lift)
	itest.WaitUntil(t, time.Minute, "alert written, message not acked", func() bool { return n1.gate.written.Load() >= 1 })
	if list := n1.entrapments(t, lift); len(list) != 1 {
		t.Fatalf("before the crash: %d alerts written", len(list))
	}
	n1.stop()

	n2 := startNode(t, broker, ix, dir, false, false)
	n2.afterRedelivery(t)
	if seen := n2.seen.list(); len(seen) != 1 || seen[0] != lift+" fault 1:7" {
		t.Fatalf("duplicates handed to the consumers: %q (the test needs the redelivery to reach the engine)", seen)
	}
	list := n2.entrapments(t, lift)
	if len(list) != 1 || list[0].Count != 1 || len(list[0].History) != 1 {
		t.Fatalf("after the restart: entrapment alerts %+v, want one with count 1, opened only", list)
	}
}
