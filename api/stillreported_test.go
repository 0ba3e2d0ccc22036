package api

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// TestStillReportedLiftIsNeverNormal is the field trial's JW-0042 through
// the API: a rescue resolved on site (through the API) while the terminal
// still reports the entrapment and an occupied car stuck outside the door
// zone. Afterwards the lift's view says it reports a trapped passenger and
// counts the open entrapment_still_reported alert, which the open alert list
// shows with the pages' text code; once the terminal stops reporting, both go.
func TestStillReportedLiftIsNeverNormal(t *testing.T) {
	ctx := context.Background()
	fleet := testLifts()
	idx := registry.NewIndex(fleet)
	lift := fleet[0].ID
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(time.Date(2026, 11, 24, 10, 0, 0, 0, cst))
	states := liftstate.New(idx, liftstate.Options{})
	eng, err := alerts.New(ctx, alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Estates: idx.Estate, Lifts: states,
		Store: db.Alerts(), Clock: clk.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv := httptest.NewServer(New(Deps{Lifts: idx, States: states, Safety: eng, Gatherer: reg, Registerer: reg,
		Alerts: &AlertDeps{Engine: eng, Records: db.Alerts(), Stream: alerts.NewHub()}}).Handler())
	t.Cleanup(srv.Close)
	f := &fixture{srv: srv}

	seq := int64(0)
	send := func(k telemetry.Kind, set func(m *telemetry.Message)) {
		seq++
		m := &telemetry.Message{Kind: k, Lift: lift, Boot: 1, Seq: seq, TS: clk.Now().UnixMilli(), BatteryPct: -1, LoadPct: -1, DoorZone: true}
		set(m)
		u, _ := states.Observe(m, clk.Now(), true)
		eng.Consume(m, &u)
	}
	advance := func(d time.Duration) {
		for ; d > 0; d -= time.Second {
			clk.Advance(time.Second)
			eng.Tick()
		}
	}
	stuck := func(m *telemetry.Message) { m.Occupied, m.DoorZone, m.Floor = true, false, 3 }
	send(telemetry.KindStatus, stuck)
	send(telemetry.KindFault, func(m *telemetry.Message) { m.Code = telemetry.FaultEntrapment })
	advance(time.Minute)

	var open []AlertView
	f.get(t, "/api/v1/alerts?open=true&lift="+lift, &open)
	if len(open) != 1 || open[0].Type != alerts.TypeEntrapment {
		t.Fatalf("open alerts before the rescue: %+v", open)
	}
	id := strconv.FormatInt(open[0].ID, 10)
	for _, step := range []struct{ action, body string }{
		{"acknowledge", `{}`}, {"dispatch", `{"to":"technician Wang"}`}, {"arrive", `{}`},
		{"resolve", `{"note":"passengers out","passengers_released":true}`},
	} {
		if resp, b := f.do(t, "POST", "/api/v1/alerts/"+id+"/"+step.action, step.body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", step.action, resp.StatusCode, b)
		}
	}
	send(telemetry.KindStatus, stuck) // the terminal goes on reporting

	var l Lift
	f.get(t, "/api/v1/lifts/"+lift, &l)
	if !l.ReportsEntrapment || l.OpenAlerts != 1 || l.Status == nil || !l.Status.Occupied {
		t.Fatalf("lift after the resolve: reports_entrapment %v (%q), open_alerts %d: want it to report a trapped passenger with 1 open alert",
			l.ReportsEntrapment, l.ReportsEntrapmentWhy, l.OpenAlerts)
	}
	f.get(t, "/api/v1/alerts?open=true&lift="+lift, &open)
	if len(open) != 1 || open[0].Type != alerts.TypeStillReported || open[0].Severity != "major" || open[0].Text == nil ||
		open[0].Text.Code != "text.still_reported" || open[0].Text.Params["lift"] != lift {
		t.Fatalf("open alerts after the resolve: %+v", open)
	}

	// The terminal clears its fault; the car is emptied at a landing.
	send(telemetry.KindFault, func(m *telemetry.Message) { m.Code, m.State = telemetry.FaultEntrapment, telemetry.FaultCleared })
	f.get(t, "/api/v1/lifts/"+lift, &l)
	f.get(t, "/api/v1/alerts?open=true&lift="+lift, &open)
	if !l.ReportsEntrapment || len(open) != 1 || open[0].Text == nil || open[0].Text.Code != "text.still_reported_car" {
		t.Fatalf("fault cleared, the car still occupied and stuck: reports_entrapment %v, open %+v; want the car's text", l.ReportsEntrapment, open)
	}
	send(telemetry.KindStatus, func(m *telemetry.Message) { m.Occupied, m.Floor = false, 1 })
	f.get(t, "/api/v1/lifts/"+lift, &l)
	f.get(t, "/api/v1/alerts?open=true&lift="+lift, &open)
	if l.ReportsEntrapment || l.OpenAlerts != 0 || len(open) != 0 {
		t.Fatalf("after the terminal stopped reporting: reports_entrapment %v, open_alerts %d, open %+v", l.ReportsEntrapment, l.OpenAlerts, open)
	}
}

// TestTextCodesHaveLabels: every text code of the alert views has a label
// in both languages of the pages.
func TestTextCodesHaveLabels(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "web", "assets", "js", "i18n.js"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	zh, en := strings.Index(src, "\n  zh: {"), strings.Index(src, "\n  en: {")
	if zh < 0 || en < zh {
		t.Fatal("i18n.js: no zh and en sections")
	}
	for _, code := range TextCodes {
		if !strings.Contains(src[zh:en], "'"+code+"':") || !strings.Contains(src[en:], "'"+code+"':") {
			t.Errorf("text code %s has no label in both languages of web/assets/js/i18n.js", code)
		}
	}
}
