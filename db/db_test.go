package db_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

func TestOpenCreatesMissingDatabaseAndMigrates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := dbtest.New(t) // a migrated database we only use to learn the server
	cfg, _ := pgx.ParseConfig(url)
	fresh := strings.Replace(url, "/"+cfg.Database+"?", "/"+cfg.Database+"_new?", 1)
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, dbtest.ServerURL())
		if err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database+"_new WITH (FORCE)")
			c.Close(ctx)
		}
	})

	pool, err := db.Open(ctx, fresh)
	if err != nil {
		t.Fatalf("Open on a missing database: %v", err)
	}
	defer pool.Close()
	applied, err := db.Migrate(ctx, pool)
	if err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ms, _ := db.Migrations()
	if len(applied) == 0 || !strings.HasPrefix(applied[0], "river_") || applied[len(applied)-len(ms)] != "001_schema" || applied[len(applied)-1] != ms[len(ms)-1].Name {
		t.Fatalf("applied = %v, want River's migrations then ours", applied)
	}
	again, err := db.Migrate(ctx, pool)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, err %v; want nothing", again, err)
	}
	for _, table := range []string{"requests", "requesters", "agents", "events", "deadline_ledger", "messages", "users", "api_tokens", "sessions", "tokens", "attachments", "river_job"} {
		var ok bool
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&ok); err != nil || !ok {
			t.Errorf("table %s missing (err %v)", table, err)
		}
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	_, err := pool.Exec(ctx, `
		WITH rq AS (INSERT INTO requesters (email) VALUES ('a@example.com') RETURNING id),
		     r AS (INSERT INTO requests (kind, regime, status, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, needs_verification)
		           SELECT 'access', 'gdpr', 'open', 'api', id, 'EU', now(), current_date, current_date + 30, current_date + 30, true FROM rq RETURNING id)
		INSERT INTO events (request_id, seq, at, actor, type, prev_hash, hash) SELECT id, 1, now(), 'system', 'received', '\x00', '\x01' FROM r`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE events SET type = 'tampered'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE events: err = %v, want append-only error", err)
	}
	if _, err := pool.Exec(ctx, "DELETE FROM events"); err == nil {
		t.Fatal("DELETE FROM events succeeded")
	}
}

func TestQueueIndexIsUsed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	if err := dbtest.SeedRequests(ctx, pool, 20000); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ where, index string }{
		{"status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester')", "requests_queue_idx"},
		{"status = 'awaiting_requester'", "requests_status_due_idx"},
		{"agent_id IS NOT NULL AND status IN ('pending_verification', 'open', 'in_progress', 'awaiting_requester')", "requests_agent_queue_idx"},
	} {
		var plan strings.Builder
		rows, err := pool.Query(ctx, `EXPLAIN SELECT id FROM requests WHERE `+tc.where+` ORDER BY due_on, ref LIMIT 51`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			_ = rows.Scan(&line)
			plan.WriteString(line + "\n")
		}
		rows.Close()
		if !strings.Contains(plan.String(), tc.index) || strings.Contains(plan.String(), "Sort") {
			t.Errorf("queue page WHERE %s does not read %s in order:\n%s", tc.where, tc.index, plan.String())
		}
	}
}

// TestInvalidInputIsAClientErrorWithoutTheValue: PostgreSQL refusing a
// value (22P02 quotes it, 22021 for NUL) becomes EINVALID, and the error —
// which the server would log — carries neither the value nor
// PostgreSQL's message quoting it.
func TestInvalidInputIsAClientErrorWithoutTheValue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	_, err := db.GetRequest(ctx, pool, "not-a-uuid-secret-value", false)
	if dsr.ErrorCode(err) != dsr.EINVALID || !db.InvalidInput(err) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("non-UUID id: %v", err)
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	err = db.InsertNote(ctx, tx, "00000000-0000-0000-0000-000000000000", "subject", "secret\x00value", time.Now())
	if dsr.ErrorCode(err) != dsr.EINVALID || !db.InvalidInput(err) || strings.Contains(err.Error(), "secret") {
		t.Fatalf("NUL in text: %v", err)
	}
}
