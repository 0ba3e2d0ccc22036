package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
)

type simOptions struct {
	fleetFile string
	lifts     int
	seed      uint64
	root      string
	speed     float64
	backfill  time.Duration
	duration  time.Duration
	horizon   time.Duration // the service's ts.horizon: no event may be older when published
	start     string
	scenario  string
	rates     simulator.Rates
	mqtt      mqttconn.Options
	perLift   bool
	conns     int
	window    int
	dryRun    bool
	statsJSON bool
	prefix    string // of the flags, for messages
}

func (o *simOptions) register(fs *flag.FlagSet, prefix string) {
	o.prefix = prefix
	d := simulator.DefaultRates()
	fs.StringVar(&o.fleetFile, prefix+"fleet", "", "lift register to simulate (.json or .csv); empty: the shipped Jiangwan fleet")
	fs.IntVar(&o.lifts, prefix+"lifts", 0, "simulate this many generated lifts (LW-000001…) instead of a register")
	fs.Uint64Var(&o.seed, prefix+"seed", 1, "random seed: the same seed and settings give the same messages")
	fs.Float64Var(&o.speed, prefix+"speed", 1, "time: 1 is live, N runs N times faster than real time, 0 as fast as possible")
	fs.DurationVar(&o.backfill, prefix+"backfill", 0, "first generate this much past history as fast as possible, then go on at --speed (at most --ts.horizon: the service rejects older events)")
	fs.DurationVar(&o.duration, prefix+"duration", 0, "stop after this much simulated time past the backfill (0: until interrupted; with --speed 0, at the present)")
	fs.StringVar(&o.start, prefix+"start", "", "simulated start time, RFC 3339 (default: now minus --backfill; at most --ts.horizon ago unless --dry-run); wins over a scenario's start:")
	fs.StringVar(&o.scenario, prefix+"scenario", "", "scenario file (YAML or JSON) scripting exact events")
	fs.Float64Var(&o.rates.TripsPerDayMin, prefix+"trips-min", d.TripsPerDayMin, "fewest runs a day of a lift")
	fs.Float64Var(&o.rates.TripsPerDayMax, prefix+"trips-max", d.TripsPerDayMax, "most runs a day of a lift")
	fs.DurationVar(&o.rates.StatusInterval, prefix+"status-interval", d.StatusInterval, "status heartbeat interval")
	fs.Float64Var(&o.rates.FaultsPerLiftDay, prefix+"fault-rate", d.FaultsPerLiftDay, "faults per lift per day")
	fs.Float64Var(&o.rates.EntrapmentsPerLiftMonth, prefix+"entrapment-rate", d.EntrapmentsPerLiftMonth, "entrapments per lift per month")
	fs.DurationVar(&o.rates.VisitInterval, prefix+"visit-interval", d.VisitInterval, "routine technician visit interval (0: none)")
	fs.Float64Var(&o.rates.DisconnectsPerLiftDay, prefix+"disconnect-rate", d.DisconnectsPerLiftDay, "terminal offline periods per lift per day")
	fs.Float64Var(&o.rates.RebootsPerLiftDay, prefix+"reboot-rate", d.RebootsPerLiftDay, "terminal reboots per lift per day")
	fs.Float64Var(&o.rates.ResendProb, prefix+"resend-prob", d.ResendProb, "chance a message is sent twice")
	fs.Float64Var(&o.rates.Hostile, prefix+"hostile", 0, "hostile (must-reject) messages per valid message")
	fs.IntVar(&o.rates.BufferLimit, prefix+"buffer-limit", d.BufferLimit, "messages a terminal buffers while offline")
	fs.BoolVar(&o.perLift, prefix+"per-lift-connections", false, "one MQTT connection per lift, client ID = lift ID, as real terminals")
	fs.IntVar(&o.conns, prefix+"connections", 4, "shared MQTT connections (without --per-lift-connections)")
	fs.IntVar(&o.window, prefix+"window", 1000, "unacknowledged publishes per connection")
}

