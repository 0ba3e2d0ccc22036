package identity

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Limit is at most Max failures in any Window (a sliding window).
type Limit struct {
	Max    int
	Window time.Duration
}

// The default login limits: 5 failed logins per account and 20 per client
// address in any 15 minutes.
var (
	DefaultAccountLimit = Limit{Max: 5, Window: 15 * time.Minute}
	DefaultAddressLimit = Limit{Max: 20, Window: 15 * time.Minute}
)

// limiter counts failures per key in a sliding window: it keeps the times
// of the last Max failures of each key, so a key is blocked from its Max-th
// failure until the oldest of them leaves the window. It lives in memory
// (a restart forgets it) and forgets keys whose failures have all aged out.
type limiter struct {
	lim Limit
	now func() time.Time
	mu  sync.Mutex
	m   map[string][]time.Time
	ops int
}

func newLimiter(l Limit, now func() time.Time) *limiter {
	return &limiter{lim: l, now: now, m: map[string][]time.Time{}}
}

// live drops failures that left the window; the caller holds mu.
func (l *limiter) live(key string, now time.Time) []time.Time {
	fs := l.m[key]
	i := 0
	for i < len(fs) && !fs[i].After(now.Add(-l.lim.Window)) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.m, key)
	} else {
		l.m[key] = fs
	}
	return fs
}

// blocked says how long key must wait before its next attempt, if it must.
func (l *limiter) blocked(key string) (time.Duration, bool) {
	if l.lim.Max <= 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	fs := l.live(key, now)
	if len(fs) < l.lim.Max {
		return 0, false
	}
	return fs[len(fs)-l.lim.Max].Add(l.lim.Window).Sub(now), true
}

// fail records a failure of key.
func (l *limiter) fail(key string) {
	if l.lim.Max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	fs := append(l.live(key, now), now)
	if len(fs) > l.lim.Max {
		fs = fs[len(fs)-l.lim.Max:]
	}
	l.m[key] = fs
	if l.ops++; l.ops%1024 == 0 {
		for k := range l.m {
			l.live(k, now)
		}
	}
}

// reset forgets key's failures (an account after a successful login).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// addressKey is the rate-limit key of a client address: the IP of
// host:port, an IPv6 address reduced to its /64 (one household or host
// usually holds a whole /64).
func addressKey(remote string) string {
	host := remote
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		host = ap.Addr().String()
	} else if i := strings.LastIndexByte(remote, ':'); i > 0 && !strings.Contains(remote[:i], ":") {
		host = remote[:i]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
