package ingest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/telemetry"
)

const statusFields = `"mode":"normal","floor":1,"moving":false,"direction":"none","door":"closed","door_zone":true,"occupied":false,"trips":1,"door_cycles":1,"run_s":1`

// send hands one message of kind with (boot, seq) and the rest of its
// fields to the ingester on lane and waits until it is acked.
func (h *handoff) send(t *testing.T, lane uint8, kind string, boot, seq int64, ts time.Time, fields string) {
	t.Helper()
	acked := &atomic.Bool{}
	payload := fmt.Sprintf(`{"v":1,"boot":%d,"seq":%d,"ts":%d,%s}`, boot, seq, ts.UnixMilli(), fields)
	if !h.ing.Deliver([]ingest.Delivery{{Topic: telemetry.DefaultRoot + "/" + h.lift + "/" + kind, Payload: []byte(payload),
		Ack: func() { acked.Store(true) }, Lane: lane}}) {
		t.Fatal("ingester refused the message")
	}
	itest.WaitUntil(t, 10*time.Second, fmt.Sprintf("%s seq %d acked", kind, seq), acked.Load)
}

func (h *handoff) gaps(t *testing.T) int64 {
	t.Helper()
	l, _ := h.ing.State().Get(h.lift)
	return l.Gaps
}

// TestSuspectSequenceIsNoGap (issue 18): one forged status with seq 2^53-1
// used to count 9.0e15 lost messages and put /readyz at "sequence degraded"
// for ten minutes. A jump no terminal could make is a suspect sequence: the
// status is rejected as suspect_sequence (dead-lettered, counted), no gap is
// counted, the lift's sequence goes on where it was; a fault with such a
// number still reaches the alert engine; three jumps that agree start the
// sequence afresh there.
func TestSuspectSequenceIsNoGap(t *testing.T) {
	c := &seqConsumer{}
	h := startHandoff(t, ingest.Config{}, c)
	for s := int64(1); s <= 3; s++ {
		h.send(t, ingest.LaneMain, "status", 1, s, h.at, statusFields)
	}
	const forged = 1<<53 - 1
	h.send(t, ingest.LaneMain, "status", 1, forged, h.at, statusFields)
	if g := h.gaps(t); g != 0 {
		t.Fatalf("a forged seq counted %d gaps", g)
	}
	dl := h.ing.DeadLetters().List(telemetry.ReasonSuspectSeq, 0)
	if len(dl) != 1 || !strings.Contains(dl[0].Error, "seq") {
		t.Fatalf("dead letters of suspect_sequence: %+v", dl)
	}
	h.send(t, ingest.LaneMain, "status", 1<<53, 1, h.at, statusFields) // a forged boot
	if dl := h.ing.DeadLetters().List(telemetry.ReasonSuspectSeq, 0); len(dl) != 2 {
		t.Fatalf("a forged boot number: %d suspect_sequence dead letters, want 2", len(dl))
	}
	if l, _ := h.ing.State().Get(h.lift); l.Boot != 1 {
		t.Fatalf("the lift's boot is %d after a forged one, want 1", l.Boot)
	}
	h.send(t, ingest.LaneMain, "status", 1, 4, h.at, statusFields)
	h.send(t, ingest.LaneMain, "fault", 1, forged-1, h.at, `"code":"entrapment","state":"active","floor":1,"occupied":true`)
	itest.WaitUntil(t, 10*time.Second, "the suspect fault at the consumer", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.seqs) > 0 && c.seqs[len(c.seqs)-1] == forged-1
	})
	h.send(t, ingest.LaneMain, "status", 1, 5, h.at, statusFields)
	if g := h.gaps(t); g != 0 {
		t.Fatalf("after the suspect fault: %d gaps", g)
	}
	// A counter that really moved: the third message that agrees is taken,
	// and the sequence goes on from there, without a gap.
	const moved = 5_000_000
	for i := int64(0); i < 3; i++ {
		h.send(t, ingest.LaneMain, "status", 1, moved+i, h.at, statusFields)
	}
	h.send(t, ingest.LaneMain, "status", 1, moved+3, h.at, statusFields)
	if n := len(h.ing.DeadLetters().List(telemetry.ReasonSuspectSeq, 0)); n != 4 {
		t.Fatalf("%d suspect_sequence dead letters, want 4 (the forged seq, the forged boot and two of the run)", n)
	}
	if g := h.gaps(t); g != 0 {
		t.Fatalf("after the counter moved: %d gaps", g)
	}
}

