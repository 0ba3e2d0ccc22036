package alerts_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

var outboxT0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func entrapment(lift string, seq int64, at time.Time) *telemetry.Message {
	return &telemetry.Message{Lift: lift, Kind: telemetry.KindFault, Boot: 1, Seq: seq, TS: at.UnixMilli(),
		Code: telemetry.FaultEntrapment, State: telemetry.FaultActive, Occupied: true, Has: telemetry.FieldOccupied}
}

// outboxEngine makes an engine over st and returns it with a function that
// applies a message to the lifts' live state and hands it to the engine, as
// ingest does.
func outboxEngine(t *testing.T, st alerts.Store) (*alerts.Engine, func(*telemetry.Message)) {
	t.Helper()
	ix := registry.NewIndex([]registry.Lift{{ID: "LW-1", Estate: "E1", Landings: 6, RatedSpeed: 1}, {ID: "LW-2", Estate: "E1", Landings: 6, RatedSpeed: 1}})
	lifts := liftstate.New(ix, liftstate.Options{})
	e, err := alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: st, Lifts: lifts,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: func() time.Time { return outboxT0 },
		Estates: func(string) (string, bool) { return "E1", true }})
	if err != nil {
		t.Fatal(err)
	}
	return e, func(m *telemetry.Message) { feed(lifts, e, outboxT0, m) }
}

// TestDetectionDoesNotWaitForTheDatabase: while another connection holds
// SQLite's write lock, the engine still raises an entrapment at once, with
// its ID; the outbox writes it, with its history, once the lock is gone.
// Over the store directly (before the outbox) Consume waited for the lock.
func TestDetectionDoesNotWaitForTheDatabase(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lw.db")
	db, err := store.OpenSQLite(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	reg := prometheus.NewRegistry()
	ob, err := alerts.NewOutbox(context.Background(), db.Alerts(), alerts.OutboxOptions{Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e, consume := outboxEngine(t, ob)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ob.Run(ctx)

	// Another process takes the write lock and keeps it.
	locker, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close()
	conn, err := locker.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	var streamed atomic.Int64
	e.Listen(func(c alerts.Change) {
		if c.Event.Action == "opened" {
			streamed.Store(c.Alert.ID)
		}
	})
	consumed := make(chan struct{})
	go func() { consume(entrapment("LW-1", 1, outboxT0)); close(consumed) }()
	// Well inside the 10 s busy timeout the store would wait for.
	select {
	case <-consumed:
	case <-time.After(5 * time.Second):
		t.Fatal("detection waited for the database")
	}
	open := e.Open()
	if len(open) != 1 || open[0].ID == 0 || streamed.Load() != open[0].ID {
		t.Fatalf("want one open alert with its ID, given to the listeners: %+v (streamed %d)", open, streamed.Load())
	}
	id := open[0].ID
	if ob.Depth() != 1 || gauge(t, reg, "liftwatch_alert_outbox_depth") != 1 {
		t.Fatalf("outbox depth %d, want the change queued", ob.Depth())
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	if err := ob.Sync(sctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Alerts().Alert(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != alerts.TypeEntrapment || len(got.History) != 1 || got.History[0].Action != "opened" {
		t.Fatalf("stored alert %+v", got)
	}
}

// flakyStore fails its first writes, and records what it wrote.
type flakyStore struct {
	alerts.OutboxStore
	fail    atomic.Int64
	mu      sync.Mutex
	actions []string
}

func (f *flakyStore) WriteAlerts(ctx context.Context, batch []alerts.AlertWrite) error {
	if f.fail.Add(-1) >= 0 {
		return errors.New("disk full")
	}
	if err := f.OutboxStore.WriteAlerts(ctx, batch); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range batch {
		for _, ev := range w.Events {
			f.actions = append(f.actions, ev.Action)
		}
	}
	return nil
}

// TestOutboxRetriesInOrder: failed writes are retried until they succeed,
// nothing is dropped, the changes land in the order they were made, and a
// restart continues the alert under the same ID and numbers new alerts
// after the reserved ones.
func TestOutboxRetriesInOrder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "lw.db")
	db, err := store.OpenSQLite(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	fs := &flakyStore{OutboxStore: db.Alerts()}
	fs.fail.Store(3)
	reg := prometheus.NewRegistry()
	ob, err := alerts.NewOutbox(context.Background(), fs, alerts.OutboxOptions{Registerer: reg, MaxBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e, consume := outboxEngine(t, ob)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	consume(entrapment("LW-1", 1, outboxT0))
	id := e.Open()[0].ID
	consume(entrapment("LW-1", 2, outboxT0)) // a repeat
	if _, err := e.Arrive(id, alerts.Action{Actor: "Li"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Comment(id, alerts.Action{Actor: "Li", Note: "car at floor 3"}); err != nil {
		t.Fatal(err)
	}
	itest.WaitUntil(t, 30*time.Second, "all changes written", func() bool { return ob.Depth() == 0 })
	cancel()
	<-done
	if err := ob.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := gauge(t, reg, "liftwatch_alert_outbox_write_failures_total"); n != 3 {
		t.Fatalf("write failures counted %v, want 3", n)
	}
	fs.mu.Lock()
	want := []string{"opened", "repeated", "arrived", "comment"}
	if len(fs.actions) != len(want) {
		t.Fatalf("written %v, want %v", fs.actions, want)
	}
	for i := range want {
		if fs.actions[i] != want[i] {
			t.Fatalf("written %v, want %v", fs.actions, want)
		}
	}
	fs.mu.Unlock()
	got, err := db.Alerts().Alert(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 2 || got.State != alerts.StateOnSite || len(got.History) != 4 {
		t.Fatalf("stored alert: count %d state %s history %d", got.Count, got.State, len(got.History))
	}
	db.Close()

	// Restart: the open alert continues under its ID; a new one is numbered
	// after every ID the first run reserved.
	db, err = store.OpenSQLite(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ob2, err := alerts.NewOutbox(context.Background(), db.Alerts(), alerts.OutboxOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e2, consume2 := outboxEngine(t, ob2)
	if open := e2.Open(); len(open) != 1 || open[0].ID != id {
		t.Fatalf("after restart: %+v, want alert %d open", open, id)
	}
	consume2(entrapment("LW-2", 1, outboxT0))
	for _, a := range e2.Open() {
		if a.Lift == "LW-2" && a.ID <= id {
			t.Fatalf("new alert got ID %d, not after %d", a.ID, id)
		}
	}
}

// gauge reads one unlabelled metric from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		switch mf.GetType() {
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestOutboxRunReturnsWhileWritesFail: Run returns when its context ends
// even while the database refuses every write (it used to spin on the
// failed write for ever, so the service could not shut down); Close then
// reports what was not written.
func TestOutboxRunReturnsWhileWritesFail(t *testing.T) {
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fs := &flakyStore{OutboxStore: db.Alerts()}
	fs.fail.Store(1 << 40)
	ob, err := alerts.NewOutbox(context.Background(), fs, alerts.OutboxOptions{MaxBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, consume := outboxEngine(t, ob)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(ctx); close(done) }()
	consume(entrapment("LW-1", 1, outboxT0))
	itest.WaitUntil(t, 30*time.Second, "a write failed", func() bool { return fs.fail.Load() < 1<<40-1 })
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended while writes fail")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer ccancel()
	if err := ob.Close(cctx); err == nil || ob.Depth() != 1 {
		t.Fatalf("Close: %v, depth %d; want an error naming the unwritten change", err, ob.Depth())
	}
}
