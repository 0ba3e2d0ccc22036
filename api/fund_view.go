package api

import (
	"github.com/liftwatch/liftwatch/fund"
)

// View types of the fund routes. Money is integer fen (the *_fen members);
// each amount also comes as yuan text with two decimals, computed from the
// fen (never a float), for display.

// HouseholdView is one owning household of a lift.
type HouseholdView struct {
	ID      int64  `json:"id"`
	Lift    string `json:"lift"`
	Unit    string `json:"unit"`
	Floor   int    `json:"floor"`
	Share   int64  `json:"share"`
	Contact string `json:"contact"`
}

func householdView(h *fund.Household) HouseholdView {
	return HouseholdView{ID: h.ID, Lift: h.Lift, Unit: h.Unit, Floor: h.Floor, Share: h.Share, Contact: h.Contact}
}

// FundLineView is one household's part of an entry.
type FundLineView struct {
	Household int64  `json:"household"`
	Unit      string `json:"unit"`
	AmountFen int64  `json:"amount_fen"`
}

// FundEntryView is one ledger entry; amount_fen is signed from the fund's
// side (+ in, − out).
type FundEntryView struct {
	ID         int64          `json:"id"`
	Lift       string         `json:"lift"`
	Kind       string         `json:"kind"`
	Category   string         `json:"category"`
	AmountFen  int64          `json:"amount_fen"`
	Amount     string         `json:"amount"`
	Date       string         `json:"date"`
	RecordedAt string         `json:"recorded_at"`
	Actor      string         `json:"actor"`
	Reason     string         `json:"reason"`
	SourceRef  string         `json:"source_ref,omitempty"`
	BankRef    string         `json:"bank_ref,omitempty"`
	Reverses   int64          `json:"reverses,omitempty"`
	ReversedBy int64          `json:"reversed_by,omitempty"`
	Lines      []FundLineView `json:"lines"`
}

func fundEntryView(e *fund.Entry, units map[int64]string) FundEntryView {
	v := FundEntryView{ID: e.ID, Lift: e.Lift, Kind: string(e.Kind), Category: string(e.Category), AmountFen: e.AmountFen,
		Amount: fund.FormatYuan(e.AmountFen), Date: e.Date.String(), RecordedAt: ts(e.RecordedAt), Actor: string(e.Actor),
		Reason: e.Reason, SourceRef: e.SourceRef, BankRef: e.BankRef, Reverses: e.Reverses, ReversedBy: e.ReversedBy,
		Lines: make([]FundLineView, 0, len(e.Lines))}
	for _, l := range e.Lines {
		v.Lines = append(v.Lines, FundLineView{Household: l.Household, Unit: units[l.Household], AmountFen: l.AmountFen})
	}
	return v
}

// FundView is a lift's fund over a period: balance at the end of to,
// opening balance before from, the period's entries, the households.
type FundView struct {
	Lift       string          `json:"lift"`
	From       string          `json:"from,omitempty"`
	To         string          `json:"to"`
	OpeningFen int64           `json:"opening_fen"`
	Opening    string          `json:"opening"`
	BalanceFen int64           `json:"balance_fen"`
	Balance    string          `json:"balance"`
	Entries    []FundEntryView `json:"entries"`
	Households []HouseholdView `json:"households"`
}

// StatementLineView is one entry on a household's statement.
type StatementLineView struct {
	Entry      int64  `json:"entry"`
	Date       string `json:"date"`
	Kind       string `json:"kind"`
	Category   string `json:"category"`
	Reason     string `json:"reason"`
	Reference  string `json:"reference"`
	AmountFen  int64  `json:"amount_fen"`
	BalanceFen int64  `json:"balance_fen"`
}

// StatementView is a household's account for from..to inclusive: opening
// + in + out = closing, to the fen.
type StatementView struct {
	Household  HouseholdView       `json:"household"`
	From       string              `json:"from"`
	To         string              `json:"to"`
	OpeningFen int64               `json:"opening_fen"`
	InFen      int64               `json:"in_fen"`
	OutFen     int64               `json:"out_fen"`
	ClosingFen int64               `json:"closing_fen"`
	Opening    string              `json:"opening"`
	Closing    string              `json:"closing"`
	Lines      []StatementLineView `json:"lines"`
}

func statementView(st *fund.Statement) StatementView {
	v := StatementView{Household: householdView(&st.Household), From: st.From.String(), To: st.To.String(),
		OpeningFen: st.OpeningFen, InFen: st.InFen, OutFen: st.OutFen, ClosingFen: st.ClosingFen,
		Opening: fund.FormatYuan(st.OpeningFen), Closing: fund.FormatYuan(st.ClosingFen), Lines: make([]StatementLineView, 0, len(st.Lines))}
	for _, l := range st.Lines {
		v.Lines = append(v.Lines, StatementLineView{Entry: l.Entry, Date: l.Date.String(), Kind: string(l.Kind), Category: string(l.Category),
			Reason: l.Reason, Reference: l.Reference, AmountFen: l.AmountFen, BalanceFen: l.BalanceFen})
	}
	return v
}

