package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// refusingSink fails every write, so nothing leaves the spool.
type refusingSink struct{}

func (refusingSink) Write(context.Context, []ingest.Record) error {
	return errors.New("store down")
}
func (refusingSink) Ping(context.Context) error { return nil }

// handoff runs an ingester over a real spool, fed through Offer.
type handoff struct {
	ing    *ingest.Ingester
	lift   string
	at     time.Time
	cancel context.CancelFunc
	done   chan error
}

func startHandoff(t *testing.T, cfg ingest.Config, consumers ...ingest.Consumer) *handoff {
	t.Helper()
	fleet, _ := registry.Jiangwan()
	h := &handoff{lift: fleet[0].ID, at: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC), done: make(chan error, 1)}
	cfg.SpoolDir = t.TempDir()
	cfg.Clock = func() time.Time { return h.at }
	if cfg.Logger == nil {
		cfg.Logger = quietLogger(&logBuffer{})
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = 200 * time.Millisecond
	}
	var err error
	h.ing, err = ingest.New(cfg, registry.NewIndex(fleet), refusingSink{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consumers {
		h.ing.AddConsumer(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.ing.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *handoff) stop(t *testing.T) {
	t.Helper()
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	if err := <-h.done; err != nil {
		t.Fatalf("ingest stopped with %v", err)
	}
}

// offer hands the lift's fault number seq to the ingester; the returned flag
// turns true when it is acked.
func (h *handoff) offer(t *testing.T, seq int) *atomic.Bool {
	t.Helper()
	acked := &atomic.Bool{}
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, seq, h.at.UnixMilli())
	if !h.ing.Offer(telemetry.DefaultRoot+"/"+h.lift+"/fault", []byte(payload), func() { acked.Store(true) }) {
		t.Fatal("ingester refused the message")
	}
	return acked
}

type seqConsumer struct {
	mu   sync.Mutex
	seqs []int64
	// then runs after each message (under no lock of ours).
	then func()
}

func (c *seqConsumer) Consume(m *telemetry.Message, _ *liftstate.Update) {
	c.mu.Lock()
	c.seqs = append(c.seqs, m.Seq)
	c.mu.Unlock()
	if c.then != nil {
		c.then()
	}
}

func (c *seqConsumer) seen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seqs)
}

// TestConsumersDoNotWaitForTheSpool: a message reaches the consumers (the
// alert engine) as soon as its batch is assembled, before the spool has
// it; it is acked only once the spool has it. Here the spool is full (the
// store refuses every write), so the second message can never be spooled:
// the consumer still sees it at once, it is never acked, and the broker
// would deliver it again.
func TestConsumersDoNotWaitForTheSpool(t *testing.T) {
	c := &seqConsumer{}
	h := startHandoff(t, ingest.Config{Spool: ingest.SpoolOptions{MaxBytes: 1}}, c)
	first := h.offer(t, 1)
	itest.WaitUntil(t, 10*time.Second, "first message spooled and acked", first.Load)
	second := h.offer(t, 2)
	itest.WaitUntil(t, 10*time.Second, "second message at the consumer while the spool is full", func() bool { return c.seen() == 2 })
	h.stop(t)
	if second.Load() {
		t.Fatal("a message the spool never took was acked")
	}
}

// fakeWriteBehind is a write-behind queue the test writes by hand.
type fakeWriteBehind struct {
	mu      sync.Mutex
	queued  uint64
	written uint64
	changed chan struct{}
}

func newFakeWriteBehind() *fakeWriteBehind { return &fakeWriteBehind{changed: make(chan struct{})} }

func (f *fakeWriteBehind) queue() { f.mu.Lock(); f.queued++; f.mu.Unlock() }

func (f *fakeWriteBehind) writeAll() {
	f.mu.Lock()
	f.written = f.queued
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeWriteBehind) Mark() uint64 { f.mu.Lock(); defer f.mu.Unlock(); return f.queued }

func (f *fakeWriteBehind) WaitWritten(ctx context.Context, mark uint64) error {
	for {
		f.mu.Lock()
		done, ch := f.written >= mark, f.changed
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// TestAckWaitsForWriteBehind: a message whose consumer queued a change (an
// alert to be written) is acked only once that change is written; if it is
// not written by the end of the shutdown flush, the message stays unacked
// for the broker to deliver again.
func TestAckWaitsForWriteBehind(t *testing.T) {
	wb := newFakeWriteBehind()
	c := &seqConsumer{then: wb.queue}
	h := startHandoff(t, ingest.Config{WriteBehind: wb}, c)
	first := h.offer(t, 1)
	itest.WaitUntil(t, 10*time.Second, "message at the consumer", func() bool { return c.seen() == 1 })
	if first.Load() {
		t.Fatal("acked before the change it caused was written")
	}
	wb.writeAll()
	itest.WaitUntil(t, 10*time.Second, "ack once the change is written", first.Load)

	second := h.offer(t, 2)
	itest.WaitUntil(t, 10*time.Second, "second message at the consumer", func() bool { return c.seen() == 2 })
	h.stop(t) // the change is never written
	if second.Load() {
		t.Fatal("a message whose change was never written was acked")
	}
}
