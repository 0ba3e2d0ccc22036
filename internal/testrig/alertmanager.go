package testrig

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// AlertmanagerVersion is the release the tests run (scripts/test installs
// it with go install; later releases no longer build that way).
const AlertmanagerVersion = "v0.27.0"

// Alertmanager is a private Prometheus Alertmanager: one node (gossip off),
// its storage in a temporary directory, routing everything to a receiver
// that sends nothing ("null"), so what liftwatch posted is what its API and
// amtool show.
type Alertmanager struct {
	URL    string // http://127.0.0.1:port
	Dir    string
	amtool string
	p      *process
}

// StartAlertmanager starts an Alertmanager for the test and stops it at
// cleanup.
func StartAlertmanager(t testing.TB) *Alertmanager {
	t.Helper()
	gobin := goBin()
	bin := findBinary(t, "alertmanager", "go install github.com/prometheus/alertmanager/cmd/alertmanager@"+AlertmanagerVersion, gobin)
	amtool := findBinary(t, "amtool", "go install github.com/prometheus/alertmanager/cmd/amtool@"+AlertmanagerVersion, gobin)
	dir := t.TempDir()
	port := FreePort(t)
	conf := `route:
  receiver: "null"
  group_by: [alert_id]
receivers:
  - name: "null"
`
	cf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	am := &Alertmanager{URL: "http://" + addr, Dir: dir, amtool: amtool, p: &process{
		t: t, name: "alertmanager", bin: bin, log: filepath.Join(dir, "alertmanager.log"),
		args: []string{"--config.file=" + cf, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=warn"},
		ready: httpReady("http://" + addr + "/-/ready"),
	}}
	am.p.start()
	t.Cleanup(func() { am.p.stop(syscall.SIGTERM) })
	return am
}

// Log returns the end of Alertmanager's log.
func (am *Alertmanager) Log() string { return am.p.tail() }

// AMAlert is one alert as amtool and the v2 API show it.
type AMAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"` // active, suppressed, unprocessed
	} `json:"status"`
}

// Query runs `amtool alert query -o json` with matchers against this
// Alertmanager: the alerts it holds that are not resolved.
func (am *Alertmanager) Query(ctx context.Context, matchers ...string) ([]AMAlert, error) {
	args := append([]string{"alert", "query", "--alertmanager.url=" + am.URL, "-o", "json"}, matchers...)
	cmd := exec.CommandContext(ctx, am.amtool, args...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("amtool %v: %w: %s", args, err, ee.Stderr)
		}
		return nil, fmt.Errorf("amtool %v: %w", args, err)
	}
	var alerts []AMAlert
	if err := json.Unmarshal(out, &alerts); err != nil {
		return nil, fmt.Errorf("amtool output %q: %w", out, err)
	}
	return alerts, nil
}

// goBin is where go install puts programs.
func goBin() string {
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		return gobin
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "bin")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "bin")
	}
	return ""
}

// httpReady is ready once url answers 200.
func httpReady(url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		return nil
	}
}
