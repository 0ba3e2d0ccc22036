package app

import (
	"strings"
	"testing"
)

// TestDefaultConfigIsValidAndGroupsNameTheirFlags: the defaults pass; each
// group's broken constraint is reported with its flag, all at once.
func TestDefaultConfigIsValidAndGroupsNameTheirFlags(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	cfg.HTTP.Listen = "nope"
	cfg.Data.Dir = ""
	cfg.MQTT.ClientID = ""
	cfg.Telemetry.MaxPayload = 10
	cfg.Ingest.Shards = -1
	cfg.Influx.URL = "ftp://x"
	cfg.Debug.Listen = "6060"
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`http.listen "nope": want HOST:PORT`, "data.dir is required", "mqtt.client-id is required",
		"payload.max-bytes 10: must be at least 256", "ingest.shards -1: must not be negative", `influx.url "ftp://x"`,
		`debug.listen "6060": want HOST:PORT (or empty: off)`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 7 {
		t.Errorf("%d problems reported, want 7:\n%v", n, err)
	}
}

func TestRuntimeGCPercent(t *testing.T) {
	for v, ok := range map[int]bool{400: true, 100: true, 10: true, 0: true, -1: true, 5: false, -2: false} {
		errs := (&RuntimeConfig{GCPercent: v}).Validate()
		if ok != (len(errs) == 0) {
			t.Errorf("gc-percent %d: errors %v, want ok=%v", v, errs, ok)
		}
		if !ok && !strings.Contains(errs[0].Error(), "runtime.gc-percent") {
			t.Errorf("gc-percent %d: %v does not name the flag", v, errs[0])
		}
	}
}
