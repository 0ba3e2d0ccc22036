package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// WorkOrders is the work-order side of maintenance: the lifecycle actions
// of maintenance.Service and the reads of its store.
type WorkOrders interface {
	WorkOrder(ctx context.Context, id int64) (*maintenance.WorkOrder, error)
	WorkOrders(ctx context.Context, f maintenance.Filter) ([]*maintenance.WorkOrder, error)
	Start(ctx context.Context, id int64, a maintenance.Actor, technician string) (*maintenance.WorkOrder, error)
	RecordChecklist(ctx context.Context, id int64, a maintenance.Actor, results []maintenance.ItemResult) (*maintenance.WorkOrder, error)
	Complete(ctx context.Context, id int64, a maintenance.Actor, c maintenance.Completion) (*maintenance.WorkOrder, error)
	Accept(ctx context.Context, id int64, a maintenance.Actor, note string) (*maintenance.WorkOrder, error)
	Reject(ctx context.Context, id int64, a maintenance.Actor, reason string) (*maintenance.WorkOrder, error)
	Cancel(ctx context.Context, id int64, a maintenance.Actor, reason string) (*maintenance.WorkOrder, error)
}

// LiftPlan is one lift's routine plan and what it was computed from.
type LiftPlan struct {
	Lift maintenance.LiftInfo
	Plan maintenance.Plan
	// Last is, per level (index level-1), the last day a visit of that
	// level or higher was signed done; 0: none since commissioning.
	Last [4]maintenance.Day
}

// Plans computes routine plans.
type Plans interface {
	// Plans computes the plans of the lifts named, now, in that order; a
	// lift maintenance does not know is left out.
	Plans(ctx context.Context, lifts []string) ([]LiftPlan, error)
}

// ComplianceReports computes contractors' monthly compliance over a set of
// lifts.
type ComplianceReports interface {
	Compliance(ctx context.Context, year int, month time.Month, lifts []string) ([]maintenance.Compliance, error)
}

// SupervisionLog lists the supervision events maintenance raised.
type SupervisionLog interface {
	SupervisionEvents(ctx context.Context) ([]maintenance.SupervisionEvent, error)
}

// ContractFindings evaluates the lifts' maintenance contracts now
// (trusteeship: no valid contract, contract expiring).
type ContractFindings interface {
	Findings(ctx context.Context, at time.Time, lifts []trusteeship.LiftRef) ([]trusteeship.Finding, error)
}

// MaintenanceDeps wire the maintenance, supervision and compliance routes
// and the work-order and compliance exports; nil leaves them out.
type MaintenanceDeps struct {
	WorkOrders  WorkOrders
	Plans       Plans
	Compliance  ComplianceReports
	Supervision SupervisionLog
	// Contracts adds trusteeship's findings to /supervision (nil: only
	// maintenance's events).
	Contracts ContractFindings
	Now       func() time.Time
}

// LiftInfo is what maintenance knows of a lift (commissioning date,
// on-demand choice, certificate expiry); ok is false for a lift it does
// not know. The composition root builds it from the register and
// trusteeship, as it does for the sweep (internal/app's Domain.Lift).
type LiftInfo func(ctx context.Context, lift string) (info maintenance.LiftInfo, ok bool, err error)

// NewMaintenanceDeps builds the maintenance routes' dependencies from the
// domain service (whose Store is the work-order repository), the
// repository's supervision log, the lifts' planning facts, and trusteeship
// (nil: no contract findings on /supervision). The composition root calls
// it; tests do too.
func NewMaintenanceDeps(svc *maintenance.Service, events SupervisionLog, lifts LiftInfo, trustee *trusteeship.Service) *MaintenanceDeps {
	d := &MaintenanceDeps{WorkOrders: workOrderService{svc}, Plans: planner{svc, lifts},
		Compliance: complianceReports{svc, lifts}, Supervision: events, Now: svc.Now}
	if trustee != nil {
		d.Contracts = contractFindings{trustee}
	}
	return d
}

type workOrderService struct{ *maintenance.Service }

func (w workOrderService) WorkOrder(ctx context.Context, id int64) (*maintenance.WorkOrder, error) {
	return w.Store.WorkOrder(ctx, id)
}

