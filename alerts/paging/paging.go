package paging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/telemetry"
)

// Roster says who is on duty: the escalation chain of a tier for a lift's
// estate and contractor at a time, in the order people are paged
// (package oncall builds the real one).
type Roster interface {
	Chain(estate, contractor string, tier int, at time.Time) []oncall.Person
}

// Lifts is the register (the lift's contractor, address, unit).
type Lifts interface {
	Get(id string) (*registry.Lift, bool)
}

// Engine is what the pager needs of the alert engine: to read an open
// alert, to record what paging did on it, to raise paging_failed, and to
// acknowledge as the person paged (a link).
type Engine interface {
	Get(id int64) (*alerts.Alert, bool)
	Record(alertID int64, action, note string)
	Raise(lift, typ string, sev telemetry.Severity, summary string) (int64, error)
	Acknowledge(id int64, act alerts.Action) (*alerts.Alert, error)
}

// Store is the outbox and the chains' progress (store.Pages).
type Store interface {
	InsertPage(ctx context.Context, p *Page) error
	UpdatePage(ctx context.Context, p *Page) error
	AlertPages(ctx context.Context, alertID int64) ([]Page, error)
	ResumablePages(ctx context.Context) ([]Page, error)
	PageByToken(ctx context.Context, hash string) (*Page, error)
	PageByKey(ctx context.Context, key string) (*Page, error)
	SpendToken(ctx context.Context, hash string, at time.Time) (bool, error)
	ExpireTokens(ctx context.Context, alertID int64, at time.Time) error
	SaveChain(ctx context.Context, c *Chain) error
	ActiveChains(ctx context.Context) ([]Chain, error)
}

// Options configure a Pager.
type Options struct {
	Store  Store
	Roster Roster
	Lifts  Lifts
	Engine Engine
	// Channels are the paging channels by name (a Contact's Channel).
	Channels map[string]notify.Notifier
	Config   Config
	// PublicURL is where people reach liftwatch (the links' base).
	PublicURL  string
	Clock      func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Concurrency bounds the pages being sent at once (0: 16).
	Concurrency int
	// Active, if set, says whether paging is set up at all (a roster with
	// people): while it is false no chain starts, so a service nobody has
	// given a roster yet does not double every rescue with a paging_failed
	// alert; its /readyz says paging is off instead. nil: always.
	Active func() bool
}

// Pager pages people for alerts. Its methods are safe for concurrent use.
type Pager struct {
	o   Options
	cfg Config
	log *slog.Logger
	now func() time.Time

	qmu   sync.Mutex
	queue []alerts.Change
	wake  chan struct{}

	mu       sync.Mutex
	chains   map[int64]*Chain // not done, by alert ID
	rows     map[int64]*Page  // pending or sending, by page ID
	tokens   map[int64]string // the raw token of a page not yet sent (memory only)
	inflight map[int64]bool
	wg       sync.WaitGroup
	sem      chan struct{}

	sent    *prometheus.CounterVec
	pending prometheus.GaugeFunc
}

// New makes a pager and loads what a previous run left: the chains not
// done and the pages pending or sending (sent again, with the same key).
func New(ctx context.Context, o Options) (*Pager, error) {
	if o.Store == nil || o.Engine == nil || o.Lifts == nil {
		return nil, errors.New("paging: a store, the alert engine and the register are required")
	}
	if err := o.Config.Validate(); err != nil {
		return nil, fmt.Errorf("paging: %w", err)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	p := &Pager{o: o, cfg: o.Config, log: o.Logger, now: o.Clock, wake: make(chan struct{}, 1),
		chains: map[int64]*Chain{}, rows: map[int64]*Page{}, tokens: map[int64]string{}, inflight: map[int64]bool{},
		sem: make(chan struct{}, o.Concurrency)}
	p.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "liftwatch_pages_total",
		Help: "Page attempts by channel and outcome (delivered, retry, failed, expired)."}, []string{"channel", "outcome"})
	p.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "liftwatch_page_outbox_pending",
		Help: "Pages in the outbox not yet delivered or failed (pending or sending)."}, func() float64 {
		p.mu.Lock()
		defer p.mu.Unlock()
		return float64(len(p.rows))
	})
	if o.Registerer != nil {
		if err := o.Registerer.Register(p.sent); err != nil {
			return nil, fmt.Errorf("paging metrics: %w", err)
		}
		if err := o.Registerer.Register(p.pending); err != nil {
			return nil, fmt.Errorf("paging metrics: %w", err)
		}
	}
	chains, err := o.Store.ActiveChains(ctx)
	if err != nil {
		return nil, fmt.Errorf("paging: load chains: %w", err)
	}
	for i := range chains {
		c := chains[i]
		p.chains[c.AlertID] = &c
	}
	rows, err := o.Store.ResumablePages(ctx)
	if err != nil {
		return nil, fmt.Errorf("paging: load pages: %w", err)
	}
	now := p.now()
	for i := range rows {
		r := rows[i]
		if r.State == Sending {
			// The process died while a provider had it: send it again,
			// with the same key, so the provider can tell.
			r.State = Pending
			r.NextAt = now
		}
		p.rows[r.ID] = &r
	}
	if len(chains) > 0 || len(rows) > 0 {
		p.log.Info("paging resumed", "chains", len(chains), "pages", len(rows))
	}
	return p, nil
}

