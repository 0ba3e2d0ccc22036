// Package api is liftwatch's HTTP interface: health and readiness, the
// Prometheus metrics endpoint, and the JSON API over lifts, their live state,
// their history and the rejected messages. Handlers take their data through
// small interfaces, so authentication (the web issue) wraps the handler
// without touching them.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/liftwatch/liftwatch/history"
	"github.com/liftwatch/liftwatch/identity"
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

// History reads stored telemetry, from the embedded store or InfluxDB
// (history.Reader).
type History interface {
	Query(ctx context.Context, q history.Query) (history.Page, error)
}

// Safety tells a lift's open alerts and whether it is flagged unsafe.
type Safety interface {
	LiftAlerts(lift string) (open int, unsafe bool)
}

// Check is a readiness check of one dependency; nil means ready.
type Check func(ctx context.Context) error

// Deps are what the handlers read.
type Deps struct {
	// ReportWait is how long a report waits for a place among those
	// running (MaxConcurrentReports) before answering 503 (0: 5 s).
	ReportWait  time.Duration
	Lifts       Lifts
	States      States
	DeadLetters DeadLetters
	History     History
	Safety      Safety // nil: no alert information on lifts
	Ready       map[string]Check
	Gatherer    prometheus.Gatherer
	Registerer  prometheus.Registerer
	Logger      *slog.Logger
	// Alerts wires the alert endpoints (nil: none).
	Alerts *AlertDeps
	// Maintenance wires plans, work orders, the checklist, supervision,
	// compliance and their exports (nil: none); Trusteeship a lift's
	// manager and contracts; Fund the owners' fund and statement export.
	Maintenance *MaintenanceDeps
	Trusteeship *TrusteeshipDeps
	Fund        *FundDeps
	// OnCall wires the on-call roster (nil: none).
	OnCall *OnCallDeps
	// Auth turns the routes' guards on (nil: every route open, for unit
	// tests of handlers; serve always sets it).
	Auth *AuthDeps
	// LiftFeed serves the lift stream (nil: no GET /api/v1/lifts/stream).
	LiftFeed LiftFeed
	// Contractors gives the duty phone of a contractor for the lift and
	// alert views' contractor_phone (nil: none).
	Contractors ContractorPhones
}

// ContractorPhones is the contractor directory as the views read it
// (registry.Contractors).
type ContractorPhones interface {
	Phone(contractor string) string
}

// phone is the duty phone of contractor, "" without a directory.
func (s *Server) phone(contractor string) string {
	if s.d.Contractors == nil || contractor == "" {
		return ""
	}
	return s.d.Contractors.Phone(contractor)
}

// Server serves the API.
type Server struct {
	d      Deps
	mux    *http.ServeMux
	reqs   *prometheus.CounterVec
	routes []Route
	// notFound answers a browser's unknown page (see HandleNotFound).
	notFound http.Handler
	// reports bounds the reports and exports that run at once (heavy):
	// in all, and per actor (mine), so one user cannot shut the others out.
	reports chan struct{}
	mineMu  sync.Mutex
	mine    map[string]int
}

// MaxConcurrentReports is how many reports and exports (reconciliation,
// statements, compliance, CSV exports) run at once, MaxReportsPerActor of
// them one user's; a further one waits up to Deps.ReportWait (5 s), then
// answers 503 with Retry-After (a user's own third at once: 429). Four
// multi-year reconciliations at once made a cheap GET wait 25 s (issue 18).
const (
	MaxConcurrentReports = 4
	MaxReportsPerActor   = 2
)

const defaultReportWait = 5 * time.Second

// heavy says whether a route is a report or an export, bounded by
// MaxConcurrentReports.
func heavy(pattern string) bool {
	switch pattern {
	case "GET /api/v1/lifts/{id}/fund/reconciliation", "GET /api/v1/households/{id}/statement", "GET /api/v1/export/statement.csv",
		"GET /api/v1/reports/compliance", "GET /api/v1/reports/rescue", "GET /api/v1/export/work-orders.csv", "GET /api/v1/export/compliance.csv":
		return true
	}
	return false
}