func (w workOrderService) WorkOrders(ctx context.Context, f maintenance.Filter) ([]*maintenance.WorkOrder, error) {
	return w.Store.WorkOrders(ctx, f)
}

// WorkOrderStream is a WorkOrders that also hands the orders out as they
// are read (the export streams them).
type WorkOrderStream interface {
	EachWorkOrder(ctx context.Context, f maintenance.Filter, fn func(*maintenance.WorkOrder) error) error
}

// EachWorkOrder streams from the store when it can, else lists.
func (w workOrderService) EachWorkOrder(ctx context.Context, f maintenance.Filter, fn func(*maintenance.WorkOrder) error) error {
	if st, ok := w.Store.(WorkOrderStream); ok {
		return st.EachWorkOrder(ctx, f, fn)
	}
	list, err := w.Store.WorkOrders(ctx, f)
	if err != nil {
		return err
	}
	for _, o := range list {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

type planner struct {
	svc  *maintenance.Service
	info LiftInfo
}

func (p planner) Plans(ctx context.Context, ids []string) ([]LiftPlan, error) {
	hist, err := p.svc.Store.RoutineHistory(ctx)
	if err != nil {
		return nil, fmt.Errorf("routine history: %w", err)
	}
	out := make([]LiftPlan, 0, len(ids))
	for _, id := range ids {
		l, ok, err := p.info(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("lift %s: %w", id, err)
		}
		if !ok {
			continue
		}
		pl, err := p.svc.Plan(ctx, l, hist[id])
		if err != nil {
			return nil, err
		}
		out = append(out, LiftPlan{Lift: l, Plan: pl, Last: maintenance.LastByLevel(hist[id])})
	}
	return out, nil
}

type complianceReports struct {
	svc  *maintenance.Service
	info LiftInfo
}

func (c complianceReports) Compliance(ctx context.Context, year int, month time.Month, ids []string) ([]maintenance.Compliance, error) {
	ls := make([]maintenance.LiftInfo, 0, len(ids))
	for _, id := range ids {
		l, ok, err := c.info(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("lift %s: %w", id, err)
		}
		if ok {
			ls = append(ls, l)
		}
	}
	return c.svc.Compliance(ctx, year, month, ls)
}

type contractFindings struct{ svc *trusteeship.Service }

func (c contractFindings) Findings(ctx context.Context, at time.Time, lifts []trusteeship.LiftRef) ([]trusteeship.Finding, error) {
	return c.svc.Evaluate(ctx, at, lifts, nil)
}

func (s *Server) maintenanceRoutes() {
	s.handle("GET /api/v1/lifts/{id}/plan", Guard{Action: identity.ReadMaintenance, Object: s.registeredLift}, s.liftPlan)
	s.handle("GET /api/v1/plans", Guard{Action: identity.ReadMaintenance}, s.listPlans)
	s.handle("GET /api/v1/work-orders", Guard{Action: identity.ReadWorkOrder}, s.listWorkOrders)
	s.handle("GET /api/v1/work-orders/{id}", Guard{Action: identity.ReadWorkOrder, Object: s.workOrderInPath}, s.getWorkOrder)
	s.handle("POST /api/v1/work-orders/{id}/start", Guard{Action: identity.WriteWorkOrder, Object: s.workOrderInPath}, s.startWorkOrder)
	s.handle("POST /api/v1/work-orders/{id}/checklist", Guard{Action: identity.WriteWorkOrder, Object: s.workOrderInPath}, s.recordChecklist)
	s.handle("POST /api/v1/work-orders/{id}/complete", Guard{Action: identity.WriteWorkOrder, Object: s.workOrderInPath}, s.completeWorkOrder)
	s.handle("POST /api/v1/work-orders/{id}/accept", Guard{Action: identity.SignOffWorkOrder, Object: s.workOrderInPath}, s.acceptWorkOrder)
	s.handle("POST /api/v1/work-orders/{id}/reject", Guard{Action: identity.SignOffWorkOrder, Object: s.workOrderInPath}, s.rejectWorkOrder)
	s.handle("POST /api/v1/work-orders/{id}/cancel", Guard{Action: identity.SignOffWorkOrder, Object: s.workOrderInPath}, s.cancelWorkOrder)
	s.handle("GET /api/v1/checklist", Guard{Action: identity.ReadWorkOrder}, s.listChecklist)
	s.handle("GET /api/v1/supervision", Guard{Action: identity.ReadSupervision}, s.listSupervision)
	s.handle("GET /api/v1/reports/compliance", Guard{Action: identity.ReadReports}, s.complianceReport)
	s.handle("GET /api/v1/export/work-orders.csv", Guard{Action: identity.ReadWorkOrder}, s.exportWorkOrders)
	s.handle("GET /api/v1/export/compliance.csv", Guard{Action: identity.ReadReports}, s.exportCompliance)
}

// maintActor is the request's actor as maintenance records it: the login
// name (unique, and what a person reading a 5-year-old record recognises).
func (s *Server) maintActor(r *http.Request) maintenance.Actor {
	a := s.actor(r)
	return maintenance.Actor{ID: a.Name, Name: a.Name}
}

func workOrderID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badField("id", "work order id %q is not a positive integer", r.PathValue("id"))
	}
	return id, nil
}

