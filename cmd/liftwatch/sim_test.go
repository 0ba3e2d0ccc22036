package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// firstLastTS returns the smallest and largest "ts" of dry-run output.
func firstLastTS(t *testing.T, out string) (time.Time, time.Time) {
	t.Helper()
	var lo, hi int64
	for _, m := range regexp.MustCompile(`"ts":(\d+)`).FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if lo == 0 || v < lo {
			lo = v
		}
		hi = max(hi, v)
	}
	if lo == 0 {
		t.Fatalf("no messages:\n%.500s", out)
	}
	return time.UnixMilli(lo), time.UnixMilli(hi)
}

// TestSimStartVersusScenarioStart: --start wins over a scenario's start:,
// the scenario's start applies without --start, and a dateless scenario
// played as fast as possible ends at the present (never in the future).
func TestSimStartVersusScenarioStart(t *testing.T) {
	dir := t.TempDir()
	dated := filepath.Join(dir, "dated.yaml")
	os.WriteFile(dated, []byte("start: 2026-11-20T08:00:00+08:00\nlifts: [JW-0042]\nevents:\n  - {at: \"00:01:00\", lift: JW-0042, do: alarm}\n"), 0o644)
	run := func(args ...string) string {
		code, out, errs := runCLI(append([]string{"sim", "--dry-run", "--speed", "0"}, args...))
		if code != 0 {
			t.Fatalf("sim %v: exit %d\n%s", args, code, errs)
		}
		return out
	}
	want := time.Date(2026, 11, 21, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if lo, _ := firstLastTS(t, run("--scenario", dated, "--start", want.Format(time.RFC3339))); lo.Before(want) || lo.After(want.Add(time.Minute)) {
		t.Errorf("--start %v given, first message at %v", want, lo)
	}
	scStart := time.Date(2026, 11, 20, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if lo, _ := firstLastTS(t, run("--scenario", dated)); lo.Before(scStart) || lo.After(scStart.Add(time.Minute)) {
		t.Errorf("scenario start %v, first message at %v", scStart, lo)
	}
	before := time.Now()
	lo, hi := firstLastTS(t, run("--scenario", "../../docs/scenarios/stuck-between-floors.yaml"))
	if hi.After(time.Now()) || lo.Before(before.Add(-time.Hour)) {
		t.Errorf("shipped scenario at --speed 0 spans %v…%v; want it to end by now", lo, hi)
	}
	if !strings.Contains(run("--scenario", "../../docs/scenarios/stuck-between-floors.yaml"), `"code":"stopped_outside_door_zone"`) {
		t.Error("shipped scenario does not play its entrapment")
	}
}

// TestSimBackfillIsTiedToTheClock: a backfill up to now (no --start) ties
// virtual time to the clock, so that the simulator catches up with it after
// the backfill; a pinned start does not.
func TestSimBackfillIsTiedToTheClock(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 35, 7, 0, time.FixedZone("CST", 8*3600))
	o := &simOptions{backfill: 24 * time.Hour, speed: 1, conns: 1, window: 1, horizon: telemetry.DefaultHorizon}
	cfg, err := o.build(now)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.FastUntil.Equal(now) || !cfg.LiveFrom.Equal(now) {
		t.Errorf("backfill to now: FastUntil %v, LiveFrom %v; want both %v", cfg.FastUntil, cfg.LiveFrom, now)
	}
	o.start = "2026-11-20T10:00:00+08:00"
	if cfg, err = o.build(now); err != nil {
		t.Fatal(err)
	}
	if !cfg.LiveFrom.IsZero() {
		t.Errorf("pinned start: LiveFrom %v, want none", cfg.LiveFrom)
	}
}
