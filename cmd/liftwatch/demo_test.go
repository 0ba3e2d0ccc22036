package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

// TestDemoEndToEnd runs "liftwatch demo" as a user would, on free ports:
// the Jiangwan fleet is backfilled and goes live, every lift is online,
// history and metrics are served, and SIGTERM stops it cleanly.
func TestDemoEndToEnd(t *testing.T) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	brokerAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	var out lockedBuffer
	cmd := exec.Command(binary, "demo", "--http.listen", httpAddr, "--broker.listen", brokerAddr, "--sim.backfill", "2h", "--log.level", "warn")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	itest.WaitUntil(t, 2*time.Minute, "all 297 lifts online", func() bool {
		code, body := get("/api/v1/lifts?online=true")
		if code != 200 {
			return false
		}
		var lifts []map[string]any
		return json.Unmarshal([]byte(body), &lifts) == nil && len(lifts) == 297
	})
	if !strings.Contains(out.String(), "http://"+httpAddr+"/api/v1/lifts") {
		t.Fatalf("demo does not say where to look:\n%s", out.String())
	}
	itest.WaitUntil(t, 2*time.Minute, "trip history stored", func() bool {
		code, body := get("/api/v1/lifts/JW-0042/history?kind=trip&limit=3")
		return code == 200 && strings.Count(body, `"kind": "trip"`) == 3
	})
	code, metrics := get("/metrics")
	if code != 200 || !strings.Contains(metrics, "liftwatch_lifts_online 297") || !strings.Contains(metrics, `liftwatch_ingest_messages_received_total{kind="status"}`) {
		t.Fatalf("metrics: %d\n%.2000s", code, metrics)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatal("healthz")
	}
	if code, body := get("/readyz"); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo exit after SIGTERM: %v\n%s", err, out.String())
	}
}

func TestDemoPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, err := exec.Command(binary, "demo", "--broker.listen", l.Addr().String(),
		"--http.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "already in use") || !strings.Contains(string(out), "--broker.listen") {
		t.Fatalf("want a clear port-taken error, got %v:\n%s", err, out)
	}
}
