package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/embedded"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

// demoSimHour is the Shanghai hour the demo test's simulation starts at:
// pinned, so the traffic it sees does not depend on when the test runs.
const demoSimHour = 10

// TestDemoEndToEnd runs "liftwatch demo" as a user would, on free ports,
// with simulated time pinned (two hours from 10:00 Shanghai time on a recent
// day, then ten minutes "live" at ×10): the Jiangwan fleet is backfilled
// through the embedded broker under tight flow control, every lift is
// online, history and metrics are served; the default incident plays (an
// entrapment alert on JW-0042) and the trigger endpoint traps a passenger in
// JW-0007; when the simulation ends the service has accepted exactly what
// the simulator published, with no sequence gap; SIGTERM stops it cleanly.
func TestDemoEndToEnd(t *testing.T) { testrig.ForEachStore(t, testDemoEndToEnd) }

func testDemoEndToEnd(t *testing.T, storeURL string) {
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	brokerAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	const backfill, live = 2 * time.Hour, 10 * time.Minute
	start := itest.PinnedStart(time.Now(), demoSimHour, backfill+live)
	var out lockedBuffer
	cmd := exec.Command(binary, "demo", "--http.listen", httpAddr, "--broker.listen", brokerAddr, "--log.level", "warn",
		"--sim.start", start.Format(time.RFC3339), "--sim.backfill", backfill.String(), "--sim.speed", "10", "--sim.duration", live.String(),
		"--demo.incident-after", "1s", "--broker.hold-at", "500", "--store.url", storeURL)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + httpAddr
	// The demo prints one account per role; the test signs in as its admin
	// (a session cookie, and the CSRF token on state changes).
	// The banner names demo-subdistrict before the accounts are printed:
	// wait for its account line.
	itest.WaitUntil(t, time.Minute, "the demo's accounts", func() bool {
		return regexp.MustCompile(`(?m)^  demo-subdistrict +\S{16} `).MatchString(out.String())
	})
	if m := regexp.MustCompile(`Maintenance history: .* written in [0-9.]+ s`).FindString(out.String()); m != "" {
		t.Log(m) // most of the start-up, and what differs most between the databases
	}
	for _, role := range []string{"admin", "manager", "contractor", "owner", "subdistrict"} {
		if !regexp.MustCompile(`(?m)^  demo-` + role + ` +\S{16} +` + role + ` +\S`).MatchString(out.String()) {
			t.Fatalf("the demo does not print its %s account (name, password, role, scope):\n%s", role, out.String())
		}
	}
	client, csrf := demoSignIn(t, base, out.String(), "demo-admin")
	send := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		if method != "GET" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	get := func(path string) (int, string) { return send("GET", path) }
	post := func(path string) (int, string) { return send("POST", path) }
	// Anonymous, the demo's routes and the API answer 401.
	for _, r := range []struct{ method, path string }{{"POST", "/demo/trigger?lift=JW-0007"}, {"GET", "/demo/simulator"}, {"GET", "/api/v1/lifts"}} {
		req, _ := http.NewRequest(r.method, base+r.path, nil)
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
			t.Errorf("anonymous %s %s: %v %v", r.method, r.path, err, resp)
		} else {
			resp.Body.Close()
		}
	}
	openEntrapment := func(lift string) bool {
		code, body := get("/api/v1/alerts?open=true&type=entrapment&lift=" + lift)
		var list []map[string]any
		return code == 200 && json.Unmarshal([]byte(body), &list) == nil && len(list) == 1 && list[0]["lift"] == lift
	}
	itest.WaitUntil(t, 2*time.Minute, "all 297 lifts online", func() bool {
		code, body := get("/api/v1/lifts?online=true&limit=1000")
		if code != 200 {
			return false
		}
		var lifts []map[string]any
		return json.Unmarshal([]byte(body), &lifts) == nil && len(lifts) == 297
	})
	for _, want := range []string{base + "/api/v1/lifts", "Incident: an entrapment will be played on JW-0042 about 1s after the backfill ends", "-X POST '" + base + "/demo/trigger?lift=JW-0042&kind=entrapment'"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("demo does not say %q:\n%s", want, out.String())
		}
	}

	// The default incident is played once the backfill is over and time
	// runs live, and it is announced only once its alert exists: checked
	// the moment the line appears, without a second chance.
	itest.WaitUntil(t, 2*time.Minute, "the demo to say the incident's alert is open", func() bool {
		return strings.Contains(out.String(), "see the open alerts: "+base+"/api/v1/alerts?open=true")
	})
	if !openEntrapment("JW-0042") {
		t.Fatalf("the demo points to the incident's alert, but there is no open entrapment alert on JW-0042:\n%s", out.String())
	}
	said := out.String()
	wentLive := strings.Index(said, "Backfill done: the simulation is live from ")
	played := strings.Index(said, "Incident: a passenger is trapped in JW-0042 now")
	alerted := strings.Index(said, "Incident: alert ")
	if wentLive < 0 || played < wentLive || alerted < played {
		t.Fatalf("want the backfill's end, then the incident, then its alert, in that order:\n%s", said)
	}
	if code, body := get("/api/v1/alerts?open=true&type=entrapment&lift=JW-0042"); code != 200 || !strings.Contains(body, start.Add(backfill).Format("2006-01-02")) {
		t.Errorf("incident alert: %d %s", code, body)
	}

	// One triggered by hand.
	if code, body := post("/demo/trigger?lift=JW-9999&kind=entrapment"); code != 404 {
		t.Errorf("trigger on an unknown lift: %d %s", code, body)
	}
	if code, body := post("/demo/trigger?lift=JW-0007&kind=fire"); code != 400 {
		t.Errorf("trigger of an unknown kind: %d %s", code, body)
	}
	// The demo's address keeps the API's conventions (no redirect to follow).
	if code, body := get("/demo/trigger?lift=JW-0007"); code != 405 || !strings.Contains(body, `"method_not_allowed"`) {
		t.Errorf("GET /demo/trigger: %d %s", code, body)
	}
	if code, body := get("//api/v1/lifts"); code != 404 || !strings.Contains(body, `"not_found"`) {
		t.Errorf("GET //api/v1/lifts: %d %s", code, body)
	}
	if openEntrapment("JW-0007") {
		t.Fatal("JW-0007 trapped before the trigger")
	}
	if code, body := post("/demo/trigger?lift=JW-0007&kind=entrapment"); code != 202 {
		t.Fatalf("trigger: %d %s", code, body)
	}
	itest.WaitUntil(t, time.Minute, "the triggered entrapment alert on JW-0007", func() bool { return openEntrapment("JW-0007") })

	itest.WaitUntil(t, time.Minute, "trip history stored", func() bool {
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

	// The simulation ends (--sim.duration); the service must then hold
	// exactly what was published, and no gap.
	var sim struct {
		Done        bool  `json:"done"`
		Published   int64 `json:"published"`
		Republished int64 `json:"republished"`
		Counts      struct {
			Failed  int64 `json:"failed"`
			Dropped int64 `json:"dropped"`
		} `json:"counts"`
	}
	itest.WaitUntil(t, 3*time.Minute, "the simulation to end", func() bool {
		code, body := get("/demo/simulator")
		return code == 200 && json.Unmarshal([]byte(body), &sim) == nil && sim.Done
	})
	if sim.Counts.Failed != 0 || sim.Counts.Dropped != 0 || sim.Published < 30000 {
		t.Fatalf("simulator: %+v", sim)
	}
	accepted := func() int64 { return int64(metric(base, "liftwatch_ingest_messages_accepted_total")) }
	itest.WaitUntil(t, 2*time.Minute, "the service to accept what was published", func() bool { return accepted() >= sim.Published })
	time.Sleep(time.Second) // anything beyond the published count would show up now
	if got := accepted(); got != sim.Published {
		t.Errorf("service accepted %d messages, simulator published %d", got, sim.Published)
	}
	if gaps := metric(base, "liftwatch_ingest_seq_gaps_total"); gaps != 0 {
		t.Errorf("service counted %v sequence gaps; the simulator lost nothing", gaps)
	}
	_, body := get("/api/v1/lifts?limit=1000")
	var lifts []struct {
		ID   string `json:"id"`
		Gaps int64  `json:"gaps"`
	}
	if err := json.Unmarshal([]byte(body), &lifts); err != nil || len(lifts) != 297 {
		t.Fatalf("lifts: %v %.300s", err, body)
	}
	for _, l := range lifts {
		if l.Gaps != 0 {
			t.Errorf("%s: %d gaps", l.ID, l.Gaps)
		}
	}
	if strings.Contains(out.String(), "quota reached") {
		t.Errorf("the embedded broker dropped messages:\n%.2000s", out.String())
	}
	t.Logf("published %d (republished %d), accepted %d", sim.Published, sim.Republished, accepted())
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("demo exit after SIGTERM: %v\n%s", err, out.String())
	}
}

