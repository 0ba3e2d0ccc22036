package contractor_test

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/maintenance"
	"github.com/liftwatch/liftwatch/maintenance/checklist"
	"github.com/liftwatch/liftwatch/simulator/contractor"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
	"github.com/liftwatch/liftwatch/store"
)

// start is the tests' pinned clock: a Monday morning in Shanghai.
var start = time.Date(2027, 3, 1, 6, 0, 0, 0, time.FixedZone("CST", 8*3600))

const company = "上海三菱电梯维保站"

type oneContractor struct{}

func (oneContractor) ContractorOf(context.Context, string, time.Time) (string, error) {
	return company, nil
}

type nullSink struct{}

func (nullSink) Supervise(context.Context, maintenance.SupervisionEvent) error { return nil }

// rig is the maintenance service over a real SQLite store, on a fake
// clock, with inspection sessions recorded as the live state would see
// them, and the contractor API served in process.
type rig struct {
	db       *store.DB
	clk      *clock.Fake
	svc      *maintenance.Service
	sessions *demohistory.Sessions
	api      contractor.API
}

func newRig(t *testing.T) *rig {
	t.Helper()
	db, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := clock.NewFake(start)
	ss := &demohistory.Sessions{Now: clk.Now}
	orders, err := demohistory.NewOrders(context.Background(), db.Maintenance())
	if err != nil {
		t.Fatal(err)
	}
	svc := &maintenance.Service{Store: orders, Contractors: oneContractor{}, Sessions: ss, Sink: nullSink{},
		Policies: maintenance.Policies{Default: maintenance.DefaultPolicy()}, Now: clk.Now, Log: slog.New(slog.DiscardHandler)}
	return &rig{db: db, clk: clk, svc: svc, sessions: ss,
		api: &demohistory.InProcess{Svc: svc, Orders: orders, Actor: maintenance.Actor{ID: "contractor-account"}, Now: clk.Now}}
}

