package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

// The browser tests drive Debian's headless Chromium from Go (chromedp)
// against the real binary, a real Mosquitto and the fake alert clock
// (--debug.fake-clock), so every SLA colour is pinned, never read off the
// wall clock. Screenshots go to $LIFTWATCH_TEST_OUT, else
// cmd/liftwatch/testdata/out (git-ignored).

const chromiumPath = "/usr/bin/chromium"

// requireChromium skips without Chromium, or fails when the services are
// required (./scripts/test installs it).
func requireChromium(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") == "1" {
			t.Fatalf("chromium is required (LIFTWATCH_REQUIRE_SERVICES=1) but %s is missing: apt-get install chromium chromium-driver", chromiumPath)
		}
		t.Skipf("chromium not installed (%s): apt-get install chromium chromium-driver", chromiumPath)
	}
}

// browser starts a fresh headless Chromium with a window of w×h and
// returns a tab's context.
func browser(t testing.TB, w, h int) context.Context {
	t.Helper()
	requireChromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(w, h),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser actions with a bound, failing the test with what.
func do(t testing.TB, ctx context.Context, what string, acts ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, acts...); err != nil {
		bc, bcancel := context.WithTimeout(ctx, 3*time.Second)
		loc, _ := chromedp.Run(bc, chromedp.Location())
		body, _ := chromedp.Run(bc, chromedp.Text(chromedp.CSS("body")))
		bcancel()
		t.Fatalf("%s: %v (at %s)\n%s", what, err, loc, body)
	}
}

