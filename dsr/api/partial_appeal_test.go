package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify/smtptest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// completeVirginiaAccess files a Virginia access request from email,
// confirms it, and has the officer with token tok claim it and complete
// it with outcome (partial: the invoices kept); it returns the request's
// id and the completion mail.
func completeVirginiaAccess(t *testing.T, d *apitest.Desk, tok, email, outcome string) (string, smtptest.Received) {
	t.Helper()
	rc := newRequest(t, d, "access", email, "US", "VA")
	if rc.Regime != "vcdpa" {
		t.Fatalf("regime %q, want vcdpa", rc.Regime)
	}
	walkVerification(t, d, email)
	adminAct(t, d, tok, rc.ID, "claim", nil, 200)
	body := map[string]any{"summary": "Your account data is attached.", "outcome": outcome,
		"exports": []map[string]string{{"filename": "data.json", "content_base64": base64.StdEncoding.EncodeToString([]byte(`{"name": "V"}`))}}}
	if outcome == dsr.OutcomePartial {
		body["kept"] = []map[string]string{{"data": "invoices", "basis": "5 years, Virginia tax records (Va. Code § 58.1-1812)"}}
	}
	adminAct(t, d, tok, rc.ID, "complete", body, 200)
	return rc.ID, d.MailWithSubject(t, email, "is complete")
}

