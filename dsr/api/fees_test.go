package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// A UK further-copies fee: asked over the admin API, mailed over SMTP,
// the clock stops, and once paid every period counts from the day of
// payment (the due date is that of a request received that day).
func TestFeeJourneyUK(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "uk@example.com", "GB", "")
	act := func(id, action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	detail := func(id string) map[string]any {
		_, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil)
		return out
	}
	act(rc.ID, "verify", map[string]string{"method": "ID document", "note": "checked"}, 200)
	before := detail(rc.ID)["due_on"]

	// Bad input: field errors, nothing stored.
	out := act(rc.ID, "request-fee", map[string]any{"amount": "-3", "currency": "pounds", "reason": "further_copies"}, 422)
	f := out["error"].(map[string]any)["fields"].(map[string]any)
	if f["amount"] == nil || f["currency"] == nil {
		t.Fatalf("bad amount and currency: %v", out)
	}
	if out := act(rc.ID, "request-fee", map[string]any{"amount": true, "currency": "GBP", "reason": "further_copies"}, 422); out["error"].(map[string]any)["fields"].(map[string]any)["amount"] == nil {
		t.Fatalf("amount of the wrong type: %v", out)
	}
	act(rc.ID, "request-fee", map[string]any{"amount": 10, "currency": "GBP", "reason": "because"}, 422)
	act(rc.ID, "fee-paid", nil, 409) // no fee awaited yet

	out = act(rc.ID, "request-fee", map[string]any{"amount": 10.5, "currency": "GBP", "reason": "further_copies"}, 200)
	if out["status"] != "awaiting_requester" {
		t.Fatalf("request-fee: %v", out)
	}
	dt := detail(rc.ID)
	fee, _ := dt["fee"].(map[string]any)
	if fee == nil || fee["amount"] != "10.50" || fee["currency"] != "GBP" || fee["clock"] != "restart" {
		t.Fatalf("fee in the detail: %v", dt["fee"])
	}
	m := d.MailWithSubject(t, "uk@example.com", "A fee is due")
	for _, want := range []string{"10.50 GBP", "further copies of your personal data", "How to pay: contact", "does not run until the fee is received"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("fee mail lacks %q:\n%s", want, m.Text)
		}
	}
	act(rc.ID, "request-fee", map[string]any{"amount": "5", "currency": "GBP", "reason": "excessive"}, 409) // one fee at a time

	// While the fee is awaited the console shows the stopped clock.
	d.Clock.Advance(20 * 24 * time.Hour)
	b := login(t, d, u.Email)
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, "clock stopped since") || !strings.Contains(page, "Awaiting a fee of 10.50 GBP") {
		t.Fatalf("console while the fee is awaited:\n%s", page)
	}

	// Paid: the period starts on the day of payment.
	if resp, page := b.post("/console/requests/"+rc.ID+"/fee-paid", url.Values{}); resp.StatusCode != 303 {
		t.Fatalf("console fee-paid: %d\n%s", resp.StatusCode, page)
	}
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, "Fee marked paid") {
		t.Fatalf("no flash after fee-paid:\n%s", page)
	}
	fresh := newRequest(t, d, "access", "fresh@example.com", "GB", "")
	dt = detail(rc.ID)
	if dt["status"] != "in_progress" || dt["fee"] != nil {
		t.Fatalf("after payment: status %v fee %v", dt["status"], dt["fee"])
	}
	if got, want := dt["due_on"], detail(fresh.ID)["due_on"]; got != want || got == before {
		t.Fatalf("due after payment %v, want %v (a request received today; was %v)", got, want, before)
	}
	if !ledgerHas(dt, "resumed", "fee received on") {
		t.Errorf("ledger lacks the restart: %v", dt["ledger"])
	}
	if m := d.MailWithSubject(t, "uk@example.com", "Fee received"); !strings.Contains(m.Text, fmt.Sprint("10.50 GBP")) {
		t.Errorf("fee-paid mail:\n%s", m.Text)
	}
	act(rc.ID, "fee-waived", nil, 409) // nothing awaited any more
}

