package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/liftwatch/liftwatch/internal/config"
)

// envName is the environment variable that sets flag name.
func envName(name string) string { return config.EnvName(name) }

// newFlags makes a subcommand's flag set with a usage text that lists the
// environment variables too.
func newFlags(name, summary string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("liftwatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liftwatch %s [flags]\n\n%s\n\nFlags (each also settable as LIFTWATCH_<FLAG>):\n", name, summary)
		config.PrintDefaults(fs)
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment variable. It returns the exit code to use if it
// fails (0 for --help) and whether to go on.
// Asked for, the usage goes to stdout; after a mistake, to stderr.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	usage, stderr := fs.Usage, fs.Output()
	fs.Usage = func() {}     // printed below, where it belongs
	fs.SetOutput(io.Discard) // the error too
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			if c, ok := stdout.(*flagCollector); ok {
				c.add(fs)
				return 0, false
			}
			fs.SetOutput(stdout)
			fs.Usage()
			fs.SetOutput(stderr)
			return 0, false
		}
		if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
			fmt.Fprintln(stderr, unknownFlag(fs, name))
			return 2, false
		}
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "liftwatch: unexpected argument %q (flags only; see --help)\n", fs.Arg(0))
		return 2, false
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintf(fs.Output(), "liftwatch: %v\n", err)
		return 2, false
	}
	return 0, true
}

// unknownFlag is the one line that says a flag is not fs's, with the
// closest flag of fs if one is near ("liftwatch serve: unknown flag
// --mqtt.brokr (did you mean --mqtt.broker?); see --help").
func unknownFlag(fs *flag.FlagSet, name string) string {
	var known []string
	fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
	msg := fmt.Sprintf("%s: unknown flag --%s", fs.Name(), name)
	if c := config.Closest(name, known); c != "" {
		msg += fmt.Sprintf(" (did you mean --%s?)", c)
	}
	return msg + "; see --help"
}

type logOptions struct {
	level  string
	format string
}

func (o *logOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.level, "log.level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&o.format, "log.format", "text", "log format: text or json")
}

func (o *logOptions) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.level)); err != nil {
		return nil, fmt.Errorf("log.level %q: want debug, info, warn or error", o.level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch o.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q: want text or json", o.format)
}

// flagCommands are the argument paths of every command that takes flags
// (TestEveryCommandIsInFlagCommands keeps the list complete).
var flagCommands = [][]string{{"serve"}, {"demo"}, {"sim"}, {"fleet"}, {"deadletter", "list"}, {"deadletter", "replay"},
	{"healthcheck"}, {"user", "add"}, {"user", "token"}, {"user", "token", "list"}, {"user", "token", "revoke"}, {"version"},
	{"config", "check"}}

// testEnv are the LIFTWATCH_ variables that set no flag: the tests',
// benchmarks' and scripts/test's (docs/architecture.md, docs/benchmarks.md).
// TestTestEnvIsListed keeps the list complete.
var testEnv = []string{
	"LIFTWATCH_REQUIRE_SERVICES", // integration tests fail instead of skipping without their services
	"LIFTWATCH_TEST_POSTGRES",    // the PostgreSQL the store's tests use
	"LIFTWATCH_BENCH_MESSAGES", "LIFTWATCH_BENCH_PROFILE", "LIFTWATCH_BENCH_PROFILE_SECONDS",
	"LIFTWATCH_BENCH_PROBES", "LIFTWATCH_BENCH_RATE", "LIFTWATCH_BENCH_WINDOW",
	"LIFTWATCH_BENCH_INFLIGHT",                                // the broker's inflight window in the latency benchmark
	"LIFTWATCH_BENCH_SIM_NICE", "LIFTWATCH_BENCH_INFLUX_NICE", // the latency benchmark's priorities
	"LIFTWATCH_BENCH_SWEEP_WAIT", // 0: the latency benchmark probes without waiting for the first sweep
	"LIFTWATCH_BENCH_LIFTS",      // lifts in the maintenance plan benchmarks
	"LIFTWATCH_TEST_OUT",         // where the browser tests save their screenshots
}

// flagCollector is the stdout knownEnv gives a command with --help:
// parseFlags hands it the flag set instead of printing the usage.
type flagCollector struct{ names []string }

func (c *flagCollector) Write(p []byte) (int, error) { return len(p), nil }

func (c *flagCollector) add(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { c.names = append(c.names, f.Name) })
}

// knownEnv is every LIFTWATCH_ variable liftwatch reads: one per flag of
// every command (they share one namespace: a variable for a sim flag must
// not stop serve), and testEnv.
func knownEnv(ctx context.Context) []string {
	c := &flagCollector{}
	for _, path := range flagCommands {
		commands[path[0]].run(ctx, append(slices.Clone(path[1:]), "--help"), c, io.Discard)
	}
	known := slices.Clone(testEnv)
	for _, n := range c.names {
		known = append(known, envName(n))
	}
	slices.Sort(known)
	return slices.Compact(known)
}

// asksHelp: args ask for a command's usage (which an unknown variable must
// not hide).
func asksHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help", "help":
			return true
		}
	}
	return false
}
