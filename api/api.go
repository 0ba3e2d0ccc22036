// Package api is liftwatch's HTTP interface: health and readiness, the
// Prometheus metrics endpoint, and the JSON API over lifts, their live state,
// their history and the rejected messages. Handlers take their data through
// small interfaces, so authentication (the web issue) wraps the handler
// without touching them.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Lifts is the register.
type Lifts interface {
	Lifts() []registry.Lift
	Get(id string) (*registry.Lift, bool)
}

// States is the live state of lifts.
type States interface {
	Get(lift string) (liftstate.Lift, bool)
}

// DeadLetters lists rejected messages.
type DeadLetters interface {
	List(reason telemetry.Reason, limit int) []ingest.DeadLetter
}

// History reads stored telemetry, from the embedded store or InfluxDB.
type History = ingest.HistoryReader

// Safety tells a lift's open alerts and whether it is flagged unsafe.
type Safety interface {
	LiftAlerts(lift string) (open int, unsafe bool)
}

// Check is a readiness check of one dependency; nil means ready.
type Check func(ctx context.Context) error

// Deps are what the handlers read.
type Deps struct {
	Lifts       Lifts
	States      States
	DeadLetters DeadLetters
	History     History
	Safety      Safety // nil: no alert information on lifts
	Ready       map[string]Check
	Gatherer    prometheus.Gatherer
	Registerer  prometheus.Registerer
	Logger      *slog.Logger
	// FakeClock, if set, is served at POST /debug/clock?advance=DURATION.
	FakeClock FakeClock
	// Alerts wires the alert endpoints (nil: none).
	Alerts *AlertDeps
	// Pprof serves net/http/pprof under /debug/pprof/ (off by default: it
	// exposes internals).
	Pprof bool
}

// Server serves the API.
type Server struct {
	d    Deps
	mux  *http.ServeMux
	reqs *prometheus.CounterVec
}

// New builds the server and registers its request metric.
func New(d Deps) *Server {
	s := &Server{d: d, mux: http.NewServeMux(),
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"})}
	if d.Registerer != nil {
		d.Registerer.MustRegister(s.reqs)
	}
	if s.d.Logger == nil {
		s.d.Logger = slog.Default()
	}
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{}))
	s.handle("GET /api/v1/lifts", s.listLifts)
	s.handle("GET /api/v1/lifts/{id}", s.getLift)
	s.handle("GET /api/v1/lifts/{id}/history", s.history)
	s.handle("GET /api/v1/deadletters", s.deadLetters)
	if d.Alerts != nil {
		s.alertRoutes()
	}
	if d.FakeClock != nil && !isNilFake(d.FakeClock) {
		s.handle("POST /debug/clock", func(w http.ResponseWriter, r *http.Request) int {
			if v := r.URL.Query().Get("set"); v != "" {
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return writeBad(w, badField("set", "set must be an RFC 3339 time, not %q", v))
				}
				d.FakeClock.Set(t)
			}
			dur := time.Duration(0)
			if v := r.URL.Query().Get("advance"); v != "" {
				var err error
				if dur, err = time.ParseDuration(v); err != nil || dur < 0 {
					return writeBad(w, badField("advance", "advance must be a non-negative duration such as 5m, not %q", v))
				}
			}
			return writeJSON(w, http.StatusOK, map[string]time.Time{"now": d.FakeClock.Advance(dur)})
		})
	}
	if d.Pprof {
		s.mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		s.mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		s.mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		s.mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	}
	s.handle("/", s.unmatched)
	return s
}

// Handler is the HTTP handler.
func (s *Server) Handler() http.Handler { return s }

func (s *Server) handle(pattern string, h func(http.ResponseWriter, *http.Request) int) {
	route := pattern
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		code := h(w, r)
		s.reqs.WithLabelValues(route, strconv.Itoa(code)).Inc()
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) int {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok\n"))
	return http.StatusOK
}

// DegradedError is what a readiness check returns for a part that works
// but not fully (no notification receivers): /readyz lists it as
// "degraded: <reason>" and stays 200, because the service does its job.
type DegradedError struct{ Reason string }

