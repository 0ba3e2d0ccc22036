package ingest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
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
	// liftwatch is away. The urgent lane's session is ClientID+UrgentSuffix.
	ClientID string
	// SharedGroup, if set, subscribes $share/<group>/<root>/+/+ so several
	// instances split the load. Unsafe for production (see
	// SharedGroupWarning): it breaks the Input contract.
	SharedGroup string
	// UrgentLane adds a second session that subscribes only to faults and
	// alarms, so that an entrapment never waits in the broker behind the
	// fleet's routine telemetry (see Receiver).
	UrgentLane bool
}

// UrgentSuffix ends the urgent lane's client ID.
const UrgentSuffix = "-urgent"

// SharedGroupWarning is logged at start when a shared subscription is
// configured.
const SharedGroupWarning = "mqtt.shared-group is unsafe for production: the broker deals each message to one instance in turn, " +
	"so one lift's messages are split across instances (its order, duplicate detection, live state and alert rules are split too), " +
	"and the messages queued for a stopped instance (1/N of all traffic, entrapments included) wait until it returns; " +
	"run one instance per broker subscription until partitioned input lands"

// Receiver is the MQTT side of ingest, an Input: persistent QoS 1 sessions
// whose messages are delivered one at a time (a batch of one, in the
// broker's order, which is each lift's order on one connection) and
// acknowledged only when the Ingester has them durable.
//
// With UrgentLane there are two sessions (lanes): the main one takes every
// message under the root, as without it; the urgent one takes faults and
// alarms only, on a connection of its own. At 20,000 msg/s the main
// connection has milliseconds to tens of milliseconds of routine telemetry
// queued in the broker and the socket, and after an outage the whole
// backlog; a fault on the urgent lane passes all of it. Each fault and
// alarm therefore arrives twice, once per lane: whichever comes first is
// processed, the other is a lane copy (counted apart from duplicates,
// handed on marked like a redelivery, acked once written). A lane copy
// that comes first (the urgent session was down) is as good as the
// original. Order per lift holds within a lane; a fault may overtake the
// routine messages sent before it, which the live state and the alert
// rules, judging by event time, already tolerate (see Input).
type Receiver struct {
	cfg    ReceiverConfig
	ing    *Ingester
	intake Intake
	lanes  []*lane
}

// lane is one MQTT session of the receiver.
type lane struct {
	name     string // "main" or "urgent"
	id       uint8  // Delivery.Lane
	clientID string
	filters  map[string]byte
	client   mqtt.Client

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

func (l *lane) setErr(s string) { l.lastErr.Store(&s) }

// NewReceiver prepares a receiver for ing.
func NewReceiver(cfg ReceiverConfig, ing *Ingester) (*Receiver, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("receiver: a stable client ID is required")
	}
	r := &Receiver{cfg: cfg, ing: ing, intake: ing}
	share := ""
	if cfg.SharedGroup != "" {
		share = "$share/" + cfg.SharedGroup + "/"
		ing.log.Warn(SharedGroupWarning, "group", cfg.SharedGroup)
	}
	lanes := []*lane{{name: "main", id: LaneMain, clientID: cfg.ClientID,
		filters: map[string]byte{share + telemetry.Subscription(ing.cfg.Root): 1}}}
	if cfg.UrgentLane {
		urgent := &lane{name: "urgent", id: LaneUrgent, clientID: cfg.ClientID + UrgentSuffix, filters: map[string]byte{}}
		for _, k := range []telemetry.Kind{telemetry.KindFault, telemetry.KindAlarm} {
			urgent.filters[share+ing.cfg.Root+"/+/"+k.String()] = 1
		}
		lanes = append(lanes, urgent)
	}
	for _, l := range lanes {
		if err := r.prepare(l); err != nil {
			return nil, err
		}
	}
	r.lanes = lanes
	return r, nil
}