// report takes a place among the reports running, waiting up to
// Deps.ReportWait; 0 and a release func, or the status it answered.
func (s *Server) report(w http.ResponseWriter, r *http.Request) (func(), int) {
	who := s.actor(r).Name
	s.mineMu.Lock()
	if s.mine[who] >= MaxReportsPerActor {
		s.mineMu.Unlock()
		w.Header().Set("Retry-After", "10")
		return nil, writeCoded(w, http.StatusTooManyRequests, "busy", fmt.Sprintf("you have %d reports running; wait for them", MaxReportsPerActor))
	}
	s.mine[who]++
	s.mineMu.Unlock()
	mineDone := func() {
		s.mineMu.Lock()
		if s.mine[who]--; s.mine[who] == 0 {
			delete(s.mine, who)
		}
		s.mineMu.Unlock()
	}
	wait := s.d.ReportWait
	if wait <= 0 {
		wait = defaultReportWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.reports <- struct{}{}:
		return func() { <-s.reports; mineDone() }, 0
	case <-t.C:
	case <-r.Context().Done():
	}
	mineDone()
	w.Header().Set("Retry-After", "10")
	return nil, writeCoded(w, http.StatusServiceUnavailable, "busy", fmt.Sprintf("%d reports are running; try again in a few seconds", MaxConcurrentReports))
}

// HandleNotFound sets what answers a GET of an unknown path outside /api/
// from a browser (Accept: text/html): the web app's "page not found" with a
// link home. Everything else unknown stays a 404 in the error envelope.
// Call it before serving.
func (s *Server) HandleNotFound(h http.Handler) { s.notFound = h }

// New builds the server and registers its request metric.
func New(d Deps) *Server {
	s := &Server{d: d, mux: http.NewServeMux(), reports: make(chan struct{}, MaxConcurrentReports), mine: map[string]int{},
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_http_requests_total",
			Help: "HTTP requests by route and status code."}, []string{"route", "code"})}
	if d.Registerer != nil {
		d.Registerer.MustRegister(s.reqs)
	}
	if s.d.Logger == nil {
		s.d.Logger = slog.Default()
	}
	s.handle("GET /healthz", public, s.healthz)
	s.handle("GET /readyz", public, s.readyz)
	s.Handle("GET /metrics", public, promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{}))
	s.handle("GET /api/v1/lifts", Guard{Action: identity.ReadLift}, s.listLifts)
	if d.LiftFeed != nil {
		s.handle("GET /api/v1/lifts/stream", Guard{Action: identity.ReadLift}, s.streamLifts)
	}
	s.handle("GET /api/v1/lifts/{id}", Guard{Action: identity.ReadLift, Object: s.liftInPath}, s.getLift)
	s.handle("GET /api/v1/lifts/{id}/history", Guard{Action: identity.ReadLift, Object: s.liftInPath}, s.history)
	s.handle("GET /api/v1/deadletters", Guard{Action: identity.Admin}, s.deadLetters)
	if d.Alerts != nil {
		s.alertRoutes()
	}
	if d.Maintenance != nil {
		s.maintenanceRoutes()
	}
	if d.Trusteeship != nil {
		s.trusteeshipRoutes()
	}
	if d.Fund != nil {
		s.fundRoutes()
	}
	if d.OnCall != nil {
		s.onCallRoutes()
	}
	if d.Auth != nil && d.Auth.Accounts != nil {
		s.identityRoutes()
	}
	s.handle("GET /api/v1/openapi.json", public, s.openAPI)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.reqs.WithLabelValues("/", strconv.Itoa(s.unmatched(w, r))).Inc()
	})
	return s
}

// Handler is the HTTP handler.
func (s *Server) Handler() http.Handler { return s }

