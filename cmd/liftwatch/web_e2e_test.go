package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
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
	broker *testrig.Mosquitto
	pub    mqtt.Client
}

// users are the accounts of the browser tests: name → role and scope flags.
var users = map[string][]string{
	"mgr1":   {"--role", "manager", "--estates", "yixian"},
	"mgr2":   {"--role", "manager", "--estates", "yixian"},
	"tech1":  {"--role", "contractor", "--company", jw42Contractor},
	"owner1": {"--role", "owner", "--lift", "JW-0042", "--household", ownerUnit}, // a household serve seeds (app.SeedHouseholds)
	"sub1":   {"--role", "subdistrict", "--subdistrict", "jiangwan"},
}

const (
	password       = "correct horse battery staple"
	jw42Contractor = "上海三菱电梯维保站"
	jw42Phone      = "021-6541 2300" // the shipped contractor directory's
	ownerUnit      = "201"
	// xss is free text that must stay text wherever a page shows it.
	xss = "<script>alert(1)</script>"
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
	if code, b := s.do("GET", "/api/v1/me", ""); code != http.StatusOK {
		t.Fatalf("GET /api/v1/me as the test admin: %d %s", code, b)
	}
	return s
}

// signIn signs the first manager in (for the benchmark).
func (s *webServer) signIn(t testing.TB, ctx context.Context, next string) {
	s.login(t, ctx, "mgr1", next)
}

// login signs name in through the login page, as a page without a session
// sends the browser there (/login?next=…, TestWebOwner checks that): the
// form posts /api/v1/session and the browser goes on to next, signed in.
func (s *webServer) login(t testing.TB, ctx context.Context, name, next string) {
	t.Helper()
	do(t, ctx, "log in "+name,
		chromedp.Navigate(s.base+"/login?next="+url.QueryEscape(next)),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#nav a")))
	loc := run1(t, ctx, "location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Path != strings.SplitN(next, "?", 2)[0] {
		t.Fatalf("%s logged in at %s, want back at %s", name, loc, next)
	}
}

// watch records what a tab's JavaScript dialogs said (a note that ran as
// script would open one) and the status of each API answer, by path.
type watch struct {
	mu      sync.Mutex
	dialogs []string
	status  map[string][]int
}

func watchTab(t testing.TB, ctx context.Context) *watch {
	w := &watch{status: map[string][]int{}}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			w.mu.Lock()
			w.dialogs = append(w.dialogs, e.Message)
			w.mu.Unlock()
		case *network.EventResponseReceived:
			if u, err := url.Parse(e.Response.URL); err == nil && strings.HasPrefix(u.Path, "/api/") {
				w.mu.Lock()
				w.status[u.Path] = append(w.status[u.Path], int(e.Response.Status))
				w.mu.Unlock()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *watch) noDialogs(t testing.TB) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.dialogs) > 0 {
		t.Fatalf("a page opened dialogs %q: free text ran as script", w.dialogs)
	}
}

func (w *watch) statuses(path string) []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.status[path]...)
}

// noScriptIn fails if sel holds a script element (free text written as HTML).
func noScriptIn(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	if n := run1(t, ctx, "scripts in "+sel, chromedp.Evaluate[int64](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel+" script"))); n != 0 {
		t.Fatalf("%d script elements in %s: free text became HTML", n, sel)
	}
}

