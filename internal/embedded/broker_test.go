package embedded

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

func connect(t *testing.T, url, id string, opts func(*paho.ClientOptions)) paho.Client {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).SetAutoReconnect(false)
	if opts != nil {
		opts(o)
	}
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// TestSlowSubscriberLosesNothing: a publisher sends more QoS 1 messages than
// mochi keeps in flight for one client while the protected subscriber
// acknowledges none. Without flow control mochi drops every message past
// MaxInflight ("client store quota reached"); with it the publisher is held
// (its PUBACKs wait) and, once the subscriber acknowledges, every message
// arrives exactly once.
func TestSlowSubscriberLosesNothing(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(t))
	// A small inflight limit shows the same drop with 10,000 messages
	// instead of 67,535, which took minutes under -race on a loaded machine.
	const inflight = 8192
	b, err := Start(Options{Addr: addr, Subscriber: "liftwatch-ingest", Inflight: inflight, HoldAt: 2000}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	url := "tcp://" + addr

	var mu sync.Mutex
	var held []paho.Message
	acking := false
	seen := map[string]int{}
	sub := connect(t, url, "liftwatch-ingest", func(o *paho.ClientOptions) {
		o.SetAutoAckDisabled(true)
	})
	if tok := sub.Subscribe("lifts/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		seen[string(m.Payload())]++
		ack := acking
		if !ack {
			held = append(held, m)
		}
		mu.Unlock()
		if ack {
			m.Ack()
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}

	const n = inflight + 2000
	pub := connect(t, url, "publisher", nil)
	toks := make([]paho.Token, 0, n)
	for i := 0; i < n; i++ {
		toks = append(toks, pub.Publish("lifts/JW-0001/status", 1, false, fmt.Sprintf("m%06d", i)))
	}
	// The subscriber holds its acks until the publisher is held back (flow
	// control) or every publish has been acknowledged by the broker (none).
	deadline := time.Now().Add(3 * time.Minute)
	itest.WaitUntil(t, 3*time.Minute+time.Second, "publisher held or done", func() bool {
		if time.Now().After(deadline) {
			mu.Lock()
			cl, _ := b.srv.Clients.Get("liftwatch-ingest")
			t.Logf("seen %d held %d, subscriber inflight %d, waiting %d", len(seen), len(held), cl.State.Inflight.Len(), b.flow.waiting)
			mu.Unlock()
		}
		if b.flow != nil {
			b.flow.mu.Lock()
			w := b.flow.waiting
			b.flow.mu.Unlock()
			if w > 0 {
				return true
			}
		}
		return toks[n-1].WaitTimeout(0)
	})
	mu.Lock()
	t.Logf("subscriber holds %d unacknowledged messages", len(held))
	toAck := held
	held, acking = nil, true
	mu.Unlock()
	for _, m := range toAck {
		m.Ack()
	}
	for _, tok := range toks {
		if !tok.WaitTimeout(3*time.Minute) || tok.Error() != nil {
			t.Fatalf("publish not acknowledged: %v", tok.Error())
		}
	}
	itest.WaitUntil(t, 3*time.Minute, "all messages delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n || b.Dropped() > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if d := b.Dropped(); d != 0 || len(seen) != n {
		t.Fatalf("broker dropped %d messages; subscriber got %d of %d", d, len(seen), n)
	}
	for p, k := range seen {
		if k != 1 {
			t.Fatalf("%s delivered %d times", p, k)
		}
	}
}
