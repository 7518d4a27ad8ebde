package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
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

// TestStrangerReplyIsHeldUntilAccepted: a reply to our question whose
// From: is not the requester's address leaves the request paused, is no
// public event, and its file is no answer document; an officer's accept
// applies it exactly as the requester's own reply: the request resumes
// with the note and the answer document.
func TestStrangerReplyIsHeldUntilAccepted(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	rc := submit(t, s.Desk, dsr.KindAccess, "olu@example.com", "GB", "", nil)
	verify(t, s.Desk, "olu@example.com")
	if _, err := s.Engine.RequestInfo(ctx, rc.ID, officer, "clarification", "Which accounts do you mean?"); err != nil {
		t.Fatal(err)
	}
	ask := s.MailWithSubject(t, "olu@example.com", "more information")
	s.mustSend(t, "mallory@evil.example", fixture(t, "reply.eml", "FROM", "mallory@evil.example", "IN_REPLY_TO", ask.MessageID))
	in := s.processed(t, 1)[0]
	if in.Status != db.InboundReply || in.RequestID != rc.ID {
		t.Fatalf("inbound row %+v", in)
	}
	req := request(t, s.Desk, rc.ID)
	if req.Status != dsr.StatusAwaitingRequester || req.PausedSince == nil {
		t.Fatalf("after a stranger's reply: status %s paused since %v", req.Status, req.PausedSince)
	}
	notes, _ := db.Notes(ctx, s.Pool, rc.ID)
	answers, _ := db.Attachments(ctx, s.Pool, rc.ID, "answer")
	held, _ := db.Attachments(ctx, s.Pool, rc.ID, db.AttachmentUnverified)
	if len(notes) != 0 || len(answers) != 0 || len(held) != 1 {
		t.Fatalf("notes %+v, answer documents %+v, held %+v", notes, answers, held)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM events WHERE request_id = $1 AND type = 'email_reply_unverified' AND NOT public`, rc.ID); n != 1 {
		t.Fatalf("%d internal email_reply_unverified events; events %v", n, eventTypes(t, s.Desk, rc.ID))
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM events WHERE request_id = $1 AND type IN ('email_reply_received', 'answer_received')`, rc.ID); n != 0 {
		t.Fatalf("the stranger's reply counted as an answer: %v", eventTypes(t, s.Desk, rc.ID))
	}
	replies, err := db.HeldReplies(ctx, s.Pool, rc.ID)
	if err != nil || len(replies) != 1 || replies[0].Trust != db.TrustUnverified || replies[0].FromAddress != "mallory@evil.example" ||
		replies[0].Text != "The shop account, please. A screenshot is attached." {
		t.Fatalf("held replies %+v %v", replies, err)
	}

	if err := s.Engine.AcceptReply(ctx, "00000000-0000-0000-0000-000000000000", in.ID, officer); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Fatalf("accept on another request: %v", err)
	}
	s.Clock.Advance(2 * 24 * time.Hour)
	if err := s.Engine.AcceptReply(ctx, rc.ID, in.ID, officer); err != nil {
		t.Fatal(err)
	}
	req = request(t, s.Desk, rc.ID)
	if req.Status != dsr.StatusInProgress || req.PausedSince != nil || req.PausedDays != 2 {
		t.Fatalf("after accept: status %s paused since %v days %d", req.Status, req.PausedSince, req.PausedDays)
	}
	notes, _ = db.Notes(ctx, s.Pool, rc.ID)
	answers, _ = db.Attachments(ctx, s.Pool, rc.ID, "answer")
	if len(notes) != 1 || notes[0].Author != "subject" || notes[0].Internal || len(answers) != 1 || answers[0].Filename != "screenshot.png" {
		t.Fatalf("after accept: notes %+v answers %+v", notes, answers)
	}
	ev := eventTypes(t, s.Desk, rc.ID)
	if strings.Join(ev[len(ev)-2:], ",") != "email_reply_accepted,answer_received" {
		t.Fatalf("events %v", ev)
	}
	s.MailWithSubject(t, "olu@example.com", "received your answer")
	if err := s.Engine.AcceptReply(ctx, rc.ID, in.ID, officer); err != nil {
		t.Fatalf("second accept: %v", err)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM events WHERE request_id = $1 AND type = 'answer_received'`, rc.ID); n != 1 {
		t.Fatalf("%d answer_received events after accepting twice", n)
	}
}

// TestReplyFromRequesterAddressInOtherCaseResumesAtOnce: the address
// comparison ignores case, as mail addresses are compared in practice.
func TestReplyFromRequesterAddressInOtherCaseResumesAtOnce(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	rc := submit(t, s.Desk, dsr.KindAccess, "olu@example.com", "GB", "", nil)
	verify(t, s.Desk, "olu@example.com")
	if _, err := s.Engine.RequestInfo(ctx, rc.ID, officer, "clarification", "Which accounts do you mean?"); err != nil {
		t.Fatal(err)
	}
	ask := s.MailWithSubject(t, "olu@example.com", "more information")
	s.mustSend(t, "OLU@Example.com", fixture(t, "reply.eml", "FROM", "OLU@Example.com", "IN_REPLY_TO", ask.MessageID))
	s.processed(t, 1)
	if st := request(t, s.Desk, rc.ID).Status; st != dsr.StatusInProgress {
		t.Fatalf("status %s after the requester's reply", st)
	}
	if replies, _ := db.HeldReplies(ctx, s.Pool, rc.ID); len(replies) != 0 {
		t.Fatalf("requester's reply held: %+v", replies)
	}
}
