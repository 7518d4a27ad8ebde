package api

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in limits. Only failed attempts are counted: an office behind one
// address signs in all day without being limited, while guessing is.
const (
	// loginIPBurst failures from one client address, then one more every
	// loginIPEvery.
	loginIPBurst = 5
	loginIPEvery = 12 * time.Second
	// loginAccountBurst failures for one account (from any addresses) per
	// loginAccountWindow, refilled evenly over the window.
	loginAccountBurst  = 10
	loginAccountWindow = 15 * time.Minute
	// loginIdle is when a key's bucket is forgotten (it is full again by then).
	loginIdle = 15 * time.Minute
	// loginMaxKeys bounds the memory of the limiter: past it, idle keys are
	// swept first, then (under a flood of invented addresses or emails)
	// the oldest.
	loginMaxKeys = 100_000
)

// loginLimiter counts failed sign-ins per client address and per account
// (the email as typed, lowercased: unknown emails get buckets too, so the
// answer does not tell whether an account exists).
type loginLimiter struct {
	mu      sync.Mutex
	ip      map[string]*bucket
	account map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLoginLimiter() *loginLimiter {
	return &loginLimiter{ip: map[string]*bucket{}, account: map[string]*bucket{}}
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// attempt is one sign-in attempt that holds a token of the address's and
// of the account's bucket from before the password is checked, so that
// parallel guesses cannot all slip through before the first failure is
// counted.
type attempt struct {
	l      *loginLimiter
	ip, ac *rate.Reservation
}

// begin starts an attempt from ip for email at now. When either bucket is
// empty it returns nil and which limit refused ("ip" or "account").
func (l *loginLimiter) begin(ip, email string, now time.Time) (*attempt, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := &attempt{l: l}
	a.ip = reserve(l.ip, ip, rate.Every(loginIPEvery), loginIPBurst, now)
	if a.ip.DelayFrom(now) > 0 {
		a.ip.CancelAt(now)
		return nil, "ip"
	}
	a.ac = reserve(l.account, accountKey(email), rate.Every(loginAccountWindow/loginAccountBurst), loginAccountBurst, now)
	if a.ac.DelayFrom(now) > 0 {
		a.ip.CancelAt(now)
		a.ac.CancelAt(now)
		return nil, "account"
	}
	return a, ""
}

// release gives the attempt's tokens back, for a successful sign-in
// (which counts against neither the address nor the account) or one that
// got no answer (a database error). A failed attempt simply keeps them.
// now must be the time the attempt began.
func (a *attempt) release(now time.Time) {
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	a.ip.CancelAt(now)
	a.ac.CancelAt(now)
}

// reserve takes a token from key's bucket (created full on first use).
func reserve(m map[string]*bucket, key string, r rate.Limit, burst int, now time.Time) *rate.Reservation {
	b := m[key]
	if b == nil {
		if len(m) >= loginMaxKeys {
			sweep(m, now)
		}
		b = &bucket{lim: rate.NewLimiter(r, burst)}
		m[key] = b
	}
	b.seen = now
	return b.lim.ReserveN(now, 1)
}

// sweep drops idle buckets; if none are idle, it drops the oldest half.
func sweep(m map[string]*bucket, now time.Time) {
	for k, b := range m {
		if now.Sub(b.seen) > loginIdle {
			delete(m, k)
		}
	}
	if len(m) < loginMaxKeys {
		return
	}
	var cut time.Time
	n := 0
	for _, b := range m {
		if n == 0 || b.seen.Before(cut) {
			cut = b.seen
		}
		n++
	}
	// Drop everything not newer than the midpoint of oldest … now.
	mid := cut.Add(now.Sub(cut) / 2)
	for k, b := range m {
		if !b.seen.After(mid) {
			delete(m, k)
		}
	}
}
