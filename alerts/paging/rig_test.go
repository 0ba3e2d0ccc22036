package paging_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/liftwatch/liftwatch/alerts"
	"github.com/liftwatch/liftwatch/alerts/notify"
	"github.com/liftwatch/liftwatch/alerts/paging"
	"github.com/liftwatch/liftwatch/internal/clock"
	"github.com/liftwatch/liftwatch/liftstate"
	"github.com/liftwatch/liftwatch/oncall"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/store"
	"github.com/liftwatch/liftwatch/telemetry"
)

var t0 = time.Date(2026, 11, 24, 10, 31, 0, 0, time.FixedZone("CST", 8*3600))

const lift = "JW-0042"

// backends runs f on SQLite and on PostgreSQL (a schema of its own), each a
// fresh database; open opens it (again).
func backends(t *testing.T, f func(t *testing.T, open func() *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "lw.db")
		f(t, func() *store.DB {
			db, err := store.OpenSQLite(context.Background(), file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := postgresSchema(t)
		f(t, func() *store.DB {
			db, err := store.OpenPostgres(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		})
	})
}

// postgresSchema is a schema of its own in the test PostgreSQL (as
// store's tests do), dropped at cleanup.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LIFTWATCH_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		if os.Getenv("LIFTWATCH_REQUIRE_SERVICES") == "1" {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (set LIFTWATCH_TEST_POSTGRES; ./scripts/test starts it): %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "lw_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// roster is a fixed roster: tier n's chain is the people of tiers 1..n.
type roster struct {
	mu    sync.Mutex
	tiers map[int][]oncall.Person
}

func (r *roster) Chain(estate, contractor string, tier int, at time.Time) []oncall.Person {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []oncall.Person
	for t := 1; t <= tier; t++ {
		out = append(out, r.tiers[t]...)
	}
	return out
}

func person(id, name, role, user string, contacts ...oncall.Contact) oncall.Person {
	return oncall.Person{ID: id, Name: name, Role: role, User: user, Contacts: contacts}
}

func sms(to string) oncall.Contact   { return oncall.Contact{Channel: "sms", To: to} }
func voice(to string) oncall.Contact { return oncall.Contact{Channel: "voice", To: to} }

// phone is a paging channel that records what it is given and answers
// with fail's verdict (nil: accepted).
type phone struct {
	mu   sync.Mutex
	got  []notify.Message
	fail func(m notify.Message, n int) error // n: this message's attempt, from 1
	seen map[string]int
	// check, if set, runs on every message before it is accepted.
	check func(m notify.Message)
}

func (p *phone) Notify(_ context.Context, m notify.Message) error {
	if p.check != nil {
		p.check(m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen = map[string]int{}
	}
	p.seen[m.Key]++
	p.got = append(p.got, m)
	if p.fail != nil {
		return p.fail(m, p.seen[m.Key])
	}
	return nil
}

func (p *phone) messages() []notify.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]notify.Message(nil), p.got...)
}

func (p *phone) to(addr string) []notify.Message {
	var out []notify.Message
	for _, m := range p.messages() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

func retryable(msg string) error {
	return &notify.Error{Channel: "sms", Status: 503, Retryable: true, Err: errors.New(msg)}
}

func permanent(msg string) error {
	return &notify.Error{Channel: "sms", Status: 400, Retryable: false, Err: errors.New(msg)}
}

// rig is an alert engine and a pager over one database, on a fake clock.
type rig struct {
	t      *testing.T
	open   func() *store.DB
	db     *store.DB
	clk    *clock.Fake
	fleet  *registry.Index
	lifts  *liftstate.Store
	e      *alerts.Engine
	p      *paging.Pager
	roster *roster
	chans  map[string]notify.Notifier
	cfg    paging.Config
	seq    int64
	reg    *prometheus.Registry
}

func newRig(t *testing.T, open func() *store.DB, r *roster, chans map[string]notify.Notifier) *rig {
	t.Helper()
	fleet, err := registry.Jiangwan()
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, open: open, clk: clock.NewFake(t0), fleet: registry.NewIndex(fleet), roster: r, chans: chans, cfg: paging.DefaultConfig()}
	g.start()
	return g
}

// start opens the database, an engine and a pager over it (again after a
// crash: only what was persisted is kept).
func (g *rig) start() {
	g.t.Helper()
	g.db = g.open()
	g.lifts = liftstate.New(g.fleet, liftstate.Options{})
	g.reg = prometheus.NewRegistry()
	var err error
	g.e, err = alerts.New(context.Background(), alerts.Config{Policies: alerts.Policies{Default: alerts.DefaultPolicy()}, Store: g.db.Alerts(),
		Clock: g.clk.Now, Lifts: g.lifts, Estates: g.fleet.Estate, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		g.t.Fatal(err)
	}
	g.p, err = paging.New(context.Background(), paging.Options{Store: g.db.Pages(), Roster: g.roster, Lifts: g.fleet, Engine: g.e,
		Channels: g.chans, Config: g.cfg, PublicURL: "http://liftwatch.test", Clock: g.clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: g.reg})
	if err != nil {
		g.t.Fatal(err)
	}
	g.e.Listen(g.p.Handle)
}

// crash abandons the engine and the pager and starts new ones on the same
// database.
func (g *rig) crash() {
	g.db.Close()
	g.start()
}

// trap raises an entrapment on the lift and lets the pager act.
func (g *rig) trap() *alerts.Alert {
	g.t.Helper()
	g.seq++
	m := &telemetry.Message{Kind: telemetry.KindFault, Lift: lift, Boot: 1, Seq: g.seq, TS: g.clk.Now().UnixMilli(), BatteryPct: -1, LoadPct: -1,
		DoorZone: true, Code: "entrapment"}
	u, _ := g.lifts.Observe(m, g.clk.Now(), true)
	g.e.Consume(m, &u)
	g.settle()
	for _, a := range g.e.Open() {
		if a.Lift == lift && a.Type == alerts.TypeEntrapment {
			return a
		}
	}
	g.t.Fatal("no entrapment alert")
	return nil
}

func (g *rig) settle() { g.p.Settle(context.Background()) }

// advance moves the clock, ticking the engine every second, and lets the
// pager act.
func (g *rig) advance(d time.Duration) {
	for step := time.Second; d > 0; d -= step {
		g.clk.Advance(min(step, d))
		g.e.Tick()
		g.settle()
	}
}

func (g *rig) pages(id int64) []paging.Page {
	g.t.Helper()
	list, err := g.db.Pages().AlertPages(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return list
}

// history is the alert's record from the database.
func (g *rig) history(id int64) []alerts.Event {
	g.t.Helper()
	a, err := g.db.Alerts().Alert(context.Background(), id)
	if err != nil {
		g.t.Fatal(err)
	}
	return a.History
}

func (g *rig) events(id int64, action string) []alerts.Event {
	var out []alerts.Event
	for _, ev := range g.history(id) {
		if ev.Action == action {
			out = append(out, ev)
		}
	}
	return out
}

// metric is the value of a metric of the pager's registry with labels
// (name="value" pairs as Prometheus' text shows them), 0 if absent.
func (g *rig) metric(name, labels string) float64 {
	g.t.Helper()
	mfs, err := g.reg.Gather()
	if err != nil {
		g.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"=\""+l.GetValue()+"\"")
			}
			if strings.Join(ls, ",") != labels {
				continue
			}
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	return 0
}
