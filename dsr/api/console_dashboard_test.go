package api_test

import (
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

func readCSV(t *testing.T, resp *http.Response, body string) [][]string {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("csv: %d %s %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"), body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, body)
	}
	return rows
}

// The dashboard shows the open requests now by kind and law, three SVG
// charts each labelled and with a data table, and a CSV of every table;
// the queue CSV keeps the queue's filters; the audit CSV lists events
// without their data; reports and the audit export are for admins.
func TestDashboardReportsAndExports(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	staff(t, d, "otto@testorg.example", workflow.RoleOfficer)
	newRequest(t, d, "access", "s1@example.com", "NL", "")
	newRequest(t, d, "erasure", "s2@example.com", "GB", "")
	newRequest(t, d, "opt_out", "s3@example.com", "US", "CA")

	o := login(t, d, "otto@testorg.example")
	resp, page := o.get("/console/dashboard")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{`<strong id="n-open">3</strong>`, `<strong id="n-overdue">0</strong>`,
		`href="/console/dashboard/csv/kind"`, `href="/console/dashboard/csv/law"`, `href="/console/dashboard/csv/weeks"`,
		`role="img" aria-labelledby="received-title received-desc"`, `<title id="ontime-title">On-time rate</title>`,
		`<th scope="row">UK GDPR</th>`, `href="/console/queue.csv"`} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	if strings.Contains(page, "<script") || strings.Contains(page, `href="/console/reports"`) {
		t.Error("dashboard has a script, or shows an officer the reports link")
	}
	// The last week's bar is 3 requests high: the top of the scale.
	if bars := regexp.MustCompile(`<rect [^>]*class="bar"><title>[^<]*: 3</title>`).FindAllString(page, -1); len(bars) != 1 {
		t.Errorf("received bars of 3: %v", bars)
	}
	rows := csvOf(o, "/console/dashboard/csv/law")
	if len(rows) != 4 || strings.Join(rows[0], ",") != "law,open,due this week,overdue" {
		t.Errorf("law csv %v", rows)
	}
	weeks := csvOf(o, "/console/dashboard/csv/weeks")
	if len(weeks) != 1+workflow.DashboardWeeks || weeks[len(weeks)-1][1] != "3" {
		t.Errorf("weeks csv %v", weeks)
	}
	if resp, _ := o.get("/console/dashboard/csv/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown table: %d", resp.StatusCode)
	}

	q := csvOf(o, "/console/queue.csv?regime=ccpa")
	if len(q) != 2 || q[1][3] != "CCPA" && !strings.Contains(q[1][3], "CCPA") {
		t.Errorf("queue csv filtered to ccpa: %v", q)
	}
	if all := csvOf(o, "/console/queue.csv"); len(all) != 4 {
		t.Errorf("queue csv: %v", all)
	}
	if resp, _ := o.get("/console/queue.csv?kind=nonsense"); resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter: %d", resp.StatusCode)
	}
	for _, p := range []string{"/console/reports", "/console/reports/ccpa/csv", "/console/audit.csv"} {
		if resp, _ := o.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("officer %s: %d", p, resp.StatusCode)
		}
	}

	a := login(t, d, "ada@testorg.example")
	resp, page = a.get("/console/reports")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="report-ccpa"`) || !strings.Contains(page, `id="report-gdpr"`) ||
		!strings.Contains(page, `id="report-sla"`) || !strings.Contains(page, `<th scope="row">opt_out</th><td>1</td>`) {
		t.Errorf("reports page %d\n%s", resp.StatusCode, page)
	}
	ccpa := csvOf(a, "/console/reports/ccpa/csv")
	if len(ccpa) != 5 || ccpa[4][0] != "opt_out" || ccpa[4][1] != "1" {
		t.Errorf("ccpa csv %v", ccpa)
	}
	if gq := csvOf(a, "/console/reports/gdpr/csv?period=quarter"); gq[0][0] != "quarter" || len(gq) != 4 {
		t.Errorf("gdpr csv by quarter %v", gq)
	}
	for _, p := range []string{"/console/reports?year=99", "/console/reports/gdpr/csv?period=week", "/console/audit.csv?from=yesterday",
		"/console/audit.csv?from=2026-01-01&to=2025-01-01"} {
		if resp, _ := a.get(p); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := a.get("/console/reports/nope/csv"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown report: %d", resp.StatusCode)
	}
	audit := csvOf(a, "/console/audit.csv")
	if len(audit) < 4 || strings.Join(audit[0], ",") != "event id,at,request,kind,law,seq,actor,type,public" || !strings.HasPrefix(audit[1][2], "DSR-") {
		t.Errorf("audit csv %v", audit)
	}
	for _, r := range audit {
		if strings.Contains(strings.Join(r, ","), "@example.com") {
			t.Errorf("audit csv carries an email address: %v", r)
		}
	}
}

// csvOf downloads path as CSV.
func csvOf(b *browser, path string) [][]string {
	b.t.Helper()
	resp, body := b.get(path)
	return readCSV(b.t, resp, body)
}
