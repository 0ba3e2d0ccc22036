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

// DefaultGapGrace is how long a hole in a lift's sequence may wait for a
// late, reordered message before it is counted as a gap.
const DefaultGapGrace = 30 * time.Second

// verdict is what the detector says of a message.
type verdict uint8

const (
	fresh     verdict = iota // first time seen
	duplicate                // seen before
	stale                    // too far behind to tell; store, dispatch only faults and alarms
	suspect                  // further ahead than any terminal could jump: no gap, the window stays
)

// maxSeqJump is the furthest a lift's sequence may move ahead at once (or a
// new boot start) and still be believed: a terminal sends about one message
// a minute on average (heartbeats, trips, doors), one a second when busy; it
// would have to lose everything for 18 hours at one a second. maxBootJump
// is the same for the boot counter (a thousand restarts unseen). A jump
// beyond either (a forged or corrupt number, 2^53-1 say) is suspect: it
// counts no gap and moves nothing, unless suspectAgree messages in a row
// agree on the new place, which then starts the sequence afresh.
const (
	maxSeqJump   = 1 << 16
	maxBootJump  = 1000
	suspectAgree = 3
)

// seqMark records that the sequence had reached seq at the arrival time at
// (unix ns): every hole below seq is at least now-at old.
type seqMark struct{ at, seq int64 }

// seqMarks is how many marks a window keeps. A new mark is taken at most
// every grace/seqMarks, so the marks younger than the grace fit, and a hole
// is counted between grace and about grace·(1+1/seqMarks) after it opened.
const seqMarks = 4

// seqWindow remembers which of the last dedupWindow sequence numbers of one
// boot were seen, and when the holes among them opened.
type seqWindow struct {
	boot int64
	max  int64 // highest seq seen
	base int64 // numbers up to base are unknown history, never counted lost
	// settled: every number up to it is judged (seen, history, or counted
	// lost); an unseen one above base that arrives later fills a gap.
	settled int64
	maxAt   int64 // arrival (unix ns) of max
	nmarks  int
	// Oldest first. One more than seqMarks: the marks younger than the grace
	// and one just due, as a new one is taken before the due ones are settled.
	marks [seqMarks + 1]seqMark
	bits  [dedupWindow / 64]uint64
	// rej marks numbers of messages liftwatch itself rejected: not lost
	// upstream (no gap), yet not seen either (a corrected resend with the
	// same number is fresh).
	rej [dedupWindow / 64]uint64
}

func newSeqWindow(boot, base int64) *seqWindow {
	return &seqWindow{boot: boot, base: base, settled: base}
}

func (w *seqWindow) bit(seq int64) (int, uint64) {
	i := seq % dedupWindow
	return int(i / 64), 1 << (i % 64)
}

// gone says whether number s (in the window) was neither seen nor rejected.
func (w *seqWindow) gone(s int64) bool {
	i, b := w.bit(s)
	return (w.bits[i]|w.rej[i])&b == 0
}

// mark records seq arriving at now (unix ns) and returns the verdict, how
// many sequence numbers were confirmed lost (slid out of the window unseen)
// and whether seq fills a hole already counted lost. A rejected message
// only takes its number from the gap count.
func (w *seqWindow) mark(seq, now, grace int64, rejected bool) (v verdict, lost int64, filled bool) {
	switch {
	case seq > w.max:
		// Slide: the numbers leaving the window are confirmed lost if unseen
		// and not counted already.
		from := max(w.max-dedupWindow+1, w.settled+1)
		to := seq - dedupWindow // last number to leave
		for s := from; s <= to && s <= w.max; s++ {
			if w.gone(s) {
				lost++
			}
		}
		// Clear the slots the new numbers take.
		for s := max(w.max+1, seq-dedupWindow+1); s <= seq; s++ {
			i, b := w.bit(s)
			w.bits[i] &^= b
			w.rej[i] &^= b
		}
		// Numbers skipped over that the window cannot hold are lost too.
		if skipped := seq - dedupWindow - max(w.max, w.base); skipped > 0 {
			lost += skipped
		}
		w.settled = max(w.settled, to)
		w.max, w.maxAt = seq, now
		switch {
		case w.nmarks == 0 || now-w.marks[w.nmarks-1].at >= grace/seqMarks:
			if w.nmarks < len(w.marks) {
				w.nmarks++
			}
			fallthrough
		case w.nmarks == len(w.marks):
			// Full (the marks are settled on every message, so only with
			// a clock going backwards): moving the newest mark later only
			// delays counting.
			w.marks[w.nmarks-1] = seqMark{at: now, seq: seq}
		}
	case seq <= w.max-dedupWindow:
		return stale, 0, false
	}
	i, b := w.bit(seq)
	if rejected {
		if w.bits[i]&b == 0 {
			w.rej[i] |= b
		}
		return fresh, lost, false
	}
	if w.bits[i]&b != 0 {
		return duplicate, lost, false
	}
	wasRejected := w.rej[i]&b != 0
	w.bits[i] |= b
	return fresh, lost, !wasRejected && seq <= w.settled && seq > w.base
}

