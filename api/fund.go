package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/civil"
)

// FundReader reads the owners' fund: households, the ledger, statements,
// reconciliation.
type FundReader interface {
	Households(ctx context.Context, lift string) ([]fund.Household, error)
	Household(ctx context.Context, id int64) (*fund.Household, error)
	Entry(ctx context.Context, id int64) (*fund.Entry, error)
	Entries(ctx context.Context, lift string, from, to civil.Date) ([]fund.Entry, error)
	Statement(ctx context.Context, household int64, from, to civil.Date) (*fund.Statement, error)
	Reconcile(ctx context.Context, lift string, from, to civil.Date) (*fund.Reconciliation, error)
}

// FundWriter records entries and bank statements.
type FundWriter interface {
	PostContribution(ctx context.Context, actor fund.Actor, c fund.ContributionInput) (*fund.Entry, error)
	PostExpenseOn(ctx context.Context, actor fund.Actor, in fund.ExpenseInput) (*fund.Entry, error)
	Reverse(ctx context.Context, actor fund.Actor, id int64, reason string) (*fund.Entry, error)
	ImportBankStatement(ctx context.Context, actor fund.Actor, lift, fileName string, data []byte) (fund.ImportResult, error)
}

// FundDeps wire the fund routes and the statement export; nil leaves them
// out.
type FundDeps struct {
	Read  FundReader
	Write FundWriter
	Now   func() time.Time
}

// FundRecords is the repository's reads the service does not offer
// (store.Fund).
type FundRecords interface {
	Household(ctx context.Context, id int64) (*fund.Household, error)
	Entry(ctx context.Context, id int64) (*fund.Entry, error)
	Entries(ctx context.Context, lift string, from, to civil.Date) ([]fund.Entry, error)
}

// NewFundDeps builds the fund routes' dependencies from the domain service
// and its repository; now is the service's clock.
func NewFundDeps(svc *fund.Service, rec FundRecords, now func() time.Time) *FundDeps {
	return &FundDeps{Read: fundReader{svc, rec}, Write: svc, Now: now}
}

type fundReader struct {
	svc *fund.Service
	FundRecords
}

func (f fundReader) Households(ctx context.Context, lift string) ([]fund.Household, error) {
	return f.svc.Households(ctx, lift)
}

func (f fundReader) Statement(ctx context.Context, household int64, from, to civil.Date) (*fund.Statement, error) {
	return f.svc.Statement(ctx, household, from, to)
}

func (f fundReader) Reconcile(ctx context.Context, lift string, from, to civil.Date) (*fund.Reconciliation, error) {
	return f.svc.Reconcile(ctx, lift, from, to)
}

// maxBankFile bounds an uploaded bank statement.
const maxBankFile = 10 << 20

func (s *Server) fundRoutes() {
	s.handle("GET /api/v1/lifts/{id}/fund", Guard{Action: identity.ReadFund, Object: s.registeredLift}, s.getFund)
	s.handle("POST /api/v1/lifts/{id}/fund/entries", Guard{Action: identity.WriteFund, Object: s.registeredLift}, s.postFundEntry)
	s.handle("POST /api/v1/fund/entries/{id}/reverse", Guard{Action: identity.WriteFund, Object: s.entryInPath}, s.reverseFundEntry)
	s.handle("GET /api/v1/households", Guard{Action: identity.ReadFund}, s.listHouseholds)
	s.handle("GET /api/v1/households/{id}/statement", Guard{Action: identity.ReadFund, Object: s.householdObject(func(r *http.Request) (string, string) {
		return "id", r.PathValue("id")
	})}, s.householdStatement)
	s.handle("POST /api/v1/lifts/{id}/fund/bank-statements", Guard{Action: identity.WriteFund, Object: s.registeredLift}, s.importBankStatement)
	s.handle("GET /api/v1/lifts/{id}/fund/reconciliation", Guard{Action: identity.ReadFund, Object: s.registeredLift}, s.reconciliation)
	s.handle("GET /api/v1/export/statement.csv", Guard{Action: identity.ReadFund, Object: s.householdObject(func(r *http.Request) (string, string) {
		return "household", r.URL.Query().Get("household")
	})}, s.exportStatement)
}

// fundActor is the request's actor as the ledger records it.
func (s *Server) fundActor(r *http.Request) fund.Actor { return fund.Actor(s.actor(r).Name) }

func positiveID(field, v, what string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		if v == "" {
			return 0, badField(field, "%s is required (a %s id)", field, what)
		}
		return 0, badField(field, "%s id %q is not a positive integer", what, v)
	}
	return id, nil
}