// TestVirginiaPartialCompletionAppealUpheld: a Virginia access request
// completed in part (invoices kept) → the completion mail says how to
// appeal, with the link → the status page shows it → appeal filed on the
// status page → reviewed by someone other than the completing officer →
// upheld: completed again, with the Attorney General's route in the mail.
func TestVirginiaPartialCompletionAppealUpheld(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	completer, completerTok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	reviewer, reviewerTok := staff(t, d, "bob@testorg.example", workflow.RoleOfficer)
	const email = "vic@example.com"
	id, done := completeVirginiaAccess(t, d, completerTok, email, dsr.OutcomePartial)
	for _, want := range []string{"in part", "- invoices: 5 years", "You may appeal this decision until", "VCDPA", "Appeal: "} {
		if !strings.Contains(done.Text, want) {
			t.Errorf("completion mail lacks %q:\n%s", want, done.Text)
		}
	}
	appealURL := apitest.LinkWith(t, done, "/appeal")
	statusURL := strings.TrimSuffix(appealURL, "/appeal")
	if _, page := get(t, d, statusURL); !strings.Contains(page, `id="appeal-link"`) {
		t.Fatalf("status page of a partial completion has no appeal link:\n%s", page)
	}
	if resp, page := get(t, d, appealURL); resp.StatusCode != 200 || !strings.Contains(page, "only in part") || !strings.Contains(page, `name="reason"`) {
		t.Fatalf("appeal form: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := postAppeal(t, d, appealURL, " ", nil); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "Say why you disagree") {
		t.Fatalf("empty appeal: %d\n%s", resp.StatusCode, page)
	}
	resp, _ := postAppeal(t, d, appealURL, "Invoices older than five years must be deleted too.", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "appealed=1") {
		t.Fatalf("appeal: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}

	ctx := context.Background()
	req, err := d.Engine.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != dsr.StatusAppealed || req.AssigneeID != reviewer.ID {
		t.Fatalf("after the appeal: status %q assignee %q, want appealed to %s (not the completer %s)", req.Status, req.AssigneeID, reviewer.ID, completer.ID)
	}
	appeals, err := d.Engine.Appeals(ctx, id)
	if err != nil || len(appeals) != 1 {
		t.Fatalf("appeals %v %v", appeals, err)
	}
	a := appeals[0]
	received := dsr.DateIn(a.ReceivedAt, d.Org.Location())
	if want := received.AddDays(59); a.DueOn != want || req.DueOn != want || a.From != dsr.StatusCompleted || a.RefuserID != completer.ID || a.Late {
		t.Fatalf("appeal %+v, request due %s; want from completed, due %s, refused by %s", a, req.DueOn, want, completer.ID)
	}
	if got := d.MailWithSubject(t, email, "We received your appeal"); !strings.Contains(got.Text, a.DueOn.Long()) {
		t.Fatalf("appeal receipt mail lacks %s:\n%s", a.DueOn.Long(), got.Text)
	}

	// The console's request page names the officer whose completion is appealed.
	b := login(t, d, "bob@testorg.example")
	if _, page := b.get("/console/requests/" + id); !strings.Contains(page, `id="appeals"`) || !strings.Contains(page, "Completed in part by</dt><dd>alice@testorg.example") {
		t.Fatalf("request page lacks the appeal of the completion:\n%s", page)
	}
	// An appeal is answered by deciding it, not by completing again.
	if out := adminAct(t, d, reviewerTok, id, "complete", map[string]any{"summary": "Again.", "outcome": "no_data"}, 409); !strings.Contains(out["error"].(map[string]any)["rule"].(string), "appeal") {
		t.Fatalf("completing an appealed request: %v", out)
	}
	// The officer who completed it may not decide the appeal.
	adminAct(t, d, completerTok, id, "appeal-decide", map[string]string{"outcome": "upheld", "explanation": "Mine."}, 409)
	if out := adminAct(t, d, reviewerTok, id, "appeal-decide", map[string]string{"outcome": "upheld",
		"explanation": "Virginia tax law makes us keep the invoices for five years."}, 200); out["status"] != "completed" {
		t.Fatalf("upheld: %v, want status completed", out)
	}
	upheld := d.MailWithSubject(t, email, "The outcome of your appeal")
	for _, want := range []string{"Virginia tax law makes us keep", "Virginia Attorney General", "https://www.oag.state.va.us/consumer-protection/"} {
		if !strings.Contains(upheld.Text, want) {
			t.Errorf("upheld mail lacks %q:\n%s", want, upheld.Text)
		}
	}
	if req, _ := d.Engine.Request(ctx, id); req.Status != dsr.StatusCompleted || req.ClosedAt == nil {
		t.Fatalf("after upheld: %q closed %v, want completed", req.Status, req.ClosedAt)
	}
	if _, detail := adminCall(t, d, reviewerTok, "GET", "/api/v1/admin/requests/"+id, nil); detail["outcome"] != "partial" {
		t.Fatalf("outcome after upheld %v, want partial still", detail["outcome"])
	}
	if appeals, _ := d.Engine.Appeals(ctx, id); len(appeals) != 1 || appeals[0].Outcome != dsr.AppealUpheld {
		t.Fatalf("stored appeal %+v", appeals)
	}
}

// TestVirginiaPartialCompletionAppealReversed: an appeal of a completion
// in part, entered by an officer, reversed: the request reopens in
// progress. A full completion cannot be appealed (409 with the rule) and
// its mail and status page offer no appeal.
func TestVirginiaPartialCompletionAppealReversed(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{ConfigJSON: appealConfig})
	_, completerTok := staff(t, d, "alice@testorg.example", workflow.RoleOfficer)
	reviewer, reviewerTok := staff(t, d, "bob@testorg.example", workflow.RoleOfficer)

	full, fullMail := completeVirginiaAccess(t, d, completerTok, "fay@example.com", dsr.OutcomeFull)
	if strings.Contains(fullMail.Text, "/appeal") || strings.Contains(fullMail.Text, "You may appeal this decision until") {
		t.Errorf("a full completion's mail offers an appeal:\n%s", fullMail.Text)
	}
	statusURL := apitest.LinkWith(t, fullMail, "/status/")
	if _, page := get(t, d, statusURL); strings.Contains(page, `id="appeal-link"`) {
		t.Errorf("a full completion's status page offers an appeal:\n%s", page)
	}
	if resp, _ := get(t, d, strings.TrimSuffix(statusURL, "/")+"/appeal"); resp.StatusCode != http.StatusConflict {
		t.Errorf("a full completion's appeal form: %d, want 409", resp.StatusCode)
	}
	out := adminAct(t, d, reviewerTok, full, "appeal", map[string]string{"reason": "By phone: I disagree."}, 409)
	if e, _ := out["error"].(map[string]any); !strings.Contains(e["rule"].(string), "completion in part") {
		t.Fatalf("appeal of a full completion: %v, want the rule", out)
	}

	id, _ := completeVirginiaAccess(t, d, completerTok, "pat@example.com", dsr.OutcomePartial)
	if out := adminAct(t, d, reviewerTok, id, "appeal", map[string]string{"reason": "By letter: keep nothing."}, 200); out["status"] != "appealed" || out["assignee_id"] != reviewer.ID {
		t.Fatalf("entered appeal: %v", out)
	}
	if out := adminAct(t, d, reviewerTok, id, "appeal-decide", map[string]string{"outcome": "reversed", "explanation": "The old invoices go."}, 200); out["status"] != "in_progress" {
		t.Fatalf("reversed: %v, want in_progress", out)
	}
	if got := d.MailWithSubject(t, "pat@example.com", "Your appeal was successful"); !strings.Contains(got.Text, "The old invoices go.") {
		t.Errorf("reversed mail:\n%s", got.Text)
	}
	if req, _ := d.Engine.Request(context.Background(), id); req.Status != dsr.StatusInProgress || req.ClosedAt != nil {
		t.Fatalf("after reversed: %q closed %v", req.Status, req.ClosedAt)
	}
}
