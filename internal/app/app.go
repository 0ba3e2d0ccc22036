// Package app is liftwatch's composition root: it builds the service from a
// validated Config (store, register, ingest, HTTP API) and runs its parts as
// one run group. The serve and demo commands both use it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/internal/listen"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Config is the service's configuration.
type Config struct {
	HTTPListen   string
	DataDir      string
	RegistryFile string // "" loads the shipped Jiangwan fleet
	Root         string
	MQTT         mqttconn.Options
	ClientID     string
	SharedGroup  string
	Influx       ingest.InfluxConfig // URL "" keeps history in the embedded store
	MaxUnacked   int
	GapGrace     time.Duration // a hole in a lift's sequence older than this is a gap
	Shards       int
	BatchPoints  int
	FlushEvery   time.Duration
	SpoolMax     int64
	OfflineAfter time.Duration
	MaxPayload   int
	Horizon      time.Duration
	MaxFuture    time.Duration
	ShutdownWait time.Duration
	Pprof        bool
	AlertsConfig string
	// FakeClock drives the alert clocks from a settable clock
	// (POST /debug/clock?advance=5m), for tests of escalation across
	// restarts. Never in production.
	FakeClock bool
}

// Validate checks the configuration and says precisely what is wrong.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen %q: want HOST:PORT", c.HTTPListen))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data.dir is required"))
	}
	if err := telemetry.ValidRoot(c.Root); err != nil {
		errs = append(errs, fmt.Errorf("topic.root: %w", err))
	}
	errs = append(errs, c.MQTT.ValidateFlags("mqtt.")...)
	if c.ClientID == "" {
		errs = append(errs, errors.New("mqtt.client-id is required (and must stay the same across restarts)"))
	}
	if c.Influx.URL != "" {
		if err := validHTTPURL(c.Influx.URL); err != nil {
			errs = append(errs, fmt.Errorf("influx.url %q: %w", c.Influx.URL, err))
		}
		if c.Influx.Bucket == "" {
			errs = append(errs, errors.New("influx.bucket is required with influx.url (InfluxDB 1.8: db/retention-policy)"))
		}
	}
	// One message per constraint, each naming its flag.
	if c.MaxUnacked < 1 {
		errs = append(errs, fmt.Errorf("ingest.max-unacked %d: must be at least 1", c.MaxUnacked))
	}
	if c.GapGrace <= 0 {
		errs = append(errs, fmt.Errorf("ingest.gap-grace %v: must be positive", c.GapGrace))
	}
	if c.Shards < 0 {
		errs = append(errs, fmt.Errorf("ingest.shards %d: must not be negative (0: one per CPU)", c.Shards))
	}
	if c.BatchPoints < 1 {
		errs = append(errs, fmt.Errorf("ingest.batch-points %d: must be at least 1", c.BatchPoints))
	}
	if c.FlushEvery <= 0 {
		errs = append(errs, fmt.Errorf("ingest.flush-interval %v: must be positive", c.FlushEvery))
	}
	if c.SpoolMax < 1<<20 {
		errs = append(errs, fmt.Errorf("spool.max-bytes %d: must be at least 1MiB (1048576)", c.SpoolMax))
	}
	if c.OfflineAfter <= 0 {
		errs = append(errs, fmt.Errorf("offline-after %v: must be positive", c.OfflineAfter))
	}
	if c.Horizon <= 0 {
		errs = append(errs, fmt.Errorf("ts.horizon %v: must be positive", c.Horizon))
	}
	if c.MaxFuture <= 0 {
		errs = append(errs, fmt.Errorf("ts.max-future %v: must be positive", c.MaxFuture))
	}
	if c.MaxPayload < 256 {
		errs = append(errs, fmt.Errorf("payload.max-bytes %d: must be at least 256", c.MaxPayload))
	}
	if c.ShutdownWait < 0 {
		errs = append(errs, fmt.Errorf("shutdown.timeout %v: must not be negative", c.ShutdownWait))
	}
	return errors.Join(errs...)
}

