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
	"github.com/liftwatch/liftwatch/alerts/notify/channel"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/api"
	"github.com/liftwatch/liftwatch/history"
	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/history/sqlhistory"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/internal/listen"
	"github.com/liftwatch/liftwatch/internal/run"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
	"github.com/liftwatch/liftwatch/web"
)

// Config is the service's configuration, one group per component (the
// group types and their validation are in config.go). Flags and
// LIFTWATCH_<FLAG> variables are derived from its struct tags
// (internal/config.Bind); DefaultConfig holds the defaults.
type Config struct {
	HTTP      HTTPConfig     `flag:"http."`
	Data      DataConfig     `flag:"data."`
	Store     StoreConfig    `flag:"store."`
	Registry  RegistryConfig `flag:"registry."`
	MQTT      MQTTConfig     `flag:"mqtt."`
	Telemetry TelemetryConfig
	Ingest    IngestConfig
	Influx    InfluxConfig   `flag:"influx."`
	Alerts    AlertsSettings `flag:"alerts."`
	// Maintenance runs post-construction management (maintenance,
	// trusteeship, the fund) inside serve.
	Maintenance MaintenanceConfig `flag:"maintenance."`
	// OnCall is the on-call roster file (people and duty windows).
	OnCall  OnCallConfig  `flag:"oncall."`
	Debug   DebugConfig   `flag:"debug."`
	Runtime RuntimeConfig `flag:"runtime."`
}