// workOrderInPath is the Object finder of /work-orders/{id}: the order's
// lift.
func (s *Server) workOrderInPath(r *http.Request) (identity.Object, error) {
	id, err := workOrderID(r)
	if err != nil {
		return identity.Object{}, &guardError{status: http.StatusBadRequest, code: "bad_request", msg: err.Error()}
	}
	w, err := s.d.Maintenance.WorkOrders.WorkOrder(r.Context(), id)
	var nf *maintenance.NotFoundError
	if errors.As(err, &nf) {
		return identity.Object{}, notFound(nf.Error())
	}
	if err != nil {
		return identity.Object{}, err
	}
	return identity.Object{Lift: w.Lift}, nil
}

func (s *Server) now() time.Time {
	if m := s.d.Maintenance; m != nil && m.Now != nil {
		return m.Now()
	}
	if f := s.d.Fund; f != nil && f.Now != nil {
		return f.Now()
	}
	if t := s.d.Trusteeship; t != nil && t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// invalidMsg is a domain refusal's message without the sentinel's prefix.
func invalidMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "invalid: ")
}

// workOrderError answers a work-order action's error: 409 with the
// current state, 404, or 400 naming field.
func (s *Server) workOrderError(w http.ResponseWriter, err error, field string) int {
	var te *maintenance.TransitionError
	var nf *maintenance.NotFoundError
	switch {
	case errors.As(err, &te):
		return woConflict(w, te.Error(), te.Current)
	case errors.As(err, &nf):
		return writeError(w, http.StatusNotFound, nf.Error())
	case errors.Is(err, maintenance.ErrInvalid):
		return writeBad(w, badField(field, "%s", invalidMsg(err)))
	}
	s.d.Logger.Error("work order", "err", err)
	return writeError(w, http.StatusInternalServerError, "the work order action failed")
}

// woConflict is a 409 carrying the work order's current state (the error
// body's state member is typed for alerts; its JSON is the same string).
func woConflict(w http.ResponseWriter, msg string, cur maintenance.State) int {
	return writeJSON(w, http.StatusConflict, apiError{Error: ErrorBody{Code: errorCode(http.StatusConflict), Message: msg,
		State: alerts.State(cur)}})
}

// ---- plans ----

func (s *Server) liftPlan(w http.ResponseWriter, r *http.Request) int {
	id := r.PathValue("id")
	if _, ok := s.d.Lifts.Get(id); !ok {
		return writeError(w, http.StatusNotFound, "no lift "+strconv.Quote(id))
	}
	if err := params(r.URL.Query(), nil, nil); err != nil {
		return writeBad(w, err)
	}
	ps, err := s.d.Maintenance.Plans.Plans(r.Context(), []string{id})
	if err != nil {
		s.d.Logger.Error("plan", "lift", id, "err", err)
		return writeError(w, http.StatusInternalServerError, "computing the plan failed")
	}
	if len(ps) == 0 {
		return writeError(w, http.StatusNotFound, "lift "+strconv.Quote(id)+" has no maintenance plan")
	}
	return writeJSON(w, http.StatusOK, planView(&ps[0]))
}

