package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// cliAuditRequest stores a request and appends events of the given types
// with db.AppendEvent in one transaction, as the workflow does.
func cliAuditRequest(t *testing.T, pool *pgxpool.Pool, types ...string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			WITH rq AS (INSERT INTO requesters (email) VALUES ('a@example.com') RETURNING id)
			INSERT INTO requests (kind, regime, status, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, needs_verification)
			SELECT 'erasure', 'gdpr', 'open', 'web', id, 'EU', now(), current_date, current_date + 30, current_date + 30, true FROM rq
			RETURNING id`).Scan(&id)
		if err != nil {
			return err
		}
		for i, typ := range types {
			ev := dsr.Event{At: time.Now(), Actor: dsr.ActorSystem, Type: typ, Public: true, Data: map[string]string{"step": fmt.Sprint(i)}}
			if err := db.AppendEvent(ctx, tx, id, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestAuditVerify(t *testing.T) {
	ctx := context.Background()
	pool := cliDatabase(t)

	code, stdout, stderr := runCLIInput(t, nil, "audit", "verify")
	if code != 0 || stdout != "audit: 0 events in 0 requests: every chain intact\n" {
		t.Errorf("empty database: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	id := cliAuditRequest(t, pool, "received", "opened", "in_progress")
	cliAuditRequest(t, pool, "received", "opened")
	code, stdout, stderr = runCLIInput(t, nil, "audit", "verify")
	if code != 0 || stdout != "audit: 5 events in 2 requests: every chain intact\n" {
		t.Fatalf("intact: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	var eventID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM events WHERE request_id = $1 AND seq = 2`, id).Scan(&eventID); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`ALTER TABLE events DISABLE TRIGGER events_no_update`,
			fmt.Sprintf(`UPDATE events SET data = '{"step": "9"}' WHERE id = %d`, eventID),
			`ALTER TABLE events ENABLE TRIGGER events_no_update`,
		} {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLIInput(t, nil, "audit", "verify")
	want := fmt.Sprintf("audit: chain broken at request %s, event 2 (opened, id %d): hash mismatch\n", id, eventID)
	if code != 1 || stdout != want {
		t.Errorf("tampered: exit %d, stdout %q, stderr %q\nwant exit 1, stdout %q", code, stdout, stderr, want)
	}

	for _, args := range [][]string{{"audit"}, {"audit", "check"}, {"audit", "verify", "extra"}} {
		if code, stdout, stderr := runCLIInput(t, nil, args...); code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2", args, code, stdout, stderr)
		} else {
			oneLine(t, "stderr", stderr)
		}
	}
	if code, stdout, _ := runCLIInput(t, nil, "help"); code != 0 || !strings.Contains(stdout, "audit verify") || !strings.Contains(stdout, "user add") || !strings.Contains(stdout, "token create") {
		t.Errorf("help does not list the new commands: %q", stdout)
	}
}

func TestAuditVerifyRequestWithoutEvents(t *testing.T) {
	pool := cliDatabase(t)
	id := cliAuditRequest(t, pool) // as if all its events were deleted
	code, stdout, stderr := runCLIInput(t, nil, "audit", "verify")
	if want := "audit: chain broken at request " + id + ": no events\n"; code != 1 || stdout != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, stdout %q", code, stdout, stderr, want)
	}
}
