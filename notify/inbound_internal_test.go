package notify

import (
	"fmt"
	"testing"
	"time"
)

// TestKeyedLimiterForgetsIdleKeys: a key idle for a minute is dropped (its
// bucket would be full again), so a flood from many addresses does not
// grow the map for ever; a key still in use keeps its count.
func TestKeyedLimiterForgetsIdleKeys(t *testing.T) {
	t.Parallel()
	k := newKeyedLimiter(2)
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for i := 0; i < 100; i++ {
		if !k.allow(fmt.Sprintf("10.0.0.%d", i), t0) {
			t.Fatalf("first message of key %d refused", i)
		}
	}
	if !k.allow("busy", t0) || !k.allow("busy", t0) || k.allow("busy", t0) {
		t.Fatal("burst of 2 not enforced")
	}
	if n := k.size(); n != 101 {
		t.Fatalf("%d keys, want 101", n)
	}
	k.allow("busy", t0.Add(59*time.Second))
	k.allow("other", t0.Add(61*time.Second))
	if n := k.size(); n != 2 {
		t.Fatalf("%d keys after a minute, want 2 (busy, other)", n)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::9": "2001:db8:1:2::/64",
		"::ffff:192.0.2.7":     "::ffff:192.0.2.7",
		"not an address":       "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