// listPlans: ?estate= (repeatable), paginated by lift id.
func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"estate"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	estates, _ := values(q, "estate", nil, "")
	if err := s.inRegister(r, estates, nil); err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	var ids []string
	for _, l := range s.d.Lifts.Lifts() {
		if (len(estates) == 0 || slices.Contains(estates, l.Estate)) && s.visible(r, identity.ReadMaintenance, identity.Object{Lift: l.ID}) {
			ids = append(ids, l.ID)
		}
	}
	slices.Sort(ids)
	page, next := paginate(ids, p, func(id string) string { return id }, func(id, c string) bool { return id > c })
	ps, err := s.d.Maintenance.Plans.Plans(r.Context(), page)
	if err != nil {
		s.d.Logger.Error("plans", "err", err)
		return writeError(w, http.StatusInternalServerError, "computing the plans failed")
	}
	out := make([]PlanView, 0, len(ps))
	for i := range ps {
		out = append(out, planView(&ps[i]))
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, out)
}

// ---- work orders ----

// woQuery is the work-order list's (and export's) filter.
type woQuery struct {
	f           maintenance.Filter
	lifts       []string
	contractors []string
	kinds       []string
	overdue     *bool
}

var woStates = []string{"planned", "assigned", "in_progress", "completed", "unverified", "verified", "cancelled"}
var woKinds = []string{"routine", "corrective", "inspection", "component"}

// dueParam reads due_from or due_to as the store's bounds (due at or
// after DueFrom, before DueTo). An RFC 3339 time is taken as it is. A date
// YYYY-MM-DD (Shanghai) selects by due date: an order due at instant t is
// due "on" the day that t ends (a visit due on 2 March is due by the end of
// it, 3 March 00:00), so due_from=D keeps orders due after D's first
// instant and due_to=D those due by D's end, inclusive. Due times are kept
// to the millisecond.
func dueParam(q url.Values, name string, end bool) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := maintenance.ParseDay(v); err == nil && len(v) == len(time.DateOnly) {
		if end {
			return d.End().Add(time.Millisecond), nil
		}
		return d.Start().Add(time.Millisecond), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, badField(name, "%s must be a date YYYY-MM-DD or an RFC 3339 time, not %q", name, v)
	}
	return t, nil
}

func (s *Server) workOrderQuery(r *http.Request, q url.Values, single []string) (woQuery, error) {
	var wq woQuery
	if err := params(q, []string{"lift", "contractor", "state", "kind"}, append([]string{"due_from", "due_to", "overdue"}, single...)); err != nil {
		return wq, err
	}
	wq.lifts, _ = values(q, "lift", nil, "")
	if err := s.inRegister(r, nil, wq.lifts); err != nil {
		return wq, err
	}
	wq.contractors, _ = values(q, "contractor", nil, "")
	states, err := values(q, "state", func(v string) bool { return slices.Contains(woStates, v) }, strings.Join(woStates, ", "))
	if err != nil {
		return wq, err
	}
	for _, st := range states {
		wq.f.States = append(wq.f.States, maintenance.State(st))
	}
	if wq.kinds, err = values(q, "kind", func(v string) bool { return slices.Contains(woKinds, v) }, strings.Join(woKinds, ", ")); err != nil {
		return wq, err
	}
	if wq.f.DueFrom, err = dueParam(q, "due_from", false); err != nil {
		return wq, err
	}
	if wq.f.DueTo, err = dueParam(q, "due_to", true); err != nil {
		return wq, err
	}
	if !wq.f.DueFrom.IsZero() && !wq.f.DueTo.IsZero() && !wq.f.DueTo.After(wq.f.DueFrom) {
		return wq, badField("due_to", "due_to must be after due_from")
	}
	if wq.overdue, err = boolParam(q, "overdue"); err != nil {
		return wq, err
	}
	// One value of a filter goes to the store; several are matched here.
	if len(wq.lifts) == 1 {
		wq.f.Lift = wq.lifts[0]
	}
	if len(wq.contractors) == 1 {
		wq.f.Contractor = wq.contractors[0]
	}
	if len(wq.kinds) == 1 {
		wq.f.Kind = maintenance.Kind(wq.kinds[0])
	}
	return wq, nil
}

