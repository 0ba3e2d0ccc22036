package paging_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

var (
	zhang = person("zhang", "张师傅", oncall.RoleTechnician, "demo-contractor", sms("13800000001"), voice("13800000001"))
	li    = person("li", "李经理", oncall.RoleManager, "demo-manager", sms("13800000002"))
	wang  = person("wang", "王主管", oncall.RoleSupervisor, "", sms("13800000003"))
	zhao  = person("zhao", "赵科长", oncall.RoleSubdistrict, "demo-subdistrict", sms("13800000004"))
)

func chain() *roster {
	return &roster{tiers: map[int][]oncall.Person{1: {zhang, li}, 2: {wang}, 3: {zhao}}}
}

// TestOutboxWrittenBeforeSend: the page is a row of the outbox, marked
// sending, before the channel has it; delivered afterwards, with who,
// channel, address, text, key and the alert's "paged" event.
func TestOutboxWrittenBeforeSend(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		ph.check = func(m notify.Message) {
			r, err := g.db.Pages().PageByKey(context.Background(), m.Key)
			if err != nil || r == nil {
				t.Errorf("page %s sent before its row was written (%v)", m.Key, err)
				return
			}
			if r.State != paging.Sending || r.Attempts != 1 || r.To != m.To || r.Channel != "sms" {
				t.Errorf("row before the send: %+v", r)
			}
		}
		a := g.trap()
		msgs := ph.messages()
		if len(msgs) != 1 || msgs[0].To != "13800000001" || msgs[0].AlertID != a.ID {
			t.Fatalf("sent %+v: want one SMS to 张师傅", msgs)
		}
		m := msgs[0]
		if !strings.Contains(m.Text, "困人") || !strings.Contains(m.Text, lift) || !strings.Contains(m.Text, "10:31") ||
			!strings.Contains(m.Text, "http://liftwatch.test/k/") || !strings.HasPrefix(m.Link, "http://liftwatch.test/k/") {
			t.Fatalf("text %q link %q", m.Text, m.Link)
		}
		if m.Params["lift"] != lift || m.Params["link"] != m.Link || m.Params["kind"] != "困人" || m.Params["address"] == "" {
			t.Fatalf("params %+v", m.Params)
		}
		rows := g.pages(a.ID)
		if len(rows) != 1 {
			t.Fatalf("rows %+v", rows)
		}
		r := rows[0]
		if r.State != paging.Delivered || r.PersonName != "张师傅" || r.Role != "technician" || r.Key != m.Key || r.DeliveredAt == nil {
			t.Fatalf("row %+v", r)
		}
		token := strings.TrimPrefix(m.Link, "http://liftwatch.test/k/")
		if strings.Contains(r.Text, token) || r.TokenHash == token || r.TokenHash != paging.HashToken(token) {
			t.Fatalf("the token is kept in the clear: text %q hash %q", r.Text, r.TokenHash)
		}
		ev := g.events(a.ID, "paged")
		if len(ev) != 1 || !strings.Contains(ev[0].Note, "张师傅 (technician) by sms 138****0001: delivered") {
			t.Fatalf("paged events %+v", ev)
		}
		views, err := g.p.Pages(context.Background(), a.ID)
		if err != nil || len(views) != 1 || views[0].To != "138****0001" || views[0].State != paging.Delivered {
			t.Fatalf("views %+v %v", views, err)
		}
	})
}

