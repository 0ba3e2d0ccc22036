package trusteeship

import (
	"errors"
	"testing"

	"github.com/liftwatch/liftwatch/internal/civil"
)

var d = civil.MustParse

func TestOverlapRules(t *testing.T) {
	m := func(from, to string) *Manager {
		x := &Manager{From: d(from)}
		if to != "" {
			x.To = d(to)
		}
		return x
	}
	for _, tc := range []struct {
		a, b *Manager
		want bool
	}{
		{m("2026-01-01", "2026-03-10"), m("2026-03-10", ""), false}, // To is exclusive: back to back
		{m("2026-01-01", "2026-03-11"), m("2026-03-10", ""), true},
		{m("2026-01-01", ""), m("2027-01-01", ""), true}, // open ends run on
		{m("2026-05-01", "2026-06-01"), m("2026-01-01", "2026-02-01"), false},
		{m("2026-01-01", "2026-12-31"), m("2026-05-01", "2026-06-01"), true},
	} {
		if got := managersOverlap(tc.a, tc.b); got != tc.want || managersOverlap(tc.b, tc.a) != tc.want {
			t.Errorf("managers %v %v: overlap %v, want %v", *tc.a, *tc.b, got, tc.want)
		}
	}
	c := func(s, e string) *Contract { return &Contract{Start: d(s), End: d(e)} }
	for _, tc := range []struct {
		a, b *Contract
		want bool
	}{
		{c("2026-01-01", "2026-06-30"), c("2026-07-01", "2027-06-30"), false}, // End is inclusive: back to back
		{c("2026-01-01", "2026-07-01"), c("2026-07-01", "2027-06-30"), true},
		{c("2026-01-01", "2026-01-01"), c("2026-01-01", "2026-01-01"), true},
		{c("2026-01-01", "2026-12-31"), c("2026-03-01", "2026-03-31"), true},
	} {
		if got := contractsOverlap(tc.a, tc.b); got != tc.want || contractsOverlap(tc.b, tc.a) != tc.want {
			t.Errorf("contracts %v %v: overlap %v, want %v", *tc.a, *tc.b, got, tc.want)
		}
	}
}

func TestEvaluateRule(t *testing.T) {
	p := DefaultPolicy()
	l := LiftRef{ID: "L", Estate: "e"}
	day := d("2026-03-01")
	for _, tc := range []struct {
		name string
		cs   []Contract
		kind FindingKind // "" = no finding
		left int
	}{
		{"none", nil, NoContract, 0},
		{"ended yesterday", []Contract{{Start: d("2025-03-01"), End: d("2026-02-28")}}, NoContract, 0},
		{"starts tomorrow", []Contract{{Start: d("2026-03-02"), End: d("2027-03-01")}}, NoContract, 0},
		{"ends today", []Contract{{Start: d("2025-03-02"), End: d("2026-03-01")}}, ContractExpiring, 0},
		{"30 days left", []Contract{{Start: d("2025-04-01"), End: d("2026-03-31")}}, ContractExpiring, 30},
		{"31 days left", []Contract{{Start: d("2025-04-02"), End: d("2026-04-01")}}, "", 0},
		{"renewed back to back", []Contract{{Start: d("2025-03-11"), End: d("2026-03-10")}, {Start: d("2026-03-11"), End: d("2027-03-10")}}, "", 0},
		{"renewal twice, short", []Contract{{Start: d("2025-03-11"), End: d("2026-03-10")}, {Start: d("2026-03-11"), End: d("2026-03-20")},
			{Start: d("2026-03-21"), End: d("2026-03-25")}}, ContractExpiring, 24},
		{"renewal after a gap", []Contract{{Start: d("2025-03-11"), End: d("2026-03-10")}, {Start: d("2026-03-12"), End: d("2027-03-10")}}, ContractExpiring, 9},
	} {
		f, ok := evaluate(l, day, nil, tc.cs, &p)
		if tc.kind == "" {
			if ok {
				t.Errorf("%s: finding %+v, want none", tc.name, f)
			}
			continue
		}
		if !ok || f.Kind != tc.kind || f.DaysLeft != tc.left || f.Lift != "L" || f.Estate != "e" {
			t.Errorf("%s: %+v (%v), want %s with %d days left", tc.name, f, ok, tc.kind, tc.left)
		}
	}
	p.ExpiryWarningDays = 0
	if _, ok := evaluate(l, day, nil, []Contract{{Start: d("2025-03-03"), End: d("2026-03-02")}}, &p); ok {
		t.Error("warning days 0: a contract ending tomorrow raised a finding")
	}
}

func TestValidate(t *testing.T) {
	ok := Contract{Lift: "L", Contractor: "K", Start: d("2026-01-01"), End: d("2026-12-31"), Mode: Periodic}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(c *Contract){
		"no contractor":           func(c *Contract) { c.Contractor = " " },
		"end before start":        func(c *Contract) { c.End = d("2025-12-31") },
		"bad mode":                func(c *Contract) { c.Mode = "weekly" },
		"negative price":          func(c *Contract) { c.PriceFen = -1 },
		"on demand, uninsured":    func(c *Contract) { c.Mode, c.GoodStanding = OnDemand, true },
		"on demand, bad standing": func(c *Contract) { c.Mode, c.Insured = OnDemand, true },
	} {
		c := ok
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, m := range map[string]Manager{
		"kind":    {Lift: "L", Kind: "landlord", Name: "x", From: d("2026-01-01")},
		"name":    {Lift: "L", Kind: Resident, From: d("2026-01-01")},
		"from":    {Lift: "L", Kind: Resident, Name: "x"},
		"to<from": {Lift: "L", Kind: Resident, Name: "x", From: d("2026-01-02"), To: d("2026-01-02")},
	} {
		if err := m.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("manager %s: %v", name, err)
		}
	}
	ps := Policies{Default: DefaultPolicy(), Estates: map[string]Policy{"x": {ExpiryWarningDays: -1}}}
	if err := ps.Validate(); err == nil {
		t.Error("negative warning days accepted")
	}
}
