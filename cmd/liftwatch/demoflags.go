package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/embedded"
)

// demoRefused are serve's flags that the demo does not take, and why: it
// runs its own plain-TCP broker with no credentials.
var demoRefused = map[string]string{
	"mqtt.broker":               "the demo runs its own broker: choose its address with --broker.listen",
	"mqtt.username":             "the demo's embedded broker takes no credentials",
	"mqtt.password":             "the demo's embedded broker takes no credentials",
	"mqtt.ca-file":              "the demo's embedded broker speaks plain TCP, not TLS",
	"mqtt.cert-file":            "the demo's embedded broker speaks plain TCP, not TLS",
	"mqtt.key-file":             "the demo's embedded broker speaks plain TCP, not TLS",
	"mqtt.insecure-skip-verify": "the demo's embedded broker speaks plain TCP, not TLS",
}

// newDemoFlags makes the demo's flag set: serve's flags without those in
// demoRefused, the embedded broker's address, the simulator's flags under
// sim., with the demo's own defaults (shown by --help).
func newDemoFlags(stderr io.Writer, cfg *app.Config, o *simOptions, lo *logOptions) (*flag.FlagSet, *string) {
	fs := newFlags("demo", "Runs everything in one process with no external service: an embedded MQTT broker,\nthe service with the embedded store, and the simulated Jiangwan fleet (history\nbackfilled, then live).", stderr)
	serve := flag.NewFlagSet("serve", flag.ContinueOnError)
	registerServeFlags(serve, cfg) // fills cfg's defaults, refused flags included
	serve.VisitAll(func(f *flag.Flag) {
		if _, refused := demoRefused[f.Name]; !refused {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	brokerListen := fs.String("broker.listen", "127.0.0.1:18830", "address of the embedded MQTT broker")
	o.register(fs, "sim.")
	lo.register(fs)
	// Demo defaults differ from serve's: a fresh data dir, the embedded
	// broker, a day of history.
	for name, v := range map[string]string{
		"data.dir":                 "",
		"sim.backfill":             "24h",
		"sim.hostile":              "0.0005",
		"sim.per-lift-connections": "true",
		"ingest.max-unacked":       "70000",
	} {
		if err := fs.Set(name, v); err != nil {
			panic(fmt.Sprintf("demo default %s=%s: %v", name, v, err)) // a programming error, caught by the tests
		}
		fs.Lookup(name).DefValue = v
	}
	fs.Lookup("ingest.max-unacked").Usage = fmt.Sprintf("messages received but not yet acknowledged; keep at least the broker's per-client in-flight limit: the demo's embedded broker allows %d, hence this default (serve's is 20000)", embedded.MaxInflight)
	fs.Lookup("data.dir").Usage = "directory for the embedded database and the ingest spool (empty: a new temporary directory, removed at exit)"
	return fs, brokerListen
}

// refuseDemoFlags reports a serve flag that the demo does not take.
func refuseDemoFlags(args []string, stderr io.Writer) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") {
			continue
		}
		if why, ok := demoRefused[name]; ok {
			fmt.Fprintf(stderr, "liftwatch demo: --%s is not a demo flag: %s\n", name, why)
			return true
		}
	}
	return false
}
