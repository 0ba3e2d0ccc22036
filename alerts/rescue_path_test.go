package alerts_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/telemetry"
)

// lastEvent is the newest change of alert id with the action, or nil.
func (r *rig) lastEvent(id int64, action string) *alerts.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.changes) - 1; i >= 0; i-- {
		if c := r.changes[i]; c.Alert.ID == id && c.Event.Action == action {
			return &c
		}
	}
	return nil
}

func (r *rig) silencedFault(lift, code string, sil alerts.Silence) (*alerts.Alert, alerts.Silence) {
	r.t.Helper()
	sil, err := r.e.AddSilence(context.Background(), sil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.consume(msg(lift, telemetry.KindFault, 1, r.clk.Now(), func(m *telemetry.Message) { m.Code = code }))
	a := r.one(lift, alerts.TypeFaultPrefix+code)
	if a.Suppressed != fmt.Sprintf("silence:%d", sil.ID) {
		r.t.Fatalf("suppressed=%q, want silence:%d", a.Suppressed, sil.ID)
	}
	return a, sil
}

func TestDeletedSilenceReleasesItsAlerts(t *testing.T) {
	r := newRig(t)
	a, sil := r.silencedFault("JW-0001", "runtime_limiter", alerts.Silence{Lift: "JW-0001", StartsAt: t0, EndsAt: t0.Add(2 * time.Hour),
		Reason: "lift refurbishment", CreatedBy: "manager Zhou"})
	r.advance(time.Minute)
	if err := r.e.DeleteSilence(context.Background(), sil.ID); err != nil {
		t.Fatal(err)
	}
	now := r.clk.Now()
	got := r.one("JW-0001", alerts.TypeFaultPrefix+"runtime_limiter")
	if got.Suppressed != "" {
		t.Fatalf("after deleting the silence: suppressed=%q", got.Suppressed)
	}
	if !got.LastNotified.Equal(now) {
		t.Fatalf("last_notified %v, want now %v (clocks run from going live)", got.LastNotified, now)
	}
	c := r.lastEvent(a.ID, "unsilenced")
	if c == nil {
		t.Fatal("listeners got no unsilenced change")
	}
	if c.Alert.Suppressed != "" || !strings.Contains(c.Event.Note, fmt.Sprintf("silence %d ended", sil.ID)) || !strings.Contains(c.Event.Note, "alert is live") {
		t.Fatalf("change: suppressed=%q note=%q", c.Alert.Suppressed, c.Event.Note)
	}
	if live, _ := r.e.Get(a.ID); live.Suppressed != "" {
		t.Fatalf("engine still holds suppressed=%q", live.Suppressed)
	}
	r.advance(time.Minute)
	if n := r.actions(a.ID, "unsilenced"); n != 1 {
		t.Fatalf("unsilenced %d times, want 1", n)
	}
}

func TestExpiredSilenceReleasesItsAlertsUnlessAnotherHolds(t *testing.T) {
	r := newRig(t)
	estate, _ := r.fleet.Estate("JW-0001")
	a, first := r.silencedFault("JW-0001", "runtime_limiter", alerts.Silence{Lift: "JW-0001", StartsAt: t0, EndsAt: t0.Add(10 * time.Minute),
		Reason: "lift refurbishment", CreatedBy: "manager Zhou"})
	second, err := r.e.AddSilence(context.Background(), alerts.Silence{Estate: estate, StartsAt: t0, EndsAt: t0.Add(20 * time.Minute),
		Reason: "estate power work", CreatedBy: "manager Zhou"})
	if err != nil {
		t.Fatal(err)
	}
	r.advance(10*time.Minute - time.Second)
	if got := r.one("JW-0001", alerts.TypeFaultPrefix+"runtime_limiter").Suppressed; got != fmt.Sprintf("silence:%d", first.ID) {
		t.Fatalf("before the first silence ends: suppressed=%q", got)
	}
	r.advance(time.Second)
	if got := r.one("JW-0001", alerts.TypeFaultPrefix+"runtime_limiter").Suppressed; got != fmt.Sprintf("silence:%d", second.ID) {
		t.Fatalf("first silence ended, second holds: suppressed=%q", got)
	}
	r.advance(10*time.Minute - time.Second)
	if r.one("JW-0001", alerts.TypeFaultPrefix+"runtime_limiter").Suppressed == "" {
		t.Fatal("live before the second silence ended")
	}
	r.advance(time.Second)
	got := r.one("JW-0001", alerts.TypeFaultPrefix+"runtime_limiter")
	if got.Suppressed != "" || !got.LastNotified.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("after both silences: suppressed=%q last_notified=%v", got.Suppressed, got.LastNotified)
	}
	c := r.lastEvent(a.ID, "unsilenced")
	if c == nil || !strings.Contains(c.Event.Note, fmt.Sprintf("silence %d ended: alert is live", second.ID)) {
		t.Fatalf("last unsilenced change: %+v", c)
	}
	if n := r.actions(a.ID, "unsilenced"); n != 2 {
		t.Fatalf("unsilenced %d times, want 2 (still suppressed, then live)", n)
	}
}

func TestRenotifyNoteSaysWhoWasTold(t *testing.T) {
	for _, tc := range []struct {
		name string
		to   []string
		note string
	}{
		{"no receiver", nil, "no receiver configured for this tier: nobody was notified"},
		{"receivers", []string{"duty-desk", "sms-zhou"}, "sending to duty-desk, sms-zhou"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.recipients = func(*alerts.Alert) []string { return tc.to }
			r.crash() // restart with the recipients configured
			r.consume(msg("JW-0042", telemetry.KindFault, 1, r.clk.Now(), func(m *telemetry.Message) { m.Code = "overspeed" }))
			a := r.one("JW-0042", alerts.TypeFaultPrefix+"overspeed")
			opened := a.LastNotified
			r.advance(alerts.DefaultPolicy().Renotify + time.Second)
			c := r.lastEvent(a.ID, "renotified")
			if c == nil || !strings.Contains(c.Event.Note, tc.note) {
				t.Fatalf("renotified change %+v, want note with %q", c, tc.note)
			}
			got := r.one("JW-0042", alerts.TypeFaultPrefix+"overspeed")
			if tc.to == nil && !got.LastNotified.Equal(opened) {
				t.Fatalf("nobody told, yet last_notified moved %v -> %v", opened, got.LastNotified)
			}
			if tc.to != nil && !got.LastNotified.Equal(c.Event.At) {
				t.Fatalf("last_notified %v, want the renotification %v", got.LastNotified, c.Event.At)
			}
			if n := r.actions(a.ID, "renotified"); n != 1 {
				t.Fatalf("renotified %d times in one period, want 1", n)
			}
		})
	}
}
