package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"slices"
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
	dir := t.TempDir()
	yamlFile := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typo := yamlFile("typo.yaml", "policy:\n  entrapment_after: 30s\nestates:\n  yixian:\n    ack_witin: 3m\n")
	topTypo := yamlFile("toptypo.yaml", "policy: {}\nrecievers: []\n")
	rcvTypo := yamlFile("rcvtypo.yaml", "receivers:\n  - name: desk\n    url: http://127.0.0.1:9/h\n    teir: 2\n")
	estate := yamlFile("estate.yaml", "estates:\n  yixian: {ack_within: 3m}\n  atlantis: {ack_within: 3m}\n")
	badValue := yamlFile("bad.yaml", "policy: {ack_within: 40m}\n")
	badValues := yamlFile("bads.yaml", "policy:\n  ack_within: -5m\n  low_battery_pct: 250\n  severities: {nosuchcode: major}\n"+
		"receivers:\n  - {name: desk, url: 'http://127.0.0.1:9/h', tier: 7, min_severity: huge, max_attempts: -1}\n")
	rcvEstate := yamlFile("rcvestate.yaml", "receivers:\n  - {name: desk, url: 'http://127.0.0.1:9/h', estates: [atlantis]}\n"+
		"  - {name: pager, url: 'http://127.0.0.1:9/p', teir: 2}\n") // two problems: both reported
	eightDaysAgo := time.Now().Add(-8 * 24 * time.Hour).Format(time.RFC3339)
	serve := func(extra ...string) []string {
		return append([]string{"serve", "--data.dir", t.TempDir(), "--http.listen", "127.0.0.1:0"}, extra...)
	}
	cases := []struct {
		args    []string
		env     []string
		code    int
		want    string
		stdout  bool   // want is on stdout (else on stderr)
		notWant string // must appear on neither
	}{
		{[]string{"help"}, nil, 0, "Commands:", true, ""},
		{nil, nil, 2, "Usage: liftwatch <command>", false, ""},
		{[]string{"bogus"}, nil, 2, `unknown command "bogus"`, false, ""},
		{[]string{"serve", "--help"}, nil, 0, "LIFTWATCH_<FLAG>", true, ""},
		{[]string{"help", "serve"}, nil, 0, "Usage: liftwatch serve [flags]", true, ""},
		{[]string{"help", "bogus"}, nil, 2, `unknown command "bogus"`, false, ""},
		{[]string{"demo", "--help"}, nil, 0, "-broker.listen", true, "-mqtt.broker"},
		{[]string{"demo", "--help"}, nil, 0, "backfilled, then live", true, "-mqtt.password"},
		{[]string{"demo", "--mqtt.broker", "tcp://127.0.0.1:1883"}, nil, 2, "--mqtt.broker is not a demo flag", false, ""},
		{[]string{"demo", "--mqtt.ca-file=x.pem"}, nil, 2, "--mqtt.ca-file is not a demo flag", false, ""},
		{[]string{"sim", "--help"}, nil, 0, "-scenario", true, ""},
		{[]string{"version"}, nil, 0, "liftwatch dev\ncommit ", true, ""},
		{[]string{"--version"}, nil, 0, runtime.Version(), true, ""},
		// A misspelt flag: one line, the closest flag, no usage.
		{[]string{"serve", "--nope"}, nil, 2, "liftwatch serve: unknown flag --nope; see --help\n", false, "Usage:"},
		{[]string{"serve", "--mqtt.brokr", "x"}, nil, 2, "liftwatch serve: unknown flag --mqtt.brokr (did you mean --mqtt.broker?); see --help\n", false, "Usage:"},
		{[]string{"serve", "--mqtt.brokr", "x"}, nil, 2, "", false, "flag provided but not defined"},
		{[]string{"sim", "-lifs=3"}, nil, 2, "liftwatch sim: unknown flag --lifs (did you mean --lifts?); see --help", false, "Usage:"},
		// A bad value still says which flag, with the usage.
		{[]string{"serve", "--offline-after", "soon"}, nil, 2, `invalid value "soon" for flag -offline-after`, false, ""},
		{[]string{"serve", "extra"}, nil, 2, `unexpected argument "extra"`, false, ""},
		{[]string{"serve"}, []string{"LIFTWATCH_OFFLINE_AFTER=soon"}, 2, "LIFTWATCH_OFFLINE_AFTER (flag --offline-after)", false, ""},
		{[]string{"serve", "--http.listen", "nope"}, []string{"LIFTWATCH_MQTT_BROKR=tcp://x:1"}, 2, "LIFTWATCH_MQTT_BROKR is no setting of any liftwatch command (did you mean LIFTWATCH_MQTT_BROKER?)", false, ""},
		{[]string{"sim", "--dry-run", "--speed", "0", "--lifts", "1", "--duration", "1m"}, []string{"LIFTWATCH_HTTP_PORT=18080"}, 2, "LIFTWATCH_HTTP_PORT is no setting of any liftwatch command", false, ""},
		{[]string{"serve", "--help"}, []string{"LIFTWATCH_MQTT_BROKR=tcp://x:1"}, 0, "Usage: liftwatch serve", true, ""},
		// One namespace: sim's, demo's and the tests' variables do not stop serve.
		{[]string{"serve", "--http.listen", "nope"}, []string{"LIFTWATCH_BACKFILL=1h", "LIFTWATCH_SIM_SPEED=2", "LIFTWATCH_BENCH_RATE=5"}, 2, `http.listen "nope": want HOST:PORT`, false, "no setting"},
		{[]string{"serve", "--mqtt.broker", "ftp://x"}, nil, 2, `mqtt.broker "ftp://x": scheme "ftp" not supported`, false, ""},
		{[]string{"serve", "--mqtt.broker", "localhost:1883"}, nil, 2, `mqtt.broker "localhost:1883": want a URL like tcp://`, false, ""},
		{[]string{"serve", "--mqtt.cert-file", "c.pem"}, nil, 2, "mqtt.cert-file is set without mqtt.key-file", false, ""},
		{[]string{"serve", "--influx.url", "ftp://x"}, nil, 2, `influx.url "ftp://x": scheme "ftp" not supported`, false, ""},
		{[]string{"serve", "--http.listen", "nope"}, nil, 2, `http.listen "nope": want HOST:PORT`, false, ""},
		{[]string{"serve", "--influx.url", "http://x", "--influx.bucket", ""}, nil, 2, "influx.bucket is required", false, ""},
		{[]string{"serve", "--ingest.shards", "-1"}, nil, 2, "ingest.shards -1: must not be negative", false, "batch-points"},
		{[]string{"serve", "--ingest.batch-points", "0"}, nil, 2, "ingest.batch-points 0: must be at least 1", false, "spool"},
		{[]string{"serve", "--spool.max-bytes", "10"}, nil, 2, "spool.max-bytes 10: must be at least 1MiB", false, "shards"},
		{[]string{"serve", "--ts.horizon", "-1h"}, nil, 2, "ts.horizon -1h0m0s: must be positive", false, "offline-after"},
		{[]string{"serve", "--payload.max-bytes", "10"}, nil, 2, "payload.max-bytes 10: must be at least 256", false, "ts.horizon"},
		{[]string{"serve", "--log.level", "loud"}, nil, 2, "log.level", false, ""},
		{serve("--alerts.config", typo), nil, 2, "line 5: unknown key estates.yixian.ack_witin (did you mean ack_within?)", false, ""},
		{serve("--alerts.config", topTypo), nil, 2, "line 2: unknown key recievers (did you mean receivers?)", false, ""},
		{serve("--alerts.config", rcvTypo), nil, 2, "line 4: unknown key receivers[0].teir (did you mean tier?)", false, ""},
		{serve("--alerts.config", estate), nil, 2, `line 3: estates: "atlantis" is not an estate of the lift register`, false, "yixian"},
		{serve("--alerts.config", badValue), nil, 2, "policy", false, ""},
		// Every bad value, not only the first of each block.
		{serve("--alerts.config", badValues), nil, 2, "line 2: policy: ack_within -5m0s", false, ""},
		{serve("--alerts.config", badValues), nil, 2, "line 3: policy: low_battery_pct 250", false, ""},
		{serve("--alerts.config", badValues), nil, 2, `line 4: policy: severities[nosuchcode]: "nosuchcode" is not a fault code`, false, ""},
		{serve("--alerts.config", badValues), nil, 2, "line 6: receiver desk: tier 7", false, ""},
		{serve("--alerts.config", badValues), nil, 2, `line 6: receiver desk: min_severity "huge"`, false, ""},
		{serve("--alerts.config", badValues), nil, 2, "line 6: receiver desk: max_attempts -1: must not be negative", false, ""},
		{serve("--alerts.config", rcvEstate), nil, 2, `line 2: receivers[0].estates: "atlantis" is not an estate of the lift register: receiver desk would never be notified`, false, ""},
		{serve("--alerts.config", rcvEstate), nil, 2, "line 3: unknown key receivers[1].teir", false, ""},
		{serve("--alerts.config", filepath.Join(dir, "missing.yaml")), nil, 2, "alerts.config: open", false, ""},
		{serve("--registry.file", filepath.Join(dir, "missing.json")), nil, 2, "registry.file:", false, ""},
		{[]string{"sim", "--speed", "-1", "--dry-run"}, nil, 2, "speed -1: must not be negative", false, "backfill"},
		{[]string{"sim", "--lifts", "-3", "--dry-run"}, nil, 2, "lifts -3: must not be negative", false, "speed"},
		{[]string{"sim", "--window", "0", "--dry-run"}, nil, 2, "window 0: must be at least 1", false, "lifts"},
		{[]string{"sim", "--mqtt.broker", "ftp://x"}, nil, 2, `mqtt.broker "ftp://x": scheme "ftp" not supported`, false, ""},
		{[]string{"sim", "--start", "yesterday", "--dry-run"}, nil, 2, "RFC 3339", false, ""},
		// Nothing older than the service's horizon is published (the bad
		// broker URL makes the old code fail fast, for another reason).
		{[]string{"sim", "--backfill", "800h", "--mqtt.broker", "ftp://x"}, nil, 2, "backfill 800h0m0s: more than ts.horizon 168h0m0s", false, ""},
		{[]string{"sim", "--backfill", "800h", "--ts.horizon", "900h", "--mqtt.broker", "ftp://x"}, nil, 2, `mqtt.broker "ftp://x"`, false, "backfill"},
		{[]string{"sim", "--backfill", "200h", "--mqtt.broker", "ftp://x"}, []string{"LIFTWATCH_TS_HORIZON=300h"}, 2, `mqtt.broker "ftp://x"`, false, "backfill"},
		{[]string{"sim", "--start", eightDaysAgo, "--mqtt.broker", "ftp://x"}, nil, 2, "start " + eightDaysAgo + ": older than ts.horizon (168h0m0s ago)", false, ""},
		{[]string{"sim", "--dry-run", "--speed", "0", "--lifts", "1", "--backfill", "800h", "--duration", "1m", "--stats-json"}, nil, 0, `"sent"`, true, ""},
		{[]string{"sim", "--ts.horizon", "0", "--dry-run"}, nil, 2, "ts.horizon 0s: must be positive", false, ""},
		{[]string{"demo", "--sim.backfill", "200h", "--broker.hold-at", "0"}, nil, 2, "sim.backfill 200h0m0s: more than ts.horizon 168h0m0s", false, ""},
		{[]string{"demo", "--sim.start", eightDaysAgo, "--broker.hold-at", "0"}, nil, 2, "sim.start " + eightDaysAgo + ": older than ts.horizon", false, ""},
		{[]string{"demo", "--sim.backfill", "200h", "--ts.horizon", "300h", "--broker.hold-at", "0"}, nil, 2, "broker.hold-at 0", false, "sim.backfill"},
		{[]string{"fleet", "--format", "xml"}, nil, 2, `format "xml"`, false, ""},
		{[]string{"fleet", "--lifts", "-5"}, nil, 2, "lifts -5: must not be negative", false, ""},
		{[]string{"healthcheck", "--url", "ftp://x"}, nil, 2, `url "ftp://x"`, false, ""},
	}
	for _, c := range cases {
		code, out, errs := runCLI(c.args, c.env...)
		where := errs
		if c.stdout {
			where = out
		}
		if code != c.code || !strings.Contains(where, c.want) || (c.notWant != "" && strings.Contains(out+errs, c.notWant)) {
			t.Errorf("liftwatch %v (env %v): exit %d, want %d with %q on %s (and not %q); got stdout:\n%s\nstderr:\n%s",
				c.args, c.env, code, c.code, c.want, map[bool]string{true: "stdout", false: "stderr"}[c.stdout], c.notWant, out, errs)
		}
	}
}

