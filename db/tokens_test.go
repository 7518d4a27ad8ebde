package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
)

// Migration 009 gives existing status links what they would have had:
// pending for requests never verified, revoked when handed out before the
// confirmation, ended at close + 30 days for closed requests.
func TestMigrationScopesAndRevokesOldLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	if err := dbtest.SeedRequests(ctx, pool, 3); err != nil {
		t.Fatal(err)
	}
	var ids []string
	rows, _ := pool.Query(ctx, `SELECT id FROM requests ORDER BY ref LIMIT 3`)
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 3 {
		t.Fatalf("%d seeded requests", len(ids))
	}
	verified, unverified, closed := ids[0], ids[1], ids[2]
	now := time.Now().UTC().Truncate(time.Microsecond)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE requests SET status = 'open', verified_at = $2 WHERE id = $1`, []any{verified, now}},
		{`UPDATE requests SET status = 'open', verified_at = NULL WHERE id = $1`, []any{unverified}},
		{`UPDATE requests SET status = 'completed', verified_at = $2, closed_at = $2 WHERE id = $1`, []any{closed, now.Add(-40 * 24 * time.Hour)}},
		{`ALTER TABLE tokens DROP COLUMN scope, DROP COLUMN revoked_at`, nil},
	} {
		if _, err := pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	insert := func(req, name string, created time.Time) {
		if _, err := pool.Exec(ctx, `INSERT INTO tokens (request_id, purpose, holder, token_hash, created_at, expires_at)
			VALUES ($1, 'status', 'subject', $2, $3, $4)`, req, []byte(name), created, now.Add(300*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	insert(verified, "before", now.Add(-time.Hour))
	insert(verified, "at", now)
	insert(unverified, "unproven", now.Add(-time.Hour))
	insert(closed, "closed", now.Add(-40*24*time.Hour))
	ms, _ := db.Migrations()
	for _, m := range ms {
		if m.Name == "009_link_scopes" {
			if _, err := pool.Exec(ctx, m.SQL); err != nil {
				t.Fatalf("migration 009: %v", err)
			}
		}
	}
	for name, want := range map[string]struct {
		scope   string
		revoked bool
		expired bool
	}{
		"before": {db.ScopeFull, true, false}, "at": {db.ScopeFull, false, false},
		"unproven": {db.ScopePending, false, false}, "closed": {db.ScopeFull, false, true},
	} {
		tok, err := db.FindToken(ctx, pool, []byte(name), db.TokenStatus, false)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if tok.Scope != want.scope || (tok.RevokedAt != nil) != want.revoked || tok.ExpiresAt.Before(now) != want.expired {
			t.Errorf("%s: scope %s revoked %v expires %s, want %+v", name, tok.Scope, tok.RevokedAt, tok.ExpiresAt, want)
		}
	}
}
