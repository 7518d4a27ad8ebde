package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// A request entered from a letter, without an email address, is written
// to by post: its refusal letter says how to appeal by post (the
// organisation's postal address, the reference) and its question says how
// to answer by post, never "use the link" or "the status page".
func TestLettersTellHowToAnswerByPost(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "olly@testorg.example")
	ctx := context.Background()
	enter := func(country, state string) string {
		t.Helper()
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "channel": "letter",
			"received_at": d.Clock.Now().UTC().Format(time.RFC3339),
			"subject":     map[string]any{"name": "Lou Letter", "country": country, "state": state, "postal_address": "1 Main St\nHartford CT 06103"}})
		if code != 201 {
			t.Fatalf("enter: %d %v", code, out)
		}
		id := out["id"].(string)
		adminAct(t, d, tok, id, "verify", map[string]string{"method": "signed letter", "note": "signature matches"}, 200)
		return id
	}
	letterOf := func(id, event string) workflow.Letter {
		t.Helper()
		d.RunDue(t, time.Minute)
		ls, err := d.Engine.Letters(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Event == event {
				return l
			}
		}
		t.Fatalf("no %s letter among %+v", event, ls)
		return workflow.Letter{}
	}
	noLinks := func(what, page string) {
		t.Helper()
		for _, bad := range []string{"use the link", "status page", "reply to this email", "/status/", "/appeal"} {
			if strings.Contains(page, bad) {
				t.Errorf("%s says %q:\n%s", what, bad, page)
			}
		}
	}

	// Connecticut gives an appeal: the refusal letter says how to appeal by post.
	ct := enter("US", "CT")
	adminAct(t, d, tok, ct, "deny", map[string]string{"reason": "exemption_applies", "explanation": "The records are privileged."}, 200)
	l := letterOf(ct, dsr.MailDenied)
	ref := strings.Split(l.Subject, "(")[1]
	ref = strings.TrimSuffix(ref, ")")
	_, page := officer.get("/console/requests/" + ct + "/letters/" + l.MessageID)
	for _, want := range []string{"You may appeal this decision until", "write to us at Testorg B.V., Teststraat 1, Utrecht, quoting reference " + ref,
		"tell us why you disagree; you may enclose documents"} {
		if !strings.Contains(page, want) {
			t.Errorf("refusal letter lacks %q:\n%s", want, page)
		}
	}
	noLinks("refusal letter", page)

	// A question by letter: answer by post.
	nl := enter("NL", "")
	adminAct(t, d, tok, nl, "request-info", map[string]string{"reason": "clarification", "note": "Which of your accounts do you mean?"}, 200)
	l = letterOf(nl, dsr.MailInfoNeeded)
	_, page = officer.get("/console/requests/" + nl + "/letters/" + l.MessageID)
	if !strings.Contains(page, "Please answer by letter: write to us at Testorg B.V., Teststraat 1, Utrecht, quoting reference") ||
		!strings.Contains(page, "Which of your accounts do you mean?") {
		t.Errorf("question letter:\n%s", page)
	}
	noLinks("question letter", page)
}