func TestVersionNamesCommit(t *testing.T) {
	v := buildVersion(&debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.modified", Value: "true"}, {Key: "vcs.time", Value: "2026-01-02T03:04:05Z"}}})
	for _, want := range []string{"liftwatch dev\n", "commit 0123abcd (modified) 2026-01-02T03:04:05Z\n", runtime.Version()} {
		if !strings.Contains(v, want) {
			t.Errorf("version %q lacks %q", v, want)
		}
	}
	if v := buildVersion(nil); !strings.Contains(v, "commit unknown") {
		t.Errorf("without build info: %q", v)
	}
	// -ldflags -X main.version sets the version of a built binary.
	bin := filepath.Join(t.TempDir(), "lw")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v1.2.3", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "liftwatch v1.2.3\ncommit ") {
		t.Fatalf("liftwatch version: %v %q", err, out)
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
	cmd   *exec.Cmd
	out   *lockedBuffer
	http  string
	debug string // the debug listener's address, if started with one
}

func startServe(t *testing.T, broker *testrig.Mosquitto, influx *testrig.InfluxDB, dataDir string) *proc {
	t.Helper()
	port := testrig.FreePort(t)
	p := &proc{out: &lockedBuffer{}, http: fmt.Sprintf("127.0.0.1:%d", port)}
	tokens.Store("http://"+p.http, adminToken(t, dataDir))
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

// TestHelpListsFlagsWithTwoDashes: every command's help writes its flags as
// the README does, --name (the flag package's default is -name).
func TestHelpListsFlagsWithTwoDashes(t *testing.T) {
	for _, path := range flagCommands {
		code, out, errs := runCLI(append(slices.Clone(path), "--help"))
		if code != 0 {
			t.Fatalf("liftwatch %v --help: exit %d: %s", path, code, errs)
		}
		flags := 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "  --") {
				flags++
			} else if strings.HasPrefix(line, "  -") {
				t.Errorf("liftwatch %v --help: %q: want --flag", path, line)
			}
		}
		if flags == 0 && path[0] != "version" {
			t.Errorf("liftwatch %v --help lists no --flag:\n%s", path, out)
		}
	}
	for _, c := range []struct{ cmd, flag string }{{"serve", "data.dir"}, {"demo", "sim.backfill"}, {"sim", "backfill"}} {
		if _, out, _ := runCLI([]string{c.cmd, "--help"}); !strings.Contains(out, "\n  --"+c.flag+" ") {
			t.Errorf("liftwatch %s --help lacks \"  --%s\":\n%s", c.cmd, c.flag, out)
		}
	}
}

