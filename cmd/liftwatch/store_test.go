package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
)

func readyz(t *testing.T, addr string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

// TestServeCreatesMissingDatabase: the README's serve command against a
// fresh InfluxDB 1.8 where no one ran CREATE DATABASE stores every message.
// If the database then disappears, /readyz says why and the data waits in
// the spool until it is back.
func TestServeCreatesMissingDatabase(t *testing.T) {
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{})
	influx := testrig.StartInfluxDBEmpty(t)
	fleet, _ := registry.Jiangwan()
	p := startServe(t, broker, influx, t.TempDir())
	defer func() { p.cmd.Process.Kill(); p.cmd.Wait() }()

	first := itest.Publish(t, broker.URL, fleet[:30], 3, time.Hour, itest.Rates())
	itest.WaitPoints(t, influx, first.Sent, 2*time.Minute)

	if _, err := influx.Query(context.Background(), "DROP DATABASE "+influx.Database); err != nil {
		t.Fatal(err)
	}
	second := itest.Publish(t, broker.URL, fleet[30:60], 4, time.Hour, itest.Rates())
	var reason string
	itest.WaitUntil(t, time.Minute, "readyz not ready for the store", func() bool {
		code, m := readyz(t, p.http)
		reason = m["store"]
		return code == http.StatusServiceUnavailable && strings.Contains(reason, "database not found")
	})
	t.Logf("readyz store: %s", reason)
	if _, err := influx.Query(context.Background(), "CREATE DATABASE "+influx.Database); err != nil {
		t.Fatal(err)
	}
	itest.WaitPoints(t, influx, second.Sent, 2*time.Minute)
	itest.WaitUntil(t, 30*time.Second, "readyz ok again", func() bool { code, _ := readyz(t, p.http); return code == http.StatusOK })
}

// TestServeRefusesMissingRetentionPolicy: a custom retention policy that
// does not exist is a settings error: exit 2, naming influx.bucket.
func TestServeRefusesMissingRetentionPolicy(t *testing.T) {
	influx := testrig.StartInfluxDBEmpty(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "serve", "--data.dir", t.TempDir(), "--http.listen", "127.0.0.1:0",
		"--mqtt.broker", "tcp://127.0.0.1:1", "--influx.url", influx.URL, "--influx.bucket", "liftwatch/weekly")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), `influx.bucket "liftwatch/weekly"`) {
		t.Fatalf("serve with a missing retention policy: %v\n%s", err, out)
	}
}

// TestDeadletterListAndReplay: the deadletter command lists the file and
// replays it into InfluxDB (creating the database on 1.x), removing what was
// written.
func TestDeadletterListAndReplay(t *testing.T) {
	influx := testrig.StartInfluxDBEmpty(t)
	data := t.TempDir()
	rj, err := ingest.OpenStoreRejects(filepath.Join(data, "deadletter"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	if err := rj.Add(
		ingest.StoreReject{Time: now, Lift: "JW-0001", Kind: "alarm", Seq: 5, Line: `alarm,estate=a,lift=JW-0001 seq=5i 1740816000000000000`, Status: 400, Error: "partial write: field type conflict"},
		ingest.StoreReject{Time: now, Lift: "JW-0002", Kind: "alarm", Seq: 6, Line: `alarm,estate=a,lift=JW-0002 seq=6i 1740816000000000001`, Status: 400, Error: "partial write: field type conflict"},
	); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI([]string{"deadletter", "list", "--data.dir", data})
	if code != 0 || !strings.Contains(out, "2 point(s)") || !strings.Contains(out, "JW-0002 alarm seq 6") {
		t.Fatalf("list: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI([]string{"deadletter", "list", "--data.dir", data, "--format", "json"})
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"line":"alarm,estate=a,lift=JW-0001 seq=5i 1740816000000000000"`) {
		t.Fatalf("list json: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI([]string{"deadletter", "replay", "--data.dir", data, "--influx.url", influx.URL, "--influx.bucket", influx.Bucket})
	if code != 0 || !strings.Contains(out, "written 2, rejected again 0") {
		t.Fatalf("replay: %d\n%s%s", code, out, errs)
	}
	if n, err := influx.Count(context.Background(), "alarm"); err != nil || n != 2 {
		t.Fatalf("alarm points after replay: %d, %v", n, err)
	}
	if left, _ := rj.List(); len(left) != 0 {
		t.Fatalf("left after replay: %+v", left)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deadletter"}, "list|replay"},
		{[]string{"deadletter", "purge"}, `unknown action "purge"`},
		{[]string{"deadletter", "replay", "--data.dir", data, "--influx.url", ""}, "influx.url and influx.bucket are required"},
		{[]string{"deadletter", "list", "--data.dir", data, "--format", "xml"}, `format "xml"`},
	} {
		if code, out, errs := runCLI(c.args); code != 2 || !strings.Contains(out+errs, c.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s%s", c.args, code, c.want, out, errs)
		}
	}
}
