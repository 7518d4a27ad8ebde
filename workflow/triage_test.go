package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
)

// emailRequest sends plain.eml ("Please delete my data") from
// ann@example.com and returns the inbound row and the request it made.
func emailRequest(t *testing.T, s *inboundSetup) (*db.InboundEmail, *dsr.Request) {
	t.Helper()
	s.mustSend(t, "ann@example.com", fixture(t, "plain.eml"))
	in := s.processed(t, 1)[0]
	req := request(t, s.Desk, in.RequestID)
	if req.Status != dsr.StatusPendingTriage || req.Kind != dsr.KindErasure {
		t.Fatalf("email request: status %s kind %s", req.Status, req.Kind)
	}
	return in, req
}

// jobTime returns when the (first) job of kind for request id is scheduled.
func jobTime(t *testing.T, d *apitest.Desk, kind, id string) time.Time {
	t.Helper()
	jobs := requestJobs(t, d, id, "", kind)
	if len(jobs) == 0 {
		t.Fatalf("%s job of %s: none", kind, id)
	}
	return jobs[0].ScheduledAt
}

func TestTriageConfirmingKindSendsVerificationToSender(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	in, req := emailRequest(t, s)
	s.Clock.Advance(2 * 24 * time.Hour) // the officer triages two days later
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindErasure, "gdpr"); err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.Status != dsr.StatusPendingVerification || after.Kind != dsr.KindErasure || after.Regime != "gdpr" ||
		after.DueOn != req.DueOn || !after.ReceivedAt.Equal(in.ReceivedAt) {
		t.Fatalf("after triage: %s %s %s due %s received %s", after.Status, after.Kind, after.Regime, after.DueOn, after.ReceivedAt)
	}
	data := eventData(t, s.Desk, req.ID, "triaged")
	if data["changed"] != "false" || data["kind_before"] != "erasure" || data["kind"] != "erasure" || data["regime"] != "gdpr" ||
		data["status"] != "pending_verification" || data["due"] != req.DueOn.String() {
		t.Fatalf("triaged event %v", data)
	}
	// Confirming changes no date: no triage ledger entry.
	ledger, err := db.Ledger(ctx, s.Pool, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ledger {
		if e.What == dsr.LedgerTriaged {
			t.Fatalf("triage ledger entry without a change: %+v", e)
		}
	}
	// The normal flow goes on: the sender confirms their address.
	m := s.MailTo(t, "ann@example.com", 1)[0]
	if !strings.Contains(m.Subject, "confirm") {
		t.Fatalf("first mail to the sender: %q", m.Subject)
	}
	// The confirmation window counts from when we asked, not from receipt.
	if at := jobTime(t, s.Desk, "verify_expiry", req.ID); at.Before(in.ReceivedAt.Add(15 * 24 * time.Hour)) {
		t.Fatalf("verify_expiry at %s, want 14 days after triage (received %s)", at, in.ReceivedAt)
	}
	verify(t, s.Desk, "ann@example.com")
	if st := request(t, s.Desk, req.ID).Status; st != dsr.StatusOpen {
		t.Fatalf("after verification: %s", st)
	}
	// Triage happens once.
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindErasure, "gdpr"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("second triage: %v", err)
	}
}

