package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// seeded is one request of the seeded report year: received on
// received, due on due, closed (when closed is set) at hour:30 local time
// (Europe/Amsterdam, the test desk's zone) on closed.
type seeded struct {
	kind, regime, status, outcome, reason string
	received, due, closed                 string
	hour, extensions, pausedDays          int
	assignee                              string // a user id
}

func seedYear(t *testing.T, d *apitest.Desk, rows []seeded) {
	t.Helper()
	ctx := context.Background()
	var requester string
	if err := d.Pool.QueryRow(ctx, `INSERT INTO requesters (email) VALUES ('seed@example.com') RETURNING id`).Scan(&requester); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var closed, assignee any
		if r.closed != "" {
			closed = r.closed
		}
		if r.assignee != "" {
			assignee = r.assignee
		}
		_, err := d.Pool.Exec(ctx, `
			INSERT INTO requests (kind, regime, status, outcome, deny_reason, channel, requester_id, calendar, received_at, received_on,
			                      legal_due, due_on, closed_at, extensions, paused_days, assignee_id, needs_verification)
			VALUES ($1, $2, $3, $4, $5, 'web', $6, 'US', $7::date::timestamp AT TIME ZONE 'Europe/Amsterdam', $7::date, $8::date, $8::date,
			        ($9::date + make_interval(hours => $10, mins => 30)) AT TIME ZONE 'Europe/Amsterdam', $11, $12, $13, false)`,
			r.kind, r.regime, r.status, r.outcome, r.reason, requester, r.received, r.due, closed, r.hour, r.extensions, r.pausedDays, assignee)
		if err != nil {
			t.Fatalf("seed %+v: %v", r, err)
		}
	}
}

func f(v float64) *float64 { return &v }

func fstr(p *float64) string {
	if p == nil {
		return "none"
	}
	b, _ := json.Marshal(*p)
	return string(b)
}

