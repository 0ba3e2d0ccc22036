package fund

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/liftwatch/liftwatch/internal/civil"
)

// Store persists households, the ledger and bank statements. The ledger is
// append-only: there is no update or delete of an entry.
type Store interface {
	// SaveHouseholds inserts or updates households by (lift, unit) and sets
	// their IDs.
	SaveHouseholds(ctx context.Context, hs []Household) error
	Households(ctx context.Context, lift string) ([]Household, error)
	Household(ctx context.Context, id int64) (*Household, error)
	// InsertEntry stores e and its lines atomically and sets e.ID. If
	// e.SourceRef is already used on e's lift it stores nothing and returns that entry
	// with created false; if e reverses an entry already reversed it returns
	// ErrAlreadyReversed.
	InsertEntry(ctx context.Context, e *Entry) (existing *Entry, created bool, err error)
	Entry(ctx context.Context, id int64) (*Entry, error)
	// Entries returns a lift's entries dated from..to inclusive (a zero
	// bound is open), by date then id, with lines and ReversedBy.
	Entries(ctx context.Context, lift string, from, to civil.Date) ([]Entry, error)
	// HouseholdLines returns the entries touching a household dated up to
	// to inclusive (zero = all), by date then id, each with only that
	// household's line.
	HouseholdLines(ctx context.Context, household int64, to civil.Date) ([]Entry, error)
	// ImportBank stores an import and its lines atomically (see
	// Service.ImportBankStatement for the rules).
	ImportBank(ctx context.Context, imp *BankImport, lines []BankLine) (ImportResult, error)
	BankLines(ctx context.Context, lift string, from, to civil.Date) ([]BankLine, error)
}

// Service applies the fund's rules over a Store.
type Service struct {
	store    Store
	now      func() time.Time
	policies Policies
	sources  Sources // nil: references are not checked
	// handOver is a lift's hand-over date, the earliest date its ledger
	// and bank lines may carry (nil or false: not checked).
	handOver func(lift string) (civil.Date, bool)
}

// CheckDates makes every entry and bank line be dated plausibly: not
// before the lift's hand-over (handOver; a lift it does not know is not
// bounded below), and not later than tomorrow on the service's clock.
func (s *Service) CheckDates(handOver func(lift string) (civil.Date, bool)) { s.handOver = handOver }

// plausible checks d for lift (see CheckDates); what names the date.
func (s *Service) plausible(lift string, d civil.Date, what string) error {
	if s.handOver == nil {
		return nil
	}
	if from, ok := s.handOver(lift); ok && d.Before(from) {
		return fmt.Errorf("%w: date: %s %s is before lift %s's hand-over on %s", ErrInvalid, what, d, lift, from)
	}
	if latest := civil.Of(s.now()).AddDays(1); d.After(latest) {
		return fmt.Errorf("%w: date: %s %s is in the future (latest %s)", ErrInvalid, what, d, latest)
	}
	return nil
}

// NewService returns a service; now is the clock.
func NewService(s Store, now func() time.Time, policies Policies) *Service {
	return &Service{store: s, now: now, policies: policies}
}

// Sources checks an expense against what its source reference names: a
// work order's cost must be that order's, on its own lift, once it is
// signed. A refusal is an error wrapping ErrInvalid that says why;
// categories it cannot check pass.
type Sources interface {
	Check(ctx context.Context, lift string, ref SourceRef, amountFen int64) error
}

// CheckSources makes every expense's reference be checked by src: an
// expense for another lift's work order is refused as invalid.
func (s *Service) CheckSources(src Sources) { s.sources = src }

// SaveHouseholds records (or updates, by unit) the owning households of
// their lifts. Entries already posted keep the split they were posted with.
func (s *Service) SaveHouseholds(ctx context.Context, actor Actor, hs []Household) error {
	if actor == "" {
		return ErrNoActor
	}
	for i := range hs {
		if err := hs[i].Validate(); err != nil {
			return err
		}
	}
	return s.store.SaveHouseholds(ctx, hs)
}

// Households returns a lift's households.
func (s *Service) Households(ctx context.Context, lift string) ([]Household, error) {
	return s.store.Households(ctx, lift)
}

