package web

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/api"
)

// mux is a Router over a plain ServeMux that records the guards.
type mux struct {
	*http.ServeMux
	guards   map[string]api.Guard
	notFound http.Handler
}

func (m *mux) HandleNotFound(h http.Handler) { m.notFound = h }

func (m *mux) Handle(p string, g api.Guard, h http.Handler) { m.guards[p] = g; m.ServeMux.Handle(p, h) }

func served(t *testing.T) *mux {
	m := &mux{ServeMux: http.NewServeMux(), guards: map[string]api.Guard{}}
	now := time.Date(2026, 3, 2, 1, 2, 3, 0, time.UTC)
	Register(m, Deps{Now: func() time.Time { return now }, Estates: func() []string { return []string{"yixian", "guyuan"} },
		Clocks: func(e string) Clocks {
			if e == "guyuan" {
				return Clocks{Ack: 3 * time.Minute, OnSite: 20 * time.Minute, CriticalOnSite: time.Hour, StillReported: 5 * time.Minute}
			}
			return Clocks{Ack: 5 * time.Minute, OnSite: 30 * time.Minute, CriticalOnSite: 2 * time.Hour, StillReported: 10 * time.Minute}
		}})
	return m
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	return w
}

var (
	inlineScript  = regexp.MustCompile(`(?is)<script(?:\s[^>]*)?>\s*[^<\s]`)
	scriptNoSrc   = regexp.MustCompile(`(?i)<script(?:(?:\s+[a-z-]+(?:="[^"]*")?)*)>`)
	inlineHandler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	inlineStyle   = regexp.MustCompile(`(?i)<style|\sstyle\s*=`)
	assetRef      = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
	jsImport      = regexp.MustCompile(`(?m)^import .* from '(\./|\.\./)([^']+)';`)
)

// TestPagesAreCSPClean: every page is served as HTML with the security
// headers, holds no inline script, handler or style (CSP script-src and
// style-src 'self'), and every asset it names exists and is served with its
// type.
func TestPagesAreCSPClean(t *testing.T) {
	m := served(t)
	paths := map[string]string{"GET /{$}": "/", "GET /login": "/login", "GET /fleet": "/fleet", "GET /lifts/{id}": "/lifts/JW-0042",
		"GET /work-orders": "/work-orders", "GET /work-orders/{id}": "/work-orders/7", "GET /supervision": "/supervision", "GET /owner": "/owner",
		"GET /inbox": "/inbox", "GET /users": "/users"}
	if len(paths) != len(Pages) {
		t.Fatalf("test knows %d pages, Pages has %d", len(paths), len(Pages))
	}
	for _, p := range Pages {
		w := get(t, m, paths[p.Pattern])
		body := w.Body.String()
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", p.Pattern, w.Code, w.Header().Get("Content-Type"))
		}
		if !m.guards[p.Pattern].Public {
			t.Errorf("%s: a page shell must be public (it holds no data)", p.Pattern)
		}
		for h, want := range map[string]string{"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
			if got := w.Header().Get(h); got != want {
				t.Errorf("%s: %s = %q, want %q", p.Pattern, h, got, want)
			}
		}
		if inlineScript.MatchString(body) {
			t.Errorf("%s: inline script", p.File)
		}
		for _, s := range scriptNoSrc.FindAllString(body, -1) {
			if !strings.Contains(s, `src="/assets/`) {
				t.Errorf("%s: script without a src of our own: %s", p.File, s)
			}
		}
		if inlineHandler.MatchString(body) || inlineStyle.MatchString(body) {
			t.Errorf("%s: inline event handler or style", p.File)
		}
		for _, ref := range assetRef.FindAllStringSubmatch(body, -1) {
			if a := get(t, m, ref[1]); a.Code != 200 || a.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s names %s: %d", p.File, ref[1], a.Code)
			}
		}
	}
	if w := get(t, m, "/assets/js/board.js"); w.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("board.js served as %q", w.Header().Get("Content-Type"))
	}
	for _, bad := range []string{"/assets/nope.js", "/assets/vendor/uplot/LICENSE"} {
		if w := get(t, m, bad); w.Code != 404 {
			t.Errorf("%s: %d, want 404", bad, w.Code)
		}
	}
}

