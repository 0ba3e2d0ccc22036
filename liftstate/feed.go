package liftstate

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/liftwatch/liftwatch/internal/run"
)

// Feed tells readers which lifts changed, coalesced: Mark (called for every
// message, 20k a second) only sets the lift's flag, and Flush (every
// second, Run) hands each subscriber the lifts marked since the last
// flush, once each. A reader thus sees at most one change per lift per
// flush interval, and a slow reader merges what it has not taken yet
// instead of holding the writers back.
type Feed struct {
	ids   []string
	flags map[string]*atomic.Bool // fixed at NewFeed: read without a lock

	mu   sync.Mutex
	subs map[*FeedSub]struct{}
}

// FeedSub is one reader of a Feed.
type FeedSub struct {
	c       chan struct{}
	mu      sync.Mutex
	pending map[string]struct{}
	order   []string
}

// NewFeed makes the feed of the registered lifts ids; marks of other lifts
// are ignored.
func NewFeed(ids []string) *Feed {
	f := &Feed{ids: ids, flags: make(map[string]*atomic.Bool, len(ids)), subs: map[*FeedSub]struct{}{}}
	for _, id := range ids {
		f.flags[id] = new(atomic.Bool)
	}
	return f
}

// Mark notes that lift changed.
func (f *Feed) Mark(lift string) {
	if b := f.flags[lift]; b != nil && !b.Load() {
		b.Store(true)
	}
}

// Flush hands the lifts marked since the last flush to every subscriber.
func (f *Feed) Flush() {
	var changed []string
	for _, id := range f.ids {
		if f.flags[id].Swap(false) {
			changed = append(changed, id)
		}
	}
	if len(changed) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		s.mu.Lock()
		for _, id := range changed {
			if _, ok := s.pending[id]; !ok {
				s.pending[id] = struct{}{}
				s.order = append(s.order, id)
			}
		}
		s.mu.Unlock()
		select {
		case s.c <- struct{}{}:
		default: // it has a wake-up waiting; the pending set has grown
		}
	}
}

// Run flushes every interval until ctx ends.
func (f *Feed) Run(ctx context.Context, interval time.Duration) error {
	return run.Every(ctx, interval, f.Flush)
}

// Subscribe starts a reader: ready gets a value when changes wait, take
// returns them (each lift once, in register order of their first change)
// and empties the set, cancel ends the subscription.
func (f *Feed) Subscribe() (ready <-chan struct{}, take func() []string, cancel func()) {
	s := &FeedSub{c: make(chan struct{}, 1), pending: map[string]struct{}{}}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	take = func() []string {
		s.mu.Lock()
		defer s.mu.Unlock()
		out := s.order
		s.order, s.pending = nil, map[string]struct{}{}
		return out
	}
	cancel = func() {
		f.mu.Lock()
		delete(f.subs, s)
		f.mu.Unlock()
	}
	return s.c, take, cancel
}