// workOrders lists the orders matching wq that the actor may read, by due
// time then id.
func (s *Server) workOrders(r *http.Request, wq woQuery) ([]*maintenance.WorkOrder, error) {
	all, err := s.d.Maintenance.WorkOrders.WorkOrders(r.Context(), wq.f)
	if err != nil {
		return nil, err
	}
	match := s.woMatch(r, wq, s.now())
	out := all[:0]
	for _, o := range all {
		if match(o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// woMatch is what the store's filter cannot say of wq (several values of
// a field, overdue as of now) and the actor's scope.
func (s *Server) woMatch(r *http.Request, wq woQuery, now time.Time) func(*maintenance.WorkOrder) bool {
	return func(o *maintenance.WorkOrder) bool {
		switch {
		case len(wq.lifts) > 1 && !slices.Contains(wq.lifts, o.Lift),
			len(wq.contractors) > 1 && !slices.Contains(wq.contractors, o.Contractor),
			len(wq.kinds) > 1 && !slices.Contains(wq.kinds, string(o.Kind)),
			wq.overdue != nil && o.Overdue(now) != *wq.overdue,
			!s.visible(r, identity.ReadWorkOrder, identity.Object{Lift: o.Lift}):
			return false
		}
		return true
	}
}

func woKey(o *maintenance.WorkOrder) string { return timeKey(o.Due, idKey(o.ID)) }

// listWorkOrders: ?lift=&contractor=&state=&kind= (repeatable: any of
// them), due_from, due_to, overdue=true|false; by due time, paginated.
func (s *Server) listWorkOrders(w http.ResponseWriter, r *http.Request) int {
	wq, err := s.workOrderQuery(r, r.URL.Query(), []string{"limit", "cursor"})
	if err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err == nil {
		err = checkCursor(p, timeCursor)
	}
	if err != nil {
		return writeBad(w, err)
	}
	list, err := s.workOrders(r, wq)
	if err != nil {
		s.d.Logger.Error("list work orders", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing work orders failed")
	}
	page, next := paginate(list, p, woKey, func(o *maintenance.WorkOrder, c string) bool { return woKey(o) > c })
	now := s.now()
	out := make([]WorkOrderView, 0, len(page))
	for _, o := range page {
		out = append(out, workOrderView(o, now))
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getWorkOrder(w http.ResponseWriter, r *http.Request) int {
	id, err := workOrderID(r)
	if err != nil {
		return writeBad(w, err)
	}
	if err := params(r.URL.Query(), nil, nil); err != nil {
		return writeBad(w, err)
	}
	o, err := s.d.Maintenance.WorkOrders.WorkOrder(r.Context(), id)
	if err != nil {
		return s.workOrderError(w, err, "")
	}
	return writeJSON(w, http.StatusOK, workOrderDetail(o, s.now()))
}

// woAction decodes body into dst, checks it, and runs do; the answer is the
// order's detail, or the error.
func (s *Server) woAction(w http.ResponseWriter, r *http.Request, dst any, check func() error, field string,
	do func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error)) int {
	id, err := workOrderID(r)
	if err != nil {
		return writeBad(w, err)
	}
	if code := decodeBody(w, r, dst); code != 0 {
		return code
	}
	if err := check(); err != nil {
		return writeBad(w, err)
	}
	o, err := do(r.Context(), id, s.maintActor(r))
	if err != nil {
		return s.workOrderError(w, err, field)
	}
	return writeJSON(w, http.StatusOK, workOrderDetail(o, s.now()))
}

// text checks a required (or optional) free-text field: at most max
// characters of valid UTF-8.
func text(field, v string, required bool, max int) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return badField(field, "%s is required", field)
	case !utf8.ValidString(v):
		return badField(field, "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(v) > max:
		return badField(field, "%s is longer than %d characters", field, max)
	}
	// The same rule as every JSON body's text (badText): no control or
	// bidirectional characters in what a person reads later.
	for _, r := range v {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' || r == 0x7f || r >= 0x80 && r < 0xa0 ||
			r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return badField(field, "%s contains the control character U+%04X", field, r)
		}
	}
	return nil
}

type startBody struct {
	Technician string `json:"technician"`
}

func (s *Server) startWorkOrder(w http.ResponseWriter, r *http.Request) int {
	var b startBody
	return s.woAction(w, r, &b, func() error { return text("technician", b.Technician, true, 128) }, "technician",
		func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error) {
			return s.d.Maintenance.WorkOrders.Start(ctx, id, a, strings.TrimSpace(b.Technician))
		})
}

type itemBody struct {
	Item   string `json:"item"`
	Result string `json:"result"`
	Value  string `json:"value"`
	Photo  string `json:"photo"`
}

type checklistBody struct {
	Results []itemBody `json:"results"`
}

// recordChecklist: the order must exist (404) and be in progress (409);
// then each result is checked against the order's checklist, naming the
// one at fault (results[i].item …).
func (s *Server) recordChecklist(w http.ResponseWriter, r *http.Request) int {
	id, err := workOrderID(r)
	if err != nil {
		return writeBad(w, err)
	}
	var b checklistBody
	if code := decodeBody(w, r, &b); code != 0 {
		return code
	}
	if len(b.Results) == 0 {
		return writeBad(w, badField("results", "results is required: at least one {item, result, value?, photo?}"))
	}
	if len(b.Results) > len(checklist.All()) {
		return writeBad(w, badField("results", "at most %d results", len(checklist.All())))
	}
	o, err := s.d.Maintenance.WorkOrders.WorkOrder(r.Context(), id)
	if err != nil {
		return s.workOrderError(w, err, "")
	}
	if !maintenance.Allowed(maintenance.ActChecklist, o.State) {
		return woConflict(w, fmt.Sprintf("work order %d: checklist results are recorded in progress, not in state %s", id, o.State), o.State)
	}
	results := make([]maintenance.ItemResult, len(b.Results))
	seen := map[string]bool{}
	for i, it := range b.Results {
		f := func(name string) string { return fmt.Sprintf("results[%d].%s", i, name) }
		item, known := checklist.Lookup(it.Item)
		switch {
		case it.Item == "":
			return writeBad(w, badField(f("item"), "%s is required (a checklist code such as H01)", f("item")))
		case !known:
			return writeBad(w, badField(f("item"), "%s: no checklist item %q (GET /api/v1/checklist lists them)", f("item"), it.Item))
		case o.Kind == maintenance.KindRoutine && item.Level > o.Level:
			return writeBad(w, badField(f("item"), "%s: item %s is %s, not part of a %s visit", f("item"), it.Item, item.Level, o.Level))
		case seen[it.Item]:
			return writeBad(w, badField(f("item"), "%s: item %s is given twice", f("item"), it.Item))
		case it.Result != "pass" && it.Result != "fail" && it.Result != "na":
			return writeBad(w, badField(f("result"), "%s must be pass, fail or na, not %q", f("result"), it.Result))
		case item.Test && it.Result != "na" && it.Value == "" && it.Photo == "":
			return writeBad(w, badField(f("value"), "%s: item %s (%s) is a test: give a measured value or a photo", f("value"), it.Item, item.EN))
		}
		seen[it.Item] = true
		for _, t := range []struct{ name, v string }{{"value", it.Value}, {"photo", it.Photo}} {
			if err := text(f(t.name), t.v, false, 256); err != nil {
				return writeBad(w, err)
			}
		}
		results[i] = maintenance.ItemResult{Code: it.Item, Result: maintenance.Result(it.Result), Value: it.Value, Photo: it.Photo}
	}
	o, err = s.d.Maintenance.WorkOrders.RecordChecklist(r.Context(), id, s.maintActor(r), results)
	if err != nil {
		return s.workOrderError(w, err, "results")
	}
	return writeJSON(w, http.StatusOK, workOrderDetail(o, s.now()))
}

type completeBody struct {
	Findings  string `json:"findings"`
	PartsFen  int64  `json:"parts_fen"`
	LabourFen int64  `json:"labour_fen"`
	Signature string `json:"signature"`
}

// maxCostFen bounds one cost field (10 million yuan).
const maxCostFen = 1_000_000_000

func (s *Server) completeWorkOrder(w http.ResponseWriter, r *http.Request) int {
	var b completeBody
	check := func() error {
		if err := text("findings", b.Findings, false, 4000); err != nil {
			return err
		}
		for _, c := range []struct {
			name string
			v    int64
		}{{"parts_fen", b.PartsFen}, {"labour_fen", b.LabourFen}} {
			if c.v < 0 || c.v > maxCostFen {
				return badField(c.name, "%s must be 0..%d fen, not %d", c.name, maxCostFen, c.v)
			}
		}
		return text("signature", b.Signature, true, 256)
	}
	// A completion the checklist does not support names the checklist.
	return s.woAction(w, r, &b, check, "results", func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error) {
		o, err := s.d.Maintenance.WorkOrders.Complete(ctx, id, a, maintenance.Completion{Findings: b.Findings,
			PartsFen: b.PartsFen, LabourFen: b.LabourFen, Signature: b.Signature})
		if errors.Is(err, maintenance.ErrInvalid) {
			err = fmt.Errorf("%w; record the checklist with POST /api/v1/work-orders/%d/checklist", err, id)
		}
		return o, err
	})
}

type noteBody struct {
	Note string `json:"note"`
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (s *Server) acceptWorkOrder(w http.ResponseWriter, r *http.Request) int {
	var b noteBody
	return s.woAction(w, r, &b, func() error { return text("note", b.Note, false, 4000) }, "note",
		func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error) {
			return s.d.Maintenance.WorkOrders.Accept(ctx, id, a, b.Note)
		})
}

func (s *Server) rejectWorkOrder(w http.ResponseWriter, r *http.Request) int {
	var b reasonBody
	return s.woAction(w, r, &b, func() error { return text("reason", b.Reason, true, 4000) }, "reason",
		func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error) {
			return s.d.Maintenance.WorkOrders.Reject(ctx, id, a, b.Reason)
		})
}

