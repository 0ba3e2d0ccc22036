package app

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// MaintenanceConfig runs post-construction management inside serve: the
// maintenance sweep and the daily trusteeship and fund checks
// (docs/maintenance.md, "Running inside serve").
type MaintenanceConfig struct {
	SweepInterval time.Duration `flag:"sweep-interval" help:"how often (on the service's clock) the maintenance sweep plans work orders, applies meter triggers, saves inspection sessions and raises supervision alerts"`
	File          string        `flag:"config" help:"maintenance, trusteeship and fund policies (default and per estate), YAML; empty: the domain defaults"`
	ContractFen   int64         `flag:"seed.contract-price-fen" help:"yearly price, in fen, of the maintenance contracts seeded from the register on first start"`
	// Disable keeps the services (and the seeding) but runs no sweep and
	// feeds no incidents: for the drain benchmark's comparison.
	Disable bool `flag:"disable" help:"do not run the maintenance loop (no sweeps, no corrective orders from alerts); the services stay available"`
}

// Validate checks the group, naming the flags.
func (c *MaintenanceConfig) Validate() []error {
	var errs []error
	if c.SweepInterval < time.Second || c.SweepInterval > 24*time.Hour {
		errs = append(errs, fmt.Errorf("maintenance.sweep-interval %v: must be between 1s and 24h", c.SweepInterval))
	}
	if c.ContractFen < 0 {
		errs = append(errs, fmt.Errorf("maintenance.seed.contract-price-fen %d: must not be negative", c.ContractFen))
	}
	return errs
}

// DomainPolicies are the rules of maintenance, trusteeship and the fund,
// each a default and whole-policy overrides per estate. The file:
//
//	default:
//	  maintenance: {routine_lead_days: 3, proof_minutes: [20, 30, 45, 60]}
//	  trusteeship: {expiry_warning_days: 30}
//	  fund: {low_balance_months: 3}
//	estates:
//	  yixian:
//	    maintenance: {routine_lead_days: 5}
//
// An estate's section starts from the (overridden) default and changes
// what it names.
type DomainPolicies struct {
	Maintenance maintenance.Policies
	Trusteeship trusteeship.Policies
	Fund        fund.Policies
}

type policySection struct {
	Maintenance yaml.Node `yaml:"maintenance"`
	Trusteeship yaml.Node `yaml:"trusteeship"`
	Fund        yaml.Node `yaml:"fund"`
}

// decodeStrict decodes n into v refusing unknown keys.
func decodeStrict(n *yaml.Node, v any) error {
	if n.Kind == 0 {
		return nil
	}
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}

// loadDomainPolicies reads --maintenance.config ("" : defaults) and
// validates every policy, each error naming the file and the key path
// (default.maintenance, estates.<e>.fund, …); estates must be in the
// register.
func loadDomainPolicies(path string, isEstate func(string) bool) (DomainPolicies, error) {
	p := DomainPolicies{
		Maintenance: maintenance.Policies{Default: maintenance.DefaultPolicy(), Estates: map[string]maintenance.Policy{}},
		Trusteeship: trusteeship.Policies{Default: trusteeship.DefaultPolicy(), Estates: map[string]trusteeship.Policy{}},
		Fund:        fund.Policies{Default: fund.DefaultPolicy(), Estates: map[string]fund.Policy{}},
	}
	if path == "" {
		return p, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return p, fmt.Errorf("maintenance.config: %w", err)
	}
	var doc struct {
		Default policySection            `yaml:"default"`
		Estates map[string]policySection `yaml:"estates"`
	}
	d := yaml.NewDecoder(bytes.NewReader(b))
	d.KnownFields(true)
	if err := d.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return p, fmt.Errorf("maintenance config %s: %w", path, err)
	}
	var errs []error
	bad := func(key string, err error) {
		errs = append(errs, fmt.Errorf("maintenance config %s: %s: %w", path, key, err))
	}
	section := func(key string, s *policySection, m *maintenance.Policy, t *trusteeship.Policy, f *fund.Policy) bool {
		ok := true
		for _, x := range []struct {
			name string
			n    *yaml.Node
			v    any
			val  func() error
		}{
			{"maintenance", &s.Maintenance, m, m.Validate},
			{"trusteeship", &s.Trusteeship, t, t.Validate},
			{"fund", &s.Fund, f, f.Validate},
		} {
			if err := decodeStrict(x.n, x.v); err != nil {
				bad(key+"."+x.name, err)
				ok = false
				continue
			}
			if err := x.val(); err != nil {
				bad(key+"."+x.name, err)
				ok = false
			}
		}
		return ok
	}
	if !section("default", &doc.Default, &p.Maintenance.Default, &p.Trusteeship.Default, &p.Fund.Default) {
		return p, errors.Join(errs...) // estates inherit it: not reported again for each
	}
	for e, s := range doc.Estates {
		if isEstate != nil && !isEstate(e) {
			bad("estates."+e, errors.New("not an estate of the register"))
			continue
		}
		m, t, f := p.Maintenance.Default, p.Trusteeship.Default, p.Fund.Default
		m.Meters = append([]maintenance.MeterRule(nil), m.Meters...)
		if section("estates."+e, &s, &m, &t, &f) {
			p.Maintenance.Estates[e], p.Trusteeship.Estates[e], p.Fund.Estates[e] = m, t, f
		}
	}
	return p, errors.Join(errs...)
}
