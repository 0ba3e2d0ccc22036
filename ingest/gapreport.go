package ingest

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// GapRecent is the period the readiness check looks back over for sequence
// gaps: it reports degraded while any were counted within it.
const GapRecent = 10 * time.Minute

// gapLogEvery is the least time between two warnings about gaps.
const gapLogEvery = time.Minute

// gapHint names the usual cause of messages lost before liftwatch.
const gapHint = "messages were lost before they reached liftwatch; check the broker's per-client limits " +
	"(Mosquitto: max_queued_messages 0 or large, max_inflight_messages not above --ingest.max-unacked, persistence true) " +
	"and that liftwatch's session is not cleaned (a stable --mqtt.client-id)"

// gapReport keeps the sequence gaps counted recently, for the readiness
// check (per minute over GapRecent) and the rate-limited warning. Gaps are
// rare, so a mutex is fine.
type gapReport struct {
	mu      sync.Mutex
	minutes [GapRecent / time.Minute]gapMinute // ring by minute number
	pending map[string]int64                   // lift → gaps since the last warning
	lastLog time.Time
	logged  bool
}

type gapMinute struct {
	minute int64 // unix minute
	lost   int64
	lifts  map[string]struct{}
}

func (g *gapReport) add(lift string, n int64, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	min := now.Unix() / 60
	b := &g.minutes[min%int64(len(g.minutes))]
	if b.minute != min || b.lifts == nil {
		*b = gapMinute{minute: min, lifts: map[string]struct{}{}}
	}
	b.lost += n
	b.lifts[lift] = struct{}{}
	if g.pending == nil {
		g.pending = map[string]int64{}
	}
	g.pending[lift] += n
}

// recent is how many sequence numbers were counted lost, and in how many
// lifts, within GapRecent before now.
func (g *gapReport) recent(now time.Time) (lost int64, lifts int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	cur := now.Unix() / 60
	var seen map[string]struct{}
	for i := range g.minutes {
		b := &g.minutes[i]
		if b.lifts == nil || b.minute <= cur-int64(len(g.minutes)) || b.minute > cur {
			continue
		}
		lost += b.lost
		if seen == nil {
			seen = make(map[string]struct{}, len(b.lifts))
		}
		for l := range b.lifts {
			seen[l] = struct{}{}
		}
	}
	return lost, len(seen)
}

// warn logs the gaps counted since the last warning, at most once per
// gapLogEvery: the total, the number of lifts, the lifts with the most, and
// the likely cause.
func (g *gapReport) warn(log *slog.Logger, now time.Time) {
	g.mu.Lock()
	if len(g.pending) == 0 || (g.logged && now.Sub(g.lastLog) < gapLogEvery) {
		g.mu.Unlock()
		return
	}
	type liftGaps struct {
		lift string
		n    int64
	}
	all := make([]liftGaps, 0, len(g.pending))
	var total int64
	for l, n := range g.pending {
		all = append(all, liftGaps{l, n})
		total += n
	}
	clear(g.pending)
	g.lastLog, g.logged = now, true
	g.mu.Unlock()
	slices.SortFunc(all, func(a, b liftGaps) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.lift, b.lift)
	})
	var top strings.Builder
	for i, lg := range all {
		if i == 5 {
			fmt.Fprintf(&top, " …")
			break
		}
		if i > 0 {
			top.WriteByte(' ')
		}
		fmt.Fprintf(&top, "%s:%d", lg.lift, lg.n)
	}
	log.Warn("lift sequence gaps: messages missing", "missing", total, "lifts", len(all), "most", top.String(), "hint", gapHint)
}
