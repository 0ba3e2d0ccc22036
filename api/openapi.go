package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// The OpenAPI document is merged from fragments, one per area of the API
// (api/openapi/<area>.json, embedded): each has "paths" and the
// "components" it needs. A fragment marked "x-liftwatch-optional": true
// documents routes only some commands add (the demo's): it is merged when
// any of its paths is served. TestOpenAPIMatchesRoutes checks that every
// route is documented and every documented operation is a route.

//go:embed openapi/*.json
var openapiFS embed.FS

type fragment struct {
	Optional   bool                                  `json:"x-liftwatch-optional"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

var openapiMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// OpenAPI merges the fragments into one OpenAPI 3 document for the routes
// this server serves. Two fragments defining the same operation, or the
// same component differently, are an error.
func (s *Server) OpenAPI() ([]byte, error) {
	served := map[string]bool{}
	for _, r := range s.routes {
		_, p, _ := strings.Cut(r.Pattern, " ")
		served[p] = true
	}
	names, err := fs.Glob(openapiFS, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	paths := map[string]map[string]json.RawMessage{}
	comps := map[string]map[string]json.RawMessage{}
	for _, name := range names {
		b, err := openapiFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f fragment
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if f.Optional && !slices.ContainsFunc(keys(f.Paths), func(p string) bool { return served[p] }) {
			continue
		}
		for p, ops := range f.Paths {
			if paths[p] == nil {
				paths[p] = map[string]json.RawMessage{}
			}
			for m, op := range ops {
				if _, dup := paths[p][m]; dup {
					return nil, fmt.Errorf("%s: %s %s is documented twice", name, strings.ToUpper(m), p)
				}
				paths[p][m] = op
			}
		}
		for kind, items := range f.Components {
			if comps[kind] == nil {
				comps[kind] = map[string]json.RawMessage{}
			}
			for k, v := range items {
				if old, dup := comps[kind][k]; dup && !sameJSON(old, v) {
					return nil, fmt.Errorf("%s: components.%s.%s differs from another fragment's", name, kind, k)
				}
				comps[kind][k] = v
			}
		}
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "liftwatch API", "version": "1",
			"description": "Lift monitoring and maintenance. Sign in with POST /api/v1/session (cookie; send X-CSRF-Token on state changes) " +
				"or send Authorization: Bearer <API token>. Lists take limit (default 100, at most 1000) and cursor; the next page is in the Link header (rel=next). " +
				"Errors: {\"error\": {\"code\", \"message\", \"field\"?, \"state\"?, \"alert\"?}}."},
		"paths":      paths,
		"components": comps,
	}
	return json.MarshalIndent(doc, "", "  ")
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) int {
	b, err := s.OpenAPI()
	if err != nil {
		s.d.Logger.Error("openapi document", "err", err)
		return writeError(w, http.StatusInternalServerError, "the API description is broken: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return http.StatusOK
}
