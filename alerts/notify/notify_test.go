package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

func change(id int64, action string, sev telemetry.Severity, tier int, estate string) alerts.Change {
	return alerts.Change{Alert: &alerts.Alert{ID: id, Lift: "JW-0042", Estate: estate, Type: alerts.TypeEntrapment, Severity: sev,
		State: alerts.StateOpen, Tier: tier, OpenedAt: time.Now()}, Event: alerts.Event{Action: action, Tier: tier}}
}

func setup(t *testing.T, recv []notify.Receiver) (*notify.Dispatcher, *store.DB, context.CancelFunc) {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d, err := notify.New(recv, notify.Options{Log: db.Alerts(), Backoff: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, db, cancel
}

func waitLog(t *testing.T, db *store.DB, n int) []notify.Record {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		recs, err := db.Alerts().Notifications(context.Background(), 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("notification log has %d records, want %d", len(recs), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWebhookFailsThenRecovers(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	var body []byte
	var sig, ts string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		body, _ = io.ReadAll(r.Body)
		sig, ts = r.Header.Get("X-Liftwatch-Signature"), r.Header.Get("X-Liftwatch-Timestamp")
		mu.Unlock()
	}))
	defer srv.Close()
	d, db, _ := setup(t, []notify.Receiver{{Name: "maintainer", URL: srv.URL, Secret: "s3cret"}})
	d.Handle(change(7, "opened", telemetry.SeverityCritical, 1, "yixian"))
	rec := waitLog(t, db, 1)[0]
	if rec.Outcome != "delivered" || rec.Attempts != 3 || rec.AlertID != 7 || rec.Receiver != "maintainer" {
		t.Fatalf("log %+v", rec)
	}
	mu.Lock()
	defer mu.Unlock()
	if sig != notify.Sign("s3cret", ts, body) || notify.Sign("other", ts, body) == sig {
		t.Fatal("signature does not verify")
	}
	var p notify.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Event != "opened" || p.Alert.ID != 7 || p.Severity != "critical" {
		t.Fatalf("payload %s", body)
	}
}

func TestRefusalIsNotRetriedAndSaysSo(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer srv.Close()
	d, db, _ := setup(t, []notify.Receiver{{Name: "strict", URL: srv.URL}})
	d.Handle(change(1, "opened", telemetry.SeverityMajor, 1, "yixian"))
	rec := waitLog(t, db, 1)[0]
	if rec.Outcome != "failed" || rec.Retryable || rec.Attempts != 1 || rec.StatusCode != 400 || calls.Load() != 1 {
		t.Fatalf("log %+v after %d calls", rec, calls.Load())
	}
}

func TestGiveUpAfterMaxAttemptsSaysRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer srv.Close()
	d, db, _ := setup(t, []notify.Receiver{{Name: "down", URL: srv.URL, MaxAttempts: 3}})
	d.Handle(change(1, "opened", telemetry.SeverityMajor, 1, "yixian"))
	rec := waitLog(t, db, 1)[0]
	if rec.Outcome != "failed" || !rec.Retryable || rec.Attempts != 3 || rec.StatusCode != 502 {
		t.Fatalf("log %+v", rec)
	}
}

func TestRoutingAndAHungReceiverDelaysNoOne(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	var got sync.Map
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.Payload
		json.NewDecoder(r.Body).Decode(&p)
		got.Store(r.URL.Path+"/"+p.Event, true)
	}))
	defer fast.Close()
	d, db, _ := setup(t, []notify.Receiver{
		{Name: "hung", URL: slow.URL, Timeout: time.Hour},
		{Name: "tier1-yixian", URL: fast.URL + "/t1", Estates: []string{"yixian"}},
		{Name: "tier2", URL: fast.URL + "/t2", Tier: 2, MinSeverity: "critical"},
	})
	d.Handle(change(1, "opened", telemetry.SeverityCritical, 1, "yixian"))
	d.Handle(change(2, "opened", telemetry.SeverityCritical, 1, "guyuan"))    // not tier1-yixian's estate
	d.Handle(change(1, "escalated", telemetry.SeverityCritical, 2, "yixian")) // now tier 2 gets it
	d.Handle(change(3, "opened", telemetry.SeverityMajor, 2, "yixian"))       // below tier2's min severity
	suppressed := change(4, "opened", telemetry.SeverityMajor, 1, "yixian")
	suppressed.Alert.Suppressed = "inspection"
	d.Handle(suppressed)
	d.Handle(change(1, "repeated", telemetry.SeverityCritical, 2, "yixian")) // repeats are not notified
	recs := waitLog(t, db, 4)
	time.Sleep(100 * time.Millisecond)
	recs, _ = db.Alerts().Notifications(context.Background(), 0, 100)
	byRecv := map[string]int{}
	for _, r := range recs {
		byRecv[r.Receiver]++
	}
	if byRecv["tier1-yixian"] != 3 || byRecv["tier2"] != 1 || byRecv["hung"] != 0 {
		t.Fatalf("deliveries %v (log %+v)", byRecv, recs)
	}
	if _, ok := got.Load("/t2/escalated"); !ok {
		t.Fatal("tier 2 receiver did not get the escalation")
	}
}