func TestTriageChangingKindRecomputesDatesFromReceipt(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	in, req := emailRequest(t, s)
	s.Clock.Advance(3 * 24 * time.Hour)
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindAccess, ""); err != nil {
		t.Fatal(err)
	}
	dl, err := s.Org.Deadlines(mustRegime(t, "gdpr"), dsr.KindAccess, in.ReceivedAt)
	if err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.Kind != dsr.KindAccess || after.Regime != "gdpr" || after.DueOn != dl.Due || after.LegalDue != dl.LegalDue ||
		!after.PolicyDue.IsZero() || after.ExtendedDue != dl.ExtendedDue || after.ReceivedOn != dl.Received {
		t.Fatalf("after triage: kind %s due %s legal %s policy %s extended %s; want due %s legal %s extended %s",
			after.Kind, after.DueOn, after.LegalDue, after.PolicyDue, after.ExtendedDue, dl.Due, dl.LegalDue, dl.ExtendedDue)
	}
	if after.DueOn == req.DueOn {
		t.Fatalf("due date %s unchanged: the 14-day erasure promise no longer applies", after.DueOn)
	}
	rule := ledgerHas(t, s.Desk, req.ID, dsr.LedgerTriaged, dl.Due.String())
	for _, want := range []string{"erasure", "access", dl.Received.Human(), req.DueOn.Human()} {
		if !strings.Contains(rule, want) {
			t.Errorf("triage ledger rule lacks %q: %s", want, rule)
		}
	}
	ledgerHas(t, s.Desk, req.ID, dsr.LedgerLegalDue, dl.LegalDue.String())
	data := eventData(t, s.Desk, req.ID, "triaged")
	if data["changed"] != "true" || data["kind_before"] != "erasure" || data["kind"] != "access" ||
		data["due_before"] != req.DueOn.String() || data["due"] != dl.Due.String() {
		t.Fatalf("triaged event %v", data)
	}
	// A reminder chain for the new due date.
	if n := len(requestJobs(t, s.Desk, req.ID, dl.Due.String(), "deadline_reminder")); n != 1 {
		t.Fatalf("%d reminder chains for the new due date", n)
	}
	apitest.LinkWith(t, s.MailTo(t, "ann@example.com", 1)[0], "/verify/")
}

func TestEmailUnderCCPAIsAcknowledgedAtOnce(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{defaultRegime: "ccpa"})
	ctx := context.Background()
	in, req := emailRequest(t, s)
	// CCPA: confirm receipt within 10 business days, triage or not.
	if req.AckDue.IsZero() || req.AckSentAt == nil || req.AckSentAt.Before(in.ReceivedAt) {
		t.Fatalf("ack due %s sent %v", req.AckDue, req.AckSentAt)
	}
	eventData(t, s.Desk, req.ID, "acknowledgment_sent")
	ack := s.MailTo(t, "ann@example.com", 1)[0]
	if !strings.Contains(ack.Subject, "We received your email") || len(ack.Links()) == 0 {
		t.Fatalf("acknowledgment %q", ack.Subject)
	}
	for _, l := range ack.Links() {
		if strings.Contains(l, "/verify/") {
			t.Fatal("the acknowledgment asks for confirmation before triage")
		}
	}
	if err := s.Engine.Triage(ctx, req.ID, officer, "", ""); err != nil {
		t.Fatal(err)
	}
	s.MailWithSubject(t, "ann@example.com", "confirm")
	if n := countRows(t, s.Desk, `SELECT count(*) FROM events WHERE request_id = $1 AND type = 'acknowledgment_sent'`, req.ID); n != 1 {
		t.Fatalf("%d acknowledgment events", n)
	}
}

func TestTriageIntoCCPAMeetsTheAcknowledgmentDuty(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	in, req := emailRequest(t, s)
	if !req.AckDue.IsZero() || req.AckSentAt != nil {
		t.Fatalf("GDPR request: ack due %s sent %v", req.AckDue, req.AckSentAt)
	}
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindErasure, "ccpa"); err != nil {
		t.Fatal(err)
	}
	dl, err := s.Org.Deadlines(mustRegime(t, "ccpa"), dsr.KindErasure, in.ReceivedAt)
	if err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.Regime != "ccpa" || after.Calendar != "US" || after.AckDue != dl.AckDue || after.AckSentAt == nil ||
		after.DueOn != dl.Due || after.ExtensionNoticeBy != dl.ExtensionNoticeBy || after.Status != dsr.StatusPendingVerification {
		t.Fatalf("after triage: %+v", after)
	}
	ledgerHas(t, s.Desk, req.ID, dsr.LedgerAckDue, dl.AckDue.String())
	apitest.LinkWith(t, s.MailTo(t, "ann@example.com", 1)[0], "/verify/")
}

func TestTriageToOptOutWithoutVerificationOpens(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	_, req := emailRequest(t, s)
	if err := s.Engine.Triage(ctx, req.ID, officer, dsr.KindOptOut, "ccpa"); err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.Status != dsr.StatusOpen || after.Kind != dsr.KindOptOut || after.NeedsVerification || after.Fields["opt_out_of"] == "" {
		t.Fatalf("after triage: status %s kind %s needs verification %v fields %v", after.Status, after.Kind, after.NeedsVerification, after.Fields)
	}
	s.MailWithSubject(t, "ann@example.com", "is being handled")
	s.WaitJobs(t, nil)
	if n := len(requestJobs(t, s.Desk, req.ID, "", "verify_reminder", "verify_expiry")); n != 0 {
		t.Fatalf("%d verification jobs for an opt-out the law forbids verifying", n)
	}
}

