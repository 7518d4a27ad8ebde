package db_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Events written before migration 021 (hash version 1, the whole data
// hashed) still verify, and new version-2 events extend their chains.
func TestVerifyChainsVersion1Rows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	id := auditRequest(t, pool)
	at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	ev := dsr.Event{Seq: 1, At: at, Actor: dsr.ActorSystem, Type: "extended", Public: true, Data: map[string]string{"reason": "old free text", "due": "2025-03-01"}}
	prev := make([]byte, sha256.Size)
	data, _ := json.Marshal(ev.Data)
	if _, err := pool.Exec(ctx, `INSERT INTO events (request_id, seq, at, actor, type, public, data, prev_hash, hash)
		VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)`, id, at, ev.Actor, ev.Type, ev.Public, data, prev, db.EventHash(prev, id, ev)); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return db.AppendEvent(ctx, tx, id, dsr.Event{At: at.Add(time.Hour), Actor: "user:x", Type: "extended", Data: map[string]string{"reason": "new free text", "due": "2025-04-01"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep := verify(t, pool); rep.Broken != nil || rep.Events != 2 {
		t.Fatalf("mixed chain: %+v", rep)
	}
	var v1, v2 int
	var personal []byte
	if err := pool.QueryRow(ctx, `SELECT (SELECT hash_version FROM events WHERE request_id = $1 AND seq = 1),
		(SELECT hash_version FROM events WHERE request_id = $1 AND seq = 2),
		(SELECT personal FROM event_personal WHERE request_id = $1 AND seq = 2)`, id).Scan(&v1, &v2, &personal); err != nil {
		t.Fatal(err)
	}
	if v1 != 1 || v2 != 2 || personal == nil {
		t.Fatalf("versions %d, %d; personal %s", v1, v2, personal)
	}
	// Readers see the personal part merged back.
	evs, err := db.Events(ctx, pool, id, false)
	if err != nil || evs[1].Data["reason"] != "new free text" || evs[1].Data["due"] != "2025-04-01" {
		t.Fatalf("events read back: %+v %v", evs, err)
	}
}

// The personal part (of seq 3: auditRequest gives seq 2 no data) is
// covered by its digest: changing it, or the
// digest, breaks the chain at that event.
func TestVerifyChainsPersonalTampering(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		sql    string
		reason string
	}{
		"personal text changed": {`UPDATE event_personal SET personal = jsonb_set(personal, '{data,note}', '"changed"') WHERE request_id = $1 AND seq = 3`, db.AuditPersonalMismatch},
		"personal salt changed": {`UPDATE event_personal SET personal = jsonb_set(personal, '{salt}', '"00"') WHERE request_id = $1 AND seq = 3`, db.AuditPersonalMismatch},
		"digest changed":        {`UPDATE events SET personal_digest = sha256('x') WHERE request_id = $1 AND seq = 3`, db.AuditHashMismatch},
		"personal moved to data": {`WITH p AS (DELETE FROM event_personal WHERE request_id = $1 AND seq = 3 RETURNING personal)
			UPDATE events SET data = data || ((SELECT personal FROM p) -> 'data'), personal_digest = NULL WHERE request_id = $1 AND seq = 3`, db.AuditHashMismatch},
		"version downgraded": {`UPDATE events SET hash_version = 1 WHERE request_id = $1 AND seq = 3`, db.AuditHashMismatch},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := dbtest.NewPool(t)
			id := auditRequest(t, pool, "received", "opened", "in_progress")
			if rep := verify(t, pool); rep.Broken != nil {
				t.Fatalf("before: %+v", rep.Broken)
			}
			auditTamper(t, pool, []string{tt.sql}, id)
			rep := verify(t, pool)
			if rep.Broken == nil || rep.Broken.Seq != 3 || rep.Broken.Reason != tt.reason {
				t.Fatalf("broken = %+v, want seq 3: %s", rep.Broken, tt.reason)
			}
		})
	}
}

