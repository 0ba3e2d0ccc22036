package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/itest"
	"github.com/liftwatch/liftwatch/internal/testrig"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// deployBroker is Mosquitto on deploy/mosquitto as shipped: only the paths
// (/mosquitto/config/, /mosquitto/data/) and the listeners' ports are
// rewritten, and the password files are made from their development
// .plain lists with mosquitto_passwd, as entrypoint.sh does.
type deployBroker struct {
	*testrig.Mosquitto
	terminals, services         string            // tcp:// URLs of the terminals' listener (1883) and the services' (1884)
	terminalPort, servicePort   int               //
	terminalUsers, serviceUsers map[string]string // user → password of each listener's password file
}

func startDeployBroker(t *testing.T) *deployBroker {
	t.Helper()
	passwdBin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		passwdBin = "/usr/bin/mosquitto_passwd"
	}
	if _, err := os.Stat(passwdBin); err != nil {
		if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") != "1" {
			t.Skipf("mosquitto_passwd unavailable (apt-get install mosquitto): %v", err)
		}
		t.Fatalf("mosquitto_passwd: %v", err)
	}
	conf := readFile(t, "../../deploy/mosquitto/mosquitto.conf")
	entry := readFile(t, "../../deploy/mosquitto/entrypoint.sh")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := &deployBroker{terminalPort: testrig.FreePort(t), servicePort: testrig.FreePort(t),
		terminalUsers: map[string]string{}, serviceUsers: map[string]string{}}
	ports := map[string]int{"1883": b.terminalPort, "1884": b.servicePort}
	users := map[string]map[string]string{"1883": b.terminalUsers, "1884": b.serviceUsers}
	var out []string
	listener := ""
	for _, line := range strings.Split(conf, "\n") {
		key, val, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch key {
		case "listener":
			p, ok := ports[val]
			if !ok {
				t.Fatalf("mosquitto.conf: listener %q: the test knows 1883 (terminals) and 1884 (services)", val)
			}
			listener = val
			line = fmt.Sprintf("listener %d 127.0.0.1", p)
		case "password_file", "acl_file":
			name := path.Base(val)
			if val != "/mosquitto/config/"+name || !strings.Contains(entry, name) {
				t.Fatalf("mosquitto.conf: %s %s is not a file entrypoint.sh installs in /mosquitto/config/", key, val)
			}
			if key == "acl_file" {
				writeFile(t, filepath.Join(dir, name), readFile(t, "../../deploy/mosquitto/"+name), 0o600)
				break
			}
			plain := readFile(t, "../../deploy/mosquitto/"+name+".plain")
			for _, l := range strings.Split(strings.TrimSpace(plain), "\n") {
				u, p, _ := strings.Cut(l, ":")
				users[listener][u] = p
			}
			writeFile(t, filepath.Join(dir, name), plain, 0o600)
			if out, err := exec.Command(passwdBin, "-U", filepath.Join(dir, name)).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd -U %s: %v %s", name, err, out)
			}
		}
		out = append(out, line)
	}
	conf = strings.Join(out, "\n")
	conf = strings.ReplaceAll(conf, "/mosquitto/config/", dir+"/")
	conf = strings.ReplaceAll(conf, "/mosquitto/data/", dir+"/data/")
	if strings.Contains(conf, "/mosquitto/") {
		t.Fatalf("mosquitto.conf names a path the test does not move:\n%s", conf)
	}
	if len(b.terminalUsers) == 0 || len(b.serviceUsers) == 0 {
		t.Fatalf("mosquitto.conf: want a password file on each listener, have terminals %v, services %v", b.terminalUsers, b.serviceUsers)
	}
	b.Mosquitto = testrig.StartMosquittoConfig(t, dir, conf, b.terminalPort, b.servicePort)
	b.terminals = fmt.Sprintf("tcp://127.0.0.1:%d", b.terminalPort)
	b.services = fmt.Sprintf("tcp://127.0.0.1:%d", b.servicePort)
	return b
}

