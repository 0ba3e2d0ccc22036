package app

import (
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/registry"
)

// liftPlace tells the notifiers where a lift is, from the register.
func liftPlace(ix *registry.Index) func(lift string) (notify.Place, bool) {
	return func(lift string) (notify.Place, bool) {
		l, ok := ix.Get(lift)
		if !ok {
			return notify.Place{}, false
		}
		return notify.Place{Address: l.Address, EstateName: l.EstateName, Unit: l.Building + l.Unit}, true
	}
}

// dutyPhone is the duty phone of a lift's contractor from the contractor
// directory ("" if the lift or the phone is unknown). The on-call roster,
// once it knows who is on duty, is the better source.
func dutyPhone(ix *registry.Index, c registry.Contractors) func(lift string) string {
	return func(lift string) string {
		l, ok := ix.Get(lift)
		if !ok {
			return ""
		}
		return c.Phone(l.Contractor)
	}
}
