package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

func replyTo(from, inReplyTo, msgID, text string) []byte {
	return []byte("From: Cora <" + from + ">\r\nTo: privacy@testorg.example\r\nSubject: Re: We cannot fulfil your request\r\n" +
		"Date: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <" + msgID + ">\r\nIn-Reply-To: <" + inReplyTo + ">\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n\r\nOn Mon, Testorg Privacy wrote:\r\n> You may appeal this decision\r\n")
}

// A reply to the refusal mail that asks to appeal is an appeal by email
// (Connecticut gives one): the reviewer is not the refuser. A reply that
// does not say so stays a note; a reply to another mail never appeals.
func TestEmailReplyToRefusalAppeals(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	refuser := addUser(t, s.Desk, "alice@testorg.example", db.RoleOfficer)
	reviewer := addUser(t, s.Desk, "bob@testorg.example", db.RoleOfficer)
	const email = "cora@example.com"
	rc := submit(t, s.Desk, dsr.KindAccess, email, "US", "CT", nil)
	verify(t, s.Desk, email)
	if err := s.Engine.Deny(ctx, rc.ID, workflow.Actor(refuser.ID), "exemption_applies", "Exempt."); err != nil {
		t.Fatal(err)
	}
	denial := s.MailWithSubject(t, email, "We cannot fulfil")

	s.mustSend(t, email, replyTo(email, denial.MessageID, "r1@mail.example.com", "Thanks for letting me know."))
	s.processed(t, 1)
	if st := request(t, s.Desk, rc.ID).Status; st != dsr.StatusDenied {
		t.Fatalf("a reply without an appeal: status %s", st)
	}
	// A stranger's reply is held, never an appeal.
	s.mustSend(t, "mallory@example.net", replyTo("mallory@example.net", denial.MessageID, "r2@mail.example.com", "I appeal."))
	s.processed(t, 2)
	if st := request(t, s.Desk, rc.ID).Status; st != dsr.StatusDenied {
		t.Fatalf("a stranger's reply: status %s", st)
	}
	s.mustSend(t, email, replyTo(email, denial.MessageID, "r3@mail.example.com", "I want to appeal: you do hold my order history."))
	s.processed(t, 3)
	req := request(t, s.Desk, rc.ID)
	if req.Status != dsr.StatusAppealed || req.AssigneeID != reviewer.ID {
		t.Fatalf("after the appeal reply: status %s assignee %s, want appealed to %s", req.Status, req.AssigneeID, reviewer.ID)
	}
	appeals, err := s.Engine.Appeals(ctx, rc.ID)
	if err != nil || len(appeals) != 1 || appeals[0].Channel != dsr.AppealByEmail || appeals[0].Reason != "I want to appeal: you do hold my order history." {
		t.Fatalf("appeals %+v %v", appeals, err)
	}
	s.MailWithSubject(t, email, "We received your appeal")
}

// The reconciliation sweep keeps an appealed request's reminder chain for
// the appeal's answer date, and restores it when it is missing.
func TestSweepKeepsAppealReminders(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	refuser := addUser(t, s.Desk, "alice@testorg.example", db.RoleOfficer)
	addUser(t, s.Desk, "bob@testorg.example", db.RoleOfficer)
	rc := submit(t, s.Desk, dsr.KindAccess, "dora@example.com", "US", "CT", nil)
	verify(t, s.Desk, "dora@example.com")
	if err := s.Engine.Deny(ctx, rc.ID, workflow.Actor(refuser.ID), "exemption_applies", "Exempt."); err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.EnterAppeal(ctx, rc.ID, workflow.Actor(refuser.ID), time.Time{}, "By letter: I disagree."); err != nil {
		t.Fatal(err)
	}
	due := request(t, s.Desk, rc.ID).DueOn.String()
	if n := len(requestJobs(t, s.Desk, rc.ID, due, "deadline_reminder")); n != 1 {
		t.Fatalf("%d reminder jobs for the appeal's date %s, want 1", n, due)
	}
	if _, err := s.Engine.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	jobs := requestJobs(t, s.Desk, rc.ID, due, "deadline_reminder")
	if len(jobs) != 1 {
		t.Fatalf("after the sweep: %d reminder jobs for the appeal's date, want 1 (kept)", len(jobs))
	}
	if _, err := s.Desk.Pool.Exec(ctx, `DELETE FROM river_job WHERE id = $1`, jobs[0].ID); err != nil {
		t.Fatal(err)
	}
	res, err := s.Engine.Sweep(ctx)
	if err != nil || res.RemindersScheduled != 1 || len(requestJobs(t, s.Desk, rc.ID, due, "deadline_reminder")) != 1 {
		t.Fatalf("sweep %+v %v: want the appeal's chain restored", res, err)
	}
}

// A reply to the completion mail of a completion in part that asks to
// appeal is an appeal by email, of the completion; the same reply to a
// full completion's mail stays a note (a full completion is not
// appealable).
func TestEmailReplyToPartialCompletionAppeals(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	completer := addUser(t, s.Desk, "alice@testorg.example", db.RoleOfficer)
	reviewer := addUser(t, s.Desk, "bob@testorg.example", db.RoleOfficer)
	complete := func(email, outcome string, kept []dsr.Kept) (string, string) {
		t.Helper()
		rc := submit(t, s.Desk, dsr.KindErasure, email, "US", "CT", nil)
		verify(t, s.Desk, email)
		if err := s.Engine.CompleteWith(ctx, rc.ID, workflow.Actor(completer.ID), workflow.Completion{
			Summary: "Deleted your account.", Systems: "CRM", Outcome: outcome, Kept: kept}); err != nil {
			t.Fatal(err)
		}
		return rc.ID, s.MailWithSubject(t, email, "is complete").MessageID
	}
	fullID, fullMsg := complete("fern@example.com", dsr.OutcomeFull, nil)
	s.mustSend(t, "fern@example.com", replyTo("fern@example.com", fullMsg, "f1@mail.example.com", "I appeal: delete everything."))
	s.processed(t, 1)
	if st := request(t, s.Desk, fullID).Status; st != dsr.StatusCompleted {
		t.Fatalf("a reply to a full completion: status %s, want completed", st)
	}

	const email = "gus@example.com"
	id, msg := complete(email, dsr.OutcomePartial, []dsr.Kept{{Data: "invoices", Basis: "7 years, tax law"}})
	s.mustSend(t, email, replyTo(email, msg, "g1@mail.example.com", "I appeal: the invoices are not needed."))
	s.processed(t, 2)
	req := request(t, s.Desk, id)
	if req.Status != dsr.StatusAppealed || req.AssigneeID != reviewer.ID {
		t.Fatalf("after the appeal reply: status %s assignee %s, want appealed to %s", req.Status, req.AssigneeID, reviewer.ID)
	}
	appeals, err := s.Engine.Appeals(ctx, id)
	if err != nil || len(appeals) != 1 || appeals[0].Channel != dsr.AppealByEmail || appeals[0].From != dsr.StatusCompleted || appeals[0].RefuserID != completer.ID {
		t.Fatalf("appeals %+v %v", appeals, err)
	}
}
