package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/maintenance"
)

// BenchmarkCityPlansFromSQLite recomputes every lift's routine plan the way
// a sweep does, history included: one RoutineHistory read (routine_last,
// one row per lift) for LIFTWATCH_BENCH_LIFTS lifts (default 20,000; the
// city is 300,000), each with a signed visit of every level, then the
// plans.
func BenchmarkCityPlansFromSQLite(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("LIFTWATCH_BENCH_LIFTS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	db, err := OpenSQLite(ctx, filepath.Join(b.TempDir(), "lw.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	base := maintenance.Date(2027, 1, 1)
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	const perStmt = 400
	var vals []string
	var args []any
	flush := func() {
		if len(vals) == 0 {
			return
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO work_orders (`+woCols+`) VALUES `+strings.Join(vals, ", "), args...); err != nil {
			b.Fatal(err)
		}
		vals, args = vals[:0], args[:0]
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", 22), ", ") + ")"
	for i := 0; i < n; i++ {
		lift := fmt.Sprintf("SH-%06d", i)
		for lv := maintenance.HalfMonthly; lv <= maintenance.Annual; lv++ {
			done := (base - maintenance.Day(int(lv)*7+i%13)).Start().Add(10 * 3600e9)
			w := &maintenance.WorkOrder{Lift: lift, Estate: "E" + strconv.Itoa(i%500), Kind: maintenance.KindRoutine,
				NeedKey: fmt.Sprintf("routine/%s/after/%d", lift, lv), Level: lv, State: maintenance.StateVerified,
				WindowStart: done, Due: done, CreatedAt: done, CompletedAt: &done}
			a, err := woArgs(w)
			if err != nil {
				b.Fatal(err)
			}
			vals, args = append(vals, row), append(args, a...)
			if len(vals) == perStmt {
				flush()
			}
		}
	}
	flush()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := db.Maintenance().RebuildRoutineHistory(ctx); err != nil {
		b.Fatal(err)
	}
	lifts := make([]maintenance.LiftInfo, n)
	for i := range lifts {
		lifts[i] = maintenance.LiftInfo{ID: fmt.Sprintf("SH-%06d", i), Estate: "E" + strconv.Itoa(i%500), Commissioned: base - 800}
	}
	pol := maintenance.DefaultPolicy()
	repo := db.Maintenance()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		hist, err := repo.RoutineHistory(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(hist) != n {
			b.Fatalf("history of %d lifts, want %d", len(hist), n)
		}
		for i := range lifts {
			in := maintenance.PlanInput{Last: maintenance.LastByLevel(hist[lifts[i].ID]), Baseline: lifts[i].Commissioned}
			if pl := pol.ComputePlan(&in); pl.Due == 0 {
				b.Fatal("no plan")
			}
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(n), "lifts")
}

// cpuTime is the process's user and system CPU time: the figure that
// matters on a shared machine, where wall time includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
