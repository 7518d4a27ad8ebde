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

// A letter found in the post 20 days after it arrived: the dates count
// from its receipt, the overdue CCPA acknowledgment goes out at once and
// is recorded as late, and the confirmation link is not expired at once.
func TestOfficerEntersALateRequest(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "olly@testorg.example", workflow.RoleOfficer)
	received := d.Clock.Now().Add(-20 * 24 * time.Hour).UTC()
	body := map[string]any{"kind": "access", "received_at": received.Format(time.RFC3339),
		"subject": map[string]any{"email": "letter@example.com", "name": "Lou", "country": "US", "state": "CA"}}
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", body)
	if code != 201 {
		t.Fatalf("enter: %d %v", code, out)
	}
	id := out["id"].(string)
	req, err := d.Engine.Request(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	receivedOn := dsr.DateIn(received, d.Org.Location())
	if req.Channel != dsr.ChannelOfficer || req.ReceivedOn != receivedOn || req.DueOn != receivedOn.AddDays(44) || req.AckSentAt == nil {
		t.Fatalf("entered request: channel %s received %s due %s ack %v", req.Channel, req.ReceivedOn, req.DueOn, req.AckSentAt)
	}
	_, out = adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+id, nil)
	if ev := mustJSON(out["events"]); !strings.Contains(ev, `"acknowledgment_sent"`) || !strings.Contains(ev, `"late_by_days"`) || !strings.Contains(ev, `"actor":"user:`) {
		t.Fatalf("no late acknowledgment event: %s", ev)
	}
	if m := d.MailWithSubject(t, "letter@example.com", "Please confirm"); !strings.Contains(m.Text, "/verify/") {
		t.Fatalf("confirmation mail:\n%s", m.Text)
	}
	// The confirmation link counts from now, not from the letter's date.
	d.RunDue(t, time.Minute)
	if r, _ := d.Engine.Request(context.Background(), id); r.Status != dsr.StatusPendingVerification {
		t.Fatalf("status right after entry: %s", r.Status)
	}
	for _, tc := range []struct {
		name string
		at   any
	}{{"future", d.Clock.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, {"too old", "2020-01-01T00:00:00Z"}, {"missing", nil}} {
		b := map[string]any{"kind": "access", "subject": map[string]any{"email": "x@example.com", "country": "NL"}}
		if tc.at != nil {
			b["received_at"] = tc.at
		}
		if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", b); code != 422 || !strings.Contains(mustJSON(out), "received_at") {
			t.Errorf("%s: %d %v", tc.name, code, out)
		}
	}
	// The public API cannot backdate.
	resp, b := postJSON(t, d, `{"kind": "access", "received_at": "2026-01-01T00:00:00Z", "subject": {"email": "y@example.com", "country": "NL"}}`, nil)
	if resp.StatusCode != 422 || !strings.Contains(string(b), "received_at") {
		t.Fatalf("public backdating: %d %s", resp.StatusCode, b)
	}
}
