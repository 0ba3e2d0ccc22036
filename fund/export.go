package fund

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// StatementColumns are the columns of a statement export.
var StatementColumns = []string{"date", "entry", "kind", "category", "reason", "reference", "amount", "balance"}

// WriteStatementCSV writes a statement as CSV: a header, an "opening" line,
// one line per entry, a "closing" line. Amounts are yuan with two decimals;
// text that a spreadsheet would run as a formula is prefixed with '.
func WriteStatementCSV(w io.Writer, st *Statement) error {
	cw := csv.NewWriter(w)
	rows := [][]string{StatementColumns,
		{st.From.String(), "", "opening", "", "", "", "", FormatYuan(st.OpeningFen)}}
	for _, l := range st.Lines {
		rows = append(rows, []string{l.Date.String(), strconv.FormatInt(l.Entry, 10), string(l.Kind), string(l.Category),
			cell(l.Reason), cell(l.Reference), FormatYuan(l.AmountFen), FormatYuan(l.BalanceFen)})
	}
	rows = append(rows, []string{st.To.String(), "", "closing", "", "", "", "", FormatYuan(st.ClosingFen)})
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write statement: %w", err)
	}
	return nil
}

func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