// Handle serves pattern (http.ServeMux syntax) from h besides the API's own
// routes (the demo adds its own so), under the same conventions: unclean
// paths and unknown ones are a 404 in the error envelope, a wrong method a
// 405 with Allow. Call it before serving.
func (s *Server) Handle(pattern string, g Guard, h http.Handler) {
	s.handle(pattern, g, func(w http.ResponseWriter, r *http.Request) int {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		return rec.code
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// inRegister checks estate and lift filters: each must name an estate or a
// lift of the register (a typo would otherwise match nothing, silently).
// Only for those who may see the whole register (admins, and everyone when
// authorisation is off): for anyone else a filter naming something unknown
// answers as one naming something out of their scope does, an empty list,
// so that a filter does not tell which ids exist.
func (s *Server) inRegister(r *http.Request, estates, lifts []string) error {
	if s.d.Auth != nil && s.actor(r).Role != identity.RoleAdmin {
		return nil
	}
	for _, id := range lifts {
		if _, ok := s.d.Lifts.Get(id); !ok {
			return badField("lift", "no lift %q in the register", id)
		}
	}
	if len(estates) == 0 {
		return nil
	}
	known := map[string]bool{}
	for _, l := range s.d.Lifts.Lifts() {
		known[l.Estate] = true
	}
	for _, e := range estates {
		if !known[e] {
			return badField("estate", "no estate %q in the register", e)
		}
	}
	return nil
}

func (s *Server) handle(pattern string, g Guard, h func(http.ResponseWriter, *http.Request) int) {
	route := pattern
	s.routes = append(s.routes, Route{Pattern: pattern, Guard: g})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if !g.Public {
			// What a signed-in user reads (alerts, ledgers, exports) stays
			// out of shared and browser caches.
			w.Header().Set("Cache-Control", "no-store")
		}
		code := s.check(w, r, g)
		if code == 0 && heavy(route) {
			var release func()
			if release, code = s.report(w, r); code == 0 {
				defer release()
			}
		}
		if code == 0 {
			code = h(w, r)
		}
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

func (s *Server) view(l *registry.Lift) Lift {
	var open int
	var unsafe bool
	if s.d.Safety != nil {
		open, unsafe = s.d.Safety.LiftAlerts(l.ID)
	}
	var live *liftstate.Lift
	if st, ok := s.d.States.Get(l.ID); ok {
		live = &st
	}
	return liftView(l, s.phone(l.Contractor), live, open, unsafe)
}

// listLifts: ?estate=slug&online=true|false; repeated values are
// alternatives. Paginated in register order; the cursor is the last lift
// of the previous page.
func (s *Server) listLifts(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"estate", "online"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	estates, _ := values(q, "estate", nil, "")
	if err := s.inRegister(r, estates, nil); err != nil {
		return writeBad(w, err)
	}
	online, err := boolParam(q, "online")
	if err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	if p.cursor != "" {
		if _, ok := s.d.Lifts.Get(p.cursor); !ok {
			return writeBad(w, badField("cursor", "cursor %q is not one this list gave (take it from the Link header)", p.cursor))
		}
	}
	set, all := s.scopeLifts(r, identity.ReadLift)
	lifts := s.d.Lifts.Lifts()
	out := make([]Lift, 0, min(len(lifts), p.limit))
	started := p.cursor == ""
	next := ""
	for i := range lifts {
		l := &lifts[i]
		if !started {
			started = l.ID == p.cursor
			continue
		}
		if !all && !set[l.ID] || len(estates) > 0 && !slices.Contains(estates, l.Estate) {
			continue
		}
		v := s.view(l)
		if online != nil && v.Online != *online {
			continue
		}
		if len(out) == p.limit {
			next = out[len(out)-1].ID
			break
		}
		out = append(out, v)
	}
	return writePage(w, r, out, next)
}

func (s *Server) getLift(w http.ResponseWriter, r *http.Request) int {
	id := r.PathValue("id")
	l, ok := s.d.Lifts.Get(id)
	if !ok {
		return writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(id))
	}
	return writeJSON(w, http.StatusOK, s.view(l))
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
	hq := history.Query{Lift: id}
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
		c, err := history.ParseCursor(v)
		if err != nil {
			return writeBad(w, badField("cursor", "cursor %q is %v", v, err))
		}
		hq.After = &c
	}
	page, err := s.d.History.Query(r.Context(), hq)
	if err != nil {
		s.d.Logger.Error("history query failed", "lift", id, "err", err)
		return writeError(w, http.StatusInternalServerError, "history query failed")
	}
	out := HistoryPage{Points: make([]PointView, 0, len(page.Points))}
	for i := range page.Points {
		out.Points = append(out.Points, pointView(&page.Points[i]))
	}
	if page.Next != nil {
		out.NextCursor = page.Next.String()
		setNext(w, r, out.NextCursor)
	}
	return writeJSON(w, http.StatusOK, out)
}

// deadLetters: ?reason=malformed_json&reason=unknown_lift&limit=100,
// newest first; the cursor is the seq of the last one of the previous page.
func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"reason"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	reasons, err := values(q, "reason", func(v string) bool { return slices.Contains(telemetry.Reasons[:], telemetry.Reason(v)) },
		"a rejection reason")
	if err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	before, err := p.int64Cursor()
	if err != nil {
		return writeBad(w, err)
	}
	views := make([]DeadLetterView, 0)
	next := ""
	for _, d := range s.d.DeadLetters.List("", 0) {
		if before > 0 && d.Seq >= before || len(reasons) > 0 && !slices.Contains(reasons, string(d.Reason)) {
			continue
		}
		if len(views) == p.limit {
			next = strconv.FormatInt(views[len(views)-1].Seq, 10)
			break
		}
		views = append(views, deadLetterView(&d))
	}
	return writePage(w, r, views, next)
}
