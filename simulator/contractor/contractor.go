package contractor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config is one simulated contractor company.
type Config struct {
	// Company is the contractor as liftwatch names it on work orders and
	// in the account's scope.
	Company string
	// Technicians who sign the visits (default: four names from the
	// company's seed).
	Technicians []string
	Seed        uint64
	// PaperShare is the share of routine visits signed without the work
	// (no inspection mode, PaperMinutes on site): 0..1.
	PaperShare float64
	// VisitMinutes is, per level (index level-1: half-monthly, quarterly,
	// semi-annual, annual), the range of minutes an honest technician keeps
	// the lift in inspection mode. Defaults 35–55, 50–75, 70–100, 100–150:
	// above liftwatch's proof minima (20, 30, 45, 60) as real visits are.
	VisitMinutes [4][2]int
	// OtherMinutes is that range for corrective and component work
	// (default 30–75).
	OtherMinutes [2]int
	// PaperMinutes is the range of minutes between start and completion of
	// a paper visit (default 0–5): signed on the spot or from the office.
	PaperMinutes [2]int
	// Prompt: take each order as soon as its window opens (the live demo);
	// otherwise on a working day within the window chosen from the seed.
	Prompt bool
	// WorkHours is the technicians' day in Shanghai time, [from, to) hours
	// (default 8–17).
	WorkHours [2]int
	// Poll is how often Run lists the work orders (default 30 s).
	Poll time.Duration
	// Now is the clock (default time.Now); After waits on it (default
	// time.After).
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
	Log   *slog.Logger
}

// DefaultVisitMinutes are the honest visits' inspection-mode minutes per
// level.
var DefaultVisitMinutes = [4][2]int{{35, 55}, {50, 75}, {70, 100}, {100, 150}}

var levels = []string{"half_monthly", "quarterly", "semi_annual", "annual"}

// LevelIndex is the index (0..3) of a level name, -1 if unknown.
func LevelIndex(level string) int { return slices.Index(levels, level) }

var names = []string{"王建国", "李志强", "张伟", "刘洋", "陈磊", "杨军", "赵敏", "黄勇", "周杰", "吴刚", "徐明", "孙浩"}

// shanghai is the zone of the working day.
var shanghai = time.FixedZone("CST", 8*3600)

func (c *Config) defaults() error {
	switch {
	case strings.TrimSpace(c.Company) == "":
		return errors.New("contractor: company is required")
	case c.PaperShare < 0 || c.PaperShare > 1:
		return fmt.Errorf("contractor %s: paper share %v: want 0..1", c.Company, c.PaperShare)
	}
	if c.VisitMinutes == [4][2]int{} {
		c.VisitMinutes = DefaultVisitMinutes
	}
	if c.OtherMinutes == [2]int{} {
		c.OtherMinutes = [2]int{30, 75}
	}
	if c.PaperMinutes == [2]int{} {
		c.PaperMinutes = [2]int{0, 5}
	}
	for _, r := range append(c.VisitMinutes[:], c.OtherMinutes, c.PaperMinutes) {
		if r[0] < 0 || r[1] < r[0] {
			return fmt.Errorf("contractor %s: minutes range %v: want 0 ≤ min ≤ max", c.Company, r)
		}
	}
	if c.WorkHours == [2]int{} {
		c.WorkHours = [2]int{8, 17}
	}
	if c.WorkHours[0] < 0 || c.WorkHours[1] > 24 || c.WorkHours[1] <= c.WorkHours[0] {
		return fmt.Errorf("contractor %s: work hours %v: want 0 ≤ from < to ≤ 24", c.Company, c.WorkHours)
	}
	if len(c.Technicians) == 0 {
		h := fnv.New64a()
		h.Write([]byte(c.Company))
		off := int((h.Sum64() ^ c.Seed) % uint64(len(names)))
		for i := range 4 {
			c.Technicians = append(c.Technicians, names[(off+i*3)%len(names)])
		}
	}
	if c.Poll <= 0 {
		c.Poll = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.After == nil {
		c.After = time.After
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Contractor works through its company's work orders.
type Contractor struct {
	cfg       Config
	api       API
	insp      Inspector
	mu        sync.Mutex
	visits    map[int64]*visit
	checklist map[string][]Item
	stats     Stats
}

// Stats count what a contractor did.
type Stats struct {
	Started   int // orders started
	Completed int // orders signed done
	Paper     int // of those, routine visits signed without the work
	Honest    int // routine visits with the lift held in inspection mode
	Errors    int // API or simulator calls that failed
}

// visit is the contractor's plan for one order.
type visit struct {
	order   WorkOrder
	paper   bool
	tech    string
	hold    time.Duration // inspection mode (honest) or time on site (paper)
	takeAt  time.Time     // when the technician starts
	doneAt  time.Time     // when the order is signed, once started
	started bool
	r       *rand.Rand // the order's own draws: results, costs
}

// New makes a contractor over api; insp puts lifts in inspection mode.
func New(cfg Config, api API, insp Inspector) (*Contractor, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	if api == nil || insp == nil {
		return nil, errors.New("contractor: an API and an inspector are required")
	}
	return &Contractor{cfg: cfg, api: api, insp: insp, visits: map[int64]*visit{}, checklist: map[string][]Item{}}, nil
}

// Stats returns the counts so far.
func (c *Contractor) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Company is the contractor's company.
func (c *Contractor) Company() string { return c.cfg.Company }

// Run works until ctx ends: Tick at every poll, or sooner when a visit is
// due.
func (c *Contractor) Run(ctx context.Context) error {
	for {
		next, err := c.Tick(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.cfg.Log.Warn("contractor: some work orders failed; retrying", "company", c.cfg.Company, "err", err)
		}
		wait := c.cfg.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(c.cfg.Now()), 0))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.cfg.After(wait):
		}
	}
}

