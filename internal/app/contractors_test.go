package app

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/simulator/contractor"
)

// fakeAfter is time.After on the fake clock f: the channel fires once f
// has reached now+d (polled; stopped when the test ends).
func fakeAfter(t *testing.T, f *clock.Fake) func(time.Duration) <-chan time.Time {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	return func(d time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		at := f.Now().Add(d)
		go func() {
			for {
				if n := f.Now(); !n.Before(at) {
					ch <- n
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		return ch
	}
}

// account makes an account of role and scope and returns an API token of it.
func account(t *testing.T, a *App, name string, role identity.Role, scope identity.Scope) string {
	t.Helper()
	ctx := context.Background()
	u, err := a.Identity().CreateUser(ctx, identity.System("test"), identity.NewUser{Name: name, Role: role, Scope: scope, Password: "a long test password"}, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := a.Identity().IssueToken(ctx, identity.System("test"), u.ID, "test", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestContractorsThroughTheAPI runs the service with its maintenance loop
// against a real Mosquitto and the terminal simulator, both on the
// service's fake clock from a pinned start, and simulated contractors that
// know liftwatch only through its HTTP API and an API token each:
//   - 甲维保's technician takes MT-A's due half-monthly order (start), the
//     running simulator holds MT-A in inspection mode for the visit, the
//     checklist goes through POST …/checklist, the order is completed as
//     proven by the telemetry and, once the manager accepts it through the
//     API, verified;
//   - 丙维保 signs MT-B's order on paper (no inspection mode): it ends
//     unverified and raises a supervision alert for MT-B;
//   - 乙维保's token, of another company, cannot start, record or complete
//     MT-A's order (403) and does not see it in its list.
func TestContractorsThroughTheAPI(t *testing.T) { onEachStore(t, testContractorsThroughTheAPI) }

func testContractorsThroughTheAPI(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	t0 := itest.PinnedStart(time.Now(), 10, 3*time.Hour)
	installed := t0.In(maintenance.Shanghai).AddDate(0, 0, -13).Format(time.DateOnly)
	fleet := []registry.Lift{
		{ID: "MT-A", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "虹房物业", Contractor: "甲维保"},
		{ID: "MT-B", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "江湾物业", Contractor: "丙维保"},
		{ID: "MT-C", Estate: "yixian", Landings: 6, RatedSpeed: 1, InstallDate: installed, PropertyManager: "江湾物业", Contractor: "乙维保"},
	}
	cfg := fleetConfig(t, broker.URL, fleet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a, _, _ := runApp(t, cfg, t0)
	itest.WaitUntil(t, time.Minute, "routine orders planned at start", func() bool {
		return len(workOrders(t, a, maintenance.Filter{Kind: maintenance.KindRoutine})) == 3
	})
	woA, woB := routineOrder(t, a, "MT-A"), routineOrder(t, a, "MT-B")
	base := "http://" + a.HTTPAddr()
	clientOf := func(token string) *contractor.Client { return &contractor.Client{Base: base, Token: token} }
	tokA := account(t, a, "sim-a", identity.RoleContractor, identity.Scope{Company: "甲维保"})
	tokB := account(t, a, "sim-b", identity.RoleContractor, identity.Scope{Company: "丙维保"})
	tokC := account(t, a, "sim-c", identity.RoleContractor, identity.Scope{Company: "乙维保"})
	tokM := account(t, a, "mgr", identity.RoleManager, identity.Scope{Estates: []string{"yixian"}})

	// The terminals, paced by the service's fake clock; no random
	// technician visits (the contractors make them).
	sink, err := simulator.DialMQTT(ctx, simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: 500 * time.Millisecond}, Conns: 1},
		[]string{"MT-A", "MT-B", "MT-C"})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sim, err := simulator.New(simulator.Config{Lifts: fleet, Seed: 3, Start: t0, Speed: 1, Now: a.fake.Now, After: fakeAfter(t, a.fake),
		Rates: simulator.Rates{TripsPerDayMin: 60, TripsPerDayMax: 100, StatusInterval: time.Minute}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-simDone })

	honest, err := contractor.New(contractor.Config{Company: "甲维保", Seed: 1, PaperShare: 0, Prompt: true, Now: a.fake.Now}, clientOf(tokA), sim)
	if err != nil {
		t.Fatal(err)
	}
	paper, err := contractor.New(contractor.Config{Company: "丙维保", Seed: 2, PaperShare: 1, Prompt: true, Now: a.fake.Now}, clientOf(tokB), sim)
	if err != nil {
		t.Fatal(err)
	}

	// Another company's token: not in its list, and every action answers
	// as for an order that does not exist (404, issue 18).
	other := clientOf(tokC)
	list, err := other.WorkOrders(ctx, "", contractor.StateAssigned, contractor.StateInProgress)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(list, func(w contractor.WorkOrder) bool { return w.Lift != "MT-C" }); i >= 0 {
		t.Fatalf("乙维保 lists another company's order: %+v", list[i])
	}
	// Another company's order answers as an unknown one does (404, issue 18).
	forbidden := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, contractor.ErrNotFound) {
			t.Fatalf("乙维保 %s MT-A's order: %v, want 404 (work order not found)", what, err)
		}
	}
	_, err = other.Start(ctx, woA.ID, "王师傅")
	forbidden("starts", err)

	// Work until both orders are signed: each minute of the fake clock,
	// the contractors tick once ingest has seen the terminals' minute.
	signed := func(id int64) bool {
		w, err := a.Domain().Maintenance.Store.WorkOrder(ctx, id)
		return err == nil && w.State.Done()
	}
	for step := 0; !signed(woA.ID) || !signed(woB.ID); step++ {
		if step > 240 {
			t.Fatal("the contractors did not sign both orders in four hours of the fake clock")
		}
		if step > 0 {
			a.fake.Advance(time.Minute)
		}
		now := a.fake.Now()
		itest.WaitUntil(t, time.Minute, "ingest caught up with the simulator", func() bool {
			for _, id := range []string{"MT-A", "MT-B"} {
				if l, ok := a.ing.State().Get(id); step > 0 && (!ok || l.Car.At.Before(now.Add(-time.Minute))) {
					return false
				}
			}
			return true
		})
		for _, c := range []*contractor.Contractor{honest, paper} {
			if _, err := c.Tick(ctx); err != nil {
				t.Fatalf("%s: %v", c.Company(), err)
			}
		}
		if step == 5 { // MT-A's visit under way
			w, _ := a.Domain().Maintenance.Store.WorkOrder(ctx, woA.ID)
			if w.State != maintenance.StateInProgress {
				t.Fatalf("MT-A's order is %s five minutes in, want in_progress", w.State)
			}
			l, _ := a.ing.State().Get("MT-A")
			if len(l.Inspections) == 0 {
				t.Fatal("MT-A is not in inspection mode during the visit")
			}
			_, err = other.RecordChecklist(ctx, woA.ID, []contractor.Result{{Item: "A1", Result: "pass"}})
			forbidden("records the checklist of", err)
			_, err = other.Complete(ctx, woA.ID, contractor.Completion{Findings: "x", Signature: "x"})
			forbidden("completes", err)
		}
	}

	doneA, err := a.Domain().Maintenance.Store.WorkOrder(ctx, woA.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, ev := range doneA.History {
		actions = append(actions, ev.Action+"@"+ev.Actor)
	}
	if doneA.State != maintenance.StateCompleted || doneA.Proof == nil || !doneA.Proof.Verified || doneA.Proof.Observed < doneA.Proof.Required ||
		!slices.Contains(actions, "checklist@sim-a") || doneA.Technician == "" {
		t.Fatalf("MT-A's order after the visit: %s, proof %+v, history %v (want completed, proven by inspection mode, checklist recorded by sim-a)",
			doneA.State, doneA.Proof, actions)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/work-orders/"+strconv.FormatInt(woA.ID, 10)+"/accept", strings.NewReader(`{"note":"checked on site"}`))
	req.Header.Set("Authorization", "Bearer "+tokM)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("manager's accept: HTTP %d", resp.StatusCode)
	}
	if w, _ := a.Domain().Maintenance.Store.WorkOrder(ctx, woA.ID); w.State != maintenance.StateVerified {
		t.Fatalf("MT-A's order after the manager's acceptance: %s, want verified", w.State)
	}

	doneB, err := a.Domain().Maintenance.Store.WorkOrder(ctx, woB.ID)
	if err != nil {
		t.Fatal(err)
	}
	if doneB.State != maintenance.StateUnverified || doneB.Proof == nil || doneB.Proof.Observed != 0 {
		t.Fatalf("MT-B's paper visit: %s, proof %+v (want unverified, nothing observed)", doneB.State, doneB.Proof)
	}
	itest.WaitUntil(t, time.Minute, "a supervision alert for MT-B's unverified visit", func() bool {
		sup := a.engine.OpenSupervision(maintenance.EventUnverified)
		return len(sup) == 1 && sup[0].Lift == "MT-B"
	})
	if st := paper.Stats(); st.Paper != 1 || st.Honest != 0 {
		t.Errorf("丙维保's stats %+v, want one paper visit", st)
	}
	if st := honest.Stats(); st.Honest != 1 || st.Paper != 0 {
		t.Errorf("甲维保's stats %+v, want one honest visit", st)
	}
}