// apiJSON is an admin's API call whose answer is decoded into v.
func (s *webServer) apiJSON(t testing.TB, method, path, body string, want int, v any) {
	t.Helper()
	code, b := s.do(method, path, body)
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// woSummary is what the tests read of a work order.
type woSummary struct {
	ID         int64  `json:"id"`
	Lift       string `json:"lift"`
	Kind       string `json:"kind"`
	Level      string `json:"level"`
	State      string `json:"state"`
	Overdue    bool   `json:"overdue"`
	Technician string `json:"technician"`
	Findings   string `json:"findings"`
	PartsFen   int64  `json:"parts_fen"`
	LabourFen  int64  `json:"labour_fen"`
	Proof      *struct {
		Verified    bool    `json:"verified"`
		RequiredMin float64 `json:"required_minutes"`
		ObservedMin float64 `json:"observed_minutes"`
	} `json:"proof"`
	Checklist []struct {
		Code   string `json:"code"`
		Needs  bool   `json:"needs_value_or_photo"`
		Result string `json:"result"`
		Value  string `json:"value"`
		Photo  string `json:"photo"`
	} `json:"checklist"`
}

// assignedOrder is an order of the JW-0042 contractor waiting to be started.
func (s *webServer) assignedOrder(t testing.TB) woSummary {
	t.Helper()
	var list []woSummary
	// The planner's first sweep runs after the server is up: wait for it.
	itest.WaitUntil(t, time.Minute, "an assigned work order of "+jw42Contractor, func() bool {
		s.apiJSON(t, "GET", "/api/v1/work-orders?state=assigned&limit=1&contractor="+url.QueryEscape(jw42Contractor), "", 200, &list)
		return len(list) > 0
	})
	return list[0]
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
	wa := watchTab(t, a)
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
	for _, want := range []string{"JW-0042", "逸仙小区", "14号", "3单元", "上海市虹口区逸仙路100弄14号", jw42Contractor, jw42Phone, "困人", "未确认"} {
		if !strings.Contains(got, want) {
			t.Errorf("card lacks %q:\n%s", want, got)
		}
	}
	if href := attr(t, a, card+" a.phone", "href"); href != "tel:02165412300" {
		t.Errorf("the phone's link is %q, want tel:02165412300", href)
	}
	var id int64
	fmt.Sscan(attr(t, a, card, "data-alert-id"), &id)
	alert := s.alert(t, id)

	// Supervision notices (the seeded overdue visits raise them) are not
	// cards among the rescue: one line each in a collapsed section below.
	notices := func() int {
		var open []struct{ Type, Estate string }
		s.apiJSON(t, "GET", "/api/v1/alerts?open=true&limit=1000", "", 200, &open)
		n := 0
		for _, x := range open {
			if strings.HasPrefix(x.Type, "supervision.") && x.Estate == "yixian" {
				n++
			}
		}
		return n
	}
	itest.WaitUntil(t, time.Minute, "a supervision notice in yixian", func() bool { return notices() > 0 })
	before := notices()
	do(t, a, "reload A for the notices", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)), chromedp.WaitReady(chromedp.CSS("#notices:not([hidden])")))
	var board struct {
		Cards, Lines int
		Open, Below  bool
		First        string
	}
	board = run1(t, a, "the notices", chromedp.Evaluate[struct {
		Cards, Lines int
		Open, Below  bool
		First        string
	}](`({cards: document.querySelectorAll('#alerts .card[data-type^="supervision."]').length,
		lines: document.querySelectorAll('#notice-list li[data-type^="supervision."]').length,
		open: document.getElementById('notices').open,
		below: !!(document.getElementById('alerts').compareDocumentPosition(document.getElementById('notices')) & Node.DOCUMENT_POSITION_FOLLOWING),
		first: (document.querySelector('#alerts .card') || {dataset: {}}).dataset.type || ''})`))
	after := notices()
	// Every notice and card in words: no raw label key (type.…, fault.…).
	if raw := run1(t, a, "raw keys", chromedp.Evaluate[string](`(document.getElementById('main').textContent.match(/\b(type|fault|door|mode)\.[a-z_.]+/) || [''])[0]`)); raw != "" {
		t.Errorf("the board shows the raw key %q", raw)
	}
	if board.Cards != 0 || board.Lines < before || board.Lines > after || board.Open || !board.Below || board.First != "entrapment" {
		t.Errorf("board: %d supervision cards among the rescue cards (want 0), %d notice lines (API: %d..%d), section open %v (want collapsed), below the cards %v, first card %q",
			board.Cards, board.Lines, before, after, board.Open, board.Below, board.First)
	}

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
	// The escalation to tier 2 (unacknowledged past 5 min) comes over the
	// stream when the engine's tick sees the new time. Wait for it on both
	// boards: a re-render between the taps below would replace the confirm
	// button under the click (seen once, on a loaded machine).
	for _, ctx := range []context.Context{a, b} {
		do(t, ctx, "the escalation shown", chromedp.WaitVisible(chromedp.CSS(card+` [data-tier="2"]`)))
	}
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

	// A: dispatch (to whom: free text with markup in it), arrive, resolve,
	// each in two taps.
	sentTo := jw42Contractor + " 王师傅 " + xss
	do(t, a, "dispatch",
		chromedp.Click(chromedp.CSS(card+` button[data-action="dispatch"]`)),
		chromedp.SetValue(chromedp.CSS(card+` input[name="to"]`), sentTo),
		chromedp.Click(chromedp.CSS(card+` button[data-confirm="dispatch"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-state="dispatched"]`)))
	do(t, a, "arrive",
		chromedp.Click(chromedp.CSS(card+` button[data-action="arrive"]`)),
		chromedp.Click(chromedp.CSS(card+` button[data-confirm="arrive"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+`[data-state="on_site"]`)))
	// The note shows as the text it is, on the board of both managers.
	if got := text(t, a, card+" .dispatched"); !strings.Contains(got, sentTo) {
		t.Errorf("the card shows %q, want the dispatch note %q as text", got, sentTo)
	}
	do(t, b, "B sees where it went", chromedp.WaitVisible(chromedp.CSS(card+`[data-state="on_site"] .dispatched`)))
	if got := text(t, b, card+" .dispatched"); !strings.Contains(got, xss) {
		t.Errorf("B's card shows %q, want %q as text", got, xss)
	}
	noScriptIn(t, a, "#alerts")
	noScriptIn(t, b, "#alerts")
	wa.noDialogs(t)
	setLangNoNav(t, a, "en")
	do(t, a, "reload in English", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(card)))
	if got := text(t, a, card); !strings.Contains(got, "On site") || !strings.Contains(got, "Entrapment") {
		t.Errorf("English card: %q", got)
	}
	screenshot(t, a, "board-en")
	// Resolve: "all passengers out" starts unticked (the manager confirms
	// it deliberately), and the form warns while the lift still reports
	// the entrapment (the fault was never cleared).
	do(t, a, "resolve: the form",
		chromedp.Click(chromedp.CSS(card+` button[data-action="resolve"]`)),
		chromedp.WaitVisible(chromedp.CSS(card+` button[data-confirm="resolve"]`)))
	if ticked := run1(t, a, "released ticked?", chromedp.Evaluate[bool](`document.querySelector('.card[data-type="entrapment"] input[name="released"]').checked`)); ticked {
		t.Errorf("the resolve form starts with the passengers released ticked")
	}
	if got := text(t, a, card+" .confirm .still"); !strings.Contains(got, "entrapment") {
		t.Errorf("the resolve form's warning is %q, want that the lift still reports the entrapment", got)
	}
	do(t, a, "resolve",
		chromedp.Click(chromedp.CSS(card+` input[name="released"]`)),
		chromedp.Click(chromedp.CSS(card+` button[data-confirm="resolve"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(card)))
	final := s.alert(t, id)
	if final.State != "resolved" || final.DispatchedTo != sentTo || final.ResolvedBy == "" {
		t.Fatalf("alert after the board: state %s, dispatched to %q, resolved by %q", final.State, final.DispatchedTo, final.ResolvedBy)
	}
	if final.AckBy != "mgr1" || final.ResolvedBy != "mgr1" {
		t.Fatalf("actors: acknowledged by %q, resolved by %q; want the signed-in mgr1", final.AckBy, final.ResolvedBy)
	}
}

func setLangNoNav(t testing.TB, ctx context.Context, l string) {
	do(t, ctx, "language "+l, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`localStorage.setItem('lw-lang', %q)`, l)))
}

