package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// dsrdesk report prints the year's report as json, csv or md, counting
// days in the config's time zone; bad flags exit 2 with one line.
func TestReportCommand(t *testing.T) {
	pool := cliDatabase(t)
	t.Setenv("DSR_CONFIG", "../../examples/us-ccpa.json")
	ctx := context.Background()
	// Two CCPA access requests of 2025 answered in 4 and 9 days (closed
	// at noon in Los Angeles), one denied erasure, one GDPR request.
	_, err := pool.Exec(ctx, `
		WITH rq AS (INSERT INTO requesters (email) VALUES ('cli@example.com') RETURNING id)
		INSERT INTO requests (kind, regime, status, outcome, deny_reason, channel, requester_id, calendar, received_at, received_on,
		                      legal_due, due_on, closed_at, needs_verification)
		SELECT v.kind, v.regime, v.status, v.outcome, v.reason, 'web', rq.id, 'US', v.received::timestamptz, v.received, v.received + 45,
		       v.received + 45, (v.received + v.days)::timestamp AT TIME ZONE 'America/Los_Angeles' + interval '12 hours', false
		FROM rq, (VALUES ('access', 'ccpa', 'completed', 'full', '', date '2025-03-01', 4),
		                 ('access', 'ccpa', 'completed', 'partial', '', date '2025-05-01', 9),
		                 ('erasure', 'ccpa', 'denied', '', 'duplicate', date '2025-06-01', 2),
		                 ('access', 'gdpr', 'completed', 'full', '', date '2025-01-10', 20)) v(kind, regime, status, outcome, reason, received, days)`)
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLIInput(t, nil, "report", "ccpa", "--year", "2025")
	var rep struct {
		Year  int `json:"year"`
		Types []struct {
			Type       string  `json:"type"`
			Received   int     `json:"received"`
			Complied   int     `json:"complied_in_whole_or_part"`
			Denied     int     `json:"denied"`
			MedianDays float64 `json:"median_days"`
		} `json:"types"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Year != 2025 || len(rep.Types) != 4 ||
		rep.Types[0].Received != 2 || rep.Types[0].Complied != 2 || rep.Types[0].MedianDays != 6.5 || rep.Types[1].Denied != 1 {
		t.Fatalf("report ccpa: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLIInput(t, nil, "report", "gdpr", "--year", "2025", "--period", "quarter", "--format", "csv")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "quarter,regime,kind,received") ||
		!strings.HasPrefix(lines[1], "2025-Q1,all,all,1,1,1,") {
		t.Errorf("report gdpr csv: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLIInput(t, nil, "report", "sla", "--year", "2025", "--format", "md")
	if code != 0 || !strings.Contains(stdout, "| (unassigned) | 4 | 4 | 4 | 0 | 6.5 |") {
		t.Errorf("report sla md: exit %d\n%s", code, stdout)
	}
	for _, args := range [][]string{{"report"}, {"report", "ccpa", "--format", "xml"}, {"report", "gdpr", "--period", "week"},
		{"report", "ccpa", "--year", "20"}, {"report", "gdpr", "--regime", "nowhere"}} {
		if code, _, stderr := runCLIInput(t, nil, args...); code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
