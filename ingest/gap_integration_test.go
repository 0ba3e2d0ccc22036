package ingest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
)

// seqSetConsumer records the sequence numbers consumed.
type seqSetConsumer struct {
	mu   sync.Mutex
	seqs map[int64]bool
}

func (c *seqSetConsumer) Consume(m *telemetry.Message, _ *liftstate.Update) {
	c.mu.Lock()
	c.seqs[m.Seq] = true
	c.mu.Unlock()
}

func (c *seqSetConsumer) has(seq int64) bool { c.mu.Lock(); defer c.mu.Unlock(); return c.seqs[seq] }
func (c *seqSetConsumer) count() int64       { c.mu.Lock(); defer c.mu.Unlock(); return int64(len(c.seqs)) }

// TestBrokerDropsAreGaps: the trial. Mosquitto caps liftwatch's
// session queue (max_queued_messages 40, like a stock broker's 1000 but
// smaller); liftwatch is away while one lift publishes a burst of 299, so
// the broker drops most. Once the grace has passed on the ingest clock
// (stepped, not waited for), liftwatch counts exactly the numbers that never
// arrived (published − received) as gaps, in the metric, the lift's state
// and the recent count the readiness check reports, long before they would
// leave the 1024-seq window.
func TestBrokerDropsAreGaps(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{MaxQueued: 40})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	fleet = fleet[:3]
	lift := fleet[0].ID
	clk := clock.NewFake(time.Now())
	spool := t.TempDir()
	seen := &seqSetConsumer{seqs: map[int64]bool{}}
	type run struct {
		ing    *ingest.Ingester
		reg    *prometheus.Registry
		cancel context.CancelFunc
		done   chan error
	}
	start := func() *run {
		sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
		if err != nil {
			t.Fatal(err)
		}
		r := &run{reg: prometheus.NewRegistry(), done: make(chan error, 2)}
		r.ing, err = ingest.New(ingest.Config{SpoolDir: spool, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Clock: clk.Now, GapGrace: 30 * time.Second, FlushTimeout: 2 * time.Second}, registry.NewIndex(fleet), sink, r.reg)
		if err != nil {
			t.Fatal(err)
		}
		r.ing.AddConsumer(seen)
		rcv, err := ingest.NewReceiver(ingest.ReceiverConfig{ClientID: "liftwatch-gaps",
			Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: 500 * time.Millisecond}}, r.ing)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		go func() { r.done <- r.ing.Run(ctx) }()
		go func() { r.done <- rcv.Run(ctx) }()
		itest.WaitUntil(t, time.Minute, "subscribed", func() bool { return rcv.Ready() == nil })
		return r
	}
	stop := func(r *run) {
		r.cancel()
		for i := 0; i < 2; i++ {
			if err := <-r.done; err != nil {
				t.Fatalf("pipeline stopped with %v", err)
			}
		}
	}
	counter := func(r *run, name string) float64 {
		mfs, _ := r.reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}

	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	base := clk.Now().Add(-time.Hour).Truncate(time.Second)
	send := func(seq int64) {
		t.Helper()
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1}`,
			seq, base.Add(time.Duration(seq)*time.Second).UnixMilli())
		if err := pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/status", Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}

	// liftwatch sees seq 1 live, then is away while 2..300 are published.
	r := start()
	send(1)
	itest.WaitUntil(t, time.Minute, "seq 1 consumed", func() bool { return seen.has(1) })
	stop(r)
	const last = 301
	for seq := int64(2); seq < last; seq++ {
		send(seq)
	}
	// Back: it gets what the broker queued, then the lift's next message live.
	r = start()
	defer stop(r)
	send(last)
	itest.WaitUntil(t, time.Minute, "the live message after the queued ones", func() bool { return seen.has(last) })
	received := seen.count()
	if received >= last {
		t.Fatalf("the broker dropped nothing (%d received): the test cannot show gaps", received)
	}
	missing := last - received
	// Within the grace the holes may still fill: nothing counted yet.
	if got := counter(r, "liftwatch_ingest_seq_gaps_total"); got != 0 {
		t.Fatalf("%v gaps counted before the grace was up", got)
	}
	clk.Advance(31 * time.Second)
	itest.WaitUntil(t, time.Minute, "gaps counted by the sweep", func() bool {
		return counter(r, "liftwatch_ingest_seq_gaps_total") == float64(missing)
	})
	st, _ := r.ing.State().Get(lift)
	if st.Gaps != missing {
		t.Fatalf("lift state gaps %d, want %d", st.Gaps, missing)
	}
	if n, lifts := r.ing.RecentGaps(); n != missing || lifts != 1 {
		t.Fatalf("recent gaps %d in %d lifts, want %d in 1", n, lifts, missing)
	}
	t.Logf("published %d, received %d, gaps %d; broker log:\n%s", last, received, missing, broker.Log())
}
