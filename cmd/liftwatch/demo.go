package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/embedded"
	"github.com/liftwatch/liftwatch/internal/listen"
	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
	"github.com/liftwatch/liftwatch/store"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if refuseDemoFlags(args, stderr) {
		return 2
	}
	var cfg app.Config
	var o simOptions
	var lo logOptions
	fs, brokerListen := newDemoFlags(stderr, &cfg, &o, &lo)
	var do demoOptions
	do.register(fs)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	log, err := lo.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
	}
	cfg.MQTT.Broker = "tcp://" + *brokerListen
	o.root, o.mqtt = cfg.Telemetry.Root, cfg.MQTT.Options
	o.mqtt.Username, o.mqtt.Password = "", ""
	o.horizon = cfg.Telemetry.Horizon
	// Every setting is checked before anything is created, opened or bound.
	check := cfg
	if check.Data.Dir == "" {
		check.Data.Dir = "(a new temporary directory)"
	}
	if err := app.Check(check); err != nil {
		return startError(stderr, "demo", err)
	}
	// A data directory kept from an earlier demo has that demo's backfill
	// and live data already: this one goes live at once (a second backfill
	// would lay another day over the same hours), and its terminals count
	// their boots on from the earlier run's (boots are minutes since the
	// epoch at start), as terminals restarted do.
	// With --store.url the data is in that PostgreSQL database instead.
	kept := false
	if cfg.Data.Dir != "" || cfg.Store.URL != "" {
		var err error
		if kept, err = store.Populated(ctx, cfg.Store.URL, filepath.Join(cfg.Data.Dir, "liftwatch.db")); err != nil {
			fmt.Fprintf(stderr, "liftwatch demo: --store.url %s: %v\n", store.Redact(cfg.Store.URL), err)
			return 1
		}
		if kept {
			o.backfill = 0
		}
	}
	start := time.Now()
	simCfg, err := o.build(start)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
	}
	simCfg.BootBase = start.Unix() / 60
	if err := do.validate(simCfg); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
	}
	contractors := do.contractors && o.speed == 1
	if contractors {
		// The contractors make the visits: the simulator's own random
		// ones would lend inspection-mode time to a paper visit.
		simCfg.Rates.VisitInterval = 0
	}
	if cfg.Data.Dir == "" {
		dir, err := os.MkdirTemp("", "liftwatch-demo-")
		if err != nil {
			fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		cfg.Data.Dir = dir
	}

	// Both ports before anything starts: a taken port must not leave a
	// broker, a database or a spool behind, and it is a setting to change.
	if err := checkHTTPListen(cfg.HTTP.Listen); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
	}
	if err := listen.Check(*brokerListen, "broker.listen", "LIFTWATCH_BROKER_LISTEN"); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: embedded MQTT broker: %v\n", err)
		return 2
	}
	broker, err := embedded.Start(embedded.Options{Addr: *brokerListen, Subscriber: cfg.MQTT.ClientID, HoldAt: do.holdAt}, log)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 1
	}
	defer broker.Close()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return startError(stderr, "demo", err)
	}
	accounts, err := demoAccounts(ctx, a, do.incidentLift, cfg.Registry.Subdistrict)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 1
	}
	// Everyone is on duty around the clock on the demo's paging gateway:
	// the incident's chain is demo-contractor, demo-manager, then the
	// supervisor and demo-subdistrict; the pager pages that roster.
	if err := a.SeedDemoRoster(ctx, do.incidentLift); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: on-call roster: %v\n", err)
		return 1
	}
	if err := demoPaging(ctx, a, do.incidentLift); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: paging: %v\n", err)
		return 1
	}
	companies := demoCompanies(simCfg.Lifts)
	var tokens map[string]string
	if contractors {
		if tokens, err = contractorTokens(ctx, a, companies, demoCompany(a, do.incidentLift)); err != nil {
			fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
			return 1
		}
	}
	if do.historyMonths > 0 {
		if err := writeHistory(ctx, a, cfg.Store.URL, &do, simCfg, o.seed, stdout, log); err != nil {
			fmt.Fprintf(stderr, "liftwatch demo: maintenance history: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, `liftwatch demo running

  Open http://%[1]s/ in a browser and sign in with an account printed below:
    demo-manager     the alert board of the manager's estate, supervision, the fund
    demo-contractor  the company's work orders (made for a phone)
    demo-owner       one household's lift and fund statement
    demo-subdistrict every estate, read-only, with reports;  demo-admin: everything

  sign in (API)         curl -c jar -H 'Content-Type: application/json' -d '{"name":"demo-manager","password":"…"}' http://%[1]s/api/v1/session
                        (then curl -b jar …; state changes also send X-CSRF-Token: <csrf_token from the answer>)
  API description       http://%[1]s/api/v1/openapi.json
  lifts and live state  http://%[1]s/api/v1/lifts
  lift changes (SSE)    http://%[1]s/api/v1/lifts/stream
  one lift              http://%[1]s/api/v1/lifts/JW-0042
  its history           http://%[1]s/api/v1/lifts/JW-0042/history?kind=trip
  open alerts           http://%[1]s/api/v1/alerts?open=true
  alert stream (SSE)    http://%[1]s/api/v1/alerts/stream
  rejected messages     http://%[1]s/api/v1/deadletters
  Prometheus metrics    http://%[1]s/metrics
  health / readiness    http://%[1]s/healthz  http://%[1]s/readyz
  pages sent (gateway)  http://%[1]s/demo/outbox   phone inbox  http://%[1]s/inbox
  MQTT broker           %[2]s (embedded; anyone may connect)
  data                  %[3]s
Simulating %[4]d lifts: %[5]s of history first, then live. Ctrl-C stops.
`, a.HTTPAddr(), cfg.MQTT.Broker, cfg.Data.Dir, len(simCfg.Lifts), o.backfill)
	if kept {
		where := "The data directory " + cfg.Data.Dir
		if cfg.Store.URL != "" {
			where = "The database " + store.Redact(cfg.Store.URL)
		}
		fmt.Fprintf(stdout, "%s is kept from an earlier run: the simulation goes live at once (no second backfill), its terminals as if restarted.\n", where)
	}
	fmt.Fprint(stdout, accounts)
	ds := &demoSim{ready: make(chan struct{}), ended: make(chan struct{})}
	ds.routes(a)
	fmt.Fprint(stdout, do.announce(a.HTTPAddr()))

	var g run.Group
	g.Add("service", a.Run)
	g.Add("simulator", func(ctx context.Context) error {
		time.Sleep(300 * time.Millisecond) // let the service subscribe first
		ms, err := dialSim(ctx, &o, simCfg.Lifts, log)
		if err != nil {
			return err
		}
		defer ms.Close()
		sim, err := simulator.New(simCfg, ms)
		if err != nil {
			return err
		}
		ds.start(sim, ms)
		stop := context.AfterFunc(ctx, broker.Release) // held publishers must not outlive the service
		defer stop()
		err = sim.Run(ctx)
		ds.finish()
		c := sim.Stats().Snapshot()
		c.Failed = ms.Failed()
		c.Print(stderr)
		if err == nil && ctx.Err() == nil {
			<-ctx.Done() // a finished simulation leaves the service up
		}
		return err
	})
	if contractors {
		g.Add("contractors", func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return nil
			case <-ds.ready:
			}
			select {
			case <-ctx.Done():
				return nil
			case <-ds.ended:
				return nil
			case <-ds.sim.Live():
			}
			contractorsNote(stdout, a.HTTPAddr(), companies, demoCompany(a, do.incidentLift))
			return runContractors(ctx, "http://"+a.HTTPAddr(), tokens, companies, liveInspector{ds.sim}, o.seed, do.paperShare,
				log.With("component", "contractor"))
		})
	} else if do.contractors {
		fmt.Fprintln(stdout, "Contractors: not run (they work on the service's clock, so only at --sim.speed 1).")
	}
	g.Add("narrator", func(ctx context.Context) error {
		do.narrate(ctx, ds, a.Engine(), a.HTTPAddr(), stdout, log)
		<-ctx.Done()
		return nil
	})
	if err := g.Run(ctx); err != nil {
		log.Error("demo stopped", "err", err)
		return 1
	}
	return 0
}

// writeHistory writes --demo.history-months of maintenance history ending
// where the simulation starts, and says what it holds and how long it took.
// On a data directory that has it already it adds nothing.
//
// On PostgreSQL (storeURL) the history goes through a connection of its
// own with synchronous_commit off: it is some 16,000 small transactions,
// and each would otherwise wait for the server's WAL flush. A server crash
// meanwhile could lose the last fraction of a second of this synthetic
// history, no more than SQLite's synchronous=NORMAL risks on power loss;
// the service's own writes keep the server's setting.
func writeHistory(ctx context.Context, a *app.App, storeURL string, do *demoOptions, simCfg simulator.Config, seed uint64, stdout io.Writer, log *slog.Logger) error {
	db := a.Store()
	if storeURL != "" {
		u, err := url.Parse(storeURL)
		if err != nil { // checked at start
			return fmt.Errorf("--store.url: %w", err)
		}
		q := u.Query()
		q.Set("synchronous_commit", "off")
		u.RawQuery = q.Encode()
		if db, err = store.OpenURL(ctx, u.String(), ""); err != nil {
			return fmt.Errorf("--store.url %s: %w", store.Redact(storeURL), err)
		}
		defer db.Close()
	}
	to := simCfg.Start
	res, err := demohistory.Run(ctx, demohistory.Deps{Lifts: a.Registry().Lifts(), Maintenance: db.Maintenance(), Trusteeship: db.Trusteeship(),
		Fund: db.Fund(), Sessions: historySessions{db.Inspections()},
		// Months of history are thousands of orders and visits: the
		// summary line says what was written, the log only what went wrong.
		Log: slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "demo-history")},
		demohistory.Options{From: to.AddDate(0, -do.historyMonths, 0), To: to, Seed: seed, PaperShare: do.paperShare})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Maintenance history: %d months to %s written in %.1f s: %d visits signed (%d paper visits, flagged unverified), %d entrapments with their corrective orders, %d ledger entries",
		do.historyMonths, to.In(demoZone).Format("2006-01-02 15:04"), res.Elapsed.Seconds(), res.Visits, res.Paper, res.Incidents, res.FundEntries)
	if res.OrdersCreated == 0 && res.FundEntries == 0 {
		fmt.Fprint(stdout, " (the data directory had it already: nothing added)")
	}
	fmt.Fprintln(stdout, ".")
	return nil
}

// demoZone is Shanghai, where the demo's lifts are.
var demoZone = time.FixedZone("CST", 8*3600)

// checkHTTPListen reports whether the HTTP address can be listened on, naming
// the setting that chooses it.
func checkHTTPListen(addr string) error {
	l, err := net.Listen("tcp", addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return fmt.Errorf("HTTP address %s is already in use (another program listens there): choose another with --http.listen HOST:PORT or LIFTWATCH_HTTP_LISTEN=HOST:PORT", addr)
	case err != nil:
		return fmt.Errorf("cannot listen on HTTP address %s (set --http.listen or LIFTWATCH_HTTP_LISTEN): %w", addr, err)
	}
	return l.Close()
}

// demoCompany is the contractor of the demo's lift (the first lift's if it
// is not registered): demo-contractor's company.
func demoCompany(a *app.App, lift string) string {
	l, ok := a.Registry().Get(lift)
	if !ok {
		l = &a.Registry().Lifts()[0]
	}
	return l.Contractor
}

// demoAccounts creates one account per role (identity.CreateDemoAccounts)
// scoped around the incident's lift: the manager of its estate, its
// contractor, its owner (a household the service seeds), the subdistrict of
// the register; and returns the lines that print them. A data directory
// kept from an earlier demo has them already: they get new passwords.
func demoAccounts(ctx context.Context, a *app.App, lift, subdistrict string) (string, error) {
	l, ok := a.Registry().Get(lift)
	if !ok {
		l = &a.Registry().Lifts()[0]
	}
	// The owner's household is one the service seeds for the lift (the
	// top floor's first flat), so their statement exists.
	hs := app.SeedHouseholds(*l)
	household := hs[len(hs)-1].Unit
	if len(hs) > 1 {
		household = hs[len(hs)-2].Unit
	}
	if subdistrict == "" {
		subdistrict = "jiangwan"
	}
	list, err := identity.CreateDemoAccounts(ctx, a.Identity(), identity.DemoScope{Estates: []string{l.Estate}, Company: l.Contractor,
		Lift: l.ID, Household: household, Subdistrict: subdistrict})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Accounts (one per role; passwords are new every run):\n")
	w := tabwriter.NewWriter(&b, 2, 8, 2, ' ', 0)
	fmt.Fprintf(w, "  name\tpassword\trole\tscope\n")
	for _, acc := range list {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", acc.User.Name, acc.Password, acc.User.Role, scopeText(acc.User.Scope))
	}
	w.Flush()
	return b.String(), nil
}

// scopeText is a scope in a line.
func scopeText(s identity.Scope) string {
	var parts []string
	if len(s.Estates) > 0 {
		parts = append(parts, "estates "+strings.Join(s.Estates, ","))
	}
	if s.Company != "" {
		parts = append(parts, "company "+s.Company)
	}
	if s.Lift != "" {
		parts = append(parts, "lift "+s.Lift)
	}
	if s.Household != "" {
		parts = append(parts, "household "+s.Household)
	}
	if s.Subdistrict != "" {
		parts = append(parts, "subdistrict "+s.Subdistrict)
	}
	if len(parts) == 0 {
		return "everything"
	}
	return strings.Join(parts, "; ")
}

// minLevel is a slog handler that drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
