package workflow_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// TestUndeliverableNameRecordsNoAcknowledgment: a requester whose name no
// mail header can carry (a row stored before names were checked) cannot
// be acknowledged by email, so triage into CCPA leaves the duty open for
// officers instead of recording it as met.
func TestUndeliverableNameRecordsNoAcknowledgment(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	_, req := emailRequest(t, s)
	if _, err := s.Pool.Exec(ctx, `UPDATE requesters SET name = E'Ann\r\nBcc: x@evil.example' WHERE id = (SELECT requester_id FROM requests WHERE id = $1)`, req.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindErasure, "ccpa"); err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.AckDue.IsZero() || after.AckSentAt != nil {
		t.Fatalf("ack due %s, recorded as sent %v", after.AckDue, after.AckSentAt)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM events WHERE request_id = $1 AND type = 'acknowledgment_sent'`, req.ID); n != 0 {
		t.Fatalf("%d acknowledgment_sent events", n)
	}
	if why := eventData(t, s.Desk, req.ID, "acknowledgment_not_sent")["reason"]; !strings.Contains(why, "cannot be delivered") || strings.Contains(why, "evil") {
		t.Fatalf("reason %q", why)
	}
}

// TestEmailedNameWithLineBreaksIsCleaned: an encoded-word display name
// can carry CR/LF; the request keeps the name on one line, so its mail is
// deliverable and the CCPA acknowledgment is really sent.
func TestEmailedNameWithLineBreaksIsCleaned(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{defaultRegime: "ccpa"})
	raw := strings.Replace(string(fixture(t, "plain.eml")), "From: Ann Example <ann@example.com>",
		"From: =?utf-8?q?Ann=0D=0AExample=09X?= <ann@example.com>", 1)
	s.mustSend(t, "ann@example.com", []byte(raw))
	in := s.processed(t, 1)[0]
	if in.RequestID == "" {
		t.Fatalf("inbound email %+v", in)
	}
	req := request(t, s.Desk, in.RequestID)
	if req.Subject.Name != "Ann Example X" || req.AckSentAt == nil {
		t.Fatalf("name %q, ack sent %v", req.Subject.Name, req.AckSentAt)
	}
	if ack := s.MailTo(t, "ann@example.com", 1)[0]; !strings.Contains(ack.Subject, "We received your email") {
		t.Fatalf("acknowledgment %q", ack.Subject)
	}
}
