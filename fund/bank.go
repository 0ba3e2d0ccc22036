package fund

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/internal/civil"
)

// BankColumns are the columns of a bank statement file, in this order, named
// in a header line.
var BankColumns = []string{"date", "value_date", "amount", "direction", "counterparty", "reference", "txn_id", "balance"}

// BankLine is one transaction of the supervised account.
type BankLine struct {
	ID           int64      `json:"id"`
	Lift         string     `json:"lift"`
	TxnID        string     `json:"txn_id"` // the bank's transaction id, unique per account
	Line         int        `json:"line"`   // line number in the imported file
	Date         civil.Date `json:"date"`   // booking date
	ValueDate    civil.Date `json:"value_date"`
	AmountFen    int64      `json:"amount_fen"` // signed: + credit (in), − debit (out)
	Counterparty string     `json:"counterparty"`
	Reference    string     `json:"reference"`
	BalanceFen   int64      `json:"balance_fen"`
	ImportID     int64      `json:"import_id"`
}

// Same reports whether two lines describe the same transaction alike.
func (b *BankLine) Same(o *BankLine) bool {
	return b.TxnID == o.TxnID && b.Date == o.Date && b.ValueDate == o.ValueDate && b.AmountFen == o.AmountFen &&
		b.Counterparty == o.Counterparty && b.Reference == o.Reference && b.BalanceFen == o.BalanceFen
}

// BankImport records one imported file.
type BankImport struct {
	ID       int64     `json:"id"`
	Lift     string    `json:"lift"`
	FileName string    `json:"file_name"`
	FileHash string    `json:"file_hash"` // SHA-256 of the file, hex
	At       time.Time `json:"at"`
	Actor    Actor     `json:"actor"`
	Lines    int       `json:"lines"`
	New      int       `json:"new"`
}

// ImportResult says what an import did.
type ImportResult struct {
	Import BankImport `json:"import"`
	// AlreadyImported: this very file (same hash) was imported before;
	// nothing was recorded.
	AlreadyImported bool `json:"already_imported"`
	New             int  `json:"new"`        // transactions recorded now
	Duplicates      int  `json:"duplicates"` // transactions already recorded by an earlier file
}

// LineError is one rejected line of a bank file.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// MalformedError lists every rejected line of a file; it wraps
// ErrMalformedCSV. Nothing of such a file is imported.
type MalformedError struct{ Lines []LineError }

func (e *MalformedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d bad line(s)", ErrMalformedCSV, len(e.Lines))
	for i, l := range e.Lines {
		if i == 10 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; line %d: %s", l.Line, l.Reason)
	}
	return b.String()
}

func (e *MalformedError) Unwrap() error { return ErrMalformedCSV }

// maxBankLines bounds one file.
const maxBankLines = 100_000

// ParseBankCSV reads a bank statement file (UTF-8, comma separated, a header
// line naming BankColumns in order; see docs/fund.md). Every line is checked;
// if any is bad the result is a *MalformedError listing all bad lines (up to
// 100) and no lines.
func ParseBankCSV(data []byte) ([]BankLine, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a BOM, as spreadsheet exports write
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	var bad []LineError
	fail := func(line int, format string, args ...any) {
		if len(bad) < 100 {
			bad = append(bad, LineError{Line: line, Reason: fmt.Sprintf(format, args...)})
		}
	}
	header, err := r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &MalformedError{Lines: []LineError{{Line: 1, Reason: "empty file: want a header line"}}}
		}
		return nil, &MalformedError{Lines: []LineError{{Line: 1, Reason: err.Error()}}}
	}
	if strings.Join(header, ",") != strings.Join(BankColumns, ",") {
		return nil, &MalformedError{Lines: []LineError{{Line: 1, Reason: fmt.Sprintf("header %q: want %s", strings.Join(header, ","),
			strings.Join(BankColumns, ","))}}}
	}
	var out []BankLine
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				fail(pe.StartLine, "%v", pe.Err)
				if pe.Err == csv.ErrQuote || pe.Err == csv.ErrBareQuote {
					return nil, &MalformedError{Lines: bad} // the reader cannot resync after a quoting error
				}
				continue
			}
			return nil, fmt.Errorf("read bank file: %w", err)
		}
		if len(out)+len(bad) >= maxBankLines {
			fail(line, "more than %d lines", maxBankLines)
			break
		}
		if len(rec) != len(BankColumns) {
			fail(line, "%d fields, want %d", len(rec), len(BankColumns))
			continue
		}
		if col, why := badBankText(rec); why != "" {
			fail(line, "%s %s", BankColumns[col], why)
			continue
		}
		bl, reason := parseBankRecord(rec)
		if reason != "" {
			fail(line, "%s", reason)
			continue
		}
		if first, dup := seen[bl.TxnID]; dup {
			fail(line, "txn_id %q repeats line %d", bl.TxnID, first)
			continue
		}
		seen[bl.TxnID] = line
		bl.Line = line
		out = append(out, bl)
	}
	if len(bad) > 0 {
		return nil, &MalformedError{Lines: bad}
	}
	if len(out) == 0 {
		return nil, &MalformedError{Lines: []LineError{{Line: 2, Reason: "no transactions"}}}
	}
	return out, nil
}

