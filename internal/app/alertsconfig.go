package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
)

// AlertsConfig is the --alerts.config file: the default policy's overrides,
// per-estate overrides (each starting from the default), and receivers.
//
//	policy:
//	  entrapment_after: 30s
//	estates:
//	  yixian: {entrapment_after: 20s, ack_within: 3m}
//	receivers:
//	  - {name: maintainer, url: "https://duty.example/hook", secret: "…", tier: 1}
//	  - {name: duty-desk, url: "https://desk.example/hook", tier: 2, min_severity: critical}
//	  - {name: am, type: alertmanager, url: "http://alertmanager:9093"}
type AlertsConfig struct {
	Policies  alerts.Policies
	Receivers []notify.Receiver

	estateLines []estateLine // where each estate's policy is, for CheckEstates
}

// ConfigError is a bad setting: the command exits 2 with its message.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// LoadAlertsConfig reads the file; "" gives the defaults and no receivers.
// Every error is a *ConfigError naming the file, the key and its line.
func LoadAlertsConfig(path string) (AlertsConfig, error) {
	cfg, err := loadAlertsConfig(path)
	if err != nil {
		return cfg, &ConfigError{Err: err}
	}
	return cfg, nil
}

func loadAlertsConfig(path string) (AlertsConfig, error) {
	cfg := AlertsConfig{Policies: alerts.Policies{Default: alerts.DefaultPolicy(), Estates: map[string]alerts.Policy{}}}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("alerts.config: %w", err)
	}
	var raw struct {
		Policy    yaml.Node            `yaml:"policy"`
		Estates   map[string]yaml.Node `yaml:"estates"`
		Receivers []yaml.Node          `yaml:"receivers"`
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return cfg, fmt.Errorf("alerts config %s: %w", path, err)
	}
	if len(doc.Content) == 0 { // empty file: the defaults
		return cfg, nil
	}
	if err := knownKeys(doc.Content[0], "", []string{"policy", "estates", "receivers"}); err != nil {
		return cfg, fmt.Errorf("alerts config %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return cfg, fmt.Errorf("alerts config %s: %w", path, err)
	}
	policyKeys := yamlKeys(reflect.TypeOf(alerts.Policy{}))
	if raw.Policy.Kind != 0 {
		if err := knownKeys(&raw.Policy, "policy.", policyKeys); err != nil {
			return cfg, fmt.Errorf("alerts config %s: %w", path, err)
		}
		if err := raw.Policy.Decode(&cfg.Policies.Default); err != nil {
			return cfg, fmt.Errorf("alerts config %s: policy: %w", path, err)
		}
	}
	if err := cfg.Policies.Default.Validate(); err != nil {
		return cfg, fmt.Errorf("alerts config %s: line %d: policy: %w", path, raw.Policy.Line, err)
	}
	for estate, node := range raw.Estates {
		p := cfg.Policies.Default
		if err := knownKeys(&node, "estates."+estate+".", policyKeys); err != nil {
			return cfg, fmt.Errorf("alerts config %s: %w", path, err)
		}
		if err := node.Decode(&p); err != nil {
			return cfg, fmt.Errorf("alerts config %s: estate %s: %w", path, estate, err)
		}
		if err := p.Validate(); err != nil {
			return cfg, fmt.Errorf("alerts config %s: line %d: estate %s: %w", path, node.Line, estate, err)
		}
		cfg.Policies.Estates[estate] = p
		cfg.estateLines = append(cfg.estateLines, estateLine{estate, node.Line})
	}
	receiverKeys := yamlKeys(reflect.TypeOf(notify.Receiver{}))
	for i := range raw.Receivers {
		node := &raw.Receivers[i]
		if err := knownKeys(node, fmt.Sprintf("receivers[%d].", i), receiverKeys); err != nil {
			return cfg, fmt.Errorf("alerts config %s: %w", path, err)
		}
		var r notify.Receiver
		if err := node.Decode(&r); err != nil {
			return cfg, fmt.Errorf("alerts config %s: receivers[%d]: %w", path, i, err)
		}
		if err := r.Validate(); err != nil {
			return cfg, fmt.Errorf("alerts config %s: line %d: %w", path, node.Line, err)
		}
		cfg.Receivers = append(cfg.Receivers, r)
	}
	return cfg, nil
}

type estateLine struct {
	estate string
	line   int
}

// CheckEstates reports a policy for an estate that is not in the register
// (isKnown false), naming it and its line: a misspelt estate would
// otherwise silently keep the default policy.
func (c *AlertsConfig) CheckEstates(path string, isKnown func(estate string) bool) error {
	var errs []error
	sort.Slice(c.estateLines, func(i, j int) bool { return c.estateLines[i].line < c.estateLines[j].line })
	for _, e := range c.estateLines {
		if !isKnown(e.estate) {
			errs = append(errs, fmt.Errorf("alerts config %s: line %d: estates: %q is not an estate of the lift register", path, e.line, e.estate))
		}
	}
	if len(errs) > 0 {
		return &ConfigError{Err: errors.Join(errs...)}
	}
	return nil
}

// yamlKeys lists the yaml keys of a struct type.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// knownKeys fails on the first key of mapping node n that is not in known,
// naming it, where it is and its line, and the closest known key. (yaml.v3's
// KnownFields does not reach into nodes decoded later with Node.Decode.)
func knownKeys(n *yaml.Node, where string, known []string) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if slices.Contains(known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("line %d: unknown key %s%s", k.Line, where, k.Value)
		if s := closest(k.Value, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		return fmt.Errorf("%s; known keys: %s", msg, strings.Join(known, ", "))
	}
	return nil
}

// closest is the known key within edit distance 2 of s, if any.
func closest(s string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