// TestRetryWithBackoff: a retryable failure is tried again after 2 s, then
// 4 s (not before), and the page is delivered; a failure that is not
// retryable is not tried again.
func TestRetryWithBackoff(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{fail: func(m notify.Message, n int) error {
			if n < 3 {
				return retryable("provider busy")
			}
			return nil
		}}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		if n := len(ph.messages()); n != 1 {
			t.Fatalf("%d attempts at once", n)
		}
		if m := g.metric("liftwatch_page_outbox_pending", ""); m != 1 {
			t.Fatalf("outbox pending %v, want 1", m)
		}
		r := g.pages(a.ID)[0]
		if r.State != paging.Pending || r.Attempts != 1 || !r.Retryable || !r.NextAt.Equal(g.clk.Now().Add(2*time.Second)) ||
			!strings.Contains(r.LastError, "provider busy") {
			t.Fatalf("after a retryable failure: %+v", r)
		}
		g.advance(time.Second)
		if n := len(ph.messages()); n != 1 {
			t.Fatalf("retried before the backoff: %d attempts", n)
		}
		g.advance(time.Second)
		if n := len(ph.messages()); n != 2 {
			t.Fatalf("%d attempts after 2 s", n)
		}
		g.advance(3 * time.Second)
		if n := len(ph.messages()); n != 2 {
			t.Fatalf("second backoff not doubled: %d attempts after 5 s", n)
		}
		g.advance(time.Second)
		rows := g.pages(a.ID)
		if len(ph.messages()) != 3 || len(rows) != 1 || rows[0].State != paging.Delivered || rows[0].Attempts != 3 {
			t.Fatalf("rows %+v after %d attempts", rows, len(ph.messages()))
		}
		if r, d, p := g.metric("liftwatch_pages_total", `channel="sms",outcome="retry"`), g.metric("liftwatch_pages_total", `channel="sms",outcome="delivered"`),
			g.metric("liftwatch_page_outbox_pending", ""); r != 2 || d != 1 || p != 0 {
			t.Fatalf("metrics: retry %v delivered %v pending %v", r, d, p)
		}
		for _, m := range ph.messages() {
			if m.Key != rows[0].Key {
				t.Fatalf("a retry with another key: %q vs %q", m.Key, rows[0].Key)
			}
		}
	})
}

// TestFailover: a failure that is not retryable is not retried; the
// person's next contact (voice) is paged at once; a retryable failure that
// persists gives up after max_attempts, then the next contact.
func TestFailover(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		smsc := &phone{fail: func(notify.Message, int) error { return permanent("isv.MOBILE_NUMBER_ILLEGAL") }}
		vc := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": smsc, "voice": vc})
		a := g.trap()
		if len(smsc.messages()) != 1 || len(vc.messages()) != 1 {
			t.Fatalf("sms %d, voice %d: want one each, at once", len(smsc.messages()), len(vc.messages()))
		}
		rows := g.pages(a.ID)
		if len(rows) != 2 || rows[0].State != paging.Failed || rows[0].Retryable || rows[0].Attempts != 1 ||
			rows[1].Channel != "voice" || rows[1].State != paging.Delivered || rows[1].PersonID != "zhang" {
			t.Fatalf("rows %+v", rows)
		}
		if ev := g.events(a.ID, "page_failed"); len(ev) != 1 || !strings.Contains(ev[0].Note, "not retryable") {
			t.Fatalf("page_failed %+v", ev)
		}
		g.advance(time.Minute)
		if len(smsc.messages()) != 1 {
			t.Fatal("a failure that is not retryable was retried")
		}
	})
	t.Run("retryable-gives-up", func(t *testing.T) {
		backends(t, func(t *testing.T, open func() *store.DB) {
			smsc := &phone{fail: func(notify.Message, int) error { return retryable("timeout") }}
			vc := &phone{}
			g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": smsc, "voice": vc})
			a := g.trap()
			g.advance(2*time.Second + 4*time.Second + 8*time.Second)
			rows := g.pages(a.ID)
			if len(smsc.messages()) != 4 || len(rows) != 2 || rows[0].State != paging.Failed || rows[0].Attempts != 4 ||
				len(vc.messages()) != 1 || rows[1].State != paging.Delivered {
				t.Fatalf("sms attempts %d, rows %+v", len(smsc.messages()), rows)
			}
		})
	})
}

