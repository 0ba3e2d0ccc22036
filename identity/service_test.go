package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/store"
)

// fast are cheap argon2id parameters so tests that log in often stay quick;
// TestPasswordRoundTrip covers the defaults.
var fast = identity.Params{Time: 1, Memory: 8 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

var start = time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)

const pw = "correct horse battery"

type env struct {
	clk *clock.Fake
	db  *store.DB
	svc *identity.Service
	ids map[string]int64 // user name -> id
}

// newEnv is a Service over a real SQLite store in a temporary directory,
// with one user per role (named after the role, password pw).
func newEnv(t *testing.T, mod func(*identity.Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(start)
	cfg := identity.Config{Now: clk.Now, Params: fast}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := identity.NewService(db.Identity(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clk: clk, db: db, svc: svc, ids: map[string]int64{}}
	for _, nu := range []identity.NewUser{
		{Name: "admin", Role: identity.RoleAdmin},
		{Name: "manager", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"JW"}}},
		{Name: "owner", Role: identity.RoleOwner, Scope: identity.Scope{Lift: "JW-0001", Household: "12-302"}},
	} {
		nu.Password = pw
		u, err := svc.CreateUser(ctx, identity.System("test"), nu, "")
		if err != nil {
			t.Fatal(err)
		}
		e.ids[u.Name] = u.ID
	}
	return e
}

func (e *env) login(t *testing.T, name string) *identity.LoginResult {
	t.Helper()
	res, err := e.svc.Login(context.Background(), name, pw, "192.0.2.1")
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return res
}

// TestSessionExpiry: a session lives while used within the idle timeout,
// ends after the idle timeout without use, and ends at its absolute expiry
// however busy; all on the injected clock.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, func(c *identity.Config) { c.SessionTTL, c.SessionIdle = 4*time.Hour, 30*time.Minute })
	ctx := context.Background()
	busy := e.login(t, "manager")
	idle := e.login(t, "owner")
	if !busy.ExpiresAt.Equal(start.Add(4 * time.Hour)) {
		t.Fatalf("expires %v, want start+4h", busy.ExpiresAt)
	}
	for i := 1; i <= 8; i++ { // used every 29 minutes up to 3h52m
		e.clk.Advance(29 * time.Minute)
		a, csrf, err := e.svc.SessionActor(ctx, busy.RawID)
		if err != nil {
			t.Fatalf("busy session after %d uses: %v", i, err)
		}
		if a.Name != "manager" || a.Via != identity.ViaSession || csrf != busy.CSRF {
			t.Fatalf("session actor %+v csrf %q", a, csrf)
		}
		if i == 1 {
			// The idle one was last used at start, 29 minutes ago: still alive...
			if _, _, err := e.svc.SessionActor(ctx, idle.RawID); err != nil {
				t.Fatalf("idle session at 29m: %v", err)
			}
		}
		if i == 3 { // ...87 minutes later, 58 since its last use: gone.
			if _, _, err := e.svc.SessionActor(ctx, idle.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("idle session 58m after its last use: %v, want ErrUnauthenticated", err)
			}
		}
	}
	e.clk.Set(start.Add(4*time.Hour - time.Millisecond))
	if _, _, err := e.svc.SessionActor(ctx, busy.RawID); err != nil {
		t.Fatalf("1ms before the absolute expiry: %v", err)
	}
	e.clk.Advance(time.Millisecond)
	if _, _, err := e.svc.SessionActor(ctx, busy.RawID); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("at the absolute expiry: %v, want ErrUnauthenticated", err)
	}
	for _, junk := range []string{"", "x", busy.RawID + "A", strings.Repeat("A", 43)} {
		if _, _, err := e.svc.SessionActor(ctx, junk); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("session %q: %v, want ErrUnauthenticated", junk, err)
		}
	}
}

// do runs h on a request; cookie, if not empty, is the session id.
func do(h http.Handler, method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "198.51.100.9:40000"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type errEnvelope struct {
	Error struct{ Code, Message string } `json:"error"`
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var e errEnvelope
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
		t.Fatalf("status %d body %q: not the JSON error envelope (%v)", w.Code, w.Body.String(), err)
	}
	return e.Error.Code
}

