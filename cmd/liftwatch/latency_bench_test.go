package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

// BenchmarkAlertLatency measures the time from a terminal publishing an
// entrapment fault to the alert being persisted and on the SSE stream, and
// to the webhook receiving it, while a simulator process publishes the
// background fleet at about LIFTWATCH_BENCH_RATE msg/s (default 20,000:
// 10,000 lifts' history replayed at ×104). Probes: LIFTWATCH_BENCH_PROBES
// (default 200).
//
// Priorities, as in production: the simulator stands for 10,000 terminals
// that are not on liftwatch's machine, so it runs at niceness
// LIFTWATCH_BENCH_SIM_NICE (default 10: below liftwatch, enough to keep its
// rate, which background-msg/s shows; at 19 it fell short); InfluxDB runs
// at LIFTWATCH_BENCH_INFLUX_NICE (default 10), as docker-compose.yml weighs
// it on a shared host: history is buffered by the spool and may lag,
// alerts may not (docs/deploy.md). history-points/s and spool-backlog-end
// show whether InfluxDB kept up (on the 2-core test machine it does not,
// with or without priorities). 0 runs a process at the benchmark's own
// priority.
//
// Probing starts once the first maintenance sweep is done: on a new
// 10,000-lift register it raises about 2,000 supervision alerts at once,
// a start-up burst measured apart (sweep-s: seconds from liftwatch ready
// until the sweep was seen done, to 0.1 s). LIFTWATCH_BENCH_SWEEP_WAIT=0
// probes from the end of the warm-up instead, as the benchmark did before,
// so that the sweep may fall into the probes (sweep-s is 0 if it came
// after them).
//
// engine-p* split each probe at the alert's opened_at, which the stream
// gives to the millisecond: the hop-* figures, from serve's trace in
// microseconds, are the precise split. puback-p* is publish → the broker's
// PUBACK to the probe's own client: the part of the broker hop before
// liftwatch is involved.
func BenchmarkAlertLatency(b *testing.B) {
	rate := benchEnvInt(b, "LIFTWATCH_BENCH_RATE", 20000, 1, 1_000_000)
	probes := benchEnvInt(b, "LIFTWATCH_BENCH_PROBES", 200, 1, 100_000)
	// LIFTWATCH_BENCH_INFLIGHT sets the broker's per-client inflight window
	// (0, the default: the rig's 1000, as deploy/mosquitto ships).
	inflight := benchEnvInt(b, "LIFTWATCH_BENCH_INFLIGHT", 0, 0, 65535)
	// Niceness -20 to 19; 0 runs the process at the benchmark's own priority,
	// a negative one above liftwatch (as root).
	simNice := benchEnvInt(b, "LIFTWATCH_BENCH_SIM_NICE", 10, -20, 19)
	influxNice := benchEnvInt(b, "LIFTWATCH_BENCH_INFLUX_NICE", 10, -20, 19)
	broker := testrig.StartMosquitto(b, testrig.MosquittoOptions{MaxInflight: inflight})
	influx := testrig.StartInfluxDBWith(b, testrig.InfluxOptions{Nice: influxNice})
	dir := b.TempDir()
	const lifts = 10_000
	reg := filepath.Join(dir, "fleet.json")
	fleet := registry.GenerateN(1, lifts+1)
	js, _ := json.Marshal(fleet)
	os.WriteFile(reg, js, 0o644)
	probeLift := fmt.Sprintf("LW-%06d", lifts+1)
	probeContractor := fleet[len(fleet)-1].Contractor

	// The paging provider's stand-in (an SMS API shaped as Aliyun's):
	// when the page of each probe's entrapment is accepted, by the lift
	// its template names. liftwatch pages the probe lift's duty technician
	// (the roster file below) on it.
	var smsMu sync.Mutex
	smsAt := map[string][]time.Time{}
	sms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		r.ParseForm()
		var p struct{ Lift string }
		json.Unmarshal([]byte(r.PostForm.Get("TemplateParam")), &p)
		smsMu.Lock()
		smsAt[p.Lift] = append(smsAt[p.Lift], at)
		smsMu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Code":"OK","Message":"OK","BizId":"1","RequestId":"bench"}`)
	}))
	defer sms.Close()
	roster := filepath.Join(dir, "oncall.yaml")
	os.WriteFile(roster, []byte(fmt.Sprintf(`people:
  - {id: duty, name: 值班技师, role: technician, contacts: [{channel: sms, to: "13800000000"}]}
duty:
  - {person: duty, contractor: %q, from: "00:00", to: "24:00"}
`, probeContractor)), 0o644)

	var hookMu sync.Mutex
	hookAt := map[int64]time.Time{}
	var hookLast time.Time // the last request
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		hookMu.Lock()
		hookLast = at
		hookMu.Unlock()
		var p struct {
			Event string
			Alert struct{ ID int64 }
		}
		json.NewDecoder(r.Body).Decode(&p)
		if p.Event == "opened" {
			hookMu.Lock()
			hookAt[p.Alert.ID] = at
			hookMu.Unlock()
		}
	}))
	defer hook.Close()
	cfg := filepath.Join(dir, "alerts.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("receivers:\n  - {name: bench, url: %q}\nchannels:\n  sms: {type: aliyun_sms, endpoint: %q, access_key_id: bench, access_key_secret: bench-secret, sign_name: 加装电梯监控, template_code: SMS_1}\n",
		hook.URL, sms.URL)), 0o644)

	addr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(b))
	base := "http://" + addr
	tokens.Store(base, adminToken(b, filepath.Join(dir, "data")))
	serve := exec.Command(binary, "serve", "--data.dir", filepath.Join(dir, "data"), "--http.listen", addr, "--registry.file", reg,
		"--mqtt.broker", broker.URL, "--influx.url", influx.URL, "--influx.bucket", influx.Bucket, "--alerts.config", cfg, "--log.level", "info",
		"--oncall.file", roster, "--debug.trace-lift", probeLift)
	// serve traces the probe lift's messages through the pipeline
	// (--debug.trace-lift): their hop times are read off its log.
	traces := newTraceLog()
	serve.Stderr = traces
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() }()
	itest.WaitUntil(b, 2*time.Minute, "liftwatch ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	readyAt := time.Now()

	// SSE listener: time each alert's "opened".
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// When the first maintenance sweep is over, from liftwatch ready (to
	// about 0.1 s).
	sweepDone := make(chan time.Duration, 1)
	go func() {
		for ctx.Err() == nil {
			if metric(base, "liftwatch_maintenance_sweeps_total") >= 1 {
				sweepDone <- time.Since(readyAt)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var sseMu sync.Mutex
	sseAt := map[int64]time.Time{}
	openedAt := map[int64]time.Time{} // the engine's clock when it raised the alert
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/alerts/stream", nil)
		tok, _ := tokens.Load(base)
		req.Header.Set("Authorization", "Bearer "+tok.(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				at := time.Now()
				var ev alerts.StreamEvent
				if json.Unmarshal([]byte(d), &ev) == nil && ev.Event.Action == "opened" && ev.Alert.Lift == probeLift {
					sseMu.Lock()
					sseAt[ev.Alert.ID] = at
					openedAt[ev.Alert.ID] = ev.Alert.OpenedAt
					sseMu.Unlock()
				}
			}
		}
	}()

	// Background fleet: 10,000 lifts' history at ×speed, from 10:00 Shanghai
	// time a day or two ago (pinned: the rate must not depend on the hour).
	speed := float64(rate) / (lifts * 0.0192)
	sim := testrig.Nice(simNice, binary, "sim", "--lifts", strconv.Itoa(lifts), "--speed", fmt.Sprintf("%.1f", speed),
		"--start", itest.PinnedStart(time.Now(), 10, 24*time.Hour).Format(time.RFC3339), "--mqtt.broker", broker.URL, "--connections", "4",
		"--entrapment-rate", "0", "--log.level", "error", "--stats-json")
	sim.Stderr = os.Stderr
	// A load generator's garbage collector need not be frugal with memory:
	// at GOGC 100 it took a tenth of the simulator's CPU.
	sim.Env = append(os.Environ(), "GOGC=400")
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { sim.Process.Signal(syscall.SIGINT); sim.Wait() }()
	time.Sleep(15 * time.Second) // warm up: heartbeats spread, rate steady
	sweepAt := time.Duration(0)
	if os.Getenv("LIFTWATCH_BENCH_SWEEP_WAIT") != "0" { // 0: probe from the end of the warm-up, as before (the sweep may fall in)
		select {
		case sweepAt = <-sweepDone:
		case <-time.After(3 * time.Minute):
			b.Fatal("no maintenance sweep within 3 minutes of the warm-up")
		}
		// The sweep's alerts are notified to the webhook: wait until that
		// is over (no request for 2 s) and the outbox has written them.
		itest.WaitUntil(b, 2*time.Minute, "the sweep's notifications", func() bool {
			hookMu.Lock()
			quiet := time.Since(hookLast) > 2*time.Second
			hookMu.Unlock()
			return quiet && metric(base, "liftwatch_alert_outbox_depth") == 0
		})
		// ...and until ingest has caught up with what the burst held back
		// in the broker: probes would otherwise wait behind that backlog
		// (seen once: background-msg/s 22,300 and p99 23 ms).
		itest.WaitUntil(b, 2*time.Minute, "ingest caught up after the sweep", func() bool {
			r0 := metric(base, "liftwatch_ingest_messages_received_total")
			time.Sleep(2 * time.Second)
			return (metric(base, "liftwatch_ingest_messages_received_total")-r0)/2 < 1.1*float64(rate)
		})
	}

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("probe"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	recv0, written0 := metric(base, "liftwatch_ingest_messages_received_total"), metric(base, "liftwatch_ingest_points_written_total")
	start := time.Now()
	var sseLat, hookLat, pageLat []time.Duration
	// Each probe's time split in two hops: publish → engine raises (broker,
	// receiver, shard, spool/dispatch, engine), and engine → SSE client
	// (persistence or queueing, hub, HTTP).
	type hops struct {
		total, toEngine, toStream time.Duration
		// puback: publish → the broker's PUBACK to the probe's client (its
		// own send and the broker taking the message), a part of the
		// broker hop that does not involve liftwatch.
		puback time.Duration
		trace  []time.Duration // publish → received → checked → dispatched → consumers
	}
	var split []hops
	seq := int64(0)
	b.ResetTimer()
	for i := 0; i < probes; i++ {
		seq++
		t0 := time.Now()
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, seq, t0.UnixMilli())
		pub.Publish("lifts/"+probeLift+"/fault", 1, false, payload).Wait()
		puback := time.Since(t0)
		var id int64
		itest.WaitUntil(b, 30*time.Second, "alert on the stream", func() bool {
			sseMu.Lock()
			defer sseMu.Unlock()
			for k, at := range sseAt {
				if at.After(t0) && k > id {
					id = k
				}
			}
			return id != 0
		})
		itest.WaitUntil(b, 30*time.Second, "webhook", func() bool { hookMu.Lock(); defer hookMu.Unlock(); _, ok := hookAt[id]; return ok })
		var paged time.Time
		itest.WaitUntil(b, 30*time.Second, "the page at the provider", func() bool {
			smsMu.Lock()
			defer smsMu.Unlock()
			for _, at := range smsAt[probeLift] {
				if at.After(t0) {
					paged = at
					return true
				}
			}
			return false
		})
		pageLat = append(pageLat, paged.Sub(t0))
		sseMu.Lock()
		sseLat = append(sseLat, sseAt[id].Sub(t0))
		split = append(split, hops{sseAt[id].Sub(t0), openedAt[id].Sub(t0), sseAt[id].Sub(openedAt[id]), puback, traces.hops(seq, t0)})
		sseMu.Unlock()
		hookMu.Lock()
		hookLat = append(hookLat, hookAt[id].Sub(t0))
		hookMu.Unlock()
		// Close the rescue so the next probe opens a new alert.
		seq++
		pub.Publish("lifts/"+probeLift+"/fault", 1, false,
			fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"cleared","occupied":false}`, seq, time.Now().UnixMilli())).Wait()
		for _, step := range []string{`arrive`, `resolve`} {
			body := `{"note":"released","passengers_released":true}`
			resp, err := authDo("POST", base, fmt.Sprintf("/api/v1/alerts/%d/%s", id, step), body)
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("%s: %v %v", step, err, resp)
			}
			resp.Body.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.StopTimer()
	elapsed := time.Since(start)
	recv := metric(base, "liftwatch_ingest_messages_received_total") - recv0
	written := metric(base, "liftwatch_ingest_points_written_total") - written0
	pct := func(d []time.Duration, p float64) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
	}
	b.ReportMetric(recv/elapsed.Seconds(), "background-msg/s")
	b.ReportMetric(written/elapsed.Seconds(), "history-points/s")
	b.ReportMetric(metric(base, "liftwatch_ingest_spool_records"), "spool-backlog-end")
	if sweepAt == 0 {
		select {
		case sweepAt = <-sweepDone:
		default: // not yet: 0
		}
	}
	b.ReportMetric(sweepAt.Seconds(), "sweep-s")
	b.ReportMetric(pct(sseLat, 0.5), "sse-p50-ms")
	b.ReportMetric(pct(sseLat, 0.99), "sse-p99-ms")
	b.ReportMetric(pct(sseLat, 1), "sse-max-ms")
	var toEngine, toStream []time.Duration
	for _, h := range split {
		toEngine, toStream = append(toEngine, h.toEngine), append(toStream, h.toStream)
	}
	b.ReportMetric(pct(toEngine, 0.5), "engine-p50-ms")
	b.ReportMetric(pct(toEngine, 0.99), "engine-p99-ms")
	b.ReportMetric(pct(toStream, 0.5), "stream-p50-ms")
	b.ReportMetric(pct(toStream, 0.99), "stream-p99-ms")
	sort.Slice(split, func(i, j int) bool { return split[i].total > split[j].total })
	for _, h := range split[:min(5, len(split))] {
		b.Logf("slow probe: %v = publish→engine %v + engine→SSE %v; publish→engine by hop: %s (the broker's PUBACK came after %v)",
			h.total, h.toEngine, h.toStream, hopString(h.trace), h.puback.Round(10*time.Microsecond))
	}
	// Each hop of publish → engine, from serve's trace of the probe lift.
	var pubacks []time.Duration
	for _, h := range split {
		pubacks = append(pubacks, h.puback)
	}
	b.ReportMetric(pct(pubacks, 0.5), "puback-p50-ms")
	b.ReportMetric(pct(pubacks, 0.99), "puback-p99-ms")
	for i, name := range hopNames {
		var d []time.Duration
		for _, h := range split {
			if len(h.trace) == len(hopNames) {
				d = append(d, h.trace[i])
			}
		}
		if len(d) > 0 {
			b.ReportMetric(pct(d, 0.5), "hop-"+name+"-p50-ms")
			b.ReportMetric(pct(d, 0.99), "hop-"+name+"-p99-ms")
		}
	}
	b.ReportMetric(pct(pageLat, 0.5), "page-p50-ms")
	b.ReportMetric(pct(pageLat, 0.99), "page-p99-ms")
	b.ReportMetric(pct(hookLat, 0.5), "webhook-p50-ms")
	b.ReportMetric(pct(hookLat, 0.99), "webhook-p99-ms")
	b.ReportMetric(pct(hookLat, 1), "webhook-max-ms")
}

// hopNames name the hops of publish → engine that serve's trace splits:
// broker (publish to liftwatch's input, through Mosquitto and the client
// library), check (the shard worker's queue and checks), spool (the queue
// to the spool writer), dispatch (the dispatcher's queue, up to the
// consumers).
var hopNames = []string{"broker", "check", "spool", "dispatch"}

func hopString(d []time.Duration) string {
	if len(d) != len(hopNames) {
		return "(no trace)"
	}
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%s %v", hopNames[i], x.Round(10*time.Microsecond))
	}
	return strings.Join(parts, ", ")
}

// traceLog takes serve's log: the probe lift's trace lines are kept by
// sequence number (the first copy handed on, whichever lane), the rest is
// passed to os.Stderr.
type traceLog struct {
	mu   sync.Mutex
	seqs map[int64][4]int64 // received, checked, dispatched, consumers (unix µs)
	rest *os.File
	part []byte
}

func newTraceLog() *traceLog { return &traceLog{seqs: map[int64][4]int64{}, rest: os.Stderr} }

func (l *traceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		line := string(l.part[:i])
		l.part = l.part[i+1:]
		if !strings.Contains(line, " msg=trace ") {
			if !strings.Contains(line, " level=INFO ") {
				fmt.Fprintln(l.rest, line)
			}
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f[k] = v
			}
		}
		seq, _ := strconv.ParseInt(f["seq"], 10, 64)
		if _, seen := l.seqs[seq]; seen || f["duplicate"] == "true" {
			continue
		}
		var t [4]int64
		for i, k := range []string{"received_us", "checked_us", "dispatched_us", "consumers_us"} {
			t[i], _ = strconv.ParseInt(f[k], 10, 64)
		}
		l.seqs[seq] = t
	}
	return len(p), nil
}

// hops is the probe seq's time per hop from its publish at t0, or nil if
// serve did not trace it.
func (l *traceLog) hops(seq int64, t0 time.Time) []time.Duration {
	l.mu.Lock()
	t, ok := l.seqs[seq]
	l.mu.Unlock()
	if !ok {
		return nil
	}
	prev := t0.UnixMicro()
	d := make([]time.Duration, len(t))
	for i, at := range t {
		d[i] = time.Duration(at-prev) * time.Microsecond
		prev = at
	}
	return d
}