// Handle takes an alert change (register it with Engine.Listen). It runs
// under the engine's lock: it only queues the change for the worker.
func (p *Pager) Handle(c alerts.Change) {
	if c.Alert == nil || !p.cfg.Pages(c.Alert.Type, c.Alert.Severity) {
		return // never paged (paging_failed included): nothing to do
	}
	if !p.Active() {
		return // no roster at all: paging is off (Options.Active)
	}
	switch c.Event.Action {
	case "paged", "page_failed", "page_next", "page_acknowledged", "notified", "notify_failed", "comment", "repeated", "condition_cleared", "condition_returned":
		if c.Alert.State == alerts.StateOpen {
			return // changes nothing for paging
		}
	}
	p.qmu.Lock()
	p.queue = append(p.queue, c)
	p.qmu.Unlock()
	p.signal()
}

// Active says whether paging is set up (Options.Active).
func (p *Pager) Active() bool { return p.o.Active == nil || p.o.Active() }

func (p *Pager) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends: it applies the engine's changes, runs the
// chains' clocks and sends the due pages; then it waits for the pages
// being sent.
func (p *Pager) Run(ctx context.Context) error {
	p.reconcile(ctx)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		p.step(ctx)
		select {
		case <-ctx.Done():
			p.wg.Wait()
			return nil
		case <-p.wake:
		case <-t.C:
		}
	}
}

// Settle does what is due now and waits for every page it sends, until
// nothing more is due (tests call it after moving their clock).
func (p *Pager) Settle(ctx context.Context) {
	p.reconcile(ctx)
	for i := 0; i < 1000; i++ {
		if !p.step(ctx) {
			p.wg.Wait()
			if !p.due() {
				return
			}
			continue
		}
		p.wg.Wait()
	}
	p.log.Error("paging did not settle after 1000 rounds")
}

// due says whether a change is queued or a page is due now.
func (p *Pager) due() bool {
	p.qmu.Lock()
	n := len(p.queue)
	p.qmu.Unlock()
	if n > 0 {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for id, r := range p.rows {
		if r.State == Pending && !r.NextAt.After(now) && !p.inflight[id] {
			return true
		}
	}
	return false
}

// step applies the queued changes, runs the clocks and starts sending the
// due pages; it reports whether it started any.
func (p *Pager) step(ctx context.Context) bool {
	p.qmu.Lock()
	q := p.queue
	p.queue = nil
	p.qmu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range q {
		p.apply(ctx, c)
	}
	p.tick(ctx)
	return p.dispatch(ctx)
}

// reconcile settles the chains loaded at start against the engine: an
// alert acknowledged or resolved while liftwatch was down ends its chain.
func (p *Pager) reconcile(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, c := range p.chains {
		a, ok := p.o.Engine.Get(id)
		switch {
		case !ok:
			p.finish(ctx, c, nil, "the alert was resolved")
			if err := p.o.Store.ExpireTokens(ctx, id, p.now()); err != nil {
				p.log.Error("expire page links", "alert", id, "err", err)
			}
		case a.State != alerts.StateOpen:
			p.finish(ctx, c, a, "acknowledged by "+a.AckBy)
		}
	}
}

// Degraded says why paging is degraded: alerts whose pages reached nobody
// ("" when none).
func (p *Pager) Degraded() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ids []string
	for id, c := range p.chains {
		if c.Failed && !c.Done {
			ids = append(ids, fmt.Sprint(id))
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return fmt.Sprintf("pages of %d alert(s) reached nobody (alerts %s): see the paging_failed alerts", len(ids), strings.Join(ids, ", "))
}

// Channels is the number of paging channels configured.
func (p *Pager) Channels() int { return len(p.o.Channels) }

// Pages lists an alert's pages as people see them.
func (p *Pager) Pages(ctx context.Context, alertID int64) ([]View, error) {
	list, err := p.o.Store.AlertPages(ctx, alertID)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]View, 0, len(list))
	for i := range list {
		if r := p.rows[list[i].ID]; r != nil {
			list[i] = *r // the newest state, if being sent
		}
		out = append(out, list[i].View())
	}
	return out, nil
}

// PageByKey is the page of an idempotency key (the demo gateway's inbox
// matches its messages to the person paged).
func (p *Pager) PageByKey(ctx context.Context, key string) (*Page, error) {
	p.mu.Lock()
	for _, r := range p.rows {
		if r.Key == key {
			c := *r
			p.mu.Unlock()
			return &c, nil
		}
	}
	p.mu.Unlock()
	return p.o.Store.PageByKey(ctx, key)
}

// who is a person as events name them: "张师傅 (technician)".
func who(name, role string) string {
	if role == "" {
		return name
	}
	return name + " (" + role + ")"
}

func via(r *Page) string {
	if m := Mask(r.To); m != "" {
		return r.Channel + " " + m
	}
	return r.Channel
}