// ErrInfluxTarget marks a start-up failure because the configured InfluxDB
// database or bucket does not exist (and could not be created) or cannot be
// written: a settings error.
var ErrInfluxTarget = errors.New("InfluxDB target")

// validHTTPURL accepts http(s)://host[:port][/path] only.
func validHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q not supported: want http:// or https://", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("want http(s)://host:port")
	}
	return nil
}

// App is a built service.
type App struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	index    *registry.Index
	ing      *ingest.Ingester
	rcv      *ingest.Receiver
	sink     ingest.Sink
	api      *api.Server
	prom     *prometheus.Registry
	listener net.Listener
	fake     *clock.Fake
	engine   *alerts.Engine
	hub      *alerts.Hub
	notifier *notify.Dispatcher
	policies alerts.Policies
	extra    *http.ServeMux // routes added by the caller (the demo's), nil if none
}

// New builds the service: opens the store, imports the register, prepares
// ingest and the API, and binds the HTTP port.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	a := &App{cfg: cfg, log: log, prom: prometheus.NewRegistry()}
	a.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var err error
	a.db, err = store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "liftwatch.db"))
	if err != nil {
		return nil, err
	}
	var lifts []registry.Lift
	if cfg.RegistryFile != "" {
		lifts, err = registry.LoadFile(cfg.RegistryFile)
	} else {
		lifts, err = registry.Jiangwan()
	}
	if err != nil {
		a.db.Close()
		if cfg.RegistryFile != "" {
			err = &ConfigError{Err: fmt.Errorf("registry.file: %w", err)}
		}
		return nil, err
	}
	if err := registry.Import(ctx, a.db.Lifts(), lifts); err != nil {
		a.db.Close()
		return nil, err
	}
	stored, err := a.db.Lifts().ListLifts(ctx)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.index = registry.NewIndex(stored)

	var history api.History
	if cfg.Influx.URL != "" {
		s, err := ingest.NewInfluxSink(cfg.Influx)
		if err != nil {
			a.db.Close()
			return nil, err
		}
		// Make sure the database or bucket exists (1.x: create it) and may be
		// written. A store that cannot be reached now is checked again before
		// the first write; meanwhile the spool keeps the data.
		pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = s.Prepare(pctx)
		cancel()
		var te *ingest.TargetError
		if errors.As(err, &te) {
			s.Close()
			a.db.Close()
			return nil, fmt.Errorf("%w: %w", ErrInfluxTarget, err)
		} else if err != nil {
			log.Warn("InfluxDB not reachable at start; the spool keeps the data and the target is checked before the first write", "err", err)
		} else {
			log.Info("InfluxDB target ready", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket, "version", s.Version())
		}
		a.sink = s
		if history, err = ingest.NewInfluxHistory(cfg.Influx); err != nil {
			a.db.Close()
			return nil, err
		}
	} else {
		h := a.db.History()
		a.sink, history = h, h
	}
	a.ing, err = ingest.New(ingest.Config{
		Root: cfg.Root, MaxUnacked: cfg.MaxUnacked, Shards: cfg.Shards, BatchPoints: cfg.BatchPoints, FlushInterval: cfg.FlushEvery,
		SpoolDir: filepath.Join(cfg.DataDir, "spool"), DeadLetterDir: filepath.Join(cfg.DataDir, "deadletter"), Spool: ingest.SpoolOptions{MaxBytes: cfg.SpoolMax, RetainBytes: 64 << 20},
		OfflineAfter: cfg.OfflineAfter, FlushTimeout: cfg.ShutdownWait, GapGrace: cfg.GapGrace, Logger: log.With("component", "ingest"),
		Decoder: telemetry.Decoder{MaxPayload: cfg.MaxPayload, Horizon: cfg.Horizon, MaxFuture: cfg.MaxFuture},
	}, a.index, a.sink, a.prom)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	if err := a.buildAlerts(ctx, cfg, log); err != nil {
		a.db.Close()
		return nil, err
	}
	a.rcv, err = ingest.NewReceiver(ingest.ReceiverConfig{Conn: cfg.MQTT, ClientID: cfg.ClientID, SharedGroup: cfg.SharedGroup}, a.ing)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.api = api.New(api.Deps{Lifts: a.index, States: a.ing.State(), DeadLetters: a.ing.DeadLetters(), History: history,
		Gatherer: a.prom, Registerer: a.prom, Logger: log.With("component", "api"), Pprof: cfg.Pprof, FakeClock: a.fake, Safety: a.engine,
		Alerts: &api.AlertDeps{Engine: a.engine, Records: a.db.Alerts(), Stream: a.hub, Report: a.report},
		Ready: map[string]api.Check{
			"broker": func(context.Context) error { return a.rcv.Ready() },
			// Degraded, not failed: without receivers liftwatch still
			// ingests and records alerts, but nobody is told of them.
			"notify": func(context.Context) error {
				if a.notifier.Receivers() == 0 {
					return &api.DegradedError{Reason: "no receivers configured: nobody is notified of alerts (--alerts.config receivers)"}
				}
				return nil
			},
			"store": func(ctx context.Context) error {
				if err := a.ing.SinkError(); err != nil {
					return fmt.Errorf("writes failing, data kept in the spool and retried: %w", err)
				}
				return a.sink.Ping(ctx)
			},
			"database": func(ctx context.Context) error { return a.db.SQL.PingContext(ctx) },
			// Degraded, not failed: messages were lost before liftwatch
			// (usually the broker's queue limits); what arrives is handled.
			"sequence": func(context.Context) error {
				if n, lifts := a.ing.RecentGaps(); n > 0 {
					return &api.DegradedError{Reason: fmt.Sprintf("%d messages missing from %d lifts in the last %d min — "+
						"check the broker's max_queued_messages and max_inflight_messages, and that liftwatch's session is kept (stable --mqtt.client-id)",
						n, lifts, int(ingest.GapRecent/time.Minute))}
				}
				return nil
			},
		}})
	a.listener, err = listen.TCP(cfg.HTTPListen, "http.listen", "LIFTWATCH_HTTP_LISTEN")
	if err != nil {
		a.db.Close()
		return nil, err
	}
	return a, nil
}

