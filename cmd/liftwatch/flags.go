package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

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
	fs.Usage = func() {} // printed below, where it belongs
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			fs.SetOutput(stderr)
			return 0, false
		}
		fs.Usage() // the flag package has printed the error
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
	{"healthcheck"}, {"user", "add"}, {"version"}, {"config", "check"}}
