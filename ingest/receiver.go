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
	// instances split the load.
	SharedGroup string
}

// Receiver is the MQTT side of ingest: a persistent QoS 1 session whose
// messages are acknowledged only when the Ingester has them durable.
type Receiver struct {
	cfg       ReceiverConfig
	ing       *Ingester
	client    mqtt.Client
	connected atomic.Bool
	conns     atomic.Int64
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
	r := &Receiver{cfg: cfg, ing: ing}
	co, err := cfg.Conn.ClientOptions(cfg.ClientID)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}
	filter := telemetry.Subscription(ing.cfg.Root)
	if cfg.SharedGroup != "" {
		filter = "$share/" + cfg.SharedGroup + "/" + filter
	}
	co.SetCleanSession(false).
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetResumeSubs(false).
		// Messages queued in the session arrive right after CONNACK, before
		// our SUBSCRIBE; the default handler takes them all.
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			g := r.gen.Load()
			ing.Offer(m.Topic(), m.Payload(), func() {
				if r.gen.Load() == g {
					m.Ack()
				}
			})
		}).
		SetOnConnectHandler(func(c mqtt.Client) {
			r.gen.Add(1)
			r.connected.Store(true)
			ing.m.connected.Set(1)
			if r.conns.Add(1) > 1 {
				ing.m.reconnects.Inc()
			}
			// Subscribing again on every connect is harmless with a
			// persistent session and repairs one the broker lost.
			go func() {
				tok := c.Subscribe(filter, 1, nil)
				if tok.WaitTimeout(30*time.Second) && tok.Error() != nil {
					ing.log.Error("subscribe failed", "filter", filter, "err", tok.Error())
					return
				}
				ing.log.Info("subscribed", "filter", filter, "client_id", cfg.ClientID)
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			r.gen.Add(1)
			r.connected.Store(false)
			ing.m.connected.Set(0)
			ing.log.Warn("broker connection lost", "err", err)
		})
	r.client = mqtt.NewClient(co)
	return r, nil
}

// Connected reports whether the broker connection is up.
func (r *Receiver) Connected() bool { return r.connected.Load() }

// Run connects (retrying until ctx ends) and stays connected until ctx ends,
// then disconnects. Messages received but not yet acked are redelivered by
// the broker to the next session.
func (r *Receiver) Run(ctx context.Context) error {
	tok := r.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("connect to %s: %w", r.cfg.Conn.Broker, err)
		}
	case <-ctx.Done():
	}
	<-ctx.Done()
	r.client.Disconnect(200)
	r.connected.Store(false)
	r.ing.m.connected.Set(0)
	return nil
}
