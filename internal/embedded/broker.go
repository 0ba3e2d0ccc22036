// Package embedded runs an in-process MQTT broker (mochi-mqtt) for the demo,
// so liftwatch runs with no external service. It accepts any client and is
// not for production: Mosquitto or EMQX with authentication and ACLs is.
//
// Unlike Mosquitto, mochi has no queue behind a subscriber's inflight
// window: a QoS 1 message for a client that already has MaximumInflight
// messages unacknowledged is dropped ("client store quota reached"), while
// the publisher has had its PUBACK. During a backfill the simulator publishes
// faster than ingest acknowledges, so the broker here applies flow control:
// while liftwatch's own session (Options.Subscriber) has HoldAt messages
// unacknowledged, every publisher's PUBACK waits, so a publisher with a
// bounded window of unacknowledged publishes (the simulator) is paced by
// ingest's acknowledgements and nothing is dropped. Ingest's urgent lane
// (a second session, faults and alarms only) is not paced: its few messages
// are far from the quota, and each of them also comes on the main session.
package embedded

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/liftwatch/liftwatch/internal/listen"
)

// MaxInflight is the most QoS 1 messages the broker keeps unacknowledged
// for one client (the MQTT packet-id space); ingest's unacked bound must be
// at least this.
const MaxInflight = 65535

// DefaultHoldAt is how many unacknowledged messages of the protected session
// make publishers wait. Half of MaxInflight leaves room for the overshoot
// (at most one message per publishing client passes the check at once).
const DefaultHoldAt = MaxInflight / 2

// Options configure the broker.
type Options struct {
	// Addr is the TCP listen address.
	Addr string
	// Subscriber is the client ID of the session that must lose nothing
	// (liftwatch's ingest). Empty: no flow control.
	Subscriber string
	// HoldAt is the protected session's unacknowledged messages at which
	// publishers wait (default DefaultHoldAt, at most the inflight limit
	// minus 4096).
	HoldAt int
	// Inflight is the broker's per-client inflight limit, beyond which mochi
	// drops (default MaxInflight). Tests set it small, so that they show the
	// same drop, and the flow control that prevents it, with few messages.
	Inflight int
}

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	flow *flowControl
	Addr string
}

// Start listens on o.Addr and serves MQTT until Close.
func Start(o Options, log *slog.Logger) (*Broker, error) {
	if err := listen.Check(o.Addr, "broker.listen", "LIFTWATCH_BROKER_LISTEN"); err != nil {
		return nil, err
	}
	if o.Inflight <= 0 {
		o.Inflight = MaxInflight
	}
	if o.HoldAt <= 0 {
		o.HoldAt = DefaultHoldAt
	}
	if o.HoldAt > o.Inflight-4096 {
		return nil, fmt.Errorf("embedded broker: hold-at %d above %d", o.HoldAt, o.Inflight-4096)
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: log.With("component", "embedded-broker")})
	caps := srv.Options.Capabilities
	caps.MaximumInflight = uint16(o.Inflight) // drops happen only beyond this; flow control keeps well below
	// Outbound packets queued per client: the inflight window plus acks
	// and control packets, so the queue never overflows (overflow drops).
	caps.MaximumClientWritesPending = 2 * int32(o.Inflight)
	// QoS 1 messages a client may have in flight towards the broker: the
	// simulator's window is per connection and smaller.
	caps.ReceiveMaximum = uint16(o.Inflight)
	// Never expire an unacknowledged message (mochi's default drops them
	// after a day).
	caps.MaximumMessageExpiryInterval = 0
	b := &Broker{srv: srv, Addr: o.Addr}
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if o.Subscriber != "" {
		b.flow = newFlowControl(srv, o.Subscriber, o.HoldAt)
		if err := srv.AddHook(b.flow, nil); err != nil {
			return nil, fmt.Errorf("embedded broker: %w", err)
		}
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: o.Addr})); err != nil {
		return nil, fmt.Errorf("embedded broker listen %s: %w", o.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return b, nil
}

// Dropped is the number of messages the broker threw away for want of room
// (inflight quota, packet ids, outbound queue). It stays 0 under flow control.
func (b *Broker) Dropped() int64 {
	return atomic.LoadInt64(&b.srv.Info.InflightDropped) + atomic.LoadInt64(&b.srv.Info.MessagesDropped)
}

// Release stops holding publishers back, for shutting down: once the
// service has gone, nobody acknowledges and held publishers would wait for
// ever.
func (b *Broker) Release() {
	if b.flow != nil {
		b.flow.release()
	}
}

// Close stops the broker.
func (b *Broker) Close() error {
	b.Release()
	return b.srv.Close()
}

// flowControl holds each publisher's PUBACK (in OnPublish, before mochi
// fans the message out) while the protected subscriber has holdAt or more
// messages unacknowledged.
type flowControl struct {
	mqtt.HookBase
	srv        *mqtt.Server
	subscriber string
	holdAt     int

	mu       sync.Mutex
	cond     *sync.Cond
	waiting  int
	released bool
	stop     chan struct{}
}

func newFlowControl(srv *mqtt.Server, subscriber string, holdAt int) *flowControl {
	f := &flowControl{srv: srv, subscriber: subscriber, holdAt: holdAt, stop: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	// A safety net for ways the subscriber's window empties without a
	// PUBACK (a clean session taking over clears it): look again now and then.
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-f.stop:
				return
			case <-t.C:
				f.mu.Lock()
				if f.waiting > 0 {
					f.cond.Broadcast()
				}
				f.mu.Unlock()
			}
		}
	}()
	return f
}

func (f *flowControl) ID() string { return "liftwatch-flow-control" }

func (f *flowControl) Provides(b byte) bool { return b == mqtt.OnPublish || b == mqtt.OnQosComplete }

// full reports whether the protected session's window is at the mark.
func (f *flowControl) full() bool {
	cl, ok := f.srv.Clients.Get(f.subscriber)
	return ok && cl.State.Inflight.Len() >= f.holdAt
}

// OnPublish runs in the publishing client's read loop: waiting here delays
// its PUBACK and stops the broker reading from it.
func (f *flowControl) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Qos == 0 || cl.ID == f.subscriber {
		return pk, nil
	}
	f.mu.Lock()
	for !f.released && f.full() {
		f.waiting++
		f.cond.Wait()
		f.waiting--
	}
	f.mu.Unlock()
	return pk, nil
}

// OnQosComplete wakes held publishers when the subscriber acknowledges.
func (f *flowControl) OnQosComplete(cl *mqtt.Client, _ packets.Packet) {
	if cl.ID != f.subscriber {
		return
	}
	f.mu.Lock()
	if f.waiting > 0 && !f.full() {
		f.cond.Broadcast()
	}
	f.mu.Unlock()
}

func (f *flowControl) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.released {
		f.released = true
		close(f.stop)
		f.cond.Broadcast()
	}
}
