package testrig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// MosquittoOptions tune a private broker.
type MosquittoOptions struct {
	// MaxInflight is max_inflight_messages per client (0: 1000).
	MaxInflight int
	// MaxQueued is max_queued_messages per client (0: no cap). A small cap
	// makes the broker drop what an absent client's session cannot queue,
	// as a stock Mosquitto (1000) does.
	MaxQueued int
	// PasswordFile and ACLFile, if set, turn anonymous access off.
	PasswordFile, ACLFile string
	// Extra lines appended to mosquitto.conf.
	Extra string
}

// Mosquitto is a private Mosquitto broker with persistence on and (unless
// MaxQueued is set) no cap on queued messages, so a persistent session loses nothing while its client is
// away, across broker restarts too.
type Mosquitto struct {
	Port int
	Addr string // host:port
	URL  string // tcp://host:port
	Dir  string
	p    *process
}

// StartMosquitto starts a broker for the test and stops it at cleanup.
func StartMosquitto(t testing.TB, opt MosquittoOptions) *Mosquitto {
	t.Helper()
	bin := findBinary(t, "mosquitto", "apt-get install -y mosquitto", "/usr/sbin")
	if opt.MaxInflight == 0 {
		opt.MaxInflight = 1000
	}
	dir := t.TempDir()
	port := FreePort(t)
	// Mosquitto started as root drops to the user "mosquitto", which cannot
	// write the persistence file into this test's directory; stay as the
	// invoking user (the option is ignored when not root).
	user := "user mosquitto"
	if os.Geteuid() == 0 {
		user = "user root"
	}
	auth := "allow_anonymous true"
	if opt.PasswordFile != "" {
		auth = "allow_anonymous false\npassword_file " + opt.PasswordFile
	}
	if opt.ACLFile != "" {
		auth += "\nacl_file " + opt.ACLFile
	}
	conf := fmt.Sprintf(`%s
listener %d 127.0.0.1
%s
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages %d
max_queued_bytes 0
max_inflight_messages %d
max_packet_size 1048576
log_dest stderr
log_type error
log_type warning
%s
`, user, port, auth, dir, opt.MaxQueued, opt.MaxInflight, opt.Extra)
	cf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	m := &Mosquitto{Port: port, Addr: addr, URL: "tcp://" + addr, Dir: dir, p: &process{
		t: t, name: "mosquitto", bin: bin, args: []string{"-c", cf}, log: filepath.Join(dir, "mosquitto.log"),
		ready: dialReady(addr),
	}}
	m.p.start()
	t.Cleanup(func() { m.p.stop(syscall.SIGTERM) })
	return m
}

// Stop shuts the broker down cleanly (it saves its persistence file).
func (m *Mosquitto) Stop() { m.p.stop(syscall.SIGTERM) }

// Start starts a stopped broker again on the same port with the same data.
func (m *Mosquitto) Start() { m.p.start() }

// Log returns the end of the broker's log.
func (m *Mosquitto) Log() string { return m.p.tail() }

// StartMosquittoConfig starts Mosquitto on conf, a whole configuration the
// caller wrote (a shipped one with its paths moved into dir and its
// listeners onto 127.0.0.1 at ports), and stops it at cleanup. It is ready
// once every port accepts connections; Port, Addr and URL are ports[0]'s.
// Started as root, it stays root (Mosquitto would drop to the user
// "mosquitto", who cannot read the test's files).
func StartMosquittoConfig(t testing.TB, dir, conf string, ports ...int) *Mosquitto {
	t.Helper()
	bin := findBinary(t, "mosquitto", "apt-get install -y mosquitto", "/usr/sbin")
	if len(ports) == 0 {
		t.Fatal("StartMosquittoConfig: no listener port")
	}
	if os.Geteuid() == 0 {
		conf = "user root\n" + conf
	}
	cf := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	m := &Mosquitto{Port: ports[0], Addr: addr, URL: "tcp://" + addr, Dir: dir, p: &process{
		t: t, name: "mosquitto", bin: bin, args: []string{"-c", cf}, log: filepath.Join(dir, "mosquitto.log"),
		ready: func(ctx context.Context) error {
			for _, p := range ports {
				if err := dialReady(fmt.Sprintf("127.0.0.1:%d", p))(ctx); err != nil {
					return err
				}
			}
			return nil
		},
	}}
	m.p.start()
	t.Cleanup(func() { m.p.stop(syscall.SIGTERM) })
	return m
}