func parseBankRecord(rec []string) (BankLine, string) {
	var b BankLine
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return b, fmt.Sprintf("%s is not UTF-8", BankColumns[i])
		}
	}
	var err error
	if b.Date, err = civil.Parse(rec[0]); err != nil {
		return b, "date: " + err.Error()
	}
	if b.ValueDate, err = civil.Parse(rec[1]); err != nil {
		return b, "value_date: " + err.Error()
	}
	amt, err := ParseYuan(rec[2])
	if err != nil {
		return b, "amount: " + err.Error()
	}
	if amt <= 0 || amt > MaxAmountFen {
		return b, fmt.Sprintf("amount %s: want a positive amount up to %s (the direction gives the sign)", rec[2], FormatYuan(MaxAmountFen))
	}
	switch rec[3] {
	case "CR":
		b.AmountFen = amt
	case "DR":
		b.AmountFen = -amt
	default:
		return b, fmt.Sprintf("direction %q: want CR (credit, in) or DR (debit, out)", rec[3])
	}
	b.Counterparty, b.Reference, b.TxnID = strings.TrimSpace(rec[4]), strings.TrimSpace(rec[5]), strings.TrimSpace(rec[6])
	switch {
	case b.TxnID == "" || len(b.TxnID) > 64:
		return b, "txn_id: want 1-64 characters"
	case len(b.Reference) > 128:
		return b, "reference: longer than 128 bytes"
	case len(b.Counterparty) > 256:
		return b, "counterparty: longer than 256 bytes"
	}
	if b.BalanceFen, err = ParseYuan(rec[7]); err != nil {
		return b, "balance: " + err.Error()
	}
	return b, ""
}

// ImportBankStatement imports a bank statement file into lift's supervised
// account. The whole file is checked first: a malformed file is refused
// with every bad line and its reason, and nothing of it is recorded. A file
// imported before (same SHA-256) records nothing; a transaction already
// recorded from an earlier file (same txn_id and content) is counted as a
// duplicate and not recorded again; the same txn_id with different content
// refuses the whole file (ErrBankConflict).
func (s *Service) ImportBankStatement(ctx context.Context, actor Actor, lift, fileName string, data []byte) (ImportResult, error) {
	if actor == "" {
		return ImportResult{}, ErrNoActor
	}
	if lift == "" {
		return ImportResult{}, fmt.Errorf("%w: bank import: lift is required", ErrInvalid)
	}
	lines, err := ParseBankCSV(data)
	if err != nil {
		return ImportResult{}, fmt.Errorf("bank file %s: %w", fileName, err)
	}
	sum := sha256.Sum256(data)
	imp := &BankImport{Lift: lift, FileName: fileName, FileHash: hex.EncodeToString(sum[:]), At: s.now(), Actor: actor, Lines: len(lines)}
	for i := range lines {
		lines[i].Lift = lift
		if err := s.plausible(lift, lines[i].Date, fmt.Sprintf("bank file %s, transaction %d (%s): the booking date", fileName, i+1, lines[i].TxnID)); err != nil {
			return ImportResult{}, err
		}
		if d := lines[i].Date.DaysUntil(lines[i].ValueDate); !lines[i].ValueDate.IsZero() && (d > 31 || d < -31) {
			return ImportResult{}, fmt.Errorf("%w: date: bank file %s, transaction %d (%s): the value date %s is more than 31 days from the booking date %s",
				ErrInvalid, fileName, i+1, lines[i].TxnID, lines[i].ValueDate, lines[i].Date)
		}
	}
	return s.store.ImportBank(ctx, imp, lines)
}

// badBankText finds a field with text people would be misled by when it is
// shown (the reconciliation, the import record): a control character or a
// bidirectional control (U+202E reorders what is shown), as the API refuses
// in every JSON body. It returns the column and why, or "" .
func badBankText(rec []string) (int, string) {
	for i, f := range rec {
		for _, r := range f {
			switch {
			case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
				return i, fmt.Sprintf("contains the control character U+%04X", r)
			case r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
				return i, fmt.Sprintf("contains the bidirectional control U+%04X", r)
			}
		}
	}
	return 0, ""
}

