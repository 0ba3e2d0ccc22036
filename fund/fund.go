// Package fund is the owners' maintenance fund (资金筹集, "who benefits
// pays"): the households that own each lift and their shares, an immutable
// ledger of contributions and expenses split among them to the fen, household
// statements, a low-balance notice, and the import and reconciliation of the
// supervised bank account's statements (对公监管账户). Money is integer fen.
// See docs/fund.md.
package fund

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/internal/civil"
)

// Actor is who records an entry: passed in by the caller, never read from a
// request body.
type Actor string

// Household is one owning household of a lift.
type Household struct {
	ID    int64  `json:"id"`
	Lift  string `json:"lift"`
	Unit  string `json:"unit"` // flat number, e.g. "502"; unique per lift
	Floor int    `json:"floor"`
	// Share is the household's weight in every split (an integer; the
	// fraction is Share / the sum of the lift's shares). DefaultShare gives
	// the stepped default.
	Share   int64  `json:"share"`
	Contact string `json:"contact"`
}

// MaxShare bounds a share so that sums never overflow.
const MaxShare = 1_000_000

// MaxAmountFen bounds one entry (10 million yuan).
const MaxAmountFen = 1_000_000_000

// DefaultShare is the default stepped weight of a household on floor: the
// ground floor (1) does not use the lift and pays nothing; floor 2 weighs 10
// and every floor above adds 3 (2:10, 3:13, 4:16, 5:19, 6:22, 7:25), the
// shape of the ratios by which Shanghai's retrofits are usually funded.
func DefaultShare(floor int) int64 {
	if floor <= 1 {
		return 0
	}
	return int64(10 + 3*(floor-2))
}

// Validate checks a household.
func (h *Household) Validate() error {
	switch {
	case h.Lift == "":
		return fmt.Errorf("%w: household: lift is required", ErrInvalid)
	case strings.TrimSpace(h.Unit) == "":
		return fmt.Errorf("%w: household: unit is required", ErrInvalid)
	case h.Floor < 1 || h.Floor > 99:
		return fmt.Errorf("%w: household %s: floor %d out of range 1..99", ErrInvalid, h.Unit, h.Floor)
	case h.Share < 0 || h.Share > MaxShare:
		return fmt.Errorf("%w: household %s: share %d out of range 0..%d", ErrInvalid, h.Unit, h.Share, MaxShare)
	}
	return nil
}

// Kind is what an entry does.
type Kind string

// Entry kinds.
const (
	Contribution Kind = "contribution" // money in from a household
	Expense      Kind = "expense"      // money out, split among the households by share
	Reversal     Kind = "reversal"     // cancels one earlier entry exactly
)

// Category is what an entry is for.
type Category string

// Categories.
const (
	CatContribution Category = "contribution"
	CatWorkOrder    Category = "work_order"
	CatInsurance    Category = "insurance"
	CatElectricity  Category = "electricity"
	CatInspection   Category = "inspection"
	CatMaintenance  Category = "maintenance_contract"
	CatOther        Category = "other"
)

func validExpenseCategory(c Category) bool {
	switch c {
	case CatWorkOrder, CatInsurance, CatElectricity, CatInspection, CatMaintenance, CatOther:
		return true
	}
	return false
}

// Entry is one immutable ledger entry. AmountFen is signed from the fund's
// side: positive into the fund, negative out of it; Lines split it among
// households and sum to it exactly.
type Entry struct {
	ID         int64      `json:"id"`
	Lift       string     `json:"lift"`
	Kind       Kind       `json:"kind"`
	Category   Category   `json:"category"`
	AmountFen  int64      `json:"amount_fen"`
	Date       civil.Date `json:"date"`
	RecordedAt time.Time  `json:"recorded_at"`
	Actor      Actor      `json:"actor"`
	Reason     string     `json:"reason"`
	// SourceRef makes posting idempotent: a second post with the same
	// non-empty SourceRef returns the first entry.
	SourceRef string `json:"source_ref,omitempty"`
	// BankRef is the reference the payment carries on the bank statement;
	// reconciliation matches on it.
	BankRef  string `json:"bank_ref,omitempty"`
	Reverses int64  `json:"reverses,omitempty"` // the entry a reversal cancels
	// ReversedBy is the reversal of this entry, if any (read-only, derived).
	ReversedBy int64  `json:"reversed_by,omitempty"`
	Lines      []Line `json:"lines"`
}

// Line is one household's part of an entry.
type Line struct {
	Household int64 `json:"household"`
	AmountFen int64 `json:"amount_fen"`
}

// Check verifies an entry's internal consistency before it is stored.
func (e *Entry) Check() error {
	var sum int64
	seen := map[int64]bool{}
	for _, l := range e.Lines {
		if seen[l.Household] {
			return fmt.Errorf("%w: entry splits twice to household %d", ErrInvalid, l.Household)
		}
		seen[l.Household] = true
		sum += l.AmountFen
	}
	switch {
	case e.Lift == "":
		return fmt.Errorf("%w: entry: lift is required", ErrInvalid)
	case e.Actor == "":
		return ErrNoActor
	case strings.TrimSpace(e.Reason) == "":
		return fmt.Errorf("%w: entry: a reason is required", ErrInvalid)
	case e.Date.IsZero():
		return fmt.Errorf("%w: entry: date is required", ErrInvalid)
	case e.AmountFen == 0:
		return fmt.Errorf("%w: entry: amount is zero", ErrInvalid)
	case len(e.Lines) == 0:
		return fmt.Errorf("%w: entry has no household lines", ErrInvalid)
	case sum != e.AmountFen:
		return fmt.Errorf("%w: lines sum to %d fen, entry is %d", ErrInvalid, sum, e.AmountFen)
	}
	return nil
}

// Errors callers can test with errors.Is.
var (
	ErrInvalid         = errors.New("invalid")
	ErrNoActor         = errors.New("an actor is required")
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("source reference already used for a different entry")
	ErrAlreadyReversed = errors.New("entry already reversed")
	ErrNoShares        = errors.New("lift has no households with a share")
	ErrBankConflict    = errors.New("bank transaction already imported with different content")
	ErrMalformedCSV    = errors.New("malformed bank statement")
)
