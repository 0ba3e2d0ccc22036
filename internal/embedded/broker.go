// Package embedded runs an in-process MQTT broker (mochi-mqtt) for the demo,
// so liftwatch runs with no external service. It accepts any client and is
// not for production: Mosquitto or EMQX with authentication and ACLs is.
package embedded

import (
	"fmt"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/liftwatch/liftwatch/internal/listen"
)

// Broker is a running embedded broker.
type Broker struct {
	srv  *mqtt.Server
	Addr string
}

// MaxInflight is how many QoS 1 messages the broker sends a client before
// waiting for acks; ingest's unacked bound must be at least this.
const MaxInflight = 65535

// Start listens on addr and serves MQTT until Close.
func Start(addr string, log *slog.Logger) (*Broker, error) {
	if err := listen.Check(addr, "broker.listen", "LIFTWATCH_BROKER_LISTEN"); err != nil {
		return nil, err
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: log.With("component", "embedded-broker")})
	srv.Options.Capabilities.MaximumInflight = MaxInflight
	srv.Options.Capabilities.MaximumClientWritesPending = 1 << 16
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: addr})); err != nil {
		return nil, fmt.Errorf("embedded broker listen %s: %w", addr, err)
	}
	if err := srv.Serve(); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Broker{srv: srv, Addr: addr}, nil
}

// Close stops the broker.
func (b *Broker) Close() error { return b.srv.Close() }
