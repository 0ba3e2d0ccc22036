package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

// procCPU returns a process's user+system CPU time and resident set size.
func procCPU(pid int) (time.Duration, int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)  // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)  // stime, field 15
	rss, _ := strconv.ParseInt(f[21], 10, 64) // rss pages, field 24
	const hz = 100
	return time.Duration(ut+st) * time.Second / hz, rss * int64(os.Getpagesize()), nil
}

// BenchmarkSteadyState runs the simulator live (realistic rates) for N lifts
// against Mosquitto, liftwatch serve and InfluxDB, each its own process, and
// reports over a one-minute window the message rate, liftwatch's and the
// simulator's CPU (as a share of one core) and liftwatch's RSS. The window is
// LIFTWATCH_BENCH_WINDOW (default 60s).
func BenchmarkSteadyState(b *testing.B) {
	window := time.Minute
	if d, err := time.ParseDuration(os.Getenv("LIFTWATCH_BENCH_WINDOW")); err == nil {
		window = d
	}
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("lifts=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				steady(b, n, window)
			}
		})
	}
}

func steady(b *testing.B, n int, window time.Duration) {
	broker := testrig.StartMosquitto(b, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDB(b)
	dir := b.TempDir()
	reg := filepath.Join(dir, "fleet.json")
	js, _ := json.Marshal(registry.GenerateN(1, n))
	if err := os.WriteFile(reg, js, 0o644); err != nil {
		b.Fatal(err)
	}
	port := testrig.FreePort(b)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", port)
	debugAddr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(b))
	serve := exec.Command(binary, "serve", "--data.dir", filepath.Join(dir, "data"), "--http.listen", httpAddr,
		"--registry.file", reg, "--mqtt.broker", broker.URL, "--influx.url", influx.URL, "--influx.bucket", influx.Bucket, "--log.level", "warn",
		"--debug.pprof", "--debug.listen", debugAddr)
	serve.Stderr = os.Stderr
	if err := serve.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() }()
	itest.WaitUntil(b, 2*time.Minute, "liftwatch up", func() bool { return metric("http://"+httpAddr, "liftwatch_lifts_offline") == float64(n) })

	warm := 20 * time.Second
	// Simulated time pinned to 10:00 Shanghai: the rate must not depend on the hour.
	dur := warm + window + 5*time.Second
	sim := exec.Command(binary, "sim", "--lifts", strconv.Itoa(n), "--speed", "1", "--duration", dur.String(),
		"--start", itest.PinnedStart(time.Now(), 10, dur).Format(time.RFC3339),
		"--mqtt.broker", broker.URL, "--connections", "4", "--log.level", "warn", "--stats-json")
	sim.Stderr = os.Stderr
	if err := sim.Start(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(warm)
	url := "http://" + httpAddr
	cpu0, _, _ := procCPU(serve.Process.Pid)
	sim0, _, _ := procCPU(sim.Process.Pid)
	msgs0 := metric(url, "liftwatch_ingest_points_written_total")
	b.ResetTimer()
	prof := profile(b, debugAddr)
	time.Sleep(window)
	if prof != nil {
		<-prof
	}
	b.StopTimer()
	cpu1, rss, _ := procCPU(serve.Process.Pid)
	sim1, simRSS, _ := procCPU(sim.Process.Pid)
	msgs1 := metric(url, "liftwatch_ingest_points_written_total")
	sim.Wait()
	b.ReportMetric((msgs1-msgs0)/window.Seconds(), "msg/s")
	b.ReportMetric(100*float64(cpu1-cpu0)/float64(window), "liftwatch-cpu-%")
	b.ReportMetric(float64(rss)/(1<<20), "liftwatch-rss-MiB")
	b.ReportMetric(100*float64(sim1-sim0)/float64(window), "sim-cpu-%")
	b.ReportMetric(float64(simRSS)/(1<<20), "sim-rss-MiB")
}