// ContributionInput is money paid in by one household.
type ContributionInput struct {
	Lift      string
	Unit      string // the paying household
	AmountFen int64  // > 0
	Date      civil.Date
	Reason    string
	BankRef   string // reference on the bank statement
	SourceRef string // optional idempotency key
}

// PostContribution records a household's payment into the fund.
func (s *Service) PostContribution(ctx context.Context, actor Actor, c ContributionInput) (*Entry, error) {
	if c.AmountFen <= 0 || c.AmountFen > MaxAmountFen {
		return nil, fmt.Errorf("%w: contribution of %d fen: want 1..%d", ErrInvalid, c.AmountFen, MaxAmountFen)
	}
	if err := s.plausible(c.Lift, c.Date, "the contribution's date"); err != nil {
		return nil, err
	}
	hs, err := s.store.Households(ctx, c.Lift)
	if err != nil {
		return nil, err
	}
	var hh *Household
	for i := range hs {
		if hs[i].Unit == c.Unit {
			hh = &hs[i]
		}
	}
	if hh == nil {
		return nil, fmt.Errorf("household %s of lift %s: %w", c.Unit, c.Lift, ErrNotFound)
	}
	e := &Entry{Lift: c.Lift, Kind: Contribution, Category: CatContribution, AmountFen: c.AmountFen, Date: c.Date,
		RecordedAt: s.now(), Actor: actor, Reason: c.Reason, SourceRef: c.SourceRef, BankRef: c.BankRef,
		Lines: []Line{{Household: hh.ID, AmountFen: c.AmountFen}}}
	return s.post(ctx, e)
}

// SourceRef names what an expense pays for (a work order, an invoice); it
// makes posting idempotent.
type SourceRef struct {
	Category Category // work_order, insurance, electricity, inspection, maintenance_contract, other
	ID       string   // unique within the category, e.g. the work order number
}

func (r SourceRef) String() string { return string(r.Category) + ":" + r.ID }

// PostExpense records an expense of amountFen paid today out of the lift's
// fund, split among its households by share (see Split). It is idempotent on
// ref: posting the same ref again returns the first entry and records
// nothing; the same ref with a different lift or amount is ErrConflict. The
// bank reference of the payment is ref.ID.
func (s *Service) PostExpense(ctx context.Context, actor Actor, lift string, ref SourceRef, amountFen int64, reason string) (*Entry, error) {
	return s.PostExpenseOn(ctx, actor, ExpenseInput{Lift: lift, Ref: ref, AmountFen: amountFen, Date: civil.Of(s.now()),
		Reason: reason, BankRef: ref.ID})
}

// ExpenseInput is an expense with its date and bank reference given.
type ExpenseInput struct {
	Lift      string
	Ref       SourceRef
	AmountFen int64 // > 0, paid out
	Date      civil.Date
	Reason    string
	BankRef   string
}

// PostExpenseOn is PostExpense with the date and bank reference given.
func (s *Service) PostExpenseOn(ctx context.Context, actor Actor, in ExpenseInput) (*Entry, error) {
	switch {
	case !validExpenseCategory(in.Ref.Category):
		return nil, fmt.Errorf("%w: expense category %q", ErrInvalid, in.Ref.Category)
	case in.Ref.ID == "":
		return nil, fmt.Errorf("%w: expense: source reference id is required", ErrInvalid)
	case in.AmountFen <= 0 || in.AmountFen > MaxAmountFen:
		return nil, fmt.Errorf("%w: expense of %d fen: want 1..%d", ErrInvalid, in.AmountFen, MaxAmountFen)
	}
	if err := s.plausible(in.Lift, in.Date, "the expense's date"); err != nil {
		return nil, err
	}
	if s.sources != nil {
		if err := s.sources.Check(ctx, in.Lift, in.Ref, in.AmountFen); err != nil {
			return nil, err
		}
	}
	hs, err := s.store.Households(ctx, in.Lift)
	if err != nil {
		return nil, err
	}
	parts, err := Split(in.AmountFen, hs)
	if err != nil {
		return nil, fmt.Errorf("expense for lift %s: %w", in.Lift, err)
	}
	e := &Entry{Lift: in.Lift, Kind: Expense, Category: in.Ref.Category, AmountFen: -in.AmountFen, Date: in.Date,
		RecordedAt: s.now(), Actor: actor, Reason: in.Reason, SourceRef: in.Ref.String(), BankRef: in.BankRef}
	for i, p := range parts {
		if p != 0 {
			e.Lines = append(e.Lines, Line{Household: hs[i].ID, AmountFen: -p})
		}
	}
	return s.post(ctx, e)
}

