// Package registry is the register of lifts: what each lift is, where it
// hangs, who manages and who maintains it. Telemetry from a lift that is not
// registered is rejected.
package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Lift is one registered lift.
type Lift struct {
	ID              string  `json:"id"`               // contract lift ID, the MQTT topic level
	RegCode         string  `json:"reg_code"`         // 20-digit special-equipment registration code
	Estate          string  `json:"estate"`           // estate slug, the InfluxDB tag (bounded set)
	EstateName      string  `json:"estate_name"`      // 小区 name as residents know it
	Building        string  `json:"building"`         // building number, e.g. "12号"
	Unit            string  `json:"unit"`             // stairwell unit, e.g. "2单元"
	Address         string  `json:"address"`          // street address
	Landings        int     `json:"landings"`         // landings numbered 1..Landings
	HalfLandings    []int   `json:"half_landings"`    // which of those numbers are half-landings (半层)
	RatedSpeed      float64 `json:"rated_speed"`      // m/s
	InstallDate     string  `json:"install_date"`     // YYYY-MM-DD
	PropertyManager string  `json:"property_manager"` // the appointed manager (物业托管)
	Contractor      string  `json:"contractor"`       // maintenance contractor (维保单位)
	// CertExpiry is the expiry date (YYYY-MM-DD) of the lift's inspection
	// certificate (定期检验合格证, TSG T7001: renewed by a periodic
	// inspection); "" unknown: no inspection planning for the lift.
	CertExpiry string `json:"cert_expiry"`
}

// Validate checks one lift record and says precisely what is wrong.
func (l *Lift) Validate() error {
	switch {
	case !telemetry.ValidLiftID(l.ID):
		return fmt.Errorf("lift %q: id must be 1-64 of A-Z a-z 0-9 _ . - starting with a letter or digit", l.ID)
	case l.Estate == "" || strings.ContainsAny(l.Estate, " ,=\n"):
		return fmt.Errorf("lift %s: estate slug %q must be non-empty without spaces, commas or '='", l.ID, l.Estate)
	case l.Landings < 2 || l.Landings > telemetry.MaxFloor:
		return fmt.Errorf("lift %s: landings %d out of range 2..%d", l.ID, l.Landings, telemetry.MaxFloor)
	case l.RatedSpeed <= 0 || l.RatedSpeed > 10:
		return fmt.Errorf("lift %s: rated_speed %g m/s out of range (0, 10]", l.ID, l.RatedSpeed)
	}
	for _, h := range l.HalfLandings {
		if h < 1 || h > l.Landings {
			return fmt.Errorf("lift %s: half landing %d is not one of 1..%d", l.ID, h, l.Landings)
		}
	}
	if l.InstallDate != "" {
		if _, err := time.Parse(time.DateOnly, l.InstallDate); err != nil {
			return fmt.Errorf("lift %s: install_date %q is not YYYY-MM-DD", l.ID, l.InstallDate)
		}
	}
	if l.CertExpiry != "" {
		if _, err := time.Parse(time.DateOnly, l.CertExpiry); err != nil {
			return fmt.Errorf("lift %s: cert_expiry %q is not YYYY-MM-DD", l.ID, l.CertExpiry)
		}
	}
	return nil
}

// ValidateAll validates every lift and rejects duplicate IDs.
func ValidateAll(lifts []Lift) error {
	seen := make(map[string]bool, len(lifts))
	for i := range lifts {
		if err := lifts[i].Validate(); err != nil {
			return fmt.Errorf("record %d: %w", i+1, err)
		}
		if seen[lifts[i].ID] {
			return fmt.Errorf("record %d: duplicate lift id %s", i+1, lifts[i].ID)
		}
		seen[lifts[i].ID] = true
	}
	return nil
}

// Index is an immutable lookup of lifts by ID, safe for concurrent reads.
type Index struct {
	byID  map[string]*Lift
	lifts []Lift
}

// NewIndex indexes lifts, sorted by ID.
func NewIndex(lifts []Lift) *Index {
	ix := &Index{byID: make(map[string]*Lift, len(lifts)), lifts: slices.Clone(lifts)}
	slices.SortFunc(ix.lifts, func(a, b Lift) int { return strings.Compare(a.ID, b.ID) })
	for i := range ix.lifts {
		ix.byID[ix.lifts[i].ID] = &ix.lifts[i]
	}
	return ix
}

// Get returns the lift with id.
func (ix *Index) Get(id string) (*Lift, bool) { l, ok := ix.byID[id]; return l, ok }

// Lifts returns all lifts sorted by ID; the caller must not modify them.
func (ix *Index) Lifts() []Lift { return ix.lifts }

// Len is the number of lifts.
func (ix *Index) Len() int { return len(ix.lifts) }

// Store persists the register.
type Store interface {
	UpsertLifts(ctx context.Context, lifts []Lift) error
	ListLifts(ctx context.Context) ([]Lift, error)
}

// Import validates lifts and writes them to the store.
func Import(ctx context.Context, s Store, lifts []Lift) error {
	if err := ValidateAll(lifts); err != nil {
		return err
	}
	if err := s.UpsertLifts(ctx, lifts); err != nil {
		return fmt.Errorf("import %d lifts: %w", len(lifts), err)
	}
	return nil
}

// Estate returns the estate of a lift; ok is false for an unknown lift.
func (ix *Index) Estate(id string) (string, bool) {
	if l, ok := ix.byID[id]; ok {
		return l.Estate, true
	}
	return "", false
}
