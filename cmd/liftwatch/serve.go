package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/liftwatch/liftwatch/internal/app"
	"github.com/liftwatch/liftwatch/internal/config"
)

// registerServeFlags sets cfg to the defaults and adds the service's flags
// to fs, derived from app.Config's struct tags (internal/config).
func registerServeFlags(fs *flag.FlagSet, cfg *app.Config) {
	*cfg = app.DefaultConfig()
	config.Bind(fs, "", cfg)
}

func newServeFlags(stderr io.Writer) (*flag.FlagSet, *app.Config, *logOptions) {
	fs := newFlags("serve", "Runs the service: subscribes to the lifts' telemetry, stores it, keeps live state and serves the API.", stderr)
	var cfg app.Config
	registerServeFlags(fs, &cfg)
	var lo logOptions
	lo.register(fs)
	return fs, &cfg, &lo
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, cfg, lo := newServeFlags(stderr)
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	log, err := lo.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch serve: %v\n", err)
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "liftwatch serve: invalid configuration:\n%v\n", err)
		return 2
	}
	if cfg.Runtime.GCPercent != 0 {
		debug.SetGCPercent(cfg.Runtime.GCPercent)
	}
	a, err := app.New(ctx, *cfg, log)
	if err != nil {
		return startError(stderr, "serve", err)
	}
	// Rescue and critical alerts page the on-call roster (--oncall.file
	// and the On-call page) over the alerts file's channels: without
	// either, /readyz says whom nobody can reach.
	if err := a.EnablePaging(ctx, a.OnCall(), nil); err != nil {
		return startError(stderr, "serve", err)
	}
	if err := a.Run(ctx); err != nil {
		log.Error("liftwatch stopped", "err", err)
		return 1
	}
	return 0
}

// startError reports a failure to build the service: exit 2 for a bad
// setting (app.ConfigError: alerts config, register file), 1 otherwise.
func startError(stderr io.Writer, cmd string, err error) int {
	var ce *app.ConfigError
	if errors.As(err, &ce) || errors.Is(err, app.ErrInfluxTarget) {
		fmt.Fprintf(stderr, "liftwatch %s: invalid configuration:\n%v\n", cmd, err)
		return 2
	}
	fmt.Fprintf(stderr, "liftwatch %s: %v\n", cmd, err)
	return 1
}