func TestReceiverValidation(t *testing.T) {
	for _, r := range []notify.Receiver{{URL: "http://x"}, {Name: "a", URL: "ftp://x"}, {Name: "a", URL: "http://x", Type: "sms"},
		{Name: "a", URL: "http://x", Tier: 4}, {Name: "a", URL: "http://x", MinSeverity: "loud"}} {
		if _, err := notify.New([]notify.Receiver{r}, notify.Options{}); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
	if _, err := notify.New([]notify.Receiver{{Name: "a", URL: "http://x"}, {Name: "a", URL: "http://y"}}, notify.Options{}); err == nil {
		t.Error("duplicate names accepted")
	}
}

// TestReceiverValidateReportsEveryProblem: every bad key of a receiver is
// named, not only the first; a negative max_attempts is refused (0 means
// the default) instead of quietly becoming 6.
func TestReceiverValidateReportsEveryProblem(t *testing.T) {
	r := notify.Receiver{Name: "desk", URL: "http://x/h", Tier: 7, MinSeverity: "huge", MaxAttempts: -1, Timeout: -time.Second}
	err := r.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`receiver desk: min_severity "huge": want warning, minor, major or critical`,
		"receiver desk: tier 7: want 1, 2 or 3", "receiver desk: max_attempts -1: must not be negative",
		"receiver desk: timeout -1s: must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	ok := notify.Receiver{Name: "desk", URL: "http://x/h"}
	if err := ok.Validate(); err != nil || ok.MaxAttempts != 6 || ok.Timeout != 5*time.Second || ok.Tier != 1 {
		t.Errorf("defaults: %v %+v", err, ok)
	}
}

func TestAlertmanagerSink(t *testing.T) {
	var mu sync.Mutex
	var posts [][]map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" {
			w.WriteHeader(404)
			return
		}
		var b []map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		posts = append(posts, b)
		mu.Unlock()
	}))
	defer srv.Close()
	d, db, _ := setup(t, []notify.Receiver{{Name: "am", Type: "alertmanager", URL: srv.URL}})
	c := change(9, "opened", telemetry.SeverityCritical, 1, "yixian")
	d.Handle(c)
	waitLog(t, db, 1)
	d.ResendFiring(context.Background(), []*alerts.Alert{c.Alert})
	mu.Lock()
	defer mu.Unlock()
	if len(posts) != 2 {
		t.Fatalf("%d posts", len(posts))
	}
	labels := posts[0][0]["labels"].(map[string]any)
	if labels["alertname"] != "liftwatch_entrapment" || labels["lift"] != "JW-0042" || labels["severity"] != "critical" {
		t.Fatalf("labels %v", labels)
	}
}

// A burst larger than a receiver's queue drops notifications, and every
// drop is counted by receiver and outcome (as well as logged and recorded):
// the first sweep of a 10,000-lift register raised about 2,000 supervision
// alerts at once, and half of their notifications were dropped with no
// metric to show it.
func TestDroppedNotificationsAreCounted(t *testing.T) {
	got := make(chan struct{}, 10)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- struct{}{}
		<-release
	}))
	defer srv.Close()
	defer close(release)
	reg := prometheus.NewRegistry()
	d, err := notify.New([]notify.Receiver{{Name: "maintainer", URL: srv.URL}}, notify.Options{QueueSize: 1, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	d.Handle(change(1, "opened", telemetry.SeverityCritical, 1, "yixian"))
	<-got                                                                  // the worker is busy with the first
	d.Handle(change(2, "opened", telemetry.SeverityCritical, 1, "yixian")) // queued
	d.Handle(change(3, "opened", telemetry.SeverityCritical, 1, "yixian")) // dropped
	d.Handle(change(4, "opened", telemetry.SeverityCritical, 1, "yixian")) // dropped
	c, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	dropped := 0.0
	for _, mf := range c {
		if mf.GetName() != "liftwatch_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["receiver"] == "maintainer" && labels["outcome"] == "dropped" {
				dropped = m.GetCounter().GetValue()
			}
		}
	}
	if dropped != 2 {
		t.Errorf("liftwatch_notifications_total{receiver=maintainer,outcome=dropped} = %v, want 2", dropped)
	}
}

// TestReceiverTypes: types and exclude_types choose the alert types a
// receiver is sent, exactly or by prefix; an alertmanager receiver gets no
// supervision notices unless its types name them, a webhook does.
func TestReceiverTypes(t *testing.T) {
	d, err := notify.New([]notify.Receiver{
		{Name: "hook", URL: "http://x/h"},
		{Name: "am", Type: "alertmanager", URL: "http://am"},
		{Name: "am-all", Type: "alertmanager", URL: "http://am", Types: []string{"entrapment", "fault.", "supervision."}},
		{Name: "no-faults", URL: "http://x/h", ExcludeTypes: []string{"fault.", "supervision.contract_expiring"}},
		{Name: "overspeed", URL: "http://x/h", Types: []string{"fault.overspeed"}},
	}, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for typ, want := range map[string]string{
		alerts.TypeEntrapment:            "hook am am-all no-faults",
		"fault.overspeed":                "hook am am-all overspeed",
		"fault.door_lock":                "hook am am-all",
		"repeated_fault.door_lock":       "hook am no-faults",
		"supervision.contract_expiring":  "hook am-all",
		"supervision.work_order_overdue": "hook am-all no-faults",
		alerts.TypeOffline:               "hook am no-faults",
	} {
		a := &alerts.Alert{ID: 1, Lift: "JW-0042", Estate: "yixian", Type: typ, Severity: telemetry.SeverityCritical, Tier: 1}
		if got := strings.Join(d.Recipients(a), " "); got != want {
			t.Errorf("%s goes to %q, want %q", typ, got, want)
		}
	}
	r := notify.Receiver{Name: "am", Type: "alertmanager", URL: "http://am", Types: []string{"entrapmnt", "fault.", "fault.a.b"},
		ExcludeTypes: []string{"supervision"}, PublicURL: "liftwatch.example"}
	err = r.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"receiver am: types[entrapmnt]: not an alert type", "receiver am: types[fault.a.b]: not an alert type",
		"receiver am: exclude_types[supervision]: not an alert type", `receiver am: public_url "liftwatch.example"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "types[fault.]") {
		t.Errorf("the prefix fault. refused: %v", err)
	}
}
