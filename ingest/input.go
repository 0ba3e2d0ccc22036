package ingest

import "context"

// Input is where lift telemetry comes in. Today it is the Mosquitto
// subscription (Receiver); a partitioned durable log (a NATS JetStream
// consumer behind its MQTT gateway) is meant to slot in here later, without
// touching the pipeline behind it, the alert rules or the API.
//
// An input delivers to an Intake (the Ingester) and must keep this
// contract:
//   - Order: for each lift, messages are delivered in the order the lift
//     sent them (as the broker or log holds them), within a batch and across
//     batches. Different lifts may interleave freely. An input may carry
//     faults and alarms in a lane of their own as well (Delivery.Lane): they
//     may then overtake the lift's routine messages sent before them, and
//     arrive a second time in the main lane (a lane copy, recognised by
//     (lift, boot, seq)); the live state and the alert rules judge by event
//     time and tolerate it.
//   - One owner per lift: all of a lift's messages go to one liftwatch
//     instance at a time (a partition), because duplicate detection, the
//     live state and the alert rules are per lift and in memory.
//   - Acks: a message is acknowledged to the source only through its
//     Delivery's Ack, which the Intake calls once the message is durable in
//     the spool and what it caused (alert changes) is written. A message
//     never acked (refused, or liftwatch stopped or crashed first) must be
//     delivered again, on this or the next connection; redelivery is
//     expected and harmless (duplicates are detected by (lift, boot, seq)).
//   - Back-pressure: Deliver blocks while too many messages are unacked;
//     an input must not buffer without bound meanwhile.
type Input interface {
	// Run delivers messages until ctx ends.
	Run(ctx context.Context) error
	// Ready says why the input cannot take the lifts' messages yet; nil
	// when it can.
	Ready() error
}

// Delivery is one message from an input and how to acknowledge it.
type Delivery struct {
	Topic   string // <root>/<lift>/<kind>
	Payload []byte
	// Ack acknowledges the message to its source; called at most once,
	// from any goroutine. nil: the source needs no ack.
	Ack func()
	// Lane is the lane the message came in on (LaneMain unless the input
	// has an urgent lane for faults and alarms).
	Lane uint8
}

// The lanes of an input.
const (
	LaneMain   uint8 = iota // every message under the root
	LaneUrgent              // faults and alarms only, also sent in the main lane
)

// Intake takes what an input delivers: a batch of messages, in the input's
// order (see Input for the contract). It returns false if it is stopping;
// the messages not taken then are not acked and the source redelivers them.
type Intake interface {
	Deliver(batch []Delivery) bool
}

var (
	_ Intake = (*Ingester)(nil)
	_ Input  = (*Receiver)(nil)
)

// Deliver hands a batch to the pipeline, in order; see Intake.
func (ing *Ingester) Deliver(batch []Delivery) bool {
	for i := range batch {
		if !ing.offer(batch[i].Topic, batch[i].Payload, batch[i].Ack, batch[i].Lane) {
			return false
		}
	}
	return true
}