// BankImportView is one imported bank file.
type BankImportView struct {
	ID       int64  `json:"id"`
	Lift     string `json:"lift"`
	FileName string `json:"file_name"`
	FileHash string `json:"file_hash"`
	At       string `json:"at"`
	Actor    string `json:"actor"`
	Lines    int    `json:"lines"`
	New      int    `json:"new"`
}

// ImportView is what an import did: new transactions, duplicates of
// earlier files, or nothing (already_imported: the same file again).
type ImportView struct {
	Import          BankImportView `json:"import"`
	AlreadyImported bool           `json:"already_imported"`
	New             int            `json:"new"`
	Duplicates      int            `json:"duplicates"`
}

func importView(r *fund.ImportResult) ImportView {
	i := &r.Import
	return ImportView{Import: BankImportView{ID: i.ID, Lift: i.Lift, FileName: i.FileName, FileHash: i.FileHash, At: ts(i.At),
		Actor: string(i.Actor), Lines: i.Lines, New: i.New}, AlreadyImported: r.AlreadyImported, New: r.New, Duplicates: r.Duplicates}
}

// BankLineView is one transaction of the supervised account; amount_fen
// is signed (+ credit, − debit).
type BankLineView struct {
	ID           int64  `json:"id"`
	TxnID        string `json:"txn_id"`
	Line         int    `json:"line"`
	Date         string `json:"date"`
	ValueDate    string `json:"value_date"`
	AmountFen    int64  `json:"amount_fen"`
	Counterparty string `json:"counterparty"`
	Reference    string `json:"reference"`
	BalanceFen   int64  `json:"balance_fen"`
	ImportID     int64  `json:"import_id"`
}

func bankLineView(b *fund.BankLine) BankLineView {
	return BankLineView{ID: b.ID, TxnID: b.TxnID, Line: b.Line, Date: b.Date.String(), ValueDate: b.ValueDate.String(),
		AmountFen: b.AmountFen, Counterparty: b.Counterparty, Reference: b.Reference, BalanceFen: b.BalanceFen, ImportID: b.ImportID}
}

// MatchView is a bank line and the entry it pays.
type MatchView struct {
	Bank  BankLineView  `json:"bank"`
	Entry FundEntryView `json:"entry"`
}

// MismatchView is a bank line and an entry with the same reference whose
// amount or date differ, and how.
type MismatchView struct {
	Bank    BankLineView  `json:"bank"`
	Entry   FundEntryView `json:"entry"`
	Reasons []string      `json:"reasons"`
}

// ReconciliationView compares the bank and the ledger over a period.
type ReconciliationView struct {
	Lift            string          `json:"lift"`
	From            string          `json:"from"`
	To              string          `json:"to"`
	Clean           bool            `json:"clean"`
	Matched         []MatchView     `json:"matched"`
	Mismatched      []MismatchView  `json:"mismatched"`
	UnmatchedBank   []BankLineView  `json:"unmatched_bank"`
	UnmatchedLedger []FundEntryView `json:"unmatched_ledger"`
	BankNetFen      int64           `json:"bank_net_fen"`
	LedgerNetFen    int64           `json:"ledger_net_fen"`
}

func reconciliationView(r *fund.Reconciliation, units map[int64]string) ReconciliationView {
	v := ReconciliationView{Lift: r.Lift, From: r.From.String(), To: r.To.String(), Clean: r.Clean(), Matched: []MatchView{},
		Mismatched: []MismatchView{}, UnmatchedBank: []BankLineView{}, UnmatchedLedger: []FundEntryView{},
		BankNetFen: r.BankNetFen, LedgerNetFen: r.LedgerNetFen}
	for i := range r.Matched {
		m := &r.Matched[i]
		v.Matched = append(v.Matched, MatchView{Bank: bankLineView(&m.Bank), Entry: fundEntryView(&m.Entry, units)})
	}
	for i := range r.Mismatched {
		m := &r.Mismatched[i]
		v.Mismatched = append(v.Mismatched, MismatchView{Bank: bankLineView(&m.Bank), Entry: fundEntryView(&m.Entry, units),
			Reasons: append([]string{}, m.Reasons...)})
	}
	for i := range r.UnmatchedBank {
		v.UnmatchedBank = append(v.UnmatchedBank, bankLineView(&r.UnmatchedBank[i]))
	}
	for i := range r.UnmatchedLedger {
		v.UnmatchedLedger = append(v.UnmatchedLedger, fundEntryView(&r.UnmatchedLedger[i], units))
	}
	return v
}
