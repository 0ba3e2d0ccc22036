package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/simulator"
)

// benchMessages is how many messages the drain benchmarks queue
// (LIFTWATCH_BENCH_MESSAGES, default 300,000).
func benchMessages(b *testing.B) int {
	return benchEnvInt(b, "LIFTWATCH_BENCH_MESSAGES", 300_000, 1, 1<<31-1)
}

// benchEnvInt reads a whole number from the environment: unset or empty is
// def; anything else must be a number from lo to hi, or the benchmark stops
// with a message naming the variable (a typo must not run the defaults).
func benchEnvInt(b testing.TB, env string, def, lo, hi int) int {
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		b.Fatalf("%s=%q: want a whole number from %d to %d", env, v, lo, hi)
	}
	return n
}

// queue publishes about n messages of the Jiangwan fleet (realistic mix)
// while nobody consumes them; they wait in the broker for the session.
func queue(b *testing.B, broker *testrig.Mosquitto, n int, hostile float64) itest.Published {
	fleet, _ := registry.Jiangwan()
	perHour := float64(len(fleet)) * 69 // ≈1660 messages a lift a day
	span := time.Duration(float64(n) / perHour * float64(time.Hour))
	rates := simulator.DefaultRates()
	rates.Hostile = hostile
	return itest.Publish(b, broker.URL, fleet, 1, span, rates)
}

// BenchmarkDrain: queue messages for liftwatch's persistent session while it
// is stopped, start it, and time until the last point is in InfluxDB.
// Reports valid msg/s, and liftwatch's CPU seconds and peak RSS. The
// hostile case adds one bad message (every rejection reason) per valid one:
// the flood must not slow the good messages much.
//
// clean/maintenance=off is the clean case with the maintenance loop off
// (--maintenance.disable): the maintenance consumer must cost the drain
// less than 5% (docs/benchmarks.md). Each variant is a leaf, so that
// -bench 'BenchmarkDrain/clean/maintenance=on' runs that one alone (compare
// them in separate processes, alternating).
func BenchmarkDrain(b *testing.B) {
	b.Run("clean", func(b *testing.B) {
		b.Run("maintenance=on", func(b *testing.B) { drain(b, 0, false) })
		b.Run("maintenance=off", func(b *testing.B) { drain(b, 0, false, "--maintenance.disable") })
	})
	b.Run("hostile=1", func(b *testing.B) { drain(b, 1, false) })
	// The same comparison into the embedded history (SQLite), for a
	// machine without InfluxDB: what differs is only the maintenance loop.
	b.Run("embedded", func(b *testing.B) {
		b.Run("maintenance=on", func(b *testing.B) { drain(b, 0, true) })
		b.Run("maintenance=off", func(b *testing.B) { drain(b, 0, true, "--maintenance.disable") })
	})
}

