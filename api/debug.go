package api

import (
	"net/http"
	"net/http/pprof"
	"reflect"
	"strconv"
	"time"
)

// FakeClock is the settable clock of --debug.fake-clock.
type FakeClock interface {
	Advance(time.Duration) time.Time
	Set(time.Time)
}

// DebugDeps are what the debug listener serves.
type DebugDeps struct {
	// FakeClock, if set, is served at POST /debug/clock?advance=DURATION&set=TIME.
	FakeClock FakeClock
	// Pprof serves net/http/pprof under /debug/pprof/.
	Pprof bool
}

// NewDebug is the handler of the debug listener (--debug.listen), apart
// from the API so that its endpoints (a settable clock, profiles exposing
// internals) are never on the API's address: the fake clock and pprof, if
// enabled, and the API's error conventions for everything else.
func NewDebug(d DebugDeps) http.Handler {
	mux := http.NewServeMux()
	if d.FakeClock != nil && !isNilFake(d.FakeClock) {
		mux.HandleFunc("POST /debug/clock", func(w http.ResponseWriter, r *http.Request) {
			if v := r.URL.Query().Get("set"); v != "" {
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					writeBad(w, badField("set", "set must be an RFC 3339 time, not %q", v))
					return
				}
				d.FakeClock.Set(t)
			}
			dur := time.Duration(0)
			if v := r.URL.Query().Get("advance"); v != "" {
				var err error
				if dur, err = time.ParseDuration(v); err != nil || dur < 0 {
					writeBad(w, badField("advance", "advance must be a non-negative duration such as 5m, not %q", v))
					return
				}
			}
			writeJSON(w, http.StatusOK, map[string]string{"now": ts(d.FakeClock.Advance(dur))})
		})
	}
	if d.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such debug endpoint: "+r.Method+" "+r.URL.Path+
			" (fake clock "+strconv.FormatBool(d.FakeClock != nil && !isNilFake(d.FakeClock))+", pprof "+strconv.FormatBool(d.Pprof)+")")
	})
	return mux
}

// isNilFake catches a typed nil pointer stored in the interface.
func isNilFake(f FakeClock) bool {
	v := reflect.ValueOf(f)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
