package run

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestFirstReturnStopsAll(t *testing.T) {
	var g Group
	stopped := make(chan string, 2)
	g.Add("waiter", func(ctx context.Context) error { <-ctx.Done(); stopped <- "waiter"; return nil })
	g.Add("failer", func(ctx context.Context) error { return errors.New("boom") })
	err := g.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "failer: boom") {
		t.Fatalf("got %v", err)
	}
	if <-stopped != "waiter" {
		t.Fatal("waiter not stopped")
	}
}
