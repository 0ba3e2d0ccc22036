package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AlertWrite is one queued alert change: the alert as it was then (without
// history) and the events to append to its record.
type AlertWrite struct {
	Alert  *Alert
	Events []Event
}

// OutboxStore is what the outbox writes through: the engine's Store (alerts
// are loaded and silences kept through it as before), plus IDs reserved
// ahead and a batch write of alerts that already have their ID.
type OutboxStore interface {
	Store
	ReserveAlertIDs(ctx context.Context, n int) ([]int64, error)
	WriteAlerts(ctx context.Context, batch []AlertWrite) error
}

// OutboxOptions configures an Outbox.
type OutboxOptions struct {
	Logger *slog.Logger
	// Registerer takes the outbox's metrics (nil: none registered).
	Registerer prometheus.Registerer
	// Reserve is how many alert IDs are reserved from the database at once
	// (default 256); a new block is fetched when half are used.
	Reserve int
	// MaxBatch is the most changes written in one transaction (default 512).
	MaxBatch int
	// MaxBackoff caps the wait between retries of a failed write (default 5s).
	MaxBackoff time.Duration
}

// Outbox is the engine's Store that never makes detection wait for the
// disk: SaveAlert gives a new alert its ID from a block reserved ahead,
// queues a snapshot of the alert and its events, and returns; one goroutine
// (Run) writes the queue in order, in batches, retrying a failed write with
// backoff for as long as it takes (nothing is dropped). Silences and the
// initial load go straight to the store.
//
// Mark and WaitWritten let ingest acknowledge a message only once the
// changes it caused are written (ingest.WriteBehind); Sync lets a reader see
// its own writes.
type Outbox struct {
	st  OutboxStore
	log *slog.Logger
	opt OutboxOptions

	mu      sync.Mutex
	queue   []AlertWrite
	ids     []int64 // reserved, not yet given
	queued  uint64  // changes queued since start
	written uint64  // changes written since start
	change  chan struct{}
	wake    chan struct{}
	running bool

	depth    prometheus.GaugeFunc
	failures prometheus.Counter
	writes   prometheus.Counter
}

var _ Store = (*Outbox)(nil)

// NewOutbox makes an outbox over st and reserves its first block of IDs.
func NewOutbox(ctx context.Context, st OutboxStore, opt OutboxOptions) (*Outbox, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Reserve <= 0 {
		opt.Reserve = 256
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 512
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	o := &Outbox{st: st, log: opt.Logger, opt: opt, change: make(chan struct{}), wake: make(chan struct{}, 1)}
	ids, err := st.ReserveAlertIDs(ctx, opt.Reserve)
	if err != nil {
		return nil, fmt.Errorf("alert outbox: %w", err)
	}
	o.ids = ids
	o.depth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_alert_outbox_depth",
		Help: "Alert changes queued and not yet written to the database."}, func() float64 {
		o.mu.Lock()
		defer o.mu.Unlock()
		return float64(len(o.queue))
	})
	o.failures = prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_alert_outbox_write_failures_total",
		Help: "Failed writes of queued alert changes (each retried with backoff; nothing is dropped)."})
	o.writes = prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_alert_outbox_written_total",
		Help: "Alert changes written to the database."})
	if opt.Registerer != nil {
		if err := opt.Registerer.Register(o.depth); err != nil {
			return nil, fmt.Errorf("alert outbox metrics: %w", err)
		}
		opt.Registerer.MustRegister(o.failures, o.writes)
	}
	return o, nil
}

// SaveAlert queues a change; a new alert (ID 0) gets its ID now. It waits
// for the database only when the reserved IDs have run out (a new block is
// fetched in the background when half are used).
func (o *Outbox) SaveAlert(ctx context.Context, a *Alert, events []Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if a.ID == 0 {
		if len(o.ids) == 0 {
			ids, err := o.st.ReserveAlertIDs(ctx, o.opt.Reserve)
			if err != nil {
				return fmt.Errorf("no alert ID left in reserve: %w", err)
			}
			o.ids = ids
		}
		a.ID, o.ids = o.ids[0], o.ids[1:]
	}
	snap := *a
	snap.History = nil
	o.queue = append(o.queue, AlertWrite{Alert: &snap, Events: append([]Event(nil), events...)})
	o.queued++
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// OpenAlerts loads the open alerts from the store.
func (o *Outbox) OpenAlerts(ctx context.Context) ([]*Alert, error) { return o.st.OpenAlerts(ctx) }

// SaveSilence stores a silence (synchronously: people wait for it).
func (o *Outbox) SaveSilence(ctx context.Context, s *Silence) error { return o.st.SaveSilence(ctx, s) }

// DeleteSilence removes a silence (synchronously).
func (o *Outbox) DeleteSilence(ctx context.Context, id int64) error {
	return o.st.DeleteSilence(ctx, id)
}

// Silences lists the silences from the store.
func (o *Outbox) Silences(ctx context.Context) ([]Silence, error) { return o.st.Silences(ctx) }

// Mark returns the position of the last change queued so far.
func (o *Outbox) Mark() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.queued
}

