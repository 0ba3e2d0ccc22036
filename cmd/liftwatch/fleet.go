package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/liftwatch/liftwatch/registry"
)

func runFleet(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fleet", "Prints a generated lift register. Without --lifts it is the shipped Jiangwan fleet\n(regenerate registry/fleets/jiangwan.json with: liftwatch fleet > registry/fleets/jiangwan.json).", stderr)
	n := fs.Int("lifts", 0, "generate this many lifts (LW-000001…) instead of the Jiangwan fleet")
	seed := fs.Uint64("seed", registry.JiangwanSeed, "random seed")
	format := fs.String("format", "json", "json or csv")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *n < 0 {
		fmt.Fprintf(stderr, "liftwatch fleet: lifts %d: must not be negative (0: the Jiangwan fleet)\n", *n)
		return 2
	}
	lifts := registry.Generate(*seed)
	if *n > 0 {
		lifts = registry.GenerateN(*seed, *n)
	}
	switch *format {
	case "json":
		b, err := json.MarshalIndent(lifts, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "liftwatch fleet: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
	case "csv":
		if err := registry.WriteCSV(stdout, lifts); err != nil {
			fmt.Fprintf(stderr, "liftwatch fleet: %v\n", err)
			return 1
		}
	default:
		fmt.Fprintf(stderr, "liftwatch fleet: format %q: want json or csv\n", *format)
		return 2
	}
	return 0
}