// Tick does what is due at the clock's now: it lists the company's assigned
// and in-progress orders, plans the new ones, starts the visits whose time
// has come (lift into inspection mode unless it is a paper visit) and signs
// the visits that are over (checklist, then complete). It returns when the
// next thing is due (zero: nothing planned). Errors of single orders are
// returned joined; the rest goes on.
func (c *Contractor) Tick(ctx context.Context) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	var errs []error
	seen := map[int64]bool{}
	ws, err := c.api.WorkOrders(ctx, c.cfg.Company, StateAssigned, StateInProgress)
	if err != nil {
		c.stats.Errors++
		return time.Time{}, fmt.Errorf("list the work orders of %s: %w", c.cfg.Company, err)
	}
	{
		for _, w := range ws {
			if w.Contractor != "" && w.Contractor != c.cfg.Company {
				continue // the server showed another company's order
			}
			seen[w.ID] = true
			if v := c.visits[w.ID]; v != nil {
				v.order = w
				continue
			}
			if w.Kind == KindInspection {
				continue // the inspection body's work, applied for by the manager
			}
			if w.State == StateInProgress && w.StartedAt != nil && w.StartedAt.After(now) {
				continue // started in this clock's future (a history replayed under live work): not ours
			}
			v := c.plan(w, now)
			if w.State == StateInProgress { // started before a restart: finish it
				v.started = true
				v.takeAt = now
				if err := c.onSite(ctx, v, now); err != nil {
					errs = append(errs, err)
				}
			}
			c.visits[w.ID] = v
		}
	}
	for id := range c.visits {
		if !seen[id] {
			delete(c.visits, id) // cancelled, or signed by someone else
		}
	}
	var next time.Time
	for _, v := range c.ordered() {
		if !v.started && !now.Before(v.takeAt) {
			if err := c.start(ctx, v, now); err != nil {
				errs = append(errs, err)
			}
		}
		if v.started && !now.Before(v.doneAt) {
			if err := c.finish(ctx, v); err != nil {
				errs = append(errs, err)
			}
		}
		if c.visits[v.order.ID] == nil {
			continue
		}
		at := v.takeAt
		if v.started {
			at = v.doneAt
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next, errors.Join(errs...)
}

// ordered lists the visits by due moment, then order ID: one seed, one
// history.
func (c *Contractor) ordered() []*visit {
	out := make([]*visit, 0, len(c.visits))
	for _, v := range c.visits {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *visit) int {
		ta, tb := a.takeAt, b.takeAt
		if a.started {
			ta = a.doneAt
		}
		if b.started {
			tb = b.doneAt
		}
		if c := ta.Compare(tb); c != 0 {
			return c
		}
		return int(a.order.ID - b.order.ID)
	})
	return out
}

