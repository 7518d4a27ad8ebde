package workflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const day = 24 * time.Hour

// closedAccess files an access request for email, verifies it, adds an
// internal note, an agent-style permission document and an inbound reply,
// and completes it with an export: a closed request holding every kind
// of personal data the purge handles. It returns the request id.
func closedAccess(t *testing.T, d *apitest.Desk, officer *db.User, email string) string {
	t.Helper()
	ctx := context.Background()
	rc := submit(t, d, dsr.KindAccess, email, "NL", "", map[string]string{})
	verifyRef(t, d, email, rc.Ref)
	actor := workflow.Actor(officer.ID)
	if err := d.Engine.AddNote(ctx, rc.ID, actor, "Called "+email+" about the scope."); err != nil {
		t.Fatal(err)
	}
	now := d.Clock.Now()
	err := pgx.BeginFunc(ctx, d.Pool, func(tx pgx.Tx) error {
		if _, err := db.InsertAttachment(ctx, tx, rc.ID, "permission", &dsr.File{Filename: "passport.pdf", ContentType: "application/pdf", Content: []byte("%PDF passport of " + email)}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO inbound_emails (received_at, recipients, raw, size, status, request_id, from_address, subject, remote_ip, processed_at)
			VALUES ($1, '{privacy@testorg.example}', $2, 10, 'reply', $3, $4, 'Re: your request', '192.0.2.7', $1)`, now, []byte("From: "+email+"\r\n\r\nhello"), rc.ID, email)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Engine.CompleteWith(ctx, rc.ID, actor, workflow.Completion{Summary: "Here is everything we hold about " + email + ".",
		Exports: []dsr.File{{Filename: "export.json", Content: []byte(`{"email": "` + email + `"}`)}}})
	if err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0) // deliver the mail: only delivered messages are redacted
	return rc.ID
}

// verifyRef follows the confirmation link of request ref.
func verifyRef(t *testing.T, d *apitest.Desk, email, ref string) {
	t.Helper()
	// Before confirmation the request's only mail is the confirmation.
	link := apitest.LinkWith(t, d.MailWithSubject(t, email, "("+ref+")"), "/verify/")
	if _, err := d.Engine.Verify(context.Background(), link[strings.LastIndex(link, "/")+1:]); err != nil {
		t.Fatalf("verify %s: %v", ref, err)
	}
}

// count runs a count(*) query with args.
func count(t *testing.T, d *apitest.Desk, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func purge(t *testing.T, d *apitest.Desk, dry bool) db.PurgeCounts {
	t.Helper()
	rep, err := d.Engine.Purge(context.Background(), time.Time{}, dry)
	if err != nil {
		t.Fatalf("purge: %v", err)
	}
	return rep.Counts
}

func verifyIntact(t *testing.T, d *apitest.Desk) db.AuditReport {
	t.Helper()
	rep, err := db.VerifyChains(context.Background(), d.Pool)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Broken != nil {
		t.Fatalf("audit chain broken: %+v", *rep.Broken)
	}
	return rep
}

// personalLeft counts the places where email still appears in the
// request's rows.
func personalLeft(t *testing.T, d *apitest.Desk, id, email string) map[string]int {
	t.Helper()
	like := "%" + email + "%"
	return map[string]int{
		"requester":   count(t, d, `SELECT count(*) FROM requests r JOIN requesters s ON s.id = r.requester_id WHERE r.id = $1 AND (s.email ILIKE $2 OR s.name <> '')`, id, like),
		"notes":       count(t, d, `SELECT count(*) FROM notes WHERE request_id = $1`, id),
		"attachments": count(t, d, `SELECT count(*) FROM attachments WHERE request_id = $1`, id),
		"messages":    count(t, d, `SELECT count(*) FROM messages WHERE request_id = $1 AND (to_email <> '' OR text_body <> '' OR html_body <> '' OR subject <> '')`, id),
		"inbound":     count(t, d, `SELECT count(*) FROM inbound_emails WHERE request_id = $1 AND (length(raw) > 0 OR from_address <> '' OR remote_ip <> '')`, id),
		"events":      count(t, d, `SELECT count(*) FROM event_personal WHERE request_id = $1`, id),
		"tokens":      count(t, d, `SELECT count(*) FROM tokens WHERE request_id = $1`, id),
	}
}

// A closed request's documents, export, inbound mail and message bodies
// go on their schedules, and after 24 months the request becomes its
// record form; the audit chain verifies before and after.
func TestPurgeOnSchedule(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	const email = "zoe@example.com"
	id := closedAccess(t, d, officer, email)
	before := personalLeft(t, d, id, email)
	for k, n := range before {
		if n == 0 {
			t.Fatalf("setup: no %s to purge: %v", k, before)
		}
	}
	verifyIntact(t, d)

	// A day after the close nothing is due.
	d.Clock.Advance(day)
	if c := purge(t, d, false); c.Documents+c.Exports+c.InboundEmails+c.MessageBodies+c.Requests != 0 {
		t.Fatalf("a day after the close: purged %+v", c)
	}

	// 31 days after: documents (30 days), the export (its 14-day link
	// expired), the inbound mail and the message bodies (30 days) go;
	// the request itself stays. The dry run says so first.
	d.Clock.Advance(30 * day)
	dry := purge(t, d, true)
	if dry.Documents != 1 || dry.Exports != 1 || dry.InboundEmails != 1 || dry.MessageBodies == 0 || dry.Requests != 0 {
		t.Fatalf("dry run after 31 days: %+v", dry)
	}
	if n := count(t, d, `SELECT count(*) FROM attachments WHERE request_id = $1`, id); n != 2 {
		t.Fatalf("the dry run deleted files: %d left, want 2", n)
	}
	c := purge(t, d, false)
	if c.Documents != 1 || c.Exports != 1 || c.InboundEmails != 1 || c.MessageBodies != dry.MessageBodies || c.Requests != 0 {
		t.Fatalf("purge after 31 days: %+v, dry run said %+v", c, dry)
	}
	mid := personalLeft(t, d, id, email)
	if mid["attachments"] != 0 || mid["inbound"] != 0 || mid["messages"] != 0 || mid["requester"] != 1 || mid["notes"] != 1 {
		t.Fatalf("after 31 days: %v", mid)
	}
	// The record of each message stays: that it went, to whom (role),
	// when.
	if n := count(t, d, `SELECT count(*) FROM messages WHERE request_id = $1 AND redacted_at IS NOT NULL AND status = 'sent' AND sent_at IS NOT NULL AND recipient_role = 'subject'`, id); n == 0 {
		t.Fatal("no redacted message record kept")
	}
	verifyIntact(t, d)

	// 24 months after the close the request becomes its record form.
	d.Clock.Advance(2*365*day - 31*day)
	if c := purge(t, d, false); c.Requests != 0 {
		t.Fatalf("purged %d requests before 24 months", c.Requests)
	}
	d.Clock.Advance(2 * day)
	c = purge(t, d, false)
	if c.Requests != 1 || c.Requesters != 1 || c.Notes != 1 || c.EventsErased == 0 {
		t.Fatalf("purge after 24 months: %+v", c)
	}
	for k, n := range personalLeft(t, d, id, email) {
		if n != 0 {
			t.Errorf("after the purge %s still holds personal data (%d rows)", k, n)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM requests WHERE id = $1 AND (details <> '' OR fields <> '{}' OR purged_at IS NULL)`, id); n != 0 {
		t.Error("request details or fields kept")
	}
	// The record form: what CCPA §7101 and the reports need.
	r := request(t, d, id)
	if r.Kind != dsr.KindAccess || r.Regime != "gdpr" || r.Channel != dsr.ChannelAPI || r.Status != dsr.StatusCompleted ||
		r.ReceivedOn.IsZero() || r.DueOn.IsZero() || r.ClosedAt == nil || r.CloseReason != string(dsr.EventCompleted) || r.Subject.Email != "" {
		t.Fatalf("record form: %+v", r)
	}
	if n := count(t, d, `SELECT count(*) FROM requests WHERE id = $1 AND outcome = 'full'`, id); n != 1 {
		t.Error("outcome not kept")
	}
	if l, err := db.Ledger(context.Background(), d.Pool, id); err != nil || len(l) == 0 {
		t.Errorf("ledger: %v %v", l, err)
	}
	types := eventTypes(t, d, id)
	if !strings.Contains(strings.Join(types, " "), "received") || !strings.Contains(strings.Join(types, " "), "completed") || types[len(types)-1] != string(dsr.EventPurged) {
		t.Errorf("event types kept: %v", types)
	}
	evs, err := db.Events(context.Background(), d.Pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		for k, v := range e.Data {
			if strings.Contains(v, email) {
				t.Errorf("event %s keeps %s = %q", e.Type, k, v)
			}
		}
	}
	verifyIntact(t, d)
	// Running again purges nothing more.
	if c := purge(t, d, false); c.Requests != 0 || c.Documents != 0 {
		t.Fatalf("second purge: %+v", c)
	}
}

// A legal hold stops every purge of its request; released, the request
// is purged on the next run.
func TestLegalHoldStopsPurge(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	held := closedAccess(t, d, officer, "hal@example.com")
	free := closedAccess(t, d, officer, "fay@example.com")
	actor := workflow.Actor(officer.ID)

	var de *dsr.Error
	if err := d.Engine.PlaceLegalHold(ctx, held, actor, "  "); !asErr(err, &de) || de.Code != dsr.EINVALID {
		t.Fatalf("hold without a reason: %v", err)
	}
	if err := d.Engine.PlaceLegalHold(ctx, held, actor, "Litigation hold, case 2026-17"); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.PlaceLegalHold(ctx, held, actor, "again"); !asErr(err, &de) || de.Code != dsr.ECONFLICT {
		t.Fatalf("second hold: %v", err)
	}
	d.Clock.Advance(25 * 30 * day)
	c := purge(t, d, false)
	if c.Requests != 1 || c.HeldSkipped != 1 {
		t.Fatalf("purge with one held: %+v", c)
	}
	kept := personalLeft(t, d, held, "hal@example.com")
	if kept["requester"] != 1 || kept["attachments"] != 2 || kept["notes"] != 1 || kept["inbound"] != 1 || kept["messages"] == 0 || kept["events"] == 0 {
		t.Fatalf("held request lost data: %v", kept)
	}
	if r, err := d.Engine.RequestRetention(ctx, held); err != nil || r.Hold == nil || r.Purged || r.Hold.Reason != "Litigation hold, case 2026-17" {
		t.Fatalf("held: %+v %v", r, err)
	}
	if r, err := d.Engine.RequestRetention(ctx, free); err != nil || r.Hold != nil || !r.Purged {
		t.Fatalf("free: %+v %v", r, err)
	}
	if err := d.Engine.PlaceLegalHold(ctx, free, actor, "too late"); !asErr(err, &de) || de.Code != dsr.ECONFLICT {
		t.Fatalf("hold on a purged request: %v", err)
	}

	if err := d.Engine.ReleaseLegalHold(ctx, held, actor); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.ReleaseLegalHold(ctx, held, actor); !asErr(err, &de) || de.Code != dsr.ECONFLICT {
		t.Fatalf("second release: %v", err)
	}
	types := strings.Join(eventTypes(t, d, held), " ")
	if !strings.Contains(types, "legal_hold_placed legal_hold_released") {
		t.Fatalf("hold events: %s", types)
	}
	if c := purge(t, d, false); c.Requests != 1 {
		t.Fatalf("after release: %+v", c)
	}
	for k, n := range personalLeft(t, d, held, "hal@example.com") {
		if n != 0 {
			t.Errorf("released and purged: %s keeps %d rows", k, n)
		}
	}
	verifyIntact(t, d)
}

// The audit chain verifies after a purge and still finds tampering; the
// triggers refuse any change to events and to the personal parts (which
// the purge deletes).
func TestAuditAfterPurge(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	purged := closedAccess(t, d, officer, "pia@example.com")
	d.Clock.Advance(25 * 30 * day)
	live := closedAccess(t, d, officer, "lou@example.com")
	if c := purge(t, d, false); c.Requests != 1 {
		t.Fatalf("purge: %+v", c)
	}
	verifyIntact(t, d)

	// The triggers refuse any change to the events, purged or not.
	for _, sql := range []string{
		`UPDATE events SET data = '{}' WHERE request_id = $1`,
		`UPDATE events SET personal_digest = NULL WHERE request_id = $1 AND personal_digest IS NOT NULL`,
		`DELETE FROM events WHERE request_id = $1`,
	} {
		for _, id := range []string{purged, live} {
			if _, err := d.Pool.Exec(ctx, sql, id); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want the append-only error", sql, err)
			}
		}
	}
	if _, err := d.Pool.Exec(ctx, `UPDATE event_personal SET personal = '{"salt": "", "data": {}}' WHERE request_id = $1`, live); err == nil ||
		!strings.Contains(err.Error(), "never changed") {
		t.Errorf("personal part changed: %v, want the trigger's error", err)
	}
	// Deleting the personal part of a request that was never purged
	// passes the database (it is what the purge does) but not the audit.
	if tag, err := d.Pool.Exec(ctx, `DELETE FROM event_personal WHERE request_id = $1`, live); err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("delete personal parts: %v %v", tag, err)
	}
	rep, err := db.VerifyChains(ctx, d.Pool)
	if err != nil || rep.Broken == nil || rep.Broken.RequestID != live || rep.Broken.Reason != db.AuditPersonalMismatch {
		t.Fatalf("personal part erased outside a purge: %+v %v", rep.Broken, err)
	}
}

