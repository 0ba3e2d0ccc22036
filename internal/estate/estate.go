// Package estate holds what every per-estate rule set shares: a default
// policy and whole-policy overrides per estate, looked up and validated the
// same way.
package estate

import "fmt"

// Policies are the default policy P and whole-policy overrides per estate.
type Policies[P any, PT interface {
	*P
	Validate() error
}] struct {
	Default P
	Estates map[string]P
}

// For returns the policy of an estate.
func (ps *Policies[P, PT]) For(estate string) *P {
	if p, ok := ps.Estates[estate]; ok {
		return &p
	}
	return &ps.Default
}

// Validate checks every policy and names the estate at fault.
func (ps *Policies[P, PT]) Validate() error {
	if err := PT(&ps.Default).Validate(); err != nil {
		return fmt.Errorf("default: %w", err)
	}
	for e, p := range ps.Estates {
		if err := PT(&p).Validate(); err != nil {
			return fmt.Errorf("estate %s: %w", e, err)
		}
	}
	return nil
}