// TestNextPersonWhenEveryContactFails: 张师傅 fails on SMS and voice: 李经理
// is paged at once, without waiting for the acknowledgement timeout.
func TestNextPersonWhenEveryContactFails(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{fail: func(m notify.Message, _ int) error {
			if m.To == "13800000001" {
				return permanent("unreachable")
			}
			return nil
		}}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		if len(ph.to("13800000001")) != 2 || len(ph.to("13800000002")) != 1 {
			t.Fatalf("sent %+v", ph.messages())
		}
		rows := g.pages(a.ID)
		if len(rows) != 3 || rows[2].PersonID != "li" || rows[2].State != paging.Delivered {
			t.Fatalf("rows %+v", rows)
		}
		if open := openOf(g, paging.TypePagingFailed); len(open) != 0 {
			t.Fatalf("paging_failed raised although 李经理 was reached: %+v", open)
		}
	})
}

// TestNextPersonAfterAckTimeout: nobody acknowledges within ack_timeout
// (2 min): the next person is paged (the first one's page stays valid);
// once acknowledged, nobody more is paged.
func TestNextPersonAfterAckTimeout(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{}
		ro := chain()
		ro.tiers[1] = append(ro.tiers[1], person("chen", "陈师傅", oncall.RoleTechnician, "", sms("13800000009")))
		g := newRig(t, open, ro, map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		g.advance(2*time.Minute - time.Second)
		if len(ph.to("13800000002")) != 0 {
			t.Fatal("next person paged before the timeout")
		}
		g.advance(time.Second)
		if len(ph.to("13800000002")) != 1 {
			t.Fatalf("李经理 not paged after 2 min: %+v", ph.messages())
		}
		if ev := g.events(a.ID, "page_next"); len(ev) != 1 || !strings.Contains(ev[0].Note, "李经理") {
			t.Fatalf("page_next %+v", ev)
		}
		if _, err := g.e.Acknowledge(a.ID, alerts.Action{Actor: "demo-manager"}); err != nil {
			t.Fatal(err)
		}
		g.advance(3 * time.Minute)
		if len(ph.to("13800000009")) != 0 {
			t.Fatal("paged after the alert was acknowledged")
		}
		rows := g.pages(a.ID)
		if rows[1].State != paging.Acknowledged || rows[1].AckBy != "demo-manager" || rows[0].State != paging.Delivered {
			t.Fatalf("rows after 李经理 acknowledged: %+v", rows)
		}
	})
}

// TestEscalationPagesTheTierAddedPeople: at the 5-minute escalation to
// tier 2 the supervisor the tier adds is paged, and nobody twice.
func TestEscalationPagesTheTierAddedPeople(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		g.advance(5*time.Minute - time.Second)
		if len(ph.to("13800000003")) != 0 {
			t.Fatal("supervisor paged before the escalation")
		}
		g.advance(time.Second)
		if len(ph.to("13800000003")) != 1 {
			t.Fatalf("supervisor not paged at the escalation: %+v", ph.messages())
		}
		if len(ph.to("13800000001")) != 1 || len(ph.to("13800000002")) != 1 {
			t.Fatalf("someone paged twice: %+v", ph.messages())
		}
		rows := g.pages(a.ID)
		if last := rows[len(rows)-1]; last.Tier != 2 || last.PersonID != "wang" {
			t.Fatalf("rows %+v", rows)
		}
	})
}

