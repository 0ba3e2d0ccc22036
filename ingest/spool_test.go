package ingest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/telemetry"
)

func rec(i int) Record {
	return Record{Kind: telemetry.KindTrip, Lift: fmt.Sprintf("L%d", i%7), Boot: 1, Seq: int64(i), RecvMS: 1000 + int64(i),
		PointNS: int64(i) * 1e6, Line: []byte(fmt.Sprintf("trip,lift=L%d seq=%di %d\n", i%7, i, i))}
}

func appendN(t *testing.T, s *Spool, from, n int) {
	t.Helper()
	var buf []byte
	for i := from; i < from+n; i++ {
		r := rec(i)
		buf = appendRecord(buf, &r)
	}
	if err := s.Append(context.Background(), buf, n); err != nil {
		t.Fatal(err)
	}
}

func drainAll(t *testing.T, s *Spool, max int) []Record {
	t.Helper()
	var out []Record
	for {
		b, err := s.Read(context.Background(), max, 1<<20, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Records) == 0 {
			return out
		}
		out = append(out, b.Records...)
		if err := s.Commit(b); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpoolAppendReadCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, SpoolOptions{SegmentBytes: 2000, RetainBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 1, 100)
	if n, _ := s.Depth(); n != 100 {
		t.Fatalf("depth %d", n)
	}
	if s.OldestMS() != 1001 {
		t.Fatalf("oldest %d", s.OldestMS())
	}
	b, err := s.Read(context.Background(), 30, 1<<20, 0)
	if err != nil || len(b.Records) != 30 {
		t.Fatalf("read %d, %v", len(b.Records), err)
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = OpenSpool(dir, SpoolOptions{SegmentBytes: 2000, RetainBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Depth(); n != 70 {
		t.Fatalf("depth after reopen %d, want 70", n)
	}
	appendN(t, s, 101, 50)
	got := drainAll(t, s, 17)
	if len(got) != 120 || got[0].Seq != 31 || got[119].Seq != 150 {
		t.Fatalf("drained %d records, first %d last %d", len(got), got[0].Seq, got[len(got)-1].Seq)
	}
	for i, r := range got {
		want := rec(31 + i)
		if r.Lift != want.Lift || r.Seq != want.Seq || string(r.Line) != string(want.Line) || r.PointNS != want.PointNS || r.Kind != want.Kind {
			t.Fatalf("record %d = %+v, want %+v", i, r, want)
		}
	}
	if n, by := s.Depth(); n != 0 || by != 0 {
		t.Fatalf("depth after drain %d/%d", n, by)
	}
	// Retention keeps some drained segments for replay, not all.
	var replayed int
	if err := s.Replay(func(*Record) { replayed++ }); err != nil {
		t.Fatal(err)
	}
	if replayed == 0 || replayed >= 150 {
		t.Fatalf("replayed %d records; retention should keep some but not all", replayed)
	}
	s.Close()
}

func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSpool(dir, SpoolOptions{})
	appendN(t, s, 1, 10)
	s.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.seg", 1))
	f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
	r := rec(11)
	whole := appendRecord(nil, &r)
	f.Write(whole[:len(whole)-3]) // a crash mid-write
	f.Close()
	s, err := OpenSpool(dir, SpoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Depth(); n != 10 {
		t.Fatalf("depth %d after torn tail, want 10", n)
	}
	appendN(t, s, 11, 5)
	if got := drainAll(t, s, 100); len(got) != 15 || got[14].Seq != 15 {
		t.Fatalf("after torn tail drained %d", len(got))
	}
}

func TestSpoolBackPressure(t *testing.T) {
	s, _ := OpenSpool(t.TempDir(), SpoolOptions{MaxBytes: 500})
	appendN(t, s, 1, 20) // over MaxBytes now
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r := rec(21)
	if err := s.Append(ctx, appendRecord(nil, &r), 1); err == nil {
		t.Fatal("append into a full spool should block until space frees")
	}
	done := make(chan error)
	go func() { done <- s.Append(context.Background(), appendRecord(nil, &r), 1) }()
	drainAll(t, s, 100)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRecordCorruptionDetected(t *testing.T) {
	r := rec(5)
	b := appendRecord(nil, &r)
	b[len(b)-2] ^= 0xff
	var out Record
	if _, err := parseRecord(b, &out); err == nil {
		t.Fatal("corrupt record accepted")
	}
}
