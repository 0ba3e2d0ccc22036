package paging

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Config is the `paging:` section of the alerts file.
//
//	paging:
//	  types: [entrapment]        # alert types paged ("fault.*": every fault)
//	  min_severity: critical     # and every alert at least this severe ("none": only types)
//	  ack_timeout: 2m            # the next person when nobody acknowledged
//	  max_attempts: 4            # per contact, while failures are retryable
//	  retry_base: 2s             # backoff: 2s, 4s, 8s …
//	  attempt_timeout: 10s       # one attempt
//	  link_ttl: 24h              # an acknowledge link works this long at most
type Config struct {
	Types          []string      `yaml:"types"`
	MinSeverity    string        `yaml:"min_severity"`
	AckTimeout     time.Duration `yaml:"ack_timeout"`
	MaxAttempts    int           `yaml:"max_attempts"`
	RetryBase      time.Duration `yaml:"retry_base"`
	AttemptTimeout time.Duration `yaml:"attempt_timeout"`
	LinkTTL        time.Duration `yaml:"link_ttl"`
}

// DefaultConfig pages rescues (entrapment) and critical alerts, the next
// person after 2 minutes without acknowledgement.
func DefaultConfig() Config {
	return Config{Types: []string{alerts.TypeEntrapment}, MinSeverity: "critical", AckTimeout: 2 * time.Minute, MaxAttempts: 4,
		RetryBase: 2 * time.Second, AttemptTimeout: 10 * time.Second, LinkTTL: 24 * time.Hour}
}

// Validate says what is wrong, every problem, each naming its key first
// ("ack_timeout must be positive"), so the config loader finds its line.
func (c *Config) Validate() error {
	var errs []error
	if c.MinSeverity != "none" {
		if _, ok := telemetry.ParseSeverity(c.MinSeverity); !ok {
			errs = append(errs, fmt.Errorf("min_severity %q: want warning, minor, major, critical or none", c.MinSeverity))
		}
	}
	for _, t := range c.Types {
		if strings.TrimSpace(t) == "" || strings.Contains(strings.TrimSuffix(t, "*"), "*") {
			errs = append(errs, fmt.Errorf("types %q: want an alert type, or a prefix ending in * (fault.*)", t))
		}
		if t == TypePagingFailed {
			errs = append(errs, fmt.Errorf("types %q: a page that reached nobody is not paged again", t))
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"ack_timeout", c.AckTimeout}, {"retry_base", c.RetryBase}, {"attempt_timeout", c.AttemptTimeout}, {"link_ttl", c.LinkTTL}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, not %v", d.key, d.v))
		}
	}
	if c.MaxAttempts < 1 {
		errs = append(errs, fmt.Errorf("max_attempts must be at least 1, not %d", c.MaxAttempts))
	}
	return errors.Join(errs...)
}

// Pages says whether an alert of this type and severity is paged.
func (c *Config) Pages(typ string, sev telemetry.Severity) bool {
	if typ == TypePagingFailed {
		return false
	}
	for _, t := range c.Types {
		if t == typ || strings.HasSuffix(t, "*") && strings.HasPrefix(typ, strings.TrimSuffix(t, "*")) {
			return true
		}
	}
	if c.MinSeverity == "none" {
		return false
	}
	min, ok := telemetry.ParseSeverity(c.MinSeverity)
	return ok && sev >= min
}
