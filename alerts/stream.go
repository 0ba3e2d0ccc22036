package alerts

import "sync"

// Hub fans alert changes out to live subscribers (the web UI's server-sent
// events). A subscriber that falls behind loses changes rather than slowing
// the engine; it is told so by a gap in the change sequence.
type Hub struct {
	mu   sync.Mutex
	subs map[chan StreamEvent]struct{}
	seq  uint64
}

// StreamEvent is one change on the stream.
type StreamEvent struct {
	Seq   uint64 `json:"seq"`
	Event Event  `json:"event"`
	Alert *Alert `json:"alert"`
}

// NewHub makes a hub.
func NewHub() *Hub { return &Hub{subs: map[chan StreamEvent]struct{}{}} }

// Handle is the engine listener.
func (h *Hub) Handle(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev := StreamEvent{Seq: h.seq, Event: c.Event, Alert: c.Alert}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default: // too slow: drop, the seq gap tells
		}
	}
}

// Subscribe returns a channel of changes and a function to unsubscribe.
func (h *Hub) Subscribe() (<-chan StreamEvent, func()) {
	ch := make(chan StreamEvent, 256)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}