// build makes the simulator configuration from the options at time now.
func (o *simOptions) build(now time.Time) (simulator.Config, error) {
	cfg := simulator.Config{Root: o.root, Seed: o.seed, Speed: o.speed, Rates: o.rates}
	if err := o.validate(); err != nil {
		return cfg, err
	}
	var err error
	switch {
	case o.lifts > 0:
		cfg.Lifts = registry.GenerateN(o.seed, o.lifts)
	case o.fleetFile != "":
		cfg.Lifts, err = registry.LoadFile(o.fleetFile)
	default:
		cfg.Lifts, err = registry.Jiangwan()
	}
	if err != nil {
		return cfg, err
	}
	if o.scenario != "" {
		if cfg.Scenario, err = simulator.LoadScenario(o.scenario); err != nil {
			return cfg, err
		}
	}
	// The simulated start: --start wins over a scenario's own start:, which
	// wins over the default (now minus --backfill; for a scenario played as
	// fast as possible, so that it ends now).
	sc := cfg.Scenario
	switch {
	case o.start != "":
		if cfg.Start, err = time.Parse(time.RFC3339, o.start); err != nil {
			return cfg, fmt.Errorf("start %q: want RFC 3339 such as 2026-11-24T08:00:00+08:00", o.start)
		}
	case sc != nil && !sc.Start.IsZero():
		cfg.Start = sc.Start
	case sc != nil && o.speed == 0 && o.backfill == 0 && o.duration == 0:
		cfg.Start = now.Add(-sc.Length())
	default:
		cfg.Start = now.Add(-o.backfill)
		cfg.LiveFrom = now // virtual time is real time: after the backfill, catch up with the clock
	}
	if o.publishes() && cfg.Start.Before(now.Add(-o.horizon)) {
		// The service would reject every event older than its horizon.
		switch {
		case o.start != "":
			return cfg, fmt.Errorf("%sstart %s: older than ts.horizon (%v ago): the service would reject the events as too old", o.prefix, o.start, o.horizon)
		case sc != nil && !sc.Start.IsZero():
			return cfg, fmt.Errorf("%sscenario %s: start: %s is older than ts.horizon (%v ago): the service would reject the events as too old; give a later %sstart",
				o.prefix, o.scenario, sc.Start.Format(time.RFC3339), o.horizon, o.prefix)
		}
	}
	if o.backfill > 0 {
		cfg.FastUntil = cfg.Start.Add(o.backfill)
	}
	if o.duration > 0 {
		cfg.End = cfg.Start.Add(o.backfill + o.duration)
	}
	if o.speed == 0 && cfg.End.IsZero() && (sc == nil || sc.Background) {
		cfg.End = now // as fast as possible stops at the present, never publishing the future
	}
	return cfg, nil
}

// validate checks the counts and durations, one message per constraint,
// each naming its flag (with the prefix the flags were registered with).
func (o *simOptions) validate() error {
	p := o.prefix
	var errs []error
	if o.lifts < 0 {
		errs = append(errs, fmt.Errorf("%slifts %d: must not be negative (0: the register)", p, o.lifts))
	}
	if o.speed < 0 {
		errs = append(errs, fmt.Errorf("%sspeed %v: must not be negative (0: as fast as possible)", p, o.speed))
	}
	if o.backfill < 0 {
		errs = append(errs, fmt.Errorf("%sbackfill %v: must not be negative", p, o.backfill))
	}
	if o.horizon <= 0 {
		errs = append(errs, fmt.Errorf("ts.horizon %v: must be positive (the service's)", o.horizon))
	}
	if o.publishes() && o.backfill > o.horizon {
		errs = append(errs, fmt.Errorf("%sbackfill %v: more than ts.horizon %v: the service would reject the older events", p, o.backfill, o.horizon))
	}
	if o.duration < 0 {
		errs = append(errs, fmt.Errorf("%sduration %v: must not be negative", p, o.duration))
	}
	if o.conns < 1 {
		errs = append(errs, fmt.Errorf("%sconnections %d: must be at least 1", p, o.conns))
	}
	if o.window < 1 {
		errs = append(errs, fmt.Errorf("%swindow %d: must be at least 1", p, o.window))
	}
	return errors.Join(errs...)
}

