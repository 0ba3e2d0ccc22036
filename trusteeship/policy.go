package trusteeship

import (
	"fmt"

	"github.com/liftwatch/liftwatch/internal/estate"
)

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
type Policies = estate.Policies[Policy, *Policy]

// DefaultPolicies is the default policy for every estate.
func DefaultPolicies() Policies { return Policies{Default: DefaultPolicy()} }