func TestEveryCommandIsInFlagCommands(t *testing.T) {
	for name := range commands {
		if !slices.ContainsFunc(flagCommands, func(p []string) bool { return p[0] == name }) {
			t.Errorf("command %q is not in flagCommands: its help and its LIFTWATCH_ variables go unchecked", name)
		}
	}
}

// TestKnownEnvCoversEveryFlag: every flag a command's help lists has its
// variable among the known ones, and nothing else is known but testEnv.
func TestKnownEnvCoversEveryFlag(t *testing.T) {
	known := knownEnv(context.Background())
	want := slices.Clone(testEnv)
	for _, path := range flagCommands {
		_, out, _ := runCLI(append(slices.Clone(path), "--help"))
		for _, m := range regexp.MustCompile(`(?m)^  --([^ \n]+)`).FindAllStringSubmatch(out, -1) {
			want = append(want, envName(m[1]))
		}
	}
	slices.Sort(want)
	if want = slices.Compact(want); !slices.Equal(known, want) {
		t.Fatalf("known variables:\n%v\nwant (the flags in the commands' help, and testEnv):\n%v", known, want)
	}
	for _, v := range []string{"LIFTWATCH_MQTT_BROKER", "LIFTWATCH_SIM_BACKFILL", "LIFTWATCH_BACKFILL", "LIFTWATCH_FORMAT", "LIFTWATCH_PASSWORD_STDIN", "LIFTWATCH_REGISTRY_FILE"} {
		if !slices.Contains(known, v) {
			t.Errorf("%s not known", v)
		}
	}
}