// TestDemoPortTaken: a taken port, the broker's or the HTTP one, is a
// setting to change (exit 2, naming the flag and variable) found before
// anything starts: no broker, no database, no spool.
func TestDemoPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	free := func() string { return fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)) }
	for _, c := range []struct {
		name, broker, http string
		want               []string
		notWant            string
	}{
		{"broker", l.Addr().String(), free(), []string{"already in use", "--broker.listen", "LIFTWATCH_BROKER_LISTEN"}, "--http.listen"},
		{"http", free(), l.Addr().String(), []string{"HTTP address " + l.Addr().String() + " is already in use", "--http.listen", "LIFTWATCH_HTTP_LISTEN"}, "MQTT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(binary, "demo", "--broker.listen", c.broker, "--http.listen", c.http, "--data.dir", dir)
			out, err := cmd.CombinedOutput()
			if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
				t.Fatalf("want exit 2, got %v:\n%s", err, out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), c.notWant) || strings.Contains(string(out), "1883") && c.name == "http" {
				t.Errorf("output mentions %q or 1883:\n%s", c.notWant, out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the demo created %v in its data dir before failing", entries)
			}
		})
	}
}

// TestDemoMaxUnackedDefault: the demo's ingest window is a round figure
// above its embedded broker's in-flight limit, and --help says why.
func TestDemoMaxUnackedDefault(t *testing.T) {
	code, out, errs := runCLI([]string{"demo", "--help"})
	if code != 0 {
		t.Fatalf("demo --help: exit %d %s", code, errs)
	}
	i := strings.Index(out, "-ingest.max-unacked")
	if i < 0 {
		t.Fatalf("no -ingest.max-unacked in:\n%s", out)
	}
	usage, _, _ := strings.Cut(out[i:], "\n  -")
	if !strings.Contains(usage, "(default 70000)") || !strings.Contains(usage, fmt.Sprint(embedded.MaxInflight)) || !strings.Contains(usage, "serve's is 20000") {
		t.Errorf("usage of -ingest.max-unacked: %s", usage)
	}
	if 70000 <= embedded.MaxInflight {
		t.Errorf("the demo's default 70000 is not above the broker's in-flight limit %d", embedded.MaxInflight)
	}
}

