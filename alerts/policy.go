package alerts

import "github.com/liftwatch/liftwatch/alerts/rule"

// Policy holds every rule's thresholds (see rule.Policy).
type Policy = rule.Policy

// DefaultPolicy is the domain's figures.
func DefaultPolicy() Policy { return rule.DefaultPolicy() }

// Policies are the default policy and per-estate overrides (whole policies:
// an override starts from the default and changes what it names).
type Policies struct {
	Default Policy
	Estates map[string]Policy
}

// For returns the policy of an estate.
func (ps *Policies) For(estate string) *Policy {
	if p, ok := ps.Estates[estate]; ok {
		return &p
	}
	return &ps.Default
}