// A waived fee continues the request; a fee the regime does not allow is
// refused with the rule.
func TestFeeWaivedAndRefused(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	eu := newRequest(t, d, "access", "eu@example.com", "NL", "")
	ca := newRequest(t, d, "access", "ca@example.com", "US", "CA")
	for _, id := range []string{eu.ID, ca.ID} {
		if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/verify", map[string]string{"method": "ID document", "note": "checked"}); code != 200 {
			t.Fatalf("verify: %d %v", code, out)
		}
	}
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+eu.ID+"/request-fee", map[string]any{"amount": "10", "currency": "EUR", "reason": "repeat_within_12_months"})
	if code != 409 || !strings.Contains(fmt.Sprint(out["error"].(map[string]any)["rule"]), "Art. 12(5)") {
		t.Fatalf("GDPR repeat fee: %d %v, want 409 with the rule", code, out)
	}
	code, out = adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+ca.ID+"/request-fee", map[string]any{"amount": "10", "currency": "USD", "reason": "repeat_within_12_months"})
	if code != 409 || !strings.Contains(fmt.Sprint(out["error"].(map[string]any)["rule"]), "1798.145") {
		t.Fatalf("CCPA repeat fee: %d %v, want 409 with the rule", code, out)
	}
	// The console's Fee form: field errors, then the fee.
	b := login(t, d, u.Email)
	if resp, page := b.post("/console/requests/"+eu.ID+"/request-fee", url.Values{"amount": {"abc"}, "currency": {"EUR"}, "reason": {"excessive"}}); resp.StatusCode != 422 || !strings.Contains(page, "Give an amount above zero") {
		t.Fatalf("console bad amount: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := b.post("/console/requests/"+eu.ID+"/request-fee", url.Values{"amount": {"25"}, "currency": {"EUR"}, "reason": {"excessive"}}); resp.StatusCode != 303 {
		t.Fatalf("console request-fee: %d\n%s", resp.StatusCode, page)
	}
	if _, page := b.get("/console/requests/" + eu.ID); !strings.Contains(page, "Awaiting a fee of 25.00 EUR") || !strings.Contains(page, "clock stopped since") {
		t.Fatalf("console after request-fee:\n%s", page)
	}
	if code, out = adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+eu.ID+"/fee-waived", nil); code != 200 || out["status"] != "in_progress" {
		t.Fatalf("fee-waived: %d %v", code, out)
	}
	if m := d.MailWithSubject(t, "eu@example.com", "No fee is due"); !strings.Contains(m.Text, "waived") {
		t.Errorf("waiver mail:\n%s", m.Text)
	}
}

// The request page and the detail warn when the same person filed the
// same kind within 12 months.
func TestRepeatRequestWarning(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	first := newRequest(t, d, "access", "Rep@example.com", "US", "CA")
	other := newRequest(t, d, "erasure", "rep@example.com", "US", "CA")
	d.Clock.Advance(40 * 24 * time.Hour)
	second := newRequest(t, d, "access", "rep@example.com", "US", "CA")
	_, dt := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+second.ID, nil)
	rp, _ := dt["repeat_of"].(map[string]any)
	if rp == nil || rp["id"] != first.ID || !strings.Contains(fmt.Sprint(rp["warning"]), "allows 2 free requests per 12 months") {
		t.Fatalf("repeat_of: %v", dt["repeat_of"])
	}
	for _, id := range []string{first.ID, other.ID} {
		if _, dt := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil); dt["repeat_of"] != nil {
			t.Errorf("%s is no repeat: %v", id, dt["repeat_of"])
		}
	}
	b := login(t, d, u.Email)
	if _, page := b.get("/console/requests/" + second.ID); !strings.Contains(page, "Same person, same kind within 12 months: "+fmt.Sprint(rp["ref"])) {
		t.Errorf("request page lacks the warning:\n%s", page)
	}
	// Beyond 12 months it is no repeat.
	d.Clock.Advance(366 * 24 * time.Hour)
	later := newRequest(t, d, "access", "rep@example.com", "US", "CA")
	_, dt = adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+later.ID, nil)
	if dt["repeat_of"] != nil {
		t.Errorf("a request 366 days after the last one is no repeat: %v", dt["repeat_of"])
	}
}
