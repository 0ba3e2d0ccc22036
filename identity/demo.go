package identity

import (
	"context"
	"errors"
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
// random passwords returned for the demo to print. An account of that name
// kept from an earlier demo gets a new password (its sessions end): a
// demo's accounts are the demo's, and whoever starts it again must be able
// to sign in without the passwords printed last time.
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
		if errors.Is(err, ErrNameTaken) {
			if u, err = s.repo.UserByName(ctx, "demo-"+string(r)); err == nil {
				err = s.SetPassword(ctx, System("demo"), u.ID, pw, "")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("demo account %s: %w", r, err)
		}
		out = append(out, DemoAccount{User: u, Password: pw})
	}
	return out, nil
}
