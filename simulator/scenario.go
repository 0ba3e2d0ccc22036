package simulator

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Scenario scripts exact events at exact offsets from the start, in YAML (or
// JSON, which YAML reads too):
//
//	name: stuck between floors
//	background: false                  # also run random traffic?
//	lifts: [JW-0042]                   # optional: simulate only these
//	events:
//	  - {at: "00:00:30", lift: JW-0042, do: trap, variant: outside_door_zone, floor: 3}
//	  - {at: "00:12:00", lift: JW-0042, do: rescue}
//
// Actions: trip (to), trap (variant, floor), rescue, fault (code, for),
// clear (code), alarm (source), mode (mode), visit (for), disconnect (for),
// reboot, resend, hostile (reason). Offsets are HH:MM:SS or Go durations.
// An optional "start:" (RFC 3339) fixes the virtual start when the caller
// gives none (Config.Start, --start win); shipped scenarios have none.
type Scenario struct {
	Name       string    `yaml:"name"`
	Start      time.Time `yaml:"start"`
	Background bool      `yaml:"background"`
	Duration   Offset    `yaml:"duration"`
	Lifts      []string  `yaml:"lifts"`
	Events     []Step    `yaml:"events"`
}

// Step is one scripted event.
type Step struct {
	At      Offset `yaml:"at"`
	Lift    string `yaml:"lift"`
	Do      string `yaml:"do"`
	To      int    `yaml:"to"`
	Floor   int    `yaml:"floor"`
	Variant string `yaml:"variant"`
	Code    string `yaml:"code"`
	For     Offset `yaml:"for"`
	Source  string `yaml:"source"`
	Mode    string `yaml:"mode"`
	Reason  string `yaml:"reason"`
}

// Offset is a time offset written as HH:MM:SS or a Go duration.
type Offset time.Duration

// UnmarshalYAML parses an offset.
func (o *Offset) UnmarshalYAML(n *yaml.Node) error {
	d, err := ParseOffset(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*o = Offset(d)
	return nil
}

// ParseOffset parses HH:MM:SS, MM:SS or a Go duration such as 90s.
func ParseOffset(s string) (time.Duration, error) {
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("offset %q: want HH:MM:SS", s)
		}
		var d time.Duration
		for _, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("offset %q: want HH:MM:SS", s)
			}
			d = d*60 + time.Duration(n)
		}
		return d * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("offset %q: want HH:MM:SS or a duration like 90s", s)
	}
	return d, nil
}

// LoadScenario reads and validates a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario parses and validates a scenario.
func ParseScenario(b []byte) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	for i, st := range sc.Events {
		if err := st.validate(); err != nil {
			return nil, fmt.Errorf("event %d (%s at %s): %w", i+1, st.Do, time.Duration(st.At), err)
		}
	}
	return &sc, nil
}

func (st *Step) validate() error {
	if st.Lift == "" {
		return fmt.Errorf("lift is required")
	}
	switch st.Do {
	case "trip":
		if st.To < 1 {
			return fmt.Errorf("trip needs to: a landing ≥ 1")
		}
	case "trap":
		if st.Variant == "" {
			st.Variant = TrapExplicit
		}
		if !slices.Contains(TrapVariants, st.Variant) {
			return fmt.Errorf("variant %q: want one of %s", st.Variant, strings.Join(TrapVariants, ", "))
		}
	case "fault", "clear":
		if st.Code == "" {
			return fmt.Errorf("%s needs code", st.Do)
		}
	case "alarm":
		if st.Source == "" {
			st.Source = "button"
		}
		if st.Source != "button" && st.Source != "intercom" {
			return fmt.Errorf("source %q: want button or intercom", st.Source)
		}
	case "mode":
		if _, ok := telemetry.ParseMode(st.Mode); !ok {
			return fmt.Errorf("mode %q is not a contract mode", st.Mode)
		}
	case "visit", "disconnect":
		if st.For <= 0 {
			return fmt.Errorf("%s needs for: a duration", st.Do)
		}
	case "hostile":
		if !slices.Contains(HostileReasons, telemetry.Reason(st.Reason)) {
			return fmt.Errorf("reason %q has no hostile message", st.Reason)
		}
	case "rescue", "reboot", "resend":
	default:
		return fmt.Errorf("unknown action %q", st.Do)
	}
	return nil
}

// Length is how long a scenario without background traffic runs: two
// minutes past its last event, or its duration.
func (sc *Scenario) Length() time.Duration {
	if sc.Duration > 0 {
		return time.Duration(sc.Duration)
	}
	var last time.Duration
	for _, st := range sc.Events {
		last = max(last, time.Duration(st.At)+time.Duration(st.For))
	}
	return last + 2*time.Minute
}

// FilterLifts restricts a fleet to the scenario's lifts, if it names any.
func (sc *Scenario) FilterLifts(fleet []registry.Lift) ([]registry.Lift, error) {
	if len(sc.Lifts) == 0 {
		return fleet, nil
	}
	var out []registry.Lift
	for _, id := range sc.Lifts {
		i := slices.IndexFunc(fleet, func(l registry.Lift) bool { return l.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("scenario lift %s is not in the registry", id)
		}
		out = append(out, fleet[i])
	}
	return out, nil
}

func (sc *Scenario) schedule(s *Simulator) error {
	for i, st := range sc.Events {
		l := s.byID[st.Lift]
		if l == nil {
			return fmt.Errorf("scenario event %d: lift %s is not simulated", i+1, st.Lift)
		}
		st := st
		s.at(s.cfg.Start.Add(time.Duration(st.At)), func(t time.Time) { st.apply(l, t) })
	}
	return nil
}

func (st *Step) apply(l *lift, t time.Time) {
	switch st.Do {
	case "trip":
		if l.available() && l.idle() && st.To != l.floor && st.To <= l.reg.Landings {
			l.dest = st.To
			l.openDoor(t)
		}
	case "trap":
		l.trap(t, st.Variant, st.Floor)
	case "rescue":
		l.rescue(t)
	case "fault":
		if l.fault == "" {
			l.raiseFault(t, st.Code, time.Duration(st.For))
		}
	case "clear":
		l.clearFault(t, st.Code)
	case "alarm":
		src := telemetry.AlarmButton
		if st.Source == "intercom" {
			src = telemetry.AlarmIntercom
		}
		l.alarm(t, src)
	case "mode":
		m, _ := telemetry.ParseMode(st.Mode)
		l.setMode(t, m)
	case "visit":
		l.visit(t, time.Duration(st.For))
	case "disconnect":
		l.disconnect(t, time.Duration(st.For))
	case "reboot":
		l.reboot(t)
	case "resend":
		l.resend()
	case "hostile":
		l.s.deliver(l.s.hostileOf(l, telemetry.Reason(st.Reason), t.UnixMilli()))
	}
}
