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

func seedOpenRequests(b *testing.B, pool *pgxpool.Pool, n int) {
	start := time.Now()
	if err := dbtest.SeedRequests(context.Background(), pool, n); err != nil {
		b.Fatal(err)
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
	b.ResetTimer() // the seeding is not what is measured
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
		b.Logf("sweep result %+v", res)
		if res.RemindersScheduled != 10000 {
			b.Fatal(fmt.Sprintf("repaired %d chains, want 10000", res.RemindersScheduled))
		}
	}
}
