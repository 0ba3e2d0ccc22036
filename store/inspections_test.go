package store

import (
	"context"
	"testing"
	"time"
)

// TestInspectionSessionsKeepProof: sessions saved while running are
// extended as they go on, an ended one is never reopened or shortened, and
// the overlap query returns exactly the sessions touching the window.
func TestInspectionSessionsKeepProof(t *testing.T) { forEachBackend(t, testInspectionSessions) }

func testInspectionSessions(t *testing.T, db *DB) {
	ctx := context.Background()
	r := db.Inspections()
	base := time.Date(2025, 3, 3, 2, 0, 0, 0, time.UTC)
	m := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Save(ctx, []InspectionSession{{Lift: "L1", Start: m(0), End: m(5)}, {Lift: "L2", Start: m(0), End: m(50), Ended: true}}))
	must(r.Save(ctx, []InspectionSession{{Lift: "L1", Start: m(0), End: m(25), Ended: true}}))
	must(r.Save(ctx, []InspectionSession{{Lift: "L1", Start: m(0), End: m(10)}})) // a stale snapshot
	must(r.Save(ctx, []InspectionSession{{Lift: "L1", Start: m(100), End: m(130), Ended: true}}))
	got, err := r.Sessions(ctx, "L1", m(-60), m(60))
	must(err)
	if len(got) != 1 || !got[0].Start.Equal(m(0)) || !got[0].End.Equal(m(25)) || !got[0].Ended {
		t.Fatalf("L1 sessions in the first hour: %+v (want one, 0..25 min, ended)", got)
	}
	if got, _ := r.Sessions(ctx, "L1", m(25), m(100)); len(got) != 0 {
		t.Fatalf("sessions touching only the window's edges: %+v", got)
	}
	if got, _ := r.Sessions(ctx, "L1", m(-60), m(200)); len(got) != 2 {
		t.Fatalf("L1 sessions: %+v (want 2)", got)
	}
}