// Validate checks the configuration and says precisely what is wrong: every
// problem at once, each naming its flag.
func (c *Config) Validate() error {
	var errs []error
	for _, g := range []interface{ Validate() []error }{&c.HTTP, &c.Data, &c.Store, &c.Telemetry, &c.MQTT, &c.Influx, &c.Ingest, &c.Maintenance, &c.Debug, &c.Runtime} {
		errs = append(errs, g.Validate()...)
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

// OpenStore opens and migrates the database cfg names: PostgreSQL with
// --store.url, else the embedded SQLite file in --data.dir. An error names
// the flag and never shows the password.
func OpenStore(ctx context.Context, cfg Config) (*store.DB, error) {
	file := filepath.Join(cfg.Data.Dir, "liftwatch.db")
	db, err := store.OpenURL(ctx, cfg.Store.URL, file)
	if err != nil {
		if cfg.Store.URL != "" {
			return nil, fmt.Errorf("--store.url %s: %w", store.Redact(cfg.Store.URL), err)
		}
		return nil, fmt.Errorf("database %s in --data.dir: %w", file, err)
	}
	return db, nil
}

// App is a built service.
type App struct {
	cfg      Config
	log      *slog.Logger
	db       *store.DB
	index    *registry.Index
	ing      *ingest.Ingester
	rcv      ingest.Input
	sink     history.Store
	api      *api.Server
	prom     *prometheus.Registry
	listener net.Listener
	debug    net.Listener // nil: no debug listener
	fake     *clock.Fake
	engine   *alerts.Engine
	outbox   *alerts.Outbox
	hub      *alerts.Hub
	notifier *notify.Dispatcher
	policies alerts.Policies
	ident    *identity.Service
	dir      *directory
	feed     *liftstate.Feed
	now      func() time.Time // the service's clock: a.fake's with --debug.fake-clock
	maint    *maint
	// oncall is the on-call roster (SQL, and the live snapshot the pager
	// reads); rosterGaps its holes for /readyz.
	oncall     *oncall.Service
	rosterGaps *gapCache
	// contractors is the contractor directory (duty phones).
	contractors registry.Contractors
	pager       *paging.Pager // nil until EnablePaging
	paging      paging.Config
	channelCfg  map[string]channel.Config // the alerts file's paging channels
}

// settings are the files a Config names, read and checked.
type settings struct {
	lifts       []registry.Lift // the register
	contractors registry.Contractors
	alerts      AlertsConfig
	domain      DomainPolicies
	subdistrict func(estate string) string
	roster      *oncall.File // --oncall.file, nil if none
}

// Check validates cfg and reads and checks the files it names (the
// register, the alerts YAML) as New does first: nothing is opened or
// created. A bad setting is a *ConfigError naming every problem.
func Check(cfg Config) error {
	_, err := loadSettings(cfg)
	return err
}

// loadSettings checks every setting before anything is opened, created or
// bound: the flags' values, the register file, the alerts file and its
// estates (policy overrides and receivers') against the register.
func loadSettings(cfg Config) (settings, error) {
	var s settings
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	var regErr error
	if cfg.Registry.File != "" {
		if s.lifts, regErr = registry.LoadFile(cfg.Registry.File); regErr != nil {
			errs = append(errs, fmt.Errorf("registry.file: %w", regErr))
		}
	} else if s.lifts, regErr = registry.Jiangwan(); regErr != nil {
		return s, regErr // the shipped register: not a setting
	}
	switch {
	case cfg.Registry.Contractors != "":
		var err error
		if s.contractors, err = registry.LoadContractors(cfg.Registry.Contractors); err != nil {
			errs = append(errs, fmt.Errorf("registry.contractors: %w", err))
		}
	case cfg.Registry.File == "":
		var err error
		if s.contractors, err = registry.JiangwanContractors(); err != nil {
			return s, err // shipped: not a setting
		}
	}
	acfg, err := loadAlertsConfig(cfg.Alerts.File)
	errs = append(errs, err)
	if regErr == nil { // estates are checked against a register that loaded
		estates := map[string]bool{}
		for _, l := range s.lifts {
			estates[l.Estate] = true
		}
		var ce *ConfigError
		if err := acfg.CheckEstates(cfg.Alerts.File, func(e string) bool { return estates[e] }); errors.As(err, &ce) {
			errs = append(errs, ce.Err)
		}
	}
	s.alerts = acfg
	var isEstate func(string) bool
	if regErr == nil {
		estates := map[string]bool{}
		for _, l := range s.lifts {
			estates[l.Estate] = true
		}
		isEstate = func(e string) bool { return estates[e] }
	}
	s.domain, err = loadDomainPolicies(cfg.Maintenance.File, isEstate)
	errs = append(errs, err)
	if regErr == nil {
		var err error
		if s.subdistrict, err = subdistricts(s.lifts, cfg.Registry.Subdistrict, cfg.Registry.Subdistricts); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.OnCall.File != "" {
		var lifts []registry.Lift
		if regErr == nil {
			lifts = s.lifts
		}
		s.roster, err = loadRosterFile(cfg.OnCall.File, lifts, RosterChannels(acfg))
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return s, &ConfigError{Err: err}
	}
	return s, nil
}

// New builds the service: checks every setting (loadSettings), then opens
// the store, imports the register, prepares ingest and the API, and binds
// the HTTP port.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	set, err := loadSettings(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Data.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	a := &App{cfg: cfg, log: log, prom: prometheus.NewRegistry()}
	a.prom.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.db, err = OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	log.Info("database open", "dialect", a.db.Dialect.Name, "at", store.Where(cfg.Store.URL, filepath.Join(cfg.Data.Dir, "liftwatch.db")))
	if err := registry.Import(ctx, a.db.Lifts(), set.lifts); err != nil {
		a.db.Close()
		return nil, err
	}
	stored, err := a.db.Lifts().ListLifts(ctx)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.index = registry.NewIndex(stored)
	if l := cfg.Debug.TraceLift; l != "" {
		if _, ok := a.index.Get(l); !ok {
			a.db.Close()
			return nil, &ConfigError{fmt.Errorf("debug.trace-lift %q: no such lift in the register", l)}
		}
	}
	if m := set.contractors.Missing(stored); len(m) > 0 && set.contractors != nil {
		log.Warn("the contractor directory has no duty phone for some contractors of the register: their lifts and alerts show none",
			"contractors", m, "flag", "--registry.contractors")
	}

	var hist history.Store
	if cfg.Influx.URL != "" {
		s, err := influxhistory.New(cfg.Influx.Sink())
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
		var te *history.TargetError
		if errors.As(err, &te) {
			s.Close()
			a.db.Close()
			return nil, fmt.Errorf("%w: %w", ErrInfluxTarget, err)
		} else if err != nil {
			log.Warn("InfluxDB not reachable at start; the spool keeps the data and the target is checked before the first write", "err", err)
		} else {
			log.Info("InfluxDB target ready", "url", cfg.Influx.URL, "bucket", cfg.Influx.Bucket, "version", s.Version())
		}
		hist = s
	} else {
		hist = sqlhistory.New(a.db.SQL, a.db.Dialect)
	}
	// Alert changes are written behind the engine, in order, from one
	// goroutine; ingest acks a message only once they are written.
	a.outbox, err = alerts.NewOutbox(ctx, a.db.Alerts(), alerts.OutboxOptions{Logger: log.With("component", "alerts-outbox"), Registerer: a.prom})
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.sink = hist
	a.ing, err = ingest.New(ingest.Config{WriteBehind: a.outbox, TraceLift: cfg.Debug.TraceLift,
		Root: cfg.Telemetry.Root, MaxUnacked: cfg.Ingest.MaxUnacked, Shards: cfg.Ingest.Shards, BatchPoints: cfg.Ingest.BatchPoints, FlushInterval: cfg.Ingest.FlushEvery,
		SpoolDir: filepath.Join(cfg.Data.Dir, "spool"), DeadLetterDir: filepath.Join(cfg.Data.Dir, "deadletter"), Spool: ingest.SpoolOptions{MaxBytes: cfg.Ingest.SpoolMax, RetainBytes: 64 << 20},
		OfflineAfter: cfg.Ingest.OfflineAfter, FlushTimeout: cfg.Ingest.ShutdownWait, GapGrace: cfg.Ingest.GapGrace, Logger: log.With("component", "ingest"),
		Decoder: telemetry.Decoder{MaxPayload: cfg.Telemetry.MaxPayload, Horizon: cfg.Telemetry.Horizon, MaxFuture: cfg.Telemetry.MaxFuture},
	}, a.index, a.sink, a.prom)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.contractors = set.contractors
	if err := a.buildAlerts(ctx, cfg, set.alerts, log); err != nil {
		a.db.Close()
		return nil, err
	}
	if err := a.buildDomain(ctx, set.domain); err != nil {
		a.db.Close()
		return nil, err
	}
	if err := a.buildOnCall(ctx, set.roster, RosterChannels(set.alerts), log); err != nil {
		a.db.Close()
		return nil, err
	}
	a.rcv, err = ingest.NewReceiver(ingest.ReceiverConfig{Conn: cfg.MQTT.Options, ClientID: cfg.MQTT.ClientID, SharedGroup: cfg.MQTT.SharedGroup,
		UrgentLane: cfg.MQTT.UrgentLane}, a.ing)
	if err != nil {
		a.db.Close()
		return nil, err
	}
	a.dir = newDirectory(a.index, a.db.Trusteeship(), set.subdistrict, time.Now)
	a.ident, err = identity.NewService(a.db.Identity(), identity.Config{Now: time.Now, SecureCookie: cfg.HTTP.SecureCookie,
		Log: log.With("component", "identity"), Directory: a.dir})
	if err != nil {
		a.db.Close()
		return nil, err
	}
	ids := make([]string, 0, a.index.Len())
	for _, l := range a.index.Lifts() {
		ids = append(ids, l.ID)
	}
	// The lift stream: every message, transition and alert change marks
	// its lift; the feed hands the marks out once a second.
	a.feed = liftstate.NewFeed(ids)
	a.ing.AddConsumer(feedMarker{a.feed})
	a.ing.OnStateChange(func(ch ingest.StateChange) { a.feed.Mark(ch.Lift) })
	a.engine.Listen(func(c alerts.Change) { a.feed.Mark(c.Alert.Lift) })
	d := a.Domain()
	a.api = api.New(api.Deps{Lifts: a.index, States: a.ing.State(), DeadLetters: a.ing.DeadLetters(), History: hist,
		Gatherer: a.prom, Registerer: a.prom, Logger: log.With("component", "api"), Safety: a.engine,
		Auth:        &api.AuthDeps{Authorizer: identity.Authorizer{Dir: a.dir}, Accounts: a.ident, Users: a.ident, Watch: a.ident},
		LiftFeed:    a.feed,
		Contractors: set.contractors,
		Maintenance: api.NewMaintenanceDeps(d.Maintenance, a.db.Maintenance(), d.Lift, d.Trusteeship),
		Trusteeship: api.NewTrusteeshipDeps(d.Trusteeship, a.db.Trusteeship(), a.now),
		Fund:        api.NewFundDeps(d.Fund, a.db.Fund(), a.now),
		OnCall:      &api.OnCallDeps{Roster: a.oncall, Now: a.now},
		Alerts:      &api.AlertDeps{Engine: syncedActions{a.engine, a.outbox}, Records: syncedRecords{a.db.Alerts(), a.outbox}, Stream: a.hub, Report: a.report},
		Ready: map[string]api.Check{
			"broker": func(context.Context) error { return a.rcv.Ready() },
			// Degraded, not failed: without receivers liftwatch still
			// ingests and records alerts, but nobody is told of them.
			"notify": func(context.Context) error {
				if a.notifier.Receivers() == 0 && (a.pager == nil || a.pager.Channels() == 0) {
					return &api.DegradedError{Reason: "no receivers configured: nobody is notified of alerts (--alerts.config receivers)"}
				}
				return nil
			},
			"paging": a.pagingReady,
			"store": func(ctx context.Context) error {
				if err := a.ing.SinkError(); err != nil {
					return fmt.Errorf("writes failing, data kept in the spool and retried: %w", err)
				}
				return a.sink.Ping(ctx)
			},
			"database": func(ctx context.Context) error { return a.db.SQL.PingContext(ctx) },
			// Degraded, not failed: a roster with a hole pages fewer people.
			"oncall": a.rosterReady,
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
	a.paging, a.channelCfg = set.alerts.Paging, set.alerts.Channels
	a.pagingRoutes()
	// The pages: shells and assets beside the API; the board's clock is the
	// alert engine's (fake under --debug.fake-clock).
	web.Register(a.api, web.Deps{Now: a.engine.Now, Estates: a.estates,
		Clocks: func(estate string) web.Clocks {
			p := a.policies.For(estate)
			return web.Clocks{Ack: p.AckWithin, OnSite: p.OnSiteWithin, CriticalOnSite: p.CriticalOnSiteWithin, StillReported: p.StillReportedAfter}
		}})
	a.listener, err = listen.TCP(cfg.HTTP.Listen, "http.listen", "LIFTWATCH_HTTP_LISTEN")
	if err != nil {
		a.db.Close()
		return nil, err
	}
	if cfg.Debug.Listen != "" {
		if a.debug, err = listen.TCP(cfg.Debug.Listen, "debug.listen", "LIFTWATCH_DEBUG_LISTEN"); err != nil {
			a.listener.Close()
			a.db.Close()
			return nil, err
		}
		log.Warn("debug listener on: it exposes internals, keep it on loopback", "debug", "http://"+a.debug.Addr().String(),
			"pprof", cfg.Debug.Pprof, "fake_clock", cfg.Debug.FakeClock)
	}
	return a, nil
}

// Handle serves pattern (http.ServeMux syntax) from h besides the API, under
// the API's conventions (no redirects, 404 and 405 in the error envelope);
// the demo adds its own routes so. Call it before Run.
func (a *App) Handle(pattern string, g api.Guard, h http.Handler) { a.api.Handle(pattern, g, h) }

// Handler is the service's HTTP handler: the API and the routes added by
// Handle, behind the identity middleware (the signed-in actor, request
// audit, CSRF) and with the security headers on every response.
func (a *App) Handler() http.Handler {
	return securityHeaders(a.ident.ProtectExcept(a.api.Handler(), "POST /api/v1/session"))
}

// API is the API server (its routes, for the role × route matrix and the
// OpenAPI check).
func (a *App) API() *api.Server { return a.api }

// DebugAddr is the bound debug address ("" when the debug listener is off).
func (a *App) DebugAddr() string {
	if a.debug == nil {
		return ""
	}
	return a.debug.Addr().String()
}

// HTTPAddr is the bound HTTP address.
func (a *App) HTTPAddr() string { return a.listener.Addr().String() }

// Ingester is the ingest pipeline (consumers are added to it before Run).
func (a *App) Ingester() *ingest.Ingester { return a.ing }

// Store is the service's database (the demo writes its maintenance
// history into it before Run).
func (a *App) Store() *store.DB { return a.db }

// Registry is the register of lifts.
func (a *App) Registry() *registry.Index { return a.index }

// Run runs the service until ctx ends or a part fails, then stops every
// part: the receiver disconnects, ingest spools what it has and flushes the
// spool for at most ShutdownWait, and the HTTP server drains.
func (a *App) Run(ctx context.Context) error {
	defer a.db.Close()
	// The outbox outlives the run group: ingest waits for it before acking,
	// and it writes what is left once everything else has stopped.
	octx, stopOutbox := context.WithCancel(context.Background())
	outboxDone := make(chan struct{})
	go func() { a.outbox.Run(octx); close(outboxDone) }()
	defer func() {
		stopOutbox()
		<-outboxDone
		cctx, cancel := context.WithTimeout(context.Background(), max(a.cfg.Ingest.ShutdownWait, time.Second))
		defer cancel()
		if err := a.outbox.Close(cctx); err != nil {
			a.log.Error("alert changes lost at shutdown", "err", err)
		}
	}()
	if s, ok := a.sink.(*influxhistory.Influx); ok {
		defer s.Close()
	}
	h := a.Handler()
	var g run.Group
	g.Logger = a.log
	g.Add("http", serveHTTP(a.listener, h))
	if a.debug != nil {
		g.Add("debug-http", serveHTTP(a.debug, api.NewDebug(api.DebugDeps{FakeClock: a.fake, Pprof: a.cfg.Debug.Pprof})))
	}
	g.Add("ingest", a.ing.Run)
	g.Add("mqtt", a.rcv.Run)
	g.Add("alert-clocks", func(ctx context.Context) error { return a.engine.Run(ctx, time.Second) })
	g.Add("notify", a.notifier.Run)
	if a.pager != nil {
		g.Add("paging", a.pager.Run)
	}
	g.Add("lift-feed", func(ctx context.Context) error { return a.feed.Run(ctx, time.Second) })
	g.Add("session-purge", func(ctx context.Context) error {
		purge := func() {
			if n, err := a.ident.PurgeSessions(ctx, 24*time.Hour); err != nil {
				a.log.Error("purge expired sessions", "err", err)
			} else if n > 0 {
				a.log.Info("expired sessions purged", "sessions", n)
			}
		}
		purge()
		return run.Every(ctx, time.Hour, purge)
	})
	if !a.cfg.Maintenance.Disable {
		g.Add("maintenance", a.maint.run)
	}
	g.Add("alertmanager-resend", func(ctx context.Context) error {
		return run.Every(ctx, time.Minute, func() { a.notifier.ResendFiring(ctx, a.engine.Open()) })
	})
	if users, err := a.db.Identity().ListUsers(ctx); err == nil && len(users) == 0 {
		a.log.Warn("no accounts yet: every API route but health, login and the API description answers 401; create the first admin with: " +
			"liftwatch user add --data.dir " + a.cfg.Data.Dir + " --name NAME --role admin --password-stdin")
	}
	a.log.Info("liftwatch serving", "http", "http://"+a.HTTPAddr(), "broker", a.cfg.MQTT.Broker,
		"lifts", a.index.Len(), "history", map[bool]string{true: "influxdb " + a.cfg.Influx.URL, false: "embedded"}[a.cfg.Influx.URL != ""])
	return g.Run(ctx)
}

// serveHTTP serves h on l until ctx ends, then drains for up to 5 s.
func serveHTTP(l net.Listener, h http.Handler) func(context.Context) error {
	return func(ctx context.Context) error {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(l) }()
		select {
		case err := <-errc:
			return fmt.Errorf("serve %s: %w", l.Addr(), err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		}
	}
}

// buildAlerts makes the alert engine, its live stream and its notifiers
// from the checked alerts file, and hooks the engine to ingest.
func (a *App) buildAlerts(ctx context.Context, cfg Config, acfg AlertsConfig, log *slog.Logger) error {
	a.policies = acfg.Policies
	var err error
	now := time.Now
	a.now = now
	if cfg.Debug.FakeClock {
		a.fake = clock.NewFake(time.Now())
		now = a.fake.Now
		a.now = now
		log.Warn("alert clocks run on a fake clock (--debug.fake-clock): for tests only")
	}
	a.notifier, err = notify.New(acfg.Receivers, notify.Options{Log: a.db.Alerts(), Logger: log.With("component", "notify"), Clock: now,
		Registerer: a.prom, Place: liftPlace(a.index), DutyPhone: dutyPhone(a.index, a.contractors), PublicURL: a.cfg.HTTP.PublicURL,
		OnResult: func(r notify.Record) {
			a.engine.RecordDelivery(alerts.Delivery{AlertID: r.AlertID, Event: r.Event, Receiver: r.Receiver,
				Outcome: r.Outcome, Attempts: r.Attempts, Error: r.Error})
		}})
	if err != nil {
		return &ConfigError{Err: fmt.Errorf("alerts config %s: %w", cfg.Alerts.File, err)}
	}
	if a.notifier.Receivers() == 0 {
		log.Warn("no notification receivers configured (webhook, Alertmanager): alerts are recorded, shown and paged to the on-call roster over the alerts file's channels, nobody else is told; without paging channels either /readyz reports notify degraded")
	}
	a.engine, err = alerts.New(ctx, alerts.Config{Policies: acfg.Policies, Store: a.outbox, Clock: now, Lifts: a.ing.State(),
		WorkOrders: inProgress{a},
		Logger:     log.With("component", "alerts"),
		Estates:    a.index.Estate,
		Recipients: a.recipients})
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

// feedMarker marks the lift of every consumed message on the lift feed.
type feedMarker struct{ f *liftstate.Feed }

func (m feedMarker) Consume(msg *telemetry.Message, _ *liftstate.Update) { m.f.Mark(msg.Lift) }

// inProgress is the engine's view of maintenance work in progress
// (inhibit.Lift.WorkOrder); the domain is built right after the engine,
// before anything runs.
type inProgress struct{ a *App }

func (w inProgress) InProgress(lift string) bool {
	return w.a.maint != nil && w.a.maint.InProgress(lift)
}

// estates lists the register's estates, each once.
func (a *App) estates() []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range a.index.Lifts() {
		if !seen[l.Estate] {
			seen[l.Estate] = true
			out = append(out, l.Estate)
		}
	}
	return out
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
	list, err := syncedRecords{a.db.Alerts(), a.outbox}.List(ctx, store.AlertFilter{Estate: estate, Type: alerts.TypeEntrapment, Since: start, Until: start.AddDate(0, 1, 0)})
	if err != nil {
		return alerts.RescueReport{}, err
	}
	return alerts.Report(estate, month, lifts, a.policies.For(estate).OnSiteWithin, a.engine.Now(), list), nil
}

// actionWait bounds how long a person's action on an alert waits for the
// change to be written before the API answers (it is written regardless).
const actionWait = 10 * time.Second

// syncedActions answers a person's action on an alert once the change is
// written, as before the outbox: what the API confirmed survives a crash.
type syncedActions struct {
	*alerts.Engine
	outbox *alerts.Outbox
}

func (s syncedActions) sync(a *alerts.Alert, err error) (*alerts.Alert, error) {
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), actionWait)
		defer cancel()
		if serr := s.outbox.Sync(ctx); serr != nil {
			return nil, fmt.Errorf("alert %d changed but not yet written: %w", a.ID, serr)
		}
	}
	return a, err
}

func (s syncedActions) Acknowledge(id int64, act alerts.Action) (*alerts.Alert, error) {
	return s.sync(s.Engine.Acknowledge(id, act))
}
func (s syncedActions) Dispatch(id int64, act alerts.Action) (*alerts.Alert, error) {
	return s.sync(s.Engine.Dispatch(id, act))
}
func (s syncedActions) Arrive(id int64, act alerts.Action) (*alerts.Alert, error) {
	return s.sync(s.Engine.Arrive(id, act))
}
func (s syncedActions) Resolve(id int64, act alerts.Action) (*alerts.Alert, error) {
	return s.sync(s.Engine.Resolve(id, act))
}
func (s syncedActions) Comment(id int64, act alerts.Action) (*alerts.Alert, error) {
	return s.sync(s.Engine.Comment(id, act))
}

// syncedRecords reads alerts from the database once the changes queued
// before the read are written, so that a reader sees what the engine (and
// the live stream) already showed.
type syncedRecords struct {
	*store.Alerts
	outbox *alerts.Outbox
}

func (s syncedRecords) List(ctx context.Context, f store.AlertFilter) ([]*alerts.Alert, error) {
	if err := s.outbox.Sync(ctx); err != nil {
		return nil, err
	}
	return s.Alerts.List(ctx, f)
}

func (s syncedRecords) Alert(ctx context.Context, id int64) (*alerts.Alert, error) {
	if err := s.outbox.Sync(ctx); err != nil {
		return nil, err
	}
	return s.Alerts.Alert(ctx, id)
}