func (s *Service) post(ctx context.Context, e *Entry) (*Entry, error) {
	if err := e.Check(); err != nil {
		return nil, err
	}
	existing, created, err := s.store.InsertEntry(ctx, e)
	if err != nil {
		return nil, err
	}
	if created {
		return e, nil
	}
	if existing.AmountFen != e.AmountFen || existing.Kind != e.Kind {
		// References are unique per lift: the entry named is of the
		// caller's own lift, never another estate's.
		return nil, fmt.Errorf("%w: %s is entry %d of this lift (%s, %d fen)", ErrConflict, e.SourceRef, existing.ID,
			existing.Kind, existing.AmountFen)
	}
	return existing, nil
}

// Reverse records the correction of entry id: a reversal entry with the
// opposite amount and lines, dated today, referencing the original. An entry
// is reversed at most once, and a reversal is not itself reversed (post the
// right entry instead).
func (s *Service) Reverse(ctx context.Context, actor Actor, id int64, reason string) (*Entry, error) {
	orig, err := s.store.Entry(ctx, id)
	if err != nil {
		return nil, err
	}
	if orig.Kind == Reversal {
		return nil, fmt.Errorf("%w: entry %d is a reversal; post a new entry instead", ErrInvalid, id)
	}
	if orig.ReversedBy != 0 {
		return nil, fmt.Errorf("entry %d by %d: %w", id, orig.ReversedBy, ErrAlreadyReversed)
	}
	e := &Entry{Lift: orig.Lift, Kind: Reversal, Category: orig.Category, AmountFen: -orig.AmountFen, Date: civil.Of(s.now()),
		RecordedAt: s.now(), Actor: actor, Reason: reason, BankRef: orig.BankRef, Reverses: orig.ID}
	for _, l := range orig.Lines {
		e.Lines = append(e.Lines, Line{Household: l.Household, AmountFen: -l.AmountFen})
	}
	return s.post(ctx, e)
}

// Balance is a lift's fund balance at the end of day d.
func (s *Service) Balance(ctx context.Context, lift string, d civil.Date) (int64, error) {
	es, err := s.store.Entries(ctx, lift, civil.Date{}, d)
	if err != nil {
		return 0, err
	}
	var b int64
	for _, e := range es {
		b += e.AmountFen
	}
	return b, nil
}

// StatementLine is one entry on a household's statement.
type StatementLine struct {
	Entry      int64      `json:"entry"`
	Date       civil.Date `json:"date"`
	Kind       Kind       `json:"kind"`
	Category   Category   `json:"category"`
	Reason     string     `json:"reason"`
	Reference  string     `json:"reference"`
	AmountFen  int64      `json:"amount_fen"`  // the household's part, signed
	BalanceFen int64      `json:"balance_fen"` // running balance after it
}

// Statement is a household's account for the days From..To inclusive.
type Statement struct {
	Household  Household       `json:"household"`
	From       civil.Date      `json:"from"`
	To         civil.Date      `json:"to"`
	OpeningFen int64           `json:"opening_fen"` // balance at the end of the day before From
	Lines      []StatementLine `json:"lines"`
	InFen      int64           `json:"in_fen"`  // sum of positive lines
	OutFen     int64           `json:"out_fen"` // sum of negative lines (≤ 0)
	ClosingFen int64           `json:"closing_fen"`
}

// Check verifies that the statement balances to the fen.
func (st *Statement) Check() error {
	bal, in, out := st.OpeningFen, int64(0), int64(0)
	for _, l := range st.Lines {
		bal += l.AmountFen
		if l.AmountFen > 0 {
			in += l.AmountFen
		} else {
			out += l.AmountFen
		}
		if l.BalanceFen != bal {
			return fmt.Errorf("statement line of entry %d: balance %d, running sum %d", l.Entry, l.BalanceFen, bal)
		}
	}
	if in != st.InFen || out != st.OutFen || st.OpeningFen+in+out != st.ClosingFen || bal != st.ClosingFen {
		return fmt.Errorf("statement does not balance: %d + %d + %d != %d", st.OpeningFen, in, out, st.ClosingFen)
	}
	return nil
}

