package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
)

type noStates struct{}

func (noStates) Get(string) (liftstate.Lift, bool) { return liftstate.Lift{}, false }

type discardSink struct{}

func (discardSink) Send(context.Context, *simulator.Out) error { return nil }

// TestDemoRoutesFollowAPIConventions: the demo's endpoints, served in
// process through the API's handler as the demo does, answer like the API:
// errors in the envelope naming the parameter at fault, 405 with Allow for a
// wrong method, 404 (no redirect) for an unclean path.
func TestDemoRoutesFollowAPIConventions(t *testing.T) {
	lifts, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	srv := api.New(api.Deps{Lifts: registry.NewIndex(lifts), States: noStates{}, DeadLetters: ingest.NewDeadLetters(1),
		Gatherer: reg, Registerer: reg})
	ds := &demoSim{ready: make(chan struct{}), ended: make(chan struct{})}
	ds.routes(srv)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	check := func(what string, resp *http.Response, b []byte, status int, field, says string) {
		t.Helper()
		var e struct {
			Error map[string]string `json:"error"`
		}
		if resp.StatusCode != status || json.Unmarshal(b, &e) != nil || e.Error["code"] == "" ||
			e.Error["field"] != field || !strings.Contains(e.Error["message"], says) {
			t.Errorf("%s: %d %s; want %d in the envelope, field %q, saying %q", what, resp.StatusCode, b, status, field, says)
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			t.Errorf("%s: redirect to %s", what, loc)
		}
	}

	// Before the simulator runs: the parameters are still checked first.
	resp, b := do("POST", "/demo/trigger")
	check("no lift", resp, b, 400, "lift", "lift is required")
	resp, b = do("POST", "/demo/trigger?lift=JW-0042")
	check("not running", resp, b, 503, "", "not running yet")
	if resp, b := do("GET", "/demo/simulator"); resp.StatusCode != 200 || !strings.Contains(string(b), `"running": false`) {
		t.Errorf("status before start: %d %s", resp.StatusCode, b)
	}

	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	sim, err := simulator.New(simulator.Config{Lifts: lifts, Seed: 1, Speed: 1, Start: t0, Now: func() time.Time { return t0 },
		Rates: simulator.DefaultRates()}, discardSink{})
	if err != nil {
		t.Fatal(err)
	}
	ds.start(sim, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		field, says  string
	}{
		{"POST", "/demo/trigger?lift=JW-9999&kind=entrapment", 404, "lift", `"JW-9999"`},
		{"POST", "/demo/trigger?lift=&kind=entrapment", 400, "lift", "lift is required"},
		{"POST", "/demo/trigger?lift=JW-0042&kind=fire", 400, "kind", `"fire"`},
		{"POST", "/demo/trigger?lift=JW-0042&colour=red", 400, "colour", "unknown query parameter"},
		{"POST", "/demo/trigger?lift=JW-0042&lift=JW-0007", 400, "lift", "give it once"},
		{"GET", "/demo/trigger?lift=JW-0042", 405, "", "allowed: POST"},
		{"POST", "/demo/simulator", 405, "", "allowed: GET"},
		{"POST", "//demo/trigger?lift=JW-0042", 404, "", "no such endpoint"},
		{"POST", "/demo/trigger/?lift=JW-0042", 404, "", "no such endpoint"},
		{"GET", "//api/v1/lifts", 404, "", "no such endpoint"},
	} {
		resp, b := do(tc.method, tc.path)
		check(tc.method+" "+tc.path, resp, b, tc.status, tc.field, tc.says)
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow", tc.method, tc.path)
		}
	}
}
