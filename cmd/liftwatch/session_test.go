package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// service is one run of the wired service on a data directory.
type service struct {
	a    *app.App
	base string
	stop func()
}

// runService runs app.New on dir until stop; setup runs before Run (to
// make accounts).
func runService(t *testing.T, dir, broker string, setup func(*app.App)) *service {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.Data.Dir, cfg.HTTP.Listen, cfg.MQTT.Broker = dir, "127.0.0.1:0", broker
	a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	s := &service{a: a, base: "http://" + a.HTTPAddr()}
	var once bool
	s.stop = func() {
		if !once {
			once = true
			cancel()
			<-done
		}
	}
	t.Cleanup(s.stop)
	return s
}

// openAlert stores an open entrapment alert on lift before the service
// starts (the engine takes it up) and returns its id.
func openAlert(t *testing.T, dir, lift, estate string) int64 {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(dir, "liftwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Now().Add(-time.Minute)
	al := &alerts.Alert{Lift: lift, Estate: estate, Type: alerts.TypeEntrapment, Rescue: true, Severity: telemetry.SeverityCritical,
		State: alerts.StateOpen, Summary: "trapped", Count: 1, FirstSeen: at, LastSeen: at, OpenedAt: at, LastNotified: at}
	if err := db.Alerts().SaveAlert(context.Background(), al, []alerts.Event{{At: at, Action: "opened", Actor: "liftwatch"}}); err != nil {
		t.Fatal(err)
	}
	return al.ID
}

// httpUser is a cookie-keeping client and its CSRF token.
type httpUser struct {
	c    *http.Client
	csrf string
	base string
}

func newHTTPUser(base string) *httpUser {
	jar, _ := cookiejar.New(nil)
	return &httpUser{c: &http.Client{Jar: jar}, base: base}
}

func (b *httpUser) do(t *testing.T, method, path, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (b *httpUser) login(t *testing.T, name, password string) *http.Response {
	t.Helper()
	resp, body := b.do(t, "POST", "/api/v1/session", `{"name":"`+name+`","password":"`+password+`"}`, nil)
	var s struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal([]byte(body), &s)
	b.csrf = s.CSRF
	if resp.StatusCode != 200 || s.CSRF == "" {
		t.Fatalf("login %s: %d %s", name, resp.StatusCode, body)
	}
	return resp
}

func errorCode(body string) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// TestSessionsCSRFAndTokensThroughTheServer: the cookie's flags, the
// security headers, CSRF on state changes, login CSRF, a session that
// survives a restart, logout that revokes, API tokens, the login rate
// limit and the audit log, all through the wired service over HTTP.
func TestSessionsCSRFAndTokensThroughTheServer(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	dir := t.TempDir()
	id := openAlert(t, dir, "JW-0042", "yixian")
	var adminToken string
	s := runService(t, dir, broker.URL, func(a *app.App) {
		ctx := context.Background()
		sys := identity.System("test")
		if _, err := a.Identity().CreateUser(ctx, sys, identity.NewUser{Name: "wang", Role: identity.RoleManager,
			Scope: identity.Scope{Estates: []string{"yixian"}}, Password: "wang's long password"}, ""); err != nil {
			t.Fatal(err)
		}
		u, err := a.Identity().CreateUser(ctx, sys, identity.NewUser{Name: "root", Role: identity.RoleAdmin, Password: "root's long password"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if adminToken, _, err = a.Identity().IssueToken(ctx, sys, u.ID, "tests", 0, ""); err != nil {
			t.Fatal(err)
		}
	})
	b := newHTTPUser(s.base)
	resp := b.login(t, "wang", "wang's long password")

	// The cookie: HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP, expiring.
	sc := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"liftwatch_session=", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") || strings.Contains(sc, "Domain=") {
		t.Errorf("session cookie %q: Secure or Domain over plain HTTP", sc)
	}
	// Security headers, on a success and on an error.
	for _, r := range []*http.Response{resp, func() *http.Response { r, _ := b.do(t, "GET", "/nothing", "", nil); return r }()} {
		for k, v := range map[string]string{"Content-Security-Policy": app.CSP, "X-Frame-Options": "DENY",
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s %s: %s %q, want %q", r.Request.Method, r.Request.URL.Path, k, got, v)
			}
		}
	}
	if !strings.Contains(app.CSP, "script-src 'self';") || strings.Contains(app.CSP, "unsafe-inline") || !strings.Contains(app.CSP, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", app.CSP)
	}

	// Who am I; CSRF on state changes.
	r, body := b.do(t, "GET", "/api/v1/me", "", nil)
	if r.StatusCode != 200 || !strings.Contains(body, `"name": "wang"`) || !strings.Contains(body, b.csrf) {
		t.Fatalf("me: %d %s", r.StatusCode, body)
	}
	comment := fmt.Sprintf("/api/v1/alerts/%d/comment", id)
	if r, body := b.do(t, "POST", comment, `{"note":"no token"}`, nil); r.StatusCode != 403 || errorCode(body) != "csrf" {
		t.Errorf("state change without CSRF token: %d %s", r.StatusCode, body)
	}
	if r, body := b.do(t, "POST", comment, `{"note":"wrong token"}`, map[string]string{"X-CSRF-Token": "x" + b.csrf}); r.StatusCode != 403 || errorCode(body) != "csrf" {
		t.Errorf("state change with a wrong CSRF token: %d %s", r.StatusCode, body)
	}
	if r, body := b.do(t, "POST", comment, `{"note":"with token"}`, map[string]string{"X-CSRF-Token": b.csrf}); r.StatusCode != 200 || !strings.Contains(body, `"actor": "wang"`) {
		t.Errorf("state change with the CSRF token: %d %s", r.StatusCode, body)
	}
	// Login CSRF: a login posted from another site is refused.
	if r, body := newHTTPUser(s.base).do(t, "POST", "/api/v1/session", `{"name":"wang","password":"wang's long password"}`,
		map[string]string{"Origin": "http://evil.example"}); r.StatusCode != 403 {
		t.Errorf("cross-site login: %d %s", r.StatusCode, body)
	}

	// A restart keeps the session (it is in the database).
	s.stop()
	s2 := runService(t, dir, broker.URL, nil)
	u2, _ := url.Parse(s2.base)
	u1, _ := url.Parse(s.base)
	b.c.Jar.SetCookies(u2, b.c.Jar.Cookies(u1))
	b.base = s2.base
	if r, body := b.do(t, "GET", "/api/v1/me", "", nil); r.StatusCode != 200 || !strings.Contains(body, `"name": "wang"`) {
		t.Fatalf("me after restart: %d %s", r.StatusCode, body)
	}
	// Logout revokes it: the old cookie is refused afterwards.
	old := b.c.Jar.Cookies(u2)
	if r, body := b.do(t, "DELETE", "/api/v1/session", "", nil); r.StatusCode != 403 {
		t.Errorf("logout without CSRF token: %d %s", r.StatusCode, body)
	}
	r, body = b.do(t, "DELETE", "/api/v1/session", "", map[string]string{"X-CSRF-Token": b.csrf})
	if r.StatusCode != 204 || !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("logout: %d %q %s", r.StatusCode, r.Header.Get("Set-Cookie"), body)
	}
	replay := newHTTPUser(s2.base)
	replay.c.Jar.SetCookies(u2, old)
	if r, body := replay.do(t, "GET", "/api/v1/me", "", nil); r.StatusCode != 401 {
		t.Errorf("me with the logged-out cookie: %d %s", r.StatusCode, body)
	}

	// API tokens: no CSRF token needed; a wrong token is a 401.
	bearer := map[string]string{"Authorization": "Bearer " + adminToken}
	if r, body := replay.do(t, "POST", comment, `{"note":"by token"}`, bearer); r.StatusCode != 200 || !strings.Contains(body, `"actor": "root"`) {
		t.Errorf("state change by API token: %d %s", r.StatusCode, body)
	}
	if r, body := replay.do(t, "GET", "/api/v1/me", "", map[string]string{"Authorization": "Bearer lwt_" + strings.Repeat("A", 43)}); r.StatusCode != 401 {
		t.Errorf("unknown token: %d %s", r.StatusCode, body)
	}

	// The login rate limit: five failures for an account, then 429 with
	// Retry-After, even for the right password.
	for i := 0; i < 5; i++ {
		if r, body := replay.do(t, "POST", "/api/v1/session", `{"name":"wang","password":"not it at all"}`, nil); r.StatusCode != 401 {
			t.Fatalf("wrong password %d: %d %s", i, r.StatusCode, body)
		}
	}
	r, body = replay.do(t, "POST", "/api/v1/session", `{"name":"wang","password":"wang's long password"}`, nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || errorCode(body) != "rate_limited" {
		t.Errorf("sixth login: %d Retry-After %q %s", r.StatusCode, r.Header.Get("Retry-After"), body)
	}

	// The audit log has it all, newest first, in pages.
	r, body = replay.do(t, "GET", "/api/v1/audit?limit=2", "", bearer)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Link"), `rel="next"`) || !strings.Contains(r.Header.Get("Link"), "cursor=") {
		t.Fatalf("audit page: %d Link %q %s", r.StatusCode, r.Header.Get("Link"), body)
	}
	_, body = replay.do(t, "GET", "/api/v1/audit?limit=1000", "", bearer)
	for _, want := range []string{`"action": "login"`, `"outcome": "denied"`, `"action": "logout"`, `"action": "POST ` + comment + `"`, `"detail": "status 403"`} {
		if !strings.Contains(body, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if r, _ := b.do(t, "GET", "/api/v1/audit", "", nil); r.StatusCode != 401 {
		t.Errorf("audit after logout: %d", r.StatusCode)
	}
}

// TestDoubleAcknowledgeAndEscaping: two managers acknowledge the same
// alert from the version they saw: one 200, one 409 naming who was first,
// with the alert as it is now; a note of <script> comes back as the same
// text, JSON-escaped.
func TestDoubleAcknowledgeAndEscaping(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	dir := t.TempDir()
	id := openAlert(t, dir, "JW-0042", "yixian")
	id2 := openAlert(t, dir, "JW-0043", "yixian")
	s := runService(t, dir, broker.URL, func(a *app.App) {
		for _, n := range []string{"wang", "li"} {
			if _, err := a.Identity().CreateUser(context.Background(), identity.System("test"), identity.NewUser{Name: n, Role: identity.RoleManager,
				Scope: identity.Scope{Estates: []string{"yixian"}}, Password: n + "'s long password"}, ""); err != nil {
				t.Fatal(err)
			}
		}
	})
	wang, li := newHTTPUser(s.base), newHTTPUser(s.base)
	wang.login(t, "wang", "wang's long password")
	li.login(t, "li", "li's long password")
	var seen struct{ Version int64 }
	_, body := wang.do(t, "GET", fmt.Sprintf("/api/v1/alerts/%d", id), "", nil)
	if json.Unmarshal([]byte(body), &seen) != nil || seen.Version < 1 {
		t.Fatalf("alert view has no version: %s", body)
	}
	ack := fmt.Sprintf("/api/v1/alerts/%d/acknowledge", id)
	ifMatch := fmt.Sprintf(`"%d"`, seen.Version)
	r1, b1 := wang.do(t, "POST", ack, `{}`, map[string]string{"X-CSRF-Token": wang.csrf, "If-Match": ifMatch})
	r2, b2 := li.do(t, "POST", ack, `{}`, map[string]string{"X-CSRF-Token": li.csrf, "If-Match": ifMatch})
	if r1.StatusCode != 200 || !strings.Contains(b1, `"acknowledged_by": "wang"`) {
		t.Fatalf("first acknowledge: %d %s", r1.StatusCode, b1)
	}
	var conflict struct {
		Error struct {
			Code, Message, State string
			Alert                *struct {
				Version int64
				State   string
				AckBy   string `json:"acknowledged_by"`
			}
		}
	}
	if r2.StatusCode != 409 || json.Unmarshal([]byte(b2), &conflict) != nil || conflict.Error.Code != "conflict" ||
		conflict.Error.State != "acknowledged" || conflict.Error.Alert == nil || conflict.Error.Alert.Version != seen.Version+1 ||
		conflict.Error.Alert.AckBy != "wang" || !strings.Contains(conflict.Error.Message, "changed since you loaded it") ||
		!strings.Contains(conflict.Error.Message, "wang") {
		t.Fatalf("second acknowledge (stale version): %d %s", r2.StatusCode, b2)
	}
	// Without a version the second still learns who was first.
	r3, b3 := li.do(t, "POST", ack, `{}`, map[string]string{"X-CSRF-Token": li.csrf})
	if r3.StatusCode != 409 || !strings.Contains(b3, "is already acknowledged by wang at ") {
		t.Fatalf("second acknowledge (no version): %d %s", r3.StatusCode, b3)
	}
	// A body version works as If-Match does; the two must agree.
	if r, b := li.do(t, "POST", fmt.Sprintf("/api/v1/alerts/%d/comment", id), fmt.Sprintf(`{"note":"x","version":%d}`, seen.Version),
		map[string]string{"X-CSRF-Token": li.csrf}); r.StatusCode != 409 {
		t.Errorf("comment with a stale body version: %d %s", r.StatusCode, b)
	}
	if r, b := li.do(t, "POST", fmt.Sprintf("/api/v1/alerts/%d/comment", id), `{"note":"x","version":1}`,
		map[string]string{"X-CSRF-Token": li.csrf, "If-Match": `"2"`}); r.StatusCode != 400 || !strings.Contains(b, `"field": "version"`) {
		t.Errorf("version and If-Match disagree: %d %s", r.StatusCode, b)
	}
	// The actor is never a field of the body.
	if r, b := li.do(t, "POST", fmt.Sprintf("/api/v1/alerts/%d/comment", id2), `{"note":"x","actor":"wang"}`,
		map[string]string{"X-CSRF-Token": li.csrf}); r.StatusCode != 400 || !strings.Contains(b, `"field": "actor"`) {
		t.Errorf("actor in the body: %d %s", r.StatusCode, b)
	}

	// Escaping: the API returns the text as written, as JSON text.
	const note = `<script>alert("x")</script> & <img src=x onerror=y>`
	nb, _ := json.Marshal(map[string]string{"note": note})
	if r, b := li.do(t, "POST", fmt.Sprintf("/api/v1/alerts/%d/comment", id2), string(nb), map[string]string{"X-CSRF-Token": li.csrf}); r.StatusCode != 200 {
		t.Fatalf("comment: %d %s", r.StatusCode, b)
	}
	r, raw := li.do(t, "GET", fmt.Sprintf("/api/v1/alerts/%d", id2), "", nil)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("alert: content type %q, nosniff %q", r.Header.Get("Content-Type"), r.Header.Get("X-Content-Type-Options"))
	}
	if strings.Contains(raw, "<script>") || !strings.Contains(raw, `\u003cscript\u003e`) {
		t.Errorf("the note is not JSON-escaped text: %s", raw)
	}
	var got struct {
		History []struct{ Action, Note, Actor string }
	}
	json.Unmarshal([]byte(raw), &got)
	found := false
	for _, e := range got.History {
		found = found || e.Action == "comment" && e.Note == note && e.Actor == "li"
	}
	if !found {
		t.Errorf("the note did not come back as written: %s", raw)
	}
}
