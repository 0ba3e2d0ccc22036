package simulator

import (
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/liftwatch/liftwatch/telemetry"
)

// Counts is what the simulator sent.
type Counts struct {
	// Sent counts distinct valid messages by kind: what should be stored.
	Sent map[string]int64 `json:"sent"`
	// Resent counts repeats of already-sent messages by kind (duplicates).
	Resent map[string]int64 `json:"resent"`
	// Hostile counts deliberately bad messages by the reason they must be
	// rejected with.
	Hostile map[string]int64 `json:"hostile"`
	// Dropped counts valid messages a terminal lost (full offline buffer,
	// reboot while offline): they never left it and show up as gaps.
	Dropped int64 `json:"dropped"`
	// Reboots counts terminal restarts.
	Reboots int64 `json:"reboots"`
	// Failed counts publishes the transport could not complete.
	Failed int64 `json:"failed"`
}

// Stats counts what the simulator sent; safe for concurrent use.
type Stats struct {
	mu sync.Mutex
	c  Counts
}

func newStats() *Stats {
	return &Stats{c: Counts{Sent: map[string]int64{}, Resent: map[string]int64{}, Hostile: map[string]int64{}}}
}

func (s *Stats) add(o *Out) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case o.Hostile != "":
		s.c.Hostile[string(o.Hostile)]++
	case o.Resend:
		s.c.Resent[o.Kind.String()]++
	default:
		s.c.Sent[o.Kind.String()]++
	}
}

func (s *Stats) update(f func(c *Counts)) { s.mu.Lock(); f(&s.c); s.mu.Unlock() }

// AddFailed counts publishes a transport reports as failed after the fact.
func (s *Stats) AddFailed(n int64) { s.update(func(c *Counts) { c.Failed += n }) }

// Snapshot returns a copy.
func (s *Stats) Snapshot() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	c.Sent, c.Resent, c.Hostile = clone(s.c.Sent), clone(s.c.Resent), clone(s.c.Hostile)
	return c
}

func clone(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TotalSent is the number of distinct valid messages.
func (c Counts) TotalSent() int64 { return sum(c.Sent) }

// TotalHostile is the number of hostile messages.
func (c Counts) TotalHostile() int64 { return sum(c.Hostile) }

// Print writes a human-readable summary.
func (c Counts) Print(w io.Writer) {
	fmt.Fprintf(w, "%-10s %10s %10s\n", "kind", "sent", "resent")
	for _, k := range telemetry.Kinds {
		fmt.Fprintf(w, "%-10s %10d %10d\n", k, c.Sent[k.String()], c.Resent[k.String()])
	}
	fmt.Fprintf(w, "%-10s %10d %10d\n", "total", c.TotalSent(), sum(c.Resent))
	if len(c.Hostile) > 0 {
		keys := make([]string, 0, len(c.Hostile))
		for k := range c.Hostile {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, "hostile messages by expected rejection reason:")
		for _, k := range keys {
			fmt.Fprintf(w, "  %-16s %8d\n", k, c.Hostile[k])
		}
	}
	fmt.Fprintf(w, "dropped by terminals: %d, reboots: %d, failed publishes: %d\n", c.Dropped, c.Reboots, c.Failed)
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}
