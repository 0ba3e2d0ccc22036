package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/maintenance"
)

// CSV exports (docs/maintenance.md, docs/fund.md): UTF-8 opening with a
// byte order mark (EF BB BF: Excel on a Chinese Windows reads a CSV without
// one as GBK and garbles every Chinese cell), RFC 4180 (CRLF line ends, quotes where needed), a header
// row. The domain writes the columns; every export then goes through
// writeCSV, which guards against formula injection: a cell a spreadsheet
// would run as a formula (starting with = + - @, a tab or CR) is prefixed
// with ', unless the whole cell is a plain number such as -12.05.

// utf8BOM opens every CSV export.
const utf8BOM = "\ufeff"

var plainNumber = regexp.MustCompile(`^[-+]?[0-9]+(\.[0-9]+)?$`)

// guardCell defuses a cell a spreadsheet would evaluate.
func guardCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber.MatchString(s) {
		return s
	}
	return "'" + s
}

// writeCSV answers 200 with the CSV that write produces, re-read record by
// record, each data cell guarded, written with CRLF line ends, as the
// attachment name.
func (s *Server) writeCSV(w http.ResponseWriter, name string, write func(*bytes.Buffer) error) int {
	var raw bytes.Buffer
	if err := write(&raw); err != nil {
		s.d.Logger.Error("export", "file", name, "err", err)
		return writeError(w, http.StatusInternalServerError, "the export failed")
	}
	recs, err := csv.NewReader(&raw).ReadAll()
	if err != nil {
		s.d.Logger.Error("export: re-read", "file", name, "err", err)
		return writeError(w, http.StatusInternalServerError, "the export failed")
	}
	var out bytes.Buffer
	out.WriteString(utf8BOM)
	cw := csv.NewWriter(&out)
	cw.UseCRLF = true
	for i, rec := range recs {
		if i > 0 {
			for j := range rec {
				rec[j] = guardCell(rec[j])
			}
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.d.Logger.Error("export: write", "file", name, "err", err)
		return writeError(w, http.StatusInternalServerError, "the export failed")
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
	return http.StatusOK
}

// exportWorkOrders: the list's filters (not paginated: every matching
// order the actor may read), maintenance.WorkOrderCSVHeader's columns.
// A city's orders are streamed: each is written to the response as the
// store reads it (issue 17: memory does not grow with the export).
func (s *Server) exportWorkOrders(w http.ResponseWriter, r *http.Request) int {
	wq, err := s.workOrderQuery(r, r.URL.Query(), nil)
	if err != nil {
		return writeBad(w, err)
	}
	st, ok := s.d.Maintenance.WorkOrders.(WorkOrderStream)
	if !ok {
		list, err := s.workOrders(r, wq)
		if err != nil {
			s.d.Logger.Error("export work orders", "err", err)
			return writeError(w, http.StatusInternalServerError, "listing work orders failed")
		}
		now := s.now()
		return s.writeCSV(w, "work-orders.csv", func(b *bytes.Buffer) error { return maintenance.WriteWorkOrdersCSV(b, list, now) })
	}
	now := s.now()
	match := s.woMatch(r, wq, now)
	return s.streamCSV(w, "work-orders.csv", maintenance.WorkOrderCSVHeader, func(emit func([]string) error) error {
		return st.EachWorkOrder(r.Context(), wq.f, func(o *maintenance.WorkOrder) error {
			if !match(o) {
				return nil
			}
			return emit(maintenance.WorkOrderCSVRecord(o, now))
		})
	})
}

// streamCSV answers like writeCSV, but writes each record as each
// produces it, through a small buffer. The response begins with the first
// record (or at the end, for none): a failure before it is a 500; a failure
// after it aborts the response, so that the client sees a broken transfer,
// never a short file that looks whole.
func (s *Server) streamCSV(w http.ResponseWriter, name string, header []string, each func(emit func([]string) error) error) int {
	var cw *csv.Writer
	start := func() error {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8; header=present")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, name))
		w.WriteHeader(http.StatusOK)
		if _, err := io.WriteString(w, utf8BOM); err != nil {
			return err
		}
		cw = csv.NewWriter(w)
		cw.UseCRLF = true
		return cw.Write(header)
	}
	err := each(func(rec []string) error {
		if cw == nil {
			if err := start(); err != nil {
				return err
			}
		}
		for j := range rec {
			rec[j] = guardCell(rec[j])
		}
		return cw.Write(rec)
	})
	if err == nil && cw == nil {
		err = start()
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err != nil {
		s.d.Logger.Error("export", "file", name, "err", err)
		if cw == nil {
			return writeError(w, http.StatusInternalServerError, "the export failed")
		}
		panic(http.ErrAbortHandler)
	}
	return http.StatusOK
}

// exportCompliance: ?month=YYYY-MM&contractor=&estate=, as the report.
func (s *Server) exportCompliance(w http.ResponseWriter, r *http.Request) int {
	month, lifts, contractors, err := s.complianceQuery(r, nil)
	if err != nil {
		return writeBad(w, err)
	}
	rows, err := s.compliance(r, month, lifts, contractors)
	if err != nil {
		s.d.Logger.Error("export compliance", "err", err)
		return writeError(w, http.StatusInternalServerError, "computing the compliance report failed")
	}
	return s.writeCSV(w, "compliance-"+month.Format("2006-01")+".csv", func(b *bytes.Buffer) error {
		return maintenance.WriteComplianceCSV(b, rows)
	})
}

// exportStatement: ?household=&from=&to= (all required).
func (s *Server) exportStatement(w http.ResponseWriter, r *http.Request) int {
	st, code := s.statement(w, r, "household", r.URL.Query().Get("household"), "household")
	if code != 0 {
		return code
	}
	name := fmt.Sprintf("statement-%d-%s-%s.csv", st.Household.ID, st.From, st.To)
	return s.writeCSV(w, name, func(b *bytes.Buffer) error { return fund.WriteStatementCSV(b, st) })
}