// TestWebContractorVisit: a contractor's technician on a 360 × 740 phone
// logs in, opens a visit of today or overdue from the work-order list,
// starts it (a technician name with markup in it), fills the checklist
// with results, measured values and photo references, saves it, completes
// the visit (findings with markup in them, costs in yuan) and sees whether
// telemetry verified it — as the API says; every free text stays text.
func TestWebContractorVisit(t *testing.T) {
	s := startWeb(t)
	ctx := browser(t, 360, 740)
	w := watchTab(t, ctx)
	s.login(t, ctx, "tech1", "/work-orders")
	do(t, ctx, "the lists", chromedp.WaitVisible(chromedp.CSS(`#overdue li`)), chromedp.WaitVisible(chromedp.CSS(`#today li`)))
	id := run1(t, ctx, "a visit to start", chromedp.Evaluate[string](
		`(([...document.querySelectorAll('#overdue li[data-state="assigned"], #today li[data-state="assigned"]')].find(e => e.textContent.includes('逸仙小区')) || {}).dataset || {}).wo || ''`)) // an estate mgr1 manages (the sign-off below)
	if id == "" {
		t.Fatalf("no assigned visit among today's and the overdue:\n%s", text(t, ctx, "main"))
	}
	// Only the contractor's own lifts' orders are listed.
	var mine []woSummary
	s.apiJSON(t, "GET", "/api/v1/work-orders?limit=1000&contractor="+url.QueryEscape(jw42Contractor), "", 200, &mine)
	ids := run1(t, ctx, "listed orders", chromedp.Evaluate[[]string](`[...document.querySelectorAll('li[data-wo]')].map(e => e.dataset.wo)`))
	own := map[string]bool{}
	for _, o := range mine {
		own[fmt.Sprint(o.ID)] = true
	}
	for _, x := range ids {
		if !own[x] {
			t.Fatalf("work order %s listed for %s is not theirs", x, jw42Contractor)
		}
	}
	screenshot(t, ctx, "phone-work-orders-zh")

	do(t, ctx, "open #"+id, chromedp.Click(chromedp.CSS(`li[data-wo="`+id+`"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`#start button`)))
	// The technician is typed, not the account's name.
	if v := run1(t, ctx, "technician prefilled?", chromedp.Evaluate[string](`document.getElementById('technician').value`)); v != "" {
		t.Errorf("the technician field starts as %q, want empty", v)
	}
	tech := "张师傅 " + xss
	do(t, ctx, "start", chromedp.SetValue(chromedp.CSS("#technician"), tech), chromedp.Click(chromedp.CSS("#start button")),
		chromedp.WaitVisible(chromedp.CSS(`.wo-state[data-state="in_progress"]`)), chromedp.WaitVisible(chromedp.CSS("#save")))

	var wo woSummary
	s.apiJSON(t, "GET", "/api/v1/work-orders/"+id, "", 200, &wo)
	if wo.State != "in_progress" || wo.Technician != tech || len(wo.Checklist) == 0 {
		t.Fatalf("after start: state %s, technician %q, %d checklist items", wo.State, wo.Technician, len(wo.Checklist))
	}
	// A test item saved as pass without a value: the API's 400 (results[0].value)
	// shows next to that item, in Chinese, highlighted.
	var testItem string
	for _, it := range wo.Checklist {
		if it.Needs {
			testItem = it.Code
			break
		}
	}
	if testItem == "" {
		t.Fatal("the visit's checklist has no test item")
	}
	bad := `#items li[data-item="` + testItem + `"]`
	do(t, ctx, "save a test item without a value", chromedp.Click(chromedp.CSS(bad+` input[value="pass"]`), chromedp.NodeReady),
		chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS(bad+`.invalid .itemerr`)))
	if got := text(t, ctx, bad+" .itemerr"); !strings.Contains(got, "需填写测量值或照片编号") {
		t.Errorf("the item's error is %q, want the need for a value or photo in Chinese", got)
	}
	// Every item: pass; a test item also gets a measured value and a photo.
	var acts []chromedp.Action[chromedp.Void]
	for i, it := range wo.Checklist {
		row := `#items li[data-item="` + it.Code + `"]`
		acts = append(acts, chromedp.Click(chromedp.CSS(row+` input[value="pass"]`), chromedp.NodeReady))
		if it.Needs || i%5 == 0 {
			acts = append(acts, chromedp.SendKeys(chromedp.CSS(row+" input.value"), fmt.Sprintf("%d.5 mm", i)),
				chromedp.SendKeys(chromedp.CSS(row+" input.photo"), "IMG_"+it.Code+".jpg"))
		}
	}
	do(t, ctx, "fill the checklist", acts...)
	do(t, ctx, "save the checklist", chromedp.Click(chromedp.CSS("#save")), chromedp.WaitVisible(chromedp.CSS("#savemsg .msg-ok")))
	s.apiJSON(t, "GET", "/api/v1/work-orders/"+id, "", 200, &wo)
	for i, it := range wo.Checklist {
		if it.Result != "pass" {
			t.Fatalf("item %s: result %q after saving, want pass", it.Code, it.Result)
		}
		if (it.Needs || i%5 == 0) && (it.Value != fmt.Sprintf("%d.5 mm", i) || it.Photo != "IMG_"+it.Code+".jpg") {
			t.Fatalf("item %s: value %q photo %q, want what was typed", it.Code, it.Value, it.Photo)
		}
	}
	screenshot(t, ctx, "phone-work-order-checklist-zh")

	findings := "门刀与地坎间隙已调整 " + xss
	do(t, ctx, "complete",
		chromedp.SendKeys(chromedp.CSS("#findings"), findings),
		chromedp.SetValue(chromedp.CSS("#parts"), "12.50"),
		chromedp.SetValue(chromedp.CSS("#labour"), "80"),
		chromedp.SendKeys(chromedp.CSS("#signature"), "张师傅"),
		chromedp.Click(chromedp.CSS("#completebtn")),
		chromedp.WaitVisible(chromedp.CSS("#proof [data-verified]")))
	s.apiJSON(t, "GET", "/api/v1/work-orders/"+id, "", 200, &wo)
	if wo.PartsFen != 1250 || wo.LabourFen != 8000 || wo.Findings != findings {
		t.Fatalf("completion recorded parts %d labour %d findings %q", wo.PartsFen, wo.LabourFen, wo.Findings)
	}
	if wo.Proof == nil {
		t.Fatalf("a completed %s visit without proof: %+v", wo.Kind, wo)
	}
	// No inspection-mode telemetry came from the lift: not verified, and
	// the page says so, as the API does.
	verified := attr(t, ctx, "#proof [data-verified]", "data-verified")
	if verified != fmt.Sprint(wo.Proof.Verified) || wo.Proof.Verified || wo.State != "unverified" {
		t.Fatalf("page says verified=%s; API: state %s, proof %+v", verified, wo.State, *wo.Proof)
	}
	proof := text(t, ctx, "#proof")
	if !strings.Contains(proof, "遥测未核实") || !strings.Contains(proof, fmt.Sprintf("要求 %g 分钟", wo.Proof.RequiredMin)) {
		t.Errorf("proof panel %q: want not verified and the minutes required", proof)
	}
	if st := attr(t, ctx, ".wo-state", "data-state"); st != wo.State {
		t.Errorf("page state %s, API %s", st, wo.State)
	}
	// Free text stays text on the work-order page.
	if got := text(t, ctx, "#head .technician"); got != tech {
		t.Errorf("technician shows %q, want %q", got, tech)
	}
	if got := text(t, ctx, "#head .findings"); got != findings {
		t.Errorf("findings show %q, want %q", got, findings)
	}
	noScriptIn(t, ctx, "#main")
	w.noDialogs(t)
	if width := run1(t, ctx, "width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); width > 360 {
		t.Errorf("the work order is %d px wide on a 360-px phone", width)
	}
	screenshot(t, ctx, "phone-work-order-done-zh")

	// The manager finds it under "awaiting sign-off" and accepts in two
	// taps: the first only asks.
	m := browser(t, 1280, 900)
	s.login(t, m, "mgr1", "/work-orders")
	do(t, m, "awaiting sign-off", chromedp.WaitVisible(chromedp.CSS(`#signoff li[data-wo="`+id+`"]`)))
	do(t, m, "open it", chromedp.Click(chromedp.CSS(`#signoff li[data-wo="`+id+`"] a`)), chromedp.WaitVisible(chromedp.CSS("#accept")),
		chromedp.Click(chromedp.CSS("#accept")), chromedp.WaitVisible(chromedp.CSS("#signmsg .msg")))
	s.apiJSON(t, "GET", "/api/v1/work-orders/"+id, "", 200, &wo)
	if wo.State != "unverified" {
		t.Fatalf("one tap on accept changed the order to %s", wo.State)
	}
	// An unverified visit is accepted with a note (the API asks for one).
	do(t, m, "accept", chromedp.SendKeys(chromedp.CSS("#signnote"), "现场照片已核对"), chromedp.Click(chromedp.CSS("#accept")),
		chromedp.WaitVisible(chromedp.CSS(`.wo-state[data-state="verified"]`)))
	s.apiJSON(t, "GET", "/api/v1/work-orders/"+id, "", 200, &wo)
	if wo.State != "verified" {
		t.Fatalf("after the second tap the order is %s, want verified", wo.State)
	}
}

// TestWebOwner: an owner logs in and sees their lift and their household's
// statement only (not another flat's payment); another lift's page shows
// the access-denied state, because the API answered 403; the pages of
// other roles send them home.
func TestWebOwner(t *testing.T) {
	s := startWeb(t)
	base := "/api/v1/lifts/JW-0042/fund/entries"
	s.apiJSON(t, "POST", base, `{"type":"contribution","unit":"`+ownerUnit+`","amount_fen":50000,"reason":"201 年度缴存 `+xss+`","bank_ref":"E2E-201"}`, 201, nil)
	s.apiJSON(t, "POST", base, `{"type":"contribution","unit":"202","amount_fen":70000,"reason":"202 年度缴存","bank_ref":"E2E-202"}`, 201, nil)
	s.apiJSON(t, "POST", base, `{"type":"expense","category":"other","source_id":"E2E-1","amount_fen":10000,"reason":"更换门机皮带"}`, 201, nil)
	var hs []struct {
		ID   int64  `json:"id"`
		Unit string `json:"unit"`
	}
	s.apiJSON(t, "GET", "/api/v1/households?lift=JW-0042", "", 200, &hs)
	var hid int64
	for _, h := range hs {
		if h.Unit == ownerUnit {
			hid = h.ID
		}
	}
	var st struct {
		ClosingFen int64 `json:"closing_fen"`
	}
	// The closing balance counts everything before the period too: a
	// period at the end of what the API serves (five years at most) holds
	// every entry, whatever today's date.
	s.apiJSON(t, "GET", fmt.Sprintf("/api/v1/households/%d/statement?from=2095-01-01&to=2099-12-31", hid), "", 200, &st)

	ctx := browser(t, 1280, 900)
	w := watchTab(t, ctx)
	s.login(t, ctx, "owner1", "/owner")
	do(t, ctx, "the statement", chromedp.WaitVisible(chromedp.CSS("#statement table")), chromedp.WaitVisible(chromedp.CSS("#record li.next")))
	if nav := run1(t, ctx, "nav", chromedp.Evaluate[[]string](`[...document.querySelectorAll('#nav a')].map(a => a.getAttribute('href'))`)); len(nav) != 1 || nav[0] != "/owner" {
		t.Errorf("owner's navigation %v, want only /owner", nav)
	}
	if got := text(t, ctx, "#today"); !strings.Contains(got, "JW-0042") || !strings.Contains(got, jw42Phone) {
		t.Errorf("today: %q, want the lift and its contractor's phone", got)
	}
	stmt := text(t, ctx, "#statement")
	for _, want := range []string{"201 年度缴存 " + xss, "更换门机皮带", "500.00"} {
		if !strings.Contains(stmt, want) {
			t.Errorf("statement lacks %q:\n%s", want, stmt)
		}
	}
	if strings.Contains(stmt, "202 年度缴存") || strings.Contains(stmt, "700.00") {
		t.Errorf("the owner of 201 sees flat 202's payment:\n%s", stmt)
	}
	if bal := attr(t, ctx, "#statement [data-balance]", "data-balance"); bal != fmt.Sprint(st.ClosingFen) || st.ClosingFen >= 50000 {
		t.Errorf("balance on the page %s fen, the API's closing balance %d (want the payment less a share of the expense)", bal, st.ClosingFen)
	}
	noScriptIn(t, ctx, "#main")
	screenshot(t, ctx, "owner-statement-zh")

	// Another lift: the page shows it may not, as the API said; the API
	// answers as for a lift that does not exist (issue 18).
	do(t, ctx, "another lift", chromedp.Navigate(s.base+"/lifts/JW-0001"), chromedp.WaitVisible(chromedp.CSS(`#main[data-denied="404"]`)))
	if got := text(t, ctx, "#msg"); !strings.Contains(got, "没有这台电梯，或您无权查看") {
		t.Errorf("denied message %q", got)
	}
	if got := w.statuses("/api/v1/lifts/JW-0001"); len(got) == 0 || got[0] != http.StatusNotFound {
		t.Errorf("GET /api/v1/lifts/JW-0001 as the owner answered %v, want 404", got)
	}
	if n := run1(t, ctx, "panels", chromedp.Evaluate[int64](`[...document.querySelectorAll('#info, #charts')].filter(e => e.offsetParent !== null).length`)); n != 0 {
		t.Errorf("the denied page still shows %d of the lift's panels", n)
	}
	screenshot(t, ctx, "owner-denied-zh")
	// Other roles' pages send the owner home.
	for _, p := range []string{"/", "/fleet", "/work-orders", "/supervision"} {
		do(t, ctx, "open "+p, chromedp.Navigate(s.base+p), chromedp.WaitVisible(chromedp.CSS("#statement table")))
		if loc := run1(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/owner") {
			t.Errorf("the owner on %s ends at %s, want /owner", p, loc)
		}
	}
	// Logging out ends the session: the owner's page asks for a login.
	do(t, ctx, "log out", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#name")))
	do(t, ctx, "owner page again", chromedp.Navigate(s.base+"/owner"), chromedp.WaitVisible(chromedp.CSS("#name")))
	if loc := run1(t, ctx, "location", chromedp.Location()); !strings.HasSuffix(loc, "/login?next=%2Fowner") {
		t.Errorf("the owner's page without a session went to %s, want /login?next=%%2Fowner", loc)
	}
	// An unknown page is a page, not the API's JSON.
	do(t, ctx, "unknown page", chromedp.Navigate(s.base+"/alerts"), chromedp.WaitVisible(chromedp.CSS("a#home")))
	if got := text(t, ctx, "h1"); got != "页面不存在" {
		t.Errorf("unknown page heading %q", got)
	}
	if href := attr(t, ctx, "a#home", "href"); href != "/" {
		t.Errorf("unknown page links to %q, want /", href)
	}
	w.noDialogs(t)
}

// mainPages are the pages of the screenshots and the phone check: who
// looks, the path, what to wait for, and a heading in zh and en.
func mainPages(s *webServer, wo int64) []struct{ user, path, name, wait, zh, en string } {
	return []struct{ user, path, name, wait, zh, en string }{
		{"", "/login", "login", "#name", "登录", "Log in"},
		{"mgr1", "/", "board", ".card", "告警看板", "Alert board"},
		{"mgr1", "/fleet", "fleet", ".tile", "电梯总览", "Fleet"},
		{"mgr1", "/lifts/JW-0042", "lift", ".chart canvas", "实时状态", "Live status"},
		{"tech1", "/work-orders", "work-orders", "#today li", "维保工单", "Work orders"},
		{"tech1", fmt.Sprintf("/work-orders/%d", wo), "work-order", "#items li", "检查项目", "Checklist"},
		{"mgr1", "/supervision", "supervision", "#rescue table", "救援时效", "Rescue times"},
		{"owner1", "/owner", "owner", "#statement", "我的电梯", "My lift"},
	}
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
	wo := s.assignedOrder(t)
	for _, l := range []string{"zh", "en"} {
		for _, p := range mainPages(s, wo.ID) {
			pc := browser(t, 1280, 900)
			setLang(t, pc, s.base, l)
			if p.user != "" {
				s.login(t, pc, p.user, p.path)
			}
			do(t, pc, "open "+p.path, chromedp.Navigate(s.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(500*time.Millisecond))
			want := map[string]string{"zh": p.zh, "en": p.en}[l]
			if got := text(t, pc, "main"); !strings.Contains(got, want) {
				t.Errorf("%s in %s: %q missing", p.path, l, want)
			}
			if got := run1(t, pc, "lang", chromedp.Evaluate[string](`document.documentElement.lang`)); got != map[string]string{"zh": "zh-CN", "en": "en"}[l] {
				t.Errorf("%s in %s: html lang %q", p.path, l, got)
			}
			screenshot(t, pc, p.name+"-"+l)
		}
	}
}

// TestWebPhoneViewport: no main page is wider than a 360-px phone; a page
// that is names the elements that stick out.
func TestWebPhoneViewport(t *testing.T) {
	s := startWeb(t)
	s.trap(t, "JW-0042", 1)
	wo := s.assignedOrder(t)
	signedIn := map[string]context.Context{}
	for _, p := range mainPages(s, wo.ID) {
		ctx, ok := signedIn[p.user]
		if !ok {
			ctx = browser(t, 360, 740)
			if p.user != "" {
				s.login(t, ctx, p.user, p.path)
			}
			signedIn[p.user] = ctx
		}
		do(t, ctx, "open "+p.path, chromedp.Navigate(s.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.wait)), chromedp.Sleep(300*time.Millisecond))
		width := run1(t, ctx, "width", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
		if width > 360 {
			wide := run1(t, ctx, "wide elements", chromedp.Evaluate[[]string](`[...document.querySelectorAll('body *')]
				.filter(e => e.getBoundingClientRect().right > 360.5)
				.slice(0, 8).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\s+/g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right))`))
			t.Errorf("%s is %d px wide on a 360-px phone; sticking out: %v", p.path, width, wide)
		}
		screenshot(t, ctx, "phone-"+p.name+"-zh")
	}
}

// TestWebSupervisionAndLogin: the supervision page opens on all estates,
// lists every lift's fund balance (the first 40, the count of all, and all
// after "show all"), and shows each supervision situation once; the login
// page's lock-out message says the wait the server's Retry-After gives.
func TestWebSupervisionAndLogin(t *testing.T) {
	s := startWeb(t)
	ctx := browser(t, 1280, 900)
	s.login(t, ctx, "sub1", "/supervision")
	do(t, ctx, "fund balances", chromedp.WaitVisible(chromedp.CSS("#fund table")), chromedp.WaitVisible(chromedp.CSS("#events li")))
	if v := run1(t, ctx, "estate", chromedp.Evaluate[string](`document.getElementById('estate').value`)); v != "" {
		t.Errorf("the supervision page opens on estate %q, want all estates", v)
	}
	total := attr(t, ctx, "#fund", "data-total")
	var n int
	fmt.Sscan(total, &n)
	if n <= 40 {
		t.Fatalf("the subdistrict has %d lifts: the test needs more than 40", n)
	}
	if shown := attr(t, ctx, "#fund", "data-shown"); shown != "40" || !strings.Contains(text(t, ctx, "#fund .fundmore"), total) {
		t.Errorf("fund first shows %s lifts, and says %q; want 40 and the count of all (%s)", shown, text(t, ctx, "#fund .fundmore"), total)
	}
	do(t, ctx, "show all", chromedp.Click(chromedp.CSS("#fund-all")), chromedp.WaitVisible(chromedp.CSS(`#fund[data-shown="`+total+`"]`)))
	if rows := run1(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#fund tbody tr').length`)); rows != n {
		t.Errorf("after show all: %d rows, want %d", rows, n)
	}
	if dup := run1(t, ctx, "duplicates", chromedp.Evaluate[string](`(() => { const seen = new Set(); for (const li of document.querySelectorAll('#events li[data-kind]')) {
		const k = li.dataset.kind + '|' + li.querySelector('a').textContent + '|' + (li.querySelector('a[href^="/work-orders/"]') || {}).textContent;
		if (seen.has(k)) return k; seen.add(k); } return ''; })()`)); dup != "" {
		t.Errorf("supervision event shown twice: %s", dup)
	}

	// next= takes only a path of this site (issue 18): a backslash or a tab
	// that the browser reads as "//" leads home, not to another origin.
	for _, next := range []string{`/\evil.example`, "/\t/evil.example", "//evil.example", "https://evil.example/",
		"/.//evil.example", "/..//evil.example", "/%2e//evil.example", "/a/..//evil.example"} {
		nc := browser(t, 1280, 900)
		do(t, nc, "login with next "+next,
			chromedp.Navigate(s.base+"/login?next="+url.QueryEscape(next)),
			chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), "sub1"),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS("#nav a")))
		loc := run1(t, nc, "location", chromedp.Location())
		if u, err := url.Parse(loc); err != nil || "http://"+u.Host != s.base {
			t.Errorf("next=%q sent the browser to %s", next, loc)
		}
	}

	// Throttled: the page says the server's wait, not a made-up one (the
	// server's clock is fake and stands still: the sixth try waits 1 s).
	lc := browser(t, 1280, 900)
	do(t, lc, "login page", chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#name")))
	for i := 0; i < 6; i++ {
		do(t, lc, "bad login", chromedp.SetValue(chromedp.CSS("#name"), "nobody"), chromedp.SetValue(chromedp.CSS("#password"), "wrong"),
			chromedp.Click(chromedp.CSS("#submit")), chromedp.WaitVisible(chromedp.CSS("#msg .msg-error")), chromedp.WaitEnabled(chromedp.CSS("#submit")))
	}
	if got := text(t, lc, "#msg"); !strings.Contains(got, "请 1 秒后再试") {
		t.Errorf("throttle message %q: want the server's wait, 1 s", got)
	}
}
