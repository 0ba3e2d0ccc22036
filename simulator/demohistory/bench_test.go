package demohistory_test

import (
	"context"
	"testing"

	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator/demohistory"
)

// BenchmarkHistoryJiangwan is the demo's default history: three months of
// the shipped 297-lift fleet, on SQLite (docs/benchmarks.md).
func BenchmarkHistoryJiangwan(b *testing.B) {
	lifts, err := registry.Jiangwan()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		db := openDB(b)
		b.StartTimer()
		res, err := demohistory.Run(context.Background(), deps(db, lifts), demohistory.Options{From: pinned.AddDate(0, -3, 0), To: pinned, Seed: 1, PaperShare: 0.1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Visits), "visits")
		b.ReportMetric(float64(res.FundEntries), "entries")
	}
}
