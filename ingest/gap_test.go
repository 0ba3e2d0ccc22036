package ingest

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
)

const testGrace = 30 * time.Second

func newTestSeq() *liftSeq { return &liftSeq{grace: int64(testGrace)} }

// A reordered message that arrives within the grace fills its hole: no gap,
// neither on arrival nor at later sweeps.
func TestGapReorderWithinGraceIsNotAGap(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	var lost, filled int64
	see := func(s int64) verdict {
		v, c := l.check(1, s, clk.Now())
		lost, filled = lost+c.lost, filled+c.filled
		return v
	}
	for _, s := range []int64{1, 2, 5, 6} {
		see(s)
	}
	clk.Advance(20 * time.Second)
	lost += l.settle(clk.Now())
	clk.Advance(9 * time.Second) // 29 s after the hole opened
	if v := see(4); v != fresh {
		t.Fatalf("late 4: %v", v)
	}
	lost += l.settle(clk.Now())
	if v := see(3); v != fresh {
		t.Fatalf("late 3: %v", v)
	}
	for i := 0; i < 10; i++ {
		clk.Advance(time.Minute)
		lost += l.settle(clk.Now())
	}
	if lost != 0 || filled != 0 {
		t.Fatalf("lost %d filled %d, want 0 and 0", lost, filled)
	}
}

// A hole older than the grace is counted once, by the sweep of a silent
// lift, never again when it later leaves the window; a message filling it
// afterwards is counted as filled, and its repeat is a duplicate.
func TestGapOlderThanGraceCountedOnceAndLateFill(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	var lost int64
	for _, s := range []int64{1, 5} { // 2, 3, 4 missing
		_, c := l.check(1, s, clk.Now())
		lost += c.lost
	}
	clk.Advance(testGrace - time.Second)
	if n := l.settle(clk.Now()); n != 0 || lost != 0 {
		t.Fatalf("counted %d+%d before the grace was up", lost, n)
	}
	clk.Advance(time.Second)
	if n := l.settle(clk.Now()); n != 3 {
		t.Fatalf("sweep at the grace counted %d, want 3", n)
	}
	clk.Advance(time.Minute)
	if n := l.settle(clk.Now()); n != 0 {
		t.Fatalf("counted %d again", n)
	}
	v, c := l.check(1, 3, clk.Now())
	if v != fresh || c.filled != 1 || c.lost != 0 {
		t.Fatalf("late 3: %v %+v, want fresh, filled 1", v, c)
	}
	if v, c := l.check(1, 3, clk.Now()); v != duplicate || c.filled != 0 {
		t.Fatalf("repeat of late 3: %v %+v", v, c)
	}
	// The rest leave the window later: not counted twice.
	for s := int64(6); s < 6+2*dedupWindow; s++ {
		_, c := l.check(1, s, clk.Now())
		lost += c.lost
	}
	lost += l.settle(clk.Advance(time.Hour))
	if lost != 0 {
		t.Fatalf("counted %d more when the holes left the window", lost)
	}
}

// A busy lift (a message every 100 ms, so its newest message is never older
// than the grace) has a hole counted on a message's arrival, between the
// grace and the grace plus a quarter after the hole opened.
func TestGapCountedPromptlyOnBusyLift(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	var opened, counted time.Time
	for s := int64(1); s < 2000; s++ {
		now := clk.Advance(100 * time.Millisecond)
		if s == 10 {
			opened = now // 10 is lost; 11 arrives next
			continue
		}
		_, c := l.check(1, s, now)
		if c.lost > 0 {
			if !counted.IsZero() || c.lost != 1 {
				t.Fatalf("seq %d counted %d more", s, c.lost)
			}
			counted = now
		}
	}
	if counted.IsZero() {
		t.Fatal("hole never counted")
	}
	if d := counted.Sub(opened); d < testGrace || d > testGrace+testGrace/4+time.Second {
		t.Fatalf("counted %v after it opened, want within [%v, %v]", d, testGrace, testGrace+testGrace/4+time.Second)
	}
}

// Holes of the previous boot are counted by the sweep after the grace, not
// only when the boot is retired.
func TestGapPreviousBootSettledByGrace(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	for _, s := range []int64{1, 2, 4} {
		l.check(7, s, clk.Now())
	}
	l.check(8, 1, clk.Now()) // reboot
	if n := l.settle(clk.Advance(testGrace + time.Second)); n != 1 {
		t.Fatalf("previous boot's hole: %d, want 1", n)
	}
	if n := l.settle(clk.Advance(retireAfter)); n != 0 {
		t.Fatalf("counted %d again at retirement", n)
	}
}

