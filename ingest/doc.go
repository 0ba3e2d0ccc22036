// Package ingest takes lift telemetry from the MQTT broker into the
// time-series store and hands every accepted message, in order per lift, to
// the in-process consumers (alerts, maintenance meters), after applying it to
// the lift's live state (liftstate), of which ingest is the one writer.
//
//	broker ──QoS 1, manual ack──▶ Offer ─▶ shard workers (by lift hash)
//	                                       parse topic, registry, decode,
//	                                       duplicate check, line protocol
//	                                         │ rejects: dead letters, ack
//	                                         │ duplicates: count, ack
//	                                         ▼
//	                                 spool writer: a batch goes to the
//	                                 dispatchers at once, then is fsynced;
//	                                 acked once spooled and consumed (and
//	                                 the alert outbox written up to then)
//	                                    │                         │
//	                                    ▼                         ▼
//	                          dispatch shards ─▶ consumers   drainer ─▶ Sink
//	                          (order per lift)               (batches, retry
//	                                                          with backoff)
//
// Messages come in through an Input (input.go; today the Receiver). A
// message is acknowledged only once it is durable in the spool, and at most
// MaxUnacked are unacknowledged at once; every path (accepted, rejected,
// duplicate, shutdown) releases its slot. The consumers are fed from the
// spool writer, not from the drainer, so a store outage never delays them;
// the spool grows instead, up to its size limit, beyond which acks stop and
// the broker holds the rest. Duplicate detection is rebuilt from the spool's
// retained segments at start-up, so a crash between spooling and acking
// (the broker redelivers) does not count a message twice.
package ingest
