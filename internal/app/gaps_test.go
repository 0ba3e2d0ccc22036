package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/simulator"
)

// TestSequenceGapsDegradeReadyz: a lift whose sequence skips numbers through
// a real Mosquitto makes /readyz list "sequence" as degraded with the count
// and the likely cause, still answering 200, and the log warns once, without
// waiting for the numbers to leave the 1024-seq window. The grace is 1 ms so
// the once-a-second sweep counts the hole as soon as it runs; the stepped
// clock tests of the grace itself are in ingest.
func TestSequenceGapsDegradeReadyz(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	cfg := testConfig(t, broker.URL)
	cfg.Ingest.GapGrace = time.Millisecond
	logs, readyz := start(t, cfg)
	itest.WaitUntil(t, time.Minute, "ready", func() bool { code, _ := readyz(); return code == 200 })
	if _, out := readyz(); out["sequence"] != "ok" {
		t.Fatalf("sequence before any gap: %q", out["sequence"])
	}
	pub, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	const lift = "JW-0042"
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, seq := range []int64{1, 2, 6, 7, 9} { // 3, 4, 5 and 8 lost
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1}`,
			seq, base.Add(time.Duration(seq)*time.Second).UnixMilli())
		if err := pub.Send(context.Background(), &simulator.Out{Lift: lift, Topic: "lifts/" + lift + "/status", Payload: []byte(payload)}); err != nil {
			t.Fatal(err)
		}
	}
	const want = "degraded: 4 messages missing from 1 lifts in the last 10 min"
	itest.WaitUntil(t, time.Minute, "sequence degraded", func() bool {
		_, out := readyz()
		return strings.HasPrefix(out["sequence"], want)
	})
	code, out := readyz()
	if code != 200 || !strings.Contains(out["sequence"], "max_queued_messages") {
		t.Fatalf("readyz %d %v", code, out)
	}
	itest.WaitUntil(t, 10*time.Second, "warning logged", func() bool {
		return strings.Contains(logs.String(), `msg="lift sequence gaps: messages missing" component=ingest missing=4 lifts=1 most=JW-0042:4`)
	})
	if !strings.Contains(logs.String(), "max_queued_messages") {
		t.Fatalf("the warning does not name the likely cause:\n%s", logs)
	}
}