// publishes: the simulated messages go to a service, which rejects events
// older than its ts.horizon (--dry-run only prints them).
func (o *simOptions) publishes() bool { return !o.dryRun }

func newSimFlags(stderr io.Writer) (*flag.FlagSet, *simOptions, *logOptions) {
	fs := newFlags("sim", "Simulates lift terminals publishing the telemetry contract over MQTT (QoS 1).\nAt the end, or on Ctrl-C, prints what it sent by kind.", stderr)
	o := &simOptions{}
	o.register(fs, "")
	fs.StringVar(&o.root, "topic.root", telemetry.DefaultRoot, "MQTT topic root")
	o.mqtt.RegisterFlags(fs, "mqtt.", "tcp://127.0.0.1:1883")
	fs.BoolVar(&o.dryRun, "dry-run", false, "print \"topic payload\" lines to stdout instead of publishing")
	fs.DurationVar(&o.horizon, "ts.horizon", telemetry.DefaultHorizon, "the service's ts.horizon: it rejects events older than this, so --backfill and --start may reach at most this far back (not checked with --dry-run)")
	fs.BoolVar(&o.statsJSON, "stats-json", false, "print the final counts as JSON on stdout")
	lo := &logOptions{}
	lo.register(fs)
	return fs, o, lo
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, o, lo := newSimFlags(stderr)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	log, err := lo.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch sim: %v\n", err)
		return 2
	}
	cfg, err := o.build(time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch sim: %v\n", err)
		return 2
	}
	var sink simulator.Sink
	var closeSink func()
	if o.dryRun {
		sink, closeSink = printSink{stdout}, func() {}
	} else {
		if errs := o.mqtt.ValidateFlags("mqtt."); len(errs) > 0 {
			fmt.Fprintf(stderr, "liftwatch sim: invalid configuration:\n%v\n", errors.Join(errs...))
			return 2
		}
		ms, err := dialSim(ctx, o, cfg.Lifts, log)
		if err != nil {
			fmt.Fprintf(stderr, "liftwatch sim: %v\n", err)
			return 1
		}
		sink, closeSink = ms, ms.Close
	}
	sim, err := simulator.New(cfg, sink)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch sim: %v\n", err)
		return 2
	}
	log.Info("simulating", "lifts", len(cfg.Lifts), "start", cfg.Start.Format(time.RFC3339), "speed", cfg.Speed, "backfill", o.backfill)
	runErr := sim.Run(ctx)
	closeSink()
	c := sim.Stats().Snapshot()
	if ms, ok := sink.(interface{ Failed() int64 }); ok {
		c.Failed = ms.Failed()
	}
	if o.statsJSON {
		_ = json.NewEncoder(stdout).Encode(c)
	} else {
		c.Print(stderr)
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "liftwatch sim: %v\n", runErr)
		return 1
	}
	return 0
}

func dialSim(ctx context.Context, o *simOptions, lifts []registry.Lift, log *slog.Logger) (*simulator.MQTTSink, error) {
	ids := make([]string, len(lifts))
	for i, l := range lifts {
		ids[i] = l.ID
	}
	start := time.Now()
	ms, err := simulator.DialMQTT(ctx, simulator.MQTTConfig{Conn: o.mqtt, PerLift: o.perLift, Conns: o.conns, Window: o.window}, ids)
	if err != nil {
		return nil, err
	}
	log.Info("connected to broker", "broker", o.mqtt.Broker, "per_lift", o.perLift, "took", time.Since(start).Round(time.Millisecond))
	return ms, nil
}

type printSink struct{ w io.Writer }

func (p printSink) Send(_ context.Context, o *simulator.Out) error {
	_, err := fmt.Fprintf(p.w, "%s %s\n", o.Topic, o.Payload)
	return err
}
