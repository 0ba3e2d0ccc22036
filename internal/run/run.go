// Package run starts components together and stops them together: when one
// returns, the others are cancelled, and Run waits for all of them (the run
// group pattern of Prometheus and Thanos).
package run

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

type actor struct {
	name string
	fn   func(context.Context) error
}

// Group is a set of components run as one.
type Group struct {
	actors []actor
	Logger *slog.Logger
}

// Add registers a component. fn must return soon after its ctx is done.
func (g *Group) Add(name string, fn func(context.Context) error) {
	g.actors = append(g.actors, actor{name, fn})
}

// Run runs every component until ctx ends or one of them returns, then
// cancels the rest and waits. It returns the first error, naming its
// component.
func (g *Group) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(g.actors))
	for _, a := range g.actors {
		go func() { done <- result{a.name, a.fn(ctx)} }()
	}
	var first error
	for range g.actors {
		r := <-done
		if r.err != nil && first == nil {
			first = fmt.Errorf("%s: %w", r.name, r.err)
		}
		if g.Logger != nil {
			g.Logger.Debug("component stopped", "component", r.name, "err", r.err)
		}
		cancel()
	}
	return first
}

// Every calls f every interval until ctx ends.
func Every(ctx context.Context, interval time.Duration, f func()) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f()
		}
	}
}