// TestPagingFailedWhenNobodyIsReached: every person fails on every
// contact: a critical paging_failed alert on the lift, and the pager says
// it is degraded; an empty chain (nobody on duty) too.
func TestPagingFailedWhenNobodyIsReached(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{fail: func(notify.Message, int) error { return permanent("no such number") }}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		if d := g.p.Degraded(); d != "" {
			t.Fatalf("degraded before anything: %s", d)
		}
		a := g.trap()
		if n := len(ph.messages()); n != 3 {
			t.Fatalf("%d pages: want 张师傅's two and 李经理's one", n)
		}
		pf := openOf(g, paging.TypePagingFailed)
		if len(pf) != 1 || pf[0].Severity != telemetry.SeverityCritical || !strings.Contains(pf[0].Summary, fmt.Sprint(a.ID)) {
			t.Fatalf("paging_failed %+v", pf)
		}
		if d := g.p.Degraded(); !strings.Contains(d, "reached nobody") {
			t.Fatalf("degraded %q", d)
		}
		// The escalation adds the supervisor, who is reached: not degraded
		// any more (the paging_failed alert stays for a person to close).
		ph.fail = nil
		g.advance(5 * time.Minute)
		if d := g.p.Degraded(); d != "" {
			t.Fatalf("still degraded after the supervisor was reached: %s", d)
		}
	})
	t.Run("nobody-on-duty", func(t *testing.T) {
		backends(t, func(t *testing.T, open func() *store.DB) {
			g := newRig(t, open, &roster{tiers: map[int][]oncall.Person{}}, map[string]notify.Notifier{})
			g.trap()
			pf := openOf(g, paging.TypePagingFailed)
			if len(pf) != 1 || !strings.Contains(pf[0].Summary, "nobody is on duty") {
				t.Fatalf("paging_failed %+v", pf)
			}
			if g.p.Degraded() == "" {
				t.Fatal("not degraded")
			}
		})
	})
}

// TestRestartResumesTheChain: a new pager on the same database continues:
// the page left "sending" by the crash is sent again with the same key,
// and the next person is paged when the timeout runs out.
func TestRestartResumesTheChain(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{fail: func(notify.Message, int) error { return retryable("busy") }}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		rows := g.pages(a.ID)
		// The process dies while the provider has the page.
		r := rows[0]
		r.State = paging.Sending
		if err := g.db.Pages().UpdatePage(context.Background(), &r); err != nil {
			t.Fatal(err)
		}
		ph2 := &phone{}
		g.chans["sms"], g.chans["voice"] = ph2, ph2
		g.crash()
		g.advance(time.Second)
		if got := ph2.messages(); len(got) != 1 || got[0].Key != r.Key || got[0].To != "13800000001" {
			t.Fatalf("after the restart: %+v (want the page again with key %s)", got, r.Key)
		}
		g.advance(2*time.Minute - time.Second)
		if len(ph2.to("13800000002")) != 1 {
			t.Fatalf("the chain did not continue after the restart: %+v", ph2.messages())
		}
		rows = g.pages(a.ID)
		if len(rows) != 2 || rows[0].State != paging.Delivered || rows[0].Attempts != 2 {
			t.Fatalf("rows %+v", rows)
		}
	})
}

func openOf(g *rig, typ string) []*alerts.Alert {
	var out []*alerts.Alert
	for _, a := range g.e.Open() {
		if a.Type == typ {
			out = append(out, a)
		}
	}
	return out
}

// TestAckExpiresPagesNotSent: a page waiting for its retry when the alert
// is acknowledged is not sent: it expires, and nobody more is paged.
func TestAckExpiresPagesNotSent(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		ph := &phone{fail: func(notify.Message, int) error { return retryable("busy") }}
		g := newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		a := g.trap()
		if _, err := g.e.Acknowledge(a.ID, alerts.Action{Actor: "desk"}); err != nil {
			t.Fatal(err)
		}
		g.advance(5 * time.Minute)
		rows := g.pages(a.ID)
		if len(ph.messages()) != 1 || len(rows) != 1 || rows[0].State != paging.Expired || !strings.Contains(rows[0].LastError, "acknowledged by desk") {
			t.Fatalf("after the acknowledgement: %d sent, rows %+v", len(ph.messages()), rows)
		}
	})
}

// blocking is a channel whose provider never answers until released.
type blocking struct {
	got     chan notify.Message
	release chan struct{}
}

