package registry

import (
	"strings"
	"testing"
)

// The shipped directory has a duty phone for every contractor of the
// shipped fleet, so every alert card of the demo carries one.
func TestShippedContractorsCoverTheFleet(t *testing.T) {
	lifts, err := Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	c, err := JiangwanContractors()
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Missing(lifts); len(m) > 0 {
		t.Fatalf("no duty phone for %v", m)
	}
	if p := c.Phone(lifts[0].Contractor); p == "" {
		t.Fatalf("phone of %s is empty", lifts[0].Contractor)
	}
	if p := c.Phone("nobody"); p != "" {
		t.Fatalf("phone of an unknown contractor: %q", p)
	}
	var none Contractors
	if none.Phone(lifts[0].Contractor) != "" || len(none.Missing(lifts)) != 4 {
		t.Fatalf("the empty directory: phone %q, missing %v", none.Phone(lifts[0].Contractor), none.Missing(lifts))
	}
}

func TestContractorDirectoryErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[{"name":"","duty_phone":"021-1"}]`, "record 1: name is empty"},
		{`[{"name":"A","duty_phone":"call us"}]`, `record 1 (A): duty_phone "call us" is not a phone number`},
		{`[{"name":"A","duty_phone":"021-6541 2300"},{"name":"A","duty_phone":"021-6541 2301"}]`, "record 2: contractor A twice"},
		{`[{"name":"A","phone":"021-6541 2300"}]`, `unknown field "phone"`},
		{`{}`, "parse JSON"},
	} {
		_, err := ParseContractors([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.in, err, c.want)
		}
	}
	got, err := ParseContractors([]byte(`[{"name":"A","duty_phone":"+86 21 6541 2300"},{"name":"B","duty_phone":"400-820-0000"}]`))
	if err != nil || got.Phone("A") != "+86 21 6541 2300" || got.Phone("B") != "400-820-0000" {
		t.Fatalf("valid directory: %v %v", got, err)
	}
}