func writeFile(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// dial connects to url as user with clientID (clean session as given),
// returning the error of the CONNECT.
func dial(url, user, password, clientID string, clean bool) (mqtt.Client, error) {
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(clientID).SetUsername(user).SetPassword(password).
		SetCleanSession(clean).SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(15 * time.Second) {
		return nil, fmt.Errorf("connect %s as %s: no answer", url, user)
	}
	return c, tok.Error()
}

// TestDeployBrokerSessionCannotBeTaken: on the shipped broker
// configuration, liftwatch's session cannot be taken. Issue 17, finding 4:
// a terminal's user name and password connected as client ID
// liftwatch-ingest (and -urgent), the two sessions kicked each other off 26
// times, and 7 of 20 entrapments became alerts. Here liftwatch runs as
// shipped (both lanes) on the services' listener; terminal and simulator
// credentials are refused there, and on the terminals' listener they keep
// connecting with liftwatch's client IDs, clean sessions too, while 20
// entrapments are published: liftwatch is never disconnected and all 20
// become alerts.
func TestDeployBrokerSessionCannotBeTaken(t *testing.T) {
	b := startDeployBroker(t)
	for u := range b.terminalUsers {
		if strings.HasPrefix(u, "liftwatch") {
			t.Errorf("terminals.passwd has %q: a terminal's client ID is its user name, and liftwatch-* are liftwatch's", u)
		}
	}
	for u := range b.serviceUsers {
		if _, both := b.terminalUsers[u]; both {
			t.Errorf("%q has an account on both listeners", u)
		}
	}

	logs := &lockedBuffer{}
	cfg := app.DefaultConfig()
	cfg.Data.Dir, cfg.HTTP.Listen, cfg.MQTT.Broker = t.TempDir(), "127.0.0.1:0", b.services
	cfg.MQTT.Username, cfg.MQTT.Password = "liftwatch", b.serviceUsers["liftwatch"]
	if cfg.MQTT.ClientID != "liftwatch-ingest" || !cfg.MQTT.UrgentLane {
		t.Fatalf("liftwatch's defaults changed (client ID %q, urgent lane %v): update the attack", cfg.MQTT.ClientID, cfg.MQTT.UrgentLane)
	}
	ids := []string{cfg.MQTT.ClientID, cfg.MQTT.ClientID + "-urgent"}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	base := "http://" + a.HTTPAddr()
	itest.WaitUntil(t, time.Minute, "liftwatch subscribed (/readyz 200)", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// The simulator as docker-compose.yml runs it (its account, one
	// connection) on the terminals' listener: everything it sends reaches
	// liftwatch.
	sim := readCompose(t).Services["simulator"].Environment
	before := metric(base, "liftwatch_ingest_messages_accepted_total")
	code, out, errs := runCLI([]string{"sim", "--mqtt.broker", b.terminals, "--backfill", "10m", "--speed", "0", "--resend-prob", "0"},
		"LIFTWATCH_MQTT_USERNAME="+sim["LIFTWATCH_MQTT_USERNAME"], "LIFTWATCH_MQTT_PASSWORD="+sim["LIFTWATCH_MQTT_PASSWORD"],
		"LIFTWATCH_CONNECTIONS="+sim["LIFTWATCH_CONNECTIONS"])
	if code != 0 {
		t.Fatalf("sim as compose runs it: exit %d: %s %s", code, out, errs)
	}
	sent := 0.0
	for _, line := range strings.Split(out+errs, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "total" {
			fmt.Sscan(f[1], &sent)
		}
	}
	if sent < 100 {
		t.Fatalf("the simulator sent %v messages:\n%s%s", sent, out, errs)
	}
	deadline := time.Now().Add(time.Minute)
	for metric(base, "liftwatch_ingest_messages_accepted_total")-before < sent && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := metric(base, "liftwatch_ingest_messages_accepted_total") - before; got != sent {
		t.Errorf("liftwatch accepted %v of the simulator's %v messages (received %v)\n%s", got, sent,
			metric(base, "liftwatch_ingest_messages_received_total"), out)
	}

	// The services' listener refuses every credential but the services'.
	for _, who := range []struct{ user, password string }{{"JW-0001", b.terminalUsers["JW-0001"]}, {"simulator", b.terminalUsers["simulator"]}} {
		for _, id := range ids {
			if c, err := dial(b.services, who.user, who.password, id, true); err == nil {
				c.Disconnect(10)
				t.Errorf("the services' listener accepted %s's credentials as %s", who.user, id)
			}
		}
	}
	if c, err := dial(b.terminals, "liftwatch", b.serviceUsers["liftwatch"], "x", true); err == nil {
		c.Disconnect(10)
		t.Error("the terminals' listener accepted liftwatch's credentials: service accounts belong on the services' listener")
	}

	// The simulator's credentials, tried with liftwatch's client IDs on the
	// terminals' listener, connect as "simulator" and take nothing.
	for _, id := range ids {
		c, err := dial(b.terminals, "simulator", b.terminalUsers["simulator"], id, true)
		if err != nil {
			t.Fatalf("the simulator cannot connect to the terminals' listener: %v", err)
		}
		c.Disconnect(0)
	}

	// The attack: two terminals' credentials connect on the terminals'
	// listener with liftwatch's client IDs, over and over, until the
	// entrapments are all in.
	var attempts, accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		who := []struct{ user, password string }{{"JW-0001", b.terminalUsers["JW-0001"]}, {"JW-0002", b.terminalUsers["JW-0002"]}}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w := who[i%2]
			attempts.Add(1)
			c, err := dial(b.terminals, w.user, w.password, ids[(i/2)%2], i%3 != 0)
			if err != nil {
				continue
			}
			accepted.Add(1)
			time.Sleep(20 * time.Millisecond) // hold the connection a moment, as a squatter would
			c.Disconnect(0)
		}
	}()

	// The simulator publishes an entrapment on each of 20 lifts during the
	// attack, on the terminals' listener (its client ID is its user name).
	pub, err := dial(b.terminals, "simulator", b.terminalUsers["simulator"], "simulator", true)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(50)
	// 20 lifts without a rescue open already (the simulator may have
	// trapped someone).
	var lifts []registry.Lift
	for _, l := range a.Registry().Lifts() {
		if !slices.ContainsFunc(a.Engine().Open(), func(al *alerts.Alert) bool { return al.Rescue && al.Lift == l.ID }) && len(lifts) < 20 {
			lifts = append(lifts, l)
		}
	}
	if len(lifts) != 20 {
		t.Fatalf("only %d lifts without an open rescue", len(lifts))
	}
	for i, l := range lifts {
		// A boot after any the simulator used: new messages of each lift.
		m := &telemetry.Message{Kind: telemetry.KindFault, Lift: l.ID, Boot: 1 << 20, Seq: 1, TS: time.Now().UnixMilli(),
			Code: "entrapment", State: telemetry.FaultActive, Floor: 2}
		tok := pub.Publish(telemetry.Topic(telemetry.DefaultRoot, l.ID, telemetry.KindFault), 1, false, telemetry.AppendJSON(nil, m))
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish entrapment %d: %v", i, tok.Error())
		}
		time.Sleep(50 * time.Millisecond)
	}
	rescues := func() int {
		n := 0
		for _, al := range a.Engine().Open() {
			for _, l := range lifts {
				if al.Rescue && al.Lift == l.ID {
					n++
				}
			}
		}
		return n
	}
	deadline = time.Now().Add(time.Minute)
	for rescues() < len(lifts) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("attack: %d connections with liftwatch's client IDs tried on the terminals' listener, %d accepted (under the terminal's own ID)",
		attempts.Load(), accepted.Load())
	if got := rescues(); got != len(lifts) {
		t.Errorf("%d of %d entrapments became alerts during the attack\nliftwatch log:\n%s\nbroker log:\n%s", got, len(lifts), logs.String(), b.Log())
	}
	if accepted.Load() == 0 {
		t.Fatalf("no attacking connection was accepted (%d tried): the attack did not happen, the test proves nothing\nbroker log:\n%s",
			attempts.Load(), b.Log())
	}
	// The broker's own account of it: every connection under liftwatch's
	// client IDs is liftwatch's, and the attackers were connected under
	// their user names.
	brokerLog := readFile(t, filepath.Join(b.Dir, "mosquitto.log"))
	asTerminal := 0
	for _, line := range strings.Split(brokerLog, "\n") {
		if !strings.Contains(line, "New client connected") {
			continue
		}
		if strings.Contains(line, " as liftwatch-ingest") && !strings.Contains(line, "u'liftwatch')") {
			t.Errorf("the broker let another account use liftwatch's client ID: %s", line)
		}
		if strings.Contains(line, " as JW-0001 (") || strings.Contains(line, " as JW-0002 (") {
			asTerminal++
		}
	}
	if asTerminal == 0 {
		t.Errorf("the broker's log shows no attacker connected under its user name:\n%s", b.Log())
	}
	if n := metric(base, "liftwatch_ingest_broker_reconnects_total"); n != 0 {
		t.Errorf("liftwatch reconnected %v times: its session was taken", n)
	}
	if strings.Contains(logs.String(), "broker connection lost") {
		t.Errorf("liftwatch lost its broker connection during the attack:\n%s", logs.String())
	}
}