func uniformMin(r *rand.Rand, rg [2]int) time.Duration {
	lo, hi := time.Duration(rg[0])*time.Minute, time.Duration(rg[1])*time.Minute
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// plan decides, from the seed and the order alone, who goes, when, for how
// long, and whether the visit is a paper one.
func (c *Contractor) plan(w WorkOrder, now time.Time) *visit {
	r := rand.New(rand.NewPCG(c.cfg.Seed, uint64(w.ID)))
	v := &visit{order: w, r: r}
	v.paper = w.Kind == KindRoutine && r.Float64() < c.cfg.PaperShare
	v.tech = c.cfg.Technicians[r.IntN(len(c.cfg.Technicians))]
	switch {
	case v.paper:
		v.hold = uniformMin(r, c.cfg.PaperMinutes)
	case w.Kind == KindRoutine && LevelIndex(w.Level) >= 0:
		v.hold = uniformMin(r, c.cfg.VisitMinutes[LevelIndex(w.Level)])
	case w.Kind == KindRoutine:
		v.hold = uniformMin(r, c.cfg.VisitMinutes[0])
	default:
		v.hold = uniformMin(r, c.cfg.OtherMinutes)
	}
	v.takeAt = c.when(w, r)
	switch {
	case c.cfg.Prompt:
		v.takeAt = now
	case v.takeAt.Before(now): // seen late: the next working moment, unless that is too late
		v.takeAt = c.working(now)
		if w.Kind == KindCorrective || v.takeAt.Add(v.hold+time.Hour).After(w.Due) {
			v.takeAt = now
		}
	}
	return v
}

// working is t if it is within the working hours, else the start of the
// next working day.
func (c *Contractor) working(t time.Time) time.Time {
	l := t.In(shanghai)
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, shanghai)
	from, to := day.Add(time.Duration(c.cfg.WorkHours[0])*time.Hour), day.Add(time.Duration(c.cfg.WorkHours[1])*time.Hour)
	switch {
	case t.Before(from):
		return from
	case t.Before(to):
		return t
	}
	return from.AddDate(0, 0, 1)
}

// when is the moment the technician arrives: for a short window (a
// corrective order, due within a day) half an hour to four hours after it
// opens; for a longer one, a working hour of a day within it, so that the
// visit is over before the order is due.
func (c *Contractor) when(w WorkOrder, r *rand.Rand) time.Time {
	span := w.Due.Sub(w.WindowStart)
	if span <= 36*time.Hour {
		return w.WindowStart.Add(uniformMin(r, [2]int{30, int(min(span/3, 4*time.Hour) / time.Minute)}))
	}
	first := w.WindowStart.In(shanghai)
	day0 := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, shanghai)
	days := int(w.Due.Sub(day0) / (24 * time.Hour))
	if days < 1 {
		days = 1
	}
	wh := c.cfg.WorkHours
	for range 8 {
		d := day0.AddDate(0, 0, r.IntN(days))
		t := d.Add(time.Duration(wh[0])*time.Hour + uniformMin(r, [2]int{0, (wh[1] - wh[0] - 3) * 60}))
		if !t.Before(w.WindowStart) && t.Add(3*time.Hour).Before(w.Due) {
			return t
		}
	}
	return w.WindowStart
}

// start sends the technician: lift into inspection mode (unless paper),
// then POST start.
func (c *Contractor) start(ctx context.Context, v *visit, now time.Time) error {
	if err := c.onSite(ctx, v, now); err != nil {
		// The lift cannot be had (a passenger trapped, another technician
		// on it): come back later.
		v.takeAt = now.Add(15 * time.Minute)
		return err
	}
	if _, err := c.api.Start(ctx, v.order.ID, v.tech); err != nil {
		var ce *ConflictError
		if errors.As(err, &ce) || errors.Is(err, ErrNotFound) {
			delete(c.visits, v.order.ID) // someone else moved it on
			return nil
		}
		c.stats.Errors++
		v.takeAt = now.Add(c.cfg.Poll)
		return err
	}
	v.started = true
	c.stats.Started++
	c.cfg.Log.Info("contractor visit started", "company", c.cfg.Company, "order", v.order.ID, "lift", v.order.Lift,
		"kind", v.order.Kind, "level", v.order.Level, "technician", v.tech, "paper", v.paper, "minutes", v.hold.Minutes())
	return nil
}

// onSite puts the lift in inspection mode for the visit (not for a paper
// visit) and sets when it will be signed.
func (c *Contractor) onSite(ctx context.Context, v *visit, now time.Time) error {
	if v.paper {
		v.doneAt = now.Add(v.hold)
		return nil
	}
	at, err := c.insp.Inspect(ctx, v.order.Lift, v.hold)
	if err != nil {
		c.stats.Errors++
		return fmt.Errorf("inspection mode of %s for order %d: %w", v.order.Lift, v.order.ID, err)
	}
	if at.Before(now) {
		at = now
	}
	// The paperwork takes one to five minutes after the lift is back in
	// service.
	v.doneAt = at.Add(v.hold + uniformMin(v.r, [2]int{1, 5}))
	return nil
}

