package ingest

import "testing"

func TestLaneSeen(t *testing.T) {
	var s laneSeen
	k := laneKey{"L1", 1, 7}
	steps := []struct {
		lane uint8
		copy bool
		why  string
	}{
		{LaneUrgent, false, "first delivery"},
		{LaneMain, true, "the same message from the other lane"},
		{LaneMain, false, "once more (a terminal's resend): a duplicate, not a copy"},
		{LaneUrgent, true, "the resend's copy on the other lane"},
		{LaneUrgent, false, "a third time, first on this lane: a duplicate"},
	}
	for _, st := range steps {
		if got := s.see(k, st.lane); got != st.copy {
			t.Fatalf("%s: copy = %v, want %v", st.why, got, st.copy)
		}
	}
	if s.see(laneKey{"L1", 1, 8}, LaneMain) {
		t.Fatal("another message is not a copy")
	}
	if !s.see(laneKey{"L1", 1, 8}, LaneUrgent) {
		t.Fatal("main lane first, then urgent: a copy")
	}
	// Bounded: the oldest are forgotten; a late copy is then a duplicate.
	for i := range int64(laneMemory) {
		s.see(laneKey{"L2", 1, i}, LaneUrgent)
	}
	if len(s.lanes) != laneMemory || len(s.ring) != laneMemory {
		t.Fatalf("remembers %d (ring %d), want %d", len(s.lanes), len(s.ring), laneMemory)
	}
	if s.see(k, LaneMain) {
		t.Fatal("a copy of a forgotten message counted as a copy")
	}
}
