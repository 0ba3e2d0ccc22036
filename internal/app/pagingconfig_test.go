package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/alerts/paging"
)

// TestPagingConfig: the paging: section overrides the defaults; every
// unknown key and bad value is reported at its line.
func TestPagingConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("paging:\n  ack_timeout: 90s\n  types: [entrapment, \"fault.*\"]\n  min_severity: none\n"), 0o644)
	cfg, err := LoadAlertsConfig(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Paging.AckTimeout != 90*time.Second || cfg.Paging.MaxAttempts != paging.DefaultConfig().MaxAttempts ||
		!cfg.Paging.Pages("fault.door_lock", 0) || cfg.Paging.Pages("offline", 4) {
		t.Fatalf("paging %+v", cfg.Paging)
	}
	if def, _ := LoadAlertsConfig(""); def.Paging.AckTimeout != 2*time.Minute || !def.Paging.Pages("entrapment", 0) {
		t.Fatalf("defaults %+v", def.Paging)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("paging:\n  ack_timeout: -1m\n  max_attemps: 3\n  min_severity: loud\n"), 0o644)
	_, err = LoadAlertsConfig(bad)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 3: unknown key paging.max_attemps (did you mean max_attempts?)",
		"line 2: paging: ack_timeout must be positive", `line 4: paging: min_severity "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
