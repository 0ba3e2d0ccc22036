// Command liftwatch monitors retrofitted lifts: it ingests their terminals'
// telemetry, keeps their live state and serves it, and simulates a fleet for
// demos and tests. Run "liftwatch help" for the subcommands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/liftwatch/liftwatch/internal/config"
)

// command is one subcommand; each lives in its own file.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"serve":       {"run the service against an MQTT broker (and InfluxDB)", runServe},
	"demo":        {"run everything in one process: embedded broker, service, simulated Jiangwan fleet", runDemo},
	"sim":         {"simulate a fleet of lift terminals publishing over MQTT", runSim},
	"fleet":       {"print a generated fleet register (JSON or CSV)", runFleet},
	"version":     {"print liftwatch's version, commit and Go version", runVersion},
	"deadletter":  {"list or replay the points the store rejected as invalid", runDeadletter},
	"healthcheck": {"exit 0 if a liftwatch answers ready on /readyz (the container healthcheck)", runHealthcheck},
	"user":        {"manage accounts of the web app: user add creates one (e.g. the first admin), user token issues an API token", runUser},
	"config":      {"check alerts YAML files (policies, estate overrides against the register, receivers)", runConfig},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `liftwatch: monitoring and maintenance for retrofitted lifts (加装电梯).

Usage: liftwatch <command> [flags]

Commands:`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, `
"liftwatch help <command>" (or "liftwatch <command> --help") lists a command's flags. Every flag can also be
set by an environment variable: LIFTWATCH_ and the flag name in capitals with
dots and dashes as underscores (--mqtt.broker is LIFTWATCH_MQTT_BROKER).
A flag given on the command line wins over the environment. All commands share
these names; a LIFTWATCH_ variable that sets no flag of any command is an error.`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 { // liftwatch help serve: serve's flags
			if c, ok := commands[args[1]]; ok {
				return c.run(ctx, []string{"--help"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "liftwatch: unknown command %q\n\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	case "-version", "--version":
		return runVersion(ctx, nil, stdout, stderr)
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "liftwatch: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if !asksHelp(args[1:]) {
		if err := config.UnknownEnv(os.Environ(), knownEnv(ctx)); err != nil {
			fmt.Fprintf(stderr, "liftwatch: %v\n", strings.ReplaceAll(err.Error(), "\n", "\nliftwatch: "))
			return 2
		}
	}
	return c.run(ctx, args[1:], stdout, stderr)
}
