package app

import (
	"errors"
	"fmt"
	"net"
	"time"

	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

// The groups of Config, one per component. Each field's struct tags give its
// flag (prefixed by its group's tag) and help text; internal/config derives
// the flags and LIFTWATCH_<FLAG> variables from them, and DefaultConfig
// holds the defaults. Each group validates itself, naming the flags.

// HTTPConfig is the API's listener.
type HTTPConfig struct {
	Listen string `flag:"listen" help:"HTTP address for the API, /metrics, /healthz and /readyz"`
	// SecureCookie marks the session cookie Secure (and names it
	// __Host-liftwatch_session): set it when users reach liftwatch over TLS.
	SecureCookie bool `flag:"secure-cookie" help:"the site is served over TLS (a reverse proxy): the session cookie is Secure and __Host- prefixed"`
	// PublicURL is where the people paged reach liftwatch: the base of
	// the acknowledge links in pages ("" : http://<the bound listen address>).
	PublicURL string `flag:"public-url" help:"where people reach liftwatch, the base of the acknowledge links in pages (default: http:// and the listen address)"`
}

// Validate checks the group, one error per broken constraint.
func (c *HTTPConfig) Validate() []error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen %q: want HOST:PORT", c.Listen))
	}
	if c.PublicURL != "" {
		if err := validHTTPURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("http.public-url %q: %w", c.PublicURL, err))
		}
	}
	return errs
}

// DataConfig is where the embedded database, spool and dead letters live.
type DataConfig struct {
	Dir string `flag:"dir" help:"directory for the embedded database and the ingest spool (relative to the working directory; ./data is git-ignored)"`
}

// Validate checks the group.
func (c *DataConfig) Validate() []error {
	if c.Dir == "" {
		return []error{errors.New("data.dir is required")}
	}
	return nil
}

// StoreConfig chooses the database: the embedded SQLite file in --data.dir
// (the default) or a PostgreSQL server (docs/deploy.md).
type StoreConfig struct {
	URL string `flag:"url" help:"PostgreSQL database for the register, alerts, maintenance, fund and accounts: postgres://user:password@host:5432/db (?search_path=schema to use another schema; ?sslmode=…); empty: the embedded SQLite database <data.dir>/liftwatch.db"`
}

// Validate checks the group; the message never shows the password.
func (c *StoreConfig) Validate() []error {
	if err := store.CheckURL(c.URL); err != nil {
		return []error{fmt.Errorf("store.url %s: %w", store.Redact(c.URL), err)}
	}
	return nil
}

// RegistryConfig is the lift register imported at start.
type RegistryConfig struct {
	File string `flag:"file" help:"lift register to import at start (.json or .csv); empty: the shipped Jiangwan fleet"` // "" loads the shipped Jiangwan fleet
	// Contractors is the contractor directory (name → duty phone) the
	// lift and alert views take contractor_phone from (docs/web.md).
	Contractors string `flag:"contractors" help:"contractor directory (JSON: [{name, duty_phone}]) for the phone on lifts and alert cards; empty: the shipped Jiangwan directory with the shipped fleet, none with --registry.file"`
	// The register has no subdistrict: every estate is in Subdistrict
	// unless Subdistricts names another for it (docs/identity.md).
	Subdistrict  string `flag:"subdistrict" help:"the subdistrict (街道) of every estate of the register not named in --registry.subdistricts; subdistrict accounts see the estates of theirs"`
	Subdistricts string `flag:"subdistricts" help:"estates in another subdistrict: estate=subdistrict,… (estates of the register)"`
}

// MQTTConfig is the broker connection and the ingest subscription.
type MQTTConfig struct {
	mqttconn.Options
	ClientID    string `flag:"client-id" help:"MQTT client ID; keep it stable: the broker queues messages for it while liftwatch is away"`
	SharedGroup string `flag:"shared-group" help:"subscribe as $share/<group>/... so several instances split the load"`
	// UrgentLane takes faults and alarms on a second session of their own
	// (client ID <client-id>-urgent), so they never queue behind routine
	// telemetry (ingest.Receiver).
	UrgentLane bool `flag:"urgent-lane" help:"also take faults and alarms on a session of their own (client ID <client-id>-urgent), so that an entrapment never waits behind routine telemetry in the broker; false: one session"`
}