// After the detector is rebuilt from the spool, the holes among the
// replayed messages are history: not counted, and not "filled" if they come.
func TestGapForgetAfterReplay(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	for _, s := range []int64{1, 5} {
		l.check(1, s, clk.Now())
	}
	l.forget()
	if n := l.settle(clk.Advance(time.Hour)); n != 0 {
		t.Fatalf("replayed hole counted: %d", n)
	}
	if v, c := l.check(1, 3, clk.Now()); v != fresh || c != (seqCount{}) {
		t.Fatalf("redelivered 3: %v %+v", v, c)
	}
	l.check(1, 8, clk.Now()) // 6, 7 missing: new holes count
	if n := l.settle(clk.Advance(time.Hour)); n != 2 {
		t.Fatalf("new holes after replay: %d, want 2", n)
	}
}

// The warning is rate limited to one line a minute, summarising every lift
// with new gaps; the recent count ages out after GapRecent.
func TestGapReportWarnsOncePerMinuteAndAgesOut(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var g gapReport
	g.add("JW-0042", 49, clk.Now())
	g.add("JW-0007", 3, clk.Now())
	g.warn(log, clk.Now())
	g.add("JW-0042", 2, clk.Advance(time.Second))
	g.warn(log, clk.Now())
	if n := strings.Count(buf.String(), "lift sequence gaps"); n != 1 {
		t.Fatalf("%d warnings within a minute:\n%s", n, &buf)
	}
	if !strings.Contains(buf.String(), "missing=52 lifts=2 most=\"JW-0042:49 JW-0007:3\"") || !strings.Contains(buf.String(), "max_queued_messages") {
		t.Fatalf("warning:\n%s", &buf)
	}
	g.warn(log, clk.Advance(time.Minute))
	if n := strings.Count(buf.String(), "lift sequence gaps"); n != 2 || !strings.Contains(buf.String(), "missing=2 lifts=1 most=JW-0042:2") {
		t.Fatalf("second warning:\n%s", &buf)
	}
	g.warn(log, clk.Advance(time.Minute))
	if n := strings.Count(buf.String(), "lift sequence gaps"); n != 2 {
		t.Fatalf("warned without new gaps:\n%s", &buf)
	}
	if lost, lifts := g.recent(clk.Now()); lost != 54 || lifts != 2 {
		t.Fatalf("recent %d in %d lifts, want 54 in 2", lost, lifts)
	}
	if lost, lifts := g.recent(clk.Advance(GapRecent)); lost != 0 || lifts != 0 {
		t.Fatalf("recent after %v: %d in %d lifts", GapRecent, lost, lifts)
	}
}

// TestRejectedNumberIsNoGapNorSeen: a number liftwatch rejected is no gap
// (neither at the grace nor leaving the window), and a corrected resend of
// it is fresh, not a duplicate, and no late fill.
func TestRejectedNumberIsNoGapNorSeen(t *testing.T) {
	clk := clock.NewFake(time.Unix(1_790_000_000, 0))
	l := newTestSeq()
	var lost int64
	_, c := l.check(1, 1, clk.Now())
	lost += c.lost
	lost += l.rejected(1, 2, clk.Now()).lost
	_, c = l.check(1, 3, clk.Now())
	lost += c.lost
	clk.Advance(2 * testGrace)
	lost += l.settle(clk.Now())
	if lost != 0 {
		t.Fatalf("a rejected number counted %d lost", lost)
	}
	v, c := l.check(1, 2, clk.Now())
	if v != fresh || c.filled != 0 || c.lost != 0 {
		t.Fatalf("the corrected resend: %v %+v, want fresh, no fill", v, c)
	}
	if v, _ := l.check(1, 2, clk.Now()); v != duplicate {
		t.Fatalf("its repeat: %v", v)
	}
	// A rejected number far ahead moves nothing.
	if c := l.rejected(1, 1<<53-1, clk.Now()); c.lost != 0 {
		t.Fatalf("a rejected forged number counted %d lost", c.lost)
	}
	if _, newest := l.newest(); newest != 3 {
		t.Fatalf("newest %d after a rejected jump, want 3", newest)
	}
}