// A completed erasure purges the same requester's earlier closed
// requests to their record form at once; a held one is kept.
func TestErasureErasesOwnRecords(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	actor := workflow.Actor(officer.ID)
	first := closedAccess(t, d, officer, "eve@example.com")
	second := closedAccess(t, d, officer, "eve@example.com")
	other := closedAccess(t, d, officer, "someone@example.com")
	if err := d.Engine.PlaceLegalHold(ctx, second, actor, "Dispute about the export"); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Engine.Submit(ctx, dsr.Submission{Kind: dsr.KindErasure, Channel: dsr.ChannelAPI,
		Subject: dsr.Person{Email: "EVE@example.com", Name: "Eve", Country: "NL"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	verifyRef(t, d, "EVE@example.com", rc.Ref)
	if err := d.Engine.CompleteWith(ctx, rc.ID, actor, workflow.Completion{Summary: "Erased.", Systems: "CRM"}); err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0)
	if r, _ := d.Engine.RequestRetention(ctx, first); !r.Purged {
		t.Error("the earlier request was not purged")
	}
	if r, _ := d.Engine.RequestRetention(ctx, second); r.Purged {
		t.Error("the held request was purged")
	}
	if r, _ := d.Engine.RequestRetention(ctx, other); r.Purged {
		t.Error("another requester's request was purged")
	}
	if r, _ := d.Engine.RequestRetention(ctx, rc.ID); r.Purged {
		t.Error("the erasure request itself was purged")
	}
	if n := countEvents(t, d, rc.ID, string(dsr.EventOwnRecordsErased)); n != 1 {
		t.Errorf("%d own_records_erased events", n)
	}
	verifyIntact(t, d)
}

// With erase_own_records_on_erasure false a completed erasure leaves the
// earlier requests to their retention period.
func TestErasureKeepsOwnRecordsWhenConfigured(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(apitest.ConfigJSON, `"mail":`, `"retention": {"erase_own_records_on_erasure": false}, "mail":`, 1)
	d := apitest.Start(t, apitest.Options{ConfigJSON: cfg})
	ctx := context.Background()
	officer := addUser(t, d, "olga@testorg.example", db.RoleOfficer)
	first := closedAccess(t, d, officer, "eve@example.com")
	rc := submit(t, d, dsr.KindErasure, "eve@example.com", "NL", "", nil)
	verifyRef(t, d, "eve@example.com", rc.Ref)
	if err := d.Engine.CompleteWith(ctx, rc.ID, workflow.Actor(officer.ID), workflow.Completion{Summary: "Erased.", Systems: "CRM"}); err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0)
	if r, _ := d.Engine.RequestRetention(ctx, first); r.Purged {
		t.Error("purged though the organisation keeps its records")
	}
}