// finish records the checklist and signs the order.
func (c *Contractor) finish(ctx context.Context, v *visit) error {
	id := v.order.ID
	var failed []string
	if v.order.Kind == KindRoutine {
		items, err := c.items(ctx, v.order.Level)
		if err != nil {
			c.stats.Errors++
			return err
		}
		results := make([]Result, 0, len(items))
		for _, it := range items {
			res := Result{Item: it.Code, Result: "pass"}
			if !v.paper && v.r.Float64() < 0.01 {
				res.Result = "fail"
				failed = append(failed, it.Code+" "+it.EN)
			}
			if it.IsTest() {
				res.Value = measure(v.r, it)
				res.Photo = fmt.Sprintf("photo:%s/%d/%s.jpg", slug(c.cfg.Company), id, it.Code)
			}
			results = append(results, res)
		}
		if _, err := c.api.RecordChecklist(ctx, id, results); err != nil {
			return c.failed(v, "checklist", err)
		}
	}
	cm := Completion{Signature: v.tech, Findings: findings(v, failed)}
	switch v.order.Kind {
	case KindRoutine:
		if v.r.Float64() < 0.08 || len(failed) > 0 {
			cm.PartsFen = 5_000 + v.r.Int64N(45_000) // a contactor, a door roller …
		}
	case KindCorrective:
		cm.LabourFen = 20_000 + v.r.Int64N(40_000)
		if v.r.IntN(2) == 0 {
			cm.PartsFen = 10_000 + v.r.Int64N(190_000)
		}
	case KindComponent:
		cm.LabourFen = 50_000 + v.r.Int64N(50_000)
		cm.PartsFen = 200_000 + v.r.Int64N(600_000)
	}
	if _, err := c.api.Complete(ctx, id, cm); err != nil {
		return c.failed(v, "complete", err)
	}
	delete(c.visits, id)
	c.stats.Completed++
	if v.order.Kind == KindRoutine {
		if v.paper {
			c.stats.Paper++
		} else {
			c.stats.Honest++
		}
	}
	c.cfg.Log.Info("contractor visit signed", "company", c.cfg.Company, "order", id, "lift", v.order.Lift, "paper", v.paper)
	return nil
}

// failed handles a refused checklist or completion: a conflict or a
// vanished order ends the visit; a refusal of the record is logged and the
// visit dropped (sending it again would be refused again); anything else
// (the network) is retried at the next tick.
func (c *Contractor) failed(v *visit, what string, err error) error {
	var ce *ConflictError
	var se *StatusError
	switch {
	case errors.As(err, &ce), errors.Is(err, ErrNotFound):
		delete(c.visits, v.order.ID)
		return nil
	case errors.As(err, &se) && se.Status/100 == 4:
		delete(c.visits, v.order.ID)
	}
	c.stats.Errors++
	return fmt.Errorf("work order %d %s: %w", v.order.ID, what, err)
}

func (c *Contractor) items(ctx context.Context, level string) ([]Item, error) {
	if items, ok := c.checklist[level]; ok {
		return items, nil
	}
	items, err := c.api.Checklist(ctx, level)
	if err != nil {
		return nil, fmt.Errorf("checklist %s: %w", level, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("checklist %s: the server lists no items", level)
	}
	c.checklist[level] = items
	return items, nil
}

func findings(v *visit, failed []string) string {
	switch {
	case v.order.Kind == KindCorrective:
		return "root cause found and fixed; lift tested and back in service"
	case v.order.Kind == KindComponent:
		return "component serviced as scheduled"
	case len(failed) > 0:
		return fmt.Sprintf("%s visit: %d item(s) failed and were put right: %s", v.order.Level, len(failed), strings.Join(failed, "; "))
	}
	return fmt.Sprintf("%s visit: all items passed", v.order.Level)
}

// measure is a plausible measured value for a test item.
func measure(r *rand.Rand, it Item) string {
	en := strings.ToLower(it.EN)
	switch {
	case strings.Contains(en, "clearance") || strings.Contains(en, "gap"):
		return fmt.Sprintf("%.2f mm", 0.3+0.4*r.Float64())
	case strings.Contains(en, "insulation"):
		return fmt.Sprintf("%.1f MΩ", 2+8*r.Float64())
	case strings.Contains(en, "speed") || strings.Contains(en, "governor"):
		return fmt.Sprintf("%.2f m/s", 0.9+0.2*r.Float64())
	case strings.Contains(en, "force"):
		return fmt.Sprintf("%d N", 100+r.IntN(40))
	case strings.Contains(en, "time"):
		return fmt.Sprintf("%.1f s", 2+2*r.Float64())
	}
	return fmt.Sprintf("ok (%d%% of limit)", 40+r.IntN(40))
}

// slug makes a company name usable in a photo reference.
func slug(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("c%08x", h.Sum32())
}
