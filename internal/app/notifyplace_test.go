package app

import (
	"testing"

	"github.com/liftwatch/liftwatch/registry"
)

// TestNotifyPlaceAndDutyPhone: Alertmanager's annotations get the lift's
// address and unit from the register and its contractor's duty phone from
// the contractor directory; an unknown lift gets none.
func TestNotifyPlaceAndDutyPhone(t *testing.T) {
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := registry.JiangwanContractors()
	if err != nil {
		t.Fatal(err)
	}
	ix := registry.NewIndex(fleet)
	l := fleet[0]
	p, ok := liftPlace(ix)(l.ID)
	if !ok || p.Address != l.Address || p.Unit != l.Building+l.Unit || p.EstateName != l.EstateName || p.Address == "" || p.Unit == "" {
		t.Errorf("place of %s: %+v, want %s, %s%s, %s", l.ID, p, l.Address, l.Building, l.Unit, l.EstateName)
	}
	if got := dutyPhone(ix, dir)(l.ID); got == "" || got != dir.Phone(l.Contractor) {
		t.Errorf("duty phone of %s (contractor %s): %q, want %q", l.ID, l.Contractor, got, dir.Phone(l.Contractor))
	}
	if _, ok := liftPlace(ix)("NO-SUCH"); ok {
		t.Error("a place for a lift not in the register")
	}
	if got := dutyPhone(ix, dir)("NO-SUCH"); got != "" {
		t.Errorf("duty phone %q for a lift not in the register", got)
	}
}