func (e *DegradedError) Error() string { return "degraded: " + e.Reason }

// readyz reports each dependency; 503 names the ones not ready. A degraded
// check (DegradedError) is listed but leaves the answer 200.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) int {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	out := map[string]string{}
	code := http.StatusOK
	for name, check := range s.d.Ready {
		var degraded *DegradedError
		if err := check(ctx); errors.As(err, &degraded) {
			out[name] = degraded.Error()
		} else if err != nil {
			out[name] = err.Error()
			code = http.StatusServiceUnavailable
		} else {
			out[name] = "ok"
		}
	}
	return writeJSON(w, code, out)
}

// Lift is a lift as the API shows it: register entry and live state.
type Lift struct {
	registry.Lift
	Online     bool       `json:"online"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	LastEvent  *time.Time `json:"last_event,omitempty"`
	Boot       int64      `json:"boot"`
	Messages   int64      `json:"messages"`
	Duplicates int64      `json:"duplicates"`
	Gaps       int64      `json:"gaps"`
	// Stale counts messages too far behind the lift's sequence to check for
	// repeats; SeqBackwards flags a lift whose sequence went backwards (a
	// counter reset without a reboot, a backlog out of order).
	Stale          int64      `json:"stale"`
	SeqBackwards   bool       `json:"seq_backwards"`
	SeqBackwardsAt *time.Time `json:"seq_backwards_at,omitempty"`
	// OpenAlerts and Unsafe come from the alert engine; Unsafe is set by an
	// open critical fault until a technician resolves it.
	OpenAlerts int     `json:"open_alerts"`
	Unsafe     bool    `json:"unsafe"`
	Status     *Status `json:"status,omitempty"`
}

// Status is a lift's last status report.
type Status struct {
	Time       time.Time `json:"time"`
	Mode       string    `json:"mode"`
	Floor      int       `json:"floor"`
	Moving     bool      `json:"moving"`
	Direction  string    `json:"direction"`
	Door       string    `json:"door"`
	DoorZone   bool      `json:"door_zone"`
	Occupied   bool      `json:"occupied"`
	Trips      int64     `json:"trips"`
	DoorCycles int64     `json:"door_cycles"`
	RunS       int64     `json:"run_s"`
	BatteryPct *int      `json:"battery_pct,omitempty"`
}

func (s *Server) view(l *registry.Lift) Lift {
	v := Lift{Lift: *l}
	if v.HalfLandings == nil {
		v.HalfLandings = []int{}
	}
	if s.d.Safety != nil {
		v.OpenAlerts, v.Unsafe = s.d.Safety.LiftAlerts(l.ID)
	}
	st, ok := s.d.States.Get(l.ID)
	if !ok {
		return v
	}
	v.Online, v.LastSeen, v.LastEvent, v.Boot = st.Online, st.LastSeen, st.LastEvent, st.Boot
	v.Messages, v.Duplicates, v.Gaps = st.Messages, st.Duplicates, st.Gaps
	v.Stale, v.SeqBackwards, v.SeqBackwardsAt = st.Stale, st.SeqBackwards, st.SeqBackwardsAt
	if m := st.Status; m != nil {
		v.Status = &Status{Time: m.Time().UTC(), Mode: m.Mode.String(), Floor: m.Floor, Moving: m.Moving,
			Direction: m.Direction.String(), Door: m.Door.String(), DoorZone: m.DoorZone, Occupied: m.Occupied,
			Trips: m.Trips, DoorCycles: m.DoorCycles, RunS: m.RunS}
		if m.Has&telemetry.FieldBattery != 0 {
			b := m.BatteryPct
			v.Status.BatteryPct = &b
		}
	}
	return v
}

// listLifts: ?estate=slug&online=true|false; repeated values are
// alternatives.
func (s *Server) listLifts(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"estate", "online"}, nil); err != nil {
		return writeBad(w, err)
	}
	estates, _ := values(q, "estate", nil, "")
	online, err := boolParam(q, "online")
	if err != nil {
		return writeBad(w, err)
	}
	all := s.d.Lifts.Lifts()
	out := make([]Lift, 0, len(all))
	for i := range all {
		if len(estates) > 0 && !slices.Contains(estates, all[i].Estate) {
			continue
		}
		v := s.view(&all[i])
		if online != nil && v.Online != *online {
			continue
		}
		out = append(out, v)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getLift(w http.ResponseWriter, r *http.Request) int {
	id := r.PathValue("id")
	l, ok := s.d.Lifts.Get(id)
	if !ok {
		return writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(id))
	}
	return writeJSON(w, http.StatusOK, s.view(l))
}

// HistoryPage is the answer of /api/v1/lifts/{id}/history.
type HistoryPage struct {
	Points []ingest.HistoryPoint `json:"points"`
	// NextCursor, if set, is the cursor parameter that fetches the next
	// (older) page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// history: ?kind=trip&kind=door&since=T&until=T&limit=100&cursor=C, newest
// first.
func (s *Server) history(w http.ResponseWriter, r *http.Request) int {
	id := r.PathValue("id")
	if _, ok := s.d.Lifts.Get(id); !ok {
		return writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(id))
	}
	if s.d.History == nil {
		return writeError(w, http.StatusNotImplemented, "telemetry history is not available in this deployment")
	}
	q := r.URL.Query()
	if err := params(q, []string{"kind"}, []string{"since", "until", "limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	hq := ingest.HistoryQuery{Lift: id}
	var err error
	if hq.Kinds, err = values(q, "kind", func(v string) bool { _, ok := telemetry.ParseKind(v); return ok },
		"one of status, trip, door, fault, alarm"); err != nil {
		return writeBad(w, err)
	}
	if hq.Since, err = timeParam(q, "since"); err != nil {
		return writeBad(w, err)
	}
	if hq.Until, err = timeParam(q, "until"); err != nil {
		return writeBad(w, err)
	}
	if hq.Limit, err = intParam(r, "limit", 100, 1, 10000); err != nil {
		return writeBad(w, err)
	}
	if v := q.Get("cursor"); v != "" {
		c, err := ingest.ParseHistoryCursor(v)
		if err != nil {
			return writeBad(w, badField("cursor", "cursor %q is %v", v, err))
		}
		hq.After = &c
	}
	page, err := s.d.History.QueryHistory(r.Context(), hq)
	if err != nil {
		s.d.Logger.Error("history query failed", "lift", id, "err", err)
		return writeError(w, http.StatusInternalServerError, "history query failed")
	}
	out := HistoryPage{Points: page.Points}
	if out.Points == nil {
		out.Points = []ingest.HistoryPoint{}
	}
	if page.Next != nil {
		out.NextCursor = page.Next.String()
	}
	return writeJSON(w, http.StatusOK, out)
}

// deadLetters: ?reason=malformed_json&reason=unknown_lift&limit=100
func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"reason"}, []string{"limit"}); err != nil {
		return writeBad(w, err)
	}
	reasons, err := values(q, "reason", func(v string) bool { return slices.Contains(telemetry.Reasons[:], telemetry.Reason(v)) },
		"a rejection reason")
	if err != nil {
		return writeBad(w, err)
	}
	limit, err := intParam(r, "limit", 100, 1, 10000)
	if err != nil {
		return writeBad(w, err)
	}
	var out []ingest.DeadLetter
	if len(reasons) == 1 {
		out = s.d.DeadLetters.List(telemetry.Reason(reasons[0]), limit)
	} else {
		for _, d := range s.d.DeadLetters.List("", 0) {
			if len(out) < limit && (len(reasons) == 0 || slices.Contains(reasons, string(d.Reason))) {
				out = append(out, d)
			}
		}
	}
	if out == nil {
		out = []ingest.DeadLetter{}
	}
	return writeJSON(w, http.StatusOK, out)
}

// FakeClock is the settable clock of --debug.fake-clock.
type FakeClock interface {
	Advance(time.Duration) time.Time
	Set(time.Time)
}

// isNilFake catches a typed nil pointer stored in the interface.
func isNilFake(f FakeClock) bool {
	v := reflect.ValueOf(f)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
