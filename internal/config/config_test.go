package config

import (
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"
)

type level int

func (l *level) String() string { return map[level]string{0: "low", 1: "high"}[*l] }
func (l *level) Set(s string) error {
	switch s {
	case "low":
		*l = 0
	case "high":
		*l = 1
	default:
		return flag.ErrHelp
	}
	return nil
}

type Inner struct {
	Broker string        `flag:"broker" help:"broker"`
	Wait   time.Duration `flag:"wait" help:"wait"`
}

type group struct {
	Inner
	ID string `flag:"client-id" help:"id"`
}

type sample struct {
	Name  string     `flag:"name" help:"a string"`
	Count int        `flag:"count" help:"an int"`
	Big   int64      `flag:"big" help:"an int64"`
	On    bool       `flag:"on" help:"a bool"`
	Ratio float64    `flag:"ratio" help:"a float"`
	Level level      `flag:"level" help:"a flag.Value"`
	Addr  netip.Addr `flag:"addr" help:"a TextUnmarshaler"`
	MQTT  group      `flag:"mqtt."`
	Flat  struct {
		Dir string `flag:"data.dir" help:"no prefix of its own"`
	}
	Internal string // no tag: not a flag
}

func TestBindDerivesFlagsFromTags(t *testing.T) {
	s := sample{Name: "n", Count: 3, Big: 2 << 40, Ratio: 0.5, Addr: netip.MustParseAddr("127.0.0.1")}
	s.MQTT.Broker, s.MQTT.Wait = "tcp://x:1", 5*time.Second
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	Bind(fs, "", &s)
	var names []string
	defs := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name); defs[f.Name] = f.DefValue })
	want := "addr big count data.dir level mqtt.broker mqtt.client-id mqtt.wait name on ratio"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("flags %q, want %q", got, want)
	}
	for name, def := range map[string]string{"name": "n", "count": "3", "big": "2199023255552", "ratio": "0.5",
		"mqtt.wait": "5s", "mqtt.broker": "tcp://x:1", "on": "false", "level": "low", "addr": "127.0.0.1"} {
		if defs[name] != def {
			t.Errorf("default of %s = %q, want %q", name, defs[name], def)
		}
	}
	err := fs.Parse([]string{"--name=m", "--count=4", "--big=5", "--on", "--ratio=1.5", "--level=high", "--addr=10.0.0.1",
		"--mqtt.broker=tcp://y:2", "--mqtt.wait=1m", "--mqtt.client-id=c", "--data.dir=/d"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "m" || s.Count != 4 || s.Big != 5 || !s.On || s.Ratio != 1.5 || s.Level != 1 || s.Addr.String() != "10.0.0.1" ||
		s.MQTT.Broker != "tcp://y:2" || s.MQTT.Wait != time.Minute || s.MQTT.ID != "c" || s.Flat.Dir != "/d" {
		t.Fatalf("fields not set through their flags: %+v", s)
	}
}

func TestBindPanicsOnProgrammingErrors(t *testing.T) {
	for name, v := range map[string]any{
		"no help": &struct {
			A string `flag:"a"`
		}{},
		"unsupported type": &struct {
			A []string `flag:"a" help:"h"`
		}{},
		"group tag": &struct {
			G struct{} `flag:"g"`
		}{},
		"not a pointer": struct{}{},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Bind did not panic", name)
				}
			}()
			Bind(flag.NewFlagSet("t", flag.ContinueOnError), "", v)
		}()
	}
}

func TestApplyEnvFillsUnsetFlagsOnly(t *testing.T) {
	var s struct {
		Broker string        `flag:"mqtt.broker" help:"b"`
		Wait   time.Duration `flag:"offline-after" help:"w"`
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	Bind(fs, "", &s)
	fs.Parse([]string{"--offline-after=1m"})
	env := map[string]string{"LIFTWATCH_MQTT_BROKER": "tcp://env:1", "LIFTWATCH_OFFLINE_AFTER": "soon"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	if err := ApplyEnv(fs, lookup); err != nil {
		t.Fatal(err)
	}
	if s.Broker != "tcp://env:1" || s.Wait != time.Minute {
		t.Fatalf("env not applied, or it beat the command line: %+v", s)
	}
	fs = flag.NewFlagSet("t", flag.ContinueOnError)
	Bind(fs, "", &s)
	fs.Parse(nil)
	err := ApplyEnv(fs, lookup)
	if err == nil || !strings.Contains(err.Error(), `invalid value "soon" for LIFTWATCH_OFFLINE_AFTER (flag --offline-after)`) {
		t.Fatalf("bad env value: %v", err)
	}
	if EnvName("mqtt.client-id") != "LIFTWATCH_MQTT_CLIENT_ID" {
		t.Fatal(EnvName("mqtt.client-id"))
	}
}

func TestPrintDefaultsWritesTwoDashes(t *testing.T) {
	var s struct {
		Broker string        `flag:"mqtt.broker" help:"the broker\non two lines"`
		Wait   time.Duration `flag:"w" help:"a -dash in the help"`
	}
	s.Broker = "tcp://x:1"
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	Bind(fs, "", &s)
	var b strings.Builder
	fs.SetOutput(&b)
	PrintDefaults(fs)
	want := "  --mqtt.broker string\n    \tthe broker\n    \ton two lines (default \"tcp://x:1\")\n  --w duration\n    \ta -dash in the help\n"
	if b.String() != want {
		t.Fatalf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	if fs.Output() != &b {
		t.Fatal("PrintDefaults did not restore the output")
	}
}

func TestUnknownEnvNamesTheVariableAndTheClosestKnown(t *testing.T) {
	known := []string{"LIFTWATCH_MQTT_BROKER", "LIFTWATCH_DATA_DIR", "LIFTWATCH_REQUIRE_SERVICES"}
	if err := UnknownEnv([]string{"PATH=/bin", "LIFTWATCH_DATA_DIR=/d", "LIFTWATCH_REQUIRE_SERVICES=1", "LIFTWATCHER=x"}, known); err != nil {
		t.Fatalf("known or foreign variables refused: %v", err)
	}
	err := UnknownEnv([]string{"LIFTWATCH_MQTT_BROKR=tcp://x:1", "LIFTWATCH_HTTP_PORT=18080", "LIFTWATCH_DATA_DIR=/d"}, known)
	if err == nil {
		t.Fatal("misspelt variables accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"environment variable LIFTWATCH_MQTT_BROKR is no setting of any liftwatch command (did you mean LIFTWATCH_MQTT_BROKER?)",
		"environment variable LIFTWATCH_HTTP_PORT is no setting of any liftwatch command; unset it",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "DATA_DIR") {
		t.Errorf("a known variable reported: %q", msg)
	}
}
