package notify_test

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// amRig is the engine and the dispatcher wired as the service wires them
// (real SQLite), sending to a real Alertmanager. The engine runs on a fake
// clock; the dispatcher stamps startsAt and endsAt with the machine's clock,
// which is the one Alertmanager itself reads.
type amRig struct {
	t     *testing.T
	am    *testrig.Alertmanager
	db    *store.DB
	clk   *clock.Fake
	e     *alerts.Engine
	d     *notify.Dispatcher
	lifts *liftstate.Store
	seq   int64
}

func newAMRig(t *testing.T, am *testrig.Alertmanager, recv []notify.Receiver, o notify.Options) *amRig {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "am.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fleet, _ := registry.Jiangwan()
	ix := registry.NewIndex(fleet)
	r := &amRig{t: t, am: am, db: db, clk: clock.NewFake(time.Now())}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.lifts = liftstate.New(ix, liftstate.Options{})
	o.Log, o.Backoff, o.Logger, o.Clock = db.Alerts(), 10*time.Millisecond, quiet, time.Now
	o.OnResult = func(rec notify.Record) {
		r.e.RecordDelivery(alerts.Delivery{AlertID: rec.AlertID, Event: rec.Event, Receiver: rec.Receiver, Outcome: rec.Outcome,
			Attempts: rec.Attempts, Error: rec.Error})
	}
	r.d, err = notify.New(recv, o)
	if err != nil {
		t.Fatal(err)
	}
	r.e, err = alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: db.Alerts(),
		Clock: r.clk.Now, Logger: quiet, Estates: ix.Estate, Recipients: r.d.Recipients, Lifts: r.lifts})
	if err != nil {
		t.Fatal(err)
	}
	r.e.Listen(r.d.Handle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// entrapment reports an entrapment on lift and returns its rescue alert.
func (r *amRig) entrapment(lift string) *alerts.Alert {
	r.t.Helper()
	r.seq++
	m := &telemetry.Message{Kind: telemetry.KindFault, Lift: lift, Boot: 1, Seq: r.seq, TS: r.clk.Now().UnixMilli(),
		Code: "entrapment", BatteryPct: -1, LoadPct: -1, DoorZone: true}
	u, _ := r.lifts.Observe(m, r.clk.Now(), true)
	r.e.Consume(m, &u)
	for _, a := range r.e.Open() {
		if a.Lift == lift && a.Rescue {
			return a
		}
	}
	r.t.Fatalf("no rescue alert on %s: %+v", lift, r.e.Open())
	return nil
}

// delivered waits until the notification log has event of alert id
// delivered to receiver.
func (r *amRig) delivered(id int64, event, receiver string) {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		recs, err := r.db.Alerts().Notifications(context.Background(), id, 100)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, rec := range recs {
			if rec.Event == event && rec.Receiver == receiver {
				if rec.Outcome != "delivered" {
					r.t.Fatalf("%s of alert %d to %s: %+v\nalertmanager log:\n%s", event, id, receiver, rec, r.am.Log())
				}
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s of alert %d never delivered to %s: %+v", event, id, receiver, recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *amRig) query(matchers ...string) []testrig.AMAlert {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := r.am.Query(ctx, matchers...)
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

// TestAlertmanagerOneAlertPerIncident: a rescue that escalates is one
// Alertmanager alert for its whole life, and liftwatch's resolve resolves
// it.
// (Issue 17, finding 3: tier was a label, so the escalation made a second
// alert and Alertmanager resolved the tier-1 copy while the rescue was open
// at tier 2.)
func TestAlertmanagerOneAlertPerIncident(t *testing.T) {
	am := testrig.StartAlertmanager(t)
	fleet, _ := registry.Jiangwan()
	ix := registry.NewIndex(fleet)
	lift, _ := ix.Get("JW-0042")
	r := newAMRig(t, am, []notify.Receiver{{Name: "am", Type: "alertmanager", URL: am.URL}}, notify.Options{
		PublicURL: "https://liftwatch.example/",
		Place: func(id string) (notify.Place, bool) {
			l, ok := ix.Get(id)
			if !ok {
				return notify.Place{}, false
			}
			return notify.Place{Address: l.Address, EstateName: l.EstateName, Unit: l.Building + l.Unit}, true
		},
		DutyPhone: func(id string) string { return map[string]string{"JW-0042": "021-6541 2300"}[id] },
	})

	a := r.entrapment("JW-0042")
	r.delivered(a.ID, "opened", "am")
	r.clk.Advance(5 * time.Minute)
	r.e.Tick()
	r.delivered(a.ID, "escalated", "am")
	// liftwatch's minute resend, as the service runs it.
	r.d.ResendFiring(context.Background(), r.e.Open())

	got := r.query("lift=JW-0042")
	if len(got) != 1 {
		t.Fatalf("after the escalation Alertmanager holds %d alerts for the one incident, want 1: %+v", len(got), got)
	}
	id := strconv.FormatInt(a.ID, 10)
	wantLabels := map[string]string{"alertname": "liftwatch_entrapment", "alert_id": id, "lift": "JW-0042", "estate": lift.Estate, "severity": "critical"}
	if !maps.Equal(got[0].Labels, wantLabels) {
		t.Errorf("labels %v, want exactly %v (tier and state change during the incident: not labels)", got[0].Labels, wantLabels)
	}
	for k, v := range map[string]string{"tier": "2", "state": "open", "address": lift.Address, "unit": lift.Building + lift.Unit,
		"estate_name": lift.EstateName, "duty_phone": "021-6541 2300"} {
		if got[0].Annotations[k] != v || v == "" {
			t.Errorf("annotation %s = %q, want %q (all: %v)", k, got[0].Annotations[k], v, got[0].Annotations)
		}
	}
	if want := "https://liftwatch.example/lifts/JW-0042?alert=" + id; got[0].GeneratorURL != want {
		t.Errorf("generatorURL %q, want %q", got[0].GeneratorURL, want)
	}
	if !got[0].EndsAt.After(time.Now()) || got[0].Status.State != "active" {
		t.Errorf("the rescue is open, yet Alertmanager has it ending at %v (%s)", got[0].EndsAt, got[0].Status.State)
	}

	// The minute resend takes its list of open alerts just before the
	// rescue is resolved, and posts it after the resolve went out.
	stale := r.e.Open()
	for _, step := range []func(int64, alerts.Action) (*alerts.Alert, error){r.e.Acknowledge, r.e.Dispatch, r.e.Arrive, r.e.Resolve} {
		if _, err := step(a.ID, alerts.Action{Actor: "wang", To: "station 3", Note: "out", PassengersReleased: true}); err != nil {
			t.Fatal(err)
		}
	}
	r.delivered(a.ID, "resolved", "am")
	// The terminal still reports its entrapment fault: the resolve leaves
	// an entrapment_still_reported alert on the lift (docs/alerts.md), its
	// own Alertmanager alert; the rescue's is resolved.
	if got := r.query("lift=JW-0042", "alert_id="+id); len(got) != 0 {
		t.Fatalf("after liftwatch resolved the rescue Alertmanager still shows %d active: %+v", len(got), got)
	}
	if got := r.query("lift=JW-0042", "alertname=liftwatch_entrapment_still_reported"); len(got) != 1 {
		t.Fatalf("the condition the terminal still reports: %d Alertmanager alerts, want 1: %+v", len(got), got)
	}
	r.d.ResendFiring(context.Background(), stale)
	if got := r.query("lift=JW-0042", "alert_id="+id); len(got) != 0 {
		t.Fatalf("a resend of a list taken before the resolve made the resolved rescue fire again: %+v", got)
	}

}

// TestAlertmanagerGetsNoSupervisionByDefault: supervision notices (29
// "contract expiring" in the trial) are the manager's paperwork, not
// incidents: an alertmanager receiver does not get them unless its types
// name them.
func TestAlertmanagerGetsNoSupervisionByDefault(t *testing.T) {
	am := testrig.StartAlertmanager(t)
	r := newAMRig(t, am, []notify.Receiver{{Name: "am", Type: "alertmanager", URL: am.URL},
		{Name: "am-notices", Type: "alertmanager", URL: am.URL, Types: []string{"supervision."}}}, notify.Options{})
	// A supervision notice, then an entrapment on another lift: the
	// receiver's one worker sends in order, so once the entrapment is
	// delivered the notice would have been too.
	n, _, err := r.e.Supervise(alerts.Supervision{Key: "contract-1", Kind: "contract_expiring", Lift: "JW-0001", Manager: "li", Summary: "contract ends"})
	if err != nil {
		t.Fatal(err)
	}
	b := r.entrapment("JW-0001")
	r.delivered(b.ID, "opened", "am")
	r.delivered(n.ID, "opened", "am-notices") // the receiver that asked for them
	recs, _ := r.db.Alerts().Notifications(context.Background(), n.ID, 10)
	for _, rec := range recs {
		if rec.Receiver == "am" {
			t.Fatalf("a supervision notice was sent to the default alertmanager receiver: %+v", rec)
		}
	}
	if got := r.query("alert_id=" + strconv.FormatInt(n.ID, 10)); len(got) != 1 || got[0].Labels["alertname"] != "liftwatch_supervision_contract_expiring" {
		t.Fatalf("the notice, asked for with types [supervision.]: Alertmanager holds %+v", got)
	}
	if got := r.query("alert_id=" + strconv.FormatInt(b.ID, 10)); len(got) != 1 {
		t.Fatalf("the entrapment: Alertmanager holds %+v", got)
	}
	if rs := r.d.Recipients(n); len(rs) != 1 || rs[0] != "am-notices" {
		t.Errorf("recipients of the notice %v, want [am-notices]", rs)
	}
}