// householdObject is the Object finder of a household named by the
// parameter where gives: its lift and unit, so an owner reaches only their
// own household.
func (s *Server) householdObject(where func(r *http.Request) (field, value string)) func(r *http.Request) (identity.Object, error) {
	return func(r *http.Request) (identity.Object, error) {
		field, v := where(r)
		id, err := positiveID(field, v, "household")
		if err != nil {
			return identity.Object{}, &guardError{status: http.StatusBadRequest, code: "bad_request", msg: err.Error()}
		}
		h, err := s.d.Fund.Read.Household(r.Context(), id)
		if errors.Is(err, fund.ErrNotFound) {
			return identity.Object{}, notFound(fmt.Sprintf("no household %d", id))
		}
		if err != nil {
			return identity.Object{}, err
		}
		return identity.Object{Lift: h.Lift, Household: h.Unit}, nil
	}
}

// entryInPath is the Object finder of /fund/entries/{id}: the entry's lift.
func (s *Server) entryInPath(r *http.Request) (identity.Object, error) {
	id, err := positiveID("id", r.PathValue("id"), "entry")
	if err != nil {
		return identity.Object{}, &guardError{status: http.StatusBadRequest, code: "bad_request", msg: err.Error()}
	}
	e, err := s.d.Fund.Read.Entry(r.Context(), id)
	if errors.Is(err, fund.ErrNotFound) {
		return identity.Object{}, notFound(fmt.Sprintf("no fund entry %d", id))
	}
	if err != nil {
		return identity.Object{}, err
	}
	return identity.Object{Lift: e.Lift}, nil
}

// fundError answers a fund refusal: unknown → 404, a state of the ledger
// (already reversed, reference used, no shares, bank conflict) → 409,
// invalid input → 400 naming field.
func (s *Server) fundError(w http.ResponseWriter, err error, field string) int {
	var me *fund.MalformedError
	switch {
	case errors.As(err, &me):
		return writeBad(w, badField("body", "%s", err.Error()))
	case errors.Is(err, fund.ErrNotFound):
		return writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, fund.ErrAlreadyReversed), errors.Is(err, fund.ErrConflict), errors.Is(err, fund.ErrNoShares),
		errors.Is(err, fund.ErrBankConflict):
		return writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, fund.ErrInvalid):
		msg := invalidMsg(err)
		// A message that starts with the field it is about names it
		// ("date: …", "source_id: …"), whatever the caller guessed.
		if f, _, ok := strings.Cut(msg, ": "); ok && (f == "date" || f == "source_id" || f == "amount_fen") {
			field = f
		}
		return writeBad(w, badField(field, "%s", msg))
	}
	s.d.Logger.Error("fund", "err", err)
	return writeError(w, http.StatusInternalServerError, "the fund operation failed")
}

// getFund: ?from=&to= (dates, inclusive; default: everything up to
// today): the balance at the end of to, the entries of the period and the
// households.
func (s *Server) getFund(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	from, to, err := periodQuery(r.URL.Query(), false)
	if err != nil {
		return writeBad(w, err)
	}
	if to.IsZero() {
		to = s.today()
	}
	if !from.IsZero() && to.Before(from) {
		return writeBad(w, badField("from", "from %s is after today %s; give to", from, to))
	}
	ctx := r.Context()
	hs, err := s.d.Fund.Read.Households(ctx, lift)
	if err != nil {
		return s.fundError(w, err, "")
	}
	es, err := s.d.Fund.Read.Entries(ctx, lift, civil.Date{}, to)
	if err != nil {
		return s.fundError(w, err, "")
	}
	units := unitsOf(hs)
	v := FundView{Lift: lift, From: from.String(), To: to.String(), Entries: []FundEntryView{}, Households: []HouseholdView{}}
	for i := range es {
		if !from.IsZero() && es[i].Date.Before(from) {
			v.OpeningFen += es[i].AmountFen
		} else {
			v.Entries = append(v.Entries, fundEntryView(&es[i], units))
		}
		v.BalanceFen += es[i].AmountFen
	}
	v.Balance, v.Opening = fund.FormatYuan(v.BalanceFen), fund.FormatYuan(v.OpeningFen)
	for i := range hs {
		v.Households = append(v.Households, householdView(&hs[i]))
	}
	return writeJSON(w, http.StatusOK, v)
}

type entryBody struct {
	Type      string `json:"type"`
	Unit      string `json:"unit"`
	Category  string `json:"category"`
	SourceID  string `json:"source_id"`
	SourceRef string `json:"source_ref"`
	AmountFen int64  `json:"amount_fen"`
	Date      string `json:"date"`
	Reason    string `json:"reason"`
	BankRef   string `json:"bank_ref"`
}

