package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Issue #12 points 2, 3, 4 and 7: the organisation's policy run as
// written.

func ledgerHas(out map[string]any, what, part string) bool {
	ledger, _ := out["ledger"].([]any)
	for _, e := range ledger {
		m, _ := e.(map[string]any)
		if m["what"] == what && strings.Contains(m["rule"].(string), part) {
			return true
		}
	}
	return false
}

// UbiOps shape: erasure promised within 14 days under the GDPR (the
// default test config). Extending before the identity is confirmed is
// refused; after, extending the promised date is refused naming the
// promise, and allowed only as a knowingly broken promise: ledger entry,
// and the requester told plainly that the promised date is missed and why.
func TestExtendKeepsOrKnowinglyBreaksThePromise(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "erasure", "era@example.com", "NL", "")
	act := func(action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	out := act("extend", map[string]any{"reason": "Backups to check", "override_promise": true}, 409)
	if e := out["error"].(map[string]any); !strings.Contains(e["rule"].(string), "identity is confirmed") {
		t.Fatalf("extension before confirmation: %v", out)
	}
	act("verify", map[string]string{"method": "ID document", "note": "passport checked"}, 200)
	_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
	promised := detail["policy_due"].(string)
	if detail["due_on"] != promised {
		t.Fatalf("the due date should be the promise: %v", detail)
	}

	// The console offers the override and names the promise when refusing.
	b := login(t, d, u.Email)
	if _, page := b.get("/console/requests/" + rc.ID); !strings.Contains(page, `name="override_promise" value="true"`) {
		t.Fatalf("console extend form lacks the override:\n%s", page)
	}
	if resp, page := b.post("/console/requests/"+rc.ID+"/extend", url.Values{"reason": {"Backups to check"}}); resp.StatusCode != 409 || !strings.Contains(page, "Privacy policy: erasure within 14 days") {
		t.Fatalf("console extension of a promise: %d\n%s", resp.StatusCode, page)
	}
	out = act("extend", map[string]string{"reason": "Backups to check"}, 409)
	e := out["error"].(map[string]any)
	if msg := e["message"].(string); !strings.Contains(msg, "Privacy policy: erasure within 14 days") || !strings.Contains(e["rule"].(string), "override_promise") {
		t.Fatalf("extension of a promise: %v", out)
	}
	act("extend", map[string]any{"override_promise": true, "reason": " "}, 422) // the reason is still required
	out = act("extend", map[string]any{"override_promise": true, "reason": "Our backup restore takes three weeks"}, 200)
	if out["due_on"] == promised {
		t.Fatalf("due date did not move: %v", out)
	}
	_, detail = adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
	if !ledgerHas(detail, "promise_broken", "promise broken: Privacy policy: erasure within 14 days") || !ledgerHas(detail, "promise_broken", "Our backup restore takes three weeks") {
		t.Fatalf("ledger should record the broken promise: %v", detail["ledger"])
	}
	m := d.MailWithSubject(t, "era@example.com", "We need more time")
	for _, want := range []string{"We promised to answer by", "Privacy policy: erasure within 14 days", "We will not meet that date.", "Why: Our backup restore takes three weeks"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("extension mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "as the law allows") {
		t.Errorf("a broken promise is not 'as the law allows':\n%s", m.Text)
	}
}

// request-info needs a reason; the clock stops only where the regime
// allows for that reason, and while it is stopped the status page and the
// console say so instead of counting down.
func TestRequestInfoReasonDecidesTheClock(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	eu := newRequest(t, d, "access", "eu@example.com", "NL", "")
	ca := newRequest(t, d, "access", "ca@example.com", "US", "CA")
	other := newRequest(t, d, "access", "other@example.com", "DE", "")
	act := func(id, action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	for _, id := range []string{eu.ID, ca.ID, other.ID} {
		act(id, "verify", map[string]string{"method": "ID document", "note": "checked"}, 200)
	}
	out := act(eu.ID, "request-info", map[string]string{"note": "Which account?"}, 422)
	if f := out["error"].(map[string]any)["fields"].(map[string]any); f["reason"] == nil {
		t.Fatalf("missing reason: %v", out)
	}
	act(eu.ID, "request-info", map[string]string{"reason": "scope", "note": "Which account?"}, 422)

	if out := act(ca.ID, "request-info", map[string]string{"reason": "identity", "note": "Send your customer number."}, 200); !strings.Contains(out["message"].(string), "keeps running") {
		t.Fatalf("CCPA never stops the clock: %v", out)
	}
	if out := act(other.ID, "request-info", map[string]string{"reason": "other", "note": "Which language do you prefer?"}, 200); !strings.Contains(out["message"].(string), "keeps running") {
		t.Fatalf("GDPR does not stop the clock for other questions: %v", out)
	}
	if out := act(eu.ID, "request-info", map[string]string{"reason": "clarification", "note": "Which account?"}, 200); !strings.Contains(out["message"].(string), "stopped") {
		t.Fatalf("GDPR stops the clock to clarify the scope: %v", out)
	}

	// Mail over SMTP says the limit is paused only where it is.
	if m := d.MailWithSubject(t, "eu@example.com", "more information"); !strings.Contains(m.Text, "time limit for our response is paused") {
		t.Errorf("paused mail:\n%s", m.Text)
	}
	for _, addr := range []string{"ca@example.com", "other@example.com"} {
		if m := d.MailWithSubject(t, addr, "more information"); strings.Contains(m.Text, "paused") {
			t.Errorf("%s: mail says paused though the clock runs:\n%s", addr, m.Text)
		}
	}

	// The status page and the console show the stopped clock.
	d.Clock.Advance(3 * 24 * time.Hour)
	_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+eu.ID, nil)
	ack := d.MailWithSubject(t, "eu@example.com", "is being handled")
	_, page := get(t, d, apitest.LinkWith(t, ack, "/status/"))
	if !strings.Contains(page, "clock stopped since") || !strings.Contains(page, "days remain") {
		t.Errorf("status page while stopped:\n%s", page)
	}
	b := login(t, d, u.Email)
	_, console := b.get("/console/requests/" + eu.ID)
	if !strings.Contains(console, "clock stopped since") || strings.Contains(console, "days left)") {
		t.Errorf("console while stopped (due %v):\n%s", detail["due_on"], console)
	}
	_, running := b.get("/console/requests/" + other.ID)
	if strings.Contains(running, "clock stopped since") || !strings.Contains(running, "days left") {
		t.Errorf("console of a running clock:\n%s", running)
	}
}

// complete takes an outcome: partial lists what was kept and why, and the
// requester is told it with the complaint route; no_data needs no export.
func TestCompleteRecordsTheOutcome(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	era := newRequest(t, d, "erasure", "era@example.com", "US", "CA")
	acc := newRequest(t, d, "access", "acc@example.com", "NL", "")
	form := newRequest(t, d, "erasure", "form@example.com", "NL", "")
	act := func(id, action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	for _, id := range []string{era.ID, acc.ID, form.ID} {
		act(id, "verify", map[string]string{"method": "ID document", "note": "checked"}, 200)
	}
	base := map[string]any{"summary": "Deleted your account.", "systems": "CRM, billing"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	fields := func(out map[string]any) map[string]any {
		f, _ := out["error"].(map[string]any)["fields"].(map[string]any)
		return f
	}
	if f := fields(act(era.ID, "complete", with(map[string]any{"outcome": "partial"}), 422)); f["kept"] == nil {
		t.Fatalf("partial without kept: %v", f)
	}
	if f := fields(act(era.ID, "complete", with(map[string]any{"outcome": "partial", "kept": []map[string]string{{"data": "invoices"}}}), 422)); f["kept"] == nil {
		t.Fatalf("kept without basis: %v", f)
	}
	if f := fields(act(era.ID, "complete", with(map[string]any{"outcome": "some"}), 422)); f["outcome"] == nil {
		t.Fatalf("unknown outcome: %v", f)
	}
	act(era.ID, "complete", with(map[string]any{"outcome": "full", "kept": []map[string]string{{"data": "invoices", "basis": "tax law"}}}), 422)
	act(era.ID, "complete", with(map[string]any{"outcome": "partial",
		"kept": []map[string]string{{"data": "invoices", "basis": "7 years, Dutch tax law (AWR art. 52)"}}}), 200)
	_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+era.ID, nil)
	kept, _ := json.Marshal(detail["kept"])
	if detail["outcome"] != "partial" || string(kept) != `[{"basis":"7 years, Dutch tax law (AWR art. 52)","data":"invoices"}]` {
		t.Fatalf("detail outcome %v kept %s", detail["outcome"], kept)
	}
	m := d.MailWithSubject(t, "era@example.com", "is complete")
	for _, want := range []string{"in part", "- invoices: 7 years, Dutch tax law (AWR art. 52)", "If you disagree with what we kept", "California Privacy Protection Agency"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("completion mail lacks %q:\n%s", want, m.Text)
		}
	}
	ack := d.MailWithSubject(t, "era@example.com", "is being handled")
	if _, page := get(t, d, apitest.LinkWith(t, ack, "/status/")); !strings.Contains(page, "Completed in part") || !strings.Contains(page, "invoices: 7 years, Dutch tax law (AWR art. 52)") {
		t.Errorf("status page of a partial outcome:\n%s", page)
	}

	// No data: an access request needs no export then.
	act(acc.ID, "complete", map[string]any{"outcome": "no_data"}, 422) // says where it searched
	act(acc.ID, "complete", map[string]any{"outcome": "no_data", "summary": "We searched CRM, billing and support."}, 200)
	if _, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+acc.ID, nil); detail["outcome"] != "no_data" {
		t.Fatalf("no_data outcome: %v", detail["outcome"])
	}
	if m := d.MailWithSubject(t, "acc@example.com", "is complete"); !strings.Contains(m.Text, "we hold no personal data about you") {
		t.Errorf("no-data mail:\n%s", m.Text)
	}

	// The console form: repeatable kept rows, blank ones ignored.
	b := login(t, d, u.Email)
	_, page := b.get("/console/requests/" + form.ID)
	if strings.Count(page, `name="kept_data"`) != 3 || !strings.Contains(page, `name="outcome" value="partial"`) {
		t.Fatalf("console complete form:\n%s", page)
	}
	resp, _ := b.post("/console/requests/"+form.ID+"/complete", url.Values{"outcome": {"partial"}, "summary": {"Deleted."}, "systems": {"CRM"},
		"kept_data": {"", "invoices", ""}, "kept_basis": {"", "7 years, AWR art. 52", ""}})
	if resp.StatusCode != 303 {
		t.Fatalf("console complete: %d", resp.StatusCode)
	}
	if _, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+form.ID, nil); detail["outcome"] != "partial" || len(detail["kept"].([]any)) != 1 {
		t.Fatalf("console outcome: %v %v", detail["outcome"], detail["kept"])
	}
}

