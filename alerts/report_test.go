package alerts_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts"
)

func TestRescueReportShareCountsDecidedOutcomesOnly(t *testing.T) {
	limit := 30 * time.Minute
	now := t0.Add(time.Hour)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	arrived := func(opened, after time.Duration) *alerts.Alert {
		return &alerts.Alert{OpenedAt: now.Add(opened), OnSiteAt: at(opened + after)}
	}
	waiting := func(opened time.Duration) *alerts.Alert { return &alerts.Alert{OpenedAt: now.Add(opened)} }
	for _, tc := range []struct {
		name    string
		list    []*alerts.Alert
		share   float64
		pending int
	}{
		{"trial: one arrival, one open 3 min", []*alerts.Alert{arrived(-10*time.Minute, 42*time.Second), waiting(-3 * time.Minute)}, 1, 1},
		{"open past the limit is late", []*alerts.Alert{arrived(-50*time.Minute, 10*time.Minute), waiting(-31 * time.Minute)}, 0.5, 0},
		{"late arrival", []*alerts.Alert{arrived(-50*time.Minute, 31*time.Minute), arrived(-50*time.Minute, 30*time.Minute)}, 0.5, 0},
		{"only pending", []*alerts.Alert{waiting(-time.Minute), waiting(-30 * time.Minute)}, 0, 2},
		{"none", nil, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := alerts.Report("e", "2026-11", 2, limit, now, tc.list)
			if r.ShareWithin30 != tc.share || r.Pending != tc.pending {
				t.Fatalf("share %v pending %d, want %v %d", r.ShareWithin30, r.Pending, tc.share, tc.pending)
			}
		})
	}
}
