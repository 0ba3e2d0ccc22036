package rule

import (
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Policy holds every rule's thresholds. Defaults come from the domain rules;
// operators override them per estate.
type Policy struct {
	// EntrapmentAfter is how long an occupied car must be unable to release
	// its passengers before an entrapment is derived (terminals use 10–80 s).
	EntrapmentAfter time.Duration `json:"entrapment_after" yaml:"entrapment_after"`
	// AckWithin: an entrapment not acknowledged by then escalates to tier 2
	// (Shanghai: notify the maintainer within 5 minutes).
	AckWithin time.Duration `json:"ack_within" yaml:"ack_within"`
	// OnSiteWithin: nobody on site by then escalates to tier 3 (TSG T5002:
	// arrive within 30 minutes).
	OnSiteWithin time.Duration `json:"on_site_within" yaml:"on_site_within"`
	// Renotify is how often an unacknowledged critical alert is notified
	// again.
	Renotify time.Duration `json:"renotify" yaml:"renotify"`
	// OutOfServiceAfter raises out_of_service when a lift stays out of
	// service this long.
	OutOfServiceAfter time.Duration `json:"out_of_service_after" yaml:"out_of_service_after"`
	// LowBatteryPct raises low_battery below this percentage (clears 5 above).
	LowBatteryPct int `json:"low_battery_pct" yaml:"low_battery_pct"`
	// RepeatCount faults of one code within RepeatWindow make a problem lift.
	RepeatCount  int           `json:"repeat_count" yaml:"repeat_count"`
	RepeatWindow time.Duration `json:"repeat_window" yaml:"repeat_window"`
	// Severities overrides catalogue severities by fault code.
	Severities map[string]string `json:"severities,omitempty" yaml:"severities,omitempty"`
}

// DefaultPolicy is the domain's figures.
func DefaultPolicy() Policy {
	return Policy{
		EntrapmentAfter:   30 * time.Second,
		AckWithin:         5 * time.Minute,
		OnSiteWithin:      30 * time.Minute,
		Renotify:          3 * time.Minute,
		OutOfServiceAfter: 30 * time.Minute,
		LowBatteryPct:     20,
		RepeatCount:       3,
		RepeatWindow:      24 * time.Hour,
	}
}

// Validate says precisely what is wrong with a policy.
func (p *Policy) Validate() error {
	switch {
	case p.EntrapmentAfter <= 0 || p.EntrapmentAfter > 10*time.Minute:
		return fmt.Errorf("entrapment_after %v must be in (0, 10m]", p.EntrapmentAfter)
	case p.AckWithin <= 0 || p.OnSiteWithin <= p.AckWithin:
		return fmt.Errorf("ack_within %v must be positive and below on_site_within %v", p.AckWithin, p.OnSiteWithin)
	case p.Renotify <= 0:
		return fmt.Errorf("renotify must be positive")
	case p.OutOfServiceAfter <= 0:
		return fmt.Errorf("out_of_service_after must be positive")
	case p.LowBatteryPct < 0 || p.LowBatteryPct > 95:
		return fmt.Errorf("low_battery_pct %d must be in 0..95", p.LowBatteryPct)
	case p.RepeatCount < 2 || p.RepeatWindow <= 0:
		return fmt.Errorf("repeat_count must be ≥ 2 and repeat_window positive")
	}
	for code, s := range p.Severities {
		if _, ok := telemetry.ParseSeverity(s); !ok {
			return fmt.Errorf("severities[%s] = %q: want warning, minor, major or critical", code, s)
		}
	}
	return nil
}

// Severity is a fault code's severity under p.
func (p *Policy) Severity(code string) telemetry.Severity {
	if s, ok := p.Severities[code]; ok {
		if v, ok := telemetry.ParseSeverity(s); ok {
			return v
		}
	}
	return telemetry.FaultSeverity(code)
}
