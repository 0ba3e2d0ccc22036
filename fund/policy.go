package fund

import (
	"fmt"

	"github.com/liftwatch/liftwatch/internal/estate"
)

// Policy holds the fund's rules; operators override them per estate.
type Policy struct {
	// LowBalanceMonths: a lift's balance below this many months of expected
	// cost raises a low-balance notice. The expected monthly cost is the net
	// expenses dated in the 12 months up to the check day, divided by 12 and
	// rounded up to the fen.
	LowBalanceMonths int `json:"low_balance_months" yaml:"low_balance_months"`
}

// DefaultPolicy asks for three months of expected cost.
func DefaultPolicy() Policy { return Policy{LowBalanceMonths: 3} }

// Validate says what is wrong with a policy.
func (p *Policy) Validate() error {
	if p.LowBalanceMonths < 0 || p.LowBalanceMonths > 120 {
		return fmt.Errorf("low_balance_months %d must be in 0..120", p.LowBalanceMonths)
	}
	return nil
}

// Policies are the default policy and whole-policy overrides per estate.
type Policies = estate.Policies[Policy, *Policy]

// DefaultPolicies is the default policy everywhere.
func DefaultPolicies() Policies { return Policies{Default: DefaultPolicy()} }
