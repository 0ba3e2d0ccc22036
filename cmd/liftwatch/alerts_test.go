package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
)

type server struct {
	cmd   *exec.Cmd
	base  string
	debug string // the debug listener's base URL
	out   *lockedBuffer
}

func startAlertServe(t *testing.T, broker *testrig.Mosquitto, data, alertsCfg string) *server {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	debug := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	s := &server{base: "http://" + addr, debug: "http://" + debug, out: &lockedBuffer{}}
	tokens.Store(s.base, adminToken(t, data))
	s.cmd = exec.Command(binary, "serve", "--data.dir", data, "--http.listen", addr, "--mqtt.broker", broker.URL,
		"--alerts.config", alertsCfg, "--debug.fake-clock", "--debug.listen", debug, "--log.level", "warn")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	itest.WaitUntil(t, time.Minute, "liftwatch ready", func() bool { code, _ := s.do("GET", "/readyz", ""); return code == 200 })
	return s
}

func (s *server) do(method, path, body string) (int, []byte) {
	resp, err := authDo(method, s.base, path, body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func doURL(method, url, body string) (int, []byte) {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (s *server) alert(t *testing.T, id int64) alerts.Alert {
	t.Helper()
	code, b := s.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), "")
	if code != 200 {
		t.Fatalf("get alert: %d %s", code, b)
	}
	var a alerts.Alert
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *server) clock(t *testing.T, q string) time.Time {
	t.Helper()
	code, b := doURL("POST", s.debug+"/debug/clock?"+q, "")
	if code != 200 {
		t.Fatalf("clock: %d %s", code, b)
	}
	var r struct{ Now time.Time }
	json.Unmarshal(b, &r)
	return r.Now
}

// TestRescueAcrossSIGKILL drives an entrapment through the real binary: the
// alert is raised from MQTT, streamed on SSE and sent to a webhook that fails
// then recovers; liftwatch is SIGKILLed 4 minutes in and restarted, and the
// escalation still comes at 5 minutes, once; the API's actions and 409s work
// through to a rescue confirmed on site.
func TestRescueAcrossSIGKILL(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	var hookCalls atomic.Int32
	var hookMu sync.Mutex
	var hookEvents []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notify.Payload
		json.Unmarshal(body, &p)
		// The maintenance sweep raises supervision warnings of its own
		// (contracts ending soon in the shipped register): this test
		// follows the rescue alone.
		if p.Alert == nil || !p.Alert.Rescue {
			return
		}
		if hookCalls.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable) // down at first
			return
		}
		if r.Header.Get("X-Liftwatch-Signature") != notify.Sign("hook-secret", r.Header.Get("X-Liftwatch-Timestamp"), body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		hookMu.Lock()
		hookEvents = append(hookEvents, p.Event)
		hookMu.Unlock()
	}))
	defer hook.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alerts.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("receivers:\n  - {name: maintainer, url: %q, secret: hook-secret}\n", hook.URL)), 0o644)
	data := filepath.Join(dir, "data")
	s := startAlertServe(t, broker, data, cfg)

	// Live stream.
	streamCtx, stopStream := context.WithCancel(context.Background())
	defer stopStream()
	var streamMu sync.Mutex
	var streamed []string
	token := adminToken(t, data)
	go func() {
		req, _ := http.NewRequestWithContext(streamCtx, "GET", s.base+"/api/v1/alerts/stream", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev alerts.StreamEvent
				json.Unmarshal([]byte(d), &ev)
				streamMu.Lock()
				streamed = append(streamed, ev.Event.Action)
				streamMu.Unlock()
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)

	// The terminal reports a trapped passenger.
	fleet, _ := registry.Jiangwan()
	sc, _ := simulator.ParseScenario([]byte(`
lifts: [JW-0042]
events:
  - {at: "00:00:20", lift: JW-0042, do: trap, variant: entrapment, floor: 3}
`))
	sink, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sim, _ := simulator.New(simulator.Config{Lifts: fleet, Seed: 2, Scenario: sc, Start: time.Now().Add(-5 * time.Minute)}, sink)
	sim.Run(context.Background())
	sink.Close()

	var id int64
	itest.WaitUntil(t, time.Minute, "entrapment alert", func() bool {
		code, b := s.do("GET", "/api/v1/alerts?open=true&type=entrapment", "")
		var list []alerts.Alert
		if code != 200 || json.Unmarshal(b, &list) != nil || len(list) == 0 {
			return false
		}
		id = list[0].ID
		return true
	})
	a := s.alert(t, id)
	if !a.Rescue || a.Tier != 1 || a.Lift != "JW-0042" {
		t.Fatalf("alert %+v", a)
	}
	itest.WaitUntil(t, time.Minute, "webhook delivered after failures", func() bool {
		code, b := s.do("GET", fmt.Sprintf("/api/v1/notifications?alert=%d", id), "")
		return code == 200 && strings.Contains(string(b), `"outcome": "delivered"`) && strings.Contains(string(b), `"attempts": 3`)
	})
	itest.WaitUntil(t, 10*time.Second, "opened on the stream", func() bool {
		streamMu.Lock()
		defer streamMu.Unlock()
		return len(streamed) > 0 && streamed[0] == "opened"
	})

	// Four minutes pass; then liftwatch is killed.
	s.clock(t, "set="+a.OpenedAt.Format(time.RFC3339Nano))
	now := s.clock(t, "advance=4m")
	time.Sleep(1500 * time.Millisecond) // a tick at 4 minutes: nothing due
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()

	s = startAlertServe(t, broker, data, cfg)
	s.clock(t, "set="+now.Format(time.RFC3339Nano))
	if got := s.alert(t, id); got.Tier != 1 || got.State != alerts.StateOpen {
		t.Fatalf("after restart: tier %d state %s", got.Tier, got.State)
	}
	s.clock(t, "advance=61s")
	itest.WaitUntil(t, 30*time.Second, "tier 2 at 5 minutes", func() bool { return s.alert(t, id).Tier == 2 })

	// People act; the actor is the signed-in user (test-admin).
	if code, b := s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", id), `{"note":"duty officer Li"}`); code != 200 || !strings.Contains(string(b), `"acknowledged_by": "test-admin"`) {
		t.Fatalf("acknowledge: %d %s", code, b)
	}
	code, b := s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", id), `{"note":"duty officer Li"}`)
	if code != 409 || !strings.Contains(string(b), `"state": "acknowledged"`) {
		t.Fatalf("second acknowledge: %d %s", code, b)
	}
	if code, b := s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/acknowledge", id), `{"note":`); code != 400 {
		t.Fatalf("bad JSON: %d %s", code, b)
	}
	if code, _ := s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/teleport", id), `{"note":"x"}`); code != 404 {
		t.Fatalf("unknown action: %d", code)
	}
	s.clock(t, "advance=25m")
	itest.WaitUntil(t, 30*time.Second, "tier 3 at 30 minutes", func() bool { return s.alert(t, id).Tier == 3 })
	for _, step := range []struct{ action, body string }{
		{"dispatch", `{"to":"Hongkou rescue station"}`},
		{"arrive", `{}`},
		{"resolve", `{"note":"one passenger released at floor 3","passengers_released":true}`},
	} {
		if code, b := s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/%s", id, step.action), step.body); code != 200 {
			t.Fatalf("%s: %d %s", step.action, code, b)
		}
	}
	code, b = s.do("POST", fmt.Sprintf("/api/v1/alerts/%d/comment", id), `{"note":"y"}`)
	if code != 409 || !strings.Contains(string(b), `"state": "resolved"`) {
		t.Fatalf("action on resolved alert: %d %s", code, b)
	}
	final := s.alert(t, id)
	var esc []int
	for _, ev := range final.History {
		if ev.Action == "escalated" {
			esc = append(esc, ev.Tier)
		}
	}
	if len(esc) != 2 || esc[0] != 2 || esc[1] != 3 || final.State != alerts.StateResolved {
		t.Fatalf("escalations %v, state %s", esc, final.State)
	}
	month := final.OpenedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01")
	code, b = s.do("GET", "/api/v1/reports/rescue?estate=yixian&month="+month, "")
	var rep alerts.RescueReport
	if code != 200 || json.Unmarshal(b, &rep) != nil || rep.Entrapments != 1 || rep.Arrived != 1 || rep.ShareWithin30 != 0 {
		t.Fatalf("report %d %s", code, b)
	}
	itest.WaitUntil(t, 30*time.Second, "webhook saw the rescue through", func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return strings.Contains(strings.Join(hookEvents, ","), "resolved")
	})
	s.cmd.Process.Signal(syscall.SIGTERM)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, s.out)
	}
}
