package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/trusteeship"
)

var cday = civil.MustParse

func newTrusteeship(db *DB, pol trusteeship.Policies) (*trusteeship.Service, *clock.Fake) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, civil.Shanghai))
	return trusteeship.NewService(db.Trusteeship(), clk.Now, pol), clk
}

func TestTrusteeshipWhoOnDate(t *testing.T) { forEachBackend(t, testTrusteeshipWhoOnDate) }

func testTrusteeshipWhoOnDate(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _ := newTrusteeship(db, trusteeship.DefaultPolicies())
	a := &trusteeship.Manager{Lift: "L1", Kind: trusteeship.PropertyCompany, Name: "Yixian Property", From: cday("2026-01-01")}
	b := &trusteeship.Manager{Lift: "L1", Kind: trusteeship.Resident, Name: "Wang Wei", Contact: "138", From: cday("2026-03-10")}
	for _, m := range []*trusteeship.Manager{a, b} {
		if err := svc.SetManager(ctx, "officer", m); err != nil {
			t.Fatal(err)
		}
	}
	c1 := &trusteeship.Contract{Lift: "L1", Contractor: "Hongkou Lift Co", Start: cday("2026-01-01"), End: cday("2026-06-30"),
		Mode: trusteeship.Periodic, PriceFen: 180000}
	c2 := &trusteeship.Contract{Lift: "L1", Contractor: "Jiangwan Maint", Start: cday("2026-07-01"), End: cday("2027-06-30"),
		Mode: trusteeship.OnDemand, PriceFen: 300000, GoodStanding: true, Insured: true}
	for _, c := range []*trusteeship.Contract{c1, c2} {
		if err := svc.AddContract(ctx, "officer", c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		day               string
		manager, contract string
	}{
		{"2025-12-31", "", ""},
		{"2026-01-01", "Yixian Property", "Hongkou Lift Co"},
		{"2026-03-03", "Yixian Property", "Hongkou Lift Co"},
		{"2026-03-09", "Yixian Property", "Hongkou Lift Co"},
		{"2026-03-10", "Wang Wei", "Hongkou Lift Co"},
		{"2026-06-30", "Wang Wei", "Hongkou Lift Co"},
		{"2026-07-01", "Wang Wei", "Jiangwan Maint"},
		{"2027-07-01", "Wang Wei", ""},
	} {
		m, err := svc.ManagerOn(ctx, "L1", cday(tc.day))
		if err != nil {
			t.Fatal(err)
		}
		c, err := svc.ContractOn(ctx, "L1", cday(tc.day))
		if err != nil {
			t.Fatal(err)
		}
		var gm, gc string
		if m != nil {
			gm = m.Name
		}
		if c != nil {
			gc = c.Contractor
		}
		if gm != tc.manager || gc != tc.contract {
			t.Errorf("%s: manager %q contract %q, want %q %q", tc.day, gm, gc, tc.manager, tc.contract)
		}
	}
	if c, _ := svc.ContractOn(ctx, "L1", cday("2026-08-01")); c == nil || !c.QualifiesForOnDemand() || c.PriceFen != 300000 {
		t.Fatalf("contract round trip: %+v", c)
	}
	audit, err := db.Trusteeship().Audit(ctx, "L1")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range audit {
		if r.Actor != "officer" || r.After == "" {
			t.Errorf("audit record %+v: actor or after missing", r)
		}
		actions = append(actions, r.Action)
	}
	want := []string{"manager.set", "manager.close", "manager.set", "contract.add", "contract.add"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Fatalf("audit actions %v, want %v", actions, want)
		}
	}
	if audit[1].Before != `{"id":1,"lift":"L1","kind":"property_company","name":"Yixian Property","contact":"","from":"2026-01-01","to":""}` ||
		audit[1].After != `{"id":1,"lift":"L1","kind":"property_company","name":"Yixian Property","contact":"","from":"2026-01-01","to":"2026-03-10"}` {
		t.Errorf("close audit before/after: %s -> %s", audit[1].Before, audit[1].After)
	}

	// A revision (early end) is audited with before and after.
	c2.End = cday("2026-12-31")
	if err := svc.ReviseContract(ctx, "auditor", c2); err != nil {
		t.Fatal(err)
	}
	if c, _ := svc.ContractOn(ctx, "L1", cday("2027-01-01")); c != nil {
		t.Fatalf("revised contract still covers 2027-01-01: %+v", c)
	}
	audit, _ = db.Trusteeship().Audit(ctx, "L1")
	last := audit[len(audit)-1]
	if last.Action != "contract.revise" || last.Actor != "auditor" || last.Before == "" || last.Before == last.After {
		t.Fatalf("revision audit %+v", last)
	}
	if err := svc.SetManager(ctx, "", &trusteeship.Manager{Lift: "L1", Kind: trusteeship.Insurer, Name: "X", From: cday("2027-01-01")}); !errors.Is(err, trusteeship.ErrNoActor) {
		t.Fatalf("change without actor: %v", err)
	}
}

