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
