package dbtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// SeedRequests fills a migrated database with n requests spread over the
// open statuses, kinds, regimes, due dates (from 30 days overdue to 30
// days ahead), agents and assignees, each open request with its live
// deadline job, using set-based SQL (a few statements, no insert per
// row). It is for benchmarks.
func SeedRequests(ctx context.Context, pool *pgxpool.Pool, n int) error {
	stmts := []string{
		`INSERT INTO requesters (email, country) SELECT 'seed' || g || '@example.com', 'NL' FROM generate_series(1, 1000) g`,
		`INSERT INTO agents (name, email) VALUES ('Seed Agent', 'agent@example.org')`,
		`INSERT INTO users (email, role, password_hash) SELECT 'seed-officer' || g || '@example.com', 'officer', 'x' FROM generate_series(1, 5) g`,
		`WITH rq AS (SELECT array_agg(id) AS ids FROM requesters WHERE email <> ''), ag AS (SELECT id FROM agents WHERE email <> '' LIMIT 1),
		      us AS (SELECT array_agg(id) AS ids FROM users)
		 INSERT INTO requests (kind, regime, status, channel, requester_id, agent_id, assignee_id, calendar, received_at,
		                       received_on, legal_due, due_on, needs_verification)
		 SELECT (ARRAY['access','rectification','erasure','portability','opt_out','restriction','objection'])[1 + g % 7],
		        (ARRAY['gdpr','uk_gdpr','ccpa','ctdpa'])[1 + (g / 7) % 4], -- not correlated with status
		        (ARRAY['pending_verification','open','in_progress','awaiting_requester'])[1 + g % 4],
		        'api', rq.ids[1 + g % 1000], CASE WHEN g % 20 = 0 THEN ag.id END,
		        CASE WHEN (g / 7) % 3 = 0 THEN us.ids[1 + g % 5] END, 'NL',
		        now() - (g % 40) * interval '1 day', current_date - g % 40, current_date + 30 - g % 60,
		        current_date + 30 - g % 60, true
		 FROM generate_series(1, $1::int) g, rq, ag, us`,
		`INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		 SELECT jsonb_build_object('request_id', id::text, 'due', to_char(due_on, 'YYYY-MM-DD'), 'step', 0),
		        'deadline_reminder', 10, 'bench_seed', 1, 'scheduled', due_on + interval '400 days'
		 FROM requests`,
		`INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		 SELECT jsonb_build_object('request_id', id::text), 'verify_expiry', 10, 'bench_seed', 1, 'scheduled', received_at + interval '400 days'
		 FROM requests WHERE status = 'pending_verification'`,
		`VACUUM ANALYZE`,
	}
	for i, s := range stmts {
		var args []any
		if strings.Contains(s, "$1") {
			args = append(args, n)
		}
		if _, err := pool.Exec(ctx, s, args...); err != nil {
			return fmt.Errorf("seed step %d: %w", i, err)
		}
	}
	return nil
}
