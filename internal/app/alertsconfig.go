package app

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/notify/channel"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/internal/suggest"
	"github.com/liftwatch/liftwatch/registry"
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
//	channels:
//	  sms: {type: aliyun_sms, access_key_id: LTAI…, access_key_secret_env: ALIYUN_ACCESS_KEY_SECRET, sign_name: 电梯卫士, template_code: SMS_1}
//	  duty-group: {type: dingtalk, access_token_env: DINGTALK_ROBOT_TOKEN, secret_env: DINGTALK_ROBOT_SECRET}
type AlertsConfig struct {
	Policies  alerts.Policies
	Receivers []notify.Receiver
	// Paging is the `paging:` section: which alerts are paged, the
	// acknowledgement timeout, retries (alerts/paging).
	Paging paging.Config
	// Channels are the paging channels by name (a roster's contacts name
	// them); Notifiers builds them.
	Channels map[string]channel.Config

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

// loadAlertsConfig reports every problem it finds, not only the first, each
// naming the file, the line and the key; only a file that cannot be read or
// parsed as YAML stops it at once.
func loadAlertsConfig(path string) (AlertsConfig, error) {
	cfg := AlertsConfig{Policies: alerts.Policies{Default: alerts.DefaultPolicy(), Estates: map[string]alerts.Policy{}}, Paging: paging.DefaultConfig()}
	if path == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("alerts.config: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return cfg, fmt.Errorf("alerts config %s: %w", path, err)
	}
	if len(doc.Content) == 0 { // empty file: the defaults
		return cfg, nil
	}
	var errs []error
	bad := func(err error) { errs = append(errs, fmt.Errorf("alerts config %s: %w", path, err)) }
	for _, err := range knownKeys(doc.Content[0], "", []string{"policy", "estates", "receivers", "channels", "paging"}) {
		bad(err)
	}
	var raw struct {
		Policy    yaml.Node   `yaml:"policy"`
		Estates   yaml.Node   `yaml:"estates"`
		Receivers []yaml.Node `yaml:"receivers"`
		Paging    yaml.Node   `yaml:"paging"`
		Channels  yaml.Node   `yaml:"channels"`
	}
	if err := doc.Content[0].Decode(&raw); err != nil { // unknown keys are reported above
		bad(err)
		return cfg, errors.Join(errs...)
	}
	policyKeys := yamlKeys(reflect.TypeOf(alerts.Policy{}))
	defaultOK := true
	if raw.Policy.Kind != 0 {
		for _, err := range knownKeys(&raw.Policy, "policy.", policyKeys) {
			bad(err)
		}
		if err := raw.Policy.Decode(&cfg.Policies.Default); err != nil {
			decodeErrs(bad, "policy", err)
			defaultOK = false
		}
	}
	if defaultOK {
		if err := cfg.Policies.Default.Validate(); err != nil {
			keyErrs(bad, &raw.Policy, "policy: ", "", err)
			defaultOK = false // estates inherit it: not reported again for each
		}
	}
	if raw.Estates.Kind != 0 && raw.Estates.Kind != yaml.MappingNode {
		bad(fmt.Errorf("line %d: estates: want a mapping from estate to policy", raw.Estates.Line))
	}
	for i := 0; raw.Estates.Kind == yaml.MappingNode && i+1 < len(raw.Estates.Content); i += 2 {
		estate, node := raw.Estates.Content[i].Value, raw.Estates.Content[i+1]
		p := cfg.Policies.Default
		for _, err := range knownKeys(node, "estates."+estate+".", policyKeys) {
			bad(err)
		}
		cfg.estateLines = append(cfg.estateLines, estateLine{estate: estate, line: node.Line, key: "estates"})
		if err := node.Decode(&p); err != nil {
			decodeErrs(bad, "estate "+estate, err)
			continue
		}
		if err := p.Validate(); defaultOK && err != nil {
			keyErrs(bad, node, "estate "+estate+": ", "", err)
			continue
		}
		cfg.Policies.Estates[estate] = p
	}
	if raw.Paging.Kind != 0 {
		loadPaging(&raw.Paging, &cfg.Paging, bad)
	}
	receiverKeys := yamlKeys(reflect.TypeOf(notify.Receiver{}))
	names := map[string]int{} // receiver name: its line
	for i := range raw.Receivers {
		node := &raw.Receivers[i]
		for _, err := range knownKeys(node, fmt.Sprintf("receivers[%d].", i), receiverKeys) {
			bad(err)
		}
		var r notify.Receiver
		if err := node.Decode(&r); err != nil {
			decodeErrs(bad, fmt.Sprintf("receivers[%d]", i), err)
			continue
		}
		if err := r.Validate(); err != nil {
			keyErrs(bad, node, "", "receiver "+r.Name+": ", err)
			continue
		}
		if first, dup := names[r.Name]; dup {
			bad(fmt.Errorf("line %d: receivers[%d].name: duplicate name %q (first at line %d)", node.Line, i, r.Name, first))
			continue
		}
		names[r.Name] = node.Line
		cfg.Receivers = append(cfg.Receivers, r)
		for j := 0; node.Kind == yaml.MappingNode && j+1 < len(node.Content); j += 2 {
			if v := node.Content[j+1]; node.Content[j].Value == "estates" && v.Kind == yaml.SequenceNode {
				for _, e := range v.Content {
					cfg.estateLines = append(cfg.estateLines, estateLine{e.Value, e.Line, fmt.Sprintf("receivers[%d].estates", i), r.Name})
				}
			}
		}
	}
	loadChannels(&cfg, &raw.Channels, bad)
	return cfg, errors.Join(errs...)
}

// loadPaging reads the paging: section over the defaults, reporting every
// unknown key and bad value at its line.
func loadPaging(node *yaml.Node, c *paging.Config, bad func(error)) {
	for _, err := range knownKeys(node, "paging.", yamlKeys(reflect.TypeOf(paging.Config{}))) {
		bad(err)
	}
	p := *c
	if err := node.Decode(&p); err != nil {
		decodeErrs(bad, "paging", err)
		return
	}
	if err := p.Validate(); err != nil {
		keyErrs(bad, node, "paging: ", "", err)
		return
	}
	*c = p
}

// loadChannels reads the channels: mapping (name: settings), reporting each
// bad or missing key of each channel at its line.
func loadChannels(cfg *AlertsConfig, node *yaml.Node, bad func(error)) {
	if node.Kind == 0 {
		return
	}
	if node.Kind != yaml.MappingNode {
		bad(fmt.Errorf("line %d: channels: want a mapping from channel name to its settings", node.Line))
		return
	}
	cfg.Channels = map[string]channel.Config{}
	keys := channel.Keys()
	for i := 0; i+1 < len(node.Content); i += 2 {
		name, n := node.Content[i].Value, node.Content[i+1]
		for _, err := range knownKeys(n, "channels."+name+".", keys) {
			bad(err)
		}
		var c channel.Config
		if err := n.Decode(&c); err != nil {
			decodeErrs(bad, "channel "+name, err)
			continue
		}
		if err := c.Validate(name); err != nil {
			at := *n // a missing key is reported at the channel's name
			at.Line = node.Content[i].Line
			keyErrs(bad, &at, "", "channel "+name+": ", err)
			continue
		}
		cfg.Channels[name] = c
	}
}

// Notifiers builds every paging channel of the file, by name; clock stamps
// signed requests (nil: time.Now), client makes the HTTP requests.
func (c *AlertsConfig) Notifiers(clock func() time.Time, client *http.Client) (map[string]notify.Notifier, error) {
	return channel.BuildAll(c.Channels, clock, client)
}

// decodeErrs reports a decoding error of the node at where, one problem per
// bad value with its line ("line 4: estate yixian: cannot unmarshal …").
func decodeErrs(bad func(error), where string, err error) {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		bad(fmt.Errorf("%s: %w", where, err))
		return
	}
	for _, e := range te.Errors {
		if line, rest, ok := strings.Cut(e, ": "); ok && strings.HasPrefix(line, "line ") {
			bad(fmt.Errorf("%s: %s: %s", line, where, rest))
		} else {
			bad(fmt.Errorf("%s: %s", where, e))
		}
	}
}

