package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestUserBySessionIdleLimitAndThrottledTouch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	u := &db.User{Email: "s@example.com", Role: db.RoleOfficer, PasswordHash: "x"}
	if err := db.InsertUser(ctx, pool, u); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	hash := []byte("session-hash")
	if err := db.StartSession(ctx, pool, u.ID, hash, t0, t0.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	lastSeen := func() time.Time {
		t.Helper()
		var at time.Time
		if err := pool.QueryRow(ctx, `SELECT last_seen_at FROM sessions WHERE token_hash = $1`, hash).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at.UTC()
	}
	use := func(at time.Time) error {
		t.Helper()
		got, err := db.UserBySession(ctx, pool, hash, at, 30*time.Minute)
		if err == nil && got.ID != u.ID {
			t.Fatalf("session user %+v", got)
		}
		return err
	}
	// Within a minute of the last write: no write.
	if err := use(t0.Add(30 * time.Second)); err != nil || !lastSeen().Equal(t0) {
		t.Fatalf("use after 30s: %v, last_seen_at %v; want %v unchanged", err, lastSeen(), t0)
	}
	// Later: written.
	t1 := t0.Add(10 * time.Minute)
	if err := use(t1); err != nil || !lastSeen().Equal(t1) {
		t.Fatalf("use after 10m: %v, last_seen_at %v; want %v", err, lastSeen(), t1)
	}
	// Idle for 30 minutes or more: refused, and not revived.
	if err := use(t1.Add(31 * time.Minute)); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Fatalf("use after 31 idle minutes: %v, want ENOTFOUND", err)
	}
	if !lastSeen().Equal(t1) {
		t.Errorf("a refused use moved last_seen_at to %v", lastSeen())
	}
	// No idle limit (0): only the absolute one counts.
	if _, err := db.UserBySession(ctx, pool, hash, t1.Add(5*time.Hour), 0); err != nil {
		t.Errorf("no idle limit: %v", err)
	}
	if _, err := db.UserBySession(ctx, pool, hash, t0.Add(12*time.Hour), 0); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Errorf("at the absolute limit: %v, want ENOTFOUND", err)
	}

	// The cleanup deletes by either limit, and nothing else.
	other := []byte("other")
	if err := db.StartSession(ctx, pool, u.ID, other, t0.Add(6*time.Hour), t0.Add(18*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := db.DeleteExpiredSessions(ctx, pool, t0.Add(6*time.Hour+10*time.Minute), 30*time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want the idle one", n, err)
	}
	if n, err := db.DeleteExpiredSessions(ctx, pool, t0.Add(18*time.Hour), 0); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions at the absolute limit = %d, %v; want 1", n, err)
	}
}