// settle counts the holes that have waited longer than grace at now (unix
// ns): the unseen numbers below the newest mark taken at least grace ago.
func (w *seqWindow) settle(now, grace int64) (lost int64) {
	cut := now - grace
	due := w.settled
	if w.maxAt <= cut {
		due, w.nmarks = w.max, 0
	} else {
		n := 0
		for n < w.nmarks && w.marks[n].at <= cut {
			due = max(due, w.marks[n].seq)
			n++
		}
		if n > 0 {
			copy(w.marks[:], w.marks[n:w.nmarks])
			w.nmarks -= n
		}
	}
	if due <= w.settled {
		return 0
	}
	for s := max(w.settled+1, w.max-dedupWindow+1); s < due; s++ {
		if w.gone(s) {
			lost++
		}
	}
	w.settled = due
	return lost
}

// unseen counts the numbers in the window below max not yet seen nor
// counted: lost messages, once no more can arrive.
func (w *seqWindow) unseen() int64 {
	var n int64
	for s := max(w.max-dedupWindow+1, w.settled+1); s < w.max; s++ {
		if w.gone(s) {
			n++
		}
	}
	return n
}

// forget makes every number up to max history: neither counted lost nor,
// arriving later, a filled gap.
func (w *seqWindow) forget() {
	w.base = max(w.base, w.max)
	w.settled = max(w.settled, w.base)
	w.nmarks = 0
}

// liftSeq is one lift's duplicate and gap detector: the current boot and the
// previous one (for late messages after a reboot).
type liftSeq struct {
	cur, prev *seqWindow
	bootAt    time.Time // when cur became current
	grace     int64     // ns a hole waits for a late message (≤ 0: DefaultGapGrace)
	// behind is set by a stale message and cleared by the next fresh one:
	// a run of stale messages is one episode of the sequence going backwards.
	behind bool
	// The run of suspect jumps that agree (each within the window above the
	// one before, same boot): suspectAgree of them start afresh there.
	suspectBoot, suspectSeq int64
	suspectN                int
	// ahead are rejected numbers above the newest seen: a rejected message
	// never moves the sequence (its number could be anything), so its
	// number is taken once the sequence gets there. At most aheadKept.
	ahead []aheadNum
}

type aheadNum struct{ boot, seq int64 }

// aheadKept bounds liftSeq.ahead: a terminal rejected many times in a row
// ahead of its last good message loses the oldest, which may then count as
// gaps.
const aheadKept = 16

// jumped judges a message too far ahead of where the sequence is (from, the
// newest number of its boot, or 0 for a new boot): suspect, unless it
// completes a run of suspectAgree that agree, which then starts a new window
// at seq (the numbers below are history, never gaps).
func (l *liftSeq) jumped(boot, seq int64, now time.Time) bool {
	if l.suspectN > 0 && boot == l.suspectBoot && seq > l.suspectSeq && seq-l.suspectSeq <= dedupWindow {
		l.suspectN++
	} else {
		l.suspectN = 1
	}
	l.suspectBoot, l.suspectSeq = boot, seq
	if l.suspectN < suspectAgree {
		return true
	}
	l.suspectN = 0
	if boot > l.cur.boot {
		l.prev, l.bootAt = l.cur, now
	}
	l.cur = newSeqWindow(boot, seq-1)
	return false
}

