package ingest

import (
	"testing"
	"time"
)

// BenchmarkDedup is the per-message cost of duplicate and gap detection on
// the hot path: 1000 lifts, in-order sequence numbers with one message in 64
// delivered one place late and one in 512 lost, the arrival clock advancing
// 1 ms a message.
func BenchmarkDedup(b *testing.B) {
	const lifts = 1000
	ls := make([]liftSeq, lifts)
	seqs := make([]int64, lifts)
	t0 := time.Unix(1_790_000_000, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := i % lifts
		seqs[l]++
		s := seqs[l]
		switch {
		case s%512 == 0:
			continue // lost
		case s%64 == 0:
			s++ // swap with the next one
		case s%64 == 1 && s > 1:
			s--
		}
		benchCheck(&ls[l], 1, s, t0.Add(time.Duration(i)*time.Millisecond))
	}
}
func benchCheck(l *liftSeq, boot, seq int64, now time.Time) { l.check(boot, seq, now) }
