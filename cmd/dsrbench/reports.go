package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// reportsBench seeds b.o.reports requests over the last three years
// (set-based, in chunks, through the report triggers as any write goes),
// folds the deltas, and times each report and the dashboard: read by the
// engine in this process, and the dashboard page over HTTP.
func (b *bench) reportsBench(ctx context.Context) error {
	n := b.o.reports
	fmt.Printf("\nReports and dashboard (%d requests)\n", n)
	t0 := time.Now()
	rebuildTime, err := b.seedReports(ctx, n)
	if err != nil {
		return err
	}
	seedTime := time.Since(t0) - rebuildTime
	for _, s := range []string{`VACUUM ANALYZE requests`, `VACUUM ANALYZE report_rollup`} {
		if _, err := b.pool.Exec(ctx, s); err != nil {
			return err
		}
	}
	var cells, open int64
	if err := b.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM report_rollup), (SELECT count(*) FROM requests WHERE status IN ('pending_triage', 'pending_verification', 'open', 'in_progress', 'awaiting_requester'))`).Scan(&cells, &open); err != nil {
		return err
	}
	b.add(fmt.Sprintf("seed %d requests (set-based)", n), fmt.Sprintf("%.0f s, %d open", seedTime.Seconds(), open), "")
	b.add("report_rebuild() over them", fmt.Sprintf("%.0f s, %d rollup cells", rebuildTime.Seconds(), cells), "")

	org, err := dsr.ParseConfig(strings.NewReader(benchConfig))
	if err != nil {
		return err
	}
	e, err := workflow.New(b.pool, workflow.Options{Org: org, BaseURL: b.baseURL})
	if err != nil {
		return err
	}
	year := dsr.DateIn(e.Now(), org.Location()).Time().Year() - 1 // a full year
	reads := []struct {
		name string
		fn   func() error
	}{
		{fmt.Sprintf("report ccpa --year %d", year), func() error { _, err := e.CCPAReport(ctx, year); return err }},
		{fmt.Sprintf("report gdpr --year %d --period month", year), func() error { _, err := e.GDPRReport(ctx, year, dsr.PeriodMonth, nil); return err }},
		{fmt.Sprintf("report gdpr --year %d --period quarter", year), func() error { _, err := e.GDPRReport(ctx, year, dsr.PeriodQuarter, nil); return err }},
		{fmt.Sprintf("report sla --year %d", year), func() error { _, err := e.SLAReport(ctx, year); return err }},
		{"dashboard read (engine)", func() error { _, err := e.Dashboard(ctx); return err }},
	}
	for _, r := range reads {
		var lat latencies
		for i := 0; i < 25; i++ {
			t := time.Now()
			if err := r.fn(); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			if i >= 5 {
				lat = append(lat, time.Since(t))
			}
		}
		b.add(r.name+fmt.Sprintf(" at %d", n), fmt.Sprintf("p50 %s, max %s", msf(lat.pct(.5)), msf(lat.pct(1))), "≤ 1 s")
	}
	client, err := b.loginAt(ctx, b.baseURL, "report-reader@bench.example")
	if err != nil {
		return err
	}
	var lat latencies
	for i := 0; i < 25; i++ {
		t := time.Now()
		resp, err := client.Get(b.baseURL + "/console/dashboard")
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("dashboard page: %d", resp.StatusCode)
		}
		if i >= 5 {
			lat = append(lat, time.Since(t))
		}
	}
	b.add(fmt.Sprintf("dashboard page GET /console/dashboard at %d", n), fmt.Sprintf("p50 %s, max %s", msf(lat.pct(.5)), msf(lat.pct(1))), "≤ 1 s")
	return nil
}

// seedReports inserts n requests (with the triggers off, as a bulk load
// does: session_replication_role = replica, which also skips the foreign
// keys of this known-good data), then builds the rollup with one
// report_rebuild() and returns how long that took. The triggers' own
// per-statement cost is measured by the tests, not here.
//
// It inserts n requests received over the last 1,095 days:
// 0.5% open (received in the last 60 days), the rest completed (full,
// partial, no data), denied (four reasons), withdrawn or expired, answered
// 0-45 days after receipt, some extended or paused, most assigned to one
// of five officers, over four regimes and the seven kinds.
func (b *bench) seedReports(ctx context.Context, n int) (time.Duration, error) {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `INSERT INTO requesters (email, country) SELECT 'rseed' || g || '@example.com', 'US' FROM generate_series(1, 1000) g;
		INSERT INTO users (email, role, password_hash) SELECT 'report-officer' || g || '@example.com', 'officer', 'x' FROM generate_series(1, 5) g`); err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		return 0, err
	}
	const chunk = 250_000
	t0 := time.Now()
	for done := 0; done < n; done += chunk {
		m := min(chunk, n-done)
		_, err := conn.Exec(ctx, `WITH rq AS (SELECT array_agg(id) AS ids FROM requesters WHERE email LIKE 'rseed%'),
			  us AS (SELECT array_agg(id) AS ids FROM users WHERE email LIKE 'report-officer%'),
			  s AS (
			    SELECT g, CASE WHEN g % 200 = 0
			                   THEN (ARRAY['pending_triage','pending_verification','open','in_progress','awaiting_requester'])[1 + (g / 200) % 5]
			                   ELSE (ARRAY['completed','completed','completed','completed','completed','completed','completed','completed',
			                               'completed','completed','completed','completed','completed','completed','completed','completed',
			                               'denied','denied','withdrawn','expired'])[1 + (g / 28) % 20] END AS status,
			           CASE WHEN g % 200 = 0 THEN current_date - (g / 200) % 60 ELSE current_date - 1 - g % 1095 END AS received_on,
			           (g::bigint * 7919 % 46)::int AS days
			    FROM generate_series($1::int, $2::int) g)
			INSERT INTO requests (kind, regime, status, outcome, deny_reason, channel, requester_id, assignee_id, calendar, received_at,
			                      received_on, legal_due, due_on, closed_at, extensions, paused_days, needs_verification)
			SELECT (ARRAY['access','rectification','erasure','portability','opt_out','restriction','objection'])[1 + g % 7],
			       (ARRAY['gdpr','uk_gdpr','ccpa','ctdpa'])[1 + (g / 7) % 4],
			       status,
			       CASE WHEN status = 'completed' THEN (ARRAY['full','full','full','partial','no_data',''])[1 + (g / 560) % 6] ELSE '' END,
			       CASE WHEN status = 'denied' THEN (ARRAY['unverifiable_identity','exemption_applies','duplicate','manifestly_unfounded'])[1 + (g / 3) % 4] ELSE '' END,
			       'api', rq.ids[1 + g % 1000], CASE WHEN (g / 11) % 4 <> 0 THEN us.ids[1 + g % 5] END, 'US',
			       received_on::timestamp AT TIME ZONE 'America/Los_Angeles' + interval '10 hours', received_on,
			       received_on + 40, received_on + 40 + CASE WHEN g % 10 = 0 THEN 45 ELSE 0 END,
			       CASE WHEN status IN ('completed', 'denied', 'withdrawn', 'expired')
			            THEN (received_on + days)::timestamp AT TIME ZONE 'America/Los_Angeles' + interval '15 hours' END,
			       CASE WHEN g % 10 = 0 THEN 1 ELSE 0 END, CASE WHEN g % 13 = 0 THEN 2 ELSE 0 END, false
			FROM s, rq, us`, done+1, done+m)
		if err != nil {
			return 0, err
		}
		progress(done+m, n, t0)
	}
	fmt.Println()
	if _, err := conn.Exec(ctx, `SET session_replication_role = DEFAULT; SET work_mem = '256MB'`); err != nil {
		return 0, err
	}
	t1 := time.Now()
	if err := db.RebuildReports(ctx, conn); err != nil {
		return 0, err
	}
	d := time.Since(t1)
	_, err = conn.Exec(ctx, `RESET work_mem`)
	return d, err
}
