package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/telemetry"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func testConfig(t *testing.T, broker string) Config {
	return Config{HTTP: HTTPConfig{Listen: "127.0.0.1:0"}, Data: DataConfig{Dir: t.TempDir()}, Store: StoreConfig{URL: testStoreURL(t)},
		Telemetry:   TelemetryConfig{Root: telemetry.DefaultRoot, MaxPayload: telemetry.DefaultMaxPayload, Horizon: telemetry.DefaultHorizon, MaxFuture: telemetry.DefaultMaxFuture},
		MQTT:        MQTTConfig{Options: mqttconn.Options{Broker: broker, MaxReconnect: 2 * time.Second}, ClientID: "lw-app-test"},
		Ingest:      IngestConfig{MaxUnacked: 1000, BatchPoints: 100, FlushEvery: 100 * time.Millisecond, SpoolMax: 64 << 20, OfflineAfter: time.Minute, ShutdownWait: time.Second, GapGrace: 30 * time.Second},
		Maintenance: DefaultConfig().Maintenance}
}

// start builds and runs the app; readyz returns the /readyz answer.
func start(t *testing.T, cfg Config) (logs *syncBuf, readyz func() (int, map[string]string)) {
	t.Helper()
	logs = &syncBuf{}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return logs, func() (int, map[string]string) {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
}

// TestReadyOnceSubscribedWithNotifyDegraded: without receivers liftwatch
// warns at start and /readyz lists notify as degraded, yet answers 200 once
// the subscription is made on a real Mosquitto.
func TestReadyOnceSubscribedWithNotifyDegraded(t *testing.T) {
	onEachStore(t, testReadyOnceSubscribedWithNotifyDegraded)
}

func testReadyOnceSubscribedWithNotifyDegraded(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	logs, readyz := start(t, testConfig(t, broker.URL))
	if !strings.Contains(logs.String(), "no notification receivers configured") {
		t.Fatalf("no warning at start:\n%s", logs)
	}
	itest.WaitUntil(t, time.Minute, "ready", func() bool { code, _ := readyz(); return code == 200 })
	_, out := readyz()
	if out["broker"] != "ok" || !strings.HasPrefix(out["notify"], "degraded: no receivers configured") {
		t.Fatalf("readyz %v", out)
	}
	if !strings.Contains(logs.String(), "msg=subscribed") {
		t.Fatalf("ready before the subscription was logged:\n%s", logs)
	}
}

// TestUnreachableBrokerIsLoggedWithReasonAndBackoff: nothing listens on the
// broker's port; every failed attempt is logged with its reason, the waits
// grow, and /readyz gives the reason too.
func TestUnreachableBrokerIsLoggedWithReasonAndBackoff(t *testing.T) {
	url := fmt.Sprintf("tcp://127.0.0.1:%d", testrig.FreePort(t))
	logs, readyz := start(t, testConfig(t, url))
	itest.WaitUntil(t, time.Minute, "three failed attempts logged", func() bool {
		return strings.Contains(logs.String(), "attempt=3")
	})
	out := logs.String()
	if n := strings.Count(out, `msg="cannot connect to the MQTT broker; retrying" component=ingest broker=`+url); n < 3 {
		t.Fatalf("%d failed attempts logged, want ≥ 3:\n%s", n, out)
	}
	if !strings.Contains(out, "connection refused") {
		t.Fatalf("reason not logged:\n%s", out)
	}
	for _, wait := range []string{"in=1s", "in=2s"} { // backoff: 1s, then doubled up to max-reconnect-interval
		if !strings.Contains(out, `msg="next connection attempt" component=ingest broker=`+url+" "+wait) {
			t.Fatalf("no wait of %s logged:\n%s", wait, out)
		}
	}
	code, ready := readyz()
	if code != 503 || !strings.Contains(ready["broker"], "not connected to "+url) || !strings.Contains(ready["broker"], "connection refused") {
		t.Fatalf("readyz %d %v", code, ready)
	}
}

// TestNewChecksSettingsBeforeCreatingAnything: a bad alerts file or register
// stops New before the data dir, database or spool exist, with every
// problem at once.
func TestNewChecksSettingsBeforeCreatingAnything(t *testing.T) {
	dir := t.TempDir()
	alertsFile := filepath.Join(dir, "alerts.yaml")
	os.WriteFile(alertsFile, []byte("polcy: {}\nreceivers:\n  - {name: desk, url: 'http://h/p', estates: [atlantis]}\n"), 0o644)
	cfg := testConfig(t, "tcp://127.0.0.1:1")
	cfg.Data.Dir = filepath.Join(dir, "data")
	cfg.Alerts.File = alertsFile
	var logs syncBuf
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ConfigError, got %v", err)
	}
	for _, want := range []string{"line 1: unknown key polcy", `line 3: receivers[0].estates: "atlantis" is not an estate`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, serr := os.Stat(cfg.Data.Dir); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("data dir created before the settings were checked (%v)", serr)
	}
	if logs.String() != "" {
		t.Errorf("logged before refusing the settings:\n%s", logs.String())
	}
	cfg.Alerts.File, cfg.Registry.File = "", filepath.Join(dir, "missing.json")
	if _, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil))); !errors.As(err, &ce) || !strings.Contains(err.Error(), "registry.file: ") {
		t.Fatalf("missing register: %v", err)
	}
	if _, serr := os.Stat(cfg.Data.Dir); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("data dir created before the register was read (%v)", serr)
	}
}

// TestHandleKeepsAPIConventions: routes added with Handle (the demo's) are
// served by the running app beside the API, and nothing on its address
// redirects: an unclean path is the API's JSON 404, a wrong method a 405
// with Allow.
func TestHandleKeepsAPIConventions(t *testing.T) {
	cfg := testConfig(t, fmt.Sprintf("tcp://127.0.0.1:%d", testrig.FreePort(t)))
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.Handle("POST /demo/x", api.Guard{Public: true}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/demo/x", 202},
		{"GET", "/demo/x", 405},
		{"GET", "//api/v1/lifts", 404},
		{"GET", "/api/v1/./lifts", 404},
		{"GET", "/api/v1/lifts/", 404},
		{"POST", "//demo/x", 404},
		{"POST", "/demo/x/", 404},
		{"GET", "/demo/nope", 404},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+a.HTTPAddr()+tc.path, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		decErr := json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Location") != "" {
			t.Errorf("%s %s: %d (Location %q), want %d", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.status)
		}
		if tc.status >= 400 && (decErr != nil || e.Error.Code == "" || e.Error.Message == "") {
			t.Errorf("%s %s: not the error envelope (%v)", tc.method, tc.path, decErr)
		}
		if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, resp.Header.Get("Allow"))
		}
	}
}

// TestTraceLiftMustBeInTheRegister: a typo in --debug.trace-lift is a bad
// setting (exit 2), not a trace that silently never appears.
func TestTraceLiftMustBeInTheRegister(t *testing.T) {
	cfg := testConfig(t, "tcp://127.0.0.1:1")
	cfg.Debug.TraceLift = "LW-NOPE"
	_, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), `debug.trace-lift "LW-NOPE": no such lift in the register`) {
		t.Fatalf("New: %v, want a ConfigError naming debug.trace-lift", err)
	}
}