func (b *blocking) Notify(ctx context.Context, m notify.Message) error {
	b.got <- m
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestProviderThatHangsDelaysNothing: while a provider holds a page, the
// engine goes on (its listener only queues) and another alert's page is
// sent.
func TestProviderThatHangsDelaysNothing(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		hang := &blocking{got: make(chan notify.Message, 10), release: make(chan struct{})}
		ok := &phone{}
		ro := &roster{tiers: map[int][]oncall.Person{1: {person("a", "甲", oncall.RoleTechnician, "", oncall.Contact{Channel: "hang", To: "13800000011"}),
			person("b", "乙", oncall.RoleManager, "", sms("13800000012"))}}}
		g := newRig(t, open, ro, map[string]notify.Notifier{"hang": hang, "sms": ok})
		g.cfg.AttemptTimeout = time.Hour
		g.crash()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { g.p.Run(ctx); close(done) }()
		defer func() { close(hang.release); cancel(); <-done }()
		m := &telemetry.Message{Kind: telemetry.KindFault, Lift: lift, Boot: 1, Seq: 1, TS: g.clk.Now().UnixMilli(), BatteryPct: -1, LoadPct: -1,
			DoorZone: true, Code: "entrapment"}
		u, _ := g.lifts.Observe(m, g.clk.Now(), true)
		g.e.Consume(m, &u)
		select {
		case <-hang.got:
		case <-time.After(30 * time.Second):
			t.Fatal("the page never reached the provider")
		}
		// The provider holds it; the engine still acts, and a critical
		// fault on another lift pages its own chain.
		m2 := &telemetry.Message{Kind: telemetry.KindFault, Lift: "JW-0007", Boot: 1, Seq: 1, TS: g.clk.Now().UnixMilli(), BatteryPct: -1,
			LoadPct: -1, DoorZone: true, Code: "overspeed"}
		u2, _ := g.lifts.Observe(m2, g.clk.Now(), true)
		g.e.Consume(m2, &u2)
		if n := len(g.e.Open()); n != 2 {
			t.Fatalf("%d open alerts", n)
		}
		select {
		case got := <-hang.got:
			if got.Params["lift"] != "JW-0007" {
				t.Fatalf("page %+v", got)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the second alert's page waited for the first provider")
		}
	})
}

// TestResolvedWhileSendingEndsTheChain: the alert is resolved while a page
// is with the provider, which then fails: nobody more is paged and no
// paging_failed is raised (the chain ended, it did not fail).
func TestResolvedWhileSendingEndsTheChain(t *testing.T) {
	backends(t, func(t *testing.T, open func() *store.DB) {
		var g *rig
		ph := &phone{}
		ph.fail = func(m notify.Message, _ int) error {
			for _, step := range []func(int64, alerts.Action) (*alerts.Alert, error){g.e.Arrive, g.e.Resolve} {
				if _, err := step(m.AlertID, alerts.Action{Actor: "desk", Note: "passengers out", PassengersReleased: true}); err != nil {
					t.Error(err)
				}
			}
			return permanent("unreachable")
		}
		g = newRig(t, open, chain(), map[string]notify.Notifier{"sms": ph, "voice": ph})
		g.seq++
		m := &telemetry.Message{Kind: telemetry.KindFault, Lift: lift, Boot: 1, Seq: g.seq, TS: g.clk.Now().UnixMilli(), BatteryPct: -1, LoadPct: -1,
			DoorZone: true, Code: "entrapment"}
		u, _ := g.lifts.Observe(m, g.clk.Now(), true)
		g.e.Consume(m, &u)
		g.settle()
		g.advance(3 * time.Minute)
		if n := len(ph.messages()); n != 1 {
			t.Fatalf("%d pages after the alert was resolved: want the one in flight only", n)
		}
		if pf := openOf(g, paging.TypePagingFailed); len(pf) != 0 {
			t.Fatalf("paging_failed raised for a resolved alert: %+v", pf)
		}
		if d := g.p.Degraded(); d != "" {
			t.Fatalf("degraded: %s", d)
		}
	})
}