type fakeOpen struct {
	mu    sync.Mutex
	polls int
	list  []*alerts.Alert
	after int // the list appears from this poll on
}

func (f *fakeOpen) Open() []*alerts.Alert {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	if f.polls < f.after {
		return nil
	}
	return f.list
}

// TestDemoWaitAlert: the demo waits for the incident's own alert (an
// entrapment of its lift, seen at the trigger's time, which messages carry
// to the millisecond) and not for another one.
func TestDemoWaitAlert(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 10, 1_500_000, time.UTC) // 12:00:10.0015
	other := &alerts.Alert{ID: 1, Lift: "JW-0042", Type: alerts.TypeEntrapment, LastSeen: at.Add(-time.Hour)}
	wrongLift := &alerts.Alert{ID: 2, Lift: "JW-0007", Type: alerts.TypeEntrapment, LastSeen: at}
	ours := &alerts.Alert{ID: 3, Lift: "JW-0042", Type: alerts.TypeEntrapment, LastSeen: at.Truncate(time.Millisecond)}
	eng := &fakeOpen{list: []*alerts.Alert{other, wrongLift, ours}, after: 3}
	got := waitAlert(context.Background(), eng, "JW-0042", at, time.Millisecond, func() {})
	if got == nil || got.ID != 3 || eng.polls != 3 {
		t.Fatalf("got %+v after %d polls, want alert 3 on the third", got, eng.polls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	eng = &fakeOpen{list: []*alerts.Alert{other, wrongLift}}
	go func() {
		for {
			eng.mu.Lock()
			n := eng.polls
			eng.mu.Unlock()
			if n >= 5 {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	if got := waitAlert(ctx, eng, "JW-0042", at, time.Millisecond, func() {}); got != nil {
		t.Fatalf("took alert %d for the incident's", got.ID)
	}
}

// demoSignIn signs in as the demo account name, whose password the demo
// printed in out: a client with the session cookie, and the CSRF token.
func demoSignIn(t *testing.T, base, out, name string) (*http.Client, string) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(name) + ` +(\S+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no password printed for %s:\n%s", name, out)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Post(base+"/api/v1/session", "application/json", strings.NewReader(`{"name":"`+name+`","password":"`+m[1]+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != 200 || s.CSRF == "" {
		t.Fatalf("sign in as %s: %d %v", name, resp.StatusCode, err)
	}
	return c, s.CSRF
}

// TestDemoHistoryOnce: the demo first writes months of maintenance history
// and says what it holds; started again on the same data directory it adds
// nothing and says so.
func TestDemoHistoryOnce(t *testing.T) { testrig.ForEachStore(t, testDemoHistoryOnce) }

func testDemoHistoryOnce(t *testing.T, storeURL string) {
	all, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(all[:8])
	if err != nil {
		t.Fatal(err)
	}
	fleetFile := filepath.Join(t.TempDir(), "fleet.json")
	if err := os.WriteFile(fleetFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start := itest.PinnedStart(time.Now(), demoSimHour, time.Hour)
	run := func() string {
		t.Helper()
		var out lockedBuffer
		cmd := exec.Command(binary, "demo", "--http.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)),
			"--broker.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)), "--data.dir", dir, "--log.level", "warn",
			"--registry.file", fleetFile, "--sim.fleet", fleetFile, "--sim.start", start.Format(time.RFC3339), "--sim.backfill", "10m",
			"--demo.incident-after", "0", "--demo.history-months", "2", "--demo.paper-share", "0.3", "--store.url", storeURL)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		itest.WaitUntil(t, time.Minute, "the demo to say it is running", func() bool { return strings.Contains(out.String(), "liftwatch demo running") })
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		return out.String()
	}
	first := run()
	m := regexp.MustCompile(`Maintenance history: 2 months to \S+ \S+ written in [0-9.]+ s: (\d+) visits signed \((\d+) paper visits, flagged unverified\), \d+ entrapments with their corrective orders, (\d+) ledger entries\.`).FindStringSubmatch(first)
	if m == nil || m[1] == "0" || m[2] == "0" || m[3] == "0" {
		t.Fatalf("first start: want the history's visits, paper visits and ledger entries:\n%s", first)
	}
	second := run()
	if !strings.Contains(second, "0 visits signed (0 paper visits, flagged unverified), 0 entrapments with their corrective orders, 0 ledger entries (the data directory had it already: nothing added).") {
		t.Fatalf("second start on the same data: want nothing added:\n%s", second)
	}
}