// A kind the law does not give can be offered voluntarily: Ontra offers
// restriction to Californians too.
func TestVoluntaryOfferTakesARightTheLawDoesNotGive(t *testing.T) {
	t.Parallel()
	plain := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, plain, `{"kind": "restriction", "subject": {"email": "r@example.com", "country": "US", "state": "CA"}, "fields": {"ground": "accuracy_contested"}}`, nil)
	if resp.StatusCode != 422 || !strings.Contains(string(b), "does not give a right of restriction") {
		t.Fatalf("restriction under CCPA without an offer: %d %s", resp.StatusCode, b)
	}

	cfg := strings.Replace(apitest.ConfigJSON, `"promises":`, `"voluntary": [{"kind": "restriction", "regimes": ["ccpa"], "days": 30, "source": "Privacy policy §7"}],
  "promises":`, 1)
	d := apitest.Start(t, apitest.Options{ConfigJSON: cfg})
	_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "restriction", "r@example.com", "US", "CA")
	if rc.Regime != "ccpa" || rc.Kind != "restriction" {
		t.Fatalf("receipt %+v", rc)
	}
	_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
	if !ledgerHas(detail, "voluntary", "offered voluntarily (policy)") || !ledgerHas(detail, "voluntary", "Privacy policy §7") {
		t.Fatalf("ledger should say offered voluntarily: %v", detail["ledger"])
	}
	received, err := time.Parse(time.RFC3339Nano, detail["received_at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Amsterdam")
	want := received.In(loc).AddDate(0, 0, 30).Format("2006-01-02")
	if detail["due_on"] != want || detail["policy_due"] != want {
		t.Fatalf("due %v policy %v, want the promised %s", detail["due_on"], detail["policy_due"], want)
	}
}