func TestTrusteeshipRejectsOverlaps(t *testing.T) { forEachBackend(t, testTrusteeshipRejectsOverlaps) }

func testTrusteeshipRejectsOverlaps(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, _ := newTrusteeship(db, trusteeship.DefaultPolicies())
	mustSet := func(m *trusteeship.Manager) {
		t.Helper()
		if err := svc.SetManager(ctx, "officer", m); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(&trusteeship.Manager{Lift: "L1", Kind: trusteeship.PropertyCompany, Name: "A", From: cday("2026-01-01")})
	mustSet(&trusteeship.Manager{Lift: "L1", Kind: trusteeship.Insurer, Name: "B", From: cday("2026-03-10")})
	if err := svc.AddContract(ctx, "officer", &trusteeship.Contract{Lift: "L1", Contractor: "K", Start: cday("2026-01-01"),
		End: cday("2026-12-31"), Mode: trusteeship.Periodic}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Trusteeship().Audit(ctx, "L1")

	for name, m := range map[string]*trusteeship.Manager{
		"inside a closed period":  {Lift: "L1", Kind: trusteeship.Resident, Name: "C", From: cday("2026-02-01")},
		"same day as current":     {Lift: "L1", Kind: trusteeship.Resident, Name: "C", From: cday("2026-03-10")},
		"bounded across a change": {Lift: "L1", Kind: trusteeship.Resident, Name: "C", From: cday("2025-12-01"), To: cday("2026-01-02")},
	} {
		if err := svc.SetManager(ctx, "officer", m); !errors.Is(err, trusteeship.ErrOverlap) {
			t.Errorf("%s: %v, want ErrOverlap", name, err)
		}
	}
	for name, c := range map[string]*trusteeship.Contract{
		"inside":         {Lift: "L1", Contractor: "Z", Start: cday("2026-05-01"), End: cday("2026-05-31"), Mode: trusteeship.Periodic},
		"touching end":   {Lift: "L1", Contractor: "Z", Start: cday("2026-12-31"), End: cday("2027-12-30"), Mode: trusteeship.Periodic},
		"covering all":   {Lift: "L1", Contractor: "Z", Start: cday("2025-01-01"), End: cday("2028-01-01"), Mode: trusteeship.Periodic},
		"touching start": {Lift: "L1", Contractor: "Z", Start: cday("2025-01-01"), End: cday("2026-01-01"), Mode: trusteeship.Periodic},
	} {
		if err := svc.AddContract(ctx, "officer", c); !errors.Is(err, trusteeship.ErrOverlap) {
			t.Errorf("contract %s: %v, want ErrOverlap", name, err)
		}
	}
	after, _ := db.Trusteeship().Audit(ctx, "L1")
	if len(after) != len(before) {
		t.Fatalf("refused changes wrote %d audit records", len(after)-len(before))
	}
	ms, _ := db.Trusteeship().Managers(ctx, "L1")
	if len(ms) != 2 || ms[0].To != cday("2026-03-10") || !ms[1].To.IsZero() {
		t.Fatalf("managers after refusals: %+v", ms)
	}

	// Racing additions of overlapping contracts to fresh lifts: exactly one
	// per lift wins (without the per-lift lock, PostgreSQL lets several pass
	// the check).
	for round := range 10 {
		lift := fmt.Sprint("race-", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = svc.AddContract(ctx, "officer", &trusteeship.Contract{Lift: lift, Contractor: "K",
					Start: cday("2026-01-01").AddDays(i), End: cday("2026-12-31"), Mode: trusteeship.Periodic})
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, trusteeship.ErrOverlap):
				t.Errorf("racing add: %v", err)
			}
		}
		if cs, _ := db.Trusteeship().Contracts(ctx, lift); ok != 1 || len(cs) != 1 {
			t.Fatalf("racing overlapping contracts on %s: %d accepted, %d stored", lift, ok, len(cs))
		}
	}
}

type findingSink struct{ got []trusteeship.Finding }

func (s *findingSink) Supervise(_ context.Context, f trusteeship.Finding) error {
	s.got = append(s.got, f)
	return nil
}

func TestTrusteeshipEvaluate(t *testing.T) { forEachBackend(t, testTrusteeshipEvaluate) }

