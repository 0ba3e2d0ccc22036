package identity

import (
	"testing"
	"time"

	"github.com/liftwatch/liftwatch/internal/clock"
)

// TestLimiterSlidingWindow: blocked from the Max-th failure in a window
// until the oldest of those leaves it, then exactly one more attempt.
func TestLimiterSlidingWindow(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	l := newLimiter(Limit{Max: 3, Window: 10 * time.Minute}, clk.Now)
	for i := range 3 {
		if _, blocked := l.blocked("k"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("k")
		clk.Advance(time.Minute)
	}
	// Failures at 0, 1, 2 min; now 3 min: blocked until 10 min.
	wait, blocked := l.blocked("k")
	if !blocked || wait != 7*time.Minute {
		t.Fatalf("after 3 failures: blocked=%v wait=%v, want 7m", blocked, wait)
	}
	if _, blocked := l.blocked("other"); blocked {
		t.Fatal("another key is blocked")
	}
	clk.Advance(7*time.Minute - time.Second)
	if _, blocked := l.blocked("k"); !blocked {
		t.Fatal("unblocked a second early")
	}
	clk.Advance(time.Second)
	if _, blocked := l.blocked("k"); blocked {
		t.Fatal("still blocked once the oldest failure left the window")
	}
	l.fail("k") // failures at 1, 2, 10 min: blocked until 11 min
	if wait, blocked := l.blocked("k"); !blocked || wait != time.Minute {
		t.Fatalf("one more failure: blocked=%v wait=%v, want 1m", blocked, wait)
	}
	l.reset("k")
	if _, blocked := l.blocked("k"); blocked {
		t.Fatal("blocked after reset")
	}
	clk.Advance(time.Hour)
	l.fail("z")
	l.mu.Lock()
	n := len(l.m)
	l.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d keys kept, want only the live one", n)
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
