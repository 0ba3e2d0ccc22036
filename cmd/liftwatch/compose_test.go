package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
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
		CPUShares   int               `yaml:"cpu_shares"` // 0: Docker's default, 1024
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Healthcheck struct {
			Test    []string `yaml:"test"`
			Disable bool     `yaml:"disable"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
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
	for _, want := range []string{"per_listener_settings true", "listener 1883\nallow_anonymous false\npassword_file /mosquitto/config/terminals.passwd\n" +
		"acl_file /mosquitto/config/terminals.acl\nuse_username_as_clientid true\n", "listener 1884\nallow_anonymous false\n" +
		"password_file /mosquitto/config/services.passwd\nacl_file /mosquitto/config/services.acl\n", "persistence true", "max_queued_messages 0"} {
		if !strings.Contains(mosqConf, want) {
			t.Errorf("mosquitto.conf lacks %q", want)
		}
	}
	published := publishedPorts(t, c.Services["mosquitto"].Ports)
	if published["1883"] == "" {
		t.Error("mosquitto must publish the terminals' port 1883")
	}
	if published["1884"] != "" {
		t.Error("mosquitto must not publish the services' port 1884: liftwatch reaches it inside the compose network")
	}
	// liftwatch on the services' listener, the simulator (standing for the
	// terminals) on theirs, each with an account of that listener.
	for _, s := range []struct{ name, port, passwd string }{{"liftwatch", "1884", "services"}, {"simulator", "1883", "terminals"}} {
		users := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(readFile(t, "../../deploy/mosquitto/"+s.passwd+".passwd.plain")), "\n") {
			u, p, _ := strings.Cut(line, ":")
			users[u] = p
		}
		env := c.Services[s.name].Environment
		u, err := url.Parse(env["LIFTWATCH_MQTT_BROKER"])
		if err != nil || u.Hostname() != "mosquitto" || u.Port() != s.port {
			t.Errorf("%s: LIFTWATCH_MQTT_BROKER %q must point at mosquitto:%s", s.name, env["LIFTWATCH_MQTT_BROKER"], s.port)
		}
		if p, ok := users[env["LIFTWATCH_MQTT_USERNAME"]]; !ok || p != env["LIFTWATCH_MQTT_PASSWORD"] {
			t.Errorf("%s: MQTT user %q and password do not match %s.passwd.plain", s.name, env["LIFTWATCH_MQTT_USERNAME"], s.passwd)
		}
	}
	// On the terminals' listener a client's ID is its user name: the
	// simulator's shared connections would take each other's session.
	if n := c.Services["simulator"].Environment["LIFTWATCH_CONNECTIONS"]; n != "1" {
		t.Errorf("simulator: LIFTWATCH_CONNECTIONS %q, want 1 (one connection per user name on the terminals' listener)", n)
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
	if p := publishedPorts(t, c.Services["liftwatch"].Ports); p[port] == "" {
		t.Errorf("liftwatch must publish its HTTP port %s", port)
	}
	prom := readFile(t, "../../deploy/prometheus/prometheus.yml")
	if !strings.Contains(prom, `"liftwatch:`+port+`"`) {
		t.Errorf("prometheus.yml must scrape liftwatch:%s", port)
	}
}

var portRE = regexp.MustCompile(`^\$\{([A-Z_]+):-([0-9]+)\}:([0-9]+)$`)

// publishedPorts maps a service's container ports to the .env variable that
// sets their host port; every port must be "${VAR:-default}:port".
func publishedPorts(t *testing.T, ports []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range ports {
		m := portRE.FindStringSubmatch(p)
		if m == nil {
			t.Errorf("port %q: want \"${VAR:-hostport}:containerport\", the host port configurable in .env", p)
			continue
		}
		out[m[3]] = m[1]
	}
	return out
}

func readDotEnv(t *testing.T) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, line := range strings.Split(readFile(t, "../../.env"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf(".env: %q is not VAR=value", line)
		}
		env[k] = v
	}
	return env
}

// TestComposeFirstStartInvariants checks what docker compose needs to work
// on a first start (images cannot be pulled here, so the file is checked):
// host ports from .env that keep clear of a broker on 1883, healthchecks
// with service_healthy ordering so the simulator publishes only once
// liftwatch is subscribed, and a data volume the non-root user can write.
func TestComposeFirstStartInvariants(t *testing.T) {
	c := readCompose(t)
	dotEnv := readDotEnv(t)
	hostPorts := map[string]string{}
	for name, svc := range c.Services {
		for _, p := range svc.Ports {
			m := portRE.FindStringSubmatch(p)
			if m == nil {
				t.Errorf("%s: port %q: want \"${VAR:-hostport}:containerport\"", name, p)
				continue
			}
			v, def := m[1], m[2]
			if dotEnv[v] != def {
				t.Errorf("%s: %s defaults to %s in docker-compose.yml but is %q in .env", name, v, def, dotEnv[v])
			}
			if other, dup := hostPorts[def]; dup {
				t.Errorf("host port %s used by %s and %s", def, other, name)
			}
			hostPorts[def] = name
			switch def {
			case "1883", "8883", "8080", "8086", "9090":
				t.Errorf("%s: host port %s collides with a service commonly running already (a broker on 1883)", name, def)
			}
		}
	}

	// Start order by health.
	for svc, deps := range map[string][]string{"liftwatch": {"mosquitto", "influxdb"}, "simulator": {"mosquitto", "liftwatch"}} {
		for _, d := range deps {
			if got := c.Services[svc].DependsOn[d].Condition; got != "service_healthy" {
				t.Errorf("%s must wait for %s to be healthy (depends_on condition %q)", svc, d, got)
			}
		}
	}
	for name, svc := range c.Services {
		for d, dep := range svc.DependsOn {
			if dep.Condition == "service_healthy" && (len(c.Services[d].Healthcheck.Test) == 0 || c.Services[d].Healthcheck.Disable) {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, d, d)
			}
		}
	}
	if !c.Services["simulator"].Healthcheck.Disable {
		t.Error("simulator: the image's HEALTHCHECK asks a liftwatch /readyz the simulator does not serve: disable it")
	}

	// liftwatch's healthcheck is its own healthcheck command on its own
	// /readyz; run it (with the address moved) against a server that is
	// ready, then one that is not.
	lw := c.Services["liftwatch"]
	hc := lw.Healthcheck.Test
	if len(hc) < 4 || hc[0] != "CMD" || hc[1] != "/liftwatch" || hc[2] != "healthcheck" {
		t.Fatalf("liftwatch healthcheck %v: want [CMD /liftwatch healthcheck --url …]", hc)
	}
	_, port, _ := net.SplitHostPort(lw.Environment["LIFTWATCH_HTTP_LISTEN"])
	want := "http://127.0.0.1:" + port + "/readyz"
	if !slices.Contains(hc, want) {
		t.Errorf("liftwatch healthcheck %v must ask %s", hc, want)
	}
	for code, exit := range map[int]int{200: 0, 503: 1} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(code)
		}))
		args := slices.Clone(hc[2:])
		args[slices.Index(args, want)] = srv.URL + "/readyz"
		if got, _, errs := runCLI(args); got != exit {
			t.Errorf("liftwatch %v against a /readyz answering %d: exit %d, want %d (%s)", args, code, got, exit, errs)
		}
		srv.Close()
	}

	// The data volume: a named volume at the data dir, which the image
	// creates owned by its non-root user (a named volume starts as a copy of
	// the image's directory, ownership included).
	dataDir := lw.Environment["LIFTWATCH_DATA_DIR"]
	mounted := false
	for _, v := range lw.Volumes {
		src, dst, _ := strings.Cut(v, ":")
		if dst == dataDir {
			if _, named := c.Volumes[src]; !named {
				t.Errorf("liftwatch data dir %s is mounted from %q, not a named volume", dataDir, src)
			}
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("liftwatch data dir %s has no volume", dataDir)
	}
	docker := readFile(t, "../../Dockerfile")
	final := docker[strings.LastIndex(docker, "\nFROM "):]
	for _, want := range []string{"USER nonroot", "--chown=65532:65532 /out/data " + dataDir + "\n",
		`HEALTHCHECK `, `CMD ["/liftwatch", "healthcheck"`} {
		if !strings.Contains(final, want) {
			t.Errorf("Dockerfile's final stage lacks %q", want)
		}
	}
	if !strings.Contains(docker, "RUN mkdir -p /out/data") {
		t.Error("Dockerfile: the build stage must create /out/data for the data dir")
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

// TestDeployACLOnRealMosquitto runs Mosquitto on the deployed configuration
// (deploy/mosquitto: listeners, passwords and ACLs): a terminal may publish
// under its own lift only, liftwatch receives it on the services'
// listener, and a forged topic never reaches liftwatch.
func TestDeployACLOnRealMosquitto(t *testing.T) {
	broker := startDeployBroker(t)
	connect := func(url, user, password string, h mqtt.MessageHandler) mqtt.Client {
		o := mqtt.NewClientOptions().AddBroker(url).SetClientID(user + "-test").SetUsername(user).SetPassword(password)
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
	lw := connect(broker.services, "liftwatch", broker.serviceUsers["liftwatch"], func(_ mqtt.Client, m mqtt.Message) { got <- m.Topic() })
	if tok := lw.Subscribe("lifts/+/+", 1, nil); tok.Wait() && tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	term := connect(broker.terminals, "JW-0001", broker.terminalUsers["JW-0001"], nil)
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
	// The compose healthcheck of mosquitto, run against this broker: healthy
	// with the deployed passwords and ACL, unhealthy where nothing listens.
	hc := readCompose(t).Services["mosquitto"].Healthcheck.Test
	if len(hc) != 2 || hc[0] != "CMD-SHELL" || !strings.Contains(hc[1], "-p 1884") {
		t.Fatalf("mosquitto healthcheck %v: want [CMD-SHELL \"… -p 1884 …\"], liftwatch's login on the services' listener", hc)
	}
	healthcheck := func(port int) error {
		cmd := strings.ReplaceAll(strings.Replace(hc[1], "-p 1884", fmt.Sprintf("-p %d", port), 1), "$$", "$")
		return exec.Command("sh", "-c", cmd).Run()
	}
	if err := healthcheck(broker.servicePort); err != nil {
		t.Fatalf("mosquitto healthcheck fails on a healthy broker: %v", err)
	}
	if err := healthcheck(testrig.FreePort(t)); err == nil {
		t.Fatal("mosquitto healthcheck passes with no broker")
	}
	// Wrong password is refused.
	bad := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.terminals).SetClientID("x").SetUsername("JW-0001").SetPassword("wrong"))
	if tok := bad.Connect(); tok.Wait() && tok.Error() == nil {
		bad.Disconnect(10)
		t.Fatal("wrong password accepted")
	}
	// Nothing forged may arrive late. The own message may come again: QoS 1
	// is at least once, and a loaded broker resends it when the ack is slow.
	late := time.After(300 * time.Millisecond)
	for {
		select {
		case topic := <-got:
			if topic != "lifts/JW-0001/alarm" {
				t.Fatalf("unexpected delivery %s: the ACL let a terminal write under another lift", topic)
			}
		case <-late:
			return
		}
	}
}

// TestComposeHostPortsAreNoSettings: .env's host ports are compose's, not
// liftwatch's: none is in the LIFTWATCH_ namespace, where liftwatch would
// refuse it as an unknown setting (a shell that sources .env runs liftwatch).
func TestComposeHostPortsAreNoSettings(t *testing.T) {
	var environ []string
	for k, v := range readDotEnv(t) {
		if strings.HasPrefix(k, "LIFTWATCH_") {
			t.Errorf(".env: %s looks like a liftwatch setting but is a compose host port: name it outside LIFTWATCH_ (LW_HOST_…)", k)
		}
		environ = append(environ, k+"="+v)
	}
	if code, _, errs := runCLI([]string{"fleet", "--lifts", "1"}, environ...); code != 0 {
		t.Errorf("liftwatch with .env's variables set: exit %d: %s", code, errs)
	}
}

// TestComposeWeighsTheAlertPathFirst: on a shared host the alert path
// (Mosquitto, liftwatch) outweighs history (InfluxDB) and the simulator,
// which stands for terminals elsewhere, by as much as the latency benchmark
// puts them below it: niceness 10, whose kernel weight is 110 against 1024
// for niceness 0 (docs/deploy.md, "CPU on a shared host").
func TestComposeWeighsTheAlertPathFirst(t *testing.T) {
	c := readCompose(t)
	weight := func(name string) int {
		s, ok := c.Services[name]
		if !ok {
			t.Fatalf("docker-compose.yml has no service %s", name)
		}
		if s.CPUShares == 0 {
			return 1024
		}
		return s.CPUShares
	}
	// The kernel's sched_prio_to_weight: niceness 0 is 1024, 10 is 110.
	for _, c := range []struct {
		name         string
		nice, weight int
	}{{"mosquitto", 0, 1024}, {"liftwatch", 0, 1024}, {"influxdb", 10, 110}, {"simulator", 10, 110}} {
		if got := weight(c.name); got != c.weight {
			t.Errorf("%s's cpu_shares is %d, want %d (the weight of niceness %d, as BenchmarkAlertLatency runs it)", c.name, got, c.weight, c.nice)
		}
	}
}
