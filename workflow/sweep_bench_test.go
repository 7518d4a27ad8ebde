package workflow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// benchRequests is the number of open requests seeded for the sweep
// benchmarks: DSR_BENCH_REQUESTS, default 1,000,000.
func benchRequests(b *testing.B) int {
	if v := os.Getenv("DSR_BENCH_REQUESTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// seedOpenRequests fills a fresh database with n open requests spread over
// statuses, kinds, regimes and due dates, each with its live deadline job,
// using set-based SQL (no insert per row).
func seedOpenRequests(b *testing.B, pool *pgxpool.Pool, n int) {
	ctx := context.Background()
	start := time.Now()
	stmts := []string{
		`INSERT INTO requesters (email, country) SELECT 'seed' || g || '@example.com', 'NL' FROM generate_series(1, 1000) g`,
		`WITH rq AS (SELECT array_agg(id) AS ids FROM requesters)
		 INSERT INTO requests (kind, regime, status, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, needs_verification)
		 SELECT (ARRAY['access','rectification','erasure','portability','opt_out','restriction','objection'])[1 + g % 7],
		        (ARRAY['gdpr','uk_gdpr','ccpa','ctdpa'])[1 + g % 4],
		        (ARRAY['pending_verification','open','in_progress','awaiting_requester'])[1 + g % 4],
		        'api', rq.ids[1 + g % 1000], 'NL',
		        now() - (g % 40) * interval '1 day', current_date - g % 40, current_date + 30 - g % 60, current_date + 30 - g % 60, true
		 FROM generate_series(1, $1::int) g, rq`,
		`INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		 SELECT jsonb_build_object('request_id', id::text, 'due', to_char(due_on, 'YYYY-MM-DD'), 'step', 0),
		        'deadline_reminder', 10, 'default', 1, 'scheduled', due_on + interval '9 hours'
		 FROM requests`,
		`INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at)
		 SELECT jsonb_build_object('request_id', id::text), 'verify_expiry', 10, 'default', 1, 'scheduled', received_at + interval '14 days'
		 FROM requests WHERE status = 'pending_verification'`,
		`ANALYZE`,
	}
	for i, s := range stmts {
		args := []any{}
		if strings.Contains(s, "$1") {
			args = append(args, n)
		}
		if _, err := pool.Exec(ctx, s, args...); err != nil {
			b.Fatalf("seed step %d: %v", i, err)
		}
	}
	b.Logf("seeded %d open requests with their jobs in %s", n, time.Since(start).Round(time.Millisecond))
}

func benchEngine(b *testing.B, pool *pgxpool.Pool) *workflow.Engine {
	org, err := dsr.ParseConfig(strings.NewReader(apitest.ConfigJSON))
	if err != nil {
		b.Fatal(err)
	}
	e, err := workflow.New(pool, workflow.Options{Org: org, BaseURL: "http://bench", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkSweep measures the reconciliation sweep over DSR_BENCH_REQUESTS
// open requests whose jobs are all in place (the steady state).
//
//	go test ./workflow -run '^$' -bench Sweep -benchtime 3x -timeout 30m
func BenchmarkSweep(b *testing.B) {
	pool := dbtest.NewPool(b)
	n := benchRequests(b)
	seedOpenRequests(b, pool, n)
	e := benchEngine(b, pool)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := e.Sweep(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if res != (workflow.SweepResult{}) {
			b.Fatalf("steady-state sweep repaired %+v", res)
		}
	}
	b.ReportMetric(float64(n), "open_requests")
}

// BenchmarkSweepRepair10k measures scheduling the deadline chains of
// 10,000 requests that have none (new requests, or jobs lost), among
// DSR_BENCH_REQUESTS open requests: the sweep finds them with one anti-join
// per batch and inserts their jobs and audit events in batches of 1,000.
func BenchmarkSweepRepair10k(b *testing.B) {
	pool := dbtest.NewPool(b)
	n := benchRequests(b)
	seedOpenRequests(b, pool, n)
	e := benchEngine(b, pool)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `DELETE FROM river_job WHERE id IN (SELECT id FROM river_job WHERE kind = 'deadline_reminder' ORDER BY random() LIMIT 10000)`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := e.Sweep(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.RemindersScheduled != 10000 {
			b.Fatal(fmt.Sprintf("repaired %d chains, want 10000", res.RemindersScheduled))
		}
	}
}
