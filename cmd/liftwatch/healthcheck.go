package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// runHealthcheck is the container healthcheck: the image (distroless) has
// no shell, curl or wget, so the binary asks itself.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("healthcheck", "Asks a running liftwatch whether it is ready: exit 0 if the URL answers 200, 1 otherwise\n(with the answer on stderr). Docker's HEALTHCHECK and compose's healthcheck use it.", stderr)
	target := fs.String("url", "http://127.0.0.1:8080/readyz", "readiness URL of the liftwatch to check")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if u, err := url.Parse(*target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "liftwatch healthcheck: url %q: want http(s)://host:port/readyz\n", *target)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "liftwatch healthcheck: timeout %v: must be positive\n", *timeout)
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "liftwatch healthcheck: not ready: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "liftwatch healthcheck: not ready: %s %s\n", resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "ready: %s", body)
	return 0
}
