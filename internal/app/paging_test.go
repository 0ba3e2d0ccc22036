package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/oncall"
)

type nobodyOnDuty struct{}

func (nobodyOnDuty) Chain(string, string, int, time.Time) []oncall.Person { return nil }

type acceptAll struct{}

func (acceptAll) Notify(context.Context, notify.Message) error { return nil }

// TestReadyzPaging: with paging on and a channel, /readyz says neither
// notify nor paging is degraded; an entrapment published to a real
// Mosquitto whose chain is empty (nobody on duty) raises paging_failed on
// the lift and /readyz reports paging degraded, still answering 200.
func TestReadyzPaging(t *testing.T) {
	a, readyz, trap := runPaging(t, func(a *App) paging.Roster { return nobodyOnDuty{} })
	if _, out := readyz(); out["notify"] != "ok" || out["paging"] != "ok" {
		t.Fatalf("readyz %v: paging channels count as receivers", out)
	}
	trap()
	itest.WaitUntil(t, time.Minute, "paging degraded", func() bool {
		_, out := readyz()
		return strings.HasPrefix(out["paging"], "degraded: pages of 1 alert(s) reached nobody")
	})
	if code, _ := readyz(); code != 200 {
		t.Fatalf("readyz %d: a degraded check answers 200", code)
	}
	found := false
	for _, al := range a.Engine().Open() {
		found = found || al.Lift == "JW-0042" && al.Type == paging.TypePagingFailed && al.Severity.String() == "critical"
	}
	if !found {
		t.Fatalf("no paging_failed alert on JW-0042: %+v", a.Engine().Open())
	}
}

type oneTechnician struct{}

func (oneTechnician) Chain(string, string, int, time.Time) []oncall.Person {
	return []oncall.Person{{ID: "zhang", Name: "张师傅", Role: oncall.RoleTechnician, Contacts: []oncall.Contact{{Channel: "duty-wecom"}}}}
}

// TestPagingOverTheConfiguredChannels: the alerts file's channels: are
// built into the pager's channels: an entrapment published to a real
// Mosquitto is paged to the WeCom robot the file names (a stand-in on
// loopback), with the acknowledge link of --http.public-url.
func TestPagingOverTheConfiguredChannels(t *testing.T) {
	got := make(chan string, 4)
	robot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Query().Get("key") + " " + string(b)
		w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer robot.Close()
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	cfg := testConfig(t, broker.URL)
	cfg.HTTP.PublicURL = "https://lw.example"
	cfg.Alerts.File = filepath.Join(t.TempDir(), "alerts.yaml")
	os.WriteFile(cfg.Alerts.File, []byte("channels:\n  duty-wecom: {type: wecom, url: \""+robot.URL+"\", key: robot-key}\n"), 0o644)
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnablePaging(context.Background(), oneTechnician{}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	itest.WaitUntil(t, time.Minute, "subscribed", func() bool { return a.rcv.Ready() == nil })
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("paging-test-terminal-2"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":1,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, time.Now().UnixMilli())
	if tok := pub.Publish("lifts/JW-0042/fault", 1, false, payload); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case m := <-got:
		if !strings.HasPrefix(m, "robot-key ") || !strings.Contains(m, "困人") || !strings.Contains(m, "JW-0042") || !strings.Contains(m, "https://lw.example/k/") {
			t.Fatalf("the robot got %s", m)
		}
	case <-time.After(time.Minute):
		t.Fatal("nothing paged to the configured robot")
	}
}

// TestNoRosterMeansPagingOff: serve pages the on-call roster; while that
// roster has nobody in it, paging is off — /readyz says so, and an
// entrapment is raised without a paging_failed alert beside it (every
// rescue of a service not yet given a roster would otherwise come twice).
func TestNoRosterMeansPagingOff(t *testing.T) {
	a, readyz, trap := runPaging(t, func(a *App) paging.Roster { return a.OnCall() })
	if _, out := readyz(); !strings.HasPrefix(out["paging"], "degraded: paging is off: no on-call roster") {
		t.Fatalf("readyz %v: want paging off", out)
	}
	trap()
	ctx := context.Background()
	itest.WaitUntil(t, time.Minute, "the entrapment alert", func() bool {
		for _, al := range a.Engine().Open() {
			if al.Lift == "JW-0042" && al.Type == "entrapment" {
				return true
			}
		}
		return false
	})
	if err := a.outbox.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, al := range a.Engine().Open() {
		if al.Type == paging.TypePagingFailed {
			t.Fatalf("a paging_failed alert without any roster: %+v", al)
		}
	}
}

// runPaging runs the app on a real Mosquitto with paging on over an sms
// channel that accepts everything and the roster roster gives, until the
// test ends, once /readyz answers 200. readyz reads /readyz; trap
// publishes an entrapment of JW-0042 as its terminal would.
func runPaging(t *testing.T, roster func(*App) paging.Roster) (a *App, readyz func() (int, map[string]string), trap func()) {
	t.Helper()
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	a, err := New(context.Background(), testConfig(t, broker.URL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.EnablePaging(context.Background(), roster(a), map[string]notify.Notifier{"sms": acceptAll{}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	readyz = func() (int, map[string]string) {
		resp, err := http.Get("http://" + a.HTTPAddr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	itest.WaitUntil(t, time.Minute, "ready", func() bool { code, _ := readyz(); return code == 200 })
	trap = func() {
		pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("paging-test-terminal"))
		if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
		defer pub.Disconnect(100)
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":1,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, time.Now().UnixMilli())
		if tok := pub.Publish("lifts/JW-0042/fault", 1, false, payload); tok.Wait() && tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	return a, readyz, trap
}
