package ingest_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/registry"
)

// TestTraceLift: with TraceLift set, each message of that lift is logged
// once as it reaches the consumers, with every hop's time, in order.
func TestTraceLift(t *testing.T) {
	logs := &logBuffer{}
	fleet, _ := registry.Jiangwan()
	h := startHandoff(t, ingest.Config{Logger: quietLogger(logs), TraceLift: fleet[0].ID}) // the lift offer uses
	acked := h.offer(t, 7)
	deadline := time.Now().Add(10 * time.Second)
	for !acked.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs.mu.Lock()
	out := logs.b.String()
	logs.mu.Unlock()
	re := regexp.MustCompile(`msg=trace lift=` + h.lift + ` kind=fault boot=1 seq=7 lane=main consumed=true duplicate=false received_us=(\d+) checked_us=(\d+) dispatched_us=(\d+) consumers_us=(\d+)`)
	m := re.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("%d trace lines for seq 7, want 1:\n%s", len(m), out)
	}
	prev := int64(0)
	for _, v := range m[0][1:] {
		at, _ := strconv.ParseInt(v, 10, 64)
		if at < prev || at == 0 {
			t.Fatalf("hop times out of order: %v", m[0][1:])
		}
		prev = at
	}
}
