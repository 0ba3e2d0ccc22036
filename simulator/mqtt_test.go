package simulator

import (
	"context"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

// TestFleetOverMosquitto publishes two hours of the 297-lift fleet (with
// hostile messages) through a real Mosquitto; a subscriber receives every
// message, and everything it got matches the contract and the simulator's
// counts.
func TestFleetOverMosquitto(t *testing.T) {
	for _, perLift := range []bool{false, true} {
		name := "shared-connections"
		if perLift {
			name = "connection-per-lift"
		}
		t.Run(name, func(t *testing.T) {
			broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
			fleet := jiangwan(t)
			conn := mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}

			var mu sync.Mutex
			var got []Out
			co, _ := conn.ClientOptions("checker")
			co.SetOrderMatters(true)
			sub := mqtt.NewClient(co)
			if tok := sub.Connect(); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			defer sub.Disconnect(100)
			tok := sub.Subscribe("lifts/#", 1, func(_ mqtt.Client, m mqtt.Message) {
				mu.Lock()
				got = append(got, Out{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)})
				mu.Unlock()
			})
			if tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}

			ids := make([]string, len(fleet))
			for i, l := range fleet {
				ids[i] = l.ID
			}
			ctx := context.Background()
			sink, err := DialMQTT(ctx, MQTTConfig{Conn: conn, PerLift: perLift, Conns: 3}, ids)
			if err != nil {
				t.Fatal(err)
			}
			rec := &Recorder{}
			rates := DefaultRates()
			rates.Hostile = 0.02
			rates.ResendProb = 0.01
			now := time.Now()
			sim, err := New(Config{Lifts: fleet, Seed: 11, Start: now.Add(-2 * time.Hour), End: now, Rates: rates}, teeSink{sink, rec})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.Run(ctx); err != nil {
				t.Fatal(err)
			}
			sink.Close()
			if sink.Failed() != 0 {
				t.Fatalf("%d publishes failed", sink.Failed())
			}
			c := sim.Stats().Snapshot()
			total := int(c.TotalSent() + sum(c.Resent) + c.TotalHostile())
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(got)
				mu.Unlock()
				if n >= total || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != total {
				t.Fatalf("subscriber received %d messages, simulator sent %d", len(got), total)
			}
			// Attach what the simulator says of each message (valid, resend,
			// hostile) by matching payloads in order per topic.
			type k struct{ topic, payload string }
			expect := map[k][]Out{}
			for _, o := range rec.Out {
				kk := k{o.Topic, string(o.Payload)}
				expect[kk] = append(expect[kk], o)
			}
			for i, g := range got {
				kk := k{g.Topic, string(g.Payload)}
				if len(expect[kk]) == 0 {
					t.Fatalf("received a message the simulator did not send: %s %s", g.Topic, g.Payload)
				}
				got[i] = expect[kk][0]
				expect[kk] = expect[kk][1:]
			}
			CheckContract(t, fleet, got, time.Now())
			t.Logf("%s: %d messages, counts %+v", name, total, c)
		})
	}
}

type teeSink []Sink

func (t teeSink) Send(ctx context.Context, o *Out) error {
	for _, s := range t {
		if err := s.Send(ctx, o); err != nil {
			return err
		}
	}
	return nil
}