// app is the middleware chain a handler that reports its actor sits behind.
func (e *env) app() http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := identity.ActorFrom(r.Context())
		io.Copy(io.Discard, r.Body)
		json.NewEncoder(w).Encode(a)
	})
	mux := http.NewServeMux()
	mux.Handle("/login", e.svc.LoginHandler())
	mux.Handle("/logout", e.svc.Protect(e.svc.LogoutHandler()))
	mux.Handle("/open", e.svc.Protect(inner))
	mux.Handle("/", e.svc.Protect(identity.RequireActor(inner)))
	return mux
}

// TestCSRFMiddleware: a cookie-authenticated state change needs the
// session's CSRF token (header or form field); missing or wrong is 403 with
// the JSON error; safe methods and bearer-token requests need none.
func TestCSRFMiddleware(t *testing.T) {
	e := newEnv(t, nil)
	h := e.app()
	s := e.login(t, "manager")
	other := e.login(t, "owner")
	cookie := identity.CookieName + "=" + s.RawID
	raw, _, err := e.svc.IssueToken(context.Background(), identity.System("test"), e.ids["manager"], "ci", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		status int
	}{
		{"no token", "POST", "{}", map[string]string{"Cookie": cookie}, 403},
		{"wrong token", "POST", "{}", map[string]string{"Cookie": cookie, identity.CSRFHeader: "nope"}, 403},
		{"another session's token", "DELETE", "", map[string]string{"Cookie": cookie, identity.CSRFHeader: other.CSRF}, 403},
		{"wrong form field", "POST", "csrf_token=nope", map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"right header", "POST", "{}", map[string]string{"Cookie": cookie, identity.CSRFHeader: s.CSRF}, 200},
		{"right header, PUT", "PUT", "{}", map[string]string{"Cookie": cookie, identity.CSRFHeader: s.CSRF}, 200},
		{"right form field", "POST", "csrf_token=" + url.QueryEscape(s.CSRF), map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, 200},
		{"GET needs none", "GET", "", map[string]string{"Cookie": cookie}, 200},
		{"bearer needs none", "POST", "{}", map[string]string{"Authorization": "Bearer " + raw}, 200},
	}
	for _, c := range cases {
		w := do(h, c.method, "/thing", c.body, c.hdr)
		if w.Code != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, w.Code, c.status, w.Body)
			continue
		}
		if c.status == 403 {
			if code := errorCode(t, w); code != "csrf" {
				t.Errorf("%s: error code %q, want csrf", c.name, code)
			}
		}
	}
}

