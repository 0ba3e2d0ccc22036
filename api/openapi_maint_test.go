package api

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/registry"
)

// commonRefs are the components the shared fragment (common.json, AUTH's)
// defines; everything else a fragment refers to it must define itself.
var commonRefs = []string{"schemas/Error", "responses/BadRequest", "responses/Unauthorized", "responses/Forbidden",
	"responses/NotFound", "responses/Conflict", "parameters/Limit", "parameters/Cursor"}

// TestOpenAPIFragmentsOfMaintenanceFundTrusteeship: the fragments
// maintenance.json, trusteeship.json and fund.json document exactly the
// routes those areas register, each with its guard's action, and every
// reference resolves.
func TestOpenAPIFragmentsOfMaintenanceFundTrusteeship(t *testing.T) {
	f := newMaintFixture(t, false)
	reg := prometheus.NewRegistry()
	bare := New(Deps{Lifts: registry.NewIndex(testLifts()), States: fakeStates{}, DeadLetters: ingest.NewDeadLetters(1), Gatherer: reg, Registerer: reg})
	base := map[string]bool{}
	for _, r := range bare.Routes() {
		base[r.Pattern] = true
	}
	full := f.server
	routes := map[string]string{}
	for _, r := range full.Routes() {
		if !base[r.Pattern] {
			routes[r.Pattern] = string(r.Guard.Action)
		}
	}
	if len(routes) != 26 {
		t.Fatalf("%d maintenance/trusteeship/fund routes, the contract has 26 (25 and the households list)", len(routes))
	}
	documented := map[string]string{}
	refRE := regexp.MustCompile(`"\$ref":\s*"#/components/([a-z]+/[A-Za-z]+)"`)
	for _, name := range []string{"maintenance", "trusteeship", "fund"} {
		b, err := os.ReadFile("openapi/" + name + ".json")
		if err != nil {
			t.Fatal(err)
		}
		var frag struct {
			Paths      map[string]map[string]json.RawMessage `json:"paths"`
			Components map[string]map[string]json.RawMessage `json:"components"`
		}
		if err := json.Unmarshal(b, &frag); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for p, ops := range frag.Paths {
			for m, raw := range ops {
				var o struct {
					Action string `json:"x-liftwatch-action"`
				}
				if err := json.Unmarshal(raw, &o); err != nil {
					t.Fatal(err)
				}
				documented[strings.ToUpper(m)+" "+p] = o.Action
			}
		}
		for _, m := range refRE.FindAllStringSubmatch(string(b), -1) {
			kind, item, _ := strings.Cut(m[1], "/")
			if _, ok := frag.Components[kind][item]; !ok && !slices.Contains(commonRefs, m[1]) {
				t.Errorf("%s refers to #/components/%s, which nobody defines", name, m[1])
			}
		}
	}
	for p, act := range routes {
		if got, ok := documented[p]; !ok {
			t.Errorf("route %s is not documented", p)
		} else if got != act {
			t.Errorf("%s: documented action %q, guard %q", p, got, act)
		}
	}
	for p := range documented {
		if _, ok := routes[p]; !ok {
			t.Errorf("%s is documented but not a route", p)
		}
	}
}