// The purge's erasure of a purged request's personal part keeps the
// chain verifiable; the trigger refuses every other change.
func TestPurgeRequestsKeepsChain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	id := auditRequest(t, pool, "received", "opened", "in_progress")
	if _, err := pool.Exec(ctx, `UPDATE requests SET status = 'completed', closed_at = now() - interval '3 years' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	var c db.PurgeCounts
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ids, err := db.LockPurgeableRequests(ctx, tx, time.Now().AddDate(-2, 0, 0), 100)
		if err != nil || len(ids) != 1 {
			t.Fatalf("locked %v %v", ids, err)
		}
		c, _, err = db.PurgeRequests(ctx, tx, ids, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 1 || c.Requesters != 1 || c.EventsErased != 2 /* seq 2 has no data */ {
		t.Fatalf("counts %+v", c)
	}
	if rep := verify(t, pool); rep.Broken != nil {
		t.Fatalf("after purge: %+v", rep.Broken)
	}
	evs, err := db.Events(ctx, pool, id, false)
	if err != nil || evs[0].Data["note"] != "" || evs[0].Data["n"] != "a" {
		t.Fatalf("events after purge: %+v %v", evs, err)
	}
	if _, err := pool.Exec(ctx, `UPDATE events SET actor = 'x' WHERE request_id = $1`, id); err == nil {
		t.Fatal("the trigger let an update through")
	}
	auditTamper(t, pool, []string{`UPDATE events SET data = '{"n": "b"}' WHERE request_id = $1 AND seq = 1`}, id)
	if rep := verify(t, pool); rep.Broken == nil || rep.Broken.Reason != db.AuditHashMismatch {
		t.Fatalf("tampering after purge: %+v", rep.Broken)
	}
}

// What the organisation's systems returned for a closed request goes
// with its export files, once no download link is live; a held request
// keeps it.
func TestPurgeTaskResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	org, err := dsr.ParseConfig(strings.NewReader(`{"organisation": {"name": "O", "contact_email": "p@o.example"},
		"mail": {"from": "p@o.example"}, "regimes": ["gdpr"], "default_regime": "gdpr"}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	withTask := func(closedAgo time.Duration, held bool, linkLeft time.Duration) string {
		id := auditRequest(t, pool, "received")
		if _, err := pool.Exec(ctx, `UPDATE requests SET status = 'completed', closed_at = $2, held_at = CASE WHEN $3 THEN now() END WHERE id = $1`,
			id, now.Add(-closedAgo), held); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `WITH k AS (INSERT INTO tasks (request_id, system, kind, connector, status, due_on, created_at, updated_at)
				VALUES ($1, 'crm', 'access', 'webhook', 'done', current_date, now(), now()) RETURNING id)
			INSERT INTO task_sections (task_id, section, seq, rows) SELECT id, 'orders', s, '[{"email": "a@example.com"}]' FROM k, generate_series(1, 2) s`, id); err != nil {
			t.Fatal(err)
		}
		if linkLeft != 0 {
			if _, err := pool.Exec(ctx, `INSERT INTO tokens (request_id, purpose, holder, token_hash, expires_at) VALUES ($1, 'download', 'subject', $2, $3)`,
				id, []byte(id), now.Add(linkLeft)); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	gone := withTask(20*24*time.Hour, false, -time.Hour)
	live := withTask(20*24*time.Hour, false, time.Hour) // the link still works
	held := withTask(20*24*time.Hour, true, 0)          // legal hold
	recent := withTask(10*24*time.Hour, false, 0)       // closed within the download period
	cut := org.PurgeCutoffs(now)
	if n, err := db.CountPurgeCategory(ctx, pool, db.PurgeTaskResults, cut); err != nil || n != 2 {
		t.Fatalf("count: %d %v, want 2", n, err)
	}
	if n, err := db.PurgeCategoryBatch(ctx, pool, db.PurgeTaskResults, cut, 1); err != nil || n != 1 {
		t.Fatalf("first batch of 1: %d %v", n, err)
	}
	if n, err := db.PurgeCategoryBatch(ctx, pool, db.PurgeTaskResults, cut, 10); err != nil || n != 1 {
		t.Fatalf("second batch: %d %v", n, err)
	}
	for id, want := range map[string]int{gone: 0, live: 2, held: 2, recent: 2} {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM task_sections s JOIN tasks k ON k.id = s.task_id WHERE k.request_id = $1`, id).Scan(&n); err != nil || n != want {
			t.Errorf("request %s: %d sections left, want %d (%v)", id, n, want, err)
		}
	}
}

// The purge deletes a requester or agent row only once none of their
// requests is left unpurged (a purged request names the anonymous
// person instead), and its update of requests, which the
// report trigger skips (migration 027), leaves the reports exact: no
// delta written, the live read equal to a rebuild. The skip ends with
// the purge's statement: a later update in the same transaction is
// counted.
func TestPurgeRequestsSharedPeopleAndReports(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	var reqA, reqB, agent string
	for _, q := range []struct {
		sql string
		dst *string
	}{
		{`INSERT INTO requesters (email, name) VALUES ('a@example.com', 'A') RETURNING id`, &reqA},
		{`INSERT INTO requesters (email, name) VALUES ('b@example.com', 'B') RETURNING id`, &reqB},
		{`INSERT INTO agents (email, name) VALUES ('g@example.com', 'G') RETURNING id`, &agent},
	} {
		if err := pool.QueryRow(ctx, q.sql).Scan(q.dst); err != nil {
			t.Fatal(err)
		}
	}
	// a1 and b1 closed three years ago (due), a2 closed last month (not
	// due, and it keeps A and the agent in use).
	var a1, a2, b1 string
	for _, r := range []struct {
		requester, closed string
		dst               *string
	}{{reqA, "3 years", &a1}, {reqA, "1 month", &a2}, {reqB, "3 years", &b1}} {
		err := pool.QueryRow(ctx, `INSERT INTO requests (kind, regime, status, channel, requester_id, agent_id, details, calendar,
				received_at, received_on, legal_due, due_on, needs_verification, closed_at, close_reason, outcome)
			VALUES ('access', 'gdpr', 'completed', 'api', $1, $2, 'my details', 'NL', now() - $3::interval - interval '20 days',
				(now() - $3::interval - interval '20 days')::date, (now() - $3::interval)::date, (now() - $3::interval)::date, false,
				now() - $3::interval, 'completed', 'full') RETURNING id`, r.requester, agent, r.closed).Scan(r.dst)
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RebuildReports(ctx, pool); err != nil {
		t.Fatal(err)
	}
	from, to := dsr.YearRange(time.Now().Year() - 3)
	read := func() string {
		bs, err := db.ReportBuckets(ctx, pool, db.ReportQuery{Grain: db.GrainResult, From: from, To: to, ByPeriod: true})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(bucketsString(bs), "\n")
	}
	before := read()
	var (
		c                             db.PurgeCounts
		inUse                         db.PeopleInUse
		deltasInTx, deltasAfterUpdate int
	)
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ids, err := db.LockPurgeableRequests(ctx, tx, time.Now().AddDate(-2, 0, 0), 100)
		if err != nil || len(ids) != 2 {
			t.Fatalf("locked %v %v", ids, err)
		}
		if c, inUse, err = db.PurgeRequests(ctx, tx, ids, time.Now()); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM report_delta`).Scan(&deltasInTx); err != nil {
			return err
		}
		// A change the reports count, after the purge in its transaction.
		if _, err := tx.Exec(ctx, `UPDATE requests SET outcome = 'partial' WHERE id = $1`, a2); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT count(*) FROM report_delta`).Scan(&deltasAfterUpdate)
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests != 2 || c.Requesters != 1 || c.Agents != 0 {
		t.Fatalf("counts %+v, want 2 requests, 1 requester (B), 0 agents", c)
	}
	if fmt.Sprint(inUse.Requesters, inUse.Agents) != fmt.Sprint([]string{reqA}, []string{agent}) {
		t.Fatalf("kept %+v, want requester A and the agent (a2 names them)", inUse)
	}
	if deltasInTx != 0 || deltasAfterUpdate == 0 {
		t.Fatalf("report deltas: %d after the purge (want 0), %d after a later update (want some)", deltasInTx, deltasAfterUpdate)
	}
	people := func() (a, b, g string) {
		t.Helper()
		err := pool.QueryRow(ctx, `SELECT coalesce((SELECT email FROM requesters WHERE id = $1), 'deleted'),
			coalesce((SELECT email FROM requesters WHERE id = $2), 'deleted'),
			coalesce((SELECT email FROM agents WHERE id = $3), 'deleted')`, reqA, reqB, agent).Scan(&a, &b, &g)
		if err != nil {
			t.Fatal(err)
		}
		return a, b, g
	}
	if a, b, g := people(); a != "a@example.com" || b != "deleted" || g != "g@example.com" {
		t.Fatalf("after the first purge: A %q, B %q, agent %q", a, b, g)
	}
	for _, id := range []string{a1, b1} {
		var details, requester, agentOf string
		err := pool.QueryRow(ctx, `SELECT details, requester_id::text, agent_id::text FROM requests WHERE id = $1`, id).Scan(&details, &requester, &agentOf)
		if err != nil || details != "" || requester != db.AnonymousPerson || agentOf != db.AnonymousPerson {
			t.Fatalf("purged request: details %q, requester %s, agent %s (want the anonymous person), %v", details, requester, agentOf, err)
		}
	}
	if live := read(); live != before {
		t.Fatalf("reports changed by the purge:\nbefore\n%s\nafter\n%s", before, live)
	}
	if err := db.RebuildReports(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if rebuilt := read(); rebuilt != before {
		t.Fatalf("reports after the purge differ from a rebuild:\nlive\n%s\nrebuilt\n%s", before, rebuilt)
	}
	// a2 due too: A and the agent go with it.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		ids, err := db.LockPurgeableRequests(ctx, tx, time.Now(), 100)
		if err != nil || len(ids) != 1 || ids[0] != a2 {
			t.Fatalf("locked %v %v, want a2", ids, err)
		}
		c, _, err = db.PurgeRequests(ctx, tx, ids, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, g := people(); a != "deleted" || g != "deleted" || c.Requesters != 1 || c.Agents != 1 {
		t.Fatalf("after the second purge: A %q, agent %q, counts %+v", a, g, c)
	}
}

// Two batches purged at once, each holding one of a requester's two
// requests: each keeps the requester for the other's request, and
// DeleteUnusedPeople, run once both committed, deletes it; a requester
// with a request still open is kept.
func TestPurgeConcurrentBatchesShareARequester(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	var shared, open string
	for _, q := range []struct {
		sql string
		dst *string
	}{
		{`INSERT INTO requesters (email, name) VALUES ('s@example.com', 'S') RETURNING id`, &shared},
		{`INSERT INTO requesters (email, name) VALUES ('o@example.com', 'O') RETURNING id`, &open},
	} {
		if err := pool.QueryRow(ctx, q.sql).Scan(q.dst); err != nil {
			t.Fatal(err)
		}
	}
	insert := func(requester, status string) string {
		t.Helper()
		var id string
		err := pool.QueryRow(ctx, `INSERT INTO requests (kind, regime, status, channel, requester_id, details, calendar,
				received_at, received_on, legal_due, due_on, needs_verification, closed_at, close_reason, outcome)
			VALUES ('access', 'gdpr', $2, 'api', $1, 'my details', 'NL', now() - interval '3 years',
				(now() - interval '3 years')::date, (now() - interval '3 years')::date, (now() - interval '3 years')::date, false,
				CASE WHEN $2 = 'completed' THEN now() - interval '3 years' END, '', '') RETURNING id`, requester, status).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	s1, s2, o1 := insert(shared, "completed"), insert(shared, "completed"), insert(open, "completed")
	insert(open, "open")
	begin := func() pgx.Tx {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		return tx
	}
	var kept db.PeopleInUse
	var purged int64
	txs := []pgx.Tx{begin(), begin()}
	for i, ids := range [][]string{{s1, o1}, {s2}} {
		c, k, err := db.PurgeRequests(ctx, txs[i], ids, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		purged += c.Requesters
		kept.Add(k)
	}
	for _, tx := range txs {
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if purged != 0 || len(kept.Requesters) != 3 {
		t.Fatalf("batches deleted %d, kept %v: want 0, and the shared requester twice and the open one", purged, kept.Requesters)
	}
	requesters, agents, err := db.DeleteUnusedPeople(ctx, pool, kept)
	if err != nil || requesters != 1 || agents != 0 {
		t.Fatalf("deleted %d requesters, %d agents, %v: want 1, 0", requesters, agents, err)
	}
	var se, oe string
	if err := pool.QueryRow(ctx, `SELECT coalesce((SELECT email FROM requesters WHERE id = $1), 'deleted'),
		(SELECT email FROM requesters WHERE id = $2)`, shared, open).Scan(&se, &oe); err != nil || se != "deleted" || oe != "o@example.com" {
		t.Fatalf("shared %q (want deleted), open %q (want kept), %v", se, oe, err)
	}
}
