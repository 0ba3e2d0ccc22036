package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

type fakeStates map[string]ingest.LiftState

func (f fakeStates) Get(id string) (ingest.LiftState, bool) { s, ok := f[id]; return s, ok }

type fakeHistory struct{ asked string }

func (f *fakeHistory) Recent(_ context.Context, lift, kind string, limit int) ([]store.Point, error) {
	f.asked = lift + "/" + kind
	return []store.Point{{Kind: "trip", TimeNS: 1, Line: "x"}}, nil
}

func newTestServer(t *testing.T, hist History, ready map[string]Check) (*httptest.Server, *prometheus.Registry) {
	t.Helper()
	lifts := registry.NewIndex(registry.Generate(1)[:5])
	seen := time.Unix(1790000000, 0)
	st := &telemetry.Message{Kind: telemetry.KindStatus, TS: 1790000000000, Mode: telemetry.ModeInspection, Floor: 3,
		Occupied: true, Trips: 10, Has: telemetry.FieldBattery, BatteryPct: 55}
	states := fakeStates{"JW-0001": {Lift: "JW-0001", Online: true, LastSeen: &seen, Status: st, Gaps: 2}}
	dl := ingest.NewDeadLetters(10)
	dl.Add(seen, "lifts/X/alarm", []byte("{bad"), &telemetry.DecodeError{Reason: telemetry.ReasonMalformed, Msg: "x"})
	dl.Add(seen, "lifts/ZZ/alarm", []byte("{}"), &telemetry.DecodeError{Reason: telemetry.ReasonUnknownLift, Msg: "y"})
	reg := prometheus.NewRegistry()
	s := New(Deps{Lifts: lifts, States: states, DeadLetters: dl, History: hist, Ready: ready, Gatherer: reg, Registerer: reg})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv, reg
}

func get(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return resp.StatusCode
}

func TestLifts(t *testing.T) {
	srv, _ := newTestServer(t, nil, nil)
	var all []Lift
	if code := get(t, srv.URL+"/api/v1/lifts", &all); code != 200 || len(all) != 5 {
		t.Fatalf("list: %d, %d lifts", code, len(all))
	}
	var online []Lift
	get(t, srv.URL+"/api/v1/lifts?online=true", &online)
	if len(online) != 1 || online[0].ID != "JW-0001" || online[0].Status == nil || online[0].Status.Mode != "inspection" ||
		*online[0].Status.BatteryPct != 55 || online[0].Gaps != 2 {
		t.Fatalf("online filter/view wrong: %+v", online)
	}
	var one Lift
	if code := get(t, srv.URL+"/api/v1/lifts/JW-0002", &one); code != 200 || one.Online || one.Status != nil {
		t.Fatalf("never-seen lift: %d %+v", code, one)
	}
	var e apiError
	for url, want := range map[string]int{
		"/api/v1/lifts?online=maybe":       400,
		"/api/v1/lifts?colour=red":         400,
		"/api/v1/lifts/NOPE":               404,
		"/api/v1/lifts/JW-0001/history":    501,
		"/api/v1/deadletters?reason=bogus": 400,
		"/api/v1/deadletters?limit=0":      400,
		"/api/v1/nothing":                  404,
	} {
		if code := get(t, srv.URL+url, &e); code != want || e.Error == "" {
			t.Errorf("%s: %d %q, want %d with an error message", url, code, e.Error, want)
		}
	}
}

func TestHistoryAndDeadLetters(t *testing.T) {
	h := &fakeHistory{}
	srv, reg := newTestServer(t, h, nil)
	var pts []store.Point
	if code := get(t, srv.URL+"/api/v1/lifts/JW-0001/history?kind=trip&limit=5", &pts); code != 200 || len(pts) != 1 || h.asked != "JW-0001/trip" {
		t.Fatalf("history: %d %v %q", code, pts, h.asked)
	}
	var e apiError
	if code := get(t, srv.URL+"/api/v1/lifts/JW-0001/history?kind=bogus", &e); code != 400 {
		t.Fatal("bad kind accepted")
	}
	var dls []ingest.DeadLetter
	get(t, srv.URL+"/api/v1/deadletters", &dls)
	if len(dls) != 2 || dls[0].Reason != telemetry.ReasonUnknownLift {
		t.Fatalf("dead letters newest first: %+v", dls)
	}
	get(t, srv.URL+"/api/v1/deadletters?reason=malformed_json", &dls)
	if len(dls) != 1 || dls[0].Excerpt != "{bad" {
		t.Fatalf("reason filter: %+v", dls)
	}
	resp, _ := http.Get(srv.URL + "/metrics")
	b := new(strings.Builder)
	buf := make([]byte, 1<<16)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	resp.Body.Close()
	if !strings.Contains(b.String(), `liftwatch_http_requests_total{code="400",route="GET /api/v1/lifts/{id}/history"} 1`) {
		t.Fatalf("request metric missing:\n%s", b.String())
	}
	_ = reg
}

func TestReadiness(t *testing.T) {
	srv, _ := newTestServer(t, nil, map[string]Check{
		"broker": func(context.Context) error { return errors.New("not connected to tcp://x") },
		"store":  func(context.Context) error { return nil },
	})
	var out map[string]string
	if code := get(t, srv.URL+"/readyz", &out); code != 503 || out["broker"] != "not connected to tcp://x" || out["store"] != "ok" {
		t.Fatalf("readyz: %d %v", code, out)
	}
	if code := get(t, srv.URL+"/healthz", nil); code != 200 {
		t.Fatal("healthz")
	}
}

func TestReadinessListsDegradedChecksAndStays200(t *testing.T) {
	srv, _ := newTestServer(t, nil, map[string]Check{
		"notify": func(context.Context) error { return &DegradedError{Reason: "no receivers configured"} },
		"store":  func(context.Context) error { return nil },
	})
	var out map[string]string
	if code := get(t, srv.URL+"/readyz", &out); code != 200 || out["notify"] != "degraded: no receivers configured" || out["store"] != "ok" {
		t.Fatalf("readyz: %d %v", code, out)
	}
}
