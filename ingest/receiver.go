package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/telemetry"
)

// ReceiverConfig configures the MQTT subscription.
type ReceiverConfig struct {
	Conn mqttconn.Options
	// ClientID must be stable across restarts: with clean session off, the
	// broker keeps the subscription and queues messages under it while
	// liftwatch is away.
	ClientID string
	// SharedGroup, if set, subscribes $share/<group>/<root>/+/+ so several
	// instances split the load. Unsafe for production (see
	// SharedGroupWarning): it breaks the Input contract.
	SharedGroup string
}

// SharedGroupWarning is logged at start when a shared subscription is
// configured.
const SharedGroupWarning = "mqtt.shared-group is unsafe for production: the broker deals each message to one instance in turn, " +
	"so one lift's messages are split across instances (its order, duplicate detection, live state and alert rules are split too), " +
	"and the messages queued for a stopped instance (1/N of all traffic, entrapments included) wait until it returns; " +
	"run one instance per broker subscription until partitioned input lands"

// Receiver is the MQTT side of ingest, an Input: a persistent QoS 1 session
// whose messages are delivered one at a time (a batch of one, in the
// broker's order, which is each lift's order on one connection) and
// acknowledged only when the Ingester has them durable.
type Receiver struct {
	cfg       ReceiverConfig
	ing       *Ingester
	intake    Intake
	client    mqtt.Client
	connected atomic.Bool
	// subscribed is set once the subscription of the current connection
	// is acknowledged: only then is liftwatch ready for the lifts' messages.
	subscribed atomic.Bool
	lastErr    atomic.Pointer[string] // why the last connection attempt failed or was lost
	conns      atomic.Int64
	failures   atomic.Int64 // connection attempts failed in a row
	// gen changes whenever the connection is lost or made. An ack belongs
	// to the connection that delivered the message: a PUBACK sent on a later
	// connection could carry a message ID the broker has since given to a
	// different message, and acknowledge that one instead.
	gen atomic.Int64
}

// NewReceiver prepares a receiver for ing.
func NewReceiver(cfg ReceiverConfig, ing *Ingester) (*Receiver, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("receiver: a stable client ID is required")
	}
	r := &Receiver{cfg: cfg, ing: ing, intake: ing}
	co, err := cfg.Conn.ClientOptions(cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	filter := telemetry.Subscription(ing.cfg.Root)
	if cfg.SharedGroup != "" {
		filter = "$share/" + cfg.SharedGroup + "/" + filter
		ing.log.Warn(SharedGroupWarning, "group", cfg.SharedGroup)
	}
	// The first connection is retried by Run, with backoff and a logged
	// reason per attempt; paho retries reconnections (with its backoff) and
	// reports each failure to the notification handler below.
	co.SetConnectRetry(false)
	co.SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetResumeSubs(false).
		// Messages queued in the session arrive right after CONNACK, before
		// our SUBSCRIBE; the default handler takes them all.
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			g := r.gen.Load()
			r.intake.Deliver([]Delivery{{Topic: m.Topic(), Payload: m.Payload(), Ack: func() {
				if r.gen.Load() == g {
					m.Ack()
				}
			}}})
		}).
		SetOnConnectHandler(func(c mqtt.Client) {
			r.gen.Add(1)
			r.subscribed.Store(false)
			r.failures.Store(0)
			r.connected.Store(true)
			ing.m.connected.Set(1)
			if r.conns.Add(1) > 1 {
				ing.m.reconnects.Inc()
			}
			// Subscribing again on every connect is harmless with a
			// persistent session and repairs one the broker lost.
			g := r.gen.Load()
			go func() {
				tok := c.Subscribe(filter, 1, nil)
				if !tok.WaitTimeout(30 * time.Second) {
					r.setErr("subscribe to " + filter + ": no answer from the broker in 30s")
					ing.log.Error("subscribe failed", "filter", filter, "err", "no answer in 30s")
					return
				}
				if err := tok.Error(); err != nil {
					r.setErr(fmt.Sprintf("subscribe to %s: %v", filter, err))
					ing.log.Error("subscribe failed", "filter", filter, "err", err)
					return
				}
				if st, ok := tok.(*mqtt.SubscribeToken); ok {
					for topic, code := range st.Result() {
						if code >= 0x80 {
							r.setErr(fmt.Sprintf("subscribe to %s: refused by the broker (is liftwatch's MQTT user allowed to read it?)", topic))
							ing.log.Error("subscribe refused by the broker", "filter", topic, "code", code)
							return
						}
					}
				}
				if r.gen.Load() == g {
					r.subscribed.Store(true)
				}
				ing.log.Info("subscribed", "filter", filter, "client_id", cfg.ClientID)
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			r.gen.Add(1)
			r.connected.Store(false)
			r.subscribed.Store(false)
			ing.m.connected.Set(0)
			r.setErr(fmt.Sprintf("connection lost: %v", err))
			ing.log.Warn("broker connection lost; reconnecting", "broker", cfg.Conn.Broker, "err", err)
		}).
		SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
			switch n := n.(type) {
			case mqtt.ConnectionNotificationFailed:
				r.setErr(n.Reason.Error())
				ing.log.Warn("cannot connect to the MQTT broker; retrying", "broker", cfg.Conn.Broker,
					"attempt", r.failures.Add(1), "err", n.Reason)
			}
		})
	r.client = mqtt.NewClient(co)
	return r, nil
}

func (r *Receiver) setErr(s string) { r.lastErr.Store(&s) }

// Connected reports whether the broker connection is up.
func (r *Receiver) Connected() bool { return r.connected.Load() }

// Ready says why liftwatch cannot take the lifts' messages yet: not
// connected (with the last reason), or connected but not yet subscribed.
func (r *Receiver) Ready() error {
	why := ""
	if p := r.lastErr.Load(); p != nil {
		why = ": " + *p
	}
	switch {
	case !r.connected.Load():
		return fmt.Errorf("not connected to %s%s", r.cfg.Conn.Broker, why)
	case !r.subscribed.Load():
		return fmt.Errorf("connected to %s, not subscribed yet%s", r.cfg.Conn.Broker, why)
	}
	return nil
}

// Run connects, retrying with backoff (1s doubling up to the connection's
// MaxReconnect) and logging each failure with its reason until ctx ends,
// then stays connected (paho reconnects) until ctx ends, then disconnects.
// Messages received but not yet acked are redelivered by the broker to the
// next session.
func (r *Receiver) Run(ctx context.Context) error {
	wait := time.Second
	for ctx.Err() == nil {
		tok := r.client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
		}
		if ctx.Err() != nil || tok.Error() == nil {
			break
		}
		// The notification handler has logged the reason.
		r.ing.log.Info("next connection attempt", "broker", r.cfg.Conn.Broker, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(wait*2, max(r.cfg.Conn.MaxReconnect, time.Second))
	}
	<-ctx.Done()
	r.client.Disconnect(200)
	r.connected.Store(false)
	r.ing.m.connected.Set(0)
	return nil
}