// TestAuthenticateMiddleware: the actor comes from the session cookie or the
// bearer token and is in the context; absent is 401 JSON where required; a
// bad bearer token is 401 even beside a good cookie; an actor in the body
// changes nothing.
func TestAuthenticateMiddleware(t *testing.T) {
	e := newEnv(t, nil)
	h := e.app()
	s := e.login(t, "owner")
	actorOf := func(w *httptest.ResponseRecorder) identity.Actor {
		t.Helper()
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var a identity.Actor
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	body := `{"id": 1, "name": "admin", "role": "admin"}`
	a := actorOf(do(h, "POST", "/thing", body, map[string]string{"Cookie": identity.CookieName + "=" + s.RawID, identity.CSRFHeader: s.CSRF}))
	if a.Name != "owner" || a.Role != identity.RoleOwner || a.UserID != e.ids["owner"] || a.Scope.Lift != "JW-0001" {
		t.Fatalf("actor %+v, want the owner of the session (not the body's admin)", a)
	}
	raw, _, err := e.svc.IssueToken(context.Background(), identity.System("test"), e.ids["manager"], "ci", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if a := actorOf(do(h, "GET", "/thing", "", map[string]string{"Authorization": "Bearer " + raw})); a.Name != "manager" {
		t.Fatalf("bearer actor %+v", a)
	}
	if a := actorOf(do(h, "GET", "/open", "", nil)); a.Name != "" {
		t.Fatalf("anonymous request has actor %+v", a)
	}
	for name, hdr := range map[string]map[string]string{
		"no credentials":            nil,
		"unknown session":           {"Cookie": identity.CookieName + "=" + strings.Repeat("A", 43)},
		"bad bearer beside cookie":  {"Authorization": "Bearer lwt_nope", "Cookie": identity.CookieName + "=" + s.RawID},
		"basic auth":                {"Authorization": "Basic YTpi"},
		"secure name, plain config": {"Cookie": identity.SecureCookieName + "=" + s.RawID},
	} {
		w := do(h, "GET", "/thing", "", hdr)
		if w.Code != 401 || errorCode(t, w) != "unauthorized" || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: status %d %s, want 401 unauthorized with WWW-Authenticate", name, w.Code, w.Body)
		}
	}
}

// TestLoginLogoutHTTP: the login handler sets the session cookie with its
// settings and answers the CSRF token; logout revokes the session.
func TestLoginLogoutHTTP(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, func(c *identity.Config) { c.SecureCookie = secure })
		h := e.app()
		w := do(h, "POST", "/login", `{"name": "Manager", "password": "`+pw+`"}`, map[string]string{"Content-Type": "application/json"})
		if w.Code != 200 {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		var res struct {
			User      identity.Actor `json:"user"`
			CSRFToken string         `json:"csrf_token"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.User.Name != "manager" || res.CSRFToken == "" {
			t.Fatalf("login answer %s (%v)", w.Body, err)
		}
		cs := w.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies %v", cs)
		}
		c := cs[0]
		wantName := identity.CookieName
		if secure {
			wantName = identity.SecureCookieName
		}
		if c.Name != wantName || !c.HttpOnly || c.Secure != secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
			c.Domain != "" || c.MaxAge != int((12*time.Hour).Seconds()) {
			t.Fatalf("secure=%v: cookie %+v", secure, c)
		}
		auth := map[string]string{"Cookie": c.Name + "=" + c.Value, identity.CSRFHeader: res.CSRFToken}
		if w := do(h, "POST", "/thing", "", auth); w.Code != 200 {
			t.Fatalf("with the new session: %d %s", w.Code, w.Body)
		}
		if w := do(h, "POST", "/logout", "", map[string]string{"Cookie": c.Name + "=" + c.Value}); w.Code != 403 {
			t.Fatalf("logout without CSRF token: %d, want 403", w.Code)
		}
		w = do(h, "POST", "/logout", "", auth)
		if w.Code != 204 || len(w.Result().Cookies()) != 1 || w.Result().Cookies()[0].MaxAge >= 0 {
			t.Fatalf("logout: %d, cookies %v", w.Code, w.Result().Cookies())
		}
		if w := do(h, "POST", "/thing", "", auth); w.Code != 401 {
			t.Fatalf("after logout: %d, want 401", w.Code)
		}
		form := "name=owner&password=" + url.QueryEscape("wrong password")
		if w := do(h, "POST", "/login", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}); w.Code != 401 || errorCode(t, w) != "invalid_credentials" {
			t.Fatalf("wrong password: %d %s", w.Code, w.Body)
		}
		if w := do(h, "GET", "/login", "", nil); w.Code != 405 || w.Header().Get("Allow") != "POST" {
			t.Fatalf("GET login: %d", w.Code)
		}
		if w := do(h, "POST", "/login", `{"name": "owner", "password": "x", "role": "admin"}`, nil); w.Code != 400 {
			t.Fatalf("unknown field in login: %d, want 400", w.Code)
		}
	}
}

// TestLoginThrottlePerDevice: five failures of one account from one address
// cost nothing; then that device waits 1 s, 2 s, 4 s … (429 with
// Retry-After), even with the right password, while the same account from
// an address it has signed in from, and other accounts, sign in at once.
// A success clears the device's count.
func TestLoginThrottlePerDevice(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const attacker = "203.0.113.66"
	e.login(t, "owner") // from 192.0.2.1: a known device of the owner
	for i := range 5 {
		if _, err := e.svc.Login(ctx, "owner", "wrong password", attacker); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	var rl *identity.RateLimitedError
	if _, err := e.svc.Login(ctx, "owner", pw, attacker); !errors.As(err, &rl) || rl.Key != "device" || rl.RetryAfter != time.Second {
		t.Fatalf("right password after 5 failures on this device: %v, want a 1s device delay", err)
	}
	e.clk.Advance(time.Second)
	if _, err := e.svc.Login(ctx, "owner", "wrong again", attacker); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "owner", pw, attacker); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("after the 6th failure: %v, want 2s", err)
	}
	// Over HTTP (from 198.51.100.9): a device that has not failed signs in;
	// after five failures of its own it gets 429 with Retry-After.
	h := e.app()
	if w := do(h, "POST", "/login", `{"name": "owner", "password": "`+pw+`"}`, nil); w.Code != 200 {
		t.Fatalf("the owner from a device that has not failed: %d %s", w.Code, w.Body)
	}
	for range 5 {
		if w := do(h, "POST", "/login", `{"name": "owner", "password": "nope"}`, nil); w.Code != 401 {
			t.Fatalf("wrong password over HTTP: %d %s", w.Code, w.Body)
		}
	}
	if w := do(h, "POST", "/login", `{"name": "owner", "password": "`+pw+`"}`, nil); w.Code != 429 || w.Header().Get("Retry-After") != "1" || errorCode(t, w) != "rate_limited" {
		t.Fatalf("HTTP after five failures: %d Retry-After %q %s, want 429 1", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	e.login(t, "owner")   // the owner's known device: at once
	e.login(t, "manager") // another account: at once
	e.clk.Advance(2 * time.Second)
	if _, err := e.svc.Login(ctx, "owner", pw, attacker); err != nil {
		t.Fatalf("after the delay: %v", err)
	}
	// The success cleared the device: five more free failures.
	for i := range 5 {
		if _, err := e.svc.Login(ctx, "owner", "wrong password", attacker); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("failure %d after a success: %v", i, err)
		}
	}
}

// TestLoginThrottlePerAddress: 20 failures from one address (password
// spraying, unknown names included) slow that address for accounts that
// never signed in from it, with growing delays; an account that did (the
// admin behind the same NAT) signs in at once, and so does anyone from
// another address. An IPv6 client is its /64. Admins can unlock an account.
func TestLoginThrottlePerAddress(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const sprayer = "2001:db8:5:6::1"
	if _, err := e.svc.Login(ctx, "admin", pw, "2001:db8:5:6::99"); err != nil { // the admin's desk, same /64
		t.Fatal(err)
	}
	for i := range 24 { // 20 strikes on the address: the admin's 4, from a known address, are the device's only
		name := "nobody" + strconv.Itoa(i)
		if i%2 == 0 {
			name = []string{"admin", "manager", "owner"}[i%3] // at most 4 each: under the device's free five
		}
		if _, err := e.svc.Login(ctx, name, "wrong password"+strconv.Itoa(i), sprayer); !errors.Is(err, identity.ErrInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	var rl *identity.RateLimitedError
	if _, err := e.svc.Login(ctx, "manager", pw, "2001:db8:5:6:ffff::2"); !errors.As(err, &rl) || rl.Key != "address" || rl.RetryAfter != time.Second {
		t.Fatalf("a stranger on the same /64 after 20 strikes: %v, want a 1s address delay", err)
	}
	if _, err := e.svc.Login(ctx, "admin", pw, "2001:db8:5:6::99"); err != nil {
		t.Fatalf("the admin, known on that /64: %v", err)
	}
	if _, err := e.svc.Login(ctx, "manager", pw, "2001:db8:5:7::1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	e.clk.Advance(time.Second)
	if _, err := e.svc.Login(ctx, "manager", pw, sprayer); err != nil {
		t.Fatalf("after the delay: %v", err)
	}

	// Unlock: only an admin, audited; it clears the account's strikes (and
	// its own devices'), not the attacking device's.
	for range 6 { // five count on this device; the sixth is already throttled
		e.svc.Login(ctx, "owner", "wrong", "192.0.2.77")
	}
	e.svc.Login(ctx, "owner", "wrong", "192.0.2.79") // ten on the account in all
	if _, err := e.svc.Login(ctx, "owner", pw, "192.0.2.77"); !errors.As(err, &rl) {
		t.Fatalf("not throttled: %v", err)
	}
	if _, err := e.svc.Login(ctx, "owner", pw, "192.0.2.78"); !errors.As(err, &rl) || rl.Key != "account" {
		t.Fatalf("a new device of the attacked owner before the unlock: %v, want the account throttle", err)
	}
	manager := identity.Actor{UserID: e.ids["manager"], Name: "manager", Role: identity.RoleManager}
	var fe *identity.ForbiddenError
	if err := e.svc.Unlock(ctx, manager, "owner", "192.0.2.1"); !errors.As(err, &fe) {
		t.Fatalf("a manager unlocking: %v", err)
	}
	admin := identity.Actor{UserID: e.ids["admin"], Name: "admin", Role: identity.RoleAdmin}
	if err := e.svc.Unlock(ctx, admin, "owner", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "owner", pw, "192.0.2.78"); err != nil {
		t.Fatalf("a new device after unlock: %v", err)
	}
	if _, err := e.svc.Login(ctx, "owner", pw, "192.0.2.77"); !errors.As(err, &rl) || rl.Key != "device" {
		t.Fatalf("the attacking device after unlock: %v, want still throttled", err)
	}
	if err := e.svc.Unlock(ctx, admin, "nobody-at-all", "192.0.2.1"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("unlocking an account that does not exist: %v", err)
	}
}

// TestAuditEntries: logins (success, failure, rate limited), account and
// token creation and every state-changing request (allowed or refused) are
// in the audit log with who, what, when and from where; only admins list it.
func TestAuditEntries(t *testing.T) {
	e := newEnv(t, func(c *identity.Config) {
		c.DeviceThrottle = identity.Throttle{Free: 1, Base: time.Hour, Max: time.Hour, Forget: time.Hour}
	})
	ctx := context.Background()
	h := e.app()
	s := e.login(t, "manager")
	e.clk.Advance(time.Second)
	if _, err := e.svc.Login(ctx, "owner", "wrong password", "192.0.2.50"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	if _, err := e.svc.Login(ctx, "owner", pw, "192.0.2.50"); err == nil {
		t.Fatal("not rate limited")
	}
	if _, err := e.svc.Login(ctx, "ghost", "wrong password", "192.0.2.51"); !errors.Is(err, identity.ErrInvalidCredentials) {
		t.Fatal(err)
	}
	e.clk.Advance(time.Second)
	cookie := identity.CookieName + "=" + s.RawID
	do(h, "POST", "/alerts/7/ack", "", map[string]string{"Cookie": cookie, identity.CSRFHeader: s.CSRF})
	do(h, "POST", "/alerts/8/ack", "", map[string]string{"Cookie": cookie})
	do(h, "GET", "/alerts", "", map[string]string{"Cookie": cookie})

	admin := identity.Actor{UserID: e.ids["admin"], Name: "admin", Role: identity.RoleAdmin}
	page, err := e.svc.AuditLog(ctx, admin, identity.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ actor, action, object, remote, outcome, detail string }
	var got []row
	for _, en := range page.Entries {
		got = append(got, row{en.ActorName, en.Action, en.Object, en.Remote, en.Outcome, en.Detail})
	}
	mid := strconv.FormatInt(e.ids["manager"], 10)
	want := []row{ // newest first
		{"manager", "POST /alerts/8/ack", "", "198.51.100.9", "denied", "status 403"},
		{"manager", "POST /alerts/7/ack", "", "198.51.100.9", "ok", "status 200"},
		{"ghost", "login", "user ghost", "192.0.2.51", "failed", "no such user"},
		{"owner", "login", "user owner", "192.0.2.50", "denied", "rate limited (device)"},
		{"owner", "login", "user owner", "192.0.2.50", "failed", "wrong password"},
		{"manager", "login", "user " + mid, "192.0.2.1", "ok", ""},
	}
	if len(got) < len(want) {
		t.Fatalf("audit log %+v", got)
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], w)
		}
	}
	if en := page.Entries[0]; !en.At.Equal(start.Add(2*time.Second)) || en.ActorID != e.ids["manager"] || en.Role != identity.RoleManager {
		t.Errorf("newest entry %+v: want at start+2s by manager", en)
	}
	// The users created in newEnv are audited too (by the system actor).
	creates, err := e.svc.AuditLog(ctx, admin, identity.AuditFilter{Actions: []string{"user.create"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(creates.Entries) != 3 || creates.Entries[0].ActorName != "system:test" {
		t.Fatalf("user.create entries %+v", creates.Entries)
	}
	var fe *identity.ForbiddenError
	if _, err := e.svc.AuditLog(ctx, identity.Actor{UserID: e.ids["manager"], Name: "manager", Role: identity.RoleManager}, identity.AuditFilter{}); !errors.As(err, &fe) {
		t.Fatalf("manager lists the audit log: %v, want ForbiddenError", err)
	}
}

// TestTokens: an API token authenticates as its user until revoked or
// expired; only an admin or the user manages it.
func TestTokens(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	owner := identity.Actor{UserID: e.ids["owner"], Name: "owner", Role: identity.RoleOwner}
	raw, tok, err := e.svc.IssueToken(ctx, owner, e.ids["owner"], "home assistant", time.Hour, "192.0.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, identity.TokenPrefix) || len(raw) != 4+43 || tok.Prefix != raw[:12] {
		t.Fatalf("token %q prefix %q", raw, tok.Prefix)
	}
	var fe *identity.ForbiddenError
	if _, _, err := e.svc.IssueToken(ctx, owner, e.ids["manager"], "x", 0, ""); !errors.As(err, &fe) {
		t.Fatalf("owner issues a token for the manager: %v", err)
	}
	a, err := e.svc.TokenActor(ctx, raw)
	if err != nil || a.Name != "owner" || a.Via != identity.ViaToken {
		t.Fatalf("token actor %+v %v", a, err)
	}
	e.clk.Advance(time.Hour)
	if _, err := e.svc.TokenActor(ctx, raw); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("expired token: %v", err)
	}
	raw2, tok2, err := e.svc.IssueToken(ctx, identity.System("test"), e.ids["owner"], "forever", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TokenActor(ctx, raw2); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeToken(ctx, owner, e.ids["owner"], tok2.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.TokenActor(ctx, raw2); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := e.svc.RevokeToken(ctx, identity.System("test"), e.ids["manager"], tok.ID, ""); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("revoking another user's token by id: %v, want ErrNotFound", err)
	}
	for _, junk := range []string{"", "lwt_", "lwt_" + strings.Repeat("A", 43), raw2[4:]} {
		if _, err := e.svc.TokenActor(ctx, junk); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Errorf("token %q: %v", junk, err)
		}
	}
}

// TestCreateUserRules: only an admin creates accounts, input errors name the
// field, a name is taken once (case-insensitively).
func TestCreateUserRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	var fe *identity.ForbiddenError
	mgr := identity.Actor{UserID: e.ids["manager"], Name: "manager", Role: identity.RoleManager, Scope: identity.Scope{Estates: []string{"JW"}}}
	if _, err := e.svc.CreateUser(ctx, mgr, identity.NewUser{Name: "x1", Role: identity.RoleAdmin, Password: pw}, ""); !errors.As(err, &fe) {
		t.Fatalf("manager creates an admin: %v", err)
	}
	for field, nu := range map[string]identity.NewUser{
		"name":     {Name: "Bad Name", Role: identity.RoleAdmin, Password: pw},
		"role":     {Name: "x2", Role: "root", Password: pw},
		"estates":  {Name: "x3", Role: identity.RoleManager, Password: pw},
		"password": {Name: "x4", Role: identity.RoleAdmin, Password: "short"},
	} {
		var ferr *identity.FieldError
		if _, err := e.svc.CreateUser(ctx, identity.System("test"), nu, ""); !errors.As(err, &ferr) || ferr.Field != field {
			t.Errorf("%+v: %v, want a FieldError on %s", nu, err, field)
		}
	}
	var ferr *identity.FieldError
	if _, err := e.svc.CreateUser(ctx, identity.System("test"), identity.NewUser{Name: "ADMIN", Role: identity.RoleAdmin, Password: pw}, ""); !errors.As(err, &ferr) || ferr.Field != "name" {
		t.Fatalf("duplicate name: %v", err)
	}
}

// TestCreateDemoAccounts: one account per role, each able to log in with
// the password returned, with a valid scope.
func TestCreateDemoAccounts(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	accts, err := identity.CreateDemoAccounts(ctx, e.svc, identity.DemoScope{Estates: []string{"JW"}, Company: "ACME Lifts",
		Lift: "JW-0001", Household: "12-302", Subdistrict: "jiangwan"})
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != len(identity.Roles) {
		t.Fatalf("%d accounts", len(accts))
	}
	for i, a := range accts {
		if a.User.Role != identity.Roles[i] {
			t.Errorf("account %d has role %s, want %s", i, a.User.Role, identity.Roles[i])
		}
		res, err := e.svc.Login(ctx, a.User.Name, a.Password, "192.0.2.1")
		if err != nil {
			t.Fatalf("%s: %v", a.User.Name, err)
		}
		if res.Actor.Role != a.User.Role || identity.ValidateScope(res.Actor.Role, res.Actor.Scope) != nil {
			t.Errorf("%s logs in as %+v", a.User.Name, res.Actor)
		}
	}
}

// TestCreateUserNameTakenIsBoth: a taken name is a FieldError naming
// "name" and identity.ErrNameTaken (the demo recognises a kept data
// directory by it).
func TestCreateUserNameTakenIsBoth(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.svc.CreateUser(context.Background(), identity.System("t"), identity.NewUser{Name: "admin", Role: identity.RoleAdmin, Password: pw}, "")
	var fe *identity.FieldError
	if !errors.Is(err, identity.ErrNameTaken) || !errors.As(err, &fe) || fe.Field != "name" || err.Error() != `name: user "admin" already exists` {
		t.Fatalf("taken name: %v", err)
	}
}
