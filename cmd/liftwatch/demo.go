package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/embedded"
	"github.com/liftwatch/liftwatch/internal/listen"
	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
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
	simCfg, err := o.build(time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
	}
	if err := do.validate(simCfg); err != nil {
		fmt.Fprintf(stderr, "liftwatch demo: %v\n", err)
		return 2
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
	if do.historyMonths > 0 {
		if err := writeHistory(ctx, a, &do, simCfg, o.seed, stdout, log); err != nil {
			fmt.Fprintf(stderr, "liftwatch demo: maintenance history: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stdout, `liftwatch demo running
  lifts and live state  http://%[1]s/api/v1/lifts
  one lift              http://%[1]s/api/v1/lifts/JW-0042
  its history           http://%[1]s/api/v1/lifts/JW-0042/history?kind=trip
  open alerts           http://%[1]s/api/v1/alerts?open=true
  alert stream (SSE)    http://%[1]s/api/v1/alerts/stream
  rejected messages     http://%[1]s/api/v1/deadletters
  Prometheus metrics    http://%[1]s/metrics
  health / readiness    http://%[1]s/healthz  http://%[1]s/readyz
  MQTT broker           %[2]s (embedded; anyone may connect)
  data                  %[3]s
Simulating %[4]d lifts: %[5]s of history first, then live. Ctrl-C stops.
`, a.HTTPAddr(), cfg.MQTT.Broker, cfg.Data.Dir, len(simCfg.Lifts), o.backfill)
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
func writeHistory(ctx context.Context, a *app.App, do *demoOptions, simCfg simulator.Config, seed uint64, stdout io.Writer, log *slog.Logger) error {
	db := a.Store()
	to := simCfg.Start
	res, err := demohistory.Run(ctx, demohistory.Deps{Lifts: a.Registry().Lifts(), Maintenance: db.Maintenance(), Trusteeship: db.Trusteeship(),
		Fund: db.Fund(), Log: log.With("component", "demo-history")},
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