// TestScriptsWriteTextOnly: no script writes HTML (innerHTML and friends)
// or evaluates strings, so free text (notes, names) stays text; every
// module a script imports exists.
func TestScriptsWriteTextOnly(t *testing.T) {
	bad := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setTimeout\(\s*['"]`)
	err := fs.WalkDir(files, "assets/js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		if loc := bad.FindIndex(b); loc != nil {
			t.Errorf("%s writes HTML or evaluates code: %q", p, b[loc[0]:loc[1]])
		}
		for _, m := range jsImport.FindAllStringSubmatch(string(b), -1) {
			dir := "assets/js/"
			if m[1] == "../" {
				dir = "assets/"
			}
			if _, err := fs.Stat(files, dir+m[2]); err != nil {
				t.Errorf("%s imports %s%s: %v", p, m[1], m[2], err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryStringInBothLanguages: each key the pages and scripts use is
// translated in zh and en, and the two dictionaries have the same keys.
func TestEveryStringInBothLanguages(t *testing.T) {
	zh, en := Labels()
	if len(zh) < 100 {
		t.Fatalf("only %d zh keys found: the parser is wrong", len(zh))
	}
	for k := range zh {
		if !en[k] {
			t.Errorf("%s: zh only", k)
		}
	}
	for k := range en {
		if !zh[k] {
			t.Errorf("%s: en only", k)
		}
	}
	used := map[string]string{}
	literal := regexp.MustCompile(`\bt\('([a-z_]+(?:\.[a-z_]+)+)'|data-i18n(?:-ph)?="([a-z_]+(?:\.[a-z_]+)+)"|\bkey: '([a-z_]+(?:\.[a-z_]+)+)'`)
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() || !(strings.HasSuffix(p, ".html") || strings.HasSuffix(p, ".js")) || strings.Contains(p, "vendor") {
			return nil
		}
		b, _ := files.ReadFile(p)
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			used[m[1]+m[2]+m[3]] = p
		}
		return nil
	})
	if len(used) < 50 {
		t.Fatalf("only %d keys used found: the parser is wrong", len(used))
	}
	var missing []string
	for k, p := range used {
		if !zh[k] {
			missing = append(missing, k+" ("+p+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("keys used but not translated: %v", missing)
	}
}

// TestClock: the board's clock is the injected one, with the default
// clocks (rescue, critical fault on site, still reported) and the estates
// that differ.
func TestClock(t *testing.T) {
	m := served(t)
	if g := m.guards["GET /web/clock"]; g.Public || g.Action == "" {
		t.Fatalf("clock guard %+v: it must need a signed-in reader of alerts", g)
	}
	w := get(t, m, "/web/clock")
	var v ClockView
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || w.Code != 200 {
		t.Fatalf("%d %s %v", w.Code, w.Body, err)
	}
	want := ClockView{Now: "2026-03-02T01:02:03.000Z", Default: ClocksView{300, 1800, 7200, 600}, Estates: map[string]ClocksView{"guyuan": {180, 1200, 3600, 300}}}
	if v.Now != want.Now || v.Default != want.Default || len(v.Estates) != 1 || v.Estates["guyuan"] != want.Estates["guyuan"] {
		t.Fatalf("clock %+v, want %+v", v, want)
	}
}

// TestNotFoundPage: Register gives the router its "page not found": a 404
// HTML page with the security headers, no script or inline style, both
// languages and a link home.
func TestNotFoundPage(t *testing.T) {
	m := served(t)
	if m.notFound == nil {
		t.Fatal("Register set no not-found page")
	}
	w := get(t, m.notFound, "/alerts")
	body := w.Body.String()
	if w.Code != 404 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("Content-Security-Policy") != CSP {
		t.Fatalf("not found: %d %v", w.Code, w.Header())
	}
	for _, want := range []string{`href="/"`, "页面不存在", "Page not found"} {
		if !strings.Contains(body, want) {
			t.Errorf("not-found page lacks %q", want)
		}
	}
	if scriptNoSrc.MatchString(body) || inlineHandler.MatchString(body) || inlineStyle.MatchString(body) {
		t.Error("not-found page has a script, a handler or an inline style")
	}
}