// outDir is where screenshots are saved.
func outDir(t testing.TB) string {
	d := os.Getenv("LIFTWATCH_TEST_OUT")
	if d == "" {
		d = filepath.Join("testdata", "out")
	}
	d = filepath.Join(d, "web")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png := run1(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	p := filepath.Join(outDir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// webServer is liftwatch serve on a fake alert clock with the demo's
// accounts' roles created beforehand.
type webServer struct {
	*server
	auth   bool // the server has sign-in (/api/v1/me answers)
	broker *testrig.Mosquitto
	pub    mqtt.Client
}

// users are the accounts of the browser tests: name → role and scope flags.
var users = map[string][]string{
	"mgr1":   {"--role", "manager", "--estates", "yixian"},
	"mgr2":   {"--role", "manager", "--estates", "yixian"},
	"tech1":  {"--role", "contractor", "--company", jw42Contractor},
	"owner1": {"--role", "owner", "--lift", "JW-0042", "--household", "JW-0042-301"},
	"sub1":   {"--role", "subdistrict", "--subdistrict", "jiangwan"},
}

const (
	password       = "correct horse battery staple"
	jw42Contractor = "上海三菱电梯维保站"
)

func startWeb(t *testing.T) *webServer {
	t.Helper()
	requireChromium(t)
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alerts.yaml")
	os.WriteFile(cfg, []byte("receivers: []\n"), 0o644)
	return startWebServe(t, broker, filepath.Join(dir, "data"), cfg)
}

// startWebServe creates the test accounts in data, then runs liftwatch serve
// on broker with the alert clocks on the fake clock.
func startWebServe(t testing.TB, broker *testrig.Mosquitto, data, cfg string) *webServer {
	t.Helper()
	for name, args := range users {
		cmd := exec.Command(binary, append([]string{"user", "add", "--data.dir", data, "--name", name, "--password-stdin"}, args...)...)
		cmd.Stdin = strings.NewReader(password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("user add %s: %v\n%s", name, err, out)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	debug := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	srv := &server{base: "http://" + addr, debug: "http://" + debug, out: &lockedBuffer{}}
	tokens.Store(srv.base, adminToken(t, data)) // srv.do's API calls (the test's own checks) as an admin
	srv.cmd = exec.Command(binary, "serve", "--data.dir", data, "--http.listen", addr, "--mqtt.broker", broker.URL,
		"--alerts.config", cfg, "--debug.fake-clock", "--debug.listen", debug, "--log.level", "warn")
	srv.cmd.Stdout, srv.cmd.Stderr = srv.out, srv.out
	if err := srv.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &webServer{server: srv, broker: broker}
	t.Cleanup(func() {
		if s.pub != nil {
			s.pub.Disconnect(100)
		}
		s.cmd.Process.Kill()
		s.cmd.Wait()
	})
	itest.WaitUntil(t, time.Minute, "liftwatch ready", func() bool { code, _ := s.do("GET", "/readyz", ""); return code == 200 })
	code, _ := s.do("GET", "/api/v1/me", "")
	s.auth = code != http.StatusNotFound
	return s
}

// signIn signs the first manager in (for the benchmark).
func (s *webServer) signIn(t testing.TB, ctx context.Context, next string) {
	s.login(t, ctx, "mgr1", next)
}

// login signs name in on ctx's browser (nothing to do on a server without
// sign-in) and waits for the page it lands on.
func (s *webServer) login(t testing.TB, ctx context.Context, name, next string) {
	t.Helper()
	if !s.auth {
		do(t, ctx, "open "+next, chromedp.Navigate(s.base+next), chromedp.WaitVisible(chromedp.CSS("#nav a")))
		return
	}
	do(t, ctx, "log in "+name,
		chromedp.Navigate(s.base+"/login?next="+next),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav a")))
}

// trap publishes a terminal's entrapment fault to the broker.
func (s *webServer) trap(t testing.TB, lift string, seq int64) {
	t.Helper()
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, seq, time.Now().UnixMilli())
	if s.pub == nil {
		s.pub = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(s.broker.URL).SetClientID("web-e2e-terminal"))
		if tok := s.pub.Connect(); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	if tok := s.pub.Publish("lifts/"+lift+"/fault", 1, false, payload); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func setLang(t testing.TB, ctx context.Context, base, l string) {
	do(t, ctx, "language "+l, chromedp.Navigate(base+"/assets/app.css"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('lw-lang', %q); document.cookie = 'lw_lang=%s; path=/'`, l, l)))
}

func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return run1(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func attr(t testing.TB, ctx context.Context, sel, name string) string {
	t.Helper()
	return run1(t, ctx, "read "+sel+" "+name, chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}

// run1 runs one action that returns a value, with a bound.
func run1[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// TestWebBoardRescue: a manager's board shows a trapped passenger published
// to the broker, with the visible cue; the SLA clocks turn amber and red on
// the pinned clock; a second manager's acknowledge of the same alert gets
// the conflict message; the first manager dispatches, records the arrival
// and resolves in two taps each, and the card leaves the board.
func TestWebBoardRescue(t *testing.T) {
	s := startWeb(t)
	a := browser(t, 1280, 900)
	b := browser(t, 1280, 900)
	s.login(t, a, "mgr1", "/")
	s.login(t, b, "mgr2", "/")
	do(t, a, "board A ready", chromedp.WaitVisible(chromedp.CSS("#live")), chromedp.Sleep(300*time.Millisecond))
	do(t, b, "board B ready", chromedp.WaitVisible(chromedp.CSS("#live")))

	s.trap(t, "JW-0042", 1)
	card := `.card[data-type="entrapment"]`
	do(t, a, "entrapment on board A", chromedp.WaitVisible(chromedp.CSS(card)), chromedp.WaitVisible(chromedp.CSS("#cue")))
	do(t, b, "entrapment on board B", chromedp.WaitVisible(chromedp.CSS(card)))
	if cue := text(t, a, "#cue"); !strings.Contains(cue, "JW-0042") || !strings.Contains(cue, "新困人告警") {
		t.Fatalf("cue %q: want the new entrapment and its lift", cue)
	}
	got := text(t, a, card)
	for _, want := range []string{"JW-0042", "逸仙小区", "14号", "3单元", "上海市虹口区逸仙路100弄14号", jw42Contractor, "困人", "未确认"} {
		if !strings.Contains(got, want) {
			t.Errorf("card lacks %q:\n%s", want, got)
		}
	}
	var id int64
	fmt.Sscan(attr(t, a, card, "data-alert-id"), &id)
	alert := s.alert(t, id)

	// The clocks on the pinned clock: 4 minutes in, the notify clock is
	// amber; 6 minutes in, red (the board re-reads the server's clock on load).
	clockClass := func(ctx context.Context, which string) string {
		return attr(t, ctx, card+` [data-clock="`+which+`"]`, "class")
	}
	if c := clockClass(a, "ack"); !strings.Contains(c, "ok") {
		t.Errorf("ack clock at opening: class %q, want ok", c)
	}
	s.clock(t, "set="+alert.OpenedAt.Add(4*time.Minute).Format(time.RFC3339Nano))
	do(t, a, "reload A", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)), chromedp.Sleep(200*time.Millisecond))
	if c := clockClass(a, "ack"); !strings.Contains(c, "amber") {
		t.Errorf("ack clock at 4 min: class %q, want amber", c)
	}
	if c := clockClass(a, "onsite"); !strings.Contains(c, "ok") {
		t.Errorf("on-site clock at 4 min: class %q, want ok", c)
	}
	s.clock(t, "set="+alert.OpenedAt.Add(6*time.Minute).Format(time.RFC3339Nano))
	do(t, a, "reload A", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)), chromedp.Sleep(200*time.Millisecond))
	if c := clockClass(a, "ack"); !strings.Contains(c, "red") {
		t.Errorf("ack clock at 6 min: class %q, want red", c)
	}
	do(t, b, "reload B", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)))
	setLangNoNav(t, a, "zh")
	screenshot(t, a, "board-zh")

	// Both managers tap acknowledge; A confirms first, B's confirm conflicts.
	ack := card + ` button[data-action="acknowledge"]`
	do(t, b, "B taps acknowledge", chromedp.Click(chromedp.CSS(ack)), chromedp.WaitVisible(chromedp.CSS(card+` button[data-confirm="acknowledge"]`)))
	do(t, a, "A acknowledges", chromedp.Click(chromedp.CSS(ack)), chromedp.Click(chromedp.CSS(card+` button[data-confirm="acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-state="acknowledged"]`)))
	do(t, b, "B confirms", chromedp.Click(chromedp.CSS(card+` button[data-confirm="acknowledge"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+` .cardmsg .msg-error`)))
	if m := text(t, b, card+" .cardmsg"); !strings.Contains(m, "已被他人处理") || !strings.Contains(m, "已确认") {
		t.Fatalf("B's message %q: want the conflict and the current state", m)
	}
	screenshot(t, b, "board-conflict-zh")

	// A: dispatch, arrive, resolve, each in two taps.
	for _, step := range []struct{ action, state string }{{"dispatch", "dispatched"}, {"arrive", "on_site"}} {
		do(t, a, step.action,
			chromedp.Click(chromedp.CSS(card+` button[data-action="`+step.action+`"]`)),
			chromedp.Click(chromedp.CSS(card+` button[data-confirm="`+step.action+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(card+`[data-state="`+step.state+`"]`)))
	}
	setLangNoNav(t, a, "en")
	do(t, a, "reload in English", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)))
	if got := text(t, a, card); !strings.Contains(got, "On site") || !strings.Contains(got, "Entrapment") {
		t.Errorf("English card: %q", got)
	}
	screenshot(t, a, "board-en")
	do(t, a, "resolve",
		chromedp.Click(chromedp.CSS(card+` button[data-action="resolve"]`)),
		chromedp.Click(chromedp.CSS(card+` button[data-confirm="resolve"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(card)))
	final := s.alert(t, id)
	if final.State != "resolved" || final.DispatchedTo != jw42Contractor || final.ResolvedBy == "" {
		t.Fatalf("alert after the board: state %s, dispatched to %q, resolved by %q", final.State, final.DispatchedTo, final.ResolvedBy)
	}
	if s.auth && (final.AckBy != "mgr1" || final.ResolvedBy != "mgr1") {
		t.Fatalf("actors: acknowledged by %q, resolved by %q; want the signed-in mgr1", final.AckBy, final.ResolvedBy)
	}
}

func setLangNoNav(t testing.TB, ctx context.Context, l string) {
	do(t, ctx, "language "+l, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('lw-lang', %q)`, l)))
}

// TestWebScreenshots: every main page in zh and en, with the page's own
// words in the chosen language; saved for the record.
func TestWebScreenshots(t *testing.T) {
	s := startWeb(t)
	s.trap(t, "JW-0042", 1)
	itest.WaitUntil(t, time.Minute, "alert", func() bool {
		code, b := s.do("GET", "/api/v1/alerts?open=true", "")
		return code == 200 && strings.Contains(string(b), "JW-0042")
	})
	pages := []struct {
		user, path, name, wait, zh, en string
	}{
		{"mgr1", "/", "board", ".card", "告警看板", "Alert board"},
		{"mgr1", "/fleet", "fleet", ".tile", "电梯总览", "Fleet"},
		{"mgr1", "/lifts/JW-0042", "lift", ".chart canvas", "实时状态", "Live status"},
		{"mgr1", "/supervision", "supervision", "#rescue table", "救援时效", "Rescue times"},
		{"tech1", "/work-orders", "work-orders", "#today", "维保工单", "Work orders"},
		{"owner1", "/owner", "owner", "#today", "我的电梯", "My lift"},
	}
	for _, l := range []string{"zh", "en"} {
		ctx := browser(t, 1280, 900)
		setLang(t, ctx, s.base, l)
		if s.auth {
			do(t, ctx, "login page", chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#name")))
			screenshot(t, ctx, "login-"+l)
		}
		for _, p := range pages {
			if !s.auth && (p.user == "owner1") {
				continue // the owner's page needs a signed-in owner
			}
			pc := browser(t, 1280, 900)
			setLang(t, pc, s.base, l)
			s.login(t, pc, p.user, p.path)
			do(t, pc, "open "+p.path, chromedp.Navigate(s.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(500*time.Millisecond))
			want := map[string]string{"zh": p.zh, "en": p.en}[l]
			if got := text(t, pc, "main"); !strings.Contains(got, want) {
				t.Errorf("%s in %s: %q missing", p.path, l, want)
			}
			screenshot(t, pc, p.name+"-"+l)
		}
	}
}

// TestWebPhoneViewport: the board and the fleet fit a 360-px phone (nothing
// wider than the screen).
func TestWebPhoneViewport(t *testing.T) {
	s := startWeb(t)
	s.trap(t, "JW-0042", 1)
	ctx := browser(t, 360, 740)
	s.login(t, ctx, "mgr1", "/")
	for _, p := range []struct{ path, wait string }{{"/", ".card"}, {"/fleet", ".tile"}, {"/lifts/JW-0042", ".chart canvas"}} {
		do(t, ctx, "open "+p.path, chromedp.Navigate(s.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(300*time.Millisecond))
		width := run1(t, ctx, "width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
		if width > 360 {
			t.Errorf("%s is %d px wide on a 360-px phone", p.path, width)
		}
		screenshot(t, ctx, "phone"+strings.ReplaceAll(strings.TrimSuffix(p.path, "/"), "/", "-")+"-zh")
	}
}
