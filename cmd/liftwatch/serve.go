package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/telemetry"
)

// registerServeFlags adds the service's flags to fs, filling cfg.
func registerServeFlags(fs *flag.FlagSet, cfg *app.Config) {
	fs.StringVar(&cfg.HTTPListen, "http.listen", "127.0.0.1:8080", "HTTP address for the API, /metrics, /healthz and /readyz")
	fs.StringVar(&cfg.DataDir, "data.dir", "./data", "directory for the embedded database and the ingest spool (relative to the working directory; ./data is git-ignored)")
	fs.StringVar(&cfg.RegistryFile, "registry.file", "", "lift register to import at start (.json or .csv); empty: the shipped Jiangwan fleet")
	fs.StringVar(&cfg.Root, "topic.root", telemetry.DefaultRoot, "MQTT topic root: lifts publish on <root>/<lift>/<kind>")
	cfg.MQTT.RegisterFlags(fs, "mqtt.", "tcp://127.0.0.1:1883")
	fs.StringVar(&cfg.ClientID, "mqtt.client-id", "liftwatch-ingest", "MQTT client ID; keep it stable: the broker queues messages for it while liftwatch is away")
	fs.StringVar(&cfg.SharedGroup, "mqtt.shared-group", "", "subscribe as $share/<group>/... so several instances split the load")
	fs.StringVar(&cfg.Influx.URL, "influx.url", "", "InfluxDB URL; empty keeps telemetry history in the embedded store")
	fs.StringVar(&cfg.Influx.Token, "influx.token", "", "InfluxDB token (1.8: user:password or empty)")
	fs.StringVar(&cfg.Influx.Org, "influx.org", "", "InfluxDB organisation (2.x)")
	fs.StringVar(&cfg.Influx.Bucket, "influx.bucket", "liftwatch", "InfluxDB bucket (1.8: database/retention-policy)")
	fs.IntVar(&cfg.MaxUnacked, "ingest.max-unacked", 20000, "messages received but not yet acknowledged; keep at least the broker's per-client inflight limit")
	fs.DurationVar(&cfg.GapGrace, "ingest.gap-grace", ingest.DefaultGapGrace, "how long a hole in a lift's sequence waits for a late, reordered message before it counts as a gap (warning, /readyz sequence degraded)")
	fs.IntVar(&cfg.Shards, "ingest.shards", 0, "parallel lift shards (0: one per CPU)")
	fs.IntVar(&cfg.BatchPoints, "ingest.batch-points", 5000, "points per write to the time-series store")
	fs.DurationVar(&cfg.FlushEvery, "ingest.flush-interval", time.Second, "longest a point waits for its batch to fill before it is written to the store")
	fs.Int64Var(&cfg.SpoolMax, "spool.max-bytes", 2<<30, "spool size at which acks stop and the broker holds further messages")
	fs.DurationVar(&cfg.OfflineAfter, "offline-after", 3*time.Minute, "a lift silent this long is offline (3 status intervals)")
	fs.IntVar(&cfg.MaxPayload, "payload.max-bytes", telemetry.DefaultMaxPayload, "largest accepted payload")
	fs.DurationVar(&cfg.Horizon, "ts.horizon", telemetry.DefaultHorizon, "oldest accepted event time (terminals buffer while offline)")
	fs.DurationVar(&cfg.MaxFuture, "ts.max-future", telemetry.DefaultMaxFuture, "how far in the future an event time may be")
	fs.StringVar(&cfg.AlertsConfig, "alerts.config", "", "alert policies (per estate) and notification receivers, YAML; empty: default policy, no receivers")
	fs.BoolVar(&cfg.FakeClock, "debug.fake-clock", false, "run alert clocks on a fake clock moved by POST /debug/clock?advance=5m (tests only)")
	fs.BoolVar(&cfg.Pprof, "debug.pprof", false, "serve Go profiles under /debug/pprof/ on the HTTP address")
	fs.DurationVar(&cfg.ShutdownWait, "shutdown.timeout", 5*time.Second, "at shutdown, time to flush the spool to the store; the rest stays spooled")
}

func newServeFlags(stderr io.Writer) (*flag.FlagSet, *app.Config, *logOptions) {
	fs := newFlags("serve", "Runs the service: subscribes to the lifts' telemetry, stores it, keeps live state and serves the API.", stderr)
	var cfg app.Config
	registerServeFlags(fs, &cfg)
	var lo logOptions
	lo.register(fs)
	return fs, &cfg, &lo
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cfg, lo := newServeFlags(stderr)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	log, err := lo.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch serve: %v\n", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "liftwatch serve: invalid configuration:\n%v\n", err)
		return 2
	}
	a, err := app.New(ctx, *cfg, log)
	if err != nil {
		return startError(stderr, "serve", err)
	}
	if err := a.Run(ctx); err != nil {
		log.Error("liftwatch stopped", "err", err)
		return 1
	}
	return 0
}

// startError reports a failure to build the service: exit 2 for a bad
// setting (app.ConfigError: alerts config, register file), 1 otherwise.
func startError(stderr io.Writer, cmd string, err error) int {
	var ce *app.ConfigError
	if errors.As(err, &ce) || errors.Is(err, app.ErrInfluxTarget) {
		fmt.Fprintf(stderr, "liftwatch %s: invalid configuration:\n%v\n", cmd, err)
		return 2
	}
	fmt.Fprintf(stderr, "liftwatch %s: %v\n", cmd, err)
	return 1
}
