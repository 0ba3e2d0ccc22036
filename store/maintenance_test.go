package store

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/maintenance"
)

type oneContractor string

func (c oneContractor) ContractorOf(context.Context, string, time.Time) (string, error) {
	return string(c), nil
}

type fixedCallouts []maintenance.Callout

func (f fixedCallouts) Callouts(_ context.Context, from, to time.Time) ([]maintenance.Callout, error) {
	var out []maintenance.Callout
	for _, c := range f {
		if !c.At.Before(from) && c.At.Before(to) {
			out = append(out, c)
		}
	}
	return out, nil
}

func newTestService(db *DB, clk *clock.Fake, s *yearSessions, sink *yearSink) *maintenance.Service {
	return &maintenance.Service{Store: db.Maintenance(), Contractors: oneContractor("acme"), Sessions: s, Sink: sink,
		Policies: maintenance.Policies{Default: maintenance.DefaultPolicy()}, Now: clk.Now, Log: slog.New(slog.DiscardHandler)}
}

// TestWorkOrderLifecycle drives orders through every allowed transition and
// tries the refused ones on the real store: a refusal is a
// *TransitionError carrying the stored state, the record keeps its
// history, checklist and cost fields round-trip, and a test item without a
// value or photo is refused.
func TestWorkOrderLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		day := maintenance.Date(2027, 3, 1)
		clk := clock.NewFake(day.Start().Add(8 * time.Hour))
		sess := &yearSessions{m: map[string][]maintenance.Session{}}
		sink := &yearSink{}
		svc := newTestService(db, clk, sess, sink)
		tech, mgr := maintenance.Actor{ID: "tech"}, maintenance.Actor{ID: "mgr"}
		lifts := []maintenance.LiftInfo{{ID: "L1", Estate: "JW", Commissioned: day - 14}}
		res, err := svc.Sweep(ctx, lifts)
		if err != nil || res.Created != 1 {
			t.Fatalf("sweep: %+v, %v: want one routine order", res, err)
		}
		ws, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{Lift: "L1"})
		if err != nil || len(ws) != 1 {
			t.Fatalf("orders %v, %v", ws, err)
		}
		w := ws[0]
		if w.State != maintenance.StateAssigned || w.Contractor != "acme" || w.Level != maintenance.HalfMonthly ||
			!w.Due.Equal((day + 1).End()) || !w.WindowStart.Equal((day - 2).Start()) {
			t.Fatalf("order %+v: want assigned to acme, half-monthly, due end of %s, window from %s", w, day+1, day-2)
		}
		wantState := func(err error, cur maintenance.State) {
			t.Helper()
			var te *maintenance.TransitionError
			if !errors.As(err, &te) || te.Current != cur || te.ID != w.ID {
				t.Fatalf("err %v: want a TransitionError in state %s", err, cur)
			}
		}
		_, err = svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: fullResults(w.Level)})
		wantState(err, maintenance.StateAssigned)
		_, err = svc.Accept(ctx, w.ID, mgr, "")
		wantState(err, maintenance.StateAssigned)
		if _, err := svc.Start(ctx, w.ID, tech, "Wang"); err != nil {
			t.Fatal(err)
		}
		_, err = svc.Start(ctx, w.ID, tech, "Wang")
		wantState(err, maintenance.StateInProgress)
		bad := fullResults(w.Level)
		bad[4].Value = "" // H05 brake clearance is a test
		if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: bad}); !errors.Is(err, maintenance.ErrInvalid) ||
			!strings.Contains(err.Error(), "H05") {
			t.Fatalf("test item without a value: %v, want ErrInvalid naming H05", err)
		}
		photo := fullResults(w.Level)
		photo[4].Value, photo[4].Photo = "", "photo/123.jpg"
		photo[7].Result, photo[7].Note = maintenance.Fail, "worn pin"
		sess.add("L1", clk.Now().Add(-time.Hour), 25*time.Minute) // the window started two days ago
		clk.Set(clk.Now().Add(30 * time.Minute))
		done, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: photo, Findings: "governor pin worn", PartsFen: 4550, LabourFen: 20000})
		if err != nil {
			t.Fatal(err)
		}
		if done.State != maintenance.StateCompleted || !done.Proof.Verified || done.Proof.Observed != 25*time.Minute {
			t.Fatalf("completed %s proof %+v: want completed, 25 min observed", done.State, done.Proof)
		}
		_, err = svc.Cancel(ctx, w.ID, mgr, "changed my mind")
		wantState(err, maintenance.StateCompleted)
		if _, err := svc.Reject(ctx, w.ID, mgr, ""); !errors.Is(err, maintenance.ErrInvalid) {
			t.Fatalf("reject without a reason: %v", err)
		}
		hasVisit := func() bool {
			t.Helper()
			h, err := db.Maintenance().RoutineHistory(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(h["L1"]) > 0
		}
		if !hasVisit() {
			t.Fatal("a completed visit counts for the plan")
		}
		if _, err := svc.Reject(ctx, w.ID, mgr, "photo of H05 unreadable"); err != nil {
			t.Fatal(err)
		}
		if hasVisit() {
			t.Fatal("a rejected visit no longer counts for the plan")
		}
		if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: photo, Findings: "governor pin worn", PartsFen: 4550, LabourFen: 20000}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Accept(ctx, w.ID, mgr, ""); err != nil {
			t.Fatal(err)
		}
		for _, try := range []func() error{
			func() error { _, err := svc.Reject(ctx, w.ID, mgr, "late"); return err },
			func() error { _, err := svc.Cancel(ctx, w.ID, mgr, "late"); return err },
			func() error { _, err := svc.Start(ctx, w.ID, tech, "Wang"); return err },
		} {
			wantState(try(), maintenance.StateVerified)
		}
		got, err := db.Maintenance().WorkOrder(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ev := range got.History {
			actions = append(actions, ev.Action+":"+string(ev.To))
		}
		want := []string{"created:planned", "assign:assigned", "start:in_progress", "complete:completed", "reject:in_progress",
			"complete:completed", "accept:verified"}
		if !reflect.DeepEqual(actions, want) {
			t.Fatalf("history %v, want %v", actions, want)
		}
		if !reflect.DeepEqual(got.Results, photo) || got.PartsFen != 4550 || got.LabourFen != 20000 || got.Technician != "Wang" ||
			got.ManagerSign == nil || got.ManagerSign.By != "mgr" || got.TechSign == nil || got.TechSign.By != "tech" {
			t.Fatalf("record read back: %+v", got)
		}
		// The store itself refuses a save from a stale state, naming the
		// stored one (two concurrent actions: one wins).
		stale := *got
		stale.State = maintenance.StateInProgress
		err = db.Maintenance().TransitionWorkOrder(ctx, &stale, maintenance.StateCompleted, maintenance.Event{At: clk.Now(), Action: "reject"})
		wantState(err, maintenance.StateVerified)
		if again, _ := db.Maintenance().WorkOrder(ctx, w.ID); again.State != maintenance.StateVerified || len(again.History) != len(got.History) {
			t.Fatalf("a refused save changed the order: %+v", again)
		}
		if _, err := svc.Accept(ctx, 9999, mgr, ""); !errors.As(err, new(*maintenance.NotFoundError)) {
			t.Fatalf("missing order: %v", err)
		}

		// Unverified: accepting needs a note; cancelling an open order
		// frees its need, so the next sweep plans it again.
		clk.Set((day + 15).Start().Add(8 * time.Hour))
		if res, err := svc.Sweep(ctx, lifts); err != nil || res.Created != 1 {
			t.Fatalf("second sweep: %+v, %v", res, err)
		}
		ws, _ = db.Maintenance().WorkOrders(ctx, maintenance.Filter{Lift: "L1", Open: true})
		if len(ws) != 1 {
			t.Fatalf("open orders: %v", ws)
		}
		if _, err := svc.Cancel(ctx, ws[0].ID, mgr, "lift replaced"); err != nil {
			t.Fatal(err)
		}
		if res, err := svc.Sweep(ctx, lifts); err != nil || res.Created != 1 {
			t.Fatalf("sweep after cancel: %+v, %v: want the need planned again", res, err)
		}
		ws, _ = db.Maintenance().WorkOrders(ctx, maintenance.Filter{Lift: "L1", Open: true})
		if _, err := svc.Start(ctx, ws[0].ID, tech, "Wang"); err != nil {
			t.Fatal(err)
		}
		un, err := svc.Complete(ctx, ws[0].ID, tech, maintenance.Completion{Results: fullResults(ws[0].Level)})
		if err != nil || un.State != maintenance.StateUnverified {
			t.Fatalf("complete without proof: %v, %v", un, err)
		}
		if _, err := svc.Accept(ctx, un.ID, mgr, " "); !errors.Is(err, maintenance.ErrInvalid) {
			t.Fatalf("accept unverified without a note: %v", err)
		}
		if a, err := svc.Accept(ctx, un.ID, mgr, "resident confirms the visit; terminal was offline"); err != nil ||
			a.State != maintenance.StateVerified || a.Proof.Verified {
			t.Fatalf("accept unverified with a note: %+v, %v: want verified, proof still unproven", a, err)
		}
	})
}

