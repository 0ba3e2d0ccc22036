package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// GeneratePassword is a random password to show once (a new account, a
// reset): 20 characters of base64url, 120 bits.
func GeneratePassword() (string, error) {
	s, err := randomString()
	if err != nil {
		return "", err
	}
	return s[:20], nil
}

// canSee says whether by may see account u: an admin every account,
// anyone their own, a manager the managers sharing one of their estates
// and the owners of lifts in their estates (through Config.Directory).
func (s *Service) canSee(ctx context.Context, by Actor, u *User) (bool, error) {
	if by.Role == RoleAdmin || (by.UserID != 0 && by.UserID == u.ID) {
		return true, nil
	}
	if by.Role != RoleManager {
		return false, nil
	}
	switch u.Role {
	case RoleManager:
		return slices.ContainsFunc(u.Scope.Estates, func(e string) bool { return slices.Contains(by.Scope.Estates, e) }), nil
	case RoleOwner:
		if s.cfg.Directory == nil || u.Scope.Lift == "" {
			return false, nil
		}
		ls, err := s.cfg.Directory.LiftScope(ctx, u.Scope.Lift)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("estate of lift %s: %w", u.Scope.Lift, err)
		}
		return slices.Contains(by.Scope.Estates, ls.Estate), nil
	}
	return false, nil
}

// Users lists the accounts by may see (read_users): an admin all, a
// manager those of their estates (canSee), by id.
func (s *Service) Users(ctx context.Context, by Actor) ([]User, error) {
	if !Permits(by.Role, ReadUsers) {
		return nil, &ForbiddenError{deny("role %s may not %s", by.Role, ReadUsers)}
	}
	all, err := s.repo.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	out := all[:0]
	for i := range all {
		ok, err := s.canSee(ctx, by, &all[i])
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// User is account id if by may see it; ErrNotFound if it does not exist
// or by may not see it (the two answer alike).
func (s *Service) User(ctx context.Context, by Actor, id int64) (*User, error) {
	u, err := s.repo.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	ok, err := s.canSee(ctx, by, u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	return u, nil
}

// UserChange is an admin's change of an account; nil fields stay.
type UserChange struct {
	Role     *Role
	Scope    *Scope
	Disabled *bool
}

// UpdateUser changes account id's role, scope or whether it is disabled
// (admins only; not their own role or their own account's disabling, so
// an admin cannot lock themselves out). Disabling it, or giving it another
// role or scope, ends its sessions, API tokens and open streams: what was
// granted under the old role must be granted again. Each change is
// audited (user.role, user.disable, user.enable).
func (s *Service) UpdateUser(ctx context.Context, by Actor, id int64, c UserChange, remote string) (*User, error) {
	if err := require(by, Admin, Object{}); err != nil {
		return nil, err
	}
	u, err := s.repo.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	self := by.UserID != 0 && by.UserID == id
	role, scope := u.Role, u.Scope
	if c.Role != nil {
		if role, err = ParseRole(string(*c.Role)); err != nil {
			return nil, &FieldError{"role", err.Error()}
		}
	}
	if c.Scope != nil {
		scope = *c.Scope
		scope.Estates = slices.Clone(scope.Estates)
	}
	newRole := role != u.Role || !sameScope(scope, u.Scope)
	if newRole {
		if self {
			return nil, &FieldError{"role", "an admin may not change their own role or scope; ask another admin"}
		}
		if err := ValidateScope(role, scope); err != nil {
			return nil, err
		}
	}
	disable := c.Disabled != nil && *c.Disabled && !u.Disabled
	enable := c.Disabled != nil && !*c.Disabled && u.Disabled
	if disable && self {
		return nil, &FieldError{"disabled", "an admin may not disable their own account; ask another admin"}
	}
	obj := fmt.Sprintf("user %d", id)
	if newRole {
		if err := s.repo.SetUserRoleScope(ctx, id, role, scope); err != nil {
			return nil, fmt.Errorf("set role: %w", err)
		}
		if err := s.audit(ctx, by, "user.role", obj, remote, OutcomeOK, fmt.Sprintf("name=%s role=%s scope=%s (was role=%s scope=%s)",
			u.Name, role, scopeText(scope), u.Role, scopeText(u.Scope))); err != nil {
			return nil, err
		}
		u.Role, u.Scope = role, scope
	}
	if disable || enable {
		if err := s.repo.SetUserDisabled(ctx, id, disable); err != nil {
			return nil, fmt.Errorf("disable user: %w", err)
		}
		act := map[bool]string{true: "user.disable", false: "user.enable"}[disable]
		if err := s.audit(ctx, by, act, obj, remote, OutcomeOK, "name="+u.Name); err != nil {
			return nil, err
		}
		u.Disabled = disable
	}
	if newRole || disable {
		ns, nt, err := s.signOut(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("user %d: %w", id, err)
		}
		if err := s.audit(ctx, by, "session.revoke_all", obj, remote, OutcomeOK,
			fmt.Sprintf("ended %d sessions, revoked %d tokens", ns, nt)); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// scopeText is a scope for the audit log.
func scopeText(sc Scope) string {
	switch {
	case len(sc.Estates) > 0:
		return fmt.Sprintf("estates=%v", sc.Estates)
	case sc.Company != "":
		return "company=" + sc.Company
	case sc.Lift != "":
		return "lift=" + sc.Lift + " household=" + sc.Household
	case sc.Subdistrict != "":
		return "subdistrict=" + sc.Subdistrict
	}
	return "none"
}

// DisableUser disables account id (admins; not their own): it cannot sign
// in, and its sessions, tokens and streams end. Audited as user.disable.
func (s *Service) DisableUser(ctx context.Context, by Actor, id int64, remote string) error {
	yes := true
	_, err := s.UpdateUser(ctx, by, id, UserChange{Disabled: &yes}, remote)
	return err
}

// EnableUser enables account id again (admins). Its revoked tokens stay
// revoked. Audited as user.enable.
func (s *Service) EnableUser(ctx context.Context, by Actor, id int64, remote string) error {
	no := false
	_, err := s.UpdateUser(ctx, by, id, UserChange{Disabled: &no}, remote)
	return err
}

// SetRoleScope gives account id another role and scope (admins; not their
// own): its sessions, tokens and streams end. Audited as user.role.
func (s *Service) SetRoleScope(ctx context.Context, by Actor, id int64, role Role, scope Scope, remote string) error {
	_, err := s.UpdateUser(ctx, by, id, UserChange{Role: &role, Scope: &scope}, remote)
	return err
}
