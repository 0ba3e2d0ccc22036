package main

import (
	"flag"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"gopkg.in/yaml.v3"

	"github.com/liftwatch/liftwatch/internal/testrig"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       string            `yaml:"build"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
	} `yaml:"services"`
}

func readCompose(t *testing.T) compose {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

// TestComposeAgreesWithFlagsAndConfigs checks that docker-compose.yml, the
// Mosquitto and Prometheus configs and liftwatch's flags agree: every
// LIFTWATCH_ variable names a real flag of its subcommand, and service
// names, ports, credentials and topics line up.
func TestComposeAgreesWithFlagsAndConfigs(t *testing.T) {
	c := readCompose(t)
	for _, name := range []string{"mosquitto", "influxdb", "liftwatch", "simulator", "prometheus"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("service %s missing", name)
		}
	}
	flagSets := map[string]*flag.FlagSet{}
	fs, _, _ := newServeFlags(io.Discard)
	flagSets["serve"] = fs
	fs, _, _ = newSimFlags(io.Discard)
	flagSets["sim"] = fs
	for _, name := range []string{"liftwatch", "simulator"} {
		svc := c.Services[name]
		if svc.Build == "" || len(svc.Command) == 0 {
			t.Fatalf("%s: must build liftwatch and name a subcommand", name)
		}
		fs := flagSets[svc.Command[0]]
		if fs == nil {
			t.Fatalf("%s: command %v is not serve or sim", name, svc.Command)
		}
		known := map[string]bool{}
		fs.VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
		for k, v := range svc.Environment {
			if strings.HasPrefix(k, "LIFTWATCH_") && !known[k] {
				t.Errorf("%s: %s is not a flag of liftwatch %s", name, k, svc.Command[0])
			}
			if f := flagByEnv(fs, k); f != nil {
				if err := f.Value.Set(v); err != nil {
					t.Errorf("%s: %s=%q is not a valid value: %v", name, k, v, err)
				}
			}
		}
	}

	mosqConf := readFile(t, "../../deploy/mosquitto/mosquitto.conf")
	for _, want := range []string{"listener 1883", "allow_anonymous false", "password_file /mosquitto/config/passwd",
		"acl_file /mosquitto/config/acl", "persistence true", "max_queued_messages 0"} {
		if !strings.Contains(mosqConf, want) {
			t.Errorf("mosquitto.conf lacks %q", want)
		}
	}
	if !contains(c.Services["mosquitto"].Ports, "1883:1883") {
		t.Error("mosquitto must publish port 1883")
	}
	passwd := readFile(t, "../../deploy/mosquitto/passwd.plain")
	users := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(passwd), "\n") {
		u, p, _ := strings.Cut(line, ":")
		users[u] = p
	}
	for _, name := range []string{"liftwatch", "simulator"} {
		env := c.Services[name].Environment
		u, err := url.Parse(env["LIFTWATCH_MQTT_BROKER"])
		if err != nil || u.Hostname() != "mosquitto" || u.Port() != "1883" {
			t.Errorf("%s: LIFTWATCH_MQTT_BROKER %q must point at mosquitto:1883", name, env["LIFTWATCH_MQTT_BROKER"])
		}
		if p, ok := users[env["LIFTWATCH_MQTT_USERNAME"]]; !ok || p != env["LIFTWATCH_MQTT_PASSWORD"] {
			t.Errorf("%s: MQTT user %q and password do not match passwd.plain", name, env["LIFTWATCH_MQTT_USERNAME"])
		}
	}

	lw, influx := c.Services["liftwatch"].Environment, c.Services["influxdb"].Environment
	if u, _ := url.Parse(lw["LIFTWATCH_INFLUX_URL"]); u == nil || u.Hostname() != "influxdb" || u.Port() != "8086" {
		t.Errorf("LIFTWATCH_INFLUX_URL %q must point at influxdb:8086", lw["LIFTWATCH_INFLUX_URL"])
	}
	for lwKey, infKey := range map[string]string{"LIFTWATCH_INFLUX_ORG": "DOCKER_INFLUXDB_INIT_ORG",
		"LIFTWATCH_INFLUX_BUCKET": "DOCKER_INFLUXDB_INIT_BUCKET", "LIFTWATCH_INFLUX_TOKEN": "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN"} {
		if lw[lwKey] == "" || lw[lwKey] != influx[infKey] {
			t.Errorf("%s=%q must equal influxdb's %s=%q", lwKey, lw[lwKey], infKey, influx[infKey])
		}
	}
	_, port, err := net.SplitHostPort(lw["LIFTWATCH_HTTP_LISTEN"])
	if err != nil {
		t.Fatalf("LIFTWATCH_HTTP_LISTEN: %v", err)
	}
	if !contains(c.Services["liftwatch"].Ports, port+":"+port) {
		t.Errorf("liftwatch must publish its HTTP port %s", port)
	}
	prom := readFile(t, "../../deploy/prometheus/prometheus.yml")
	if !strings.Contains(prom, `"liftwatch:`+port+`"`) {
		t.Errorf("prometheus.yml must scrape liftwatch:%s", port)
	}
}

func flagByEnv(fs *flag.FlagSet, env string) *flag.Flag {
	var out *flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if envName(f.Name) == env {
			out = f
		}
	})
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// TestDeployACLOnRealMosquitto runs Mosquitto with the deployed ACL and
// passwords: a terminal may publish under its own lift only, liftwatch
// receives it, and a forged topic never reaches liftwatch.
func TestDeployACLOnRealMosquitto(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, []byte(readFile(t, "../../deploy/mosquitto/passwd.plain")), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		bin = "/usr/bin/mosquitto_passwd"
	}
	if out, err := exec.Command(bin, "-U", passwd).CombinedOutput(); err != nil {
		if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") != "1" {
			t.Skipf("mosquitto_passwd unavailable (apt-get install mosquitto): %v %s", err, out)
		}
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	broker := testrig.StartMosquitto(t, testrig.MosquittoOptions{PasswordFile: passwd, ACLFile: "../../deploy/mosquitto/acl"})
	users := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readFile(t, "../../deploy/mosquitto/passwd.plain")), "\n") {
		u, p, _ := strings.Cut(line, ":")
		users[u] = p
	}
	connect := func(user string, h mqtt.MessageHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID(user + "-test").SetUsername(user).SetPassword(users[user])
		if h != nil {
			o.SetDefaultPublishHandler(h)
		}
		c := mqtt.NewClient(o)
		if tok := c.Connect(); tok.Wait() && tok.Error() != nil {
			t.Fatalf("%s cannot connect: %v", user, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(50) })
		return c
	}
	got := make(chan string, 10)
	lw := connect("liftwatch", func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() })
	if tok := lw.Subscribe("lifts/+/+", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	term := connect("JW-0001", nil)
	term.Publish("lifts/JW-0002/alarm", 1, false, "forged").Wait()
	term.Publish("lifts/JW-0001/alarm", 1, false, "own").Wait()
	select {
	case topic := <-got:
		if topic != "lifts/JW-0001/alarm" {
			t.Fatalf("liftwatch received %s: the ACL let a terminal write under another lift", topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("liftwatch did not receive the terminal's own message")
	}
	// Wrong password is refused.
	bad := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("x").SetUsername("JW-0001").SetPassword("wrong"))
	if tok := bad.Connect(); tok.Wait() && tok.Error() == nil {
		bad.Disconnect(10)
		t.Fatal("wrong password accepted")
	}
	select {
	case topic := <-got:
		t.Fatalf("unexpected delivery %s", topic)
	case <-time.After(300 * time.Millisecond):
	}
}