// TestRetentionRefusesDelete: maintenance records have no deletion path,
// and the database itself refuses a DELETE.
func TestRetentionRefusesDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		w := &maintenance.WorkOrder{Lift: "L1", Estate: "JW", Kind: maintenance.KindCorrective, NeedKey: "corrective/L1/incident/1",
			State: maintenance.StateAssigned, Due: t0, WindowStart: t0, CreatedAt: t0,
			History: []maintenance.Event{{At: t0, Action: "created", Actor: "planner", To: maintenance.StateAssigned}}}
		if ok, err := db.Maintenance().CreateWorkOrder(ctx, w); err != nil || !ok {
			t.Fatalf("create: %v, %v", ok, err)
		}
		dup := *w
		if ok, err := db.Maintenance().CreateWorkOrder(ctx, &dup); err != nil || ok {
			t.Fatalf("same need again: created %v, %v", ok, err)
		}
		for _, table := range []string{"work_orders", "work_order_events"} {
			_, err := db.SQL.ExecContext(ctx, `DELETE FROM `+table)
			if err == nil || !strings.Contains(err.Error(), "kept at least 5 years") {
				t.Errorf("DELETE FROM %s: %v, want refused", table, err)
			}
		}
		if _, err := db.Maintenance().WorkOrder(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// TestComplianceReport: a month's figures per contractor from real orders
// (on time, late, overdue, cancelled, proven and unproven visits) and
// call-outs, and both CSV exports.
func TestComplianceReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		day := maintenance.Date(2027, 4, 1)
		clk := clock.NewFake(day.Start().Add(8 * time.Hour))
		sess := &yearSessions{m: map[string][]maintenance.Session{}}
		svc := newTestService(db, clk, sess, &yearSink{})
		svc.Callouts = fixedCallouts{
			{Lift: "L1", Contractor: "acme", At: (day + 3).Start(), Arrival: 12 * time.Minute},
			{Lift: "L2", Contractor: "acme", At: (day + 9).Start(), Arrival: 36 * time.Minute},
			{Lift: "L2", Contractor: "acme", At: (day + 30).Start(), Arrival: 5 * time.Minute}, // May: not counted
		}
		// L2 had 4 more call-outs in the previous 12 months: 5 > 4, a problem lift.
		for i := 1; i <= 4; i++ {
			svc.Callouts = append(svc.Callouts.(fixedCallouts), maintenance.Callout{Lift: "L2", Contractor: "acme", At: (day - maintenance.Day(60*i)).Start()})
		}
		svc.Callouts = append(svc.Callouts.(fixedCallouts), maintenance.Callout{Lift: "L1", Contractor: "acme", At: (day - 10).Start()})
		tech, mgr := maintenance.Actor{ID: "tech"}, maintenance.Actor{ID: "mgr"}
		lifts := []maintenance.LiftInfo{{ID: "L1", Estate: "JW", Commissioned: day - 13}, {ID: "L2", Estate: "JW", Commissioned: day - 13}}
		if res, err := svc.Sweep(ctx, lifts); err != nil || res.Created != 2 {
			t.Fatalf("sweep %+v %v", res, err)
		}
		ws, _ := db.Maintenance().WorkOrders(ctx, maintenance.Filter{Kind: maintenance.KindRoutine})
		for i, w := range ws {
			svc.Start(ctx, w.ID, tech, "Wang")
			if i == 0 {
				sess.add(w.Lift, clk.Now(), 33*time.Minute)
			}
			clk.Set(clk.Now().Add(40 * time.Minute))
			if _, err := svc.Complete(ctx, w.ID, tech, maintenance.Completion{Results: fullResults(w.Level)}); err != nil {
				t.Fatal(err)
			}
		}
		late, _, err := svc.OnIncident(ctx, maintenance.Incident{ID: "a1", Kind: maintenance.IncidentEntrapment, Lift: "L1", Estate: "JW", At: clk.Now()})
		if err != nil {
			t.Fatal(err)
		}
		open, _, _ := svc.OnIncident(ctx, maintenance.Incident{ID: "a2", Kind: maintenance.IncidentCriticalFault, Lift: "L2", Estate: "JW", At: clk.Now()})
		gone, _, _ := svc.OnIncident(ctx, maintenance.Incident{ID: "a3", Kind: maintenance.IncidentProblemLift, Lift: "L2", Estate: "JW", At: clk.Now()})
		if _, err := svc.Cancel(ctx, gone.ID, mgr, "raised twice"); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(30 * time.Hour)) // past the 24 h
		svc.Start(ctx, late.ID, tech, "Wang")
		if _, err := svc.Complete(ctx, late.ID, tech, maintenance.Completion{Findings: "door lock contact"}); err != nil {
			t.Fatal(err)
		}
		rows, err := svc.Compliance(ctx, 2027, time.April, lifts)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 {
			t.Fatalf("rows %+v: want acme only", rows)
		}
		r := rows[0]
		if r.Contractor != "acme" || r.Month != "2027-04" || r.Lifts != 2 || r.Due != 4 || r.OnTime != 2 ||
			r.Visits != 2 || r.Verified != 1 || r.Callouts != 2 || r.LateArrivals != 1 || r.ArrivalMax != 36*time.Minute || r.ProblemLifts != 1 {
			t.Fatalf("compliance %+v", r)
		}
		check := func(name string, v float64, ok bool, want float64) {
			t.Helper()
			if !ok || v < want-0.05 || v > want+0.05 {
				t.Errorf("%s = %v (%v), want %v", name, v, ok, want)
			}
		}
		v, ok := r.OnTimePct()
		check("on-time %", v, ok, 50)
		v, ok = r.VerifiedPct()
		check("verified %", v, ok, 50)
		v, ok = r.MeanVisitMinutes()
		check("mean visit min", v, ok, 33)
		v, ok = r.CalloutsPerLiftYear()
		check("call-outs per lift-year", v, ok, 2.0/2*365/30)
		v, ok = r.MeanArrivalMinutes()
		check("mean arrival min", v, ok, 24)
		_ = open

		var buf bytes.Buffer
		if err := maintenance.WriteComplianceCSV(&buf, rows); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 2 || !reflect.DeepEqual(recs[0], maintenance.ComplianceCSVHeader) ||
			strings.Join(recs[1], ",") != "2027-04,acme,2,4,2,50.0,2,1,50.0,33.0,2,12.2,2,24.0,36.0,1,1" {
			t.Fatalf("compliance CSV %q, %v", recs, err)
		}
		all, err := db.Maintenance().WorkOrders(ctx, maintenance.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if err := maintenance.WriteWorkOrdersCSV(&buf, all, clk.Now()); err != nil {
			t.Fatal(err)
		}
		recs, err = csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) != 1+len(all) {
			t.Fatalf("work order CSV: %d records, %v", len(recs), err)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		overdue := 0
		for _, rec := range recs[1:] {
			if rec[col["overdue"]] == "true" {
				overdue++
				if rec[col["id"]] != itoa(open.ID) {
					t.Errorf("overdue row %v, want order %d", rec, open.ID)
				}
			}
			if rec[col["kind"]] == "routine" && (rec[col["level"]] != "half_monthly" || rec[col["checklist_items"]] != "31") {
				t.Errorf("routine row %v", rec)
			}
		}
		if overdue != 1 {
			t.Errorf("%d overdue rows, want 1 (the critical fault's check)", overdue)
		}
	})
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
