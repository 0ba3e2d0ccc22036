package identity

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// dir is a fixed Directory for the authorisation tests.
type dir struct {
	lifts    map[string]LiftScope
	estates  map[string]string
	failLift string
}

func (d dir) LiftScope(_ context.Context, lift string) (LiftScope, error) {
	if lift == d.failLift {
		return LiftScope{}, errors.New("directory down")
	}
	ls, ok := d.lifts[lift]
	if !ok {
		return LiftScope{}, fmt.Errorf("lift %s: %w", lift, ErrNotFound)
	}
	return ls, nil
}

func (d dir) EstateSubdistrict(_ context.Context, estate string) (string, error) {
	sd, ok := d.estates[estate]
	if !ok {
		return "", fmt.Errorf("estate %s: %w", estate, ErrNotFound)
	}
	return sd, nil
}

var testDir = dir{
	lifts: map[string]LiftScope{
		"JW-0001": {Estate: "JW", Contractor: "ACME Lifts", Subdistrict: "jiangwan"},
		"JW-0002": {Estate: "JW", Contractor: "Otis", Subdistrict: "jiangwan"},
		"GY-0001": {Estate: "GY", Contractor: "Otis", Subdistrict: "quyang"},
	},
	estates:  map[string]string{"JW": "jiangwan", "YX": "jiangwan", "GY": "quyang"},
	failLift: "BROKEN",
}

var testActors = map[Role]Actor{
	RoleAdmin:       {UserID: 1, Name: "root", Role: RoleAdmin},
	RoleManager:     {UserID: 2, Name: "wang", Role: RoleManager, Scope: Scope{Estates: []string{"JW", "YX"}}},
	RoleContractor:  {UserID: 3, Name: "acme", Role: RoleContractor, Scope: Scope{Company: "ACME Lifts"}},
	RoleOwner:       {UserID: 4, Name: "li", Role: RoleOwner, Scope: Scope{Lift: "JW-0001", Household: "12-302"}},
	RoleSubdistrict: {UserID: 5, Name: "jw-office", Role: RoleSubdistrict, Scope: Scope{Subdistrict: "jiangwan"}},
}

// TestAuthorizeTable: every role × every action × an object in the actor's
// scope and one out of it. In scope the answer is the role's column of this
// table (written out here, independently of the code's permission map);
// out of scope only an admin is allowed. Columns: admin, manager,
// contractor, owner, subdistrict.
func TestAuthorizeTable(t *testing.T) {
	inScope := map[Action]string{
		ReadLift:         "YYYYY",
		ReadAlert:        "YYYNY",
		ActAlert:         "YYYNN",
		ManageSilence:    "YYNNN",
		ReadSupervision:  "YYNNY",
		ReadMaintenance:  "YYYYY",
		ReadWorkOrder:    "YYYNY",
		WriteWorkOrder:   "YNYNN",
		SignOffWorkOrder: "YYNNN",
		ReadFund:         "YYNYY",
		WriteFund:        "YYNNN",
		ReadReports:      "YYNNY",
		ReadUsers:        "YYNNN",
		Admin:            "YNNNN",
	}
	if len(inScope) != len(Actions) {
		t.Fatalf("table has %d actions, the package %d: every action needs a row", len(inScope), len(Actions))
	}
	z := Authorizer{Dir: testDir}
	ctx := context.Background()
	// JW-0001, household 12-302, is in every test actor's scope; GY-0001 in none.
	in := Object{Lift: "JW-0001", Household: "12-302"}
	out := Object{Lift: "GY-0001", Household: "3-101"}
	for _, act := range Actions {
		row, ok := inScope[act]
		if !ok {
			t.Fatalf("no row for action %s", act)
		}
		for i, role := range Roles {
			a := testActors[role]
			for _, c := range []struct {
				where string
				obj   Object
				want  bool
			}{
				{"in scope", in, row[i] == 'Y'},
				{"out of scope", out, role == RoleAdmin},
			} {
				d, err := z.Authorize(ctx, a, act, c.obj)
				if err != nil {
					t.Fatalf("%s %s %s: %v", role, act, c.where, err)
				}
				if d.Allow != c.want || d.Reason == "" {
					t.Errorf("%s %s %s: allow=%v (%s), want %v with a reason", role, act, c.where, d.Allow, d.Reason, c.want)
				}
			}
		}
	}
}