// Validate checks the group.
func (c *MQTTConfig) Validate() []error {
	errs := c.Options.ValidateFlags("mqtt.")
	if c.ClientID == "" {
		errs = append(errs, errors.New("mqtt.client-id is required (and must stay the same across restarts)"))
	}
	return errs
}

// TelemetryConfig is what the terminals' messages must look like: the
// topic root and the decoder's limits.
type TelemetryConfig struct {
	Root       string        `flag:"topic.root" help:"MQTT topic root: lifts publish on <root>/<lift>/<kind>"`
	MaxPayload int           `flag:"payload.max-bytes" help:"largest accepted payload"`
	Horizon    time.Duration `flag:"ts.horizon" help:"oldest accepted event time (terminals buffer while offline)"`
	MaxFuture  time.Duration `flag:"ts.max-future" help:"how far in the future an event time may be"`
}

// Validate checks the group.
func (c *TelemetryConfig) Validate() []error {
	var errs []error
	if err := telemetry.ValidRoot(c.Root); err != nil {
		errs = append(errs, fmt.Errorf("topic.root: %w", err))
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
	return errs
}

// IngestConfig is the ingest pipeline: flow control, batching, spool, live
// state and shutdown.
type IngestConfig struct {
	MaxUnacked   int           `flag:"ingest.max-unacked" help:"messages received but not yet acknowledged; keep at least the broker's per-client inflight limit"`
	GapGrace     time.Duration `flag:"ingest.gap-grace" help:"how long a hole in a lift's sequence waits for a late, reordered message before it counts as a gap (warning, /readyz sequence check)"`
	Shards       int           `flag:"ingest.shards" help:"parallel lift shards (0: one per CPU)"`
	BatchPoints  int           `flag:"ingest.batch-points" help:"points per write to the time-series store"`
	FlushEvery   time.Duration `flag:"ingest.flush-interval" help:"longest a point waits for its batch to fill before it is written to the store"`
	SpoolMax     int64         `flag:"spool.max-bytes" help:"spool size at which acks stop and the broker holds further messages"`
	OfflineAfter time.Duration `flag:"offline-after" help:"a lift silent this long is offline (3 status intervals)"`
	ShutdownWait time.Duration `flag:"shutdown.timeout" help:"at shutdown, time to flush the spool to the store; the rest stays spooled"`
}

// Validate checks the group, one message per constraint, each naming its flag.
func (c *IngestConfig) Validate() []error {
	var errs []error
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
	if c.ShutdownWait < 0 {
		errs = append(errs, fmt.Errorf("shutdown.timeout %v: must not be negative", c.ShutdownWait))
	}
	return errs
}

// InfluxConfig mirrors ingest.InfluxConfig (same fields, so one converts to
// the other) with its flags. URL "" keeps history in the embedded store.
type InfluxConfig struct {
	URL    string `flag:"url" help:"InfluxDB URL; empty keeps telemetry history in the embedded store"`
	Token  string `flag:"token" help:"InfluxDB token (1.8: user:password or empty)"`
	Org    string `flag:"org" help:"InfluxDB organisation (2.x)"`
	Bucket string `flag:"bucket" help:"InfluxDB bucket (1.8: database/retention-policy)"`
}

// Sink is the configuration the InfluxDB sink and history take.
func (c InfluxConfig) Sink() influxhistory.Config { return influxhistory.Config(c) }

// Validate checks the group.
func (c *InfluxConfig) Validate() []error {
	if c.URL == "" {
		return nil
	}
	var errs []error
	if err := validHTTPURL(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("influx.url %q: %w", c.URL, err))
	}
	if c.Bucket == "" {
		errs = append(errs, errors.New("influx.bucket is required with influx.url (InfluxDB 1.8: db/retention-policy)"))
	}
	return errs
}

// AlertsSettings points at the alerts YAML (policies and receivers, see
// AlertsConfig), which stays a file of its own.
type AlertsSettings struct {
	File string `flag:"config" help:"alert policies (per estate) and notification receivers, YAML; empty: default policy, no receivers"`
}

