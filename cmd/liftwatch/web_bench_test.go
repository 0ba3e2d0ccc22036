package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

// BenchmarkBoardLatency measures what a duty manager waits for: from a
// terminal publishing an entrapment to the broker until its card is visible
// on an open alert board in headless Chromium (chromedp waiting on the DOM).
// Each probe traps a different lift, so each makes a new card. Probes:
// LIFTWATCH_BENCH_PROBES (default 50). Figures: docs/benchmarks.md.
func BenchmarkBoardLatency(b *testing.B) {
	requireChromium(b)
	probes := benchEnvInt(b, "LIFTWATCH_BENCH_PROBES", 50, 1, 100_000)
	broker := testrig.StartMosquitto(b, testrig.MosquittoOptions{})
	dir := b.TempDir()
	cfg := filepath.Join(dir, "alerts.yaml")
	os.WriteFile(cfg, []byte("receivers: []\n"), 0o644)
	s := startWebServe(b, broker, filepath.Join(dir, "data"), cfg)
	ctx := browser(b, 1280, 900)
	s.signIn(b, ctx, "/")
	do(b, ctx, "board ready", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.CSS("#live")), chromedp.Sleep(500*time.Millisecond))

	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("bench-terminal"))
	if tok := pub.Connect(); tok.Wait() && tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < probes; i++ {
		lift := fmt.Sprintf("JW-%04d", i+1)
		t0 := time.Now()
		payload := fmt.Sprintf(`{"v":1,"boot":1,"seq":1,"ts":%d,"code":"entrapment","state":"active","floor":2,"occupied":true}`, t0.UnixMilli())
		pub.Publish("lifts/"+lift+"/fault", 1, false, payload).Wait()
		do(b, ctx, "card of "+lift, chromedp.WaitVisible(chromedp.CSS(`.card[data-lift="`+lift+`"]`), chromedp.RetryInterval(2*time.Millisecond)))
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.5), "card-p50-ms")
	b.ReportMetric(pct(0.99), "card-p99-ms")
	b.ReportMetric(pct(1), "card-max-ms")
}
