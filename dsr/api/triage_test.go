package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// emailed stores an email from sender as the inbound SMTP listener does,
// waits for its parse job and returns the id of the request it made
// (pending_triage).
func emailed(t *testing.T, d *apitest.Desk, sender, subject, body string) string {
	t.Helper()
	ctx := context.Background()
	msgID := fmt.Sprintf("%d.%s", time.Now().UnixNano(), sender)
	raw := "From: " + sender + "\r\nTo: privacy@testorg.example\r\nSubject: " + subject + "\r\nMessage-ID: <" + msgID + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n"
	if err := d.Engine.StoreInbound(ctx, notify.InboundMessage{From: sender, To: []string{"privacy@testorg.example"},
		RemoteIP: "127.0.0.1", Helo: "mx.example.net", Raw: []byte(raw)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, err := db.InboundEmails(ctx, d.Pool, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all {
			if m.MessageID == msgID && m.Status != db.InboundReceived {
				if m.Status != db.InboundRequest {
					t.Fatalf("inbound email %+v", m)
				}
				return m.RequestID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("email from %s not processed after 20s", sender)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAdminAPITriageAndNotARequest(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "tara@testorg.example", workflow.RoleOfficer)
	act := func(id, action string, body any, want int) map[string]any {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+action, body)
		if code != want {
			t.Fatalf("%s: %d %v, want %d", action, code, out, want)
		}
		return out
	}
	id := emailed(t, d, "erin@example.com", "Delete my account", "Please delete my data.")
	_, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil)
	if out["status"] != "pending_triage" || out["kind"] != "erasure" {
		t.Fatalf("email request: %v", out)
	}
	if code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests?status=pending_triage", nil); code != 200 || len(out["data"].([]any)) != 1 {
		t.Fatalf("queue of requests to triage: %d %v", code, out)
	}
	// Officers cannot work a request before triage.
	act(id, "request-info", map[string]string{"reason": "clarification", "note": "Which account?"}, 409)
	out = act(id, "triage", map[string]string{"kind": "restriction", "regime": "ccpa"}, 422) // CCPA gives no right of restriction
	if f, _ := out["error"].(map[string]any)["fields"].(map[string]any); f["kind"] == nil {
		t.Fatalf("refused triage without field errors: %v", out)
	}
	act(id, "triage", map[string]string{"kind": "access", "regime": "atlantis"}, 422)
	out = act(id, "triage", map[string]string{"kind": "access", "regime": "gdpr"}, 200)
	if out["status"] != "pending_verification" || !strings.Contains(out["message"].(string), "confirm") {
		t.Fatalf("triage: %v", out)
	}
	_, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil)
	if out["kind"] != "access" || !strings.Contains(mustJSON(out["events"]), "triaged") || !strings.Contains(mustJSON(out["ledger"]), dsr.LedgerTriaged) {
		t.Fatalf("after triage: %v", out)
	}
	apitest.LinkWith(t, d.MailTo(t, "erin@example.com", 1)[0], "/verify/")
	if out := act(id, "triage", map[string]string{"kind": "access", "regime": "gdpr"}, 409); errorCode(out) != "conflict" {
		t.Fatalf("second triage: %v", out)
	}

	// A form request is never triaged.
	form := newRequest(t, d, "access", "frank@example.com", "NL", "")
	act(form.ID, "triage", map[string]string{"kind": "access", "regime": "gdpr"}, 409)
	act(form.ID, "not-a-request", map[string]string{"reason": "spam"}, 409)

	spam := emailed(t, d, "win@prize.example", "You won", "Claim your prize now.")
	act(spam, "not-a-request", map[string]string{"reason": " "}, 422)
	if out := act(spam, "not-a-request", map[string]string{"reason": "Spam"}, 200); out["status"] != "withdrawn" {
		t.Fatalf("not-a-request: %v", out)
	}
	d.WaitJobs(t, nil)
	if n := len(d.SMTP.Messages()); n != 2 { // erin's confirmation, frank's confirmation
		t.Fatalf("%d messages sent, want 2: nothing to the spammer", n)
	}
	if _, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+spam+"/frobnicate", map[string]string{}); !strings.Contains(mustJSON(out), "triage, not-a-request") {
		t.Fatalf("unknown action: %v", out)
	}
}

func TestConsoleTriageForm(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	staff(t, d, "tom@testorg.example", workflow.RoleOfficer)
	id := emailed(t, d, "gus@example.com", "Question", "What data do you hold about me?")
	b := login(t, d, "tom@testorg.example")
	resp, page := b.get("/console/requests/" + id)
	if resp.StatusCode != 200 {
		t.Fatalf("request page %d", resp.StatusCode)
	}
	for _, want := range []string{`action="/console/requests/` + id + `/triage"`, `<option value="access" selected>`,
		`<option value="gdpr" selected>`, `<option value="ccpa">`, `action="/console/requests/` + id + `/not-a-request"`, "Needs triage"} {
		if !strings.Contains(page, want) {
			t.Errorf("triage page lacks %s", want)
		}
	}
	for _, hidden := range []string{"/complete", "/extend", "/request-info", "/verify"} {
		if strings.Contains(page, `action="/console/requests/`+id+hidden+`"`) {
			t.Errorf("triage page offers %s", hidden)
		}
	}
	resp, page = b.post("/console/requests/"+id+"/triage", url.Values{"kind": {"restriction"}, "regime": {"ccpa"}})
	if resp.StatusCode != 422 || !strings.Contains(page, "restriction") {
		t.Fatalf("triage to a kind CCPA does not cover: %d", resp.StatusCode)
	}
	resp, _ = b.post("/console/requests/"+id+"/triage", url.Values{"kind": {"access"}, "regime": {"ccpa"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/requests/"+id {
		t.Fatalf("triage: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get("/console/requests/" + id)
	if !strings.Contains(page, "Triaged") {
		t.Fatal("request page after triage: no flash")
	}
	if !strings.Contains(page, `data-status="pending_verification"`) || strings.Contains(page, `/triage"`) || !strings.Contains(page, "CCPA") {
		t.Fatal("request page after triage")
	}
}
