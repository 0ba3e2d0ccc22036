package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// The maintenance, trusteeship and fund routes run over the real domain
// services on a real SQLite store, on a fake clock.

// contractorOf is the lift's contractor from trusteeship (what the
// composition root wires for the planner).
type contractorOf struct{ t *trusteeship.Service }

func (c contractorOf) ContractorOf(ctx context.Context, lift string, at time.Time) (string, error) {
	k, err := c.t.ContractOn(ctx, lift, civil.Of(at))
	if err != nil || k == nil {
		return "", err
	}
	return k.Contractor, nil
}

// sessions are inspection-mode sessions per lift (the live state's, in
// serve).
type sessions struct {
	mu sync.Mutex
	m  map[string][]maintenance.Session
}

func (s *sessions) InspectionSessions(_ context.Context, lift string, from, to time.Time) ([]maintenance.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []maintenance.Session
	for _, x := range s.m[lift] {
		if x.End.After(from) && x.Start.Before(to) {
			out = append(out, x)
		}
	}
	return out, nil
}

type discardSink struct{}

func (discardSink) Supervise(context.Context, maintenance.SupervisionEvent) error { return nil }

type liftInfos []maintenance.LiftInfo

func (l liftInfos) get(_ context.Context, id string) (maintenance.LiftInfo, bool, error) {
	for _, x := range l {
		if x.ID == id {
			return x, true, nil
		}
	}
	return maintenance.LiftInfo{}, false, nil
}

// mfix is a server with maintenance, trusteeship and fund wired.
type mfix struct {
	fixture
	server  *Server
	clk     *clock.Fake
	day     maintenance.Day
	svc     *maintenance.Service
	trustee *trusteeship.Service
	fund    *fund.Service
	sess    *sessions
	// actors signs requests in: X-Test-Actor names one (Deps.Auth set).
	actors map[string]identity.Actor
}

const fundLift = 0 // the lift with households

func newMaintFixture(t *testing.T, auth bool) *mfix {
	t.Helper()
	ctx := context.Background()
	f := &mfix{day: maintenance.Date(2027, 3, 1)}
	f.lifts = testLifts()
	f.estateA, f.estateB = f.lifts[0].Estate, f.lifts[4].Estate
	f.clk = clock.NewFake(f.day.Start().Add(8 * time.Hour))
	var err error
	if f.db, err = store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lw.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	f.trustee = trusteeship.NewService(f.db.Trusteeship(), f.clk.Now, trusteeship.DefaultPolicies())
	// Lifts 0-3 have a manager and a contract from the register; lift 4
	// has none (a supervision finding).
	if _, err := f.trustee.Seed(ctx, "seed", f.lifts[:4], civil.Of(f.clk.Now()), 1_200_000); err != nil {
		t.Fatal(err)
	}
	f.sess = &sessions{m: map[string][]maintenance.Session{}}
	f.svc = &maintenance.Service{Store: f.db.Maintenance(), Contractors: contractorOf{f.trustee}, Sessions: f.sess, Sink: discardSink{},
		Policies: maintenance.Policies{Default: maintenance.DefaultPolicy()}, Now: f.clk.Now, Log: slog.New(slog.DiscardHandler)}
	var infos liftInfos
	for i, l := range f.lifts {
		// Commissioned two weeks ago: every half-monthly visit is due
		// tomorrow; lift 2 asked for on-demand and does not qualify.
		infos = append(infos, maintenance.LiftInfo{ID: l.ID, Estate: l.Estate, Commissioned: f.day - 14, OnDemand: i == 2})
	}
	if res, err := f.svc.Sweep(ctx, infos); err != nil || res.Created != len(f.lifts) {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	f.fund = fund.NewService(f.db.Fund(), f.clk.Now, fund.DefaultPolicies())
	var hs []fund.Household
	for floor := 2; floor <= 6; floor++ {
		hs = append(hs, fund.Household{Lift: f.lifts[fundLift].ID, Unit: fmt.Sprintf("%d02", floor), Floor: floor,
			Share: fund.DefaultShare(floor), Contact: "138000000" + fmt.Sprint(floor)})
	}
	if err := f.fund.SaveHouseholds(ctx, "seed", hs); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	d := Deps{Lifts: registry.NewIndex(f.lifts), States: fakeStates{}, DeadLetters: ingest.NewDeadLetters(1), Gatherer: reg, Registerer: reg,
		Maintenance: NewMaintenanceDeps(f.svc, f.db.Maintenance(), infos.get, f.trustee),
		Trusteeship: NewTrusteeshipDeps(f.trustee, f.db.Trusteeship(), f.clk.Now),
		Fund:        NewFundDeps(f.fund, f.db.Fund(), f.clk.Now)}
	if auth {
		d.Auth = &AuthDeps{Authorizer: identity.Authorizer{Dir: liftDir(f.lifts)}}
	}
	s := New(d)
	f.server = s
	var h http.Handler = s.Handler()
	if auth {
		f.actors = map[string]identity.Actor{}
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a, ok := f.actors[r.Header.Get("X-Test-Actor")]; ok {
				r = r.WithContext(identity.WithActor(r.Context(), a))
			}
			inner.ServeHTTP(w, r)
		})
	}
	f.srv = httptest.NewServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// liftDir is the authorisation directory over the test register: every
