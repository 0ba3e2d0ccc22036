package main

import (
	"context"
	"net/http"

	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
)

// demoChannel is the demo's simulated paging gateway's channel name.
const demoChannel = "demo"

// demoPaging turns paging on with the on-call roster and the demo's
// simulated gateway, and adds GET /demo/outbox (every message the gateway accepted)
// and GET /demo/inbox (those sent to the signed-in user, for the phone
// inbox page /inbox).
func demoPaging(ctx context.Context, a *app.App, _ string) error {
	gw := paging.NewDemoGateway(demoChannel, a.Engine().Now, 1000)
	// The pager reads the on-call roster (App.SeedDemoRoster's, and what
	// is edited on the On-call page), on the simulated gateway.
	if err := a.EnablePaging(ctx, a.OnCall(), map[string]notify.Notifier{demoChannel: gw}); err != nil {
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