var expenseCategories = []string{"work_order", "insurance", "electricity", "inspection", "maintenance_contract", "other"}

// postFundEntry: {type: contribution, unit, amount_fen, date?, reason,
// bank_ref?, source_ref?} or {type: expense, category, source_id,
// amount_fen, date?, reason, bank_ref?}. amount_fen is positive; the
// ledger signs it. An expense is idempotent on (category, source_id).
func (s *Server) postFundEntry(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	var b entryBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	date, err := bodyDate("date", b.Date, false)
	if err == nil && date.IsZero() {
		date = s.today()
	}
	if err == nil && (b.AmountFen <= 0 || b.AmountFen > fund.MaxAmountFen) {
		err = badField("amount_fen", "amount_fen must be 1..%d fen, not %d", fund.MaxAmountFen, b.AmountFen)
	}
	if err == nil {
		err = text("reason", b.Reason, true, 1000)
	}
	if err == nil {
		err = text("bank_ref", b.BankRef, false, 128)
	}
	if err != nil {
		return writeBad(w, err)
	}
	ctx, actor := r.Context(), s.fundActor(r)
	var e *fund.Entry
	switch b.Type {
	case "contribution":
		switch {
		case b.Category != "" || b.SourceID != "":
			return writeBad(w, badField("category", "a contribution has no category or source_id; give unit"))
		case strings.TrimSpace(b.Unit) == "":
			return writeBad(w, badField("unit", "unit is required: the paying household's unit"))
		}
		if err := text("source_ref", b.SourceRef, false, 128); err != nil {
			return writeBad(w, err)
		}
		hs, err := s.d.Fund.Read.Households(ctx, lift)
		if err != nil {
			return s.fundError(w, err, "")
		}
		if _, ok := unitsByName(hs)[b.Unit]; !ok {
			return writeBad(w, badField("unit", "lift %s has no household %q", lift, b.Unit))
		}
		e, err = s.d.Fund.Write.PostContribution(ctx, actor, fund.ContributionInput{Lift: lift, Unit: b.Unit, AmountFen: b.AmountFen,
			Date: date, Reason: b.Reason, BankRef: b.BankRef, SourceRef: b.SourceRef})
		if err != nil {
			return s.fundError(w, err, "amount_fen")
		}
	case "expense":
		switch {
		case b.Unit != "" || b.SourceRef != "":
			return writeBad(w, badField("unit", "an expense is split among all households; it has no unit or source_ref (use category and source_id)"))
		case !slices.Contains(expenseCategories, b.Category):
			return writeBad(w, badField("category", "category must be one of %s, not %q", strings.Join(expenseCategories, ", "), b.Category))
		}
		if err := text("source_id", b.SourceID, true, 128); err != nil {
			return writeBad(w, err)
		}
		bankRef := b.BankRef
		if bankRef == "" {
			bankRef = b.SourceID
		}
		e, err = s.d.Fund.Write.PostExpenseOn(ctx, actor, fund.ExpenseInput{Lift: lift,
			Ref: fund.SourceRef{Category: fund.Category(b.Category), ID: b.SourceID}, AmountFen: b.AmountFen, Date: date,
			Reason: b.Reason, BankRef: bankRef})
		if err != nil {
			return s.fundError(w, err, "amount_fen")
		}
	default:
		return writeBad(w, badField("type", "type must be contribution or expense, not %q", b.Type))
	}
	hs, err := s.d.Fund.Read.Households(ctx, lift)
	if err != nil {
		return s.fundError(w, err, "")
	}
	return writeJSON(w, http.StatusCreated, fundEntryView(e, unitsOf(hs)))
}

func unitsOf(hs []fund.Household) map[int64]string {
	m := make(map[int64]string, len(hs))
	for _, h := range hs {
		m[h.ID] = h.Unit
	}
	return m
}

func unitsByName(hs []fund.Household) map[string]int64 {
	m := make(map[string]int64, len(hs))
	for _, h := range hs {
		m[h.Unit] = h.ID
	}
	return m
}

// reverseFundEntry: {reason}: a reversing entry, dated today.
func (s *Server) reverseFundEntry(w http.ResponseWriter, r *http.Request) int {
	id, err := positiveID("id", r.PathValue("id"), "entry")
	if err != nil {
		return writeBad(w, err)
	}
	var b reasonBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	if err := text("reason", b.Reason, true, 1000); err != nil {
		return writeBad(w, err)
	}
	e, err := s.d.Fund.Write.Reverse(r.Context(), s.fundActor(r), id, b.Reason)
	if errors.Is(err, fund.ErrInvalid) { // a reversal is not reversed: a state of the entry
		return writeError(w, http.StatusConflict, invalidMsg(err))
	}
	if err != nil {
		return s.fundError(w, err, "reason")
	}
	hs, err := s.d.Fund.Read.Households(r.Context(), e.Lift)
	if err != nil {
		return s.fundError(w, err, "")
	}
	return writeJSON(w, http.StatusCreated, fundEntryView(e, unitsOf(hs)))
}

