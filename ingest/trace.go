package ingest

import (
	"log/slog"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

// traceTimes is when a traced message (Config.TraceLift) passed each hop of
// the pipeline, on the wall clock (time.Now, not the ingester's clock: a
// trace measures the pipeline, not event time).
type traceTimes struct {
	received   time.Time // the input handed it over (Offer)
	checked    time.Time // its shard worker had checked it: topic, register, decode, duplicates
	dispatched time.Time // the spool writer handed it to its dispatcher (before the fsync)
}

// logTrace logs a traced message as its dispatcher hands it to the
// consumers (the alert engine): one line with every hop, in unix
// microseconds.
func (ing *Ingester) logTrace(m *telemetry.Message, it dispatchItem) {
	t := it.trace
	lane := "main"
	if it.lane == LaneUrgent {
		lane = "urgent"
	}
	ing.log.Info("trace", slog.String("lift", m.Lift), slog.String("kind", m.Kind.String()), slog.Int64("boot", m.Boot),
		slog.Int64("seq", m.Seq), slog.String("lane", lane), slog.Bool("consumed", it.consume), slog.Bool("duplicate", it.dup),
		slog.Int64("received_us", t.received.UnixMicro()), slog.Int64("checked_us", t.checked.UnixMicro()),
		slog.Int64("dispatched_us", t.dispatched.UnixMicro()), slog.Int64("consumers_us", time.Now().UnixMicro()))
}