// Statement returns household id's statement for from..to inclusive.
func (s *Service) Statement(ctx context.Context, household int64, from, to civil.Date) (*Statement, error) {
	if from.IsZero() || to.IsZero() || to.Before(from) {
		return nil, fmt.Errorf("%w: statement period %s..%s", ErrInvalid, from, to)
	}
	hh, err := s.store.Household(ctx, household)
	if err != nil {
		return nil, err
	}
	es, err := s.store.HouseholdLines(ctx, household, to)
	if err != nil {
		return nil, err
	}
	st := &Statement{Household: *hh, From: from, To: to}
	for _, e := range es {
		amt := e.Lines[0].AmountFen
		if e.Date.Before(from) {
			st.OpeningFen += amt
			continue
		}
		ref := e.BankRef
		if ref == "" {
			ref = e.SourceRef
		}
		if amt > 0 {
			st.InFen += amt
		} else {
			st.OutFen += amt
		}
		st.Lines = append(st.Lines, StatementLine{Entry: e.ID, Date: e.Date, Kind: e.Kind, Category: e.Category, Reason: e.Reason,
			Reference: ref, AmountFen: amt, BalanceFen: st.OpeningFen + st.InFen + st.OutFen})
	}
	st.ClosingFen = st.OpeningFen + st.InFen + st.OutFen
	return st, st.Check()
}

// LiftRef names a lift and its estate (whose policy applies).
type LiftRef struct {
	ID     string
	Estate string
}

// Notice is a low-balance notice for a lift's manager.
type Notice struct {
	Lift           string     `json:"lift"`
	Estate         string     `json:"estate"`
	On             civil.Date `json:"on"`
	BalanceFen     int64      `json:"balance_fen"`
	MonthlyCostFen int64      `json:"monthly_cost_fen"` // expected, from the last 12 months
	Months         int        `json:"months"`
	ThresholdFen   int64      `json:"threshold_fen"` // Months × MonthlyCostFen
}

// Notifier delivers low-balance notices to the lift's manager.
type Notifier interface {
	LowBalance(ctx context.Context, n Notice) error
}

// ExpectedMonthlyCost is the net expenses (expenses less their reversals)
// dated in the 12 months ending on day d, divided by 12, rounded up.
func ExpectedMonthlyCost(entries []Entry, d civil.Date) int64 {
	start := d.AddMonths(-12) // exclusive
	var out int64
	for _, e := range entries {
		if e.Category == CatContribution { // contributions and their reversals
			continue
		}
		if !e.Date.After(start) || e.Date.After(d) {
			continue
		}
		out -= e.AmountFen // expenses are negative; their reversals positive
	}
	if out <= 0 {
		return 0
	}
	return (out + 11) / 12
}

// CheckBalances checks every lift at instant at: a balance below its
// estate's LowBalanceMonths of expected monthly cost gives one notice, to
// the notifier (if not nil) and returned. Notifier errors do not stop the
// check; they are returned joined.
func (s *Service) CheckBalances(ctx context.Context, at time.Time, lifts []LiftRef, n Notifier) ([]Notice, error) {
	day := civil.Of(at)
	var out []Notice
	var errs []error
	for _, l := range lifts {
		es, err := s.store.Entries(ctx, l.ID, civil.Date{}, day)
		if err != nil {
			return out, err
		}
		var bal int64
		for _, e := range es {
			bal += e.AmountFen
		}
		p := s.policies.For(l.Estate)
		monthly := ExpectedMonthlyCost(es, day)
		threshold := monthly * int64(p.LowBalanceMonths)
		if bal >= threshold {
			continue
		}
		nt := Notice{Lift: l.ID, Estate: l.Estate, On: day, BalanceFen: bal, MonthlyCostFen: monthly, Months: p.LowBalanceMonths,
			ThresholdFen: threshold}
		out = append(out, nt)
		if n != nil {
			if err := n.LowBalance(ctx, nt); err != nil {
				errs = append(errs, fmt.Errorf("lift %s: %w", l.ID, err))
			}
		}
	}
	return out, errors.Join(errs...)
}