// TestRejectedOnceAcrossLanes (issue 18): a rejected fault comes on both
// lanes of the input; it is counted and dead-lettered once (the main lane's
// copy), not once per lane.
func TestRejectedOnceAcrossLanes(t *testing.T) {
	h := startHandoff(t, ingest.Config{})
	bad := `"code":"entrapment","state":"sideways"`
	h.send(t, ingest.LaneUrgent, "fault", 1, 1, h.at, bad)
	h.send(t, ingest.LaneMain, "fault", 1, 1, h.at, bad)
	if dl := h.ing.DeadLetters().List("", 0); len(dl) != 1 {
		t.Fatalf("%d dead letters of one rejected fault sent on two lanes, want 1: %+v", len(dl), dl)
	}
}

// TestRejectedMessagesAreNoUpstreamGap (issue 18): a message liftwatch
// rejected (here: older than the horizon) was not lost by the broker; its
// number is not counted as a gap when it leaves the window.
func TestRejectedMessagesAreNoUpstreamGap(t *testing.T) {
	h := startHandoff(t, ingest.Config{})
	h.send(t, ingest.LaneMain, "status", 1, 1, h.at, statusFields)
	h.send(t, ingest.LaneMain, "status", 1, 2, h.at.Add(-30*24*time.Hour), statusFields) // ts_too_old
	for s := int64(3); s <= 1100; s++ {                                                  // 2 leaves the 1024-number window
		h.send(t, ingest.LaneMain, "status", 1, s, h.at, statusFields)
	}
	if g := h.gaps(t); g != 0 {
		t.Fatalf("a rejected message counted as %d upstream gaps", g)
	}
	if dl := h.ing.DeadLetters().List(telemetry.ReasonTooOld, 0); len(dl) != 1 {
		t.Fatalf("dead letters: %+v", dl)
	}
}

// TestDeadLettersKeptOnDiskBoundedBySize (issue 18): rejected messages are
// kept on disk, not in a ring of 1,000 that junk overwrites: they survive a
// restart with their counts per reason and payloads, and the files stay
// within their size bound, the oldest half dropped first.
func TestDeadLettersKeptOnDiskBoundedBySize(t *testing.T) {
	dir := t.TempDir()
	d, err := ingest.OpenDeadLetters(dir, 10, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	d.Add(at, "lifts/JW-0001/status", []byte(`{"the":"evidence"}`), &telemetry.DecodeError{Reason: telemetry.ReasonMissingField, Field: "mode", Msg: "required"})
	for i := range 1500 {
		d.Add(at, "lifts/JW-0001/status", []byte(fmt.Sprintf(`junk %d`, i)), &telemetry.DecodeError{Reason: telemetry.ReasonMalformed, Msg: "junk"})
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	var size int64
	for _, f := range ingest.DeadLetterFiles(dir) {
		if st, err := os.Stat(f); err == nil {
			size += st.Size()
		}
	}
	if size > 64<<10 || size == 0 {
		t.Fatalf("dead-letter files hold %d bytes, bound 64 KiB", size)
	}
	// Reopened: numbering and counts continue from the files.
	d, err = ingest.OpenDeadLetters(dir, 10, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Total() != 1501 {
		t.Fatalf("reopened: total %d, want 1501", d.Total())
	}
	counts := d.Counts()
	if counts[telemetry.ReasonMalformed] == 0 || counts[telemetry.ReasonMalformed] > 1500 {
		t.Fatalf("counts %v", counts)
	}
	if got := d.List("", 0); len(got) != 10 || got[0].Seq != 1501 {
		t.Fatalf("the recent ones after reopening: %d, newest %+v", len(got), got[0])
	}

	// Unbounded by count: 1,500 junk messages did not push out the first
	// when the size allows it.
	dir2 := t.TempDir()
	d2, _ := ingest.OpenDeadLetters(dir2, 10, 0)
	d2.Add(at, "lifts/JW-0001/status", []byte(`{"the":"evidence"}`), &telemetry.DecodeError{Reason: telemetry.ReasonMissingField, Field: "mode", Msg: "required"})
	for i := range 1500 {
		d2.Add(at, "lifts/JW-0001/status", []byte(fmt.Sprintf(`junk %d`, i)), &telemetry.DecodeError{Reason: telemetry.ReasonMalformed, Msg: "junk"})
	}
	d2.Close()
	var first *ingest.DeadLetter
	ingest.ReadDeadLetters(filepath.Join(dir2, "rejected.jsonl"), func(dl ingest.DeadLetter) error {
		if first == nil {
			first = &dl
		}
		return nil
	})
	if first == nil || string(first.Payload) != `{"the":"evidence"}` || first.Reason != telemetry.ReasonMissingField {
		t.Fatalf("the first rejection on disk: %+v", first)
	}
}
