package ingest

import (
	"sync"
	"time"
	"unicode/utf8"

	"github.com/liftwatch/liftwatch/telemetry"
)

// DeadLetter is one rejected message, kept for operators to inspect.
type DeadLetter struct {
	Time    time.Time        `json:"time"`
	Topic   string           `json:"topic"`
	Reason  telemetry.Reason `json:"reason"`
	Error   string           `json:"error"`
	Size    int              `json:"size"`
	Excerpt string           `json:"excerpt"` // the payload's first bytes, valid UTF-8
	// Seq numbers the rejections of this run from 1 (the API's cursor).
	Seq int64 `json:"seq"`
}

const excerptBytes = 200

// DeadLetters keeps the most recent N rejections.
type DeadLetters struct {
	mu    sync.Mutex
	ring  []DeadLetter
	next  int
	total int64
}

// NewDeadLetters keeps up to n entries.
func NewDeadLetters(n int) *DeadLetters {
	if n <= 0 {
		n = 1000
	}
	return &DeadLetters{ring: make([]DeadLetter, 0, n)}
}

// Add records a rejection.
func (d *DeadLetters) Add(at time.Time, topic string, payload []byte, err error) {
	ex := payload
	if len(ex) > excerptBytes {
		ex = ex[:excerptBytes]
	}
	dl := DeadLetter{Time: at, Topic: topic, Reason: telemetry.ReasonOf(err), Error: err.Error(), Size: len(payload),
		Excerpt: toValidUTF8(ex)}
	if len(dl.Topic) > 256 {
		dl.Topic = toValidUTF8([]byte(dl.Topic[:256]))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.total++
	dl.Seq = d.total
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, dl)
		return
	}
	d.ring[d.next] = dl
	d.next = (d.next + 1) % len(d.ring)
}

func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = append(out, r) // invalid bytes become U+FFFD
		b = b[n:]
	}
	return string(out)
}

// List returns the kept rejections, newest first, optionally only of reason.
func (d *DeadLetters) List(reason telemetry.Reason, limit int) []DeadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]DeadLetter, 0, min(len(d.ring), max(limit, 0)))
	for i := 0; i < len(d.ring) && (limit <= 0 || len(out) < limit); i++ {
		idx := (d.next - 1 - i + 2*len(d.ring)) % len(d.ring)
		if reason == "" || d.ring[idx].Reason == reason {
			out = append(out, d.ring[idx])
		}
	}
	return out
}

// Total is the number of rejections ever recorded.
func (d *DeadLetters) Total() int64 { d.mu.Lock(); defer d.mu.Unlock(); return d.total }
