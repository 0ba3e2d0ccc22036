package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "liftwatch-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "liftwatch")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build liftwatch: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCLI(args []string, env ...string) (int, string, string) {
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		os.Setenv(k, v)
		defer os.Unsetenv(k)
	}
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIUsageAndErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  []string
		code int
		want string
	}{
		{[]string{"help"}, nil, 0, "Commands:"},
		{nil, nil, 2, "Usage: liftwatch <command>"},
		{[]string{"bogus"}, nil, 2, `unknown command "bogus"`},
		{[]string{"serve", "--help"}, nil, 0, "LIFTWATCH_<FLAG>"},
		{[]string{"demo", "--help"}, nil, 0, "-broker.listen"},
		{[]string{"sim", "--help"}, nil, 0, "-scenario"},
		{[]string{"serve", "--nope"}, nil, 2, "flag provided but not defined: -nope"},
		{[]string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`},
		{[]string{"serve"}, []string{"LIFTWATCH_OFFLINE_AFTER=soon"}, 2, "LIFTWATCH_OFFLINE_AFTER (flag --offline-after)"},
		{[]string{"serve", "--mqtt.broker", "ftp://x"}, nil, 2, `scheme "ftp" not supported`},
		{[]string{"serve", "--http.listen", "nope"}, nil, 2, `http.listen "nope": want HOST:PORT`},
		{[]string{"serve", "--influx.url", "http://x", "--influx.bucket", ""}, nil, 2, "influx.bucket is required"},
		{[]string{"serve", "--log.level", "loud"}, nil, 2, "log.level"},
		{[]string{"sim", "--speed", "-1", "--dry-run"}, nil, 2, "must not be negative"},
		{[]string{"sim", "--start", "yesterday", "--dry-run"}, nil, 2, "RFC 3339"},
		{[]string{"fleet", "--format", "xml"}, nil, 2, `format "xml"`},
	}
	for _, c := range cases {
		code, out, errs := runCLI(c.args, c.env...)
		if code != c.code || !strings.Contains(out+errs, c.want) {
			t.Errorf("liftwatch %v (env %v): exit %d, want %d with %q; got:\n%s%s", c.args, c.env, code, c.code, c.want, out, errs)
		}
	}
}

func TestEnvironmentSetsFlagsAndCommandLineWins(t *testing.T) {
	code, out, errs := runCLI([]string{"sim", "--dry-run", "--speed", "0", "--lifts", "2", "--backfill", "2m", "--stats-json"},
		"LIFTWATCH_SEED=7", "LIFTWATCH_LIFTS=50", "LIFTWATCH_TOPIC_ROOT=hongkou/lifts")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "hongkou/lifts/LW-000002/status ") || strings.Contains(out, "LW-000003") {
		t.Fatalf("env root not applied or --lifts 2 did not win over LIFTWATCH_LIFTS:\n%.500s", out)
	}
}

func TestFleetCommandMatchesShippedFile(t *testing.T) {
	code, out, errs := runCLI([]string{"fleet"})
	if code != 0 {
		t.Fatal(errs)
	}
	shipped, err := os.ReadFile("../../registry/fleets/jiangwan.json")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(shipped) {
		t.Fatal("liftwatch fleet output differs from registry/fleets/jiangwan.json")
	}
}

func TestSimScenarioDryRunIsReproducible(t *testing.T) {
	sc := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(sc, []byte(`
start: 2026-11-24T08:00:00+08:00
lifts: [JW-0042]
events:
  - {at: "00:00:30", lift: JW-0042, do: trap, variant: outside_door_zone, floor: 3}
  - {at: "00:12:00", lift: JW-0042, do: rescue}
`), 0o644)
	run := func() string {
		code, out, errs := runCLI([]string{"sim", "--dry-run", "--speed", "0", "--scenario", sc, "--seed", "3"})
		if code != 0 {
			t.Fatal(errs)
		}
		return out
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, `"code":"stopped_outside_door_zone","state":"active"`) {
		t.Fatalf("scenario output not reproducible or missing the event:\n%.800s", a)
	}
}

type proc struct {
	cmd  *exec.Cmd
	out  *lockedBuffer
	http string
}

func startServe(t *testing.T, broker *testrig.Mosquitto, influx *testrig.InfluxDB, dataDir string) *proc {
	t.Helper()
	port := testrig.FreePort(t)
	p := &proc{out: &lockedBuffer{}, http: fmt.Sprintf("127.0.0.1:%d", port)}
	p.cmd = exec.Command(binary, "serve", "--data.dir", dataDir, "--http.listen", p.http,
		"--mqtt.broker", broker.URL, "--influx.url", influx.URL, "--influx.bucket", influx.Bucket, "--log.level", "warn")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	itest.WaitUntil(t, 2*time.Minute, "liftwatch ready", func() bool {
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// TestServeSurvivesSIGKILL: liftwatch serve killed with SIGKILL mid-stream
// and restarted loses nothing and stores nothing twice; SIGTERM then stops
// it cleanly within the shutdown bound.
func TestServeSurvivesSIGKILL(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	data := t.TempDir()
	p := startServe(t, broker, influx, data)

	done := make(chan itest.Published)
	go func() { done <- itest.Publish(t, broker.URL, fleet, 21, 6*time.Hour, itest.Rates()) }()
	itest.WaitUntil(t, 2*time.Minute, "points flowing into InfluxDB", func() bool {
		n, _ := influx.Count(context.Background(), "status")
		return n > 2000
	})
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	n, _ := influx.Count(context.Background(), "status")
	t.Logf("killed with %d status points stored", n)
	p = startServe(t, broker, influx, data)
	c := <-done
	itest.WaitPoints(t, influx, c.Sent, 5*time.Minute)

	// Graceful stop.
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, p.out)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	t.Logf("sent %d distinct messages (resent %v, %d republished)", c.TotalSent(), c.Resent, c.Republished)
}

// lockedBuffer collects a child process's output, safe to read while the
// process still writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
