package simulator

import (
	"context"
	"sync"
)

// Recorder is a Sink that keeps every message in memory, for tests and for
// printing a scenario's messages.
type Recorder struct {
	mu  sync.Mutex
	Out []Out
}

// Send records o.
func (r *Recorder) Send(_ context.Context, o *Out) error {
	r.mu.Lock()
	r.Out = append(r.Out, *o)
	r.mu.Unlock()
	return nil
}