// prepare makes l's client.
func (r *Receiver) prepare(l *lane) error {
	cfg, ing := r.cfg, r.ing
	co, err := cfg.Conn.ClientOptions(l.clientID)
	if err != nil {
		return fmt.Errorf("receiver: %w", err)
	}
	filters := make([]string, 0, len(l.filters))
	for f := range l.filters {
		filters = append(filters, f)
	}
	sort.Strings(filters)
	what := strings.Join(filters, " ")
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
			g := l.gen.Load()
			r.intake.Deliver([]Delivery{{Topic: m.Topic(), Payload: m.Payload(), Lane: l.id, Ack: func() {
				if l.gen.Load() == g {
					m.Ack()
				}
			}}})
		}).
		SetOnConnectHandler(func(c mqtt.Client) {
			l.gen.Add(1)
			l.subscribed.Store(false)
			l.failures.Store(0)
			l.connected.Store(true)
			r.setConnectedGauge()
			if l.conns.Add(1) > 1 {
				ing.m.reconnects.Inc()
			}
			// Subscribing again on every connect is harmless with a
			// persistent session and repairs one the broker lost.
			g := l.gen.Load()
			go func() {
				tok := c.SubscribeMultiple(l.filters, nil)
				if !tok.WaitTimeout(30 * time.Second) {
					l.setErr("subscribe to " + what + ": no answer from the broker in 30s")
					ing.log.Error("subscribe failed", "filter", what, "err", "no answer in 30s", "lane", l.name)
					return
				}
				if err := tok.Error(); err != nil {
					l.setErr(fmt.Sprintf("subscribe to %s: %v", what, err))
					ing.log.Error("subscribe failed", "filter", what, "err", err, "lane", l.name)
					return
				}
				if st, ok := tok.(*mqtt.SubscribeToken); ok {
					for topic, code := range st.Result() {
						if code >= 0x80 {
							l.setErr(fmt.Sprintf("subscribe to %s: refused by the broker (is liftwatch's MQTT user allowed to read it?)", topic))
							ing.log.Error("subscribe refused by the broker", "filter", topic, "code", code, "lane", l.name)
							return
						}
					}
				}
				if l.gen.Load() == g {
					l.subscribed.Store(true)
				}
				ing.log.Info("subscribed", "filter", what, "client_id", l.clientID, "lane", l.name)
			}()
		}).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			l.gen.Add(1)
			l.connected.Store(false)
			l.subscribed.Store(false)
			r.setConnectedGauge()
			l.setErr(fmt.Sprintf("connection lost: %v", err))
			ing.log.Warn("broker connection lost; reconnecting", "broker", cfg.Conn.Broker, "err", err, "lane", l.name)
		}).
		SetConnectionNotificationHandler(func(_ mqtt.Client, n mqtt.ConnectionNotification) {
			switch n := n.(type) {
			case mqtt.ConnectionNotificationFailed:
				l.setErr(n.Reason.Error())
				ing.log.Warn("cannot connect to the MQTT broker; retrying", "broker", cfg.Conn.Broker,
					"attempt", l.failures.Add(1), "err", n.Reason, "lane", l.name)
			}
		})
	l.client = mqtt.NewClient(co)
	return nil
}

// setConnectedGauge sets liftwatch_ingest_broker_connected: 1 while every
// lane is connected.
func (r *Receiver) setConnectedGauge() {
	if r.Connected() {
		r.ing.m.connected.Set(1)
	} else {
		r.ing.m.connected.Set(0)
	}
}

// Connected reports whether the broker connection is up (every lane's).
func (r *Receiver) Connected() bool {
	for _, l := range r.lanes {
		if !l.connected.Load() {
			return false
		}
	}
	return len(r.lanes) > 0
}

// Ready says why liftwatch cannot take the lifts' messages yet: a lane not
// connected (with the last reason), or connected but not yet subscribed.
func (r *Receiver) Ready() error {
	for _, l := range r.lanes {
		why := ""
		if p := l.lastErr.Load(); p != nil {
			why = ": " + *p
		}
		lane := ""
		if len(r.lanes) > 1 {
			lane = " (" + l.name + " lane)"
		}
		switch {
		case !l.connected.Load():
			return fmt.Errorf("not connected to %s%s%s", r.cfg.Conn.Broker, lane, why)
		case !l.subscribed.Load():
			return fmt.Errorf("connected to %s%s, not subscribed yet%s", r.cfg.Conn.Broker, lane, why)
		}
	}
	return nil
}

// Run connects every lane, each on its own (a lane that cannot connect
// does not hold the other back), retrying with backoff (1s doubling up to
// the connection's MaxReconnect) and logging each failure with its reason
// until ctx ends, then stays connected (paho reconnects) until ctx ends,
// then disconnects. Messages received but not yet acked are redelivered by
// the broker to the next session.
func (r *Receiver) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := len(r.lanes) - 1; i >= 0; i-- { // the urgent lane first
		l := r.lanes[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.connect(ctx, l)
			<-ctx.Done()
			l.client.Disconnect(200)
			l.connected.Store(false)
		}()
	}
	wg.Wait()
	r.ing.m.connected.Set(0)
	return nil
}

// connect makes l's first connection, retrying until it succeeds or ctx
// ends.
func (r *Receiver) connect(ctx context.Context, l *lane) {
	wait := time.Second
	for ctx.Err() == nil {
		tok := l.client.Connect()
		select {
		case <-tok.Done():
		case <-ctx.Done():
		}
		if ctx.Err() != nil || tok.Error() == nil {
			return
		}
		// The notification handler has logged the reason.
		r.ing.log.Info("next connection attempt", "broker", r.cfg.Conn.Broker, "in", wait, "lane", l.name)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		wait = min(wait*2, max(r.cfg.Conn.MaxReconnect, time.Second))
	}
}
