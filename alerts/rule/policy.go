package rule

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/liftwatch/liftwatch/internal/suggest"
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
	// CriticalOnSiteWithin: a critical fault (overspeed, unintended
	// movement, overtravel, door open while moving) with no technician on
	// site by then escalates to tier 3. Its notify clock is AckWithin.
	CriticalOnSiteWithin time.Duration `json:"critical_on_site_within" yaml:"critical_on_site_within"`
	// StillReportedAfter: a rescue resolved while the terminal still
	// reports a trapped passenger leaves an entrapment_still_reported
	// alert; still reported this long after, it becomes a rescue again.
	StillReportedAfter time.Duration `json:"still_reported_after" yaml:"still_reported_after"`
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
		EntrapmentAfter:      30 * time.Second,
		AckWithin:            5 * time.Minute,
		OnSiteWithin:         30 * time.Minute,
		Renotify:             3 * time.Minute,
		CriticalOnSiteWithin: 2 * time.Hour,
		StillReportedAfter:   10 * time.Minute,
		OutOfServiceAfter:    30 * time.Minute,
		LowBatteryPct:        20,
		RepeatCount:          3,
		RepeatWindow:         24 * time.Hour,
	}
}

// Validate says precisely what is wrong with a policy: every problem, not
// only the first, each message starting with its key (errors.Join).
func (p *Policy) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.EntrapmentAfter <= 0 || p.EntrapmentAfter > 10*time.Minute {
		bad("entrapment_after %v must be in (0, 10m]", p.EntrapmentAfter)
	}
	if p.AckWithin <= 0 || p.OnSiteWithin <= p.AckWithin {
		bad("ack_within %v must be positive and below on_site_within %v", p.AckWithin, p.OnSiteWithin)
	}
	if p.CriticalOnSiteWithin <= p.AckWithin {
		bad("critical_on_site_within %v must be above ack_within %v", p.CriticalOnSiteWithin, p.AckWithin)
	}
	if p.StillReportedAfter <= 0 || p.StillReportedAfter > 24*time.Hour {
		bad("still_reported_after %v must be in (0, 24h]", p.StillReportedAfter)
	}
	if p.Renotify <= 0 {
		bad("renotify must be positive")
	}
	if p.OutOfServiceAfter <= 0 {
		bad("out_of_service_after must be positive")
	}
	if p.LowBatteryPct < 0 || p.LowBatteryPct > 95 {
		bad("low_battery_pct %d must be in 0..95", p.LowBatteryPct)
	}
	if p.RepeatCount < 2 {
		bad("repeat_count %d must be ≥ 2", p.RepeatCount)
	}
	if p.RepeatWindow <= 0 {
		bad("repeat_window must be positive")
	}
	codes := make([]string, 0, len(p.Severities))
	for code := range p.Severities {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if _, ok := telemetry.LookupFault(code); !ok {
			msg := fmt.Sprintf("severities[%s]: %q is not a fault code of the catalogue", code, code)
			if c := closestFault(code); c != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", c)
			}
			bad("%s", msg)
		}
		if s := p.Severities[code]; !validSeverity(s) {
			bad("severities[%s] = %q: want warning, minor, major or critical", code, s)
		}
	}
	return errors.Join(errs...)
}

func validSeverity(s string) bool { _, ok := telemetry.ParseSeverity(s); return ok }

// closestFault is the catalogue's code nearest to code (edit distance ≤ 3),
// or "".
func closestFault(code string) string {
	codes := make([]string, 0, len(telemetry.Catalogue))
	for _, f := range telemetry.Catalogue {
		codes = append(codes, f.Code)
	}
	return suggest.Closest(code, codes, 3)
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
