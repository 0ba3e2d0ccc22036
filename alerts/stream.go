package alerts

import "sync"

// Hub fans alert changes out to live subscribers (the web UI's server-sent
// events). A subscriber that falls behind loses changes rather than slowing
// the engine; it is told so by a gap in the change sequence. The hub keeps
// the latest changes in a bounded ring so that a client reconnecting with
// the last sequence it saw gets what it missed.
type Hub struct {
	mu   sync.Mutex
	subs map[chan StreamEvent]struct{}
	seq  uint64
	ring []StreamEvent // the last len(ring) changes, oldest at next once full
	next int
	size int
}

// StreamEvent is one change on the stream.
type StreamEvent struct {
	Seq   uint64 `json:"seq"`
	Event Event  `json:"event"`
	Alert *Alert `json:"alert"`
}

// DefaultReplay is how many recent changes a hub keeps for replay.
const DefaultReplay = 4096

// NewHub makes a hub keeping DefaultReplay changes for replay.
func NewHub() *Hub { return NewHubSize(DefaultReplay) }

// NewHubSize makes a hub keeping the last n changes (at least 1) for replay.
func NewHubSize(n int) *Hub {
	return &Hub{subs: map[chan StreamEvent]struct{}{}, size: max(n, 1)}
}

// Handle is the engine listener.
func (h *Hub) Handle(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev := StreamEvent{Seq: h.seq, Event: c.Event, Alert: c.Alert}
	if len(h.ring) < h.size {
		h.ring = append(h.ring, ev)
	} else {
		h.ring[h.next] = ev
		h.next = (h.next + 1) % h.size
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default: // too slow: drop, the seq gap tells
		}
	}
}

// Subscribe returns a channel of changes and a function to unsubscribe.
func (h *Hub) Subscribe() (<-chan StreamEvent, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.subscribeLocked()
}

func (h *Hub) subscribeLocked() (<-chan StreamEvent, func()) {
	ch := make(chan StreamEvent, 256)
	h.subs[ch] = struct{}{}
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// Replay is what a resuming subscriber missed.
type Replay struct {
	// Events are the changes after the one asked for, oldest first.
	Events []StreamEvent
	// Complete is false if changes after the one asked for are no longer
	// held (or the sequence is not this hub's: liftwatch restarted); the
	// client must then reload its state.
	Complete bool
	// Latest is the sequence of the newest change.
	Latest uint64
}

// Resume subscribes and returns the changes after sequence after, with no
// change lost or repeated between the replay and the channel.
func (h *Hub) Resume(after uint64) (Replay, <-chan StreamEvent, func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp := Replay{Latest: h.seq, Complete: after <= h.seq}
	oldest := h.seq - uint64(len(h.ring)) + 1 // the first change still held
	if after+1 < oldest {
		rp.Complete = false
	}
	if rp.Complete {
		for i := range h.ring {
			if ev := h.ring[(h.next+i)%len(h.ring)]; ev.Seq > after {
				rp.Events = append(rp.Events, ev)
			}
		}
	}
	ch, cancel := h.subscribeLocked()
	return rp, ch, cancel
}