// orders creates one routine order per lift, due within the lead time.
func (r *rig) orders(t *testing.T, n int) []maintenance.LiftInfo {
	t.Helper()
	var lifts []maintenance.LiftInfo
	for i := range n {
		lifts = append(lifts, maintenance.LiftInfo{ID: fmt.Sprintf("L%03d", i), Estate: "JW", Commissioned: maintenance.DayOf(start) - 14})
	}
	res, err := r.svc.Sweep(context.Background(), lifts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != n {
		t.Fatalf("sweep created %d orders for %d lifts", res.Created, n)
	}
	return lifts
}

// work ticks c, moving the clock to whatever it waits for, until it has
// nothing left or until is reached.
func (r *rig) work(t *testing.T, c *contractor.Contractor, until time.Time) {
	t.Helper()
	for range 10000 {
		next, err := c.Tick(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() || next.After(until) {
			return
		}
		r.clk.Set(next)
	}
	t.Fatal("the contractor never ran out of work")
}

func (r *rig) all(t *testing.T) []*maintenance.WorkOrder {
	t.Helper()
	ws, err := r.db.Maintenance().WorkOrders(context.Background(), maintenance.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// TestHonestVisitIsVerified: an honest visit takes the order from assigned
// through in_progress to completed, holding the lift in inspection mode for
// the level's minutes, so the proof verifies it; the checklist is complete,
// test items carry a value and a photo; a paper visit of the same kind ends
// unverified with no inspection time.
func TestHonestVisitIsVerified(t *testing.T) {
	for _, tc := range []struct {
		name  string
		paper float64
		want  maintenance.State
	}{{"honest", 0, maintenance.StateCompleted}, {"paper", 1, maintenance.StateUnverified}} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.orders(t, 1)
			c, err := contractor.New(contractor.Config{Company: company, Seed: 1, PaperShare: tc.paper, Now: r.clk.Now}, r.api, r.sessions)
			if err != nil {
				t.Fatal(err)
			}
			before := r.all(t)[0]
			if before.State != maintenance.StateAssigned {
				t.Fatalf("order is %s, want assigned", before.State)
			}
			r.work(t, c, start.Add(10*24*time.Hour))
			w, err := r.db.Maintenance().WorkOrder(context.Background(), before.ID)
			if err != nil {
				t.Fatal(err)
			}
			// The checklist is recorded on the order (its own history
			// event, as POST …/checklist does) before the completion.
			var path []string
			for _, ev := range w.History {
				path = append(path, ev.Action+">"+string(ev.To))
			}
			want := []string{"created>planned", "assign>assigned", "start>in_progress", "checklist>in_progress", "complete>" + string(tc.want)}
			if fmt.Sprint(path) != fmt.Sprint(want) {
				t.Fatalf("history %v, want %v", path, want)
			}
			if w.StartedAt.Before(w.WindowStart) || w.CompletedAt.After(w.Due) {
				t.Errorf("visit %v–%v outside the window %v–%v", w.StartedAt, w.CompletedAt, w.WindowStart, w.Due)
			}
			if h := w.StartedAt.In(start.Location()).Hour(); h < 8 || h >= 17 {
				t.Errorf("technician arrived at %v, outside working hours", w.StartedAt)
			}
			ss, _ := r.sessions.InspectionSessions(context.Background(), w.Lift, w.WindowStart, w.Due)
			if w.Proof == nil {
				t.Fatal("no proof recorded")
			}
			switch tc.paper {
			case 0:
				min := time.Duration(contractor.DefaultVisitMinutes[w.Level-1][0]) * time.Minute
				if !w.Proof.Verified || w.Proof.Observed < min || len(ss) != 1 {
					t.Errorf("honest visit: proof %+v, sessions %v; want verified with at least %v", w.Proof, ss, min)
				}
			case 1:
				if w.Proof.Verified || w.Proof.Observed != 0 || len(ss) != 0 || w.CompletedAt.Sub(*w.StartedAt) > 5*time.Minute {
					t.Errorf("paper visit: proof %+v, sessions %v, on site %v", w.Proof, ss, w.CompletedAt.Sub(*w.StartedAt))
				}
			}
			tests := 0
			for _, res := range w.Results {
				if res.Value != "" && res.Photo != "" {
					tests++
				}
			}
			if len(w.Results) != len(checklist.For(w.Level)) || tests == 0 {
				t.Errorf("%d results (%d with value and photo) for a %s visit", len(w.Results), tests, w.Level)
			}
			if w.TechSign == nil || w.TechSign.By != "contractor-account" || w.Technician == "" {
				t.Errorf("signed %+v by technician %q", w.TechSign, w.Technician)
			}
			if st := c.Stats(); st.Completed != 1 || st.Errors != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestPaperShareRespected: over 300 orders the share of paper visits is the
// configured one (within three standard deviations of the binomial), every
// paper visit is flagged unverified and no honest one is; the same seed
// gives the same visits.
func TestPaperShareRespected(t *testing.T) {
	const n, share = 300, 0.2
	run := func() ([]*maintenance.WorkOrder, contractor.Stats) {
		r := newRig(t)
		r.orders(t, n)
		c, err := contractor.New(contractor.Config{Company: company, Seed: 42, PaperShare: share, Now: r.clk.Now}, r.api, r.sessions)
		if err != nil {
			t.Fatal(err)
		}
		r.work(t, c, start.Add(10*24*time.Hour))
		return r.all(t), c.Stats()
	}
	ws, st := run()
	unverified := 0
	for _, w := range ws {
		switch w.State {
		case maintenance.StateUnverified:
			unverified++
		case maintenance.StateCompleted:
		default:
			t.Fatalf("order %d left %s", w.ID, w.State)
		}
	}
	sd := math.Sqrt(n * share * (1 - share))
	if math.Abs(float64(unverified)-n*share) > 3*sd {
		t.Errorf("%d of %d visits unverified, want %v ± %.0f", unverified, n, n*share, 3*sd)
	}
	if st.Paper != unverified || st.Honest != n-unverified {
		t.Errorf("contractor signed %d on paper and %d honestly; %d unverified", st.Paper, st.Honest, unverified)
	}
	again, _ := run()
	for i := range ws {
		if ws[i].State != again[i].State || !ws[i].StartedAt.Equal(*again[i].StartedAt) || ws[i].Technician != again[i].Technician {
			t.Fatalf("order %d differs between two runs with one seed: %s %v %s / %s %v %s", ws[i].ID,
				ws[i].State, ws[i].StartedAt, ws[i].Technician, again[i].State, again[i].StartedAt, again[i].Technician)
		}
	}
}
