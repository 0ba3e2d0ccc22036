package paging_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/store"
)

// linkServer serves the rig's acknowledge links on a real HTTP server.
func linkServer(t *testing.T, g *rig) *httptest.Server {
	mux := http.NewServeMux()
	h := g.p.LinkHandler(nil)
	mux.Handle("GET /k/{token}", h)
	mux.Handle("POST /k", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fetch GETs a link, or POSTs its button (the token as a form field to
// /k, as the link's page does).
func fetch(t *testing.T, method, u, lang string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == "POST" {
		i := strings.Index(u, "/k/")
		body = strings.NewReader(url.Values{"token": {u[i+3:]}}.Encode())
		u = u[:i] + "/k"
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAckThroughTheLink: GET shows the alert and acknowledges nothing
// (link previews); POST acknowledges as the person paged (their account),
// once; a spent, an expired and an unknown token get the same answer.
func TestAckThroughTheLink(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		srv := linkServer(t, g)
		a := g.trap()
		link := ph.messages()[0].Link
		u := srv.URL + strings.TrimPrefix(link, "http://liftwatch.test")

		code, body := fetch(t, "GET", u, "")
		if code != 200 || !strings.Contains(body, "我已收到，马上处理") || !strings.Contains(body, lift) || !strings.Contains(body, "困人") ||
			!strings.Contains(body, "逸仙路") {
			t.Fatalf("GET %d: %s", code, body)
		}
		if _, en := fetch(t, "GET", u, "en-US,en;q=0.9"); !strings.Contains(en, "I&#39;m on it") && !strings.Contains(en, "I'm on it") {
			t.Fatalf("GET in English: %s", en)
		}
		g.settle()
		if cur, _ := g.e.Get(a.ID); cur.State != alerts.StateOpen {
			t.Fatalf("a GET acknowledged the alert: %+v", cur)
		}
		code, body = fetch(t, "POST", u, "")
		if code != 200 || !strings.Contains(body, "已确认") {
			t.Fatalf("POST %d: %s", code, body)
		}
		g.settle()
		cur, _ := g.e.Get(a.ID)
		if cur.State != alerts.StateAcknowledged || cur.AckBy != "demo-contractor" || cur.AckAt == nil {
			t.Fatalf("after the link: %+v", cur)
		}
		rows := g.pages(a.ID)
		if rows[0].State != paging.Acknowledged || rows[0].AckBy != "demo-contractor" || rows[0].TokenSpent == nil {
			t.Fatalf("row %+v", rows[0])
		}
		if ev := g.events(a.ID, "page_acknowledged"); len(ev) != 1 || !strings.Contains(ev[0].Note, "张师傅 (technician)") {
			t.Fatalf("events %+v", ev)
		}
		spentCode, spent := fetch(t, "POST", u, "")
		getSpentCode, getSpent := fetch(t, "GET", u, "")
		unknownCode, unknown := fetch(t, "GET", srv.URL+"/k/"+strings.Repeat("a", 26), "")
		garbageCode, garbage := fetch(t, "POST", srv.URL+"/k/x'<", "")
		for _, c := range []int{spentCode, getSpentCode, unknownCode, garbageCode} {
			if c != http.StatusGone {
				t.Fatalf("statuses spent %d/%d unknown %d garbage %d: want 410", spentCode, getSpentCode, unknownCode, garbageCode)
			}
		}
		if spent != unknown || getSpent != unknown || garbage != unknown || !strings.Contains(unknown, "此链接已失效") {
			t.Fatalf("answers differ:\nspent %s\nunknown %s", spent, unknown)
		}
	})
}

// TestLinksExpire: a link stops working after link_ttl, and when its alert
// is resolved; both answer as an unknown token does.
func TestLinksExpire(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		g.cfg.LinkTTL = time.Hour
		g.crash() // the pager again, with a one-hour link
		srv := linkServer(t, g)
		a := g.trap()
		u := srv.URL + strings.TrimPrefix(ph.messages()[0].Link, "http://liftwatch.test")
		_, unknown := fetch(t, "GET", srv.URL+"/k/"+strings.Repeat("b", 26), "")
		g.advance(59 * time.Minute)
		// 李经理 was paged after 2 minutes; the first link still works.
		if code, _ := fetch(t, "GET", u, ""); code != 200 {
			t.Fatalf("link dead before its time: %d", code)
		}
		g.advance(time.Minute)
		if code, body := fetch(t, "POST", u, ""); code != http.StatusGone || body != unknown {
			t.Fatalf("expired link: %d %s", code, body)
		}
		if cur, _ := g.e.Get(a.ID); cur.State != alerts.StateOpen {
			t.Fatal("an expired link acknowledged")
		}
		// 李经理's link, made 2 minutes in, works until the alert is resolved.
		var liLink string
		for _, m := range ph.messages() {
			if m.To == "13800000002" {
				liLink = srv.URL + strings.TrimPrefix(m.Link, "http://liftwatch.test")
			}
		}
		if code, _ := fetch(t, "GET", liLink, ""); code != 200 {
			t.Fatalf("李经理's link: %d", code)
		}
		for _, step := range []func(int64, alerts.Action) (*alerts.Alert, error){g.e.Arrive, g.e.Resolve} {
			if _, err := step(a.ID, alerts.Action{Actor: "demo-manager", Note: "passengers out", PassengersReleased: true}); err != nil {
				t.Fatal(err)
			}
		}
		g.settle()
		if code, body := fetch(t, "GET", liLink, ""); code != http.StatusGone || body != unknown {
			t.Fatalf("link of a resolved alert: %d %s", code, body)
		}
	})
}

// TestLinkMisuseIsLimited: 20 invalid links from one address in 10 minutes
// block it (429) for the rest of the window, valid links included; the
// window passing lifts the block.
func TestLinkMisuseIsLimited(t *testing.T) {
	// The limiter is in memory: one backend is enough.
	file := filepath.Join(t.TempDir(), "lw.db")
	func(open func() *store.DB) {
		ph := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		srv := linkServer(t, g)
		g.trap()
		good := srv.URL + strings.TrimPrefix(ph.messages()[0].Link, "http://liftwatch.test")
		for i := 0; i < 20; i++ {
			if code, _ := fetch(t, "GET", srv.URL+"/k/"+strings.Repeat("c", 26), ""); code != http.StatusGone {
				t.Fatalf("guess %d: %d", i, code)
			}
		}
		if code, _ := fetch(t, "GET", srv.URL+"/k/"+strings.Repeat("d", 26), ""); code != http.StatusTooManyRequests {
			t.Fatalf("a guess after 20 guesses: %d, want 429", code)
		}
		// A valid link from the same address (a carrier's NAT) still works:
		// only invalid ones are slowed (the demo's trial locked a live
		// rescue's link for ten minutes behind a dozen bad ones).
		if code, _ := fetch(t, "GET", good, ""); code != http.StatusOK {
			t.Fatalf("the valid link after 20 guesses: %d, want 200", code)
		}
		g.clk.Advance(10 * time.Minute)
		if code, _ := fetch(t, "GET", srv.URL+"/k/"+strings.Repeat("d", 26), ""); code != http.StatusGone {
			t.Fatalf("a guess after the window: %d, want 410", code)
		}
	}(func() *store.DB {
		db, err := store.OpenSQLite(context.Background(), file)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