// DebugConfig are the test and diagnosis aids, all off by default.
type DebugConfig struct {
	// Listen is the address of the debug listener; "" keeps it off.
	Listen string `flag:"listen" help:"address of the debug listener (e.g. 127.0.0.1:6060), apart from the API; empty: off. Only it serves --debug.pprof and --debug.fake-clock"`
	Pprof  bool   `flag:"pprof" help:"serve Go profiles under /debug/pprof/ on --debug.listen"`
	// FakeClock drives the alert clocks from a settable clock
	// (POST /debug/clock?advance=5m), for tests of escalation across
	// restarts. Never in production.
	FakeClock bool `flag:"fake-clock" help:"run alert clocks on a fake clock moved by POST /debug/clock?advance=5m on --debug.listen (tests only)"`
	// TraceLift logs when each message of one lift passes each hop of the
	// ingest pipeline (ingest/trace.go); BenchmarkAlertLatency uses it.
	TraceLift string `flag:"trace-lift" help:"log (at info, msg=trace) when each message of this lift passed each hop of the ingest pipeline: received, checked, dispatched, to the consumers; empty: off"`
}

// Validate checks the group.
func (c *DebugConfig) Validate() []error {
	if c.Listen == "" {
		var errs []error
		if c.Pprof {
			errs = append(errs, errors.New("debug.pprof: needs debug.listen (profiles are served only on the debug listener)"))
		}
		if c.FakeClock {
			errs = append(errs, errors.New("debug.fake-clock: needs debug.listen (POST /debug/clock is served only on the debug listener)"))
		}
		return errs
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return []error{fmt.Errorf("debug.listen %q: want HOST:PORT (or empty: off)", c.Listen)}
	}
	return nil
}

// RuntimeConfig tunes the Go runtime of the process.
type RuntimeConfig struct {
	// GCPercent is the garbage collector's target (GOGC). At 20,000 msg/s
	// on two cores the default 100 collects every second or two, and
	// each cycle's mark phase takes one of the two CPUs from the pipeline:
	// the alert latency's tail (docs/benchmarks.md). 400 collects a
	// quarter as often for about four times the live heap.
	GCPercent int `flag:"gc-percent" help:"Go garbage collector target (as GOGC; overrides it): heap growth in percent before a collection; higher trades memory for fewer pauses in the alert path; 0: leave it to GOGC (default 100); -1: off (not for production)"`
}

// Validate checks the group.
func (c *RuntimeConfig) Validate() []error {
	if c.GCPercent < -1 || (c.GCPercent > 0 && c.GCPercent < 10) {
		return []error{fmt.Errorf("runtime.gc-percent %d: want at least 10, 0 (GOGC decides) or -1 (off)", c.GCPercent)}
	}
	return nil
}

// DefaultConfig is the configuration with every default: the flags'
// defaults are these values.
func DefaultConfig() Config {
	return Config{
		HTTP:     HTTPConfig{Listen: "127.0.0.1:8080"},
		Data:     DataConfig{Dir: "./data"},
		Registry: RegistryConfig{Subdistrict: "jiangwan"},
		MQTT:     MQTTConfig{Options: mqttconn.Defaults("tcp://127.0.0.1:1883"), ClientID: "liftwatch-ingest", UrgentLane: true},
		Telemetry: TelemetryConfig{Root: telemetry.DefaultRoot, MaxPayload: telemetry.DefaultMaxPayload,
			Horizon: telemetry.DefaultHorizon, MaxFuture: telemetry.DefaultMaxFuture},
		Ingest: IngestConfig{MaxUnacked: 20000, GapGrace: ingest.DefaultGapGrace, BatchPoints: 5000, FlushEvery: time.Second, SpoolMax: 2 << 30,
			OfflineAfter: 3 * time.Minute, ShutdownWait: 5 * time.Second},
		Influx:      InfluxConfig{Bucket: "liftwatch"},
		Maintenance: MaintenanceConfig{SweepInterval: 5 * time.Minute, ContractFen: 360000},
		Runtime:     RuntimeConfig{GCPercent: 400},
	}
}
