// Package trusteeship is property trusteeship (物业托管): per lift, who manages
// it (使用管理单位) and under which maintenance contract, with the history of
// both, so that "who was responsible on 3 March" has one answer, and every
// change audited. Evaluate finds lifts without a valid contract, or whose
// cover ends soon, and reports them to their manager. See docs/trusteeship.md.
package trusteeship

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/internal/civil"
)

// Actor is who performs a change: passed in by the caller (the identity of
// the request), never read from a request body.
type Actor string

// ManagerKind is the kind of party managing a lift.
type ManagerKind string

// The managing parties the domain knows.
const (
	PropertyCompany ManagerKind = "property_company" // the estate's property company
	Insurer         ManagerKind = "insurer"          // "insurance + service"
	Resident        ManagerKind = "resident"         // a named resident
)

// Manager is one period of a lift's managing party. From is the first day;
// To is the first day it no longer applies (exclusive); a zero To is open.
type Manager struct {
	ID      int64       `json:"id"`
	Lift    string      `json:"lift"`
	Kind    ManagerKind `json:"kind"`
	Name    string      `json:"name"`
	Contact string      `json:"contact"`
	From    civil.Date  `json:"from"`
	To      civil.Date  `json:"to"`
}

// On reports whether the period covers day d.
func (m *Manager) On(d civil.Date) bool {
	return !d.Before(m.From) && (m.To.IsZero() || d.Before(m.To))
}

// Mode is how a contract schedules maintenance.
type Mode string

// Maintenance modes.
const (
	Periodic Mode = "periodic"  // the fixed TSG T5002 cycle (every 15 days …)
	OnDemand Mode = "on_demand" // 按需维保: interval by usage and health
)

// Contract is one maintenance contract of a lift. Start and End are the first
// and the last day of cover, both inclusive, as contracts state them.
type Contract struct {
	ID         int64      `json:"id"`
	Lift       string     `json:"lift"`
	Contractor string     `json:"contractor"`
	Start      civil.Date `json:"start"`
	End        civil.Date `json:"end"`
	Mode       Mode       `json:"mode"`
	PriceFen   int64      `json:"price_fen"` // contract price for the whole term, in fen
	// GoodStanding: the contractor is rated good (on-demand maintenance
	// requires it, with Insured and IoT monitoring).
	GoodStanding bool `json:"good_standing"`
	Insured      bool `json:"insured"` // the lift is insured
}

// On reports whether the contract covers day d.
func (c *Contract) On(d civil.Date) bool { return !d.Before(c.Start) && !d.After(c.End) }

// QualifiesForOnDemand reports whether the contract side of the on-demand
// qualification holds (good-standing contractor, insured lift); the IoT side
// is the monitoring itself.
func (c *Contract) QualifiesForOnDemand() bool { return c.GoodStanding && c.Insured }

// AuditRecord is one audited change.
type AuditRecord struct {
	ID      int64     `json:"id"`
	Lift    string    `json:"lift"`
	At      time.Time `json:"at"`
	Actor   Actor     `json:"actor"`
	Action  string    `json:"action"`  // manager.set, contract.add, contract.revise
	Subject string    `json:"subject"` // "manager" or "contract"
	// Before and After are the JSON of the record before and after the
	// change; Before is empty for a creation.
	Before string `json:"before"`
	After  string `json:"after"`
}

// Errors callers can test with errors.Is.
var (
	ErrOverlap  = errors.New("period overlaps another period of the same lift")
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrNoActor  = errors.New("an actor is required")
)

// Validate checks a manager period.
func (m *Manager) Validate() error {
	switch {
	case m.Lift == "":
		return fmt.Errorf("%w: manager: lift is required", ErrInvalid)
	case m.Kind != PropertyCompany && m.Kind != Insurer && m.Kind != Resident:
		return fmt.Errorf("%w: manager kind %q: want property_company, insurer or resident", ErrInvalid, m.Kind)
	case strings.TrimSpace(m.Name) == "":
		return fmt.Errorf("%w: manager name is required", ErrInvalid)
	case m.From.IsZero():
		return fmt.Errorf("%w: manager: from date is required", ErrInvalid)
	case !m.To.IsZero() && !m.From.Before(m.To):
		return fmt.Errorf("%w: manager: to %s must be after from %s", ErrInvalid, m.To, m.From)
	}
	return nil
}

// Validate checks a contract.
func (c *Contract) Validate() error {
	switch {
	case c.Lift == "":
		return fmt.Errorf("%w: contract: lift is required", ErrInvalid)
	case strings.TrimSpace(c.Contractor) == "":
		return fmt.Errorf("%w: contract: contractor is required", ErrInvalid)
	case c.Start.IsZero() || c.End.IsZero():
		return fmt.Errorf("%w: contract: start and end dates are required", ErrInvalid)
	case c.End.Before(c.Start):
		return fmt.Errorf("%w: contract: end %s is before start %s", ErrInvalid, c.End, c.Start)
	case c.Mode != Periodic && c.Mode != OnDemand:
		return fmt.Errorf("%w: contract mode %q: want periodic or on_demand", ErrInvalid, c.Mode)
	case c.PriceFen < 0:
		return fmt.Errorf("%w: contract price %d fen is negative", ErrInvalid, c.PriceFen)
	case c.Mode == OnDemand && !c.QualifiesForOnDemand():
		return fmt.Errorf("%w: on-demand maintenance needs a contractor in good standing and an insured lift", ErrInvalid)
	}
	return nil
}

// managersOverlap reports whether two manager periods share a day.
func managersOverlap(a, b *Manager) bool {
	aEndsFirst := !a.To.IsZero() && !a.To.After(b.From)
	bEndsFirst := !b.To.IsZero() && !b.To.After(a.From)
	return !aEndsFirst && !bEndsFirst
}

// contractsOverlap reports whether two contracts share a day.
func contractsOverlap(a, b *Contract) bool {
	return !a.End.Before(b.Start) && !b.End.Before(a.Start)
}