// TestTestEnvIsListed: every LIFTWATCH_ variable the tests, benchmarks and
// scripts read is a flag's or listed in testEnv, so setting it does not stop
// liftwatch.
func TestTestEnvIsListed(t *testing.T) {
	known := knownEnv(context.Background())
	goRead := regexp.MustCompile(`(?:Getenv|LookupEnv)\("(LIFTWATCH_[A-Z0-9_]+)"`)
	shell := regexp.MustCompile(`LIFTWATCH_[A-Z0-9_]+`)
	seen := 0
	err := filepath.WalkDir("../..", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "data" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		var names []string
		switch dir := filepath.Base(filepath.Dir(p)); {
		case strings.HasSuffix(p, ".go"):
			b, _ := os.ReadFile(p)
			for _, m := range goRead.FindAllStringSubmatch(string(b), -1) {
				names = append(names, m[1])
			}
		case dir == "scripts" || dir == ".ci" || d.Name() == "Dockerfile":
			b, _ := os.ReadFile(p)
			names = shell.FindAllString(string(b), -1)
		}
		for _, n := range names {
			seen++
			if !slices.Contains(known, n) {
				t.Errorf("%s reads %s, which is no flag's variable and not in testEnv: liftwatch would refuse it", p, n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 10 {
		t.Fatalf("found only %d LIFTWATCH_ variables read: the scan is broken", seen)
	}
}

// TestBadSettingsCreateNothing: a bad setting stops serve and demo before
// anything is created, opened or bound: no data dir, no spool, no log line
// but the error.
func TestBadSettingsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(bad, []byte("receivers:\n  - {name: desk, url: 'http://127.0.0.1:9/h', estates: [atlantis]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := filepath.Join(dir, "missing.json")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--alerts.config", bad}, `receivers[0].estates: "atlantis" is not an estate`},
		{[]string{"serve", "--registry.file", reg}, "registry.file: "},
		{[]string{"demo", "--alerts.config", bad}, `receivers[0].estates: "atlantis" is not an estate`},
		{[]string{"demo", "--registry.file", reg}, "registry.file: "},
	} {
		data := filepath.Join(dir, "fresh", c.args[0])
		args := append(slices.Clone(c.args), "--data.dir", data, "--http.listen", "127.0.0.1:0", "--log.level", "debug")
		if c.args[0] == "demo" {
			args = append(args, "--broker.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)))
		}
		code, out, errs := runCLI(args)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("liftwatch %v: exit %d, want 2 naming %q:\n%s", args, code, c.want, errs)
		}
		if lines := strings.Split(strings.TrimSpace(errs), "\n"); lines[0] != "liftwatch "+c.args[0]+": invalid configuration:" || len(lines) != 2 {
			t.Errorf("liftwatch %v: want the error only on stderr, got:\n%s", args, errs)
		}
		if out != "" {
			t.Errorf("liftwatch %v: stdout %q", args, out)
		}
		if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("liftwatch %v: data dir %s created (%v)", args, data, err)
		}
	}
}
