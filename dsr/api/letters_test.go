package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// A letter with no email address, entered over the admin API: the dates
// count from its receipt, no confirmation link can be sent (the request
// waits for the officer's verification, with nothing scheduled to remind
// or expire it) and no mail is written; once the officer verifies, the
// acknowledgment is a letter to print, which the officer marks posted.
func TestLetterWithoutEmail(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	officer := login(t, d, "olly@testorg.example")
	ctx := context.Background()
	received := d.Clock.Now().Add(-3 * 24 * time.Hour).UTC()
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", map[string]any{"kind": "access", "channel": "letter",
		"received_at": received.Format(time.RFC3339),
		"subject":     map[string]any{"name": "Lou Letter", "country": "NL", "postal_address": "  Keizersgracht 1\r\n\r\n1015 AA Amsterdam  "}})
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	id := out["id"].(string)
	req, err := d.Engine.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	receivedOn := dsr.DateIn(received, d.Org.Location())
	if req.Channel != dsr.ChannelLetter || req.Status != dsr.StatusPendingVerification || req.ReceivedOn != receivedOn ||
		req.Subject.Email != "" || req.Subject.PostalAddress != "Keizersgracht 1\n1015 AA Amsterdam" || req.VerificationSent != nil {
		t.Fatalf("entered letter: channel %s status %s received %s email %q address %q sent %v",
			req.Channel, req.Status, req.ReceivedOn, req.Subject.Email, req.Subject.PostalAddress, req.VerificationSent)
	}
	rd, err := d.Engine.RequestDetail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Messages) != 0 {
		t.Fatalf("a request without email wrote %d messages, want none", len(rd.Messages))
	}
	if n := verificationJobs(t, d, id); n != 0 {
		t.Fatalf("%d confirmation jobs scheduled for a request that cannot be confirmed by email", n)
	}
	// Nor does the reconciliation sweep take the missing jobs for lost
	// ones: this request is to expire never.
	if _, err := d.Engine.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if n := verificationJobs(t, d, id); n != 0 {
		t.Fatalf("the sweep scheduled %d confirmation jobs for a request without email", n)
	}
	if _, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil); mustJSON(out["subject"]) != `{"country":"NL","email":"","name":"Lou Letter","postal_address":"Keizersgracht 1\n1015 AA Amsterdam","state":""}` ||
		out["channel"] != "letter" {
		t.Errorf("admin API detail: subject %s channel %v", mustJSON(out["subject"]), out["channel"])
	}
	if !hasEvent(rd.Events, dsr.EventVerifyOtherMeans) {
		t.Fatalf("no %s event: %+v", dsr.EventVerifyOtherMeans, rd.Events)
	}
	if _, page := officer.get("/console/requests/" + id); !strings.Contains(page, "none (letters by post)") || !strings.Contains(page, "1015 AA Amsterdam") {
		t.Fatalf("request page does not show the postal address:\n%s", page)
	}

	// The officer verifies by another method: the acknowledgment is a
	// letter, not a mail, and it carries no link.
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/verify", map[string]string{"method": "signed letter", "note": "signature matches the contract"}); code != 200 {
		t.Fatalf("verify: %d %v", code, out)
	}
	d.RunDue(t, time.Minute)
	letters, err := d.Engine.Letters(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].Event != dsr.MailAcknowledged || letters[0].PostedAt != nil ||
		letters[0].PostalAddress != "Keizersgracht 1\n1015 AA Amsterdam" || letters[0].ToName != "Lou Letter" {
		t.Fatalf("letters after verification: %+v", letters)
	}
	l := letters[0]
	if strings.Contains(l.TextBody, "/status/") || !strings.Contains(l.TextBody, "quoting reference "+req.RefString()) {
		t.Fatalf("letter body:\n%s", l.TextBody)
	}
	if len(d.SMTP.Messages()) != 0 {
		t.Fatalf("%d mails went out for a request without email", len(d.SMTP.Messages()))
	}

	// The print view, then marking it posted (once).
	resp, page := officer.get("/console/requests/" + id + "/letters/" + l.MessageID)
	if resp.StatusCode != 200 || !strings.Contains(page, "Keizersgracht 1\n1015 AA Amsterdam") || !strings.Contains(page, "Lou Letter") ||
		!strings.Contains(page, "quoting reference "+req.RefString()) || !strings.Contains(page, `id="mark-posted"`) {
		t.Fatalf("print view: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := officer.post("/console/requests/"+id+"/letters/"+l.MessageID+"/posted", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark posted: %d", resp.StatusCode)
	}
	letters, _ = d.Engine.Letters(ctx, id)
	if letters[0].PostedAt == nil || letters[0].PostedBy == "" {
		t.Fatalf("after marking posted: %+v", letters[0])
	}
	rd, _ = d.Engine.RequestDetail(ctx, id)
	if !hasEvent(rd.Events, dsr.EventLetterPosted) {
		t.Fatalf("no %s event", dsr.EventLetterPosted)
	}
	if resp, _ := officer.post("/console/requests/"+id+"/letters/"+l.MessageID+"/posted", nil); resp.StatusCode != http.StatusConflict {
		t.Fatalf("marking posted twice: %d, want 409", resp.StatusCode)
	}
	if resp, _ := officer.get("/console/requests/" + id + "/letters/" + id); resp.StatusCode != 404 {
		t.Fatalf("unknown letter: %d, want 404", resp.StatusCode)
	}
}

// Entering a request needs a way to write back, and only the officer
// channels may go without email.
func TestLetterEntryValidation(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	at := d.Clock.Now().UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"no email, no address", map[string]any{"kind": "access", "channel": "phone", "received_at": at,
			"subject": map[string]any{"name": "Pat", "country": "NL"}}, []string{"subject.email", "subject.postal_address"}},
		{"unknown channel", map[string]any{"kind": "access", "channel": "fax", "received_at": at,
			"subject": map[string]any{"email": "p@example.com", "country": "NL"}}, []string{"channel"}},
		{"address without a name", map[string]any{"kind": "access", "channel": "letter", "received_at": at,
			"subject": map[string]any{"country": "NL", "postal_address": "Dam 1, Amsterdam"}}, []string{"subject.name"}},
		{"address too long", map[string]any{"kind": "access", "channel": "letter", "received_at": at,
			"subject": map[string]any{"name": "Pat", "country": "NL", "postal_address": strings.Repeat("x", dsr.MaxPostalAddressRunes+1)}}, []string{"subject.postal_address"}},
	} {
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", tc.body)
		if code != 422 {
			t.Errorf("%s: %d %v, want 422", tc.name, code, out)
			continue
		}
		for _, f := range tc.fields {
			if !strings.Contains(mustJSON(out), `"`+f+`"`) {
				t.Errorf("%s: no error on %s: %v", tc.name, f, out)
			}
		}
	}
	// The public API still needs an email address.
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"name": "Pat", "country": "NL", "postal_address": "Dam 1"}}`, nil)
	if resp.StatusCode != 422 || !strings.Contains(string(b), "subject.email") {
		t.Fatalf("public request without email: %d %s", resp.StatusCode, b)
	}
}

func hasEvent(evs []dsr.Event, t dsr.EventType) bool {
	for _, e := range evs {
		if e.Type == string(t) {
			return true
		}
	}
	return false
}
