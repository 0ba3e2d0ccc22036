package identity

import (
	"net/netip"
	"strings"
)

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
