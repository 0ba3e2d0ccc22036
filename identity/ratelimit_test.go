package identity

import (
	"strconv"
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
)

// TestThrottleDelaysGrow: the free failures cost nothing, then each attempt
// waits Base doubled per further failure up to Max, counted from the last
// failure; a quiet key is forgotten; a success clears the device.
func TestThrottleDelaysGrow(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	dev := Throttle{Free: 3, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}
	off := Throttle{Free: 1000, Base: time.Second, Max: time.Second, Forget: time.Hour}
	th := newThrottles(dev, off, off, clk.Now)
	var waits []time.Duration
	for range 7 {
		w, which := th.check("wang", "192.0.2.1")
		if w > 0 && which != "device" {
			t.Fatalf("held by %q", which)
		}
		waits = append(waits, w)
		clk.Advance(w)
		th.fail("wang", "192.0.2.1")
	}
	want := []time.Duration{0, 0, 0, 1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	th.fail("wang", "192.0.2.1") // capped at Max
	if w, _ := th.check("wang", "192.0.2.1"); w != 8*time.Second {
		t.Fatalf("past the cap: %v, want 8s", w)
	}
	if w, _ := th.check("wang", "192.0.2.2"); w != 0 {
		t.Fatalf("another device of the same account waits %v", w)
	}
	if w, _ := th.check("li", "192.0.2.1"); w != 0 {
		t.Fatalf("another account on the same address waits %v", w)
	}
	clk.Advance(8*time.Second + time.Hour) // quiet: forgotten
	if w, _ := th.check("wang", "192.0.2.1"); w != 0 {
		t.Fatalf("after an hour's quiet: %v", w)
	}
	th.fail("wang", "192.0.2.1")
	if w, _ := th.check("wang", "192.0.2.1"); w != 0 {
		t.Fatalf("one failure after being forgotten: %v", w)
	}
	for range 5 {
		th.fail("wang", "192.0.2.1")
	}
	th.succeed("wang", "192.0.2.1")
	if w, _ := th.check("wang", "192.0.2.1"); w != 0 {
		t.Fatalf("after a success: %v", w)
	}
	clk.Advance(2 * time.Hour)
	th.sweep(clk.Now())
	if len(th.dev) != 0 || len(th.acct) != 0 || len(th.addr) != 0 {
		t.Fatalf("sweep kept %d %d %d keys", len(th.dev), len(th.acct), len(th.addr))
	}
}

// TestKnownDevicesPassTheAccountAndAddressThrottles: guessing an account's
// password from elsewhere, or spraying from an address, slows the guesser
// and strangers on that address, never an address the account signed in
// from that has not failed itself.
func TestKnownDevicesPassTheAccountAndAddressThrottles(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	th := newThrottles(DefaultDeviceThrottle, DefaultAccountThrottle, DefaultAddressThrottle, clk.Now)
	th.succeed("manager", "198.51.100.7") // the duty manager's phone
	th.succeed("admin", "203.0.113.9")    // the admin, behind the attacker's NAT
	for i := range 10 {                   // from ten addresses, four tries each: under the device's free five
		for range 4 {
			th.fail("manager", "192.0.2."+strconv.Itoa(i))
		}
	}
	if w, which := th.check("manager", "192.0.2.200"); w == 0 || which != "account" {
		t.Fatalf("a new address after 40 failures: %v %q, want the account throttle", w, which)
	}
	if w, _ := th.check("manager", "198.51.100.7"); w != 0 {
		t.Fatalf("the manager's own phone waits %v", w)
	}
	for i := range 25 { // spraying from one address
		th.fail("user"+strconv.Itoa(i), "203.0.113.9")
	}
	if w, which := th.check("nobody-new", "203.0.113.9"); w == 0 || which != "address" {
		t.Fatalf("a stranger on the spraying address: %v %q, want the address throttle", w, which)
	}
	if w, _ := th.check("admin", "203.0.113.9"); w != 0 {
		t.Fatalf("the admin, known on that address, waits %v", w)
	}
	th.unlock("manager")
	if w, _ := th.check("manager", "192.0.2.200"); w != 0 {
		t.Fatalf("after unlock: %v", w)
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5123":             "192.0.2.7",
		"192.0.2.7":                  "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:443": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9":       "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:80":      "192.0.2.7",
		"not-an-address":             "not-an-address",
		"[2001:db8:1:3::1]:443":      "2001:db8:1:3::/64",
	} {
		if got := addressKey(in); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", in, got, want)
		}
	}
}