// seqCount is what one check or settle found.
type seqCount struct {
	lost   int64 // sequence numbers newly counted lost
	filled int64 // numbers already counted lost that arrived after all
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

func (l *liftSeq) graceNS() int64 {
	if l.grace <= 0 {
		return int64(DefaultGapGrace)
	}
	return l.grace
}

// check classifies (boot, seq) arriving at now and returns what it settled:
// numbers confirmed lost (holes older than the grace, or leaving the window)
// and whether this message fills a hole already counted.
func (l *liftSeq) check(boot, seq int64, now time.Time) (verdict, seqCount) {
	return l.judge(boot, seq, now, false)
}

// rejected records that liftwatch rejected the message (boot, seq): its
// number is no gap, yet a corrected resend of it is fresh; a rejected
// message never moves the sequence far ahead (suspect) nor starts a run.
func (l *liftSeq) rejected(boot, seq int64, now time.Time) seqCount {
	_, c := l.judge(boot, seq, now, true)
	return c
}

func (l *liftSeq) judge(boot, seq int64, now time.Time, rejected bool) (verdict, seqCount) {
	var c seqCount
	ns, grace := now.UnixNano(), l.graceNS()
	if l.prev != nil && now.Sub(l.bootAt) > retireAfter {
		c.lost += l.prev.unseen()
		l.prev = nil
	}
	w := l.cur
	switch {
	case w == nil:
		// First sight of this lift: what came before is not ours to count.
		l.cur, l.bootAt = newSeqWindow(boot, seq-1), now
		w = l.cur
	case boot > w.boot && (seq > maxSeqJump || boot-w.boot > maxBootJump):
		if rejected || l.jumped(boot, seq, now) {
			return suspect, c
		}
		w = l.cur
	case boot > w.boot:
		if l.prev != nil {
			c.lost += l.prev.unseen()
		}
		l.prev, l.cur, l.bootAt = w, newSeqWindow(boot, 0), now
		w = l.cur
	case boot == w.boot && seq-w.max > maxSeqJump:
		if rejected || l.jumped(boot, seq, now) {
			return suspect, c
		}
		w = l.cur
	case boot < w.boot:
		if l.prev == nil || boot != l.prev.boot {
			return stale, c
		}
		w = l.prev
	}
	if rejected && seq > w.max {
		if seq-w.max <= dedupWindow {
			if len(l.ahead) == aheadKept {
				l.ahead = append(l.ahead[:0], l.ahead[1:]...)
			}
			l.ahead = append(l.ahead, aheadNum{boot, seq})
		}
		return fresh, c
	}
	v, n, filled := w.mark(seq, ns, grace, rejected)
	if !rejected && len(l.ahead) > 0 {
		kept := l.ahead[:0]
		for _, a := range l.ahead {
			switch {
			case a.boot != w.boot:
				// another boot's: no longer ours to place
			case a.seq <= w.max:
				w.mark(a.seq, ns, grace, true)
			default:
				kept = append(kept, a)
			}
		}
		l.ahead = kept
	}
	c.lost += n + w.settle(ns, grace)
	if filled {
		c.filled = 1
	}
	return v, c
}

// settle counts the holes of both boots older than the grace at now, and
// retires the previous boot once its time is up; for the periodic sweep.
func (l *liftSeq) settle(now time.Time) int64 {
	ns, grace := now.UnixNano(), l.graceNS()
	var lost int64
	if l.prev != nil {
		lost += l.prev.settle(ns, grace)
		if now.Sub(l.bootAt) > retireAfter {
			lost += l.prev.unseen()
			l.prev = nil
		}
	}
	if l.cur != nil {
		lost += l.cur.settle(ns, grace)
	}
	return lost
}

// forget makes everything seen so far history (after rebuilding from the
// spool at start-up: the previous run judged those holes).
func (l *liftSeq) forget() {
	if l.cur != nil {
		l.cur.forget()
	}
	if l.prev != nil {
		l.prev.forget()
	}
}
