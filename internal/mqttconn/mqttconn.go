// Package mqttconn holds the broker connection settings shared by everything
// in liftwatch that talks MQTT (ingest, simulator): address, credentials, TLS
// and reconnect policy.
package mqttconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/internal/config"
)

// Options are the connection settings. The struct tags give each field's
// flag (under the prefix RegisterFlags or config.Bind is given) and help.
type Options struct {
	Broker   string `flag:"broker" help:"MQTT broker URL: tcp://host:port (or mqtt://), ssl://host:port for TLS (or tls://, mqtts://), ws:// or wss://"`
	Username string `flag:"username" help:"MQTT username"`
	Password string `flag:"password" help:"MQTT password"`
	CAFile   string `flag:"ca-file" help:"PEM CA bundle to verify the broker's TLS certificate"` // PEM CA bundle to verify the broker
	CertFile string `flag:"cert-file" help:"client TLS certificate (PEM)"`                       // client certificate (mutual TLS)
	KeyFile  string `flag:"key-file" help:"client TLS key (PEM)"`                                //
	Insecure bool   `flag:"insecure-skip-verify" help:"do not verify the broker's TLS certificate (testing only)"`
	// MaxReconnect bounds the reconnect backoff (paho's default is 10 min).
	MaxReconnect time.Duration `flag:"max-reconnect-interval" help:"longest wait between reconnect attempts"`
}

// DefaultMaxReconnect is the default bound of the reconnect backoff.
const DefaultMaxReconnect = 5 * time.Second

// Defaults are the default settings for a broker.
func Defaults(broker string) Options {
	return Options{Broker: broker, MaxReconnect: DefaultMaxReconnect}
}

// RegisterFlags sets o to Defaults(defBroker) and adds the connection flags
// to fs with the given prefix ("mqtt." gives -mqtt.broker and so on).
func (o *Options) RegisterFlags(fs *flag.FlagSet, prefix, defBroker string) {
	*o = Defaults(defBroker)
	config.Bind(fs, prefix, o)
}

// Schemes are the broker URL schemes liftwatch can dial.
var schemes = []string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}

// Validate checks the settings and says precisely what is wrong.
func (o *Options) Validate() error { return errors.Join(o.ValidateFlags("")...) }

// ValidateFlags checks the settings and returns one error per broken
// constraint, each naming its flag as registered with prefix (RegisterFlags).
func (o *Options) ValidateFlags(prefix string) []error {
	var errs []error
	u, err := url.Parse(o.Broker)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		errs = append(errs, fmt.Errorf("%sbroker %q: want a URL like tcp://127.0.0.1:1883", prefix, o.Broker))
	case !slices.Contains(schemes, u.Scheme):
		errs = append(errs, fmt.Errorf("%sbroker %q: scheme %q not supported: want one of %s",
			prefix, o.Broker, u.Scheme, strings.Join(schemes, ", ")))
	}
	if o.CertFile != "" && o.KeyFile == "" {
		errs = append(errs, fmt.Errorf("%scert-file is set without %skey-file: client TLS needs both", prefix, prefix))
	}
	if o.KeyFile != "" && o.CertFile == "" {
		errs = append(errs, fmt.Errorf("%skey-file is set without %scert-file: client TLS needs both", prefix, prefix))
	}
	if o.MaxReconnect <= 0 {
		errs = append(errs, fmt.Errorf("%smax-reconnect-interval %v: must be positive", prefix, o.MaxReconnect))
	}
	return errs
}

// ClientOptions builds paho options for clientID. Callers add handlers and
// session settings.
func (o *Options) ClientOptions(clientID string) (*mqtt.ClientOptions, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	co := mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(clientID).
		SetUsername(o.Username).SetPassword(o.Password).
		SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).SetMaxReconnectInterval(o.MaxReconnect).
		SetConnectTimeout(10 * time.Second).SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).SetWriteTimeout(10 * time.Second)
	if o.CAFile != "" || o.CertFile != "" || o.Insecure {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // opt-in for tests
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s holds no PEM certificate", o.CAFile)
			}
			tc.RootCAs = pool
		}
		if o.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("load client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		co.SetTLSConfig(tc)
	}
	if u, _ := url.Parse(o.Broker); u != nil {
		switch u.Scheme {
		case "tcp", "mqtt", "ssl", "tls", "mqtts":
			co.SetCustomOpenConnectionFn(openBuffered)
		}
	}
	return co, nil
}
