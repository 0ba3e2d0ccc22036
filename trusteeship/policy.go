package trusteeship

import "fmt"

// Policy holds the trusteeship rules; operators override them per estate.
type Policy struct {
	// ExpiryWarningDays: a lift whose maintenance cover ends within this
	// many days (counting from the evaluation day; 0 = ends today) raises a
	// contract_expiring finding.
	ExpiryWarningDays int `json:"expiry_warning_days" yaml:"expiry_warning_days"`
}

// DefaultPolicy warns 30 days ahead.
func DefaultPolicy() Policy { return Policy{ExpiryWarningDays: 30} }

// Validate says what is wrong with a policy.
func (p *Policy) Validate() error {
	if p.ExpiryWarningDays < 0 || p.ExpiryWarningDays > 366 {
		return fmt.Errorf("expiry_warning_days %d must be in 0..366", p.ExpiryWarningDays)
	}
	return nil
}

// Policies are the default policy and whole-policy overrides per estate.
type Policies struct {
	Default Policy
	Estates map[string]Policy
}

// DefaultPolicies is the default policy for every estate.
func DefaultPolicies() Policies { return Policies{Default: DefaultPolicy()} }

// For returns the policy of an estate.
func (ps *Policies) For(estate string) *Policy {
	if p, ok := ps.Estates[estate]; ok {
		return &p
	}
	return &ps.Default
}

// Validate checks every policy and names the estate at fault.
func (ps *Policies) Validate() error {
	if err := ps.Default.Validate(); err != nil {
		return fmt.Errorf("default: %w", err)
	}
	for e, p := range ps.Estates {
		if err := p.Validate(); err != nil {
			return fmt.Errorf("estate %s: %w", e, err)
		}
	}
	return nil
}
