package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Action is what an actor wants to do; the set is small and typed so that a
// new endpoint has to pick one, and the table in docs/identity.md is all of it.
type Action string

// The actions.
const (
	ReadLift         Action = "read_lift"           // live status, availability, the register entry
	ReadAlert        Action = "read_alert"          // alerts and their history
	ActAlert         Action = "act_alert"           // acknowledge, dispatch, on site, resolve (call-outs)
	ManageSilence    Action = "manage_silence"      // create and end silences
	ReadSupervision  Action = "read_supervision"    // was maintenance done, on time (supervision)
	ReadMaintenance  Action = "read_maintenance"    // a lift's maintenance record
	ReadWorkOrder    Action = "read_work_order"     // work orders and checklists
	WriteWorkOrder   Action = "write_work_order"    // start, fill in and complete work orders and checklists (the contractor's side)
	SignOffWorkOrder Action = "sign_off_work_order" // accept, reject or cancel a work order (the manager's side)
	ReadFund         Action = "read_fund"           // the maintenance fund (an owner: their household's statement)
	WriteFund        Action = "write_fund"          // fund entries: calls for money, payments, expenses
	ReadReports      Action = "read_reports"        // estate and subdistrict reports
	ReadUsers        Action = "read_users"          // the accounts of one's estates (a manager), read-only
	Admin            Action = "admin"               // accounts, tokens, the audit log, settings
)

// Actions lists every action, in a stable order.
var Actions = []Action{ReadLift, ReadAlert, ActAlert, ManageSilence, ReadSupervision, ReadMaintenance,
	ReadWorkOrder, WriteWorkOrder, SignOffWorkOrder, ReadFund, WriteFund, ReadReports, ReadUsers, Admin}

// permissions is what each role may do inside its scope (an admin: anything
// anywhere). Out of scope, nothing.
var permissions = map[Role][]Action{
	RoleManager: {ReadLift, ReadAlert, ActAlert, ManageSilence, ReadSupervision, ReadMaintenance, ReadWorkOrder,
		SignOffWorkOrder, ReadFund, WriteFund, ReadReports, ReadUsers},
	RoleContractor:  {ReadLift, ReadAlert, ActAlert, ReadMaintenance, ReadWorkOrder, WriteWorkOrder},
	RoleOwner:       {ReadLift, ReadMaintenance, ReadFund},
	RoleSubdistrict: {ReadLift, ReadAlert, ReadSupervision, ReadMaintenance, ReadWorkOrder, ReadFund, ReadReports},
}

// Permits says whether role may do act anywhere at all (inside its scope):
// a route's first check, before its object is known.
func Permits(role Role, act Action) bool {
	return role == RoleAdmin || slices.Contains(permissions[role], act)
}

// Object is the scope of the thing acted on: the lift (if the object belongs
// to one), its estate, its maintenance contractor, the estate's subdistrict,
// and for fund statements the household. Authorizer.Authorize fills Estate,
// Contractor and Subdistrict from a lift id.
type Object struct {
	Lift        string
	Estate      string
	Contractor  string
	Subdistrict string
	Household   string
}

func (o Object) String() string {
	switch {
	case o.Lift != "":
		return "lift " + o.Lift
	case o.Estate != "":
		return "estate " + o.Estate
	case o.Subdistrict != "":
		return "subdistrict " + o.Subdistrict
	}
	return "no object"
}

// Decision is the answer of the authorisation function, with the reason
// (for the audit log and the 403 message).
type Decision struct {
	Allow  bool
	Reason string
	// OutOfScope: denied because the object lies outside the actor's
	// scope (another estate, company, lift or subdistrict). The API then
	// answers as for an object that does not exist, so that neither its
	// owner nor its existence leaks; other denials are a plain 403.
	OutOfScope bool
}

func allow(format string, args ...any) Decision {
	return Decision{Allow: true, Reason: fmt.Sprintf(format, args...)}
}
func deny(format string, args ...any) Decision { return Decision{Reason: fmt.Sprintf(format, args...)} }
func outside(format string, args ...any) Decision {
	return Decision{Reason: fmt.Sprintf(format, args...), OutOfScope: true}
}