// Match is a bank line and the ledger entry it pays.
type Match struct {
	Bank  BankLine `json:"bank"`
	Entry Entry    `json:"entry"`
}

// Mismatch is a bank line and a ledger entry with the same reference whose
// amount or date differ.
type Mismatch struct {
	Bank    BankLine `json:"bank"`
	Entry   Entry    `json:"entry"`
	Reasons []string `json:"reasons"`
}

// Reconciliation compares the bank and the ledger over a period.
type Reconciliation struct {
	Lift            string     `json:"lift"`
	From            civil.Date `json:"from"`
	To              civil.Date `json:"to"`
	Matched         []Match    `json:"matched"`
	Mismatched      []Mismatch `json:"mismatched"`
	UnmatchedBank   []BankLine `json:"unmatched_bank"`   // on the statement, not in the ledger
	UnmatchedLedger []Entry    `json:"unmatched_ledger"` // in the ledger, not on the statement
	BankNetFen      int64      `json:"bank_net_fen"`
	LedgerNetFen    int64      `json:"ledger_net_fen"`
}

// Clean reports a reconciliation with nothing to explain.
func (r *Reconciliation) Clean() bool {
	return len(r.Mismatched) == 0 && len(r.UnmatchedBank) == 0 && len(r.UnmatchedLedger) == 0
}

// Reconcile compares lift's bank lines and ledger entries dated from..to.
func (s *Service) Reconcile(ctx context.Context, lift string, from, to civil.Date) (*Reconciliation, error) {
	bank, err := s.store.BankLines(ctx, lift, from, to)
	if err != nil {
		return nil, err
	}
	ledger, err := s.store.Entries(ctx, lift, from, to)
	if err != nil {
		return nil, err
	}
	r := reconcile(bank, ledger)
	r.Lift, r.From, r.To = lift, from, to
	return r, nil
}

// reconcile is the matching rule. Entries that were reversed, and reversals,
// move no money and are left out. Lines and entries pair by reference (bank
// reference = entry BankRef): first the pairs with equal amount and date
// (matched), then the rest of the same reference in date order (mismatched);
// what remains, and everything without a reference, is unmatched.
func reconcile(bank []BankLine, ledger []Entry) *Reconciliation {
	r := &Reconciliation{}
	byRefBank := map[string][]BankLine{}
	for _, b := range bank {
		r.BankNetFen += b.AmountFen
		if b.Reference == "" {
			r.UnmatchedBank = append(r.UnmatchedBank, b)
			continue
		}
		byRefBank[b.Reference] = append(byRefBank[b.Reference], b)
	}
	byRefLedger := map[string][]Entry{}
	for _, e := range ledger {
		if e.Kind == Reversal || e.ReversedBy != 0 {
			continue
		}
		r.LedgerNetFen += e.AmountFen
		if e.BankRef == "" {
			r.UnmatchedLedger = append(r.UnmatchedLedger, e)
			continue
		}
		byRefLedger[e.BankRef] = append(byRefLedger[e.BankRef], e)
	}
	refs := map[string]bool{}
	for k := range byRefBank {
		refs[k] = true
	}
	for k := range byRefLedger {
		refs[k] = true
	}
	sorted := make([]string, 0, len(refs))
	for k := range refs {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, ref := range sorted {
		bs, es := byRefBank[ref], byRefLedger[ref]
		usedB, usedE := make([]bool, len(bs)), make([]bool, len(es))
		for i := range bs {
			for j := range es {
				if !usedE[j] && bs[i].AmountFen == es[j].AmountFen && bs[i].Date == es[j].Date {
					usedB[i], usedE[j] = true, true
					r.Matched = append(r.Matched, Match{Bank: bs[i], Entry: es[j]})
					break
				}
			}
		}
		j := 0
		for i := range bs {
			if usedB[i] {
				continue
			}
			for j < len(es) && usedE[j] {
				j++
			}
			if j == len(es) {
				r.UnmatchedBank = append(r.UnmatchedBank, bs[i])
				continue
			}
			usedB[i], usedE[j] = true, true
			var why []string
			if bs[i].AmountFen != es[j].AmountFen {
				why = append(why, fmt.Sprintf("amount: bank %s, ledger %s", FormatYuan(bs[i].AmountFen), FormatYuan(es[j].AmountFen)))
			}
			if bs[i].Date != es[j].Date {
				why = append(why, fmt.Sprintf("date: bank %s, ledger %s", bs[i].Date, es[j].Date))
			}
			r.Mismatched = append(r.Mismatched, Mismatch{Bank: bs[i], Entry: es[j], Reasons: why})
		}
		for j := range es {
			if !usedE[j] {
				r.UnmatchedLedger = append(r.UnmatchedLedger, es[j])
			}
		}
	}
	return r
}
