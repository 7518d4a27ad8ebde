package api_test

// A browser test of the fee path: an officer asks for a fee in the
// console, the requester's status page shows it with the stopped clock,
// and the officer marks it received (UK: the period starts again on the
// day of payment) or, in another case, waives it (GDPR: the days waited
// do not count).

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

func TestBrowserFeeRequestPaidAndWaived(t *testing.T) {
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	uk := newRequest(t, d, "access", "uk@example.com", "GB", "")
	nl := newRequest(t, d, "access", "nl@example.com", "NL", "")
	for _, id := range []string{uk.ID, nl.ID} {
		adminAct(t, d, tok, id, "verify", map[string]string{"method": "ID document", "note": "checked"}, 200)
	}
	detail := func(id string) map[string]any {
		_, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil)
		return out
	}
	nlBefore := detail(nl.ID)["due_on"].(string)

	ctx := newBrowser(t)
	// signIn signs the officer in; again after the clock moved on by days,
	// when the session has ended.
	signIn := func() {
		t.Helper()
		browserLoad(t, ctx, "open the sign-in page", chromedp.Navigate(d.URL+"/console/login"))
		browserDo(t, ctx, "fill in the sign-in form",
			chromedp.WaitVisible(chromedp.ID("email")),
			chromedp.SendKeys(chromedp.ID("email"), "olga@testorg.example"),
			chromedp.SendKeys(chromedp.ID("password"), testPassword))
		if code, url := browserLoad(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`form[action="/console/login"] button[type=submit]`))); code != 200 || url != d.URL+"/console/dashboard" {
			t.Fatalf("sign in: %d at %s", code, url)
		}
	}
	signIn()
	askFee := func(id, amount, currency, reason string) {
		t.Helper()
		browserLoad(t, ctx, "open the request", chromedp.Navigate(d.URL+"/console/requests/"+id))
		browserDo(t, ctx, "open the Fee form", chromedp.Click(chromedp.CSS(`#fee summary`)),
			chromedp.WaitVisible(chromedp.ID("fee-amount")),
			chromedp.SendKeys(chromedp.ID("fee-amount"), amount),
			chromedp.SendKeys(chromedp.ID("fee-currency"), currency),
			chromedp.Click(chromedp.CSS(`#fee input[name=reason][value=`+reason+`]`)))
		if code, url := browserLoad(t, ctx, "ask for the fee", chromedp.Click(chromedp.CSS(`form[action$="/request-fee"] button[type=submit]`))); code != 200 || url != d.URL+"/console/requests/"+id {
			t.Fatalf("request-fee: %d at %s", code, url)
		}
	}
	endFee := func(id, action, flash string) {
		t.Helper()
		browserLoad(t, ctx, "open the request", chromedp.Navigate(d.URL+"/console/requests/"+id))
		browserDo(t, ctx, "open the Fee section", chromedp.Click(chromedp.CSS(`#fee summary`)),
			chromedp.WaitVisible(chromedp.CSS(`form[action$="/`+action+`"] button`)))
		if code, _ := browserLoad(t, ctx, action, chromedp.Click(chromedp.CSS(`form[action$="/`+action+`"] button[type=submit]`))); code != 200 {
			t.Fatalf("%s: %d", action, code)
		}
		if f := browserRun(t, ctx, "#flash", chromedp.Text(chromedp.ID("flash"))); !strings.Contains(f, flash) {
			t.Errorf("%s: flash %q, want %q", action, f, flash)
		}
	}
	text := func(what, sel string) string {
		t.Helper()
		// textContent: a closed <details> hides its text from innerText.
		return browserRun(t, ctx, what, chromedp.Evaluate[string](`(document.querySelector('`+sel+`') || {}).textContent || ''`))
	}

	// UK further copies: the console shows the fee and the stopped clock.
	askFee(uk.ID, "10.50", "GBP", "further_copies")
	if fee, due := text("fee", "#fee"), text("due", "#due"); !strings.Contains(fee, "Awaiting a fee of 10.50 GBP (further copies of your personal data)") || !strings.Contains(due, "clock stopped since") {
		t.Fatalf("console after request-fee: fee %q due %q", fee, due)
	}
	// The requester's status page (the link in the fee mail).
	status := apitest.LinkWith(t, d.MailWithSubject(t, "uk@example.com", "A fee is due"), "/status/")
	browserLoad(t, ctx, "open the status page", chromedp.Navigate(status))
	if fee, due := text("status fee", "#fee"), text("status due", "#due"); !strings.Contains(fee, "10.50 GBP is due (further copies of your personal data)") ||
		!strings.Contains(due, "clock stopped since") || !strings.Contains(due, "it runs again when the fee is received") {
		t.Fatalf("status page: fee %q, time limit %q", fee, due)
	}
	if h := text("history", "ol.history"); !strings.Contains(h, "We asked for a fee of 10.50 GBP") {
		t.Errorf("status history lacks the fee:\n%s", h)
	}

	// Twelve days later the fee arrives: the month counts from today.
	d.Clock.Advance(12 * 24 * time.Hour)
	signIn()
	endFee(uk.ID, "fee-paid", "Fee marked paid")
	fresh := newRequest(t, d, "access", "fresh@example.com", "GB", "")
	freshDue := detail(fresh.ID)["due_on"].(string)
	want := browserHumanDate(t, freshDue)
	day, _ := time.Parse(time.DateOnly, freshDue)
	wantLong := day.Format("Monday 2 January 2006") // the status page's format
	if due := text("due after payment", "#due"); !strings.HasPrefix(due, want) {
		t.Errorf("due after payment %q, want %s (that of a request received today)", due, want)
	}
	if l := text("ledger", "table.ledger"); !strings.Contains(l, "fee received on") {
		t.Errorf("ledger lacks the restart:\n%s", l)
	}
	browserLoad(t, ctx, "status page after payment", chromedp.Navigate(status))
	if due := text("status due", "#due"); due != wantLong {
		t.Errorf("status page after payment: %q, want the new date %s", due, wantLong)
	}
	if n := browserRun(t, ctx, "fee gone", chromedp.Evaluate[int](`document.querySelectorAll('#fee').length`)); n != 0 {
		t.Errorf("status page still shows a fee after payment")
	}

	// GDPR, excessive, waived after ten days: the waited days do not count.
	askFee(nl.ID, "25", "EUR", "excessive")
	d.Clock.Advance(10 * 24 * time.Hour)
	signIn()
	endFee(nl.ID, "fee-waived", "waived")
	after := detail(nl.ID)
	if got := after["due_on"].(string); got <= nlBefore {
		t.Errorf("due after the waiver %s, want later than %s (the days waited do not count)", got, nlBefore)
	}
	if due := text("due after waiver", "#due"); !strings.HasPrefix(due, browserHumanDate(t, after["due_on"].(string))) {
		t.Errorf("console due %q, want %s", due, after["due_on"])
	}
	if l := text("ledger", "table.ledger"); strings.Contains(l, "fee received on") || !strings.Contains(l, "Clock restarted") {
		t.Errorf("waiver ledger:\n%s", l)
	}
}
