package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/notify/channel"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/oncall"
)

// EnablePaging starts paging people (alerts/paging) with roster over the
// paging channels of the alerts file (channels:, built here) and extra
// ones by name (the demo's gateway): every rescue and critical alert pages
// its chain from now on, and pages a previous run left are resumed. Call
// it after New, before Run.
func (a *App) EnablePaging(ctx context.Context, roster paging.Roster, extra map[string]notify.Notifier) error {
	if a.pager != nil {
		return errors.New("paging is enabled already")
	}
	channels, err := channel.BuildAll(a.channelCfg, a.now, nil)
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("alerts config %s: %w", a.cfg.Alerts.File, err)}
	}
	for name, n := range extra {
		if _, dup := channels[name]; dup {
			return &ConfigError{Err: fmt.Errorf("alerts config %s: channels.%s: the name is taken by a built-in channel", a.cfg.Alerts.File, name)}
		}
		channels[name] = n
	}
	p, err := paging.New(ctx, paging.Options{Store: a.db.Pages(), Roster: roster, Lifts: a.index,
		Engine: syncedActions{a.engine, a.outbox}, Channels: channels, Config: a.paging, PublicURL: a.PublicURL(),
		Clock: a.now, Logger: a.log.With("component", "paging"), Registerer: a.prom,
		Active: rosterHasPeople(roster)})
	if err != nil {
		return err
	}
	a.pager = p
	a.engine.Listen(p.Handle)
	a.log.Info("paging on", "channels", len(channels), "public_url", a.PublicURL())
	return nil
}

// rosterHasPeople is paging's Active for the on-call roster: on once the
// roster has anybody in it. Another roster (a test's) is always on.
func rosterHasPeople(roster paging.Roster) func() bool {
	r, ok := roster.(interface{ Roster() *oncall.Roster })
	if !ok {
		return nil
	}
	return func() bool { return !r.Roster().Empty() }
}

// recipients names whom a change of an alert reaches at its tier: the
// notification receivers, and the on-call chain when the pager pages the
// alert (escalation notes say so instead of "nobody was notified").
func (a *App) recipients(al *alerts.Alert) []string {
	to := a.notifier.Recipients(al)
	if a.pager != nil && a.paging.Pages(al.Type, al.Severity) {
		// The chain is paged once per person, the next one when nobody
		// acknowledges; a re-notification sends the chain nothing more.
		to = append(to, "the on-call chain (each person paged once, the next after ack_timeout: see the alert's pages)")
	}
	return to
}

// Pager is the pager (nil until EnablePaging).
func (a *App) Pager() *paging.Pager { return a.pager }

// PublicURL is the base of the links in pages: --http.public-url, or the
// bound listen address.
func (a *App) PublicURL() string {
	if a.cfg.HTTP.PublicURL != "" {
		return a.cfg.HTTP.PublicURL
	}
	return "http://" + a.HTTPAddr()
}

// pagingRoutes are the acknowledge links (public: the token is the
// credential; the button posts it in the form, to /k) and an alert's pages, served whether paging is on or not.
func (a *App) pagingRoutes() {
	csrf := func(r *http.Request) string { return identity.CSRFToken(r.Context()) }
	var link http.Handler
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.pager == nil {
			paging.InvalidLink(w, r)
			return
		}
		if link == nil {
			link = a.pager.LinkHandler(csrf)
		}
		link.ServeHTTP(w, r)
	})
	a.api.Handle("GET /k/{token}", api.Guard{Public: true}, h)
	a.api.Handle("POST /k", api.Guard{Public: true}, h)
	a.api.HandleAlertPages(pagesOf{a})
}

// pagesOf lists an alert's pages (none while paging is off).
type pagesOf struct{ a *App }

func (p pagesOf) Pages(ctx context.Context, id int64) ([]paging.View, error) {
	if p.a.pager == nil {
		return nil, nil
	}
	return p.a.pager.Pages(ctx, id)
}

// pagingReady is the readiness check "paging": degraded while paging is
// off (no roster) or while pages of an alert reached nobody.
func (a *App) pagingReady(context.Context) error {
	if a.pager == nil || !a.pager.Active() {
		return &api.DegradedError{Reason: "paging is off: no on-call roster, nobody is paged (--oncall.file or the On-call page)"}
	}
	if why := a.pager.Degraded(); why != "" {
		return &api.DegradedError{Reason: why}
	}
	if a.pager.Channels() == 0 {
		return &api.DegradedError{Reason: "no paging channels configured: pages cannot be sent"}
	}
	return nil
}