// estate in subdistrict "sd".
type liftDir []registry.Lift

func (d liftDir) LiftScope(_ context.Context, lift string) (identity.LiftScope, error) {
	for _, l := range d {
		if l.ID == lift {
			return identity.LiftScope{Estate: l.Estate, Contractor: l.Contractor, Subdistrict: "sd"}, nil
		}
	}
	return identity.LiftScope{}, fmt.Errorf("lift %s: %w", lift, identity.ErrNotFound)
}

func (d liftDir) EstateSubdistrict(_ context.Context, estate string) (string, error) {
	return "sd", nil
}

// req sends a request, as actor if one is named, and returns the response
// and its body.
func (f *mfix) req(t *testing.T, actor, method, path, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if actor != "" {
		r.Header.Set("X-Test-Actor", actor)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// call sends method path with a JSON body, wants status and decodes the
// answer into v (if not nil).
func (f *mfix) call(t *testing.T, method, path, body string, status int, v any) *http.Response {
	t.Helper()
	resp, b := f.req(t, "", method, path, "application/json", body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, resp.StatusCode, status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp
}

// wantError sends a request that must fail with status, naming field.
func (f *mfix) wantError(t *testing.T, method, path, body string, status int, field string) ErrorBody {
	t.Helper()
	resp, b := f.req(t, "", method, path, "application/json", body)
	return checkError(t, method+" "+path+" "+body, resp, b, status, field)
}

func (f *mfix) orders(t *testing.T, query string) []WorkOrderView {
	t.Helper()
	var out []WorkOrderView
	f.call(t, "GET", "/api/v1/work-orders"+query, "", 200, &out)
	return out
}

func (f *mfix) orderOf(t *testing.T, lift int, kind string) WorkOrderView {
	t.Helper()
	os := f.orders(t, "?kind="+kind+"&lift="+f.lifts[lift].ID)
	if len(os) != 1 {
		t.Fatalf("lift %d: %d %s orders, want 1: %+v", lift, len(os), kind, os)
	}
	return os[0]
}

// fullChecklist is a whole record of a level: pass, with a value for the
// test items.
func fullChecklist(l checklist.Level) string {
	var rs []string
	for _, it := range checklist.For(l) {
		v := ""
		if it.Test {
			v = `, "value": "ok 8 mm"`
		}
		rs = append(rs, fmt.Sprintf(`{"item": %q, "result": "pass"%s}`, it.Code, v))
	}
	return `{"results": [` + strings.Join(rs, ", ") + `]}`
}

func woPath(id int64, action string) string {
	p := fmt.Sprintf("/api/v1/work-orders/%d", id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// TestWorkOrderLifecycleOverHTTP walks orders through every action over
// HTTP: start → checklist → complete → accept (verified by inspection-mode
// telemetry); an unproven completion → reject → in_progress; cancel. Each
// refused transition is a 409 carrying the current state.
func TestWorkOrderLifecycleOverHTTP(t *testing.T) {
	f := newMaintFixture(t, false)
	o := f.orderOf(t, 0, "routine")
	if o.State != "assigned" || o.Level != "half_monthly" || o.Contractor != f.lifts[0].Contractor || o.Overdue {
		t.Fatalf("order %+v: want an assigned half-monthly visit of the lift's contractor", o)
	}
	var d WorkOrderDetail
	f.call(t, "GET", woPath(o.ID, ""), "", 200, &d)
	if len(d.Checklist) != 31 || d.Checklist[0].Result != "" || d.Checklist[0].ZH == "" || len(d.History) != 2 {
		t.Fatalf("detail: %d checklist items (first %+v), %d history entries", len(d.Checklist), d.Checklist[0], len(d.History))
	}
	// Completing before starting: 409 with the state.
	if e := f.wantError(t, "POST", woPath(o.ID, "complete"), `{"signature": "Wang"}`, 409, ""); e.State != "assigned" {
		t.Fatalf("complete before start: state %q", e.State)
	}
	if e := f.wantError(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 409, ""); e.State != "assigned" {
		t.Fatalf("checklist before start: state %q", e.State)
	}
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "Wang Wei"}`, 200, &d)
	if d.State != "in_progress" || d.Technician != "Wang Wei" || d.StartedAt == "" {
		t.Fatalf("started: %+v", d.WorkOrderView)
	}
	// The technician works 45 minutes in inspection mode.
	f.sess.mu.Lock()
	f.sess.m[o.Lift] = []maintenance.Session{{Start: f.clk.Now(), End: f.clk.Now().Add(45 * time.Minute)}}
	f.sess.mu.Unlock()
	f.clk.Advance(50 * time.Minute)
	// Part of the checklist, then a completion the checklist does not
	// support: 400 naming the checklist.
	f.call(t, "POST", woPath(o.ID, "checklist"), `{"results": [{"item": "H01", "result": "fail"}, {"item": "H05", "result": "pass", "value": "0.5 mm"}]}`, 200, &d)
	if d.Checklist[0].Result != "fail" || d.Checklist[4].Value != "0.5 mm" || d.State != "in_progress" {
		t.Fatalf("partial checklist: %+v %+v", d.Checklist[0], d.Checklist[4])
	}
	if e := f.wantError(t, "POST", woPath(o.ID, "complete"), `{"signature": "Wang"}`, 400, "results"); !strings.Contains(e.Message, "checklist") {
		t.Fatalf("incomplete checklist: %q", e.Message)
	}
	// The whole list; H01 now passes (a later result replaces the earlier).
	f.call(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, &d)
	if d.Checklist[0].Result != "pass" {
		t.Fatalf("H01 not replaced: %+v", d.Checklist[0])
	}
	f.call(t, "POST", woPath(o.ID, "complete"), `{"findings": "door rollers worn", "parts_fen": 4550, "labour_fen": 20000, "signature": "sig:wang-1"}`, 200, &d)
	if d.State != "completed" || d.Proof == nil || !d.Proof.Verified || d.Proof.ObservedMin != 45 || d.Proof.RequiredMin != 20 ||
		d.TechSign == nil || d.TechSign.Signature != "sig:wang-1" || d.TechSign.By != "system:api" || d.PartsFen != 4550 {
		t.Fatalf("completed: %+v proof %+v sign %+v", d.WorkOrderView, d.Proof, d.TechSign)
	}
	f.call(t, "POST", woPath(o.ID, "accept"), `{"note": "checked on site"}`, 200, &d)
	if d.State != "verified" || d.ManagerSign == nil {
		t.Fatalf("accepted: %+v", d.WorkOrderView)
	}
	for _, a := range []string{"accept", "reject", "cancel", "start"} {
		body := map[string]string{"accept": `{"note": "x"}`, "reject": `{"reason": "x"}`, "cancel": `{"reason": "x"}`, "start": `{"technician": "x"}`}[a]
		if e := f.wantError(t, "POST", woPath(o.ID, a), body, 409, ""); e.State != "verified" {
			t.Errorf("%s a verified order: state %q", a, e.State)
		}
	}
	wantActions := []string{"created", "assign", "start", "checklist", "checklist", "complete", "accept"}
	f.call(t, "GET", woPath(o.ID, ""), "", 200, &d)
	var got []string
	for _, h := range d.History {
		got = append(got, h.Action)
	}
	if !slices.Equal(got, wantActions) {
		t.Fatalf("history %v, want %v", got, wantActions)
	}

	// Lift 1: signed without inspection-mode evidence → unverified; the
	// manager rejects it back to in_progress, then it is cancelled.
	o = f.orderOf(t, 1, "routine")
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "Li"}`, 200, nil)
	f.call(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, nil)
	f.call(t, "POST", woPath(o.ID, "complete"), `{"signature": "Li"}`, 200, &d)
	if d.State != "unverified" || d.Proof == nil || d.Proof.Verified {
		t.Fatalf("paper visit: %+v", d.WorkOrderView)
	}
	f.wantError(t, "POST", woPath(o.ID, "accept"), `{}`, 400, "note") // an unproven visit needs a note
	const script = `<script>alert("x")</script> not done`
	d = WorkOrderDetail{} // members left out of the answer must not linger from the last one
	resp := f.call(t, "POST", woPath(o.ID, "reject"), fmt.Sprintf(`{"reason": %q}`, script), 200, &d)
	if d.State != "in_progress" || d.TechSign != nil || d.Proof != nil {
		t.Fatalf("rejected: %+v", d.WorkOrderView)
	}
	if last := d.History[len(d.History)-1]; last.Note != script || last.Action != "reject" || last.From != "unverified" {
		t.Fatalf("reject note %+v: want the text as sent", last)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	_, raw := f.req(t, "", "GET", woPath(o.ID, ""), "", "")
	if strings.Contains(string(raw), "<script>") {
		t.Fatalf("the note is served as markup: %s", raw)
	}
	f.call(t, "POST", woPath(o.ID, "cancel"), `{"reason": "duplicate"}`, 200, &d)
	if d.State != "cancelled" {
		t.Fatalf("cancelled: %+v", d.WorkOrderView)
	}
	if e := f.wantError(t, "POST", woPath(o.ID, "start"), `{"technician": "Li"}`, 409, ""); e.State != "cancelled" {
		t.Fatalf("start a cancelled order: state %q", e.State)
	}
}

// TestWorkOrderBadInput: 404 for an unknown order, 400 naming the field
// for every bad body.
func TestWorkOrderBadInput(t *testing.T) {
	f := newMaintFixture(t, false)
	f.wantError(t, "GET", woPath(999, ""), "", 404, "")
	f.wantError(t, "POST", woPath(999, "start"), `{"technician": "x"}`, 404, "")
	f.wantError(t, "POST", woPath(999, "checklist"), `{"results": [{"item": "H01", "result": "pass"}]}`, 404, "")
	f.wantError(t, "GET", "/api/v1/work-orders/abc", "", 400, "id")
	o := f.orderOf(t, 0, "routine")
	f.wantError(t, "POST", woPath(o.ID, "start"), `{}`, 400, "technician")
	f.wantError(t, "POST", woPath(o.ID, "start"), `{"technician": "x", "actor": "boss"}`, 400, "actor")
	f.wantError(t, "POST", woPath(o.ID, "start"), `{"technician": 5}`, 400, "technician")
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "x"}`, 200, nil)
	for _, c := range []struct{ body, field string }{
		{`{}`, "results"},
		{`{"results": []}`, "results"},
		{`{"results": [{"result": "pass"}]}`, "results[0].item"},
		{`{"results": [{"item": "H01", "result": "pass"}, {"item": "Z99", "result": "pass"}]}`, "results[1].item"},
		{`{"results": [{"item": "A01", "result": "pass"}]}`, "results[0].item"}, // annual item on a half-monthly visit
		{`{"results": [{"item": "H01", "result": "ok"}]}`, "results[0].result"},
		{`{"results": [{"item": "H05", "result": "pass"}]}`, "results[0].value"}, // a test needs a value or photo
		{`{"results": [{"item": "H01", "result": "pass"}, {"item": "H01", "result": "fail"}]}`, "results[1].item"},
	} {
		f.wantError(t, "POST", woPath(o.ID, "checklist"), c.body, 400, c.field)
	}
	f.call(t, "POST", woPath(o.ID, "checklist"), `{"results": [{"item": "H05", "result": "na"}]}`, 200, nil)
	f.wantError(t, "POST", woPath(o.ID, "complete"), `{"findings": "x"}`, 400, "signature")
	f.wantError(t, "POST", woPath(o.ID, "complete"), `{"signature": "x", "parts_fen": -1}`, 400, "parts_fen")
	f.wantError(t, "POST", woPath(o.ID, "complete"), `{"signature": "x", "labour_fen": 1.5}`, 400, "labour_fen")
	f.wantError(t, "POST", woPath(o.ID, "reject"), `{"reason": " "}`, 400, "reason")
	f.wantError(t, "POST", woPath(o.ID, "cancel"), `{}`, 400, "reason")
	f.wantError(t, "POST", woPath(o.ID, "cancel"), `null`, 400, "")
}

// pages follows the Link headers from path and returns every item, with
// the number of pages.
func pages[T any](t *testing.T, f *mfix, actor, path string) ([]T, int) {
	t.Helper()
	var all []T
	n := 0
	linkRE := regexp.MustCompile(`^<([^>]+)>; rel="next"$`)
	for path != "" {
		resp, b := f.req(t, actor, "GET", path, "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		var page []T
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
		all = append(all, page...)
		n++
		path = ""
		if l := resp.Header.Get("Link"); l != "" {
			m := linkRE.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("Link %q", l)
			}
			path = m[1]
		}
		if n > 100 {
			t.Fatal("pages do not end")
		}
	}
	return all, n
}

// TestWorkOrderListFiltersAndPages: each filter selects what it says;
// pages of two cover the list exactly once, in order, with the filters
// kept in the Link.
func TestWorkOrderListFiltersAndPages(t *testing.T) {
	f := newMaintFixture(t, false)
	ctx := context.Background()
	// Corrective orders: two on lift 0, one on lift 3, a day apart.
	for i, l := range []int{0, 0, 3} {
		at := f.clk.Now().Add(time.Duration(i) * 24 * time.Hour)
		if _, _, err := f.svc.OnIncident(ctx, maintenance.Incident{ID: fmt.Sprint("a", i), Kind: maintenance.IncidentEntrapment,
			Lift: f.lifts[l].ID, Estate: f.lifts[l].Estate, At: at, Summary: "entrapment"}); err != nil {
			t.Fatal(err)
		}
	}
	all := f.orders(t, "")
	if len(all) != 8 {
		t.Fatalf("%d orders, want 5 routine + 3 corrective", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Due < all[i-1].Due {
			t.Fatalf("not by due: %s after %s", all[i].Due, all[i-1].Due)
		}
	}
	count := func(q string) int { return len(f.orders(t, q)) }
	l0, l3 := f.lifts[0].ID, f.lifts[3].ID
	for q, want := range map[string]int{
		"?kind=corrective":                 3,
		"?kind=routine&kind=corrective":    8,
		"?lift=" + l0:                      3,
		"?lift=" + l0 + "&lift=" + l3:      5,
		"?lift=" + l0 + "&kind=corrective": 2,
		"?state=planned":                   1, // lift 4 has no contractor
		"?state=assigned&state=planned":    8,
		"?contractor=" + url.QueryEscape(f.lifts[0].Contractor): len(slices.DeleteFunc(slices.Clone(all), func(o WorkOrderView) bool {
			return o.Contractor != f.lifts[0].Contractor
		})),
		"?due_from=2027-03-02&due_to=2027-03-02":    6, // routine due end of 3-02 (= 3-03 00:00 is outside), corrective 3-02 08:00
		"?due_to=2027-03-02":                        6,
		"?due_from=2027-03-03":                      2,
		"?due_from=2027-03-03T00:00:00Z":            2,
		"?overdue=true":                             0,
		"?overdue=false&kind=corrective&lift=" + l3: 1,
	} {
		if got := count(q); got != want {
			t.Errorf("%s: %d orders, want %d", q, got, want)
		}
	}
	// Two days on, the routine visits and the first corrective are overdue.
	f.clk.Advance(49 * time.Hour)
	if got := f.orders(t, "?overdue=true"); len(got) != 7 || !got[0].Overdue {
		t.Errorf("overdue: %d orders, want 7", len(got))
	}
	got, n := pages[WorkOrderView](t, f, "", "/api/v1/work-orders?limit=3")
	if n != 3 || len(got) != 8 {
		t.Fatalf("pages of 3: %d pages, %d orders", n, len(got))
	}
	for i := range got {
		if got[i].ID != all[i].ID {
			t.Fatalf("paged order %d is %d, want %d", i, got[i].ID, all[i].ID)
		}
	}
	got, n = pages[WorkOrderView](t, f, "", "/api/v1/work-orders?kind=corrective&limit=2")
	if n != 2 || len(got) != 3 || got[2].Kind != "corrective" {
		t.Fatalf("filtered pages: %d pages, %+v", n, got)
	}
	resp, _ := f.req(t, "", "GET", "/api/v1/work-orders?limit=8", "", "")
	if l := resp.Header.Get("Link"); l != "" {
		t.Fatalf("last page has Link %q", l)
	}
	for q, field := range map[string]string{"?limit=0": "limit", "?limit=1001": "limit", "?cursor=!!!": "cursor", "?state=done": "state",
		"?kind=x": "kind", "?due_from=2027-13-01": "due_from", "?overdue=maybe": "overdue", "?lift=NOPE": "lift", "?sort=due": "sort",
		"?due_from=2027-03-05&due_to=2027-03-01": "due_to", "?limit=1&limit=2": "limit"} {
		f.wantError(t, "GET", "/api/v1/work-orders"+q, "", 400, field)
	}
}

// TestPlans: a lift's plan says when, at which level, and why; a lift that
// asked for on-demand and does not qualify says why not; a signed visit
// moves the date and shows as last done.
func TestPlans(t *testing.T) {
	f := newMaintFixture(t, false)
	var p PlanView
	f.call(t, "GET", "/api/v1/lifts/"+f.lifts[0].ID+"/plan", "", 200, &p)
	if p.Due != "2027-03-02" || p.Level != "half_monthly" || p.Mode != "periodic" || p.IntervalDays != 15 ||
		p.Reason != "periodic every 15 days (TSG T5002)" || len(p.Levels) != 4 || p.Levels[0].CountedFrom != "2027-02-15" ||
		p.Levels[0].LastDone != "" || p.Levels[3].Due != "2028-02-15" || p.Levels[3].IntervalDays != 365 {
		t.Fatalf("plan %+v", p)
	}
	f.call(t, "GET", "/api/v1/lifts/"+f.lifts[2].ID+"/plan", "", 200, &p)
	if !p.OnDemandRequested || p.Mode != "periodic" || !strings.Contains(p.OnDemandRefused, "monitoring not online") ||
		!strings.Contains(p.Reason, "on-demand refused") {
		t.Fatalf("on-demand fallback %+v", p)
	}
	// Lift 0's visit is signed today: the next half-monthly one counts from it.
	o := f.orderOf(t, 0, "routine")
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "x"}`, 200, nil)
	f.call(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, nil)
	f.call(t, "POST", woPath(o.ID, "complete"), `{"signature": "x"}`, 200, nil)
	f.call(t, "GET", "/api/v1/lifts/"+f.lifts[0].ID+"/plan", "", 200, &p)
	if p.Levels[0].LastDone != "2027-03-01" || p.Due != "2027-03-16" || p.Levels[1].LastDone != "" {
		t.Fatalf("after a visit: %+v", p)
	}
	f.wantError(t, "GET", "/api/v1/lifts/NOPE/plan", "", 404, "")
	plans, n := pages[PlanView](t, f, "", "/api/v1/plans?estate="+f.estateA+"&limit=2")
	if len(plans) != 3 || n != 2 || plans[0].Estate != f.estateA {
		t.Fatalf("estate A plans: %d in %d pages", len(plans), n)
	}
	if all, _ := pages[PlanView](t, f, "", "/api/v1/plans"); len(all) != 5 {
		t.Fatalf("all plans: %d", len(all))
	}
	f.wantError(t, "GET", "/api/v1/plans?estate=nowhere", "", 400, "estate")
}

// TestChecklistRoute lists annex A's items by level.
func TestChecklistRoute(t *testing.T) {
	f := newMaintFixture(t, false)
	for level, want := range map[string]int{"": 76, "half_monthly": 31, "quarterly": 44, "semi_annual": 59, "annual": 76} {
		items, _ := pages[ChecklistItemView](t, f, "", "/api/v1/checklist?level="+level)
		if len(items) != want {
			t.Errorf("level %q: %d items, want %d", level, len(items), want)
		}
	}
	items, n := pages[ChecklistItemView](t, f, "", "/api/v1/checklist?limit=50")
	if n != 2 || items[0].Code != "H01" || items[0].ZH == "" || items[0].EN == "" || items[75].Level != "annual" {
		t.Fatalf("%d pages, first %+v", n, items[0])
	}
	if !slices.ContainsFunc(items, func(i ChecklistItemView) bool { return i.Code == "H05" && i.NeedsValueOrPhoto }) {
		t.Fatal("H05 (brake clearance) is a test item")
	}
	f.wantError(t, "GET", "/api/v1/checklist?level=weekly", "", 400, "level")
}

// TestSupervisionAndCompliance: an unproven visit and a lift without a
// contract show on /supervision; the month's compliance counts them; the
// CSV parses back to the same figures.
func TestSupervisionAndCompliance(t *testing.T) {
	f := newMaintFixture(t, false)
	o := f.orderOf(t, 1, "routine")
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "x"}`, 200, nil)
	f.call(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, nil)
	f.call(t, "POST", woPath(o.ID, "complete"), `{"signature": "x"}`, 200, nil)
	var sv []SupervisionView
	f.call(t, "GET", "/api/v1/supervision", "", 200, &sv)
	kinds := map[string]string{}
	for _, v := range sv {
		kinds[v.Kind] = v.Lift
	}
	if kinds["work_order_unverified"] != f.lifts[1].ID || kinds["no_valid_contract"] != f.lifts[4].ID {
		t.Fatalf("supervision %+v", sv)
	}
	// Estate B: lift 4 has no contract, lift 3's ends this month.
	f.call(t, "GET", "/api/v1/supervision?estate="+f.estateB, "", 200, &sv)
	byKind := map[string]SupervisionView{}
	for _, v := range sv {
		byKind[v.Kind] = v
	}
	exp, none := byKind["contract_expiring"], byKind["no_valid_contract"]
	if len(sv) != 2 || exp.Source != "trusteeship" || exp.Lift != f.lifts[3].ID || exp.DaysLeft == nil || *exp.DaysLeft != 27 ||
		exp.CoveredUntil != "2027-03-28" || exp.Manager == "" || none.Lift != f.lifts[4].ID || none.Manager != "" {
		t.Fatalf("estate B: %+v", sv)
	}
	f.call(t, "GET", "/api/v1/supervision?lift="+f.lifts[1].ID, "", 200, &sv)
	if len(sv) != 1 || sv[0].WorkOrder != o.ID {
		t.Fatalf("lift 1: %+v", sv)
	}
	f.wantError(t, "GET", "/api/v1/supervision?lift=NOPE", "", 400, "lift")

	// Lift 0's visit is done on time and proven, lift 1's is unproven.
	o0 := f.orderOf(t, 0, "routine")
	f.call(t, "POST", woPath(o0.ID, "start"), `{"technician": "x"}`, 200, nil)
	f.sess.mu.Lock()
	f.sess.m[o0.Lift] = []maintenance.Session{{Start: f.clk.Now(), End: f.clk.Now().Add(30 * time.Minute)}}
	f.sess.mu.Unlock()
	f.clk.Advance(time.Hour)
	f.call(t, "POST", woPath(o0.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, nil)
	f.call(t, "POST", woPath(o0.ID, "complete"), `{"signature": "x"}`, 200, nil)
	c0 := f.lifts[0].Contractor
	var rows []ComplianceView
	f.call(t, "GET", "/api/v1/reports/compliance?month=2027-03&contractor="+url.QueryEscape(c0), "", 200, &rows)
	if len(rows) != 1 || rows[0].Contractor != c0 || rows[0].Visits == 0 || rows[0].Verified != 1 || rows[0].MeanVisitMin == nil ||
		*rows[0].MeanVisitMin != 30 || rows[0].Month != "2027-03" {
		t.Fatalf("compliance %+v", rows)
	}
	// Estate B: lift 3's contractor, one lift, its one open order; lift
	// 4's order has no contractor, and estate A's visits are not counted.
	f.call(t, "GET", "/api/v1/reports/compliance?month=2027-03&estate="+f.estateB, "", 200, &rows)
	if len(rows) != 1 || rows[0].Contractor != f.lifts[3].Contractor || rows[0].Lifts != 1 || rows[0].OrdersDue != 1 || rows[0].Visits != 0 ||
		rows[0].VerifiedPct != nil || rows[0].OnTimePct == nil || *rows[0].OnTimePct != 0 {
		t.Fatalf("estate B: %+v", rows)
	}
	f.wantError(t, "GET", "/api/v1/reports/compliance", "", 400, "month")
	f.wantError(t, "GET", "/api/v1/reports/compliance?month=2027-3", "", 400, "month")
	f.wantError(t, "GET", "/api/v1/export/compliance.csv?month=march", "", 400, "month")

	resp, b := f.req(t, "", "GET", "/api/v1/export/compliance.csv?month=2027-03", "", "")
	recs := parseCSV(t, resp, b)
	if !slices.Equal(recs[0], maintenance.ComplianceCSVHeader) {
		t.Fatalf("header %v", recs[0])
	}
	f.call(t, "GET", "/api/v1/reports/compliance?month=2027-03", "", 200, &rows)
	if len(recs) != len(rows)+1 {
		t.Fatalf("%d CSV rows, %d report rows", len(recs)-1, len(rows))
	}
	for i, r := range rows {
		if recs[i+1][1] != r.Contractor || recs[i+1][6] != fmt.Sprint(r.Visits) || recs[i+1][7] != fmt.Sprint(r.Verified) {
			t.Errorf("CSV row %v, report %+v", recs[i+1], r)
		}
	}
}

// parseCSV checks an export's framing (200, text/csv, UTF-8 with a byte
// order mark for Excel, CRLF) and parses it back (RFC 4180) without the mark.
func parseCSV(t *testing.T, resp *http.Response, b []byte) [][]string {
	t.Helper()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv; charset=utf-8") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=") {
		t.Fatalf("export: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	if i := strings.IndexByte(string(b), '\n'); i < 1 || b[i-1] != '\r' || !strings.HasSuffix(string(b), "\r\n") {
		t.Fatalf("lines do not end in CRLF: %q", b)
	}
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatalf("export does not open with the UTF-8 byte order mark (Excel reads it as GBK): %q", b[:min(len(b), 16)])
	}
	b = b[3:]
	recs, err := csvRead(b)
	if err != nil {
		t.Fatalf("export does not parse: %v\n%s", err, b)
	}
	return recs
}

// TestWorkOrderCSVExport: the export has the list's rows and filters, the
// header, text as text, and no cell a spreadsheet would run.
func TestWorkOrderCSVExport(t *testing.T) {
	f := newMaintFixture(t, false)
	o := f.orderOf(t, 0, "routine")
	f.call(t, "POST", woPath(o.ID, "start"), `{"technician": "=HYPERLINK(\"http://evil\")"}`, 200, nil)
	f.call(t, "POST", woPath(o.ID, "checklist"), fullChecklist(checklist.HalfMonthly), 200, nil)
	f.call(t, "POST", woPath(o.ID, "complete"), `{"findings": "<script>x</script>, \"quoted\"\nsecond line", "parts_fen": 100, "signature": "@sig"}`, 200, nil)
	resp, b := f.req(t, "", "GET", "/api/v1/export/work-orders.csv", "", "")
	recs := parseCSV(t, resp, b)
	if !slices.Equal(recs[0], maintenance.WorkOrderCSVHeader) || len(recs) != 6 {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	col := func(name string) int { return slices.Index(maintenance.WorkOrderCSVHeader, name) }
	var row []string
	for _, r := range recs[1:] {
		if r[0] == fmt.Sprint(o.ID) {
			row = r
		}
	}
	if row == nil || row[col("technician")] != `'=HYPERLINK("http://evil")` || row[col("findings")] != "<script>x</script>, \"quoted\"\nsecond line" ||
		row[col("parts_fen")] != "100" || row[col("state")] != "unverified" {
		t.Fatalf("row %q", row)
	}
	resp, b = f.req(t, "", "GET", "/api/v1/export/work-orders.csv?lift="+f.lifts[0].ID+"&state=unverified", "", "")
	if recs := parseCSV(t, resp, b); len(recs) != 2 {
		t.Fatalf("filtered export: %d records", len(recs))
	}
	f.wantError(t, "GET", "/api/v1/export/work-orders.csv?cursor=x", "", 400, "cursor")
}

func TestGuardCell(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+1": "+1", "-12.05": "-12.05", "-1+2": "'-1+2", "@SUM(A1)": "'@SUM(A1)",
		"\tx": "'\tx", "text": "text", "": "", "'=x": "'=x", "1e5": "1e5", "-": "'-"} {
		if got := guardCell(in); got != want {
			t.Errorf("guardCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTrusteeshipRoutes: manager and contract on a day with the history
// and audit; changes refused on overlap (409), bad fields (400), unknown
// contract (404).
func TestTrusteeshipRoutes(t *testing.T) {
	f := newMaintFixture(t, false)
	lift := f.lifts[0]
	base := "/api/v1/lifts/" + lift.ID
	var v TrusteeshipView
	f.call(t, "GET", base+"/trusteeship", "", 200, &v)
	if v.On != "2027-03-01" || v.Manager == nil || v.Manager.Name != lift.PropertyManager || v.Contract == nil ||
		v.Contract.Contractor != lift.Contractor || len(v.Audit) != 2 || v.Audit[0].Actor != "seed" || string(v.Audit[0].Before) != "null" {
		t.Fatalf("seeded: %+v", v)
	}
	cur := *v.Contract
	var m ManagerView
	f.call(t, "POST", base+"/manager", `{"kind": "insurer", "name": "Ping An 平安", "contact": "95511", "from": "2027-04-01"}`, 201, &m)
	f.call(t, "GET", base+"/trusteeship?on=2027-04-02", "", 200, &v)
	if v.Manager == nil || v.Manager.Name != "Ping An 平安" || len(v.Managers) != 2 || v.Managers[0].To != "2027-04-01" {
		t.Fatalf("after the change: %+v", v)
	}
	if last := v.Audit[len(v.Audit)-1]; last.Actor != "system:api" || last.Action != "manager.set" {
		t.Fatalf("audit %+v: the actor is the request's", last)
	}
	f.call(t, "GET", base+"/trusteeship?on=2027-03-31", "", 200, &v)
	if v.Manager.Name != lift.PropertyManager {
		t.Fatalf("3 March's manager: %+v", v.Manager)
	}
	f.wantError(t, "POST", base+"/manager", `{"kind": "resident", "name": "Zhang", "from": "2027-03-15"}`, 409, "")
	f.wantError(t, "POST", base+"/manager", `{"kind": "landlord", "name": "x", "from": "2027-05-01"}`, 400, "kind")
	f.wantError(t, "POST", base+"/manager", `{"kind": "resident", "name": "", "from": "2027-05-01"}`, 400, "name")
	f.wantError(t, "POST", base+"/manager", `{"kind": "resident", "name": "x", "from": "1 May"}`, 400, "from")
	f.wantError(t, "POST", base+"/manager", `{"kind": "resident", "name": "x", "from": "2027-05-01", "to": "2027-04-01"}`, 400, "to")
	f.wantError(t, "POST", "/api/v1/lifts/NOPE/manager", `{"kind": "resident", "name": "x", "from": "2027-05-01"}`, 404, "")

	next := fmt.Sprintf(`{"contractor": "Otis", "start": %q, "end": "2029-01-01", "mode": "periodic", "price_fen": 1500000}`,
		civil.MustParse(cur.End).AddDays(1))
	var c ContractView
	f.call(t, "POST", base+"/contracts", next, 201, &c)
	f.wantError(t, "POST", base+"/contracts", next, 409, "") // overlaps itself now
	f.call(t, "POST", base+"/contracts", fmt.Sprintf(`{"id": %d, "contractor": "Otis", "start": %q, "end": "2028-12-31", "mode": "on_demand", "price_fen": 1400000, "good_standing": true, "insured": true}`,
		c.ID, c.Start), 200, &c)
	if c.End != "2028-12-31" || c.Mode != "on_demand" {
		t.Fatalf("revised %+v", c)
	}
	f.wantError(t, "POST", base+"/contracts", `{"id": 9999, "contractor": "x", "start": "2030-01-01", "end": "2030-12-31", "mode": "periodic"}`, 404, "")
	for body, field := range map[string]string{
		`{"contractor": "x", "start": "2031-01-01", "end": "2031-12-31", "mode": "weekly"}`:                    "mode",
		`{"contractor": "x", "start": "2031-01-01", "end": "2031-12-31", "mode": "on_demand"}`:                 "mode",
		`{"contractor": "x", "start": "2031-01-01", "end": "2030-12-31", "mode": "periodic"}`:                  "end",
		`{"contractor": "x", "end": "2031-12-31", "mode": "periodic"}`:                                         "start",
		`{"contractor": " ", "start": "2031-01-01", "end": "2031-12-31", "mode": "periodic"}`:                  "contractor",
		`{"contractor": "x", "start": "2031-01-01", "end": "2031-12-31", "mode": "periodic", "price_fen": -1}`: "price_fen",
	} {
		f.wantError(t, "POST", base+"/contracts", body, 400, field)
	}
	f.call(t, "GET", base+"/trusteeship?on=2028-06-01", "", 200, &v)
	if v.Contract == nil || v.Contract.Contractor != "Otis" || len(v.Contracts) != 2 {
		t.Fatalf("2028: %+v", v)
	}
	f.wantError(t, "GET", base+"/trusteeship?on=tomorrow", "", 400, "on")
	f.wantError(t, "GET", "/api/v1/lifts/NOPE/trusteeship", "", 404, "")
}