// WaitWritten returns once every change up to mark is written, or with
// ctx's error.
func (o *Outbox) WaitWritten(ctx context.Context, mark uint64) error {
	for {
		o.mu.Lock()
		done, ch := o.written >= mark, o.change
		o.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("alert changes not yet written: %w", ctx.Err())
		}
	}
}

// Sync waits until every change queued before the call is written.
func (o *Outbox) Sync(ctx context.Context) error { return o.WaitWritten(ctx, o.Mark()) }

// Depth is the number of changes queued and not yet written.
func (o *Outbox) Depth() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}

// Run writes the queue until ctx ends; Close then writes what is left.
func (o *Outbox) Run(ctx context.Context) error {
	o.mu.Lock()
	if o.running {
		o.mu.Unlock()
		return errors.New("alert outbox: already running")
	}
	o.running = true
	o.mu.Unlock()
	backoff := time.Duration(0)
	for {
		did := o.writeSome(ctx, &backoff)
		if ctx.Err() != nil {
			return nil // what is left is Close's (a failing write must not keep Run from returning)
		}
		if !did {
			select {
			case <-o.wake:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// Close writes everything still queued, retrying until ctx ends; it
// returns an error naming what could not be written. Call it after Run has
// returned and nothing saves any more.
func (o *Outbox) Close(ctx context.Context) error {
	backoff := time.Duration(0)
	for o.Depth() > 0 {
		o.writeSome(ctx, &backoff)
		if ctx.Err() != nil {
			break
		}
	}
	if n := o.Depth(); n > 0 {
		return fmt.Errorf("alert outbox: %d alert changes not written at shutdown: %w", n, ctx.Err())
	}
	return nil
}

// writeSome writes the head of the queue, refilling the ID reserve first
// when it runs low; it reports whether there was anything to do. A failed
// write is retried after a backoff wait (doubling to MaxBackoff).
func (o *Outbox) writeSome(ctx context.Context, backoff *time.Duration) bool {
	o.mu.Lock()
	low := len(o.ids) < o.opt.Reserve/2
	o.mu.Unlock()
	if low {
		if ids, err := o.st.ReserveAlertIDs(ctx, o.opt.Reserve); err != nil {
			if ctx.Err() == nil {
				o.log.Warn("cannot reserve alert IDs; retrying with the next write", "err", err)
			}
		} else {
			o.mu.Lock()
			o.ids = append(o.ids, ids...)
			o.mu.Unlock()
		}
	}
	o.mu.Lock()
	n := min(len(o.queue), o.opt.MaxBatch)
	batch := o.queue[:n:n]
	o.mu.Unlock()
	if n == 0 {
		return false
	}
	if err := o.st.WriteAlerts(ctx, batch); err != nil {
		if ctx.Err() != nil {
			return true
		}
		o.failures.Inc()
		*backoff = min(max(2**backoff, 50*time.Millisecond), o.opt.MaxBackoff)
		o.log.Error("writing alert changes failed; kept in the outbox and retried", "changes", n, "queued", o.Depth(), "retry_in", *backoff, "err", err)
		t := time.NewTimer(*backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		return true
	}
	if *backoff > 0 {
		o.log.Info("alert changes written again after failures")
		*backoff = 0
	}
	o.writes.Add(float64(n))
	o.mu.Lock()
	o.queue = o.queue[n:]
	if len(o.queue) == 0 {
		o.queue = nil // let the backing array go
	}
	o.written += uint64(n)
	close(o.change)
	o.change = make(chan struct{})
	o.mu.Unlock()
	return true
}
