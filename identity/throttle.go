package identity

import (
	"sync"
	"time"
)

// Throttle slows down password guessing with growing delays instead of
// locking anyone out: the first Free failures of a key cost nothing; after
// them each attempt must wait Base, doubled with every further failure, up
// to Max, counted from the last failure (Free 5: after the 5th failure 1 s,
// after the 6th 2 s …). A key quiet for Forget (after its
// delay) starts again from zero.
type Throttle struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// The default login throttles. A delay applies to the device that failed
// (the pair of account and client address) always; to an account only for
// addresses it has not signed in from; to an address only for accounts
// that have not signed in from it. So a password sprayer behind an
// office's NAT, or someone guessing the duty manager's password from
// elsewhere, slows themselves down, while the manager's own phone, which
// has signed in before and has not failed, still signs in at once.
var (
	DefaultDeviceThrottle  = Throttle{Free: 5, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	DefaultAccountThrottle = Throttle{Free: 10, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
	DefaultAddressThrottle = Throttle{Free: 20, Base: time.Second, Max: 15 * time.Minute, Forget: time.Hour}
)

// knownFor is how long a successful sign-in makes its address known for
// the account.
const knownFor = 30 * 24 * time.Hour

// delay is the wait after n failures.
func (t Throttle) delay(n int) time.Duration {
	if n < t.Free || t.Base <= 0 {
		return 0
	}
	d := t.Base
	for i := t.Free; i < n && d < t.Max; i++ {
		d *= 2
	}
	return min(d, t.Max)
}

type strikes struct {
	n    int
	last time.Time
}

// throttles keeps the three throttles' counts and the addresses each
// account has signed in from. It lives in memory: a restart forgets it
// (documented in docs/identity.md).
type throttles struct {
	device, account, address Throttle
	now                      func() time.Time

	mu     sync.Mutex
	dev    map[string]map[string]*strikes // account -> address -> strikes
	acct   map[string]*strikes
	addr   map[string]*strikes
	known  map[string]map[string]time.Time // account -> address -> last success
	writes int
}

func newThrottles(device, account, address Throttle, now func() time.Time) *throttles {
	return &throttles{device: device, account: account, address: address, now: now,
		dev: map[string]map[string]*strikes{}, acct: map[string]*strikes{}, addr: map[string]*strikes{},
		known: map[string]map[string]time.Time{}}
}

// wait is how long s must still wait under t at now (0: not at all);
// forgotten strikes are reset.
func wait(t Throttle, s *strikes, now time.Time) time.Duration {
	if s == nil || s.n == 0 {
		return 0
	}
	d := t.delay(s.n)
	if now.Sub(s.last) >= d+t.Forget {
		s.n = 0
		return 0
	}
	return max(0, s.last.Add(d).Sub(now))
}

// check says whether account may try from address now, and if not, how
// long it must wait and which throttle holds it ("device", "account",
// "address").
func (th *throttles) check(account, address string) (time.Duration, string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	now := th.now()
	if w := wait(th.device, th.dev[account][address], now); w > 0 {
		return w, "device"
	}
	if th.isKnown(account, address, now) {
		return 0, ""
	}
	if w := wait(th.account, th.acct[account], now); w > 0 {
		return w, "account"
	}
	if w := wait(th.address, th.addr[address], now); w > 0 {
		return w, "address"
	}
	return 0, ""
}

func (th *throttles) isKnown(account, address string, now time.Time) bool {
	at, ok := th.known[account][address]
	return ok && now.Sub(at) < knownFor
}

func strike(m map[string]*strikes, key string, now time.Time) {
	s := m[key]
	if s == nil {
		s = &strikes{}
		m[key] = s
	}
	s.n++
	s.last = now
}

// fail records a failed attempt of account from address.
func (th *throttles) fail(account, address string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	now := th.now()
	byAddr := th.dev[account]
	if byAddr == nil {
		byAddr = map[string]*strikes{}
		th.dev[account] = byAddr
	}
	// A strike on a key whose strikes were forgotten starts from one.
	for _, p := range []struct {
		t Throttle
		s *strikes
	}{{th.device, byAddr[address]}, {th.account, th.acct[account]}, {th.address, th.addr[address]}} {
		wait(p.t, p.s, now)
	}
	strike(byAddr, address, now)
	if !th.isKnown(account, address, now) {
		strike(th.acct, account, now)
		strike(th.addr, address, now)
	}
	if th.writes++; th.writes%1024 == 0 {
		th.sweep(now)
	}
}

// succeed records a sign-in: the device's strikes go, and the address is
// known for the account. The account's and the address's strikes stay (a
// sprayer's one lucky guess must not clear its record).
func (th *throttles) succeed(account, address string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	delete(th.dev[account], address)
	k := th.known[account]
	if k == nil {
		k = map[string]time.Time{}
		th.known[account] = k
	}
	k[address] = th.now()
	if len(k) > 32 { // a bounded memory of devices: forget the oldest
		var oldest string
		for a, at := range k {
			if oldest == "" || at.Before(k[oldest]) {
				oldest = a
			}
		}
		delete(k, oldest)
	}
}

// unlock forgets the account's strikes (an admin's unlock): the account
// count, and the device counts of addresses the account is known on (its
// owner's own devices). The devices that attacked it, and the addresses'
// counts, stay: an unlock gives the attacker no fresh tries.
func (th *throttles) unlock(account string) {
	th.mu.Lock()
	defer th.mu.Unlock()
	now := th.now()
	for addr := range th.dev[account] {
		if th.isKnown(account, addr, now) {
			delete(th.dev[account], addr)
		}
	}
	delete(th.acct, account)
}

// sweep drops keys whose strikes are forgotten; the caller holds mu.
func (th *throttles) sweep(now time.Time) {
	for a, byAddr := range th.dev {
		for ad, s := range byAddr {
			if wait(th.device, s, now); s.n == 0 {
				delete(byAddr, ad)
			}
		}
		if len(byAddr) == 0 {
			delete(th.dev, a)
		}
	}
	for k, s := range th.acct {
		if wait(th.account, s, now); s.n == 0 {
			delete(th.acct, k)
		}
	}
	for k, s := range th.addr {
		if wait(th.address, s, now); s.n == 0 {
			delete(th.addr, k)
		}
	}
	for a, k := range th.known {
		for ad, at := range k {
			if now.Sub(at) >= knownFor {
				delete(k, ad)
			}
		}
		if len(k) == 0 {
			delete(th.known, a)
		}
	}
}
