package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"strings"

	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/config"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/registry"
)

const configUsage = `Usage: liftwatch config check [flags] FILE...

Checks alerts YAML files (--alerts.config: policies, per-estate overrides,
receivers, channels) and on-call roster files (--oncall.file: a file with
top-level people: or duty:) as "liftwatch serve" does at start, and reports
every problem with its line and key. A roster's contacts are checked against
the channels of the alerts files given in the same run. Estates and contractors are checked against
the register given by --registry.file, like serve's (empty: the shipped
Jiangwan fleet). A roster's holes (a contractor, an estate or the
subdistrict with nobody on duty at some time of the week) are printed as
warnings and do not fail the check.
Prints "FILE: ok" for each good file; exit 0 if all are good, 2 otherwise.

The service's other settings are flags and LIFTWATCH_<FLAG> variables
("liftwatch help serve"); they are checked at start.
`

func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, configUsage)
		return 2
	}
	switch args[0] {
	case "check":
		return runConfigCheck(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, configUsage)
		return 0
	}
	fmt.Fprintf(stderr, "liftwatch config: unknown subcommand %q\n\n%s", args[0], configUsage)
	return 2
}

func runConfigCheck(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("liftwatch config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var reg app.RegistryConfig // the very flag serve has
	config.Bind(fs, "registry.", &reg)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "%s\nFlags (each also settable as LIFTWATCH_<FLAG>):\n", configUsage)
		fs.SetOutput(w)
		config.PrintDefaults(fs)
		fs.SetOutput(stderr)
	}
	fs.Usage = func() {}
	files, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		if c, ok := stdout.(*flagCollector); ok {
			c.add(fs)
			return 0
		}
		usage(stdout)
		return 0
	}
	if err != nil { // the flag package has printed it
		usage(stderr)
		return 2
	}
	if err := config.ApplyEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintf(stderr, "liftwatch: %v\n", err)
		return 2
	}
	if len(files) == 0 {
		fmt.Fprintf(stderr, "liftwatch config check: no FILE given\n\n")
		usage(stderr)
		return 2
	}
	var lifts []registry.Lift
	if reg.File != "" {
		lifts, err = registry.LoadFile(reg.File)
	} else {
		lifts, err = registry.Jiangwan()
	}
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch config check: invalid configuration:\nregistry.file: %v\n", err)
		return 2
	}
	// A roster's contacts are checked against the channels of the alerts
	// files given in the same run (none given: the names are not checked).
	var channels oncall.Channels
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && !app.IsOnCallFile(b) {
			if acfg, err := app.LoadAlertsConfig(f); err == nil {
				if channels == nil {
					channels = oncall.Channels{}
				}
				maps.Copy(channels, app.RosterChannels(acfg))
			}
		}
	}
	code := 0
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			code = 2
			continue
		}
		if b, err := os.ReadFile(f); err == nil && app.IsOnCallFile(b) {
			warnings, err := app.CheckOnCallFile(f, lifts, channels)
			if err != nil {
				for _, p := range problems(err) {
					fmt.Fprintln(stderr, p)
				}
				code = 2
				continue
			}
			for _, w := range warnings {
				fmt.Fprintf(stdout, "%s: %s\n", f, w)
			}
			if channels == nil {
				fmt.Fprintf(stdout, "%s: note: contact channels not checked against a configuration: give the alerts file (its channels:) in the same run\n", f)
			}
			fmt.Fprintf(stdout, "%s: ok\n", f)
			continue
		}
		if err := app.CheckAlertsFile(f, lifts); err != nil {
			for _, p := range problems(err) {
				fmt.Fprintln(stderr, p)
			}
			code = 2
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	return code
}

// parseInterleaved parses flags given before, between or after the files,
// and returns the files; after "--" everything is a file.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return files, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(files, rest...), nil
		}
		files, args = append(files, rest[0]), rest[1:]
	}
}

// problems flattens joined errors into one message per line.
func problems(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, problems(e)...)
		}
		return out
	}
	var ce *app.ConfigError
	if errors.As(err, &ce) && ce.Err != err {
		return problems(ce.Err)
	}
	return []string{strings.TrimSpace(err.Error())}
}