// statement reads the household id (in the parameter field) and the
// period, and computes the statement.
func (s *Server) statement(w http.ResponseWriter, r *http.Request, field, v string, extra ...string) (*fund.Statement, int) {
	q := r.URL.Query()
	if err := params(q, nil, append([]string{"from", "to"}, extra...)); err != nil {
		return nil, writeBad(w, err)
	}
	id, err := positiveID(field, v, "household")
	if err != nil {
		return nil, writeBad(w, err)
	}
	from, to, err := period(q, true)
	if err != nil {
		return nil, writeBad(w, err)
	}
	st, err := s.d.Fund.Read.Statement(r.Context(), id, from, to)
	if err != nil {
		return nil, s.fundError(w, err, "from")
	}
	return st, 0
}

// listHouseholds: ?lift= (required): the lift's households whose fund
// the user may read, by id: all of them for a manager of its estate, the
// subdistrict and an admin; an owner only their own (so the owner's page
// finds the id of its statement); nobody else's.
func (s *Server) listHouseholds(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, nil, []string{"lift", "limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	lift := q.Get("lift")
	if lift == "" {
		return writeBad(w, badField("lift", "lift is required (a lift id)"))
	}
	if _, ok := s.d.Lifts.Get(lift); !ok {
		return writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(lift))
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	if err := checkCursor(p, idCursor); err != nil {
		return writeBad(w, err)
	}
	hs, err := s.d.Fund.Read.Households(r.Context(), lift)
	if err != nil {
		return s.fundError(w, err, "")
	}
	var seen []HouseholdView
	for i := range hs {
		if s.visible(r, identity.ReadFund, identity.Object{Lift: lift, Household: hs[i].Unit}) {
			seen = append(seen, householdView(&hs[i]))
		}
	}
	slices.SortFunc(seen, func(a, b HouseholdView) int { return cmp.Compare(a.ID, b.ID) })
	out, next := paginate(seen, p, func(h HouseholdView) string { return idKey(h.ID) },
		func(h HouseholdView, c string) bool { return idKey(h.ID) > c })
	return writePage(w, r, out, next)
}

// householdStatement: ?from=&to= (required, inclusive).
func (s *Server) householdStatement(w http.ResponseWriter, r *http.Request) int {
	st, code := s.statement(w, r, "id", r.PathValue("id"))
	if code != 0 {
		return code
	}
	return writeJSON(w, http.StatusOK, statementView(st))
}

// importBankStatement: the body is the bank's CSV file (Content-Type
// text/csv; columns in docs/fund.md), ?file= its name. 201 with what was
// recorded; 200 if this very file was imported before (nothing recorded).
func (s *Server) importBankStatement(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	q := r.URL.Query()
	if err := params(q, nil, []string{"file"}); err != nil {
		return writeBad(w, err)
	}
	file := q.Get("file")
	if err := text("file", file, true, 256); err != nil {
		return writeBad(w, err)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		return writeCoded(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the bank statement as the body with Content-Type: text/csv")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBankFile))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("a bank statement is at most %d MiB", maxBankFile>>20))
	}
	if err != nil {
		return writeBad(w, errors.New("reading the body failed"))
	}
	if len(data) == 0 {
		return writeBad(w, badField("body", "the body is empty; send the CSV file"))
	}
	res, err := s.d.Fund.Write.ImportBankStatement(r.Context(), s.fundActor(r), lift, file, data)
	if err != nil {
		return s.fundError(w, err, "body")
	}
	status := http.StatusCreated
	if res.AlreadyImported {
		status = http.StatusOK
	}
	return writeJSON(w, status, importView(&res))
}

// reconciliation: ?from=&to= (required, inclusive).
func (s *Server) reconciliation(w http.ResponseWriter, r *http.Request) int {
	lift, code := s.liftOr404(w, r)
	if code != 0 {
		return code
	}
	from, to, err := periodQuery(r.URL.Query(), true)
	if err != nil {
		return writeBad(w, err)
	}
	rec, err := s.d.Fund.Read.Reconcile(r.Context(), lift, from, to)
	if err != nil {
		return s.fundError(w, err, "")
	}
	hs, err := s.d.Fund.Read.Households(r.Context(), lift)
	if err != nil {
		return s.fundError(w, err, "")
	}
	return writeJSON(w, http.StatusOK, reconciliationView(rec, unitsOf(hs)))
}
