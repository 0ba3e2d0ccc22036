package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/liftwatch/liftwatch/"

// allowed lists, for each package whose place in the layering matters, the
// liftwatch packages it may import directly. A package not listed here may
// not be imported by a listed one unless it is in the list; a new package
// must be added (the test says so), so the rule is decided, not drifted into.
var allowed = map[string][]string{
	"telemetry":      {},
	"registry":       {"telemetry"},
	"liftstate":      {"registry", "telemetry"},
	"alerts/rule":    {"liftstate", "telemetry"},
	"alerts/inhibit": {"alerts/rule", "liftstate", "telemetry"},
	"alerts/silence": {},
	"alerts":         {"alerts/inhibit", "alerts/rule", "alerts/silence", "internal/run", "liftstate", "telemetry"},
	"alerts/notify":  {"alerts", "telemetry"},
	// The pager: people (oncall) paged over channels (notify) for alerts.
	"alerts/paging":         {"alerts", "alerts/notify", "oncall", "registry", "telemetry"},
	"history":               {"telemetry"},
	"history/influx":        {"history"},
	"history/sqlhistory":    {"history"},
	"ingest":                {"history", "internal/mqttconn", "liftstate", "registry", "telemetry"},
	"maintenance/checklist": {},
	"maintenance":           {"internal/civil", "maintenance/checklist"},
	"trusteeship":           {"internal/civil", "registry"},
	"fund":                  {"internal/civil"},
	"identity":              {},
	"simulator":             {"internal/mqttconn", "registry", "telemetry"},
	// A simulated contractor knows liftwatch only through its HTTP API.
	"simulator/contractor": {},
	// The demo's history drives the domain services in process.
	"simulator/demohistory": {"fund", "internal/civil", "maintenance", "maintenance/checklist", "registry", "simulator/contractor", "trusteeship"},
	// The API reads through interfaces it owns, over domain types: never a
	// storage package (store, a history implementation).
	"api": {"alerts", "alerts/notify", "alerts/paging", "alerts/silence", "history", "identity", "ingest", "liftstate", "maintenance", "maintenance/checklist", "fund", "trusteeship", "registry", "telemetry"},
	// The pages: embedded shells and scripts registered on the API's router;
	// they read everything through /api/v1.
	"web": {"api", "identity"},
	// SQL repositories implement the domain packages' interfaces.
	"store": {"alerts", "alerts/notify", "alerts/paging", "alerts/rule", "alerts/silence", "fund", "identity", "internal/civil", "maintenance", "maintenance/checklist", "registry", "telemetry", "trusteeship"},

	// Paging channels: each integration knows only the Notifier seam;
	// alerts/notify/channel builds them from configuration.
	"alerts/notify/aliyun":   {"alerts/notify"},
	"alerts/notify/wecom":    {"alerts/notify"},
	"alerts/notify/dingtalk": {"alerts/notify"},
	"alerts/notify/email":    {"alerts/notify"},
	"alerts/notify/channel":  {"alerts/notify", "alerts/notify/aliyun", "alerts/notify/dingtalk", "alerts/notify/email", "alerts/notify/wecom"},
}

// anywhere are packages with no layering of their own: helpers any package
// may use.
var anywhere = []string{"internal/clock", "internal/civil", "internal/estate", "internal/config", "internal/listen", "internal/run", "internal/suggest"}

type pkg struct {
	ImportPath string
	Imports    []string
}

func list(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// TestImportRules: every listed package imports only what the table allows;
// nothing but cmd/liftwatch imports internal/app; no package imports cmd/.
func TestImportRules(t *testing.T) {
	ps := list(t)
	if len(ps) < 20 {
		t.Fatalf("go list found %d packages; the test would prove nothing", len(ps))
	}
	checked := 0
	for _, p := range ps {
		name := strings.TrimPrefix(p.ImportPath, module)
		for _, imp := range p.Imports {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if strings.HasPrefix(dep, "cmd/") {
				t.Errorf("%s imports %s: nothing imports a command", name, dep)
			}
			if dep == "internal/app" && name != "cmd/liftwatch" {
				t.Errorf("%s imports internal/app: only cmd/liftwatch wires the service", name)
			}
			rule, listed := allowed[name]
			if !listed || slices.Contains(anywhere, dep) {
				continue
			}
			checked++
			if !slices.Contains(rule, dep) {
				t.Errorf("%s imports %s, which docs/architecture.md's import rules do not allow (allowed: %v)", name, dep, rule)
			}
		}
	}
	for name := range allowed {
		if !slices.ContainsFunc(ps, func(p pkg) bool { return p.ImportPath == module+name }) {
			t.Errorf("rule for %s, which does not exist: remove or rename it", name)
		}
	}
	if checked == 0 {
		t.Fatal("no import was checked")
	}
}
