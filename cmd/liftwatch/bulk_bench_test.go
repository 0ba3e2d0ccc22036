package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
)

// bankCSV is a bank statement file of n lines whose transaction ids start
// with prefix (a new prefix: a new file, nothing of it recorded before).
func bankCSV(n int, prefix string) []byte {
	var b bytes.Buffer
	b.Grow(n * 90)
	b.WriteString("date,value_date,amount,direction,counterparty,reference,txn_id,balance\n")
	bal := int64(0)
	for i := 0; i < n; i++ {
		day := fmt.Sprintf("2025-%02d-%02d", 1+i/28%12, 1+i%28)
		amt := int64(100 + i%9000)
		dir := "CR"
		if i%3 == 2 {
			dir, amt = "DR", amt/2
			bal -= amt
		} else {
			bal += amt
		}
		fmt.Fprintf(&b, "%s,%s,%d.%02d,%s,业主 %d-%d,REF-%s-%d,%s-%07d,%d.%02d\n", day, day, amt/100, amt%100, dir,
			1+i%6, 101+i%2, prefix, i, prefix, i, bal/100, abs64(bal%100))
	}
	return b.Bytes()
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// postBankCSV posts a bank file to lift's account of the server at base.
func postBankCSV(base, lift, file string, data []byte) (int, string, error) {
	req, err := http.NewRequest("POST", base+"/api/v1/lifts/"+lift+"/fund/bank-statements?file="+file, bytes.NewReader(data))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "text/csv")
	if tok, ok := tokens.Load(base); ok {
		req.Header.Set("Authorization", "Bearer "+tok.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// openAlertID is the newest open entrapment alert of lift in the API
// (0: none). The API reads through the alert outbox (it waits until what
// was queued is written), so an alert listed here is in the database.
func openAlertID(base, lift string) (int64, error) {
	resp, err := authGet(base, "/api/v1/alerts?lift="+lift+"&type=entrapment&state=open&limit=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return 0, fmt.Errorf("list alerts: %d %s", resp.StatusCode, b)
	}
	var list []struct{ ID int64 }
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return 0, err
	}
	if len(list) == 0 {
		return 0, nil
	}
	return list[0].ID, nil
}

// entrapmentProber publishes entrapments of one lift over MQTT and times
// each until its alert is listed by the API, then clears and resolves it
// so that the next probe opens a new alert.
type entrapmentProber struct {
	base, lift string
	pub        mqtt.Client
	seq        int64
	last       int64 // the last alert seen
}

func (p *entrapmentProber) probe(tb testing.TB) time.Duration {
	tb.Helper()
	p.seq++
	t0 := time.Now()
	payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"active","floor":3,"occupied":true}`, p.seq, t0.UnixMilli())
	if tok := p.pub.Publish("lifts/"+p.lift+"/fault", 1, false, payload); tok.Wait() && tok.Error() != nil {
		tb.Fatal(tok.Error())
	}
	var id int64
	var lat, lastPoll, slowestPoll time.Duration
	polls := 0
	itest.WaitUntil(tb, 2*time.Minute, "the entrapment's alert in the API", func() bool {
		t1 := time.Now()
		got, err := openAlertID(p.base, p.lift)
		if err != nil {
			tb.Fatal(err)
		}
		polls++
		lastPoll = time.Since(t1)
		slowestPoll = max(slowestPoll, lastPoll)
		if got > p.last {
			id, lat = got, time.Since(t0)
			return true
		}
		return false
	})
	if lat > 100*time.Millisecond {
		tb.Logf("slow probe: %v, %d polls, the last took %v, the slowest %v", lat, polls, lastPoll, slowestPoll)
	}
	p.last = id
	p.seq++
	p.pub.Publish("lifts/"+p.lift+"/fault", 1, false,
		fmt.Sprintf(`{"v":1,"boot":1,"seq":%d,"ts":%d,"code":"entrapment","state":"cleared","occupied":false}`, p.seq, time.Now().UnixMilli())).Wait()
	for _, step := range []string{"arrive", "resolve"} {
		resp, err := authDo("POST", p.base, fmt.Sprintf("/api/v1/alerts/%d/%s", id, step), `{"note":"released","passengers_released":true}`)
		if err != nil {
			tb.Fatalf("%s: %v", step, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			tb.Fatalf("%s alert %d: %d %s", step, id, resp.StatusCode, b)
		}
	}
	return lat
}

func pctMS(d []time.Duration, p float64) float64 {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
}

// startBulkServe starts Mosquitto and serve on the shipped Jiangwan register
// with the embedded SQLite store (no InfluxDB: history goes to SQLite too),
// and an MQTT client to publish with. Everything stops at cleanup.
func startBulkServe(tb testing.TB) (base, data string, out *lockedBuffer, pub mqtt.Client) {
	tb.Helper()
	broker := testrig.StartMosquitto(tb, testrig.MosquittoOptions{})
	dir := tb.TempDir()
	cfg := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(cfg, []byte("receivers: []\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	data = filepath.Join(dir, "data")
	addr := fmt.Sprintf("127.0.0.1:%d", testrig.FreePort(tb))
	base = "http://" + addr
	tokens.Store(base, adminToken(tb, data))
	out = &lockedBuffer{}
	serve := exec.Command(binary, "serve", "--data.dir", data, "--http.listen", addr, "--mqtt.broker", broker.URL,
		"--alerts.config", cfg, "--log.level", "warn")
	serve.Stdout, serve.Stderr = out, out
	if err := serve.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { serve.Process.Signal(syscall.SIGTERM); serve.Wait() })
	itest.WaitUntil(tb, time.Minute, "liftwatch ready", func() bool {
		resp, err := authGet(base, "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	pub = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("probe"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		tb.Fatal(tok.Error())
	}
	tb.Cleanup(func() { pub.Disconnect(100) })
	return base, data, out, pub
}

// BenchmarkEntrapmentBesideBankImport (issue 17, point 10): the time from a
// terminal publishing an entrapment over MQTT to its alert being listed by
// the API (so written: the API reads through the alert outbox), through the
// real binary, Mosquitto and the embedded SQLite store, with nothing else
// running (idle-*) and while bank statements of LIFTWATCH_BENCH_BANK_LINES
// lines (default 100,000) are imported one after the other through the API
// (import-*), in LIFTWATCH_BENCH_ROUNDS alternating rounds (default 4) of
// LIFTWATCH_BENCH_PROBES probes in all of each kind (default 200). No
// background fleet and no InfluxDB: what is measured is the database the
// import and the alerts share; BenchmarkAlertLatency measures the fleet's
// load.
//
//	go test -run '^$' -bench BenchmarkEntrapmentBesideBankImport -benchtime 1x ./cmd/liftwatch
func BenchmarkEntrapmentBesideBankImport(b *testing.B) {
	probes := benchEnvInt(b, "LIFTWATCH_BENCH_PROBES", 200, 1, 100_000)
	lines := benchEnvInt(b, "LIFTWATCH_BENCH_BANK_LINES", 100_000, 1, 100_000)
	rounds := benchEnvInt(b, "LIFTWATCH_BENCH_ROUNDS", 4, 1, 100)
	base, _, out, pub := startBulkServe(b)
	p := &entrapmentProber{base: base, lift: "JW-0001", pub: pub}
	p.probe(b) // warm up: the first alert of the lift, connections open

	// Rounds alternate: probes with nothing else running, then probes while
	// bank files are imported one after the other, so that both see the
	// same machine (a shared one, whose load changes by the minute).
	var idle, busy, importDur []time.Duration
	var imports, failed int
	var failures []string
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		for r := 0; r < rounds; r++ {
			for i := 0; i < probes/rounds; i++ {
				idle = append(idle, p.probe(b))
				time.Sleep(20 * time.Millisecond)
			}
			var stop atomic.Bool
			var mu sync.Mutex
			var wg sync.WaitGroup
			started := make(chan struct{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					prefix := fmt.Sprintf("%03xR%dI%d", time.Now().UnixNano()%0xfff, r, i) // short: 100,000 lines within 10 MiB
					csv := bankCSV(lines, prefix)
					if i == 0 {
						close(started)
					}
					t0 := time.Now()
					code, body, err := postBankCSV(base, "JW-0002", prefix+".csv", csv)
					mu.Lock()
					if err != nil || code != http.StatusCreated {
						failed++
						failures = append(failures, fmt.Sprintf("%d %v %.200s", code, err, body))
					} else {
						imports++
						importDur = append(importDur, time.Since(t0))
					}
					mu.Unlock()
				}
			}()
			<-started
			time.Sleep(200 * time.Millisecond) // the file sent and being parsed
			for i := 0; i < probes/rounds; i++ {
				busy = append(busy, p.probe(b))
				time.Sleep(20 * time.Millisecond)
			}
			stop.Store(true)
			wg.Wait()
		}
	}
	b.StopTimer()
	b.ReportMetric(pctMS(idle, 0.5), "idle-p50-ms")
	b.ReportMetric(pctMS(idle, 0.99), "idle-p99-ms")
	b.ReportMetric(pctMS(idle, 1), "idle-max-ms")
	b.ReportMetric(pctMS(busy, 0.5), "import-p50-ms")
	b.ReportMetric(pctMS(busy, 0.99), "import-p99-ms")
	b.ReportMetric(pctMS(busy, 1), "import-max-ms")
	b.ReportMetric(float64(len(busy)), "import-probes")
	b.ReportMetric(float64(imports), "imports")
	b.ReportMetric(float64(failed), "imports-failed")
	if len(importDur) > 0 {
		b.ReportMetric(pctMS(importDur, 0.5)/1000, "import-p50-s")
	}
	for _, f := range failures[:min(3, len(failures))] {
		b.Logf("import failed: %s", f)
	}
	var errs []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "ERROR") && len(errs) < 5 {
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(os.Stderr, "serve's first errors:\n%s\n", strings.Join(errs, "\n"))
	}
}
