package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/telemetry"
	"github.com/liftwatch/liftwatch/web"
)

// constsIn reads the Go files of dir and returns the constants named
// prefix* (name → literal value, "" for a value that is not a literal) of
// the const groups whose doc comment contains doc ("" : any group).
func constsIn(t *testing.T, dir, prefix, doc string) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	out := map[string]string{}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST || (doc != "" && (g.Doc == nil || !strings.Contains(g.Doc.Text(), doc))) {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				for i, id := range v.Names {
					if !strings.HasPrefix(id.Name, prefix) {
						continue
					}
					out[id.Name] = ""
					if i < len(v.Values) {
						if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							out[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	return out
}

// TestEveryCodeHasALabel: every alert type (the rule's types, every
// supervision kind), every fault code of the telemetry catalogue, and
// every door and mode value has a label in both languages of the pages, so
// a new code shows words on the board, not a raw key. The supervision kinds
// and alert types are read from the Go source, so adding one without a
// label (or without naming it here) fails.
func TestEveryCodeHasALabel(t *testing.T) {
	zh, en := web.Labels()
	var missing []string
	need := func(key string) {
		if !zh[key] || !en[key] {
			missing = append(missing, key)
		}
	}
	// Alert types of the rule engine (fault.<code>, repeated_fault.<code>
	// are checked through the fault codes below).
	types := constsIn(t, filepath.Join("..", "..", "alerts", "rule"), "Type", "")
	if len(types) < 5 {
		t.Fatalf("found only %d alert types in alerts/rule: the parser is wrong", len(types))
	}
	for name, v := range types {
		if strings.HasSuffix(name, "Prefix") {
			continue
		}
		if v == "" {
			t.Fatalf("alerts/rule.%s is not a string literal", name)
		}
		need("type." + v)
	}
	// Supervision kinds: maintenance's and those raised by the app.
	kinds := map[string]string{
		"EventOverdue": maintenance.EventOverdue, "EventUnverified": maintenance.EventUnverified,
		"EventInspectionDue": maintenance.EventInspectionDue, "EventInspectionLapsed": maintenance.EventInspectionLapsed,
		"EventNoContract": EventNoContract, "EventContractExpiring": EventContractExpiring,
		"EventLowBalance": EventLowBalance, "EventProblemLift": EventProblemLift,
	}
	declared := constsIn(t, filepath.Join("..", "..", "maintenance"), "Event", "Supervision event kinds")
	for k, v := range constsIn(t, ".", "Event", "Supervision event kinds") {
		declared[k] = v
	}
	for name := range declared {
		if _, ok := kinds[name]; !ok {
			t.Errorf("supervision kind %s is new: add it to this test and label type.supervision.<kind> in web/assets/js/i18n.js", name)
		}
	}
	if len(declared) != len(kinds) {
		t.Errorf("declared supervision kinds %v, test knows %d", declared, len(kinds))
	}
	for _, k := range kinds {
		need("type." + alerts.TypeSupervisionPrefix + k)
		need("sup.kind." + k)
	}
	for _, f := range telemetry.Catalogue {
		need("fault." + f.Code)
	}
	for d := telemetry.DoorState(0); d.String() != "invalid"; d++ {
		need("door." + d.String())
	}
	for m := telemetry.Mode(0); m.String() != "invalid"; m++ {
		need("mode." + m.String())
	}
	for s := telemetry.FaultState(0); s.String() != "invalid"; s++ {
		need("fstate." + s.String())
	}
	// The pager's alert type, the states of a page and the roles paged.
	need("type." + paging.TypePagingFailed)
	states := constsIn(t, filepath.Join("..", "..", "alerts", "paging"), "", "Page states")
	if len(states) < 6 {
		t.Fatalf("found %d page states in alerts/paging", len(states))
	}
	for _, v := range states {
		need("page.state." + v)
	}
	for _, r := range []string{oncall.RoleTechnician, oncall.RoleSupervisor, oncall.RoleManager, oncall.RoleSubdistrict} {
		need("page.role." + r)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("codes without a label in zh and en (web/assets/js/i18n.js): %v", missing)
	}
}