// A seeded year with known counts gives exactly those counts, medians
// and means in the ccpa, gdpr and sla reports; requests of other years
// and regimes stay out; days to respond are calendar days in the
// organisation's zone (a close at 00:30 in Amsterdam is the next day
// there, still the day before in UTC).
func TestReportsSeededYear(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	alice := addUser(t, d, "alice@testorg.example", db.RoleOfficer)
	bob := addUser(t, d, "bob@testorg.example", db.RoleOfficer)
	a, b := alice.ID, bob.ID
	seedYear(t, d, []seeded{
		// CCPA know: access and portability, received in 2025.
		{kind: "access", regime: "ccpa", status: "completed", outcome: "full", received: "2025-01-10", due: "2025-02-24", closed: "2025-01-15", hour: 12, assignee: a},              // 5 days
		{kind: "access", regime: "ccpa", status: "completed", outcome: "", received: "2025-02-01", due: "2025-03-18", closed: "2025-02-11", hour: 0, assignee: a},                   // 10 days (00:30 local: 2025-02-10 in UTC)
		{kind: "access", regime: "ccpa", status: "completed", outcome: "full", received: "2025-04-01", due: "2025-05-16", closed: "2025-04-21", hour: 12, assignee: b},              // 20 days
		{kind: "access", regime: "ccpa", status: "completed", outcome: "partial", received: "2025-04-02", due: "2025-05-17", closed: "2025-05-02", hour: 12, extensions: 1},         // 30 days
		{kind: "portability", regime: "ccpa", status: "completed", outcome: "no_data", received: "2025-07-01", due: "2025-08-15", closed: "2025-07-08", hour: 12, assignee: b},      // 7 days
		{kind: "access", regime: "ccpa", status: "denied", reason: "unverifiable_identity", received: "2025-09-01", due: "2025-10-10", closed: "2025-10-16", hour: 12, assignee: a}, // 45 days, late
		{kind: "access", regime: "ccpa", status: "open", received: "2025-12-20", due: "2099-12-31", assignee: a},
		// CCPA delete.
		{kind: "erasure", regime: "ccpa", status: "completed", outcome: "full", received: "2025-03-03", due: "2025-04-17", closed: "2025-03-06", hour: 12},          // 3
		{kind: "erasure", regime: "ccpa", status: "completed", outcome: "full", received: "2025-03-04", due: "2025-04-18", closed: "2025-03-08", hour: 12},          // 4
		{kind: "erasure", regime: "ccpa", status: "denied", reason: "exemption_applies", received: "2025-03-05", due: "2025-04-19", closed: "2025-03-15", hour: 12}, // 10
		{kind: "erasure", regime: "ccpa", status: "withdrawn", received: "2025-03-06", due: "2025-04-20", closed: "2025-03-07", hour: 12},                           // not a response
		// CCPA opt-out.
		{kind: "opt_out", regime: "ccpa", status: "completed", outcome: "full", received: "2025-06-01", due: "2025-06-20", closed: "2025-06-03", hour: 12}, // 2
		// Out of the ccpa report: another year, another regime.
		{kind: "access", regime: "ccpa", status: "completed", outcome: "full", received: "2024-12-31", due: "2025-02-14", closed: "2025-01-02", hour: 12},
		// GDPR 2025: January (3), February (1), one paused and extended, one overdue now.
		{kind: "access", regime: "gdpr", status: "completed", outcome: "full", received: "2025-01-06", due: "2025-02-06", closed: "2025-01-20", hour: 12, assignee: b},                  // 14, on time
		{kind: "access", regime: "gdpr", status: "completed", outcome: "full", received: "2025-01-07", due: "2025-02-07", closed: "2025-02-17", hour: 12, extensions: 1, pausedDays: 3}, // 41, late
		{kind: "erasure", regime: "gdpr", status: "denied", reason: "manifestly_unfounded", received: "2025-01-08", due: "2025-01-22", closed: "2025-01-10", hour: 12},                  // 2, on time
		{kind: "erasure", regime: "uk_gdpr", status: "in_progress", received: "2025-02-03", due: "2025-03-03", assignee: b},                                                             // overdue now
	})

	ccpa, err := d.Engine.CCPAReport(ctx, 2025)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dsr.WriteReport(&buf, dsr.FormatJSON, ccpa, ccpa.Table()); err != nil {
		t.Fatal(err)
	}
	var got dsr.CCPAReport
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("json: %v\n%s", err, buf.String())
	}
	type want struct {
		received, complied, whole, part, noData, denied, pending, withdrawn int64
		reasons                                                             map[string]int64
		median, mean                                                        *float64
	}
	wants := map[string]want{
		// days 5, 7, 10, 20, 30, 45: median (10+20)/2, mean 117/6.
		"know":    {7, 5, 3, 1, 1, 1, 1, 0, map[string]int64{"unverifiable_identity": 1}, f(15), f(19.5)},
		"delete":  {4, 2, 2, 0, 0, 1, 0, 1, map[string]int64{"exemption_applies": 1}, f(4), f(17.0 / 3)},
		"correct": {0, 0, 0, 0, 0, 0, 0, 0, map[string]int64{}, nil, nil},
		"opt_out": {1, 1, 1, 0, 0, 0, 0, 0, map[string]int64{}, f(2), f(2)},
	}
	if len(got.Types) != 4 || got.Year != 2025 || got.TimeZone != "Europe/Amsterdam" {
		t.Fatalf("report %+v", got)
	}
	for _, m := range got.Types {
		w := wants[m.Type]
		g := want{m.Received, m.Complied, m.CompliedWhole, m.CompliedPart, m.NoData, m.Denied, m.Pending, m.Withdrawn, m.DeniedByReason, m.MedianDays, m.MeanDays}
		if g.received != w.received || g.complied != w.complied || g.whole != w.whole || g.part != w.part || g.noData != w.noData ||
			g.denied != w.denied || g.pending != w.pending || g.withdrawn != w.withdrawn || !sameCounts(g.reasons, w.reasons) ||
			fstr(g.median) != fstr(w.median) || fstr(g.mean) != fstr(w.mean) {
			t.Errorf("%s: got %+v median %s mean %s, want %+v median %s mean %s", m.Type, g, fstr(g.median), fstr(g.mean), w, fstr(w.median), fstr(w.mean))
		}
	}
	buf.Reset()
	if err := dsr.WriteReport(&buf, dsr.FormatCSV, ccpa, ccpa.Table()); err != nil {
		t.Fatal(err)
	}
	csvLines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(csvLines) != 5 || !strings.HasPrefix(csvLines[0], "request type,received,") ||
		csvLines[1] != "know,7,5,3,1,1,1,unverifiable_identity: 1,1,0,0,15,19.5" || csvLines[2] != "delete,4,2,2,0,0,1,exemption_applies: 1,0,1,0,4,5.7" {
		t.Errorf("csv:\n%s", buf.String())
	}
	buf.Reset()
	if err := dsr.WriteReport(&buf, dsr.FormatMD, ccpa, ccpa.Table()); err != nil {
		t.Fatal(err)
	}
	if md := buf.String(); !strings.HasPrefix(md, "## CCPA §7102 metrics, 2025\n") || !strings.Contains(md, "| know | 7 | 5 | 3 | 1 | 1 | 1 | unverifiable_identity: 1 | 1 | 0 | 0 | 15 | 19.5 |\n") ||
		!strings.Contains(md, "by date received") {
		t.Errorf("md:\n%s", md)
	}

	gq, err := d.Engine.GDPRReport(ctx, 2025, dsr.PeriodQuarter, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]dsr.GDPRMetric{}
	for _, r := range gq.Rows {
		rows[r.Period+" "+r.Regime+" "+r.Kind] = r
	}
	q1 := rows["2025-Q1 all all"]
	if len(gq.Rows) != 4 || q1.Received != 4 || q1.Answered != 3 || q1.OnTime != 2 || q1.Extended != 1 || q1.Paused != 1 || q1.Denied != 1 ||
		q1.DeniedByReason["manifestly_unfounded"] != 1 || fstr(q1.MedianDays) != "14" || q1.OverdueNow != 1 {
		t.Errorf("gdpr by quarter: %+v", gq.Rows)
	}
	if ga := rows["2025-Q1 gdpr access"]; ga.Received != 2 || fstr(ga.MedianDays) != "27.5" || ga.OnTime != 1 {
		t.Errorf("gdpr access Q1: %+v", ga)
	}
	gm, err := d.Engine.GDPRReport(ctx, 2025, dsr.PeriodMonth, []string{"gdpr", "uk_gdpr"})
	if err != nil {
		t.Fatal(err)
	}
	months := map[string]int64{}
	for _, r := range gm.Rows {
		if r.Regime == "all" {
			months[r.Period] = r.Received
		}
	}
	if len(months) != 2 || months["2025-01"] != 3 || months["2025-02"] != 1 {
		t.Errorf("gdpr by month: %v", months)
	}
	if _, err := d.Engine.GDPRReport(ctx, 2025, "week", nil); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Errorf("period week: %v", err)
	}

	sla, err := d.Engine.SLAReport(ctx, 2025)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]dsr.SLAMetric{}
	for _, o := range sla.Officers {
		byName[o.Officer] = o
	}
	// alice: 5, 10, 45 (late) answered, one open (not yet due); bob: 20,
	// 7, 14 answered on time and the overdue uk_gdpr erasure.
	if al := byName["alice"]; al.Assigned != 4 || al.Closed != 3 || al.OnTime != 2 || al.OverdueNow != 0 || fstr(al.MedianDays) != "10" {
		t.Errorf("alice: %+v", al)
	}
	if bo := byName["bob"]; bo.Assigned != 4 || bo.Closed != 3 || bo.OnTime != 3 || bo.OverdueNow != 1 || fstr(bo.MedianDays) != "14" {
		t.Errorf("bob: %+v", bo)
	}
	if un := byName["(unassigned)"]; un.Assigned != 8 || sla.Officers[len(sla.Officers)-1].OfficerID != "" {
		t.Errorf("unassigned: %+v (last %+v)", un, sla.Officers[len(sla.Officers)-1])
	}
}

