package app

import (
	"bytes"
	"fmt"
	"os"

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
}

// LoadAlertsConfig reads the file; "" gives the defaults and no receivers.
func LoadAlertsConfig(path string) (AlertsConfig, error) {
	cfg := AlertsConfig{Policies: alerts.Policies{Default: alerts.DefaultPolicy(), Estates: map[string]alerts.Policy{}}}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("alerts config: %w", err)
	}
	var raw struct {
		Policy    yaml.Node            `yaml:"policy"`
		Estates   map[string]yaml.Node `yaml:"estates"`
		Receivers []notify.Receiver    `yaml:"receivers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil {
		return cfg, fmt.Errorf("alerts config %s: %w", path, err)
	}
	if raw.Policy.Kind != 0 {
		if err := raw.Policy.Decode(&cfg.Policies.Default); err != nil {
			return cfg, fmt.Errorf("alerts config %s: policy: %w", path, err)
		}
	}
	if err := cfg.Policies.Default.Validate(); err != nil {
		return cfg, fmt.Errorf("alerts config %s: policy: %w", path, err)
	}
	for estate, node := range raw.Estates {
		p := cfg.Policies.Default
		if err := node.Decode(&p); err != nil {
			return cfg, fmt.Errorf("alerts config %s: estate %s: %w", path, estate, err)
		}
		if err := p.Validate(); err != nil {
			return cfg, fmt.Errorf("alerts config %s: estate %s: %w", path, estate, err)
		}
		cfg.Policies.Estates[estate] = p
	}
	for i := range raw.Receivers {
		if err := raw.Receivers[i].Validate(); err != nil {
			return cfg, fmt.Errorf("alerts config %s: %w", path, err)
		}
	}
	cfg.Receivers = raw.Receivers
	return cfg, nil
}
