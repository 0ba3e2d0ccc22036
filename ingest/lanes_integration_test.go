package ingest_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// orderConsumer notes where among the messages handed on the first copy of
// the fault came.
type orderConsumer struct {
	n, faultAt atomic.Int64
}

func (c *orderConsumer) Consume(m *telemetry.Message, u *liftstate.Update) {
	i := c.n.Add(1)
	if m.Kind == telemetry.KindFault && !u.Duplicate {
		c.faultAt.CompareAndSwap(0, i)
	}
}

// TestUrgentLaneOvertakesBacklog: liftwatch was away while the fleet sent
// a backlog of routine telemetry, then a lift reported an entrapment. With
// the urgent lane the entrapment reaches the consumers (the alert engine)
// ahead of the backlog, and is counted once: its second copy, from the main
// lane, is a lane copy, not a duplicate, and is not stored twice. Without
// it the entrapment waits behind the whole backlog, as the broker holds it.
func TestUrgentLaneOvertakesBacklog(t *testing.T) {
	const backlog = 20000
	fleet, _ := registry.Jiangwan()
	for _, urgent := range []bool{true, false} {
		t.Run(fmt.Sprintf("urgent-lane=%v", urgent), func(t *testing.T) {
			broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
			influx := testrig.StartInfluxDB(t)
			rcfg := ingest.ReceiverConfig{UrgentLane: urgent}
			spool := t.TempDir()
			// A first run creates the persistent sessions, then stops.
			p := startPipelineWith(t, broker, influx, fleet, spool, rcfg)
			itest.WaitUntil(t, 20*time.Second, "subscribed", func() bool { return p.rcv.Ready() == nil })
			p.stop(t)

			pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("fleet"))
			if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			defer pub.Disconnect(100)
			now := time.Now()
			var last mqtt.Token
			for i := range backlog {
				lift := fleet[i%len(fleet)].ID
				last = pub.Publish(telemetry.DefaultRoot+"/"+lift+"/status", 1, false, fmt.Sprintf(
					`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1}`,
					i/len(fleet)+1, now.Add(time.Duration(i)*time.Millisecond-time.Hour).UnixMilli()))
			}
			last.Wait()
			trapped := fleet[0].ID
			fault := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, backlog, now.UnixMilli())
			if tok := pub.Publish(telemetry.DefaultRoot+"/"+trapped+"/fault", 1, false, fault); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}

			order := &orderConsumer{}
			p = startPipelineWith(t, broker, influx, fleet, spool, rcfg, order)
			t.Cleanup(func() { p.stop(t) })
			itest.WaitUntil(t, 2*time.Minute, "backlog through", func() bool {
				return p.counter("liftwatch_ingest_messages_accepted_total") == backlog+1 && p.counter("liftwatch_ingest_unacked_messages") == 0
			})
			at := order.faultAt.Load()
			t.Logf("urgent lane %v: the entrapment was handed on %d of %d", urgent, at, backlog+1)
			if urgent {
				if at == 0 || at > backlog/2 {
					t.Errorf("with the urgent lane the entrapment came %d of %d: it waited behind the backlog", at, backlog+1)
				}
				itest.WaitUntil(t, 10*time.Second, "lane copy", func() bool { return p.counter("liftwatch_ingest_lane_copies_total") == 1 })
			} else if at < backlog*9/10 {
				// Shards run in parallel, so "last" is within a few.
				t.Errorf("on one session the entrapment came %d of %d, want about last (the broker's order)", at, backlog+1)
			}
			if d := p.counter("liftwatch_ingest_duplicates_total"); d != 0 {
				t.Errorf("duplicates_total = %v: a lane copy counted as a duplicate", d)
			}
			// The terminal sends the fault once more: one duplicate (and, with
			// the urgent lane, its lane copy), not two.
			if tok := pub.Publish(telemetry.DefaultRoot+"/"+trapped+"/fault", 1, false, fault); tok.Wait() && tok.Error() != nil {
				t.Fatal(tok.Error())
			}
			copies := 0.0
			if urgent {
				copies = 2
			}
			itest.WaitUntil(t, 10*time.Second, "the resend counted", func() bool {
				return p.counter("liftwatch_ingest_duplicates_total") == 1 && p.counter("liftwatch_ingest_lane_copies_total") == copies
			})
			if f := p.counter("liftwatch_ingest_messages_accepted_total", "kind", "fault"); f != 1 {
				t.Errorf("faults accepted = %v, want 1 (the lane copy is not stored twice)", f)
			}
		})
	}
}