func TestTriageRefusals(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	_, req := emailRequest(t, s)
	for _, tc := range []struct {
		kind   dsr.Kind
		regime string
		field  string
	}{
		{"delete", "gdpr", "kind"},
		{dsr.KindAccess, "lgpd", "regime"},     // a regime the organisation does not apply
		{dsr.KindAccess, "nonsense", "regime"}, // no such regime
		{dsr.KindRestriction, "ccpa", "kind"},  // CCPA gives no right of restriction
	} {
		err := s.Engine.Triage(ctx, req.ID, officer, tc.kind, tc.regime)
		var de *dsr.Error
		if !asErr(err, &de) || de.Code != dsr.EINVALID || de.Fields[tc.field] == "" {
			t.Errorf("Triage(%s, %s) = %v, want EINVALID on %s", tc.kind, tc.regime, err, tc.field)
		}
	}
	if st := request(t, s.Desk, req.ID).Status; st != dsr.StatusPendingTriage {
		t.Fatalf("refused triage changed the status to %s", st)
	}
	// A form request never waits for triage.
	rc := submit(t, s.Desk, dsr.KindAccess, "form@example.com", "NL", "", nil)
	err := s.Engine.Triage(ctx, rc.ID, officer, dsr.KindAccess, "gdpr")
	var de *dsr.Error
	if !asErr(err, &de) || de.Code != dsr.ECONFLICT || de.Rule == "" {
		t.Fatalf("triage of a form request: %v", err)
	}
}

func TestNotARequestClosesWithoutMail(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	in, req := emailRequest(t, s)
	if err := s.Engine.NotARequest(ctx, req.ID, officer, ""); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Fatalf("without reason: %v", err)
	}
	if err := s.Engine.NotARequest(ctx, req.ID, officer, "General question about pricing"); err != nil {
		t.Fatal(err)
	}
	after := request(t, s.Desk, req.ID)
	if after.Status != dsr.StatusWithdrawn || after.CloseReason != "not_a_request" {
		t.Fatalf("request %s (%s)", after.Status, after.CloseReason)
	}
	data := eventData(t, s.Desk, req.ID, "not_a_request")
	if data["reason"] != "General question about pricing" || data["inbound_email"] != in.ID || data["status_before"] != "pending_triage" {
		t.Fatalf("not_a_request event %v", data)
	}
	got, err := db.GetInbound(ctx, s.Pool, in.ID, false)
	if err != nil || got.Status != db.InboundNotARequest || got.Note != "General question about pricing" {
		t.Fatalf("inbound row %+v %v", got, err)
	}
	s.RunDue(t, 40*24*time.Hour) // reminders of a closed request do nothing
	if n := countRows(t, s.Desk, `SELECT count(*) FROM messages WHERE request_id = $1 AND recipient_role IN ('subject', 'agent')`, req.ID); n != 0 {
		t.Fatalf("%d messages to the sender", n)
	}
	if err := s.Engine.Triage(ctx, req.ID, officer, "", ""); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("triage after dismissal: %v", err)
	}
	// A request that did not come by email is withdrawn or denied instead.
	rc := submit(t, s.Desk, dsr.KindAccess, "form@example.com", "NL", "", nil)
	if err := s.Engine.NotARequest(ctx, rc.ID, officer, "spam"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("form request: %v", err)
	}
}

func TestTriagedVerificationExpiresCountingFromTriage(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	_, req := emailRequest(t, s)
	s.Clock.Advance(10 * 24 * time.Hour)
	if err := s.Engine.Triage(ctx, req.ID, officer, "", ""); err != nil {
		t.Fatal(err)
	}
	// 15 days after receipt, 5 after we asked: still waiting.
	s.RunDue(t, 5*24*time.Hour)
	if st := request(t, s.Desk, req.ID).Status; st != dsr.StatusPendingVerification {
		t.Fatalf("5 days after triage: %s", st)
	}
	s.MailWithSubject(t, "ann@example.com", "confirm")
	s.RunDue(t, 10*24*time.Hour)
	if st := request(t, s.Desk, req.ID).Status; st != dsr.StatusExpired {
		t.Fatalf("15 days after triage: %s", st)
	}
}
