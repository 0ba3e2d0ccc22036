package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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
	return Config{HTTP: HTTPConfig{Listen: "127.0.0.1:0"}, Data: DataConfig{Dir: t.TempDir()},
		Telemetry: TelemetryConfig{Root: telemetry.DefaultRoot, MaxPayload: telemetry.DefaultMaxPayload, Horizon: telemetry.DefaultHorizon, MaxFuture: telemetry.DefaultMaxFuture},
		MQTT:      MQTTConfig{Options: mqttconn.Options{Broker: broker, MaxReconnect: 2 * time.Second}, ClientID: "lw-app-test"},
		Ingest:    IngestConfig{MaxUnacked: 1000, BatchPoints: 100, FlushEvery: 100 * time.Millisecond, SpoolMax: 64 << 20, OfflineAfter: time.Minute, ShutdownWait: time.Second, GapGrace: 30 * time.Second}}
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
