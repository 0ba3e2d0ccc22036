package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
	"github.com/liftwatch/liftwatch/telemetry"
)

// t0 is a pinned instant; every time in these tests is t0 plus an offset.
var t0 = time.UnixMilli(1_790_000_000_000).UTC()

func at(d time.Duration) time.Time { return t0.Add(d) }

func atp(d time.Duration) *time.Time { t := at(d); return &t }

func newAlert(lift, typ string, opened time.Duration) *alerts.Alert {
	return &alerts.Alert{Lift: lift, Estate: "JW", Type: typ, Severity: telemetry.SeverityCritical, Rescue: true,
		Summary: "passengers trapped", State: alerts.StateOpen, ConditionActive: true, Count: 1,
		FirstSeen: at(opened - time.Second), LastSeen: at(opened), OpenedAt: at(opened), LastNotified: at(opened)}
}

// TestAlertStoreRoundTrip is the alert store's contract on each backend:
// IDs come from the database, every column (booleans, nullable times,
// severity) reads back as written, history keeps its order across saves,
// and a missing alert is a NotFoundError.
func TestAlertStoreRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Alerts()
		a1 := newAlert("JW-0001", alerts.TypeEntrapment, time.Minute)
		if err := r.SaveAlert(ctx, a1, []alerts.Event{{At: at(time.Minute), Action: "opened", Actor: "engine"}}); err != nil {
			t.Fatal(err)
		}
		a2 := newAlert("JW-0002", alerts.TypeOffline, 2*time.Minute)
		a2.Rescue, a2.ConditionActive, a2.Derived, a2.Severity = false, false, true, telemetry.SeverityWarning
		if err := r.SaveAlert(ctx, a2, nil); err != nil {
			t.Fatal(err)
		}
		if a1.ID <= 0 || a2.ID <= a1.ID {
			t.Fatalf("ids %d, %d: want positive and increasing", a1.ID, a2.ID)
		}

		a1.State, a1.AckAt, a1.AckBy, a1.Tier, a1.Count = alerts.StateAcknowledged, atp(3*time.Minute), "ops", 1, 2
		a1.Suppressed = "silence 4"
		a1.Evidence = []alerts.MessageKey{{Boot: 3, Seq: 17}, {Boot: 3, Seq: 18}}
		if err := r.SaveAlert(ctx, a1, []alerts.Event{
			{At: at(2 * time.Minute), Action: "repeated", Actor: "engine", Note: "again"},
			{At: at(3 * time.Minute), Action: "acknowledged", Actor: "ops", Tier: 1},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := r.Alert(ctx, a1.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantHist := []alerts.Event{
			{At: at(time.Minute), Action: "opened", Actor: "engine"},
			{At: at(2 * time.Minute), Action: "repeated", Actor: "engine", Note: "again"},
			{At: at(3 * time.Minute), Action: "acknowledged", Actor: "ops", Tier: 1},
		}
		want := *a1
		want.History = wantHist
		want.Version = int64(len(wantHist)) // the version is the record's length
		if !reflect.DeepEqual(got, &want) {
			t.Fatalf("alert read back\n got %+v\nwant %+v", got, &want)
		}
		got2, err := r.Alert(ctx, a2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got2, a2) {
			t.Fatalf("alert read back\n got %+v\nwant %+v", got2, a2)
		}

		var nf *alerts.NotFoundError
		if _, err := r.Alert(ctx, a2.ID+100); !errors.As(err, &nf) {
			t.Fatalf("missing alert: %v, want NotFoundError", err)
		}

		a2.State, a2.ResolvedAt, a2.ResolvedBy = alerts.StateResolved, atp(4*time.Minute), "tech"
		if err := r.SaveAlert(ctx, a2, nil); err != nil {
			t.Fatal(err)
		}
		open, err := r.OpenAlerts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != 1 || open[0].ID != a1.ID {
			t.Fatalf("open alerts %v, want only %d", ids(open), a1.ID)
		}
		// Since/Until bound opened_at; LIMIT keeps the newest.
		list, err := r.List(ctx, AlertFilter{Since: at(2 * time.Minute), Until: at(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != a2.ID {
			t.Fatalf("since/until: %v, want [%d]", ids(list), a2.ID)
		}
		list, err = r.List(ctx, AlertFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != a2.ID {
			t.Fatalf("limit 1: %v, want [%d]", ids(list), a2.ID)
		}
	})
}

func ids(list []*alerts.Alert) []int64 {
	var out []int64
	for _, a := range list {
		out = append(out, a.ID)
	}
	return out
}

// TestSilencesAndNotifications: generated IDs, no reuse of a deleted
// silence's ID, the notification log's filter, order and limit.
func TestSilencesAndNotifications(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		r := db.Alerts()
		var saved []alerts.Silence
		for i := range 2 {
			s := alerts.Silence{Lift: fmt.Sprintf("JW-000%d", i+1), StartsAt: at(0), EndsAt: at(time.Hour),
				Reason: "works", CreatedBy: "ops", CreatedAt: at(0)}
			if err := r.SaveSilence(ctx, &s); err != nil {
				t.Fatal(err)
			}
			saved = append(saved, s)
		}
		if err := r.DeleteSilence(ctx, saved[1].ID); err != nil {
			t.Fatal(err)
		}
		s3 := alerts.Silence{Estate: "JW", StartsAt: at(time.Minute), EndsAt: at(2 * time.Hour), Reason: "estate works",
			CreatedBy: "ops", CreatedAt: at(time.Minute)}
		if err := r.SaveSilence(ctx, &s3); err != nil {
			t.Fatal(err)
		}
		if s3.ID <= saved[1].ID {
			t.Fatalf("silence id %d reused or lower than deleted %d", s3.ID, saved[1].ID)
		}
		got, err := r.Silences(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []alerts.Silence{saved[0], s3}; !reflect.DeepEqual(got, want) {
			t.Fatalf("silences\n got %+v\nwant %+v", got, want)
		}

		recs := []notify.Record{
			{AlertID: 1, Receiver: "duty", Event: "opened", Tier: 0, At: at(time.Second), Attempts: 1, Outcome: "delivered", StatusCode: 200},
			{AlertID: 2, Receiver: "duty", Event: "opened", Tier: 0, At: at(2 * time.Second), Attempts: 3, Outcome: "failed", StatusCode: 503, Error: "unavailable", Retryable: true},
			{AlertID: 1, Receiver: "manager", Event: "escalated", Tier: 1, At: at(3 * time.Second), Attempts: 1, Outcome: "dropped", Error: "no route"},
		}
		for i := range recs {
			if err := r.LogNotification(ctx, &recs[i]); err != nil {
				t.Fatal(err)
			}
			if i > 0 && recs[i].ID <= recs[i-1].ID {
				t.Fatalf("notification ids not increasing: %d after %d", recs[i].ID, recs[i-1].ID)
			}
		}
		log, err := r.Notifications(ctx, 1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []notify.Record{recs[2], recs[0]}; !reflect.DeepEqual(log, want) {
			t.Fatalf("log of alert 1\n got %+v\nwant %+v", log, want)
		}
		log, err = r.Notifications(ctx, 0, 2)
		if err != nil {
			t.Fatal(err)
		}
		if want := []notify.Record{recs[2], recs[1]}; !reflect.DeepEqual(log, want) {
			t.Fatalf("newest two\n got %+v\nwant %+v", log, want)
		}
	})
}

// TestHistoryWriteUpserts: a replayed point overwrites its row.
func TestHistoryWriteUpserts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		h := sqlhistory.New(db.SQL, db.Dialect)
		batch := []history.Record{
			{Kind: telemetry.KindTrip, Lift: "JW-0001", PointNS: 1_790_000_000_000_000_001, Line: []byte("trip,lift=JW-0001 a=1i 1790000000000000001")},
			{Kind: telemetry.KindTrip, Lift: "JW-0001", PointNS: 1_790_000_000_000_000_002, Line: []byte("trip,lift=JW-0001 a=2i 1790000000000000002")},
			{Kind: telemetry.KindDoor, Lift: "JW-0001", PointNS: 1_790_000_000_000_000_002, Line: []byte("door,lift=JW-0001 b=1i 1790000000000000002")},
		}
		if err := h.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		replay := batch[1]
		replay.Line = []byte("trip,lift=JW-0001 a=3i 1790000000000000002")
		if err := h.Write(ctx, []history.Record{replay}); err != nil {
			t.Fatal(err)
		}
		if n, err := h.Count(ctx, "trip"); err != nil || n != 2 {
			t.Fatalf("trip count %d (%v), want 2", n, err)
		}
		var line string
		if err := db.SQL.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT line FROM telemetry WHERE kind = ? AND lift = ? AND ts_ns = ?`),
			"trip", "JW-0001", replay.PointNS).Scan(&line); err != nil {
			t.Fatal(err)
		}
		if line != string(replay.Line) {
			t.Fatalf("replayed point kept %q", line)
		}
		if err := h.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestConcurrentWriters: repositories writing at once through the pool get
// distinct IDs and lose no history. With IDs allocated as MAX(id)+1 this
// failed on PostgreSQL with duplicate keys.
func TestConcurrentWriters(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		shared := newAlert("JW-0009", alerts.TypeAlarm, 0)
		if err := db.Alerts().SaveAlert(ctx, shared, nil); err != nil {
			t.Fatal(err)
		}
		const workers, each = 8, 5
		var mu sync.Mutex
		seen := map[string]bool{}
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := db.Alerts() // one repository per writer, as the engine, API and notifier have
				errs <- func() error {
					for i := range each {
						a := newAlert(fmt.Sprintf("JW-%04d", w), alerts.TypeEntrapment, time.Duration(i)*time.Second)
						if err := r.SaveAlert(ctx, a, []alerts.Event{{At: a.OpenedAt, Action: "opened", Actor: "engine"}}); err != nil {
							return err
						}
						s := alerts.Silence{Lift: a.Lift, StartsAt: at(0), EndsAt: at(time.Hour), Reason: "r", CreatedBy: "c", CreatedAt: at(0)}
						if err := r.SaveSilence(ctx, &s); err != nil {
							return err
						}
						n := notify.Record{AlertID: a.ID, Receiver: "duty", Event: "opened", At: at(0), Outcome: "delivered"}
						if err := r.LogNotification(ctx, &n); err != nil {
							return err
						}
						// Everyone also appends to one shared alert.
						mine := *shared
						if err := r.SaveAlert(ctx, &mine, []alerts.Event{{At: at(time.Second), Action: "comment", Actor: fmt.Sprint(w)}}); err != nil {
							return err
						}
						mu.Lock()
						for _, k := range []string{fmt.Sprint("a", a.ID), fmt.Sprint("s", s.ID), fmt.Sprint("n", n.ID)} {
							if seen[k] {
								mu.Unlock()
								return fmt.Errorf("id %s handed out twice", k)
							}
							seen[k] = true
						}
						mu.Unlock()
					}
					return nil
				}()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(seen) != 3*workers*each {
			t.Fatalf("%d distinct ids, want %d", len(seen), 3*workers*each)
		}
		got, err := db.Alerts().Alert(ctx, shared.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.History) != workers*each {
			t.Fatalf("shared alert has %d events, want %d", len(got.History), workers*each)
		}
	})
}

// TestConnectionPool: SQLite keeps one connection, PostgreSQL a small pool.
func TestConnectionPool(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		want := map[string]int{"sqlite": 1, "postgres": PostgresPoolSize}[db.Dialect.Name]
		if got := db.SQL.Stats().MaxOpenConnections; got != want || want == 0 {
			t.Fatalf("%s: max open connections %d, want %d", db.Dialect.Name, got, want)
		}
	})
}

// TestUpgradeToGeneratedIDs: a database created by migrations 1–3 (IDs
// allocated by the application) keeps its rows through 0004, and new IDs
// continue after the highest old one.
func TestUpgradeToGeneratedIDs(t *testing.T) {
	old := fstest.MapFS{}
	for _, name := range []string{"0001_registry.sql", "0002_history.sql", "0003_alerts.sql"} {
		b, err := fs.ReadFile(migrations, "migrations/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: b}
	}
	forEachDSN(t, func(t *testing.T, d Dialect, dsn string) {
		ctx := context.Background()
		db, err := openWith(ctx, d, dsn, old)
		if err != nil {
			t.Fatal(err)
		}
		a := newAlert("JW-0001", alerts.TypeEntrapment, 0)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO alerts (id, lift, estate, type, severity, rescue, summary, state, condition_active, derived, suppressed,
				count, first_seen, last_seen, opened_at, ack_by, dispatched_to, on_site_by, resolved_by, tier, last_notified)
				VALUES (7, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', 1, ?, ?, ?, '', '', '', '', 0, ?)`,
				[]any{a.Lift, a.Estate, a.Type, a.Severity.String(), true, a.Summary, string(a.State), true, false,
					ms(a.FirstSeen), ms(a.LastSeen), ms(a.OpenedAt), ms(a.LastNotified)}},
			{`INSERT INTO alert_events (alert_id, seq, at, action, actor, note, tier) VALUES (7, 1, ?, 'opened', 'engine', '', 0)`, []any{ms(a.OpenedAt)}},
			{`INSERT INTO silences (id, lift, estate, starts_at, ends_at, reason, created_by, created_at) VALUES (3, 'JW-0001', '', 0, 1, 'r', 'c', 0)`, nil},
			{`INSERT INTO notifications (id, alert_id, receiver, event, tier, at, attempts, outcome, status_code, error, retryable)
				VALUES (5, 7, 'duty', 'opened', 0, 0, 1, 'delivered', 200, '', ?)`, []any{false}},
		} {
			if _, err := db.SQL.ExecContext(ctx, d.Rebind(q.sql), q.args...); err != nil {
				t.Fatalf("seed old schema: %v", err)
			}
		}
		db.Close()

		db, err = Open(ctx, d, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		r := db.Alerts()
		got, err := r.Alert(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lift != "JW-0001" || !got.Rescue || len(got.History) != 1 {
			t.Fatalf("old alert after upgrade: %+v", got)
		}
		b := newAlert("JW-0002", alerts.TypeOffline, time.Minute)
		if err := r.SaveAlert(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
		s := alerts.Silence{Lift: "JW-0002", StartsAt: at(0), EndsAt: at(time.Hour), Reason: "r", CreatedBy: "c", CreatedAt: at(0)}
		if err := r.SaveSilence(ctx, &s); err != nil {
			t.Fatal(err)
		}
		n := notify.Record{AlertID: b.ID, Receiver: "duty", Event: "opened", At: at(0), Outcome: "delivered"}
		if err := r.LogNotification(ctx, &n); err != nil {
			t.Fatal(err)
		}
		if b.ID != 8 || s.ID != 4 || n.ID != 6 {
			t.Fatalf("new ids alert %d silence %d notification %d, want 8, 4, 6", b.ID, s.ID, n.ID)
		}
		if all, err := r.Silences(ctx); err != nil || len(all) != 2 {
			t.Fatalf("silences after upgrade: %d (%v), want 2", len(all), err)
		}
	})
}

// TestConcurrentOpenMigratesOnce: replicas starting at once against one
// PostgreSQL schema all come up, and each migration is applied once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := postgresSchema(t)
	const n = 4
	errs := make(chan error, n)
	for range n {
		go func() {
			db, err := OpenPostgres(context.Background(), dsn)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	db, err := OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, versions int
	if err := db.SQL.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	want, err := migrationsFor(migrations, "postgres")
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(want) || versions != len(want) {
		t.Fatalf("schema_migrations: %d rows, %d versions, want %d", rows, versions, len(want))
	}
}

func TestMigrationsFor(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0001_a.sql":          {},
		"migrations/0002_b.sqlite.sql":   {},
		"migrations/0002_b.postgres.sql": {},
		"migrations/0003_c.sql":          {},
	}
	for dialect, want := range map[string]string{
		"sqlite":   "0001_a.sql 0002_b.sqlite.sql 0003_c.sql",
		"postgres": "0001_a.sql 0002_b.postgres.sql 0003_c.sql",
	} {
		list, err := migrationsFor(fsys, dialect)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range list {
			names = append(names, m.name)
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s: %s, want %s", dialect, got, want)
		}
	}
	for name, bad := range map[string]fstest.MapFS{
		"duplicate version": {"migrations/0001_a.sql": {}, "migrations/0001_b.sqlite.sql": {}},
		"unknown dialect":   {"migrations/0001_a.mysql.sql": {}},
		"no version":        {"migrations/a.sql": {}},
	} {
		if _, err := migrationsFor(bad, "sqlite"); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	// The embedded set gives each dialect increasing versions from 1, once
	// each. Versions are reserved per module, so a branch may have gaps
	// (0007 before 0005 is merged).
	for _, d := range []string{"sqlite", "postgres"} {
		list, err := migrationsFor(migrations, d)
		if err != nil {
			t.Fatal(err)
		}
		v := make([]int, len(list))
		for i, m := range list {
			v[i] = m.version
		}
		increasing := true
		for i := 1; i < len(v); i++ {
			increasing = increasing && v[i] > v[i-1]
		}
		if !increasing || len(v) == 0 || v[0] != 1 {
			t.Errorf("%s migrations: versions %v", d, v)
		}
	}
}
