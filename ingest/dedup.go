package ingest

import "time"

// dedupWindow is how many sequence numbers behind the newest one a lift's
// duplicate detector remembers exactly. A message further behind is "stale":
// ingest cannot tell whether it is a repeat. It is stored (the point is
// idempotent) and updates the live state; faults and alarms still go to the
// consumers (the alert engine is idempotent on (lift, boot, seq)), other
// kinds are withheld from them, which could otherwise count them twice.
const dedupWindow = 1024

// retireAfter is how long the previous boot's window is kept after a reboot
// for its late, reordered messages.
const retireAfter = 10 * time.Minute

// verdict is what the detector says of a message.
type verdict uint8

const (
	fresh     verdict = iota // first time seen
	duplicate                // seen before
	stale                    // too far behind to tell; store, dispatch only faults and alarms
)

// seqWindow remembers which of the last dedupWindow sequence numbers of one
// boot were seen.
type seqWindow struct {
	boot int64
	max  int64 // highest seq seen
	base int64 // numbers up to base are unknown history, never counted lost
	bits [dedupWindow / 64]uint64
}

func (w *seqWindow) bit(seq int64) (int, uint64) {
	i := seq % dedupWindow
	return int(i / 64), 1 << (i % 64)
}

// mark records seq and returns the verdict and how many sequence numbers
// were confirmed lost (slid out of the window unseen).
func (w *seqWindow) mark(seq int64) (verdict, int64) {
	var lost int64
	switch {
	case seq > w.max:
		// Slide: the numbers leaving the window are confirmed lost if unseen.
		from := max(w.max-dedupWindow+1, w.base+1)
		to := seq - dedupWindow // last number to leave
		for s := from; s <= to && s <= w.max; s++ {
			if i, b := w.bit(s); w.bits[i]&b == 0 {
				lost++
			}
		}
		// Clear the slots the new numbers take.
		for s := max(w.max+1, seq-dedupWindow+1); s <= seq; s++ {
			i, b := w.bit(s)
			w.bits[i] &^= b
		}
		// Numbers skipped over that the window cannot hold are lost too.
		if skipped := seq - dedupWindow - max(w.max, w.base); skipped > 0 {
			lost += skipped
		}
		w.max = seq
	case seq <= w.max-dedupWindow:
		return stale, 0
	}
	i, b := w.bit(seq)
	if w.bits[i]&b != 0 {
		return duplicate, lost
	}
	w.bits[i] |= b
	return fresh, lost
}

// unseen counts the numbers in the window below max not yet seen: lost
// messages, once no more can arrive.
func (w *seqWindow) unseen() int64 {
	var n int64
	for s := max(w.max-dedupWindow+1, w.base+1); s < w.max; s++ {
		if i, b := w.bit(s); w.bits[i]&b == 0 {
			n++
		}
	}
	return n
}

// liftSeq is one lift's duplicate and gap detector: the current boot and the
// previous one (for late messages after a reboot).
type liftSeq struct {
	cur, prev *seqWindow
	bootAt    time.Time // when cur became current
	// behind is set by a stale message and cleared by the next fresh one:
	// a run of stale messages is one episode of the sequence going backwards.
	behind bool
}

// backwards records a verdict and reports whether it starts an episode of
// the lift's sequence going backwards beyond the window.
func (l *liftSeq) backwards(v verdict) bool {
	switch v {
	case stale:
		started := !l.behind
		l.behind = true
		return started
	case fresh:
		l.behind = false
	}
	return false
}

// newest is the current boot and its highest sequence number.
func (l *liftSeq) newest() (boot, seq int64) {
	if l.cur == nil {
		return 0, 0
	}
	return l.cur.boot, l.cur.max
}

// check classifies (boot, seq) and returns the sequence numbers confirmed
// lost by it.
func (l *liftSeq) check(boot, seq int64, now time.Time) (verdict, int64) {
	var lost int64
	if l.prev != nil && now.Sub(l.bootAt) > retireAfter {
		lost += l.prev.unseen()
		l.prev = nil
	}
	switch {
	case l.cur == nil:
		// First sight of this lift: what came before is not ours to count.
		l.cur, l.bootAt = &seqWindow{boot: boot, base: seq - 1}, now
	case boot > l.cur.boot:
		if l.prev != nil {
			lost += l.prev.unseen()
		}
		l.prev, l.cur, l.bootAt = l.cur, &seqWindow{boot: boot}, now
	case boot < l.cur.boot:
		if l.prev != nil && boot == l.prev.boot {
			v, n := l.prev.mark(seq)
			return v, lost + n
		}
		return stale, lost
	}
	v, n := l.cur.mark(seq)
	return v, lost + n
}
