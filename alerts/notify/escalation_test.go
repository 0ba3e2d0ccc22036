package notify_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// escalate wires engine and dispatcher as the service does (real SQLite,
// fake clock), raises an entrapment on JW-0042 and lets it go unanswered
// past ack_within; it returns the alert as stored once want(history) holds.
func escalate(t *testing.T, recv []notify.Receiver, want func([]alerts.Event) bool) *alerts.Alert {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "e.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fleet, _ := registry.Jiangwan()
	ix := registry.NewIndex(fleet)
	clk := clock.NewFake(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var e *alerts.Engine
	lifts := liftstate.New(ix, liftstate.Options{})
	d, err := notify.New(recv, notify.Options{Log: db.Alerts(), Backoff: 10 * time.Millisecond, Logger: quiet, Clock: clk.Now,
		OnResult: func(r notify.Record) {
			e.RecordDelivery(alerts.Delivery{AlertID: r.AlertID, Event: r.Event, Receiver: r.Receiver, Outcome: r.Outcome, Attempts: r.Attempts, Error: r.Error})
		}})
	if err != nil {
		t.Fatal(err)
	}
	e, err = alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: db.Alerts(),
		Clock: clk.Now, Logger: quiet, Estates: ix.Estate, Recipients: d.Recipients, Lifts: lifts})
	if err != nil {
		t.Fatal(err)
	}
	e.Listen(d.Handle)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	m := &telemetry.Message{Kind: telemetry.KindFault, Lift: "JW-0042", Boot: 1, Seq: 1, TS: clk.Now().UnixMilli(),
		Code: "entrapment", BatteryPct: -1, LoadPct: -1, DoorZone: true}
	u, _ := lifts.Observe(m, clk.Now(), true)
	e.Consume(m, &u)
	open := e.Open()
	if len(open) != 1 || !open[0].Rescue {
		t.Fatalf("want one rescue alert, got %+v", open)
	}
	clk.Advance(5 * time.Minute)
	e.Tick()
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, err := db.Alerts().Alert(context.Background(), open[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Tier == 2 && want(a.History) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("history never as wanted: %+v", a.History)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func find(h []alerts.Event, action, sub string) *alerts.Event {
	for i := range h {
		if h[i].Action == action && strings.Contains(h[i].Note, sub) {
			return &h[i]
		}
	}
	return nil
}

func TestEscalationWithNoReceiverSaysNobodyWasNotified(t *testing.T) {
	a := escalate(t, nil, func(h []alerts.Event) bool { return find(h, "escalated", "") != nil })
	ev := find(a.History, "escalated", "")
	if !strings.Contains(ev.Note, "no receiver configured for this tier: nobody was notified") || strings.Contains(ev.Note, "alerted") {
		t.Fatalf("escalation note %q must say nobody was notified, and claim no one was alerted", ev.Note)
	}
}

func TestEscalationNoteNamesReceiversAndRecordsFailures(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	recv := []notify.Receiver{
		{Name: "maintainer", URL: ok.URL, Tier: 1},
		{Name: "duty-desk", URL: down.URL, Tier: 2, MaxAttempts: 2},
		{Name: "other-estate", URL: ok.URL, Tier: 1, Estates: []string{"nowhere"}},
	}
	a := escalate(t, recv, func(h []alerts.Event) bool {
		return find(h, "notify_failed", "escalated NOT delivered to duty-desk") != nil && find(h, "notified", "escalated delivered to maintainer") != nil
	})
	ev := find(a.History, "escalated", "")
	if !strings.Contains(ev.Note, "sending to maintainer, duty-desk") || strings.Contains(ev.Note, "other-estate") || strings.Contains(ev.Note, "nobody") {
		t.Fatalf("escalation note %q must name exactly the receivers routed to", ev.Note)
	}
	failed := find(a.History, "notify_failed", "duty-desk")
	if !strings.Contains(failed.Note, "after 2 attempts") || !strings.Contains(failed.Note, "503") {
		t.Fatalf("failure note %q must give attempts and the reason", failed.Note)
	}
	if find(a.History, "notified", "opened delivered to maintainer") == nil {
		t.Fatalf("the opening's delivery is not on the alert: %+v", a.History)
	}
}
