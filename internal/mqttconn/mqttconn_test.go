package mqttconn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Options{Broker: "tcp://127.0.0.1:1883", MaxReconnect: time.Second}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for want, o := range map[string]Options{
		"want a URL":                        {Broker: "localhost", MaxReconnect: time.Second},
		`scheme "http"`:                     {Broker: "http://x:1", MaxReconnect: time.Second},
		"cert-file is set without key-file": {Broker: "ssl://x:8883", CertFile: "c.pem", MaxReconnect: time.Second},
		"must be positive":                  {Broker: "tcp://x:1"},
	} {
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: got %v, want %q", o, err, want)
		}
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	o := ok
	o.CAFile = bad
	if _, err := o.ClientOptions("x"); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("bad CA file: %v", err)
	}
	o.CAFile = ""
	o.Insecure = true
	co, err := o.ClientOptions("x")
	if err != nil || co.TLSConfig == nil || !co.TLSConfig.InsecureSkipVerify || co.MaxReconnectInterval != time.Second {
		t.Fatalf("options not applied: %v", err)
	}
}
