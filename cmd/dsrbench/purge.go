package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// purgeBench (-only purge) seeds -requests closed requests (completed
// three years ago, so past the 24-month record period) and times one
// retention purge turning them all into their record form.
func (b *bench) purgeBench(ctx context.Context) error {
	fmt.Printf("\nRetention purge (%d closed requests)\n", b.o.requests)
	t0 := time.Now()
	if err := dbtest.SeedClosedRequests(ctx, b.pool, b.o.requests); err != nil {
		return err
	}
	fmt.Printf("  seeded in %s\n", time.Since(t0).Round(time.Second))
	org, err := dsr.ParseConfig(strings.NewReader(benchConfig))
	if err != nil {
		return err
	}
	// An engine that is never started: the purge needs only its pool and
	// clock (the benchmark's children run the jobs).
	e, err := workflow.New(b.pool, workflow.Options{Org: org, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	t0 = time.Now()
	rep, err := e.Purge(ctx, time.Time{}, false)
	if err != nil {
		return err
	}
	took := time.Since(t0)
	if rep.Counts.Requests != int64(b.o.requests) {
		return fmt.Errorf("purged %d requests, want %d", rep.Counts.Requests, b.o.requests)
	}
	b.add(fmt.Sprintf("purge %d closed requests to record form", b.o.requests),
		fmt.Sprintf("%.1f s (%.0f requests/s)", took.Seconds(), float64(b.o.requests)/took.Seconds()), "≤ 60 s for 1,000,000")
	return nil
}