func testTrusteeshipEvaluate(t *testing.T, db *DB) {
	ctx := context.Background()
	pol := trusteeship.DefaultPolicies()
	pol.Estates = map[string]trusteeship.Policy{"guyuan": {ExpiryWarningDays: 90}}
	svc, clk := newTrusteeship(db, pol)
	now := clk.Now() // 2026-03-01
	add := func(lift, start, end string) {
		t.Helper()
		if err := svc.AddContract(ctx, "officer", &trusteeship.Contract{Lift: lift, Contractor: "K", Start: cday(start), End: cday(end),
			Mode: trusteeship.Periodic}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.SetManager(ctx, "officer", &trusteeship.Manager{Lift: "ends", Kind: trusteeship.PropertyCompany, Name: "Yixian Property",
		From: cday("2025-01-01")}); err != nil {
		t.Fatal(err)
	}
	add("ends", "2025-04-01", "2026-03-31")    // 30 days left: warned
	add("far", "2025-05-01", "2026-04-30")     // 60 days left: not warned by default…
	add("far-gy", "2025-05-01", "2026-04-30")  // …but warned in guyuan (90 days)
	add("renewed", "2025-04-01", "2026-03-10") // ends soon, renewal signed back to back
	add("renewed", "2026-03-11", "2027-03-10")
	add("gap", "2025-04-01", "2026-03-10") // ends soon, next one leaves a gap
	add("gap", "2026-03-12", "2027-03-10")
	add("lapsed", "2025-01-01", "2026-02-28")
	add("31days", "2025-04-02", "2026-04-01")
	lifts := []trusteeship.LiftRef{{ID: "ends", Estate: "yixian"}, {ID: "far", Estate: "yixian"}, {ID: "far-gy", Estate: "guyuan"}, {ID: "renewed", Estate: "yixian"},
		{ID: "gap", Estate: "yixian"}, {ID: "lapsed", Estate: "yixian"}, {ID: "none", Estate: "yixian"}, {ID: "31days", Estate: "yixian"}}
	want := map[string]trusteeship.FindingKind{"ends": trusteeship.ContractExpiring, "far-gy": trusteeship.ContractExpiring,
		"gap": trusteeship.ContractExpiring, "lapsed": trusteeship.NoContract, "none": trusteeship.NoContract}
	for round := range 2 {
		sink := &findingSink{}
		got, err := svc.Evaluate(ctx, now, lifts, sink)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) || len(sink.got) != len(want) {
			t.Fatalf("round %d: %d findings (%d to the sink), want %d: %+v", round, len(got), len(sink.got), len(want), got)
		}
		seen := map[string]bool{}
		for _, f := range got {
			if seen[f.Lift] {
				t.Fatalf("two findings for %s", f.Lift)
			}
			seen[f.Lift] = true
			if want[f.Lift] != f.Kind {
				t.Errorf("%s: %s, want %q", f.Lift, f.Kind, want[f.Lift])
			}
		}
		for _, f := range got {
			if f.Lift == "ends" && (f.DaysLeft != 30 || f.Manager == nil || f.Manager.Name != "Yixian Property" || f.CoveredUntil != cday("2026-03-31")) {
				t.Errorf("ends finding: %+v", f)
			}
			if f.Lift == "gap" && f.DaysLeft != 9 {
				t.Errorf("gap finding: %+v", f)
			}
		}
	}
}

func TestTrusteeshipSeedFromRegistry(t *testing.T) {
	forEachBackend(t, testTrusteeshipSeedFromRegistry)
}

func testTrusteeshipSeedFromRegistry(t *testing.T, db *DB) {
	ctx := context.Background()
	svc, clk := newTrusteeship(db, trusteeship.DefaultPolicies())
	fleet := registry.Generate(12)
	fleet[0].Contractor = "" // a lift without a contractor is seeded with a manager only
	today := civil.Of(clk.Now())
	n, err := svc.Seed(ctx, "seed", fleet, today, 360000)
	if err != nil || n != len(fleet) {
		t.Fatalf("seeded %d of %d: %v", n, len(fleet), err)
	}
	if n, err := svc.Seed(ctx, "seed", fleet, today, 360000); err != nil || n != 0 {
		t.Fatalf("second seed: %d lifts, %v", n, err)
	}
	for _, l := range fleet {
		m, err := svc.ManagerOn(ctx, l.ID, today)
		if err != nil || m == nil || m.Name != l.PropertyManager {
			t.Fatalf("%s manager %+v (%v), want %s", l.ID, m, err, l.PropertyManager)
		}
		c, err := svc.ContractOn(ctx, l.ID, today)
		if err != nil {
			t.Fatal(err)
		}
		if l.Contractor == "" {
			if c != nil {
				t.Fatalf("%s: contract seeded without a contractor", l.ID)
			}
			continue
		}
		if c == nil || c.Contractor != l.Contractor || c.Start.AddMonths(12).AddDays(-1) != c.End {
			t.Fatalf("%s contract %+v, want a yearly term with %s covering %s", l.ID, c, l.Contractor, today)
		}
	}
	var refs []trusteeship.LiftRef
	for _, l := range fleet {
		refs = append(refs, trusteeship.LiftRef{ID: l.ID, Estate: l.Estate})
	}
	got, err := svc.Evaluate(ctx, clk.Now(), refs, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range got {
		found = found || (f.Lift == fleet[0].ID && f.Kind == trusteeship.NoContract)
	}
	if !found {
		t.Fatalf("lift seeded without contractor raised no finding: %+v", got)
	}
}
