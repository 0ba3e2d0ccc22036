package liftstate

import (
	"slices"
	"testing"
)

// TestFeedCoalesces: many marks of a lift between flushes are one change;
// a reader that has not taken its changes gets the union, each lift once,
// and an unknown lift is ignored.
func TestFeedCoalesces(t *testing.T) {
	f := NewFeed([]string{"A", "B", "C"})
	ready, take, cancel := f.Subscribe()
	defer cancel()
	for i := 0; i < 1000; i++ {
		f.Mark("B")
		f.Mark("A")
	}
	f.Mark("NOPE")
	f.Flush()
	f.Mark("C")
	f.Mark("A")
	f.Flush()
	f.Flush() // nothing new: no change
	select {
	case <-ready:
	default:
		t.Fatal("no wake-up")
	}
	if got := take(); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Fatalf("changes %v, want A, B, C once each", got)
	}
	if got := take(); len(got) != 0 {
		t.Fatalf("taken twice: %v", got)
	}
	cancel()
	f.Mark("A")
	f.Flush()
	if got := take(); len(got) != 0 {
		t.Fatalf("after cancel: %v", got)
	}
}
