package db_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// bucketsString prints buckets in a stable order for comparison.
func bucketsString(bs []dsr.ReportBucket) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		ot := "-"
		if b.OnTime != nil {
			ot = fmt.Sprint(*b.OnTime)
		}
		out[i] = fmt.Sprintf("%s %s %s %s %s d=%d ot=%s ext=%v p=%v a=%q n=%d", b.Period, b.Regime, b.Kind, b.Result, b.Reason,
			b.Days, ot, b.Extended, b.Paused, b.Assignee, b.N)
	}
	sort.Strings(out)
	return out
}

// TestReportRollupFollowsRequests checks that the triggers keep the
// pre-aggregate equal to a rebuild from the requests table through
// inserts, updates (close, deny with its reason, reassign, reopen) and
// deletes, before and after a fold.
func TestReportRollupFollowsRequests(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	if _, err := db.SetReportTimeZone(ctx, pool, "America/Los_Angeles"); err != nil {
		t.Fatal(err)
	}
	steps := []string{
		`INSERT INTO requesters (email) VALUES ('a@example.com')`,
		`INSERT INTO users (email, role, password_hash) VALUES ('o@example.com', 'officer', 'x')`,
		`INSERT INTO requests (kind, regime, status, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, needs_verification)
		 SELECT (ARRAY['access','erasure','opt_out'])[1 + g % 3], (ARRAY['ccpa','gdpr'])[1 + g % 2], 'open', 'api',
		        (SELECT id FROM requesters WHERE email <> ''), 'US', '2026-03-01T12:00:00Z'::timestamptz + g * interval '1 day',
		        date '2026-03-01' + g, date '2026-03-01' + g + 30, date '2026-03-01' + g + 30, false
		 FROM generate_series(1, 40) g`,
		// Closed at 03:00 UTC: still the previous day in Los Angeles.
		`UPDATE requests SET status = 'completed', outcome = 'partial', closed_at = (received_on + 10)::timestamp AT TIME ZONE 'UTC' + interval '3 hours'
		 WHERE ref % 4 = 0`,
		`UPDATE requests SET status = 'denied', closed_at = (received_on + 40)::timestamp AT TIME ZONE 'UTC' + interval '20 hours', extensions = 1
		 WHERE ref % 4 = 1`,
		`INSERT INTO events (request_id, seq, at, actor, type, data, prev_hash, hash)
		 SELECT id, 1, now(), 'system', 'denied', '{"reason": "duplicate"}', '\x00', '\x00' FROM requests WHERE ref % 4 = 1`,
		`UPDATE requests SET assignee_id = (SELECT id FROM users), paused_days = 2 WHERE ref % 3 = 0`,
		`UPDATE requests SET status = 'open', closed_at = NULL WHERE ref = 8`,
		`UPDATE requests SET updated_at = now()`, // no dimension changes: no deltas
	}
	for i, s := range steps {
		if _, err := pool.Exec(ctx, s); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	from, to := dsr.YearRange(2026)
	read := func() map[string][]string {
		out := map[string][]string{}
		for _, g := range []string{db.GrainMonth, db.GrainResult, db.GrainFlags, db.GrainOfficer, db.GrainWeek} {
			bs, err := db.ReportBuckets(ctx, pool, db.ReportQuery{Grain: g, From: from, To: to, ByPeriod: true})
			if err != nil {
				t.Fatal(err)
			}
			out[g] = bucketsString(bs)
		}
		return out
	}
	// check compares the live read (rollup + deltas), the read after a
	// fold and the read after a rebuild from requests.
	check := func(when string) map[string][]string {
		t.Helper()
		live := read()
		if _, err := db.FoldReports(ctx, pool); err != nil {
			t.Fatal(err)
		}
		folded := read()
		if err := db.RebuildReports(ctx, pool); err != nil {
			t.Fatal(err)
		}
		rebuilt := read()
		for _, g := range []string{db.GrainMonth, db.GrainResult, db.GrainFlags, db.GrainOfficer, db.GrainWeek} {
			if fmt.Sprint(live[g]) != fmt.Sprint(rebuilt[g]) || fmt.Sprint(folded[g]) != fmt.Sprint(rebuilt[g]) {
				t.Errorf("%s %s:\nlive    %v\nfolded  %v\nrebuilt %v", when, g, live[g], folded[g], rebuilt[g])
			}
		}
		return rebuilt
	}
	var deltas int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM report_delta`).Scan(&deltas); err != nil || deltas == 0 {
		t.Fatalf("deltas %d %v: the triggers wrote nothing", deltas, err)
	}
	rebuilt := check("after updates")
	// The close 10 days after receipt at 03:00 UTC is day 9 in Los Angeles;
	// the denial reason came from the event.
	var sawNine, sawDuplicate bool
	for _, s := range rebuilt[db.GrainMonth] {
		sawNine = sawNine || strings.Contains(s, "   d=9 ot=true")
	}
	for _, s := range rebuilt[db.GrainResult] {
		sawDuplicate = sawDuplicate || strings.Contains(s, "denied duplicate d=-1")
	}
	var sawExtended bool
	for _, s := range rebuilt[db.GrainFlags] {
		sawExtended = sawExtended || strings.Contains(s, "d=-1 ot=- ext=true p=false")
	}
	if !sawNine || !sawDuplicate || !sawExtended {
		t.Errorf("month buckets %v\nresult %v\nflags %v", rebuilt[db.GrainMonth], rebuilt[db.GrainResult], rebuilt[db.GrainFlags])
	}
	if _, err := pool.Exec(ctx, `UPDATE requests SET kind = 'erasure' WHERE ref % 5 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM requests WHERE ref % 4 <> 1`); err != nil { // those have no events
		t.Fatal(err)
	}
	if left := check("after deletes"); len(left[db.GrainMonth]) == 0 || len(left[db.GrainFlags]) == 0 {
		t.Error("every bucket went")
	}
}
