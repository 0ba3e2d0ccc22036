package demohistory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/fund"
	"github.com/liftwatch/liftwatch/maintenance"
)

// Orders is the maintenance store as the history uses it: every write goes
// to the store as it comes, and the work orders that may still move
// (planned, assigned, in progress, completed) are also kept in memory, as
// they were written. Reading an order back before a transition, the
// contractors' listings and the manager's acceptances then need no query:
// the history is the only writer while it runs (the service starts after
// it), and these reads were most of its round trips.
type Orders struct {
	maintenance.Store
	mu sync.Mutex
	m  map[int64]*maintenance.WorkOrder
}

// tracked are the states Orders keeps.
var tracked = []maintenance.State{maintenance.StatePlanned, maintenance.StateAssigned, maintenance.StateInProgress, maintenance.StateCompleted}

// NewOrders reads the tracked orders of st.
func NewOrders(ctx context.Context, st maintenance.Store) (*Orders, error) {
	ws, err := st.WorkOrders(ctx, maintenance.Filter{States: tracked})
	if err != nil {
		return nil, fmt.Errorf("work orders: %w", err)
	}
	o := &Orders{Store: st, m: make(map[int64]*maintenance.WorkOrder, len(ws))}
	for _, w := range ws {
		o.m[w.ID] = w
	}
	return o, nil
}

// clone copies w deeply enough that the service's changes to one copy
// never reach another.
func clone(w *maintenance.WorkOrder) *maintenance.WorkOrder {
	c := *w
	c.Results = slices.Clone(w.Results)
	c.History = slices.Clone(w.History)
	for _, p := range []**time.Time{&c.StartedAt, &c.CompletedAt} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	if w.TechSign != nil {
		s := *w.TechSign
		c.TechSign = &s
	}
	if w.ManagerSign != nil {
		s := *w.ManagerSign
		c.ManagerSign = &s
	}
	if w.Proof != nil {
		p := *w.Proof
		c.Proof = &p
	}
	return &c
}

func (o *Orders) keep(w *maintenance.WorkOrder) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if slices.Contains(tracked, w.State) {
		o.m[w.ID] = w
		return
	}
	delete(o.m, w.ID)
}

// CreateWorkOrder stores w and keeps it.
func (o *Orders) CreateWorkOrder(ctx context.Context, w *maintenance.WorkOrder) (bool, error) {
	created, err := o.Store.CreateWorkOrder(ctx, w)
	if err == nil && created {
		o.keep(clone(w))
	}
	return created, err
}

// TransitionWorkOrder stores the change and keeps the order as stored:
// w with ev appended to its history.
func (o *Orders) TransitionWorkOrder(ctx context.Context, w *maintenance.WorkOrder, from maintenance.State, ev maintenance.Event) error {
	if err := o.Store.TransitionWorkOrder(ctx, w, from, ev); err != nil {
		o.mu.Lock()
		delete(o.m, w.ID) // moved by someone else: read it again
		o.mu.Unlock()
		return err
	}
	c := clone(w)
	c.History = append(c.History, ev)
	o.keep(c)
	return nil
}

// WorkOrder is the kept order, or the store's.
func (o *Orders) WorkOrder(ctx context.Context, id int64) (*maintenance.WorkOrder, error) {
	o.mu.Lock()
	w := o.m[id]
	o.mu.Unlock()
	if w != nil {
		return clone(w), nil
	}
	return o.Store.WorkOrder(ctx, id)
}

// List is the kept orders of contractor ("": any) in any of states (of
// the tracked ones), created at or before asOf, by ID: an order created
// later does not exist yet at asOf.
func (o *Orders) List(contractor string, states []maintenance.State, asOf time.Time) []*maintenance.WorkOrder {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*maintenance.WorkOrder
	for _, w := range o.m {
		if (contractor == "" || w.Contractor == contractor) && slices.Contains(states, w.State) && !w.CreatedAt.After(asOf) {
			out = append(out, clone(w))
		}
	}
	slices.SortFunc(out, func(a, b *maintenance.WorkOrder) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// fundStore is the fund store as the history uses it: the households of a
// lift are read once (every posting reads them to split), and the entries
// it creates are counted.
type fundStore struct {
	fund.Store
	mu      sync.Mutex
	hs      map[string][]fund.Household
	created int
}

func (f *fundStore) Households(ctx context.Context, lift string) ([]fund.Household, error) {
	f.mu.Lock()
	hs, ok := f.hs[lift]
	f.mu.Unlock()
	if ok {
		return slices.Clone(hs), nil
	}
	hs, err := f.Store.Households(ctx, lift)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.hs == nil {
		f.hs = map[string][]fund.Household{}
	}
	f.hs[lift] = slices.Clone(hs)
	f.mu.Unlock()
	return hs, nil
}

func (f *fundStore) SaveHouseholds(ctx context.Context, hs []fund.Household) error {
	err := f.Store.SaveHouseholds(ctx, hs)
	f.mu.Lock()
	for _, h := range hs {
		delete(f.hs, h.Lift)
	}
	f.mu.Unlock()
	return err
}

func (f *fundStore) InsertEntry(ctx context.Context, e *fund.Entry) (*fund.Entry, bool, error) {
	ex, created, err := f.Store.InsertEntry(ctx, e)
	if created {
		f.mu.Lock()
		f.created++
		f.mu.Unlock()
	}
	return ex, created, err
}