func (s *Server) cancelWorkOrder(w http.ResponseWriter, r *http.Request) int {
	var b reasonBody
	return s.woAction(w, r, &b, func() error { return text("reason", b.Reason, true, 4000) }, "reason",
		func(ctx context.Context, id int64, a maintenance.Actor) (*maintenance.WorkOrder, error) {
			return s.d.Maintenance.WorkOrders.Cancel(ctx, id, a, b.Reason)
		})
}

// ---- checklist ----

// listChecklist: ?level=half_monthly|quarterly|semi_annual|annual (the
// items a visit of that level covers; all 76 without it).
func (s *Server) listChecklist(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, nil, []string{"level", "limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	items := checklist.All()
	if v := q.Get("level"); v != "" {
		l, ok := checklist.ParseLevel(v)
		if !ok {
			return writeBad(w, badField("level", "level must be half_monthly, quarterly, semi_annual or annual, not %q", v))
		}
		items = checklist.For(l)
	}
	p, err := pageParams(r)
	if err == nil {
		err = checkCursor(p, idCursor)
	}
	if err != nil {
		return writeBad(w, err)
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	page, next := paginate(idx, p, func(i int) string { return idKey(int64(i)) },
		func(i int, c string) bool { return idKey(int64(i)) > c })
	out := make([]ChecklistItemView, 0, len(page))
	for _, i := range page {
		out = append(out, checklistItemView(&items[i]))
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, out)
}

// ---- supervision ----

// listSupervision: ?estate=&lift= (repeatable): maintenance's supervision
// events and trusteeship's contract findings as of now, newest first.
func (s *Server) listSupervision(w http.ResponseWriter, r *http.Request) int {
	q := r.URL.Query()
	if err := params(q, []string{"estate", "lift"}, []string{"limit", "cursor"}); err != nil {
		return writeBad(w, err)
	}
	estates, _ := values(q, "estate", nil, "")
	lifts, _ := values(q, "lift", nil, "")
	if err := s.inRegister(r, estates, lifts); err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err == nil {
		err = checkCursor(p, timeCursor)
	}
	if err != nil {
		return writeBad(w, err)
	}
	match := func(lift, estate string) bool {
		if l, ok := s.d.Lifts.Get(lift); ok && estate == "" {
			estate = l.Estate
		}
		return (len(lifts) == 0 || slices.Contains(lifts, lift)) && (len(estates) == 0 || slices.Contains(estates, estate)) &&
			s.visible(r, identity.ReadSupervision, identity.Object{Lift: lift})
	}
	evs, err := s.d.Maintenance.Supervision.SupervisionEvents(r.Context())
	if err != nil {
		s.d.Logger.Error("supervision events", "err", err)
		return writeError(w, http.StatusInternalServerError, "listing supervision events failed")
	}
	var out []SupervisionView
	for i := range evs {
		if match(evs[i].Lift, evs[i].Estate) {
			out = append(out, supervisionEventView(&evs[i]))
		}
	}
	if s.d.Maintenance.Contracts != nil {
		now := s.now()
		var refs []trusteeship.LiftRef
		for _, l := range s.d.Lifts.Lifts() {
			if match(l.ID, l.Estate) {
				refs = append(refs, trusteeship.LiftRef{ID: l.ID, Estate: l.Estate})
			}
		}
		fs, err := s.d.Maintenance.Contracts.Findings(r.Context(), now, refs)
		if err != nil {
			s.d.Logger.Error("contract findings", "err", err)
			return writeError(w, http.StatusInternalServerError, "evaluating the contracts failed")
		}
		for i := range fs {
			out = append(out, findingView(&fs[i], now))
		}
	}
	key := func(v SupervisionView) string { return v.sortKey }
	sort.Slice(out, func(i, j int) bool { return out[i].sortKey > out[j].sortKey })
	page, next := paginate(out, p, key, func(v SupervisionView, c string) bool { return v.sortKey < c })
	if page == nil {
		page = []SupervisionView{}
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, page)
}

// ---- compliance ----

// complianceQuery reads month (required, YYYY-MM), contractor and estate
// (repeatable) and returns the month and the lifts to report on: those of
// the estates asked for that the actor may read reports of.
func (s *Server) complianceQuery(r *http.Request, single []string) (time.Time, []string, []string, error) {
	q := r.URL.Query()
	if err := params(q, []string{"contractor", "estate"}, append([]string{"month"}, single...)); err != nil {
		return time.Time{}, nil, nil, err
	}
	v := q.Get("month")
	if v == "" {
		return time.Time{}, nil, nil, badField("month", "month is required (YYYY-MM)")
	}
	m, err := time.ParseInLocation("2006-01", v, maintenance.Shanghai)
	if err != nil {
		return time.Time{}, nil, nil, badField("month", "month must be YYYY-MM, not %q", v)
	}
	estates, _ := values(q, "estate", nil, "")
	if err := s.inRegister(r, estates, nil); err != nil {
		return time.Time{}, nil, nil, err
	}
	contractors, _ := values(q, "contractor", nil, "")
	var lifts []string
	for _, l := range s.d.Lifts.Lifts() {
		if (len(estates) == 0 || slices.Contains(estates, l.Estate)) && s.visible(r, identity.ReadReports, identity.Object{Lift: l.ID}) {
			lifts = append(lifts, l.ID)
		}
	}
	return m, lifts, contractors, nil
}

func (s *Server) compliance(r *http.Request, month time.Time, lifts, contractors []string) ([]maintenance.Compliance, error) {
	if len(lifts) == 0 {
		return nil, nil
	}
	rows, err := s.d.Maintenance.Compliance.Compliance(r.Context(), month.Year(), month.Month(), lifts)
	if err != nil {
		return nil, err
	}
	out := rows[:0]
	for _, c := range rows {
		if len(contractors) == 0 || slices.Contains(contractors, c.Contractor) {
			out = append(out, c)
		}
	}
	return out, nil
}

// complianceReport: ?month=YYYY-MM&contractor=&estate=, one row per
// contractor, over the lifts in the estates asked for (all) that the actor
// may read reports of.
func (s *Server) complianceReport(w http.ResponseWriter, r *http.Request) int {
	month, lifts, contractors, err := s.complianceQuery(r, []string{"limit", "cursor"})
	if err != nil {
		return writeBad(w, err)
	}
	p, err := pageParams(r)
	if err != nil {
		return writeBad(w, err)
	}
	rows, err := s.compliance(r, month, lifts, contractors)
	if err != nil {
		s.d.Logger.Error("compliance", "err", err)
		return writeError(w, http.StatusInternalServerError, "computing the compliance report failed")
	}
	page, next := paginate(rows, p, func(c maintenance.Compliance) string { return c.Contractor },
		func(c maintenance.Compliance, cur string) bool { return c.Contractor > cur })
	out := make([]ComplianceView, 0, len(page))
	for i := range page {
		out = append(out, complianceView(&page[i]))
	}
	setNext(w, r, next)
	return writeJSON(w, http.StatusOK, out)
}
