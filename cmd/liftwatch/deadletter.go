package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/liftwatch/liftwatch/history"
	influxhistory "github.com/liftwatch/liftwatch/history/influx"
	"github.com/liftwatch/liftwatch/ingest"
)

const deadletterUsage = `Usage: liftwatch deadletter list|replay [flags]

Points the time-series store rejected as invalid (a field type conflict, a
line it cannot parse) are kept in <data.dir>/deadletter/store-rejected.jsonl.
  list    prints them (--format text or json)
  replay  writes them to InfluxDB again (--influx.*; the database is created on
          1.x like serve does) and removes those it takes; those rejected again
          stay with the store's new message`

// runDeadletter lists or replays the store's dead letters.
func runDeadletter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, deadletterUsage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, deadletterUsage)
		return 0
	case "list", "replay":
	default:
		fmt.Fprintf(stderr, "liftwatch deadletter: unknown action %q (want list or replay)\n\n%s\n", args[0], deadletterUsage)
		return 2
	}
	action := args[0]
	fs := newFlags("deadletter "+action, map[string]string{
		"list":   "Prints the points the store rejected as invalid.",
		"replay": "Writes the points the store rejected as invalid to InfluxDB again and removes those it takes.",
	}[action], stderr)
	dataDir := fs.String("data.dir", "./data", "the service's data directory")
	format := fs.String("format", "text", "list output: text or json (one object a line)")
	var influx influxhistory.Config
	if action == "replay" {
		registerInfluxFlags(fs, &influx)
	}
	if code, ok := parseFlags(fs, args[1:], stdout); !ok {
		return code
	}
	if *dataDir == "" {
		fmt.Fprintln(stderr, "liftwatch deadletter: data.dir is required")
		return 2
	}
	rejects, err := ingest.OpenStoreRejects(filepath.Join(*dataDir, "deadletter"))
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch deadletter: %v\n", err)
		return 1
	}
	if action == "list" {
		return listDeadletters(rejects, *format, stdout, stderr)
	}
	if influx.URL == "" || influx.Bucket == "" {
		fmt.Fprintln(stderr, "liftwatch deadletter replay: influx.url and influx.bucket are required")
		return 2
	}
	sink, err := influxhistory.New(influx)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch deadletter replay: %v\n", err)
		return 2
	}
	defer sink.Close()
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err = sink.Prepare(pctx)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch deadletter replay: %v\n", err)
		var te *history.TargetError
		if errors.As(err, &te) {
			return 2
		}
		return 1
	}
	res, err := rejects.Replay(ctx, sink)
	fmt.Fprintf(stdout, "written %d, rejected again %d, not tried %d; file %s\n", res.Written, res.Rejected, res.Left, rejects.Path())
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch deadletter replay: %v\n", err)
		return 1
	}
	if res.Rejected > 0 {
		return 1
	}
	return 0
}

func registerInfluxFlags(fs *flag.FlagSet, c *influxhistory.Config) {
	fs.StringVar(&c.URL, "influx.url", "", "InfluxDB URL")
	fs.StringVar(&c.Token, "influx.token", "", "InfluxDB token (1.8: user:password or empty)")
	fs.StringVar(&c.Org, "influx.org", "", "InfluxDB organisation (2.x)")
	fs.StringVar(&c.Bucket, "influx.bucket", "liftwatch", "InfluxDB bucket (1.8: database/retention-policy)")
}

func listDeadletters(rejects *ingest.StoreRejects, format string, stdout, stderr io.Writer) int {
	if format != "text" && format != "json" {
		fmt.Fprintf(stderr, "liftwatch deadletter list: format %q: want text or json\n", format)
		return 2
	}
	entries, err := rejects.List()
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch deadletter list: %v\n", err)
		return 1
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		for i := range entries {
			if err := enc.Encode(&entries[i]); err != nil {
				fmt.Fprintf(stderr, "liftwatch deadletter list: %v\n", err)
				return 1
			}
		}
		return 0
	}
	for _, e := range entries {
		fmt.Fprintf(stdout, "%s  %s %s seq %d  HTTP %d: %s\n    %s\n", e.Time.Format(time.RFC3339), e.Lift, e.Kind, e.Seq, e.Status, e.Error, e.Line)
	}
	fmt.Fprintf(stdout, "%d point(s) in %s\n", len(entries), rejects.Path())
	return 0
}
