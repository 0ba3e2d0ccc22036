package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

// TestDemoPagesItsEntrapment: "liftwatch demo" pages people out of the
// box: the incident's entrapment on JW-0042 reaches its duty technician
// through the simulated gateway (GET /demo/outbox, with the acknowledge
// link), the technician's phone inbox shows it, the alert's pages list it;
// /readyz says neither notify nor paging is degraded; the link, opened
// without a session, shows the alert without acknowledging it, and its
// button acknowledges as the technician's account (demo-contractor).
func TestDemoPagesItsEntrapment(t *testing.T) {
	base, out := startPagingDemo(t)
	if !strings.Contains(out.String(), base+"/demo/outbox") || !strings.Contains(out.String(), base+"/inbox") {
		t.Fatalf("the demo does not point to its outbox and inbox:\n%s", out.String())
	}
	mgr, _ := demoSignIn(t, base, out.String(), "demo-manager")
	tech, _ := demoSignIn(t, base, out.String(), "demo-contractor")
	get := func(c *http.Client, path string, v any) int {
		t.Helper()
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if v != nil {
			if err := json.Unmarshal(body, v); err != nil {
				t.Fatalf("%s: %v: %s", path, err, body)
			}
		}
		return resp.StatusCode
	}
	type entry struct {
		AlertID int64  `json:"alert_id"`
		Channel string `json:"channel"`
		To      string `json:"to"`
		Text    string `json:"text"`
		Link    string `json:"link"`
		At      string `json:"at"`
		State   string `json:"state"`
		Person  string `json:"person"`
	}
	var page entry
	itest.WaitUntil(t, 2*time.Minute, "the incident's page in /demo/outbox", func() bool {
		var list []entry
		if get(mgr, "/demo/outbox", &list) != 200 {
			return false
		}
		for _, e := range list {
			if strings.Contains(e.Text, "JW-0042") && strings.Contains(e.Text, "困人") {
				page = e
				return true
			}
		}
		return false
	})
	itest.WaitUntil(t, time.Minute, "the demo to say who is paged for its incident", func() bool {
		return strings.Contains(out.String(), fmt.Sprintf("Incident: its duty technician is paged (who and how: %s/api/v1/alerts/%d/pages)", base, page.AlertID))
	})
	if page.Channel != "demo" || page.To != "13800000001" || page.State != "delivered" || page.At == "" ||
		!strings.HasPrefix(page.Link, base+"/k/") || !strings.Contains(page.Text, page.Link) {
		t.Fatalf("outbox entry %+v", page)
	}
	var inbox struct {
		User     string  `json:"user"`
		Messages []entry `json:"messages"`
	}
	if get(tech, "/demo/inbox", &inbox) != 200 || inbox.User != "demo-contractor" || len(inbox.Messages) == 0 || inbox.Messages[0].Link != page.Link {
		t.Fatalf("demo-contractor's inbox %+v", inbox)
	}
	var pages []map[string]any
	if get(mgr, fmt.Sprintf("/api/v1/alerts/%d/pages", page.AlertID), &pages) != 200 || len(pages) == 0 ||
		pages[0]["person"] != "张师傅" || pages[0]["to"] != "138****0001" || pages[0]["state"] != "delivered" {
		t.Fatalf("the alert's pages: %+v", pages)
	}
	var ready map[string]string
	get(mgr, "/readyz", &ready)
	if ready["notify"] != "ok" || ready["paging"] != "ok" {
		t.Fatalf("readyz %v: the demo pages people, notify and paging must not be degraded", ready)
	}

	// The link, as the technician's phone opens it: no session.
	anon := &http.Client{}
	resp, err := anon.Get(page.Link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "我已收到，马上处理") {
		t.Fatalf("GET link: %d %s", resp.StatusCode, body)
	}
	var alert map[string]any
	get(mgr, fmt.Sprintf("/api/v1/alerts/%d", page.AlertID), &alert)
	if alert["state"] != "open" {
		t.Fatalf("opening the link acknowledged: %v", alert["state"])
	}
	if !strings.Contains(string(body), `<form method="post" action="/k">`) || strings.Contains(string(body), `action="/k/`) {
		t.Fatalf("the button must post the token in the form, to /k: %s", body)
	}
	press := func() (*http.Response, error) {
		return anon.PostForm(base+"/k", url.Values{"token": {strings.TrimPrefix(page.Link, base+"/k/")}})
	}
	resp, err = press()
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "已确认") {
		t.Fatalf("POST link: %d %s", resp.StatusCode, body)
	}
	get(mgr, fmt.Sprintf("/api/v1/alerts/%d", page.AlertID), &alert)
	if alert["state"] != "acknowledged" || alert["acknowledged_by"] != "demo-contractor" {
		t.Fatalf("after the link: state %v by %v", alert["state"], alert["acknowledged_by"])
	}
	itest.WaitUntil(t, 30*time.Second, "the page shown acknowledged", func() bool {
		var pages []map[string]any
		return get(mgr, fmt.Sprintf("/api/v1/alerts/%d/pages", page.AlertID), &pages) == 200 && len(pages) > 0 && pages[0]["state"] == "acknowledged"
	})
	// Spent: the second use answers as an unknown link.
	resp, err = press()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("a spent link: %d", resp.StatusCode)
	}
}

// startPagingDemo runs the demo on JW-0042 and five other lifts of the
// Jiangwan register, its incident a second into live time, no history and
// no simulated contractors, until the test ends; it returns the demo's
// base URL and its output, once the accounts are printed.
func startPagingDemo(t *testing.T) (string, *lockedBuffer) {
	t.Helper()
	all, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	var few []registry.Lift
	for _, l := range all {
		if len(few) < 6 || l.ID == "JW-0042" {
			few = append(few, l)
		}
	}
	b, _ := json.Marshal(few)
	fleetFile := filepath.Join(t.TempDir(), "fleet.json")
	if err := os.WriteFile(fleetFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	start := itest.PinnedStart(time.Now(), demoSimHour, time.Hour)
	out := &lockedBuffer{}
	cmd := exec.Command(binary, "demo", "--http.listen", httpAddr, "--broker.listen", fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t)),
		"--log.level", "warn", "--registry.file", fleetFile, "--sim.fleet", fleetFile, "--sim.start", start.Format(time.RFC3339),
		"--sim.backfill", "5m", "--demo.incident-after", "1s", "--demo.history-months", "0", "--demo.contractors=false")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	base := "http://" + httpAddr
	itest.WaitUntil(t, time.Minute, "the demo's accounts", func() bool {
		return regexp.MustCompile(`(?m)^  demo-subdistrict +\S{16} `).MatchString(out.String())
	})
	return base, out
}
