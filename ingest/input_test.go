package ingest_test

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/ingest"
	"github.com/liftwatch/liftwatch/internal/mqttconn"
	"github.com/liftwatch/liftwatch/registry"
)

// TestSharedGroupWarnsAtStart: a shared subscription is logged at start as
// unsafe for production, naming the setting; without it nothing is said.
func TestSharedGroupWarnsAtStart(t *testing.T) {
	fleet, _ := registry.Jiangwan()
	for _, group := range []string{"", "liftwatch"} {
		var logs logBuffer
		ing, err := ingest.New(ingest.Config{SpoolDir: t.TempDir(), Logger: quietLogger(&logs)}, registry.NewIndex(fleet), refusingSink{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ingest.NewReceiver(ingest.ReceiverConfig{ClientID: "lw", SharedGroup: group,
			Conn: mqttconn.Options{Broker: "tcp://127.0.0.1:1883", MaxReconnect: time.Second}}, ing); err != nil {
			t.Fatal(err)
		}
		n := logs.count("mqtt.shared-group is unsafe for production")
		if group == "" && n != 0 || group != "" && (n != 1 || logs.count("level=WARN") != 1) {
			t.Fatalf("group %q: warning logged %d times:\n%s", group, n, logs.b.String())
		}
		ing.Spool().Close()
	}
}
