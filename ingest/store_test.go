package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/history"
	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
	"github.com/liftwatch/liftwatch/telemetry"
)

// logBuffer collects log output, safe to read while the pipeline writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// startSinkPipeline is startPipeline with a given sink and configuration.
func startSinkPipeline(t *testing.T, broker *testrig.Mosquitto, sink ingest.Sink, fleet []registry.Lift, cfg ingest.Config) *pipeline {
	t.Helper()
	if cfg.SpoolDir == "" {
		cfg.SpoolDir = t.TempDir()
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = 2 * time.Second
	}
	p := &pipeline{reg: prometheus.NewRegistry(), consumer: &countingConsumer{}, done: make(chan error, 2)}
	var err error
	p.ing, err = ingest.New(cfg, registry.NewIndex(fleet), sink, p.reg)
	if err != nil {
		t.Fatal(err)
	}
	p.ing.AddConsumer(p.consumer)
	p.rcv, err = ingest.NewReceiver(ingest.ReceiverConfig{ClientID: "liftwatch-test",
		Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: 500 * time.Millisecond}}, p.ing)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go func() { p.done <- p.ing.Run(ctx) }()
	go func() { p.done <- p.rcv.Run(ctx) }()
	t.Cleanup(func() { p.stop(t) })
	waitConnected(t, p)
	return p
}

// storeProxy stands in front of a real InfluxDB and answers writes with a
// chosen status, for the refusals InfluxDB 1.8 cannot easily be made to give.
type storeProxy struct {
	srv     *httptest.Server
	mode    atomic.Value // "pass", or a status code as text
	maxBody atomic.Int64 // with mode "413": larger request bodies are refused
}