// Decide says whether a may do act on obj, whose scope fields must already
// be filled (Authorizer.Authorize does that from a lift id).
func Decide(a Actor, act Action, obj Object) Decision {
	if !slices.Contains(Actions, act) {
		return deny("unknown action %q", act)
	}
	if a.Role == RoleAdmin {
		return allow("admin may do everything")
	}
	perms, ok := permissions[a.Role]
	if !ok {
		return deny("unknown role %q", a.Role)
	}
	if !slices.Contains(perms, act) {
		return deny("role %s may not %s", a.Role, act)
	}
	s := a.Scope
	switch a.Role {
	case RoleManager:
		if obj.Estate == "" {
			return deny("%s has no estate; a manager acts only on the estates they manage", obj)
		}
		if !slices.Contains(s.Estates, obj.Estate) {
			return outside("%s is in estate %s, which %s does not manage", obj, obj.Estate, a.Name)
		}
		return allow("%s manages estate %s", a.Name, obj.Estate)
	case RoleContractor:
		if obj.Lift == "" || obj.Contractor == "" {
			return deny("%s is not a lift with a contractor; a contractor acts only on its company's lifts", obj)
		}
		if obj.Contractor != s.Company {
			return outside("lift %s is maintained by %s, not %s", obj.Lift, obj.Contractor, s.Company)
		}
		return allow("%s maintains lift %s", s.Company, obj.Lift)
	case RoleOwner:
		if obj.Lift == "" || obj.Lift != s.Lift {
			return outside("%s is not %s's lift %s", obj, a.Name, s.Lift)
		}
		if act == ReadFund {
			if obj.Household != s.Household {
				return deny("an owner sees only their household's fund statement (%s), not %q", s.Household, obj.Household)
			}
			return allow("household %s of lift %s", s.Household, s.Lift)
		}
		return allow("%s's own lift %s", a.Name, s.Lift)
	case RoleSubdistrict:
		if obj.Subdistrict == "" || obj.Subdistrict != s.Subdistrict {
			return outside("%s is not in subdistrict %s", obj, s.Subdistrict)
		}
		return allow("%s is in subdistrict %s", obj, s.Subdistrict)
	}
	return deny("unknown role %q", a.Role)
}

// LiftScope is where a lift sits for authorisation.
type LiftScope struct {
	Estate      string
	Contractor  string
	Subdistrict string
}

// Directory resolves objects' scopes: a lift's estate, contractor and
// subdistrict, an estate's subdistrict. It returns an error wrapping
// ErrNotFound for an unknown lift or estate.
type Directory interface {
	LiftScope(ctx context.Context, lift string) (LiftScope, error)
	EstateSubdistrict(ctx context.Context, estate string) (string, error)
}

// Authorizer is Decide with the object's scope looked up.
type Authorizer struct {
	Dir Directory
}

// Authorize fills obj's scope from its lift (or its estate's subdistrict)
// and decides. An unknown lift or estate is a denial, not an error; only a
// failing lookup is an error.
func (z Authorizer) Authorize(ctx context.Context, a Actor, act Action, obj Object) (Decision, error) {
	if obj.Lift != "" {
		ls, err := z.Dir.LiftScope(ctx, obj.Lift)
		if errors.Is(err, ErrNotFound) {
			return deny("unknown lift %s", obj.Lift), nil
		}
		if err != nil {
			return Decision{}, fmt.Errorf("scope of lift %s: %w", obj.Lift, err)
		}
		// The directory is the truth; never what the caller guessed.
		obj.Estate, obj.Contractor, obj.Subdistrict = ls.Estate, ls.Contractor, ls.Subdistrict
	} else if obj.Estate != "" {
		sd, err := z.Dir.EstateSubdistrict(ctx, obj.Estate)
		if errors.Is(err, ErrNotFound) {
			return deny("unknown estate %s", obj.Estate), nil
		}
		if err != nil {
			return Decision{}, fmt.Errorf("subdistrict of estate %s: %w", obj.Estate, err)
		}
		obj.Subdistrict, obj.Contractor = sd, ""
	}
	return Decide(a, act, obj), nil
}