// keyErrs reports each problem of a Validate error (an errors.Join of them,
// each message naming its key after the prefix skip) at the line of that key
// in node, or of node if it is not there: "line 3: policy: renotify must be
// positive". A key severities[door_lock] is found inside severities.
func keyErrs(bad func(error), node *yaml.Node, where, skip string, err error) {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	for _, e := range list {
		line := node.Line
		key := strings.TrimPrefix(e.Error(), skip)
		if i := strings.IndexAny(key, " :="); i >= 0 {
			key = key[:i]
		}
		key, sub, _ := strings.Cut(strings.TrimSuffix(key, "]"), "[")
		if k, v := entry(node, key); k != nil {
			line = k.Line
			if s, _ := entry(v, sub); sub != "" && s != nil {
				line = s.Line
			}
		}
		bad(fmt.Errorf("line %d: %s%w", line, where, e))
	}
}

// entry is the key and value nodes of key in mapping n; nil if none.
func entry(n *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; n != nil && n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// estateLine is where the file names an estate: a policy override (key
// "estates") or a receiver's estates (key "receivers[i].estates").
type estateLine struct {
	estate   string
	line     int
	key      string
	receiver string // the receiver's name, for receivers' estates
}

// CheckEstates reports a policy, or a receiver's estate, for an estate that
// is not in the register (isKnown false), naming it, its key and its line:
// a misspelt estate would otherwise silently keep the default policy, or
// leave its receiver never notified.
func (c *AlertsConfig) CheckEstates(path string, isKnown func(estate string) bool) error {
	var errs []error
	sort.Slice(c.estateLines, func(i, j int) bool { return c.estateLines[i].line < c.estateLines[j].line })
	for _, e := range c.estateLines {
		if isKnown(e.estate) {
			continue
		}
		err := fmt.Errorf("alerts config %s: line %d: %s: %q is not an estate of the lift register", path, e.line, e.key, e.estate)
		if e.receiver != "" {
			err = fmt.Errorf("%w: receiver %s would never be notified of it", err, e.receiver)
		}
		errs = append(errs, err)
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

// knownKeys reports every key of mapping node n that is not in known,
// naming it, where it is and its line, and the closest known key. (yaml.v3's
// KnownFields does not reach into nodes decoded later with Node.Decode.)
func knownKeys(n *yaml.Node, where string, known []string) []error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if slices.Contains(known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("line %d: unknown key %s%s", k.Line, where, k.Value)
		if s := suggest.Closest(k.Value, known, 2); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		errs = append(errs, fmt.Errorf("%s; known keys: %s", msg, strings.Join(known, ", ")))
	}
	return errs
}

// CheckAlertsFile validates an alerts YAML file as serve does at start:
// policies, receivers, and the per-estate overrides against the estates of
// lifts (the register). It reports every problem, each with its line.
func CheckAlertsFile(path string, lifts []registry.Lift) error {
	cfg, err := loadAlertsConfig(path)
	estates := map[string]bool{}
	for _, l := range lifts {
		estates[l.Estate] = true
	}
	var unknown *ConfigError
	if e := cfg.CheckEstates(path, func(e string) bool { return estates[e] }); e != nil && errors.As(e, &unknown) {
		err = errors.Join(err, unknown.Err)
	}
	return err
}