// TestAuthorizeScopeEdges: the finer points of scope: the directory is the
// truth about a lift, a contractor's scope is its lifts (not the estate),
// an owner's fund is their household's, estate-level objects, unknown
// objects, and a failing lookup is an error, not an answer.
func TestAuthorizeScopeEdges(t *testing.T) {
	z := Authorizer{Dir: testDir}
	ctx := context.Background()
	cases := []struct {
		role Role
		act  Action
		obj  Object
		want bool
	}{
		// A caller claiming the wrong estate does not widen a manager's scope.
		{RoleManager, ActAlert, Object{Lift: "GY-0001", Estate: "JW"}, false},
		{RoleManager, ReadReports, Object{Estate: "YX"}, true},
		{RoleManager, ReadReports, Object{Estate: "GY"}, false},
		{RoleManager, ReadLift, Object{}, false},
		// Same estate, another contractor's lift.
		{RoleContractor, WriteWorkOrder, Object{Lift: "JW-0002"}, false},
		{RoleContractor, ReadLift, Object{Estate: "JW"}, false},
		{RoleContractor, ActAlert, Object{Lift: "JW-0001", Contractor: "Otis"}, true},
		// An owner: another household of their lift, the lift's whole fund, another lift.
		{RoleOwner, ReadFund, Object{Lift: "JW-0001", Household: "12-402"}, false},
		{RoleOwner, ReadFund, Object{Lift: "JW-0001"}, false},
		{RoleOwner, ReadMaintenance, Object{Lift: "JW-0002"}, false},
		{RoleOwner, ReadLift, Object{Lift: "JW-0001"}, true},
		// Subdistrict: its estates, not others'.
		{RoleSubdistrict, ReadReports, Object{Estate: "YX"}, true},
		{RoleSubdistrict, ReadReports, Object{Estate: "GY"}, false},
		{RoleSubdistrict, ReadReports, Object{Subdistrict: "jiangwan"}, true},
		{RoleSubdistrict, ReadAlert, Object{Lift: "JW-0002"}, true},
		// Unknown objects and actions.
		{RoleAdmin, ReadLift, Object{Lift: "NOPE"}, false},
		{RoleManager, ReadLift, Object{Estate: "NOPE"}, false},
		{RoleAdmin, Action("launch"), Object{}, false},
		{Role("janitor"), ReadLift, Object{Lift: "JW-0001"}, false},
	}
	for _, c := range cases {
		a := testActors[c.role]
		if a.Role == "" {
			a = Actor{Name: "x", Role: c.role}
		}
		d, err := z.Authorize(ctx, a, c.act, c.obj)
		if err != nil {
			t.Fatalf("%s %s %+v: %v", c.role, c.act, c.obj, err)
		}
		if d.Allow != c.want || d.Reason == "" {
			t.Errorf("%s %s %+v: allow=%v (%s), want %v", c.role, c.act, c.obj, d.Allow, d.Reason, c.want)
		}
	}
	if _, err := z.Authorize(ctx, testActors[RoleManager], ReadLift, Object{Lift: "BROKEN"}); err == nil {
		t.Fatal("failing directory: no error")
	}
}

func TestValidateScope(t *testing.T) {
	cases := []struct {
		role  Role
		scope Scope
		field string // "" when valid
	}{
		{RoleAdmin, Scope{}, ""},
		{RoleAdmin, Scope{Estates: []string{"JW"}}, "estates"},
		{RoleManager, Scope{Estates: []string{"JW", "YX"}}, ""},
		{RoleManager, Scope{}, "estates"},
		{RoleManager, Scope{Estates: []string{"J W"}}, "estates"},
		{RoleManager, Scope{Estates: []string{"JW"}, Company: "Otis"}, "company"},
		{RoleContractor, Scope{Company: "Otis"}, ""},
		{RoleContractor, Scope{}, "company"},
		{RoleOwner, Scope{Lift: "JW-0001", Household: "12-302"}, ""},
		{RoleOwner, Scope{Lift: "JW-0001"}, "household"},
		{RoleOwner, Scope{Household: "12-302"}, "lift"},
		{RoleSubdistrict, Scope{Subdistrict: "jiangwan"}, ""},
		{RoleSubdistrict, Scope{Subdistrict: "jiangwan", Lift: "JW-0001"}, "lift"},
	}
	for _, c := range cases {
		err := ValidateScope(c.role, c.scope)
		var fe *FieldError
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s %+v: %v", c.role, c.scope, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field):
			t.Errorf("%s %+v: %v, want an error on %s", c.role, c.scope, err, c.field)
		}
	}
}
