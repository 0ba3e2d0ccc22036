package identity

import (
	"context"
	"fmt"
)

// DemoScope is where the demo's accounts act: an estate for the manager, a
// contractor company, one lift and household for the owner, a subdistrict.
type DemoScope struct {
	Estates     []string
	Company     string
	Lift        string
	Household   string
	Subdistrict string
}

// DemoAccount is an account the demo created and the password to print.
type DemoAccount struct {
	User     *User
	Password string
}

// CreateDemoAccounts creates one account per role, named demo-<role>, with
// random passwords returned for the demo to print (the demo's wiring comes
// with the web app).
func CreateDemoAccounts(ctx context.Context, s *Service, sc DemoScope) ([]DemoAccount, error) {
	scopes := map[Role]Scope{
		RoleAdmin:       {},
		RoleManager:     {Estates: sc.Estates},
		RoleContractor:  {Company: sc.Company},
		RoleOwner:       {Lift: sc.Lift, Household: sc.Household},
		RoleSubdistrict: {Subdistrict: sc.Subdistrict},
	}
	out := make([]DemoAccount, 0, len(Roles))
	for _, r := range Roles {
		pw, err := randomString()
		if err != nil {
			return nil, err
		}
		pw = pw[:16]
		u, err := s.CreateUser(ctx, System("demo"), NewUser{Name: "demo-" + string(r), Role: r, Scope: scopes[r], Password: pw}, "")
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", r, err)
		}
		out = append(out, DemoAccount{User: u, Password: pw})
	}
	return out, nil
}