func startStoreProxy(t *testing.T, influx *testrig.InfluxDB) *storeProxy {
	t.Helper()
	target, _ := url.Parse(influx.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	sp := &storeProxy{}
	sp.mode.Store("pass")
	sp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := sp.mode.Load().(string)
		if !strings.HasSuffix(r.URL.Path, "/write") || mode == "pass" || (mode == "413" && r.ContentLength <= sp.maxBody.Load()) {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch mode {
		case "401":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"code":"unauthorized","message":"unauthorized access"}`)
		case "403":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"code":"forbidden","message":"insufficient permissions for write"}`)
		case "413":
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprint(w, `{"code":"request too large","message":"unable to read data: points batch is too large"}`)
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"code":"internal error","message":"unexpected error writing points to database"}`)
		}
	}))
	t.Cleanup(sp.srv.Close)
	return sp
}

func quietLogger(w *logBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// TestStoreRefusalsKeepData: a store answering 401, 403, 500 or 413 to
// writes never costs a point: the data stays in the spool, SinkError (the
// readyz "store" check) and the metrics say why, the log says it once per
// failure episode and not per retry, and once the store takes writes again
// everything is stored exactly. 413 is answered by writing smaller batches.
func TestStoreRefusalsKeepData(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	proxy := startStoreProxy(t, influx)
	fleet, _ := registry.Jiangwan()
	sink, err := influxhistory.New(influxhistory.Config{URL: proxy.srv.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	if err := sink.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	p := startSinkPipeline(t, broker, sink, fleet, ingest.Config{Logger: quietLogger(logs), MaxBackoff: 200 * time.Millisecond})

	want := map[string]int64{}
	cases := []struct {
		mode, reason, says string
	}{
		{"401", "unauthorized", "influx.token"},
		{"403", "forbidden", "influx.token"},
		{"500", "unavailable", "500"},
	}
	for i, c := range cases {
		proxy.mode.Store(c.mode)
		failures := p.counter("liftwatch_ingest_write_failures_total")
		before := p.consumer.n.Load()
		pub := itest.Publish(t, broker.URL, fleet[i*20:(i+1)*20], uint64(30+i), 30*time.Minute, itest.Rates())
		itest.WaitUntil(t, 2*time.Minute, "consumers got round "+c.mode, func() bool { return p.consumer.n.Load()-before >= pub.TotalSent() })
		// Several retries, each refused.
		itest.WaitUntil(t, time.Minute, "retries", func() bool { return p.counter("liftwatch_ingest_write_failures_total") >= failures+3 })
		if n := p.counter("liftwatch_ingest_spool_records"); n < float64(pub.TotalSent()) {
			t.Fatalf("%s: spool holds %v records, want at least the %d sent", c.mode, n, pub.TotalSent())
		}
		err := p.ing.SinkError()
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Fatalf("%s: SinkError = %v, want it to mention %q", c.mode, err, c.says)
		}
		if p.counter("liftwatch_ingest_store_ok") != 0 {
			t.Fatalf("%s: liftwatch_ingest_store_ok is not 0 while writes fail", c.mode)
		}
		if p.counter("liftwatch_ingest_store_write_errors_total", "reason", c.reason) == 0 {
			t.Fatalf("%s: no store write error counted with reason %s", c.mode, c.reason)
		}
		if n := p.counter("liftwatch_ingest_points_refused_total"); n != 0 {
			t.Fatalf("%s: %v points dead-lettered for the store's fault", c.mode, n)
		}
		proxy.mode.Store("pass")
		want = itest.Sum(want, pub.Sent)
		itest.WaitPoints(t, influx, want, 2*time.Minute)
		itest.WaitUntil(t, 10*time.Second, "SinkError cleared", func() bool { return p.ing.SinkError() == nil })
		if p.counter("liftwatch_ingest_store_ok") != 1 {
			t.Fatalf("%s: liftwatch_ingest_store_ok not back to 1", c.mode)
		}
	}
	// One warning per episode, however many retries.
	if got := logs.count("store write failed"); got != len(cases) {
		t.Errorf("logged %d 'store write failed' lines for %d failure episodes (%v failed writes)", got, len(cases), p.counter("liftwatch_ingest_write_failures_total"))
	}
	if got := logs.count("store writes succeed again"); got != len(cases) {
		t.Errorf("logged %d recoveries, want %d", got, len(cases))
	}

	// 413: the batch is split until the store takes it.
	proxy.maxBody.Store(2000)
	proxy.mode.Store("413")
	pub := itest.Publish(t, broker.URL, fleet[100:160], 40, time.Hour, itest.Rates())
	want = itest.Sum(want, pub.Sent)
	itest.WaitPoints(t, influx, want, 2*time.Minute)
	if p.counter("liftwatch_ingest_store_write_errors_total", "reason", "too_large") == 0 {
		t.Fatal("no 413 seen: the test did not exercise splitting")
	}
	if n := p.counter("liftwatch_ingest_points_refused_total"); n != 0 {
		t.Fatalf("%v points dead-lettered", n)
	}
}

// TestDroppedDatabaseKeepsData: the database disappears under a running
// pipeline (real InfluxDB 1.8 answers 404 "database not found"); nothing is
// thrown away, and once the database is back everything is stored.
func TestDroppedDatabaseKeepsData(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	logs := &logBuffer{}
	p := startSinkPipeline(t, broker, sink, fleet, ingest.Config{Logger: quietLogger(logs), MaxBackoff: 200 * time.Millisecond})
	first := itest.Publish(t, broker.URL, fleet[:20], 1, 30*time.Minute, itest.Rates())
	itest.WaitPoints(t, influx, first.Sent, 2*time.Minute)

	if _, err := influx.Query(context.Background(), "DROP DATABASE "+influx.Database); err != nil {
		t.Fatal(err)
	}
	before := p.consumer.n.Load()
	second := itest.Publish(t, broker.URL, fleet[20:40], 2, 30*time.Minute, itest.Rates())
	itest.WaitUntil(t, 2*time.Minute, "consumers got the second round", func() bool { return p.consumer.n.Load()-before >= second.TotalSent() })
	itest.WaitUntil(t, time.Minute, "404 counted", func() bool {
		return p.counter("liftwatch_ingest_store_write_errors_total", "reason", "not_found") >= 2
	})
	if err := p.ing.SinkError(); err == nil || !strings.Contains(err.Error(), "database not found") {
		t.Fatalf("SinkError = %v, want database not found", err)
	}
	// Consumers get a batch before its fsync (issue 9), so the spool may be a
	// batch behind them for a moment: wait for it, with a deadline.
	itest.WaitUntil(t, time.Minute, "the second round held in the spool", func() bool {
		return p.counter("liftwatch_ingest_spool_records") >= float64(second.TotalSent())
	})
	if _, err := influx.Query(context.Background(), "CREATE DATABASE "+influx.Database); err != nil {
		t.Fatal(err)
	}
	itest.WaitPoints(t, influx, second.Sent, 2*time.Minute)
	if n := p.counter("liftwatch_ingest_points_refused_total"); n != 0 {
		t.Fatalf("%v points dead-lettered", n)
	}
}

// TestFieldConflictDeadLettersExactlyThatPoint: one point of a batch
// conflicts with a field type already in InfluxDB 1.8. Every other point is
// stored, exactly that one is in the dead-letter file, and replaying it after
// the conflict is gone stores it and empties the file.
func TestFieldConflictDeadLettersExactlyThatPoint(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(t)
	fleet, _ := registry.Jiangwan()
	sc, err := simulator.ParseScenario([]byte(`
lifts: [JW-0001, JW-0002, JW-0003]
events:
  - {at: "00:05:00", lift: JW-0002, do: alarm}
`))
	if err != nil {
		t.Fatal(err)
	}
	rec := &simulator.Recorder{}
	sim, _ := simulator.New(simulator.Config{Lifts: fleet, Seed: 7, Scenario: sc, Start: time.Now().Add(-20 * time.Minute)}, rec)
	if err := sim.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Everything valid, and of the alarms only the first.
	var outs []simulator.Out
	var alarm *simulator.Out
	want := map[string]int64{}
	for i, o := range rec.Out {
		if o.Hostile != "" || o.Resend {
			continue
		}
		if o.Kind == telemetry.KindAlarm {
			if alarm != nil {
				continue
			}
			alarm = &rec.Out[i]
		} else {
			want[o.Kind.String()]++
		}
		outs = append(outs, o)
	}
	if alarm == nil || len(outs) < 20 {
		t.Fatalf("scenario gave %d messages, alarm %v", len(outs), alarm != nil)
	}
	// "alarm" already has seq as a string in the alarm point's shard.
	if err := influx.Write(context.Background(), fmt.Sprintf("alarm,lift=XX seq=\"conflict\" %d\n", alarm.Msg.PointTime())); err != nil {
		t.Fatal(err)
	}

	sink, err := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: influx.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	logs := &logBuffer{}
	// One batch: all messages are published before the first flush.
	p := startSinkPipeline(t, broker, sink, fleet[:3], ingest.Config{Logger: quietLogger(logs), FlushInterval: 5 * time.Second})
	c, err := simulator.DialMQTT(context.Background(), simulator.MQTTConfig{Conn: mqttconn.Options{Broker: broker.URL, MaxReconnect: time.Second}, Conns: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range outs {
		if err := c.Send(context.Background(), &outs[i]); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	want["alarm"] = 1 // the conflicting point written above
	itest.WaitPoints(t, influx, want, 2*time.Minute)
	itest.WaitUntil(t, time.Minute, "spool drained", func() bool { return p.counter("liftwatch_ingest_spool_records") == 0 })

	entries, err := p.ing.StoreRejects().List()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("dead-letter file holds %d entries, want 1: %+v", len(entries), entries)
	}
	e := entries[0]
	wantLine := strings.TrimSuffix(string(telemetry.AppendLine(nil, &alarm.Msg, fleet[1].Estate)), "\n")
	if e.Lift != "JW-0002" || e.Kind != "alarm" || e.Seq != alarm.Msg.Seq || e.Line != wantLine ||
		e.Status != http.StatusBadRequest || !strings.Contains(e.Error, "field type conflict") {
		t.Fatalf("dead letter %+v, want lift JW-0002 kind alarm seq %d line %q and the store's field type conflict", e, alarm.Msg.Seq, wantLine)
	}
	if n := p.counter("liftwatch_ingest_points_refused_total"); n != 1 {
		t.Fatalf("points_refused = %v, want 1", n)
	}
	if p.ing.SinkError() != nil {
		t.Fatalf("SinkError = %v after a data rejection", p.ing.SinkError())
	}

	// Replay while the conflict stands: rejected again, kept.
	res, err := p.ing.StoreRejects().Replay(context.Background(), sink)
	if err != nil || res.Written != 0 || res.Rejected != 1 {
		t.Fatalf("replay with conflict: %+v, %v", res, err)
	}
	// Fix the store, replay: stored, file empty.
	if _, err := influx.Query(context.Background(), "DROP MEASUREMENT alarm"); err != nil {
		t.Fatal(err)
	}
	res, err = p.ing.StoreRejects().Replay(context.Background(), sink)
	if err != nil || res.Written != 1 || res.Rejected != 0 {
		t.Fatalf("replay: %+v, %v", res, err)
	}
	if n, err := influx.Count(context.Background(), "alarm"); err != nil || n != 1 {
		t.Fatalf("alarm points after replay: %d, %v", n, err)
	}
	if entries, _ := p.ing.StoreRejects().List(); len(entries) != 0 {
		t.Fatalf("dead-letter file still holds %+v", entries)
	}
}

// TestPrepareInflux1: against InfluxDB 1.8 with no database, Prepare creates
// it for "db", "db/" and "db/autogen"; a custom retention policy that does
// not exist is a TargetError naming influx.bucket.
func TestPrepareInflux1(t *testing.T) {
	influx := testrig.StartInfluxDBEmpty(t)
	for _, b := range []string{"a", "b/", "c/autogen"} {
		s, _ := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: b})
		if err := s.Prepare(context.Background()); err != nil {
			t.Fatalf("bucket %q: %v", b, err)
		}
		if s.Version() == "" { // "unknown" for a development build of influxd
			t.Errorf("version %q", s.Version())
		}
		s.Close()
	}
	out, err := influx.Query(context.Background(), "SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{`["a"]`, `["b"]`, `["c"]`} {
		if !strings.Contains(string(out), db) {
			t.Errorf("database %s not created: %s", db, out)
		}
	}
	s, _ := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: "d/weekly"})
	defer s.Close()
	err = s.Prepare(context.Background())
	var te *history.TargetError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "influx.bucket") || !strings.Contains(err.Error(), `"weekly"`) {
		t.Fatalf("custom rp on a missing db: %v, want a TargetError naming influx.bucket and the rp", err)
	}
	if _, err := influx.Query(context.Background(), "CREATE DATABASE e"); err != nil {
		t.Fatal(err)
	}
	s2, _ := influxhistory.New(influxhistory.Config{URL: influx.URL, Bucket: "e/weekly"})
	defer s2.Close()
	if err := s2.Prepare(context.Background()); !errors.As(err, &te) || !strings.Contains(err.Error(), "retention policy") {
		t.Fatalf("missing rp on an existing db: %v", err)
	}
}
