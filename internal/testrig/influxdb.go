package testrig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// InfluxDB is a private InfluxDB 1.8 server with the Flux and v2-compatible
// write API enabled, holding one database.
type InfluxDB struct {
	URL      string // http://127.0.0.1:port
	Database string
	Bucket   string // "db/autogen", the v2 bucket name of the database
	Dir      string
	p        *process
}

// StartInfluxDB starts a server for the test, creates the database and stops
// the server at cleanup.
func StartInfluxDB(t testing.TB) *InfluxDB {
	t.Helper()
	return StartInfluxDBWith(t, InfluxOptions{})
}

// InfluxOptions tune a test server.
type InfluxOptions struct {
	// Nice, if not 0, runs influxd at that CPU niceness (see Nice): the
	// alert-latency benchmark runs it below liftwatch, as docker-compose.yml
	// weighs it on a shared host (docs/deploy.md).
	Nice int
}

// StartInfluxDBWith is StartInfluxDB with options.
func StartInfluxDBWith(t testing.TB, o InfluxOptions) *InfluxDB {
	t.Helper()
	db := startInfluxDB(t, o)
	if _, err := db.Query(context.Background(), "CREATE DATABASE "+db.Database); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return db
}

// StartInfluxDBEmpty starts a server as StartInfluxDB does but creates no
// database: Database and Bucket name one that does not exist yet, as on a
// fresh install.
func StartInfluxDBEmpty(t testing.TB) *InfluxDB {
	t.Helper()
	return startInfluxDB(t, InfluxOptions{})
}

func startInfluxDB(t testing.TB, o InfluxOptions) *InfluxDB {
	t.Helper()
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		if gp := os.Getenv("GOPATH"); gp != "" {
			gobin = filepath.Join(gp, "bin")
		} else if home, err := os.UserHomeDir(); err == nil {
			gobin = filepath.Join(home, "go", "bin")
		}
	}
	bin := findBinary(t, "influxd", "go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10", gobin)
	dir := t.TempDir()
	httpPort, rpcPort := FreePort(t), FreePort(t)
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%[2]s/meta"
[data]
  dir = "%[2]s/data"
  wal-dir = "%[2]s/wal"
  query-log-enabled = false
  cache-max-memory-size = "1g"
[coordinator]
  log-queries-after = "0s"
[http]
  bind-address = "127.0.0.1:%[3]d"
  flux-enabled = true
  log-enabled = false
  max-body-size = 0
[logging]
  level = "warn"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
`, rpcPort, dir, httpPort)
	cf := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	db := &InfluxDB{URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), Database: "liftwatch", Dir: dir}
	db.Bucket = db.Database + "/autogen"
	db.p = &process{t: t, name: "influxd", bin: bin, args: []string{"run", "-config", cf},
		log: filepath.Join(dir, "influxd.log"), ready: db.ping, nice: o.Nice}
	db.p.start()
	t.Cleanup(func() { db.p.stop(syscall.SIGTERM) })
	return db
}

func (db *InfluxDB) ping(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, db.URL+"/ping", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// Stop shuts the server down.
func (db *InfluxDB) Stop() { db.p.stop(syscall.SIGTERM) }

// Start starts a stopped server again with the same ports and data.
func (db *InfluxDB) Start() { db.p.start() }

// Query runs an InfluxQL statement against the database and returns the raw
// JSON response.
func (db *InfluxDB) Query(ctx context.Context, q string) ([]byte, error) {
	form := url.Values{"q": {q}, "db": {db.Database}}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/query", nil)
	req.URL.RawQuery = form.Encode()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influx query %q: %w", q, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("influx query %q: %s: %s", q, resp.Status, b)
	}
	return b, nil
}

// Count returns the number of points of measurement (counting field seq,
// which every point has).
func (db *InfluxDB) Count(ctx context.Context, measurement string) (int64, error) {
	b, err := db.Query(ctx, fmt.Sprintf(`SELECT COUNT("seq") FROM %q`, measurement))
	if err != nil {
		return 0, err
	}
	var r struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("decode count: %w", err)
	}
	if len(r.Results) == 0 {
		return 0, fmt.Errorf("count %s: empty response", measurement)
	}
	if r.Results[0].Error != "" {
		return 0, fmt.Errorf("count %s: %s", measurement, r.Results[0].Error)
	}
	if len(r.Results[0].Series) == 0 || len(r.Results[0].Series[0].Values) == 0 {
		return 0, nil
	}
	row := r.Results[0].Series[0].Values[0]
	if len(row) < 2 {
		return 0, fmt.Errorf("count %s: short row", measurement)
	}
	f, ok := row[1].(float64)
	if !ok {
		return 0, fmt.Errorf("count %s: value %v is not a number", measurement, row[1])
	}
	return int64(f), nil
}

// Log returns the end of the server's log.
func (db *InfluxDB) Log() string { return db.p.tail() }

// Write writes line protocol (nanosecond timestamps) into the database.
func (db *InfluxDB) Write(ctx context.Context, lines string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, db.URL+"/write?"+url.Values{"db": {db.Database}}.Encode(), strings.NewReader(lines))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("influx write: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("influx write: %s: %s", resp.Status, b)
	}
	return nil
}