func drain(b *testing.B, hostile float64, embedded bool, extra ...string) {
	for i := 0; i < b.N; i++ {
		broker := testrig.StartMosquitto(b, testrig.MosquittoOptions{})
		var influx *testrig.InfluxDB
		if !embedded {
			influx = testrig.StartInfluxDB(b)
		}
		data := b.TempDir()
		p := startServeB(b, broker, influx, data, extra...)
		// Stop it only once it has subscribed: a session stopped before its
		// SUBACK holds no subscription, and the broker would queue nothing.
		waitSubscribed(b, p)
		p.cmd.Process.Signal(syscall.SIGTERM) // the session and its subscription now exist
		p.cmd.Wait()
		sent := queue(b, broker, benchMessages(b), hostile)
		total := float64(sent.TotalSent())

		b.ResetTimer()
		start := time.Now()
		p = startServeB(b, broker, influx, data, extra...)
		prof := profile(b, p.debug)
		itest.WaitUntil(b, 10*time.Minute, "all points written", func() bool {
			return metric("http://"+p.http, "liftwatch_ingest_points_written_total") >= total
		})
		elapsed := time.Since(start)
		b.StopTimer()
		if prof != nil {
			<-prof
		}
		if influx != nil {
			itest.WaitPoints(b, influx, sent.Sent, time.Minute)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
		ru := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		b.ReportMetric(total/elapsed.Seconds(), "msg/s")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MiB")
		b.ReportMetric(total, "messages")
		b.ReportMetric(float64(sent.TotalHostile()), "hostile")
	}
}

// waitSubscribed waits until serve's /readyz says the broker check is ok,
// which it says only once the subscription is acknowledged.
func waitSubscribed(b *testing.B, p *proc) {
	b.Helper()
	itest.WaitUntil(b, time.Minute, "liftwatch subscribed", func() bool {
		resp, err := http.Get("http://" + p.http + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var checks map[string]string
		return json.NewDecoder(resp.Body).Decode(&checks) == nil && checks["broker"] == "ok"
	})
}

func startServeB(b *testing.B, broker *testrig.Mosquitto, influx *testrig.InfluxDB, data string, extra ...string) *proc {
	b.Helper()
	port := testrig.FreePort(b)
	p := &proc{http: fmt.Sprintf("127.0.0.1:%d", port), debug: fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(b))}
	p.cmd = exec.Command(binary, "serve", "--data.dir", data, "--http.listen", p.http,
		"--mqtt.broker", broker.URL, "--log.level", "warn", "--debug.pprof", "--debug.listen", p.debug)
	if influx != nil {
		p.cmd.Args = append(p.cmd.Args, "--influx.url", influx.URL, "--influx.bucket", influx.Bucket)
	}
	p.cmd.Args = append(p.cmd.Args, extra...)
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	itest.WaitUntil(b, time.Minute, "liftwatch listening", func() bool {
		resp, err := http.Get("http://" + p.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return p
}

// BenchmarkDrainRawPaho is the baseline: a paho subscriber that acks and
// discards everything, draining the same queue from the same broker.
func BenchmarkDrainRawPaho(b *testing.B) {
	for i := 0; i < b.N; i++ {
		broker := testrig.StartMosquitto(b, testrig.MosquittoOptions{})
		var n atomic.Int64
		opts := mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("raw").SetCleanSession(false).
			SetDefaultPublishHandler(func(mqtt.Client, mqtt.Message) { n.Add(1) })
		c := mqtt.NewClient(opts)
		if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		c.Subscribe("lifts/+/+", 1, nil).Wait()
		c.Disconnect(100)
		sent := queue(b, broker, benchMessages(b), 0)
		total := sent.TotalSent() + sent.TotalHostile()
		for _, v := range sent.Resent {
			total += v
		}
		b.ResetTimer()
		start := time.Now()
		c = mqtt.NewClient(opts)
		if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
			b.Fatal(tok.Error())
		}
		itest.WaitUntil(b, 10*time.Minute, "all received", func() bool { return n.Load() >= total })
		elapsed := time.Since(start)
		b.StopTimer()
		c.Disconnect(100)
		b.ReportMetric(float64(total)/elapsed.Seconds(), "msg/s")
	}
}

// profile saves a CPU profile of the drain to $LIFTWATCH_BENCH_PROFILE, if
// set, from the debug listener at addr; the channel closes when it is
// written.
func profile(b *testing.B, addr string) chan struct{} {
	path := os.Getenv("LIFTWATCH_BENCH_PROFILE")
	if path == "" {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + profileSeconds())
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(path)
		if err != nil {
			b.Logf("profile: %v", err)
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, resp.Body)
	}()
	return done
}

func profileSeconds() string {
	if v := os.Getenv("LIFTWATCH_BENCH_PROFILE_SECONDS"); v != "" {
		return v
	}
	return "4"
}

// metric reads a metric from liftwatch's /metrics, adding up its series
// when it has labels; -1 if liftwatch does not answer.
func metric(url, name string) float64 {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var sum float64
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			sum += v
		}
	}
	return sum
}
