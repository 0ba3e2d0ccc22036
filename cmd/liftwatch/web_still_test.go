package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/itest"
)

// publishFault publishes a terminal's fault report (active) to the broker.
func (s *webServer) publishFault(t testing.TB, lift, code string, seq int64) {
	t.Helper()
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":%q,"state":"active"}`, seq, time.Now().UnixMilli(), code)
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

// openAlert waits for lift's open alert of typ and returns its id and when
// it was opened.
func (s *webServer) openAlert(t *testing.T, lift, typ string) (int64, time.Time) {
	t.Helper()
	var list []struct {
		ID       int64     `json:"id"`
		OpenedAt time.Time `json:"opened_at"`
	}
	itest.WaitUntil(t, time.Minute, lift+" "+typ+" open", func() bool {
		s.apiJSON(t, "GET", "/api/v1/alerts?open=true&lift="+lift+"&type="+url.QueryEscape(typ), "", 200, &list)
		return len(list) == 1
	})
	return list[0].ID, list[0].OpenedAt
}

// TestWebStillReported is the field trial's JW-0042 in the browser: a
// rescue resolved on site while the terminal still reports the entrapment
// (the fault never cleared, the car occupied). Afterwards the board shows
// the still-reported alert with its countdown, the fleet and lift pages
// show the lift as reporting a trapped passenger (not idle, not normal),
// and the owner's page does not say the lift is working, all in Chinese.
// Still reported after 10 minutes, it is a rescue on the board again. A
// critical fault on another lift gets the rescue's clocks on the board:
// overdue and escalated when nobody acknowledges within 5 minutes, and
// tier 3 when no technician is on site within 2 hours.
func TestWebStillReported(t *testing.T) {
	s := startWeb(t)
	const lift = "JW-0042"
	s.trap(t, lift, 1)
	id, _ := s.openAlert(t, lift, "entrapment")
	for _, step := range []struct{ action, body string }{
		{"acknowledge", `{}`}, {"dispatch", `{"to":"` + jw42Contractor + `"}`}, {"arrive", `{}`},
		{"resolve", `{"note":"乘客已救出","passengers_released":true}`},
	} {
		s.apiJSON(t, "POST", fmt.Sprintf("/api/v1/alerts/%d/%s", id, step.action), step.body, 200, nil)
	}
	stillID, stillAt := s.openAlert(t, lift, "entrapment_still_reported")
	var l struct {
		ReportsEntrapment bool `json:"reports_entrapment"`
		OpenAlerts        int  `json:"open_alerts"`
	}
	s.apiJSON(t, "GET", "/api/v1/lifts/"+lift, "", 200, &l)
	if !l.ReportsEntrapment || l.OpenAlerts != 1 {
		t.Fatalf("API after the resolve: reports_entrapment %v, open_alerts %d", l.ReportsEntrapment, l.OpenAlerts)
	}

	ctx := browser(t, 1280, 900)
	w := watchTab(t, ctx)
	s.login(t, ctx, "mgr1", "/")
	card := `.card[data-type="entrapment_still_reported"]`
	do(t, ctx, "the still-reported card", chromedp.WaitVisible(chromedp.CSS(card)))
	got := text(t, ctx, card)
	for _, want := range []string{lift, "终端仍报告困人", "终端仍报告有人被困：请到现场核查", "转为救援", "剩余"} {
		if !strings.Contains(got, want) {
			t.Errorf("board card lacks %q:\n%s", want, got)
		}
	}
	if attr(t, ctx, card, "data-alert-id") != fmt.Sprint(stillID) {
		t.Errorf("the card is not alert #%d", stillID)
	}
	screenshot(t, ctx, "still-reported-board-zh")

	do(t, ctx, "fleet", chromedp.Navigate(s.base+"/fleet"), chromedp.WaitVisible(chromedp.CSS(`.tile[data-lift="`+lift+`"]`)))
	tile := `.tile[data-lift="` + lift + `"]`
	if st, txt := attr(t, ctx, tile, "data-state"), text(t, ctx, tile); st != "trapped" || !strings.Contains(txt, "报告困人") || strings.Contains(txt, "空闲") {
		t.Errorf("fleet tile: state %q, text %q; want trapped, 报告困人", st, txt)
	}

	do(t, ctx, "lift page", chromedp.Navigate(s.base+"/lifts/"+lift), chromedp.WaitVisible(chromedp.CSS(`#state[data-state]`)))
	if st := attr(t, ctx, "#state", "data-state"); st != "trapped" || text(t, ctx, "#state") != "报告困人" {
		t.Errorf("lift page badge: %q %q, want trapped 报告困人", st, text(t, ctx, "#state"))
	}
	if got := text(t, ctx, "#status"); !strings.Contains(got, "终端报告") || !strings.Contains(got, "报告困人") {
		t.Errorf("lift page status: %q, want 终端报告 报告困人", got)
	}
	screenshot(t, ctx, "still-reported-lift-zh")

	owner := browser(t, 1280, 900)
	s.login(t, owner, "owner1", "/owner")
	do(t, owner, "owner today", chromedp.WaitVisible(chromedp.CSS(`#today .figure`)))
	if st, txt := attr(t, owner, "#today .figure", "data-state"), text(t, owner, "#today .figure"); st != "trapped" ||
		!strings.Contains(txt, "电梯报告有人被困") || strings.Contains(txt, "电梯正常") {
		t.Errorf("owner's page: state %q, %q; want trapped, 电梯报告有人被困", st, txt)
	}
	screenshot(t, owner, "still-reported-owner-zh")

	// A critical fault on another lift of the manager's estate.
	var others []struct {
		ID string `json:"id"`
	}
	s.apiJSON(t, "GET", "/api/v1/lifts?estate=yixian&limit=3", "", 200, &others)
	other := ""
	for _, o := range others {
		if o.ID != lift {
			other = o.ID
			break
		}
	}
	if other == "" {
		t.Fatal("no other lift in yixian")
	}
	s.publishFault(t, other, "overspeed", 1)
	_, faultAt := s.openAlert(t, other, "fault.overspeed")
	fcard := `.card[data-type="fault.overspeed"]`
	do(t, ctx, "board", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS(fcard+` [data-clock="onsite"]`)))
	if got := text(t, ctx, fcard); !strings.Contains(got, "通知维保") || !strings.Contains(got, "技术人员到场") {
		t.Errorf("critical fault card without its clocks:\n%s", got)
	}
	s.clock(t, "set="+faultAt.Add(6*time.Minute).Format(time.RFC3339Nano))
	do(t, ctx, "the critical fault escalated", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(fcard+` [data-tier="2"]`)))
	if c := attr(t, ctx, fcard+` [data-clock="ack"]`, "class"); !strings.Contains(c, "red") || !strings.Contains(text(t, ctx, fcard), "超时") {
		t.Errorf("critical fault's notify clock at 6 min: class %q, want red and 超时", c)
	}
	screenshot(t, ctx, "critical-fault-board-zh")

	// Still reported 10 minutes after the resolve: a rescue again.
	s.clock(t, "set="+stillAt.Add(10*time.Minute+time.Second).Format(time.RFC3339Nano))
	do(t, ctx, "a rescue again", chromedp.WaitVisible(chromedp.CSS(`.card[data-type="entrapment"][data-lift="`+lift+`"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(card)))

	s.clock(t, "set="+faultAt.Add(2*time.Hour+time.Second).Format(time.RFC3339Nano))
	do(t, ctx, "the critical fault at tier 3", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(fcard+` [data-tier="3"]`)))
	if c := attr(t, ctx, fcard+` [data-clock="onsite"]`, "class"); !strings.Contains(c, "red") {
		t.Errorf("critical fault's on-site clock at 2 h: class %q, want red", c)
	}
	w.noDialogs(t)
}
