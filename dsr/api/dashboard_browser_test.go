package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// seedWeeks inserts n requests received over the last 12 weeks, most
// answered within 2 to 40 days, some still open (a few overdue).
func seedWeeks(t *testing.T, d *apitest.Desk, n int) {
	t.Helper()
	_, err := d.Pool.Exec(context.Background(), `
		WITH rq AS (INSERT INTO requesters (email) VALUES ('weeks@example.com') RETURNING id),
		s AS (SELECT g, current_date - (g * 37 % 84) AS received_on, 2 + (g * 7 % 47) AS days FROM generate_series(1, $1::int) g)
		INSERT INTO requests (kind, regime, status, outcome, channel, requester_id, calendar, received_at, received_on, legal_due, due_on, closed_at, needs_verification)
		SELECT (ARRAY['access','erasure','opt_out','rectification','portability'])[1 + g % 5], (ARRAY['gdpr','ccpa','uk_gdpr','ctdpa'])[1 + g % 4],
		       CASE WHEN received_on + days < current_date THEN 'completed'
		            ELSE (ARRAY['open','in_progress','awaiting_requester','pending_triage'])[1 + g % 4] END,
		       CASE WHEN received_on + days < current_date THEN 'full' ELSE '' END,
		       'web', rq.id, 'NL', received_on::timestamptz, received_on, received_on + 30, received_on + CASE WHEN g % 9 = 0 THEN 5 ELSE 30 END,
		       CASE WHEN received_on + days < current_date THEN (received_on + days)::timestamptz + interval '12 hours' END, false
		FROM s, rq`, n)
	if err != nil {
		t.Fatal(err)
	}
}

// In a real browser the dashboard draws its three charts (each an SVG
// image with a title and description) beside tables of the same
// figures, with no script; the nav leads to it and to the reports.
// DSR_SCREENSHOTS=1 writes docs/console-dashboard.png.
func TestDashboardInBrowser(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "ada@testorg.example", workflow.RoleAdmin)
	seedWeeks(t, d, 400)
	ctx := newBrowser(t)
	browserLoad(t, ctx, "open the sign-in page", chromedp.Navigate(d.URL+"/console/login"))
	browserDo(t, ctx, "fill in the sign-in form",
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@testorg.example"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
	)
	browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`)))
	code, url := browserLoad(t, ctx, "follow the nav to the dashboard", chromedp.Click(chromedp.CSS(`nav.console-nav a[href="/console/dashboard"]`)))
	if code != http.StatusOK || url != d.URL+"/console/dashboard" {
		t.Fatalf("dashboard: %d at %s", code, url)
	}
	type chart struct {
		Label  string  `json:"label"`
		Bars   int     `json:"bars"`
		Height float64 `json:"height"`
	}
	charts := browserRun(t, ctx, "charts", chromedp.Evaluate[[]chart](`[...document.querySelectorAll('figure.chart svg[role=img]')].map(s => ({
		label: s.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id).textContent).join(' — '),
		bars: s.querySelectorAll('rect.bar').length,
		height: s.getBoundingClientRect().height}))`))
	if len(charts) != 3 {
		t.Fatalf("charts %+v", charts)
	}
	for _, c := range charts {
		if c.Bars != workflow.DashboardWeeks || c.Height < 100 || !strings.Contains(c.Label, " — Bar chart of") {
			t.Errorf("chart %+v", c)
		}
	}
	scripts := browserRun(t, ctx, "scripts", chromedp.Evaluate[int](`document.scripts.length`))
	weeks := browserRun(t, ctx, "weeks table", chromedp.Evaluate[int](`document.querySelectorAll('#table-weeks tbody tr').length`))
	open := browserRun(t, ctx, "open tile", chromedp.Evaluate[string](`document.getElementById('n-open').textContent`))
	if scripts != 0 || weeks != workflow.DashboardWeeks || open == "0" {
		t.Errorf("scripts %d, week rows %d, open %s", scripts, weeks, open)
	}
	browserScreenshot(t, ctx, "console-dashboard.png")
}
