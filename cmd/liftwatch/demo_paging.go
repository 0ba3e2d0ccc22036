package main

import (
	"context"
	"net/http"
	"time"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/oncall"
)

// demoChannel is the demo's simulated paging gateway's channel name.
const demoChannel = "demo"

// demoRoster is a minimal roster for the demo, through the pager's Roster
// interface, until the on-call rosters (package oncall) are wired: every
// lift's tier 1 is its contractor's duty technician, then its estate's
// manager; tier 2 adds the contractor's supervisor; tier 3 the
// subdistrict's duty officer. The people of the demo lift's contractor and
// estate are the demo accounts (demo-contractor, demo-manager,
// demo-subdistrict), so their phone inbox shows their pages.
type demoRoster struct {
	company, estate string // the demo lift's
}

func (r demoRoster) Chain(estate, contractor string, tier int, _ time.Time) []oncall.Person {
	user := func(ok bool, name string) string {
		if ok {
			return name
		}
		return ""
	}
	tech := oncall.Person{ID: "tech:" + contractor, Name: "张师傅", Role: oncall.RoleTechnician, User: user(contractor == r.company, "demo-contractor"),
		Phone: "13800000001", Contacts: []oncall.Contact{{Channel: demoChannel, To: "13800000001"}}}
	mgr := oncall.Person{ID: "manager:" + estate, Name: "李经理", Role: oncall.RoleManager, User: user(estate == r.estate, "demo-manager"),
		Phone: "13800000002", Contacts: []oncall.Contact{{Channel: demoChannel, To: "13800000002"}}}
	sup := oncall.Person{ID: "supervisor:" + contractor, Name: "王主管", Role: oncall.RoleSupervisor,
		Phone: "13800000003", Contacts: []oncall.Contact{{Channel: demoChannel, To: "13800000003"}}}
	sub := oncall.Person{ID: "subdistrict", Name: "赵科长", Role: oncall.RoleSubdistrict, User: "demo-subdistrict",
		Phone: "13800000004", Contacts: []oncall.Contact{{Channel: demoChannel, To: "13800000004"}}}
	out := []oncall.Person{tech, mgr}
	if tier >= 2 {
		out = append(out, sup)
	}
	if tier >= 3 {
		out = append(out, sub)
	}
	return out
}

// demoPaging turns paging on with the demo's roster and its simulated
// gateway, and adds GET /demo/outbox (every message the gateway accepted)
// and GET /demo/inbox (those sent to the signed-in user, for the phone
// inbox page /inbox).
func demoPaging(ctx context.Context, a *app.App, lift string) error {
	l, ok := a.Registry().Get(lift)
	if !ok {
		l = &a.Registry().Lifts()[0]
	}
	gw := paging.NewDemoGateway(demoChannel, a.Engine().Now, 1000)
	if err := a.EnablePaging(ctx, demoRoster{company: l.Contractor, estate: l.Estate}, map[string]notify.Notifier{demoChannel: gw}); err != nil {
		return err
	}
	p := a.Pager()
	a.Handle("GET /demo/outbox", api.Guard{SignedIn: true}, p.OutboxHandler(gw))
	a.Handle("GET /demo/inbox", api.Guard{SignedIn: true}, p.InboxHandler(gw, func(r *http.Request) string {
		act, _ := identity.ActorFrom(r.Context())
		return act.Name
	}))
	return nil
}
