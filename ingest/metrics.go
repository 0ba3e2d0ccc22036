package ingest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/telemetry"
)

type metrics struct {
	received      *prometheus.CounterVec
	accepted      *prometheus.CounterVec
	rejected      *prometheus.CounterVec
	duplicates    prometheus.Counter
	laneCopies    prometheus.Counter
	stale         prometheus.Counter
	backwards     prometheus.Counter
	gaps          prometheus.Counter
	gapsFilled    prometheus.Counter
	unacked       prometheus.Gauge
	writeLatency  prometheus.Histogram
	ackWait       prometheus.Histogram
	pointsWritten prometheus.Counter
	pointsDropped prometheus.Counter
	writeFailures prometheus.Counter
	writeErrors   *prometheus.CounterVec
	storeOK       prometheus.Gauge
	connected     prometheus.Gauge
	reconnects    prometheus.Counter
	stateChanges  *prometheus.CounterVec

	deadLetterErrors prometheus.Counter
	laneRejectCopies prometheus.Counter
	suspectSequences prometheus.Counter

	// Resolved once: WithLabelValues hashes its labels on every call, which
	// showed in the per-message cost.
	receivedBy [len(telemetry.Kinds) + 1]prometheus.Counter // index: Kind (0 = invalid topic)
	acceptedBy [len(telemetry.Kinds) + 1]prometheus.Counter
	rejectedBy map[telemetry.Reason]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, ing *Ingester) *metrics {
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_ingest_messages_received_total",
			Help: "Messages received from the broker, by kind (invalid for an unparseable topic)."}, []string{"kind"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_ingest_messages_accepted_total",
			Help: "Messages accepted and spooled (not duplicates), by kind."}, []string{"kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_ingest_messages_rejected_total",
			Help: "Messages rejected, by reason."}, []string{"reason"}),
		laneCopies: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_lane_copies_total",
			Help: "Faults and alarms received a second time on the other lane of the input (urgent and main): handed on marked, not stored twice."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_duplicates_total",
			Help: "Messages dropped as repeats of (lift, boot, seq) already received."}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_stale_total",
			Help: "Messages too far behind their lift's sequence to check for repeats: stored; faults and alarms still go to the alert engine."}),
		backwards: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_seq_backwards_total",
			Help: "Times a lift's sequence went backwards beyond the duplicate window (a run of stale messages counts once); the lift is flagged seq_backwards."}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_seq_gaps_total",
			Help: "Sequence numbers lost before liftwatch (within a boot): a hole in a lift's sequence older than --ingest.gap-grace or leaving the duplicate window."}),
		gapsFilled: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_seq_gaps_filled_total",
			Help: "Sequence numbers counted in liftwatch_ingest_seq_gaps_total that arrived after all (later than --ingest.gap-grace); missing = gaps - filled."}),
		unacked: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftwatch_ingest_unacked_messages",
			Help: "Messages received but not yet acknowledged to the broker."}),
		writeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "liftwatch_ingest_write_duration_seconds",
			Help: "Time to write one batch to the time-series store.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 15)}),
		ackWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "liftwatch_ingest_ack_wait_seconds",
			Help: "Time a spooled batch waits, before its ack, for the changes its consumers queued (the alert outbox) to be written.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		pointsWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_points_written_total",
			Help: "Points written to the time-series store."}),
		pointsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_points_refused_total",
			Help: "Points the store rejected as invalid (for example a field type conflict), moved to the dead-letter file."}),
		writeFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_write_failures_total",
			Help: "Failed writes to the time-series store (each retried, split or, for invalid points, dead-lettered)."}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_ingest_store_write_errors_total",
			Help: "Failed writes to the time-series store by reason: unavailable, unauthorized, forbidden, not_found, too_large, client_error, target (the data stays spooled), invalid_points (the batch is split to dead-letter exactly those)."},
			[]string{"reason"}),
		storeOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftwatch_ingest_store_ok",
			Help: "0 while writes to the time-series store fail and the data waits in the spool, else 1."}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "liftwatch_ingest_broker_connected",
			Help: "1 while connected to the MQTT broker."}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_broker_reconnects_total",
			Help: "Connections to the broker after the first."}),
		stateChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_lift_state_changes_total",
			Help: "Lifts going online or offline."}, []string{"to"}),
		deadLetterErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_deadletter_write_errors_total",
			Help: "Rejected messages that could not be written to the dead-letter file (each is still counted and listed; the log has the error)."}),
		laneRejectCopies: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_rejected_lane_copies_total",
			Help: "Rejected faults and alarms received on the urgent lane: the main lane's copy of each is the one rejected, counted and dead-lettered."}),
		suspectSequences: prometheus.NewCounter(prometheus.CounterOpts{Name: "liftwatch_ingest_seq_suspect_total",
			Help: "Messages whose sequence number jumped further than any terminal could (more than 65,536 ahead, or a boot more than 1,000 ahead): rejected as suspect_sequence, no gap counted; three in a row that agree start the lift's sequence afresh."}),
	}
	m.receivedBy[telemetry.KindInvalid] = m.received.WithLabelValues("invalid")
	m.acceptedBy[telemetry.KindInvalid] = m.accepted.WithLabelValues("invalid")
	for _, k := range telemetry.Kinds {
		m.receivedBy[k] = m.received.WithLabelValues(k.String())
		m.acceptedBy[k] = m.accepted.WithLabelValues(k.String())
	}
	m.storeOK.Set(1)
	m.rejectedBy = map[telemetry.Reason]prometheus.Counter{}
	for _, r := range telemetry.Reasons {
		m.rejectedBy[r] = m.rejected.WithLabelValues(string(r))
	}
	reg.MustRegister(m.received, m.accepted, m.rejected, m.duplicates, m.laneCopies, m.stale, m.backwards, m.gaps, m.gapsFilled, m.unacked, m.writeLatency, m.ackWait,
		m.pointsWritten, m.pointsDropped, m.writeFailures, m.writeErrors, m.storeOK, m.connected, m.reconnects, m.stateChanges,
		m.deadLetterErrors, m.laneRejectCopies, m.suspectSequences,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_ingest_spool_records", Help: "Records in the spool not yet written to the store."},
			func() float64 { n, _ := ing.spool.Depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_ingest_spool_bytes", Help: "Bytes in the spool not yet written to the store."},
			func() float64 { _, b := ing.spool.Depth(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_ingest_spool_oldest_age_seconds", Help: "Age of the oldest record not yet written to the store."},
			func() float64 {
				ms := ing.spool.OldestMS()
				if ms == 0 {
					return 0
				}
				return float64(ing.now().UnixMilli()-ms) / 1000
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_lifts_online", Help: "Registered lifts heard from recently."},
			func() float64 { on, _ := ing.state.Online(); return float64(on) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_lifts_offline", Help: "Registered lifts silent for longer than the offline threshold, or never heard from."},
			func() float64 { _, off := ing.state.Online(); return float64(off) }),
	)
	return m
}

func (m *metrics) writeError(reason string) prometheus.Counter {
	if reason == "" {
		reason = "client_error"
	}
	return m.writeErrors.WithLabelValues(reason)
}
