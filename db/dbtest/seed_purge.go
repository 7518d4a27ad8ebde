package dbtest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedClosedRequests fills a migrated database with n requests completed
// three years ago, each with its own requester, an internal note, a sent
// message with its bodies and a version-2 event holding a personal part:
// what the retention purge turns into record form. Set-based SQL, no
// insert per row; the event hashes are placeholders (audit verify is not
// the point). It is for benchmarks.
func SeedClosedRequests(ctx context.Context, pool *pgxpool.Pool, n int) error {
	stmts := []string{
		// Ids as dsr.NewID makes them (UUIDv7: the millisecond first), so a
		// batch of requests closed together is together in every index, as
		// in a real database; random v4 ids would scatter each batch.
		`CREATE FUNCTION pg_temp.v7(t timestamptz) RETURNS uuid LANGUAGE sql AS $$
		   SELECT (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(md5(random()::text), 1, 3)
		           || '8' || substr(md5(random()::text), 1, 15))::uuid $$`,
		`CREATE TEMP TABLE seed_rq AS SELECT g, at, pg_temp.v7(at) AS rid, pg_temp.v7(at) AS sid
		 FROM (SELECT g, now() - interval '3 years 1 month' + g * interval '1 second' AS at FROM generate_series(1, $1::int) g) x`,
		`INSERT INTO requesters (id, email, name, country) SELECT sid, 'closed' || g || '@example.com', 'Person ' || g, 'NL' FROM seed_rq`,
		`INSERT INTO requests (id, kind, regime, status, channel, requester_id, details, calendar, received_at, received_on,
		                       legal_due, due_on, needs_verification, closed_at, close_reason, outcome)
		 SELECT rid, 'access', 'gdpr', 'completed', 'api', sid, 'details of ' || g, 'NL', at,
		        at::date, at::date + 30, at::date + 30, true, at + interval '30 days', 'completed', 'full'
		 FROM seed_rq`,
		`INSERT INTO notes (request_id, author, internal, body, created_at)
		 SELECT rid, 'user:x', true, 'Called person ' || g, at + interval '1 day' FROM seed_rq`,
		`INSERT INTO messages (request_id, event, recipient_role, to_name, to_email, from_email, subject, text_body, html_body,
		                       message_id, status, created_at, sent_at)
		 SELECT rid, 'completed', 'subject', 'Person ' || g, 'closed' || g || '@example.com', 'privacy@bench.example',
		        'Your request is complete', 'Hello Person ' || g, '<p>Hello</p>', 'seed-' || g || '@bench.example', 'sent',
		        at + interval '30 days', at + interval '30 days'
		 FROM seed_rq`,
		`INSERT INTO events (request_id, seq, at, actor, type, public, data, prev_hash, hash, hash_version, personal_digest)
		 SELECT rid, 1, at + interval '30 days', 'user:x', 'completed', true, '{"outcome": "full"}',
		        sha256(''::bytea), sha256(rid::text::bytea), 2, sha256(g::text::bytea)
		 FROM seed_rq`,
		`INSERT INTO event_personal (request_id, seq, personal)
		 SELECT rid, 1, jsonb_build_object('salt', '00', 'data', jsonb_build_object('summary', 'Sent the data of person ' || g))
		 FROM seed_rq`,
		`DROP TABLE seed_rq`,
		`VACUUM ANALYZE`,
		// Rows closed three years ago were written out long ago: the
		// seed's own dirty pages are flushed before a benchmark times
		// the purge, which would otherwise pay for writing them out
		// (some 8 s of a 1,000,000 purge). Needs a superuser (or
		// pg_checkpoint), as the benchmark's database user is.
		`CHECKPOINT`,
	}
	conn, err := pool.Acquire(ctx) // the temp table lives on one connection
	if err != nil {
		return err
	}
	defer conn.Release()
	for i, s := range stmts {
		var args []any
		if i == 1 {
			args = append(args, n)
		}
		if _, err := conn.Exec(ctx, s, args...); err != nil {
			return fmt.Errorf("seed closed step %d: %w", i, err)
		}
	}
	return nil
}
