package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Role is what kind of user an account is; its Scope says over what.
type Role string

// The roles. See docs/identity.md for the table of what each may do.
const (
	RoleAdmin       Role = "admin"       // everything
	RoleManager     Role = "manager"     // the estates they manage
	RoleContractor  Role = "contractor"  // its company's lifts
	RoleOwner       Role = "owner"       // their own lift and household, read-only
	RoleSubdistrict Role = "subdistrict" // every estate of the subdistrict, read-only
)

// Roles lists every role, in a stable order.
var Roles = []Role{RoleAdmin, RoleManager, RoleContractor, RoleOwner, RoleSubdistrict}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want admin, manager, contractor, owner or subdistrict)", s)
}

// Scope is the part of the world a user's role applies to, as data. Which
// fields matter depends on the role: a manager's Estates, a contractor's
// Company (as the register names it in a lift's contractor), an owner's Lift
// and Household, a subdistrict's Subdistrict. An admin has no scope.
type Scope struct {
	Estates     []string `json:"estates,omitempty"`
	Company     string   `json:"company,omitempty"`
	Lift        string   `json:"lift,omitempty"`
	Household   string   `json:"household,omitempty"`
	Subdistrict string   `json:"subdistrict,omitempty"`
}

// FieldError is invalid input naming the field at fault (the CLI maps it to
// its flag, the API to its request field).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ValidateScope checks that scope gives role what it needs and nothing that
// belongs to another role, so a scope can never be read two ways.
func ValidateScope(role Role, s Scope) error {
	need := map[Role]string{RoleManager: "estates", RoleContractor: "company", RoleOwner: "lift", RoleSubdistrict: "subdistrict"}
	set := map[string]bool{
		"estates": len(s.Estates) > 0, "company": s.Company != "", "lift": s.Lift != "",
		"household": s.Household != "", "subdistrict": s.Subdistrict != "",
	}
	for _, e := range s.Estates {
		if strings.TrimSpace(e) == "" || strings.ContainsAny(e, " ,") {
			return &FieldError{"estates", fmt.Sprintf("estate slug %q must be non-empty without spaces or commas", e)}
		}
	}
	allowed := map[string]bool{need[role]: true}
	if role == RoleOwner {
		allowed["household"] = true
		if !set["household"] {
			return &FieldError{"household", "an owner needs the household (e.g. 12-302) whose fund statement they see"}
		}
	}
	if f := need[role]; f != "" && !set[f] {
		return &FieldError{f, fmt.Sprintf("a %s needs %s in their scope", role, f)}
	}
	for _, f := range []string{"estates", "company", "lift", "household", "subdistrict"} {
		if set[f] && !allowed[f] {
			return &FieldError{f, fmt.Sprintf("a %s's scope has no %s", role, f)}
		}
	}
	return nil
}

// Via is how a request authenticated.
type Via string

const (
	ViaSession Via = "session" // browser session cookie: subject to CSRF checks
	ViaToken   Via = "token"   // API bearer token: not subject to CSRF
	ViaSystem  Via = "system"  // in-process (CLI, demo seeding)
)

// Actor is who does something: the authenticated user, their role and scope.
type Actor struct {
	UserID int64  `json:"id"`
	Name   string `json:"name"`
	Role   Role   `json:"role"`
	Scope  Scope  `json:"scope"`
	Via    Via    `json:"-"`
	// Cred is the hex SHA-256 of the session id or API token that
	// authenticated the actor (empty for System): streams watch it
	// (Service.Watch) and end when it is revoked.
	Cred string `json:"-"`
}

// System is the actor of in-process administration (the CLI, demo seeding):
// an admin with no account.
func System(name string) Actor { return Actor{Name: "system:" + name, Role: RoleAdmin, Via: ViaSystem} }

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor the middleware authenticated, if any.
func ActorFrom(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}