// Handle serves pattern (http.ServeMux syntax) from h besides the API; the
// demo adds its own routes so. Call it before Run.
func (a *App) Handle(pattern string, h http.Handler) {
	if a.extra == nil {
		a.extra = http.NewServeMux()
		a.extra.Handle("/", a.api.Handler())
	}
	a.extra.Handle(pattern, h)
}

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() string { return a.listener.Addr().String() }

// Ingester is the ingest pipeline (consumers are added to it before Run).
func (a *App) Ingester() *ingest.Ingester { return a.ing }

// Registry is the register of lifts.
func (a *App) Registry() *registry.Index { return a.index }

// Run runs the service until ctx ends or a part fails, then stops every
// part: the receiver disconnects, ingest spools what it has and flushes the
// spool for at most ShutdownWait, and the HTTP server drains.
func (a *App) Run(ctx context.Context) error {
	defer a.db.Close()
	if s, ok := a.sink.(*ingest.InfluxSink); ok {
		defer s.Close()
	}
	var h http.Handler = a.api.Handler()
	if a.extra != nil {
		h = a.extra
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	var g run.Group
	g.Logger = a.log
	g.Add("http", func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(a.listener) }()
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		}
	})
	g.Add("ingest", a.ing.Run)
	g.Add("mqtt", a.rcv.Run)
	g.Add("alert-clocks", func(ctx context.Context) error { return a.engine.Run(ctx, time.Second) })
	g.Add("notify", a.notifier.Run)
	g.Add("alertmanager-resend", func(ctx context.Context) error {
		return run.Every(ctx, time.Minute, func() { a.notifier.ResendFiring(ctx, a.engine.Open()) })
	})
	a.log.Info("liftwatch serving", "http", "http://"+a.HTTPAddr(), "broker", a.cfg.MQTT.Broker,
		"lifts", a.index.Len(), "history", map[bool]string{true: "influxdb " + a.cfg.Influx.URL, false: "embedded"}[a.cfg.Influx.URL != ""])
	return g.Run(ctx)
}

