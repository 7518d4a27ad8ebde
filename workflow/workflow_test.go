package workflow_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const officer = "user:00000000-0000-0000-0000-000000000001"

func submit(t *testing.T, d *apitest.Desk, kind dsr.Kind, email, country, state string, fields map[string]string) *workflow.Receipt {
	t.Helper()
	rc, err := d.Engine.Submit(context.Background(), dsr.Submission{Kind: kind, Channel: dsr.ChannelAPI, Fields: fields,
		Subject: dsr.Person{Email: email, Name: "Test Person", Country: country, State: state}}, "")
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return rc
}

func verify(t *testing.T, d *apitest.Desk, email string) {
	t.Helper()
	link := apitest.LinkWith(t, d.MailTo(t, email, 1)[0], "/verify/")
	tok := link[strings.LastIndex(link, "/")+1:]
	if _, err := d.Engine.Verify(context.Background(), tok); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func request(t *testing.T, d *apitest.Desk, id string) *dsr.Request {
	t.Helper()
	r, err := db.GetRequest(context.Background(), d.Pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func eventTypes(t *testing.T, d *apitest.Desk, id string) []string {
	t.Helper()
	evs, err := db.Events(context.Background(), d.Pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func ledgerHas(t *testing.T, d *apitest.Desk, id, what, date string) string {
	t.Helper()
	l, err := db.Ledger(context.Background(), d.Pool, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l {
		if e.What == what && e.Date.String() == date {
			return e.Rule
		}
	}
	t.Fatalf("ledger has no %s on %s: %+v", what, date, l)
	return ""
}

func TestUnconfirmedRequestIsRemindedThenExpires(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "mo@example.com", "NL", "", nil)
	first := d.MailTo(t, "mo@example.com", 1)[0]

	d.RunDue(t, 3*24*time.Hour+time.Minute)
	rem := d.MailWithSubject(t, "mo@example.com", "Reminder")
	if !strings.Contains(rem.Subject, "Reminder: please confirm") || !strings.Contains(rem.Text, "/verify/") {
		t.Fatalf("reminder %q:\n%s", rem.Subject, rem.Text)
	}
	if st := request(t, d, rc.ID).Status; st != dsr.StatusPendingVerification {
		t.Fatalf("after reminder status %s", st)
	}

	d.RunDue(t, 11*24*time.Hour)
	exp := d.MailWithSubject(t, "mo@example.com", "has expired")
	if !strings.Contains(exp.Subject, "has expired") {
		t.Fatalf("expiry mail %q", exp.Subject)
	}
	req := request(t, d, rc.ID)
	if req.Status != dsr.StatusExpired || req.ClosedAt == nil {
		t.Fatalf("status %s closed %v", req.Status, req.ClosedAt)
	}
	if ev := eventTypes(t, d, rc.ID); ev[len(ev)-1] != "expired" {
		t.Fatalf("events %v", ev)
	}
	// The old link no longer confirms anything.
	link := apitest.LinkWith(t, first, "/verify/")
	if _, err := d.Engine.Verify(context.Background(), link[strings.LastIndex(link, "/")+1:]); dsr.ErrorCode(err) != dsr.EGONE {
		t.Fatalf("verify after expiry: %v", err)
	}
}

func TestConfirmedRequestGetsNoVerificationReminder(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindErasure, "ned@example.com", "BE", "", nil)
	verify(t, d, "ned@example.com")
	d.MailTo(t, "ned@example.com", 2)
	d.RunDue(t, 15*24*time.Hour)
	if n := len(d.MailTo(t, "ned@example.com", 2)); n != 2 {
		t.Fatalf("%d mails, want 2 (received, acknowledged)", n)
	}
	if st := request(t, d, rc.ID).Status; st != dsr.StatusOpen {
		t.Fatalf("status %s", st)
	}
}

// answer posts the requester's answer through the status page.
func answer(t *testing.T, d *apitest.Desk, statusURL, text string) {
	t.Helper()
	body := &strings.Builder{}
	req, _ := http.NewRequest(http.MethodPost, statusURL+"/answer", strings.NewReader(url.Values{"answer": {text}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("answer: %d %s", resp.StatusCode, body)
	}
}

func TestUKClarificationStopsTheClock(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "olu@example.com", "GB", "", nil)
	verify(t, d, "olu@example.com")
	before := request(t, d, rc.ID)

	res, err := d.Engine.RequestInfo(context.Background(), rc.ID, officer, "clarification", "Which accounts do you mean?")
	if err != nil || !res.ClockPaused || !strings.Contains(res.Explanation, "stopped") {
		t.Fatalf("request info: %+v %v", res, err)
	}
	ask := d.MailWithSubject(t, "olu@example.com", "more information")
	if !strings.Contains(ask.Text, "Which accounts do you mean?") || !strings.Contains(ask.Text, "paused") {
		t.Fatalf("info mail:\n%s", ask.Text)
	}
	d.Clock.Advance(10 * 24 * time.Hour)
	answer(t, d, apitest.LinkWith(t, ask, "/status/"), "The shop account, please.")

	after := request(t, d, rc.ID)
	want, _ := dsr.ResumeClock(mustRegime(t, "uk_gdpr"), mustCal(t, "GB-ENG"), before, dateIn(d, before.UpdatedAt), dateIn(d, d.Clock.Now())).Due, 0
	if after.Status != dsr.StatusInProgress || after.DueOn != want || !after.DueOn.After(before.DueOn) || after.PausedDays != 10 {
		t.Fatalf("after answer: status %s due %s (was %s, want %s) paused %d", after.Status, after.DueOn, before.DueOn, want, after.PausedDays)
	}
	rule := ledgerHas(t, d, rc.ID, dsr.LedgerResumed, dateIn(d, d.Clock.Now()).String())
	if !strings.Contains(rule, "10 days do not count") {
		t.Fatalf("resume rule %q", rule)
	}
	if m := d.MailWithSubject(t, "olu@example.com", "received your answer"); !strings.Contains(m.Subject, "We received your answer") || !strings.Contains(m.Text, after.DueOn.Long()) {
		t.Fatalf("answer mail %q:\n%s", m.Subject, m.Text)
	}
	notes, _ := db.Notes(context.Background(), d.Pool, rc.ID)
	if len(notes) != 1 || notes[0].Body != "The shop account, please." || notes[0].Internal {
		t.Fatalf("notes %+v", notes)
	}
}

func TestCCPAClockKeepsRunningWhileWaiting(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "pia@example.com", "US", "CA", nil)
	verify(t, d, "pia@example.com")
	before := request(t, d, rc.ID)
	if before.AckSentAt == nil || before.AckDue.IsZero() {
		t.Fatalf("CCPA acknowledgment not recorded: %+v", before)
	}
	res, err := d.Engine.RequestInfo(context.Background(), rc.ID, officer, "clarification", "Please confirm your account number.")
	if err != nil || res.ClockPaused || !strings.Contains(res.Explanation, "keeps running") {
		t.Fatalf("request info: %+v %v", res, err)
	}
	ask := d.MailWithSubject(t, "pia@example.com", "more information")
	if strings.Contains(ask.Text, "paused") {
		t.Fatalf("CCPA info mail claims a pause:\n%s", ask.Text)
	}
	d.Clock.Advance(10 * 24 * time.Hour)
	answer(t, d, apitest.LinkWith(t, ask, "/status/"), "It is 1234.")
	if after := request(t, d, rc.ID); after.DueOn != before.DueOn || after.PausedDays != 0 {
		t.Fatalf("due moved from %s to %s under CCPA", before.DueOn, after.DueOn)
	}
}

func TestExtensionAcceptedOnceThenRefused(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "quinn@example.com", "NL", "", nil)
	verify(t, d, "quinn@example.com")
	req := request(t, d, rc.ID)
	if _, err := d.Engine.Extend(context.Background(), rc.ID, officer, " ", false); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Fatalf("extension without reason: %v", err)
	}
	due, err := d.Engine.Extend(context.Background(), rc.ID, officer, "Data spread over many systems.", false)
	if err != nil || due != req.ExtendedDue || due == req.DueOn {
		t.Fatalf("extend: %s %v (extended due %s)", due, err, req.ExtendedDue)
	}
	m := d.MailWithSubject(t, "quinn@example.com", "more time")
	if !strings.Contains(m.Text, "Data spread over many systems.") || !strings.Contains(m.Text, due.Long()) {
		t.Fatalf("extension mail:\n%s", m.Text)
	}
	ledgerHas(t, d, rc.ID, dsr.LedgerExtended, due.String())
	_, err = d.Engine.Extend(context.Background(), rc.ID, officer, "Again", false)
	var de *dsr.Error
	if !asErr(err, &de) || de.Code != dsr.ECONFLICT || de.Rule == "" || !strings.Contains(de.Message, "only 1 time") {
		t.Fatalf("second extension: %v", err)
	}
	// A CCPA opt-out has no extension at all.
	oo := submit(t, d, dsr.KindOptOut, "rae@example.com", "US", "CA", map[string]string{"opt_out_of": "sale"})
	if _, err := d.Engine.Extend(context.Background(), oo.ID, officer, "busy", false); !asErr(err, &de) || de.Code != dsr.ECONFLICT || !strings.Contains(de.Message, "no extension") {
		t.Fatalf("CCPA opt-out extension: %v", err)
	}
}

func TestDenyAndCompleteTellTheRequester(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	a := submit(t, d, dsr.KindErasure, "sam@example.com", "NL", "", nil)
	verify(t, d, "sam@example.com")
	if err := d.Engine.Deny(context.Background(), a.ID, officer, "made_up", "x"); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Fatalf("deny with unknown reason: %v", err)
	}
	if err := d.Engine.Deny(context.Background(), a.ID, officer, "exemption_applies", "We must keep invoices for 7 years."); err != nil {
		t.Fatal(err)
	}
	m := d.MailWithSubject(t, "sam@example.com", "cannot fulfil")
	if !strings.Contains(m.Text, "A legal exemption applies.") || !strings.Contains(m.Text, "supervisory authority") {
		t.Fatalf("denied mail:\n%s", m.Text)
	}
	if err := d.Engine.Complete(context.Background(), a.ID, officer, "done"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("complete after deny: %v", err)
	}
	b := submit(t, d, dsr.KindRectification, "tia@example.com", "NL", "", map[string]string{"inaccurate": "name", "correction": "Tia"})
	verify(t, d, "tia@example.com")
	if err := d.Engine.Complete(context.Background(), b.ID, officer, "Your name is corrected in the CRM and billing."); err != nil {
		t.Fatal(err)
	}
	if m := d.MailWithSubject(t, "tia@example.com", "is complete"); !strings.Contains(m.Subject, "is complete") || !strings.Contains(m.Text, "corrected in the CRM") {
		t.Fatalf("completed mail %q:\n%s", m.Subject, m.Text)
	}
}

func TestEveryEventIsHashChained(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	rc := submit(t, d, dsr.KindAccess, "uma@example.com", "NL", "", nil)
	verify(t, d, "uma@example.com")
	rows, err := d.Pool.Query(context.Background(), `SELECT seq, at, actor, type, public, data, prev_hash, hash, personal_digest FROM events WHERE request_id = $1 ORDER BY seq`, rc.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prev []byte
	n := 0
	for rows.Next() {
		var ev dsr.Event
		var data map[string]string
		var p, h, digest []byte
		if err := rows.Scan(&ev.Seq, &ev.At, &ev.Actor, &ev.Type, &ev.Public, &data, &p, &h, &digest); err != nil {
			t.Fatal(err)
		}
		ev.Data = data // the structural part; the personal part is in its digest
		if prev != nil && string(p) != string(prev) {
			t.Fatalf("event %d: prev_hash does not link to event %d", ev.Seq, ev.Seq-1)
		}
		if got := db.EventHashV2(p, rc.ID, ev, digest); string(got) != string(h) {
			t.Fatalf("event %d (%s): stored hash does not match recomputed", ev.Seq, ev.Type)
		}
		prev = h
		n++
	}
	if n < 2 {
		t.Fatalf("%d events", n)
	}
}
