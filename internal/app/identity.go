package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/liftwatch/liftwatch/identity"
	"github.com/liftwatch/liftwatch/internal/civil"
	"github.com/liftwatch/liftwatch/registry"
	"github.com/liftwatch/liftwatch/trusteeship"
)

// contracts reads a lift's maintenance contracts (store.Trusteeship).
type contracts interface {
	Contracts(ctx context.Context, lift string) ([]trusteeship.Contract, error)
}

// directory is identity.Directory over the register, the trusteeship
// contracts and the estate→subdistrict table (docs/identity.md): a lift's
// estate from the register; its contractor from the trusteeship contract
// in force today (Shanghai date), else the register's contractor field;
// its subdistrict from the table. The contractor is cached per lift for
// contractTTL, so a list of 300 lifts is not 300 queries per request; a
// contract change reaches authorisation within that time.
type directory struct {
	index       *registry.Index
	contracts   contracts
	subdistrict func(estate string) string
	now         func() time.Time

	mu    sync.Mutex
	cache map[string]cachedContractor
}

type cachedContractor struct {
	name string
	at   time.Time
	day  civil.Date
}

const contractTTL = 30 * time.Second

func newDirectory(ix *registry.Index, c contracts, subdistrict func(string) string, now func() time.Time) *directory {
	return &directory{index: ix, contracts: c, subdistrict: subdistrict, now: now, cache: map[string]cachedContractor{}}
}

// LiftScope implements identity.Directory.
func (d *directory) LiftScope(ctx context.Context, lift string) (identity.LiftScope, error) {
	l, ok := d.index.Get(lift)
	if !ok {
		return identity.LiftScope{}, fmt.Errorf("lift %s: %w", lift, identity.ErrNotFound)
	}
	c, err := d.contractor(ctx, l)
	if err != nil {
		return identity.LiftScope{}, err
	}
	return identity.LiftScope{Estate: l.Estate, Contractor: c, Subdistrict: d.subdistrict(l.Estate)}, nil
}

// EstateSubdistrict implements identity.Directory.
func (d *directory) EstateSubdistrict(_ context.Context, estate string) (string, error) {
	sd := d.subdistrict(estate)
	if sd == "" {
		return "", fmt.Errorf("estate %s (or its subdistrict): %w", estate, identity.ErrNotFound)
	}
	return sd, nil
}

// Forget drops the cached contractor of lift (after its contracts change).
func (d *directory) Forget(lift string) {
	d.mu.Lock()
	delete(d.cache, lift)
	d.mu.Unlock()
}

func (d *directory) contractor(ctx context.Context, l *registry.Lift) (string, error) {
	now := d.now()
	today := civil.Of(now)
	d.mu.Lock()
	c, ok := d.cache[l.ID]
	d.mu.Unlock()
	if ok && c.day == today && now.Sub(c.at) < contractTTL {
		return c.name, nil
	}
	name := l.Contractor
	if d.contracts != nil {
		cs, err := d.contracts.Contracts(ctx, l.ID)
		if err != nil {
			return "", fmt.Errorf("contracts of lift %s: %w", l.ID, err)
		}
		for i := range cs {
			if cs[i].On(today) && cs[i].Contractor != "" {
				name = cs[i].Contractor
				break
			}
		}
	}
	d.mu.Lock()
	d.cache[l.ID] = cachedContractor{name: name, at: now, day: today}
	d.mu.Unlock()
	return name, nil
}

// subdistricts builds the estate→subdistrict function: each estate of
// the register in def, unless table ("estate=subdistrict,…") names it.
// An estate of the table that is not in the register is a setting error.
func subdistricts(lifts []registry.Lift, def, table string) (func(string) string, error) {
	known := map[string]bool{}
	for _, l := range lifts {
		known[l.Estate] = true
	}
	m := map[string]string{}
	var errs []error
	for _, item := range strings.Split(table, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		e, sd, ok := strings.Cut(item, "=")
		e, sd = strings.TrimSpace(e), strings.TrimSpace(sd)
		switch {
		case !ok || e == "" || sd == "":
			errs = append(errs, fmt.Errorf("registry.subdistricts: %q: want estate=subdistrict", item))
		case !known[e]:
			errs = append(errs, fmt.Errorf("registry.subdistricts: estate %q is not in the register", e))
		default:
			m[e] = sd
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return func(estate string) string {
		if sd, ok := m[estate]; ok {
			return sd
		}
		if known[estate] {
			return def
		}
		return ""
	}, nil
}

// securityHeaders sets the headers of every response: a CSP with no inline
// script (pages load their modules from 'self'), no framing, no MIME
// sniffing, and referrers only to this site.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// CSP is the Content-Security-Policy of every response.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Identity is the identity service (accounts, sessions, tokens, audit).
func (a *App) Identity() *identity.Service { return a.ident }