// buildAlerts makes the alert engine, its live stream and its notifiers, and
// hooks the engine to ingest.
func (a *App) buildAlerts(ctx context.Context, cfg Config, log *slog.Logger) error {
	acfg, err := LoadAlertsConfig(cfg.AlertsConfig)
	if err != nil {
		return err
	}
	estates := map[string]bool{}
	for _, l := range a.index.Lifts() {
		estates[l.Estate] = true
	}
	if err := acfg.CheckEstates(cfg.AlertsConfig, func(e string) bool { return estates[e] }); err != nil {
		return err
	}
	a.policies = acfg.Policies
	now := time.Now
	if cfg.FakeClock {
		a.fake = clock.NewFake(time.Now())
		now = a.fake.Now
		log.Warn("alert clocks run on a fake clock (--debug.fake-clock): for tests only")
	}
	a.notifier, err = notify.New(acfg.Receivers, notify.Options{Log: a.db.Alerts(), Logger: log.With("component", "notify"), Clock: now,
		OnResult: func(r notify.Record) {
			a.engine.RecordDelivery(alerts.Delivery{AlertID: r.AlertID, Event: r.Event, Receiver: r.Receiver,
				Outcome: r.Outcome, Attempts: r.Attempts, Error: r.Error})
		}})
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("alerts config %s: %w", cfg.AlertsConfig, err)}
	}
	if a.notifier.Receivers() == 0 {
		log.Warn("no notification receivers configured: alerts are recorded and shown, but nobody is notified; add receivers to --alerts.config (/readyz reports notify degraded)")
	}
	a.engine, err = alerts.New(ctx, alerts.Config{Policies: acfg.Policies, Store: a.db.Alerts(), Clock: now,
		Logger:     log.With("component", "alerts"),
		Estates:    a.index.Estate,
		Recipients: a.notifier.Recipients})
	if err != nil {
		return err
	}
	a.hub = alerts.NewHub()
	a.engine.Listen(a.hub.Handle)
	a.engine.Listen(a.notifier.Handle)
	changes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_alert_changes_total",
		Help: "Alert changes by action (opened, escalated, resolved, …) and type."}, []string{"action", "type"})
	a.prom.MustRegister(changes, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_alerts_open",
		Help: "Alerts not resolved."}, func() float64 { return float64(len(a.engine.Open())) }))
	a.engine.Listen(func(c alerts.Change) { changes.WithLabelValues(c.Event.Action, c.Alert.Type).Inc() })
	a.ing.AddConsumer(a.engine)
	a.ing.OnStateChange(func(ch ingest.StateChange) { a.engine.LiftStateChange(ch.Lift, ch.Online, ch.Seq, ch.LastSeen) })
	return nil
}

// Engine is the alert engine.
func (a *App) Engine() *alerts.Engine { return a.engine }

var shanghai = time.FixedZone("CST", 8*3600)

// report computes an estate's rescue report for a month (Shanghai time).
func (a *App) report(ctx context.Context, estate, month string) (alerts.RescueReport, error) {
	start, err := time.ParseInLocation("2006-01", month, shanghai)
	if err != nil {
		return alerts.RescueReport{}, fmt.Errorf("month %q: want YYYY-MM", month)
	}
	lifts := 0
	for _, l := range a.index.Lifts() {
		if l.Estate == estate {
			lifts++
		}
	}
	if lifts == 0 {
		return alerts.RescueReport{}, fmt.Errorf("no estate %q in the register", estate)
	}
	list, err := a.db.Alerts().List(ctx, store.AlertFilter{Estate: estate, Type: alerts.TypeEntrapment, Since: start, Until: start.AddDate(0, 1, 0)})
	if err != nil {
		return alerts.RescueReport{}, err
	}
	return alerts.Report(estate, month, lifts, a.policies.For(estate).OnSiteWithin, list), nil
}
