package ingest

import (
	"testing"
	"time"
)

func TestDedupInOrderAndRepeats(t *testing.T) {
	var l liftSeq
	now := time.Unix(0, 0)
	for s := int64(1); s <= 3000; s++ {
		if v, c := l.check(1, s, now); v != fresh || c.lost != 0 {
			t.Fatalf("seq %d: %v lost %d", s, v, c.lost)
		}
		if v, _ := l.check(1, s, now); v != duplicate {
			t.Fatalf("repeat of %d not a duplicate", s)
		}
	}
	if v, _ := l.check(1, 3000-dedupWindow+1, now); v != duplicate {
		t.Fatal("oldest remembered seq not a duplicate")
	}
	if v, _ := l.check(1, 3000-dedupWindow, now); v != stale {
		t.Fatal("seq beyond the window should be stale")
	}
}

func TestDedupReorderedIsNotAGap(t *testing.T) {
	var l liftSeq
	now := time.Unix(0, 0)
	order := []int64{1, 2, 5, 3, 4, 6}
	for _, s := range order {
		if v, _ := l.check(7, s, now); v != fresh {
			t.Fatalf("seq %d: %v", s, v)
		}
	}
	var lost int64
	for s := int64(7); s < 7+2*dedupWindow; s++ {
		_, n := l.check(7, s, now)
		lost += n.lost
	}
	if lost != 0 {
		t.Fatalf("reordered messages counted as %d lost", lost)
	}
}

func TestDedupGapsConfirmed(t *testing.T) {
	var l liftSeq
	now := time.Unix(0, 0)
	var lost int64
	add := func(s int64) { _, n := l.check(1, s, now); lost += n.lost }
	add(1)
	add(5) // 2,3,4 missing
	add(4) // 4 arrives late
	for s := int64(6); s <= 10+dedupWindow; s++ {
		add(s)
	}
	if lost != 2 {
		t.Fatalf("lost %d, want 2 (seq 2 and 3)", lost)
	}
	// A jump larger than the window counts every skipped number.
	add(10 + dedupWindow + 5000)
	for s := int64(1); s < 2*dedupWindow; s++ {
		add(10 + dedupWindow + 5000 + s)
	}
	if lost != 2+4999 {
		t.Fatalf("lost %d after a large jump, want %d", lost, 2+4999)
	}
}

func TestDedupReboot(t *testing.T) {
	var l liftSeq
	t0 := time.Unix(0, 0)
	for s := int64(1); s <= 10; s++ {
		l.check(3, s, t0)
	}
	// seq 11 and 12 of boot 3 were lost; boot 4 starts.
	if v, _ := l.check(4, 1, t0); v != fresh {
		t.Fatal("new boot seq 1 should be fresh")
	}
	// A late message of the old boot is still recognised.
	if v, _ := l.check(3, 9, t0); v != duplicate {
		t.Fatal("late repeat from the previous boot not a duplicate")
	}
	if v, _ := l.check(3, 11, t0); v != fresh {
		t.Fatal("late new message from the previous boot should be fresh")
	}
	if v, _ := l.check(2, 1, t0); v != stale {
		t.Fatal("message from an older boot should be stale")
	}
	// After the retirement time the previous boot's unseen numbers (none
	// below its max here) are settled and it is forgotten.
	l.check(3, 14, t0) // 12, 13 now missing below max 14
	_, c := l.check(4, 2, t0.Add(retireAfter+time.Second))
	if c.lost != 2 {
		t.Fatalf("retired boot lost %d, want 2", c.lost)
	}
	if v, _ := l.check(3, 12, t0.Add(retireAfter+time.Second)); v != stale {
		t.Fatal("retired boot should be stale")
	}
}

func TestDedupFirstSightMidBoot(t *testing.T) {
	var l liftSeq
	now := time.Unix(0, 0)
	var lost int64
	for s := int64(50000); s < 50000+3*dedupWindow; s++ {
		if s == 50010 {
			continue // one real loss
		}
		_, n := l.check(2, s, now)
		lost += n.lost
	}
	if lost != 1 {
		t.Fatalf("lost %d, want 1: history before first sight is not lost", lost)
	}
}

func TestDedupBackwardsEpisodes(t *testing.T) {
	var l liftSeq
	now := time.Unix(0, 0)
	starts := 0
	see := func(boot, seq int64) verdict {
		v, _ := l.check(boot, seq, now)
		if l.backwards(v) {
			starts++
		}
		return v
	}
	for s := int64(1); s <= 2000; s++ {
		see(5, s)
	}
	// A counter reset without a reboot: a run of stale messages is one episode.
	for s := int64(1); s <= 10; s++ {
		if v := see(5, s); v != stale {
			t.Fatalf("seq %d after 2000: %v, want stale", s, v)
		}
	}
	see(5, 2001) // fresh again
	see(5, 11)   // and behind again: a second episode
	see(4, 1)    // an older boot than current and previous: part of it
	if starts != 2 {
		t.Fatalf("%d episodes, want 2", starts)
	}
	if b, s := l.newest(); b != 5 || s != 2001 {
		t.Fatalf("newest %d/%d", b, s)
	}
}