func sameCounts(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Requests the engine itself receives and closes reach the reports at
// once (the triggers write deltas in the change's transaction), with the
// denial reason the officer chose.
func TestReportsFollowTheEngine(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	done := submit(t, d, dsr.KindAccess, "ann@example.com", "US", "CA", nil)
	verify(t, d, "ann@example.com")
	refused := submit(t, d, dsr.KindErasure, "ben@example.com", "US", "CA", nil)
	verify(t, d, "ben@example.com")
	if err := d.Engine.Complete(ctx, done.ID, workflow.Actor(officer.ID), "Here is your data."); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.Deny(ctx, refused.ID, workflow.Actor(officer.ID), "duplicate", "See DSR-000001."); err != nil {
		t.Fatal(err)
	}
	year := dateIn(d, d.Clock.Now()).Time().Year()
	rep, err := d.Engine.CCPAReport(ctx, year)
	if err != nil {
		t.Fatal(err)
	}
	know, del := rep.Types[0], rep.Types[1]
	if know.Received != 1 || know.CompliedWhole != 1 || fstr(know.MedianDays) != "0" ||
		del.Received != 1 || del.Denied != 1 || del.DeniedByReason["duplicate"] != 1 {
		t.Errorf("know %+v delete %+v", know, del)
	}
	dash, err := d.Engine.Dashboard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := dash.Weeks[len(dash.Weeks)-1]
	if dash.Open != 0 || last.Received != 2 || last.Answered != 2 || last.OnTime != 2 {
		t.Errorf("dashboard open %d, this week %+v", dash.Open, last)
	}
}
