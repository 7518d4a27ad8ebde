package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// auditRequest stores a request (with a requester) and appends events of
// the given types to its chain with db.AppendEvent, in one transaction.
func auditRequest(t *testing.T, pool *pgxpool.Pool, types ...string) string {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	var id string
	err = tx.QueryRow(ctx, `
		WITH rq AS (INSERT INTO requesters (email) VALUES ('a@example.com') RETURNING id)
		INSERT INTO requests (kind, regime, status, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, needs_verification)
		SELECT 'access', 'gdpr', 'open', 'api', id, 'EU', now(), current_date, current_date + 30, current_date + 30, true FROM rq
		RETURNING id`).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	// Nanoseconds and a non-UTC zone: the chain must survive the
	// database's microsecond UTC timestamps.
	at := time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))
	for i, typ := range types {
		ev := dsr.Event{At: at.Add(time.Duration(i) * time.Minute), Actor: dsr.ActorSystem, Type: typ, Public: i%2 == 0,
			Data: map[string]string{"n": string(rune('a' + i)), "note": "Zoë <ok> & \"quoted\""}}
		if i == 1 {
			ev.Data = nil
		}
		if err := db.AppendEvent(ctx, tx, id, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

// auditTamper runs the statements (with $1 = requestID) with the events table's append-only trigger off,
// as someone with direct database access could.
func auditTamper(t *testing.T, pool *pgxpool.Pool, statements []string, requestID string) {
	t.Helper()
	ctx := context.Background()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE events DISABLE TRIGGER events_no_update; ALTER TABLE event_personal DISABLE TRIGGER event_personal_no_update`); err != nil {
			return err
		}
		for _, sql := range statements {
			tag, err := tx.Exec(ctx, sql, requestID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 1 {
				t.Errorf("tampering %q changed %d rows, want 1", sql, tag.RowsAffected())
			}
		}
		_, err := tx.Exec(ctx, `ALTER TABLE events ENABLE TRIGGER events_no_update; ALTER TABLE event_personal ENABLE TRIGGER event_personal_no_update`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func auditEventID(t *testing.T, pool *pgxpool.Pool, requestID string, seq int) int64 {
	t.Helper()
	var id int64
	if err := pool.QueryRow(context.Background(), `SELECT id FROM events WHERE request_id = $1 AND seq = $2`, requestID, seq).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func verify(t *testing.T, pool *pgxpool.Pool) db.AuditReport {
	t.Helper()
	rep, err := db.VerifyChains(context.Background(), pool)
	if err != nil {
		t.Fatalf("VerifyChains: %v", err)
	}
	return rep
}

func TestVerifyChainsEmpty(t *testing.T) {
	t.Parallel()
	rep := verify(t, dbtest.NewPool(t))
	if rep.Requests != 0 || rep.Events != 0 || rep.Broken != nil {
		t.Fatalf("empty database: %+v", rep)
	}
}

func TestVerifyChainsIntact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	a := auditRequest(t, pool, "received", "opened", "acknowledgment_sent", "in_progress")
	b := auditRequest(t, pool, "received")
	// The batch writer extends the same chains.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		at := time.Now()
		return db.AppendEvents(ctx, tx, map[string]dsr.Event{
			a: {At: at, Actor: dsr.ActorSystem, Type: "reminder", Data: map[string]string{"days": "3"}},
			b: {At: at, Actor: dsr.ActorSystem, Type: "expired"},
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := verify(t, pool)
	if rep.Broken != nil {
		t.Fatalf("intact chains reported broken: %+v", *rep.Broken)
	}
	if rep.Requests != 2 || rep.Events != 7 {
		t.Fatalf("checked %d requests and %d events, want 2 and 7", rep.Requests, rep.Events)
	}
}

func TestVerifyChainsFindsTampering(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper []string // statements with $1 = the request id, each changing one row
		seq    int      // the seq of the event named after tampering
		was    int      // the seq it had before, when renumbered
		typ    string   // its type as stored after tampering
		reason string
	}{
		{name: "data changed", seq: 2, typ: "opened", reason: db.AuditHashMismatch,
			tamper: []string{`UPDATE events SET data = '{"reason": "changed"}' WHERE request_id = $1 AND seq = 2`}},
		{name: "type changed", seq: 3, typ: "denied", reason: db.AuditHashMismatch,
			tamper: []string{`UPDATE events SET type = 'denied' WHERE request_id = $1 AND seq = 3`}},
		{name: "time moved", seq: 1, typ: "received", reason: db.AuditHashMismatch,
			tamper: []string{`UPDATE events SET at = at - interval '1 day' WHERE request_id = $1 AND seq = 1`}},
		{name: "made public", seq: 2, typ: "opened", reason: db.AuditHashMismatch,
			tamper: []string{`UPDATE events SET public = NOT public WHERE request_id = $1 AND seq = 2`}},
		{name: "actor changed", seq: 4, typ: "in_progress", reason: db.AuditHashMismatch,
			tamper: []string{`UPDATE events SET actor = 'user:someone' WHERE request_id = $1 AND seq = 4`}},
		{name: "middle event deleted", seq: 3, typ: "acknowledgment_sent", reason: db.AuditSequenceGap,
			tamper: []string{`DELETE FROM events WHERE request_id = $1 AND seq = 2`}},
		{name: "first event deleted", seq: 2, typ: "opened", reason: db.AuditSequenceGap,
			tamper: []string{`DELETE FROM events WHERE request_id = $1 AND seq = 1`}},
		{name: "deleted event's successor renumbered", seq: 2, was: 3, typ: "acknowledgment_sent", reason: db.AuditPrevHashMismatch,
			tamper: []string{
				`DELETE FROM events WHERE request_id = $1 AND seq = 2`,
				`UPDATE events SET seq = 2 WHERE request_id = $1 AND seq = 3`,
			}},
		{name: "prev_hash rewritten", seq: 3, typ: "acknowledgment_sent", reason: db.AuditPrevHashMismatch,
			tamper: []string{`UPDATE events SET prev_hash = sha256(prev_hash) WHERE request_id = $1 AND seq = 3`}},
		{name: "hash and next prev_hash rewritten together", seq: 2, typ: "opened", reason: db.AuditHashMismatch,
			tamper: []string{
				`UPDATE events SET hash = sha256('x') WHERE request_id = $1 AND seq = 2`,
				`UPDATE events SET prev_hash = sha256('x') WHERE request_id = $1 AND seq = 3`,
			}},
		{name: "data not all strings", seq: 2, typ: "opened", reason: db.AuditMalformedData,
			tamper: []string{`UPDATE events SET data = '{"n": 1}' WHERE request_id = $1 AND seq = 2`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := dbtest.NewPool(t)
			id := auditRequest(t, pool, "received", "opened", "acknowledgment_sent", "in_progress")
			auditRequest(t, pool, "received", "opened")
			was := tt.seq
			if tt.was != 0 {
				was = tt.was
			}
			wantID := auditEventID(t, pool, id, was)
			if clean := verify(t, pool); clean.Broken != nil || clean.Events != 6 {
				t.Fatalf("before tampering: %+v", clean)
			}

			auditTamper(t, pool, tt.tamper, id)
			rep := verify(t, pool)
			if rep.Broken == nil {
				t.Fatalf("tampering not found: %+v", rep)
			}
			want := db.BrokenLink{RequestID: id, Seq: tt.seq, EventID: wantID, Type: tt.typ, Reason: tt.reason}
			if *rep.Broken != want {
				t.Errorf("broken link = %+v\nwant           %+v", *rep.Broken, want)
			}
			if rep.Requests != 2 {
				t.Errorf("checked %d requests, want 2", rep.Requests)
			}
		})
	}
}

func TestVerifyChainsReportsFirstBreakInOrder(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	var ids []string
	for range 3 {
		ids = append(ids, auditRequest(t, pool, "received", "opened", "acknowledgment_sent"))
	}
	// Break seq 3 of every request and seq 2 of the last one: the first
	// break in (request id, seq) order is seq 3 of the smallest id, or
	// seq 2 when the last request has the smallest id.
	for _, id := range ids {
		auditTamper(t, pool, []string{`UPDATE events SET actor = 'user:x' WHERE request_id = $1 AND seq = 3`}, id)
	}
	last := ids[len(ids)-1]
	auditTamper(t, pool, []string{`UPDATE events SET actor = 'user:x' WHERE request_id = $1 AND seq = 2`}, last)
	first := ids[0]
	for _, id := range ids[1:] {
		if id < first {
			first = id
		}
	}
	wantSeq := 3
	if first == last {
		wantSeq = 2
	}
	rep := verify(t, pool)
	if rep.Broken == nil || rep.Broken.RequestID != first || rep.Broken.Seq != wantSeq {
		t.Fatalf("broken = %+v, want request %s seq %d", rep.Broken, first, wantSeq)
	}
	if rep.Requests != 3 || rep.Events != 9 {
		t.Errorf("checked %d requests, %d events; want 3, 9 (the whole table)", rep.Requests, rep.Events)
	}
}

func TestVerifyChainsRequestWithoutEvents(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	id := auditRequest(t, pool, "received")
	auditTamper(t, pool, []string{`DELETE FROM events WHERE request_id = $1`}, id)
	rep := verify(t, pool)
	want := db.BrokenLink{RequestID: id, Reason: db.AuditNoEvents}
	if rep.Broken == nil || *rep.Broken != want {
		t.Fatalf("broken = %+v, want %+v", rep.Broken, want)
	}
	if rep.Requests != 1 || rep.Events != 0 {
		t.Errorf("checked %d requests, %d events; want 1, 0", rep.Requests, rep.Events)
	}
}

func TestVerifyChainsIsOneQuery(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewPool(t)
	for range 5 {
		auditRequest(t, pool, "received", "opened")
	}
	q := &countingQuerier{Querier: pool}
	rep, err := db.VerifyChains(context.Background(), q)
	if err != nil || rep.Broken != nil || rep.Events != 10 {
		t.Fatalf("VerifyChains = %+v, %v", rep, err)
	}
	if q.n != 1 {
		t.Errorf("VerifyChains ran %d statements for 5 requests, want 1", q.n)
	}
}

type countingQuerier struct {
	db.Querier
	n int
}

func (c *countingQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n++
	return c.Querier.Query(ctx, sql, args...)
}

func (c *countingQuerier) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.n++
	return c.Querier.QueryRow(ctx, sql, args...)
}
