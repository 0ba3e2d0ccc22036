package simulator

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/mqttconn"
)

// MQTTConfig configures the simulator's MQTT transport.
type MQTTConfig struct {
	Conn mqttconn.Options
	// PerLift opens one connection per lift with client ID = lift ID, as real
	// terminals do. Otherwise lifts share Conns connections (for load).
	PerLift bool
	Conns   int
	// ClientPrefix prefixes the client IDs of shared connections.
	ClientPrefix string
	// Window bounds unacknowledged publishes per connection.
	Window int
}

// MQTTSink publishes with QoS 1. Messages of one lift always go over the
// same connection, so their order is kept.
type MQTTSink struct {
	clients []*pubConn
	byLift  map[string]*pubConn
	perLift bool
	failed  atomic.Int64
	retries atomic.Int64
}

type pending struct {
	tok     mqtt.Token
	topic   string
	payload []byte
	epoch   int64 // the connection the publish went out on
}

type pubConn struct {
	c mqtt.Client
	// slots bounds the publishes not yet acknowledged: Send takes a slot
	// before publishing, reap frees it when the PUBACK is in.
	slots   chan struct{}
	pending chan pending
	// epoch counts connections: a publish still unacknowledged on the
	// connection it went out on is waited for, not sent again (the broker
	// may be holding it back on purpose: flow control).
	epoch   atomic.Int64
	retries *atomic.Int64
	done    chan struct{}
	reaping bool
	failed  *atomic.Int64
}

// DialMQTT connects the transport for lifts.
func DialMQTT(ctx context.Context, cfg MQTTConfig, lifts []string) (*MQTTSink, error) {
	if cfg.Window <= 0 {
		cfg.Window = 1000
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 4
	}
	if cfg.ClientPrefix == "" {
		cfg.ClientPrefix = fmt.Sprintf("liftwatch-sim-%d", time.Now().UnixNano()%1_000_000)
	}
	s := &MQTTSink{byLift: map[string]*pubConn{}, perLift: cfg.PerLift}
	ids := make([]string, 0, cfg.Conns)
	if cfg.PerLift {
		ids = lifts
	} else {
		for i := 0; i < cfg.Conns; i++ {
			ids = append(ids, fmt.Sprintf("%s-%d", cfg.ClientPrefix, i))
		}
	}
	errs := make(chan error, len(ids))
	s.clients = make([]*pubConn, len(ids))
	sem := make(chan struct{}, 64) // connect at most 64 at once
	var wg sync.WaitGroup
	for i, id := range ids {
		co, err := cfg.Conn.ClientOptions(id)
		if err != nil {
			return nil, err
		}
		co.SetCleanSession(true).SetConnectRetry(false)
		pc := &pubConn{pending: make(chan pending, cfg.Window), slots: make(chan struct{}, cfg.Window), done: make(chan struct{}),
			failed: &s.failed, retries: &s.retries}
		co.SetOnConnectHandler(func(mqtt.Client) { pc.epoch.Add(1) })
		pc.c = mqtt.NewClient(co)
		s.clients[i] = pc
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			tok := pc.c.Connect()
			select {
			case <-tok.Done():
				if err := tok.Error(); err != nil {
					errs <- fmt.Errorf("connect %s to %s: %w", id, cfg.Conn.Broker, err)
				}
			case <-ctx.Done():
				errs <- ctx.Err()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		s.Close()
		return nil, err
	}
	for i, pc := range s.clients {
		pc.reaping = true
		go pc.reap()
		if cfg.PerLift {
			s.byLift[lifts[i]] = pc
		}
	}
	return s, nil
}

// Publishing is at least once: a publish that fails, or is still not
// acknowledged ackTimeout after the connection it went out on was replaced,
// is sent again (the broker may then hold it twice, which the receiver must
// detect) for up to giveUpAfter. A publish on a connection still up is
// waited for: a broker applying flow control holds PUBACKs back on purpose.
const (
	ackTimeout  = 15 * time.Second
	giveUpAfter = 5 * time.Minute
)

// reap waits for acknowledgements in publish order, freeing window slots and
// republishing what failed.
func (pc *pubConn) reap() {
	defer close(pc.done)
	for p := range pc.pending {
		start := time.Now()
		for {
			done := p.tok.WaitTimeout(ackTimeout)
			if done && p.tok.Error() == nil {
				break
			}
			if time.Since(start) > giveUpAfter {
				pc.failed.Add(1)
				break
			}
			if !done && pc.c.IsConnectionOpen() && pc.epoch.Load() == p.epoch {
				continue // same connection, ack still due
			}
			pc.retries.Add(1)
			time.Sleep(200 * time.Millisecond)
			p.epoch = pc.epoch.Load()
			p.tok = pc.c.Publish(p.topic, 1, false, p.payload)
		}
		<-pc.slots
	}
}

func (s *MQTTSink) conn(lift string) *pubConn {
	if s.perLift {
		if pc := s.byLift[lift]; pc != nil {
			return pc
		}
	}
	h := fnv.New32a()
	h.Write([]byte(lift))
	return s.clients[h.Sum32()%uint32(len(s.clients))]
}

// Send publishes o with QoS 1; it blocks while the connection's window of
// unacknowledged messages is full, so the publisher goes at the pace of the
// broker's acknowledgements.
func (s *MQTTSink) Send(ctx context.Context, o *Out) error {
	pc := s.conn(o.Lift)
	select {
	case pc.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	epoch := pc.epoch.Load()
	tok := pc.c.Publish(o.Topic, 1, false, o.Payload)
	pc.pending <- pending{tok: tok, topic: o.Topic, payload: o.Payload, epoch: epoch} // never blocks: a slot is held
	return nil
}

// Failed is the number of publishes the broker never acknowledged.
func (s *MQTTSink) Failed() int64 { return s.failed.Load() }

// Retries is the number of republished messages.
func (s *MQTTSink) Retries() int64 { return s.retries.Load() }

// Close waits for outstanding acknowledgements and disconnects.
func (s *MQTTSink) Close() {
	for _, pc := range s.clients {
		if pc == nil {
			continue
		}
		if pc.reaping {
			close(pc.pending)
			<-pc.done
			pc.reaping = false
		}
		pc.c.Disconnect(250)
	}
}
