package simulator

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// The event heap pops in (at, seq) order, ties at the same instant in the
// order they were scheduled, whatever the order of pushes and pops.
func TestEventHeapOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var h eventHeap
	var want []event
	seq := uint64(0)
	var got []event
	for i := 0; i < 5000; i++ {
		if h.Len() > 0 && r.IntN(3) == 0 {
			got = append(got, h.pop())
			continue
		}
		seq++
		at := base.Add(time.Duration(r.IntN(200)) * time.Second) // many ties
		e := event{key: at.UnixNano(), seq: seq, at: at}
		h.push(e)
		want = append(want, e)
	}
	for h.Len() > 0 {
		got = append(got, h.pop())
	}
	if len(got) != len(want) {
		t.Fatalf("popped %d events, pushed %d", len(got), len(want))
	}
	// Each pop is the least of what was in the heap then: replay the same
	// pushes and pops against a sorted slice.
	r = rand.New(rand.NewPCG(1, 2))
	var pending []event
	seq = 0
	k := 0
	check := func() {
		sort.Slice(pending, func(i, j int) bool {
			if !pending[i].at.Equal(pending[j].at) {
				return pending[i].at.Before(pending[j].at)
			}
			return pending[i].seq < pending[j].seq
		})
		if got[k].seq != pending[0].seq {
			t.Fatalf("pop %d: got event %d at %v, want %d at %v", k, got[k].seq, got[k].at, pending[0].seq, pending[0].at)
		}
		pending = pending[1:]
		k++
	}
	for i := 0; i < 5000; i++ {
		if len(pending) > 0 && r.IntN(3) == 0 {
			check()
			continue
		}
		seq++
		at := base.Add(time.Duration(r.IntN(200)) * time.Second)
		pending = append(pending, event{seq: seq, at: at})
	}
	for len(pending) > 0 {
		check()
	}
}
