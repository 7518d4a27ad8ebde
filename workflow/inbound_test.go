package workflow_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

const privacyAddr = "privacy@testorg.example"

// inboundConfig is the test desk's config with a privacy address and,
// when defaultRegime is set, a default regime.
func inboundConfig(t *testing.T, defaultRegime string) string {
	t.Helper()
	old := `"mail": {"from": "privacy@testorg.example", "from_name": "Testorg Privacy"}`
	if !strings.Contains(apitest.ConfigJSON, old) {
		t.Fatal("apitest.ConfigJSON changed: update inboundConfig")
	}
	repl := `"mail": {"from": "privacy@testorg.example", "from_name": "Testorg Privacy", "privacy_addresses": ["Privacy@Testorg.example"]}`
	if defaultRegime != "" {
		repl += `, "default_regime": "` + defaultRegime + `"`
	}
	return strings.Replace(apitest.ConfigJSON, old, repl, 1)
}

// inboundSetup is a test desk with the inbound SMTP server listening on
// a loopback port.
type inboundSetup struct {
	*apitest.Desk
	addr string
}

type inboundOpts struct {
	defaultRegime string
	configure     func(*smtp.Server)
	store         notify.InboundStore // default: the desk engine's StoreInbound
}

func startInbound(t *testing.T, o inboundOpts) *inboundSetup {
	t.Helper()
	d := apitest.Start(t, apitest.Options{ConfigJSON: inboundConfig(t, o.defaultRegime)})
	store := o.store
	if store == nil {
		store = d.Engine.StoreInbound
	}
	srv := notify.NewInboundServer("", d.Engine.InboundDomain(), d.Engine.AcceptsInbound, store)
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if o.configure != nil {
		o.configure(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l) //nolint:errcheck
	t.Cleanup(func() { srv.Close() })
	return &inboundSetup{Desk: d, addr: l.Addr().String()}
}

// fixture reads testdata/inbound/name, replacing {{KEY}} placeholders
// from pairs.
func fixture(t *testing.T, name string, pairs ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "notify", "testdata", "inbound", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{{"+pairs[i]+"}}", pairs[i+1])
	}
	return []byte(s)
}

// send delivers raw to rcpt over SMTP as a sending MTA would and returns
// the server's refusal, if any.
func (s *inboundSetup) send(t *testing.T, from, rcpt string, raw []byte) error {
	t.Helper()
	c, err := smtp.Dial(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("mx.example.net"); err != nil {
		t.Fatal(err)
	}
	return c.SendMail(from, []string{rcpt}, bytes.NewReader(raw))
}

func (s *inboundSetup) mustSend(t *testing.T, from string, raw []byte) {
	t.Helper()
	if err := s.send(t, from, privacyAddr, raw); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// processed waits until n inbound emails are stored and all are processed,
// and returns them oldest first.
func (s *inboundSetup) processed(t *testing.T, n int) []*db.InboundEmail {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		all, err := db.InboundEmails(context.Background(), s.Pool, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		done := len(all) == n
		for _, m := range all {
			done = done && m.Status != db.InboundReceived
		}
		if done {
			for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
				all[i], all[j] = all[j], all[i]
			}
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("inbound emails after 20s: %d (want %d processed): %+v", len(all), n, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func eventData(t *testing.T, d *apitest.Desk, requestID, typ string) map[string]string {
	t.Helper()
	evs, err := db.Events(context.Background(), d.Pool, requestID, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == typ {
			return e.Data
		}
	}
	t.Fatalf("no %s event among %v", typ, eventTypes(t, d, requestID))
	return nil
}

func countRows(t *testing.T, d *apitest.Desk, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPlainEmailBecomesErasureRequest(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	s.mustSend(t, "ann@example.com", fixture(t, "plain.eml"))
	in := s.processed(t, 1)[0]
	if in.Status != db.InboundRequest || in.RequestID == "" || in.FromAddress != "ann@example.com" || in.Subject != "My account" ||
		in.MessageID != "plain-1@mail.example.com" || in.EnvelopeFrom != "ann@example.com" || in.RemoteIP != "127.0.0.1" ||
		in.Helo != "mx.example.net" || len(in.Recipients) != 1 || in.DKIM != workflow.DKIMNone {
		t.Fatalf("inbound row %+v", in)
	}
	req := request(t, s.Desk, in.RequestID)
	if req.Kind != dsr.KindErasure || req.Channel != dsr.ChannelEmail || req.Subject.Email != "ann@example.com" ||
		req.Subject.Name != "Ann Example" || req.Status != dsr.StatusPendingTriage || req.Regime != "gdpr" ||
		!strings.Contains(req.Details, "Please delete my data.") || !strings.Contains(req.Details, "Subject: My account") {
		t.Fatalf("request %+v", req)
	}
	// The clock starts at receipt of the email, and the GDPR erasure promise applies.
	dl, err := s.Org.Deadlines(mustRegime(t, "gdpr"), dsr.KindErasure, in.ReceivedAt)
	if err != nil {
		t.Fatal(err)
	}
	if !req.ReceivedAt.Equal(in.ReceivedAt) || req.DueOn != dl.Due || req.ReceivedOn != dateIn(s.Desk, in.ReceivedAt) {
		t.Fatalf("received %s due %s, want %s due %s", req.ReceivedAt, req.DueOn, in.ReceivedAt, dl.Due)
	}
	// The dates and their rules are those of a request received then, and
	// the deadline reminders run during triage.
	ledgerHas(t, s.Desk, req.ID, dsr.LedgerReceived, dl.Received.String())
	ledgerHas(t, s.Desk, req.ID, dsr.LedgerDue, dl.Due.String())
	if n := len(requestJobs(t, s.Desk, req.ID, dl.Due.String(), "deadline_reminder")); n != 1 {
		t.Fatalf("%d deadline reminder jobs for the due date", n)
	}
	// Nothing is mailed to the sender until an officer triages the request
	// (GDPR has no acknowledgment duty), and no verification job waits.
	s.WaitJobs(t, nil)
	if n := countRows(t, s.Desk, `SELECT count(*) FROM messages WHERE request_id = $1`, req.ID); n != 0 {
		t.Fatalf("%d messages before triage", n)
	}
	if n := len(requestJobs(t, s.Desk, req.ID, "", "verify_reminder", "verify_expiry")); n != 0 {
		t.Fatalf("%d verification jobs before triage", n)
	}
	data := eventData(t, s.Desk, req.ID, "email_intake")
	if data["inbound_email"] != in.ID || data["kind"] != "erasure" || !strings.Contains(data["kind_rule"], `"delete"`) ||
		data["regime"] != "gdpr" || !strings.Contains(data["regime_rule"], "first regime") || data["dkim"] != "none" || data["body"] != "text" {
		t.Fatalf("email_intake event %v", data)
	}
	if ev := eventTypes(t, s.Desk, req.ID); ev[0] != "received" {
		t.Fatalf("events %v", ev)
	}
	if got := eventData(t, s.Desk, req.ID, "received"); got["channel"] != "email" {
		t.Fatalf("received event %v", got)
	}
}

func TestHTMLOnlyEmailUsesDefaultRegime(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{defaultRegime: "ccpa"})
	s.mustSend(t, "bo@example.com", fixture(t, "html_only.eml"))
	in := s.processed(t, 1)[0]
	req := request(t, s.Desk, in.RequestID)
	want := "I want to opt out of the sale of my personal information & stop selling it."
	if req.Kind != dsr.KindOptOut || req.Regime != "ccpa" || !strings.Contains(req.Details, want) || !strings.Contains(req.Details, "Bo Lee") {
		t.Fatalf("request kind %s regime %s details:\n%s", req.Kind, req.Regime, req.Details)
	}
	for _, bad := range []string{"<", "alert", "ignored title", "color"} {
		if strings.Contains(req.Details, bad) {
			t.Fatalf("details keep %q:\n%s", bad, req.Details)
		}
	}
	if req.Fields["opt_out_of"] != "sale" {
		t.Fatalf("fields %v", req.Fields)
	}
	// It waits for triage like every request by email; a CCPA opt-out has
	// no acknowledgment duty, so nothing is mailed yet.
	if req.Status != dsr.StatusPendingTriage || req.AckSentAt != nil {
		t.Fatalf("status %s ack sent %v", req.Status, req.AckSentAt)
	}
	data := eventData(t, s.Desk, req.ID, "email_intake")
	if data["body"] != "html" || !strings.Contains(data["regime_rule"], "default_regime") {
		t.Fatalf("email_intake event %v", data)
	}
	// Triage confirms it; a CCPA opt-out needs no verification: it opens
	// at once and the sender is told.
	if err := s.Engine.Triage(context.Background(), req.ID, officer, "", ""); err != nil {
		t.Fatal(err)
	}
	if st := request(t, s.Desk, req.ID).Status; st != dsr.StatusOpen {
		t.Fatalf("after triage: status %s", st)
	}
	s.MailWithSubject(t, "bo@example.com", "is being handled")
}

func TestEmailAttachmentsPassTheUploadChecks(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	s.mustSend(t, "cy@example.com", fixture(t, "multipart_attachments.eml"))
	in := s.processed(t, 1)[0]
	req := request(t, s.Desk, in.RequestID)
	if req.Kind != dsr.KindAccess || !strings.Contains(req.Details, "Please send me a copy of my data.") || strings.Contains(req.Details, "<b>") {
		t.Fatalf("request kind %s details:\n%s", req.Kind, req.Details)
	}
	atts, err := db.Attachments(context.Background(), s.Pool, req.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(atts) != 1 || atts[0].Purpose != "inbound" || atts[0].Filename != "id-card.pdf" || atts[0].ContentType != "application/pdf" {
		t.Fatalf("attachments %+v", atts)
	}
	data := eventData(t, s.Desk, req.ID, "email_intake")
	if data["attachments"] != atts[0].ID || !strings.Contains(data["attachments_not_stored"], "tool.exe (not a PDF, PNG or JPEG)") {
		t.Fatalf("email_intake event %v", data)
	}
}

func TestEmailCharsets(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	s.mustSend(t, "juergen@example.de", fixture(t, "latin1.eml"))
	s.mustSend(t, "zoe@example.se", fixture(t, "utf8.eml"))
	got := s.processed(t, 2)
	for _, tc := range []struct {
		in            *db.InboundEmail
		name, subject string
		kind          dsr.Kind
		detailsHave   []string
	}{
		{got[0], "Jürgen Müller", "Löschung meiner Daten", dsr.KindErasure, []string{"bitte löschen Sie meine Daten", "Mit freundlichen Grüßen\nJürgen Müller"}},
		{got[1], "Zoë Ångström", "Anfrage – subject access request", dsr.KindAccess, []string{"Grüße, 日本語 — Zoë Ångström"}},
	} {
		req := request(t, s.Desk, tc.in.RequestID)
		if tc.in.Subject != tc.subject || req.Subject.Name != tc.name || req.Kind != tc.kind || !strings.Contains(req.Details, "Subject: "+tc.subject) {
			t.Errorf("%s: subject %q name %q kind %s", tc.in.MessageID, tc.in.Subject, req.Subject.Name, req.Kind)
		}
		for _, want := range tc.detailsHave {
			if !strings.Contains(req.Details, want) {
				t.Errorf("%s: details lack %q:\n%s", tc.in.MessageID, want, req.Details)
			}
		}
	}
}

func TestEmailReplyResumesAwaitingRequest(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	rc := submit(t, s.Desk, dsr.KindAccess, "olu@example.com", "GB", "", nil)
	verify(t, s.Desk, "olu@example.com")
	if _, err := s.Engine.RequestInfo(context.Background(), rc.ID, officer, "clarification", "Which accounts do you mean?"); err != nil {
		t.Fatal(err)
	}
	ask := s.MailWithSubject(t, "olu@example.com", "more information")
	if ask.MessageID == "" {
		t.Fatal("info mail without Message-ID")
	}
	s.Clock.Advance(5 * 24 * time.Hour)
	s.mustSend(t, "olu@example.com", fixture(t, "reply.eml", "FROM", "olu@example.com", "IN_REPLY_TO", ask.MessageID))
	in := s.processed(t, 1)[0]
	if in.Status != db.InboundReply || in.RequestID != rc.ID {
		t.Fatalf("inbound row %+v", in)
	}
	req := request(t, s.Desk, rc.ID)
	if req.Status != dsr.StatusInProgress || req.PausedSince != nil || req.PausedDays != 5 {
		t.Fatalf("after reply: status %s paused since %v days %d", req.Status, req.PausedSince, req.PausedDays)
	}
	notes, _ := db.Notes(context.Background(), s.Pool, rc.ID)
	if len(notes) != 1 || notes[0].Body != "The shop account, please. A screenshot is attached." || notes[0].Author != "subject" || notes[0].Internal {
		t.Fatalf("notes %+v", notes)
	}
	atts, _ := db.Attachments(context.Background(), s.Pool, rc.ID, "answer")
	if len(atts) != 1 || atts[0].Filename != "screenshot.png" || atts[0].ContentType != "image/png" {
		t.Fatalf("answer attachments %+v", atts)
	}
	ev := eventTypes(t, s.Desk, rc.ID)
	if strings.Join(ev[len(ev)-2:], ",") != "email_reply_received,answer_received" {
		t.Fatalf("events %v", ev)
	}
	data := eventData(t, s.Desk, rc.ID, "email_reply_received")
	if data["in_reply_to"] != workflow.MailInfoNeeded || data["sender_matches"] != "true" || data["resumed"] != "true" {
		t.Fatalf("reply event %v", data)
	}
	s.MailWithSubject(t, "olu@example.com", "received your answer")
	if n := countRows(t, s.Desk, `SELECT count(*) FROM requests`); n != 1 {
		t.Fatalf("%d requests: a reply must not open a new one", n)
	}
}

func TestEmailReplyToOpenRequestIsANote(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	rc := submit(t, s.Desk, dsr.KindAccess, "pam@example.com", "NL", "", nil)
	first := s.MailTo(t, "pam@example.com", 1)[0]
	s.mustSend(t, "pam@example.com", fixture(t, "reply.eml", "FROM", "pam@example.com", "IN_REPLY_TO", first.MessageID))
	in := s.processed(t, 1)[0]
	if in.Status != db.InboundReply || in.RequestID != rc.ID {
		t.Fatalf("inbound row %+v", in)
	}
	if st := request(t, s.Desk, rc.ID).Status; st != dsr.StatusPendingVerification {
		t.Fatalf("status %s", st)
	}
	notes, _ := db.Notes(context.Background(), s.Pool, rc.ID)
	atts, _ := db.Attachments(context.Background(), s.Pool, rc.ID, "answer")
	if len(notes) != 1 || len(atts) != 1 || eventData(t, s.Desk, rc.ID, "email_reply_received")["resumed"] != "false" {
		t.Fatalf("notes %+v attachments %+v", notes, atts)
	}
}

func TestOversizedEmailIsRefused(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{configure: func(srv *smtp.Server) { srv.MaxMessageBytes = 64 << 10 }})
	raw := append(fixture(t, "plain.eml"), bytes.Repeat([]byte("an oversized message goes on and on and on\n"), 3000)...)
	var se *smtp.SMTPError
	if err := s.send(t, "ann@example.com", privacyAddr, raw); !errors.As(err, &se) || se.Code != 552 {
		t.Fatalf("oversized mail: %v", err)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM inbound_emails`); n != 0 {
		t.Fatalf("%d inbound emails stored", n)
	}
}

func TestEmailToUnknownRecipientIsRefused(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	var se *smtp.SMTPError
	if err := s.send(t, "ann@example.com", "sales@testorg.example", fixture(t, "plain.eml")); !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
		t.Fatalf("unknown recipient: %v", err)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM inbound_emails`); n != 0 {
		t.Fatalf("%d inbound emails stored", n)
	}
}

// swappableStore is the SMTP server's store function backed by an engine
// on its own pool, which the test can close (database down) and replace
// (database back).
type swappableStore struct {
	mu     sync.Mutex
	engine *workflow.Engine
}

func (s *swappableStore) set(e *workflow.Engine) {
	s.mu.Lock()
	s.engine = e
	s.mu.Unlock()
}

func (s *swappableStore) store(ctx context.Context, m notify.InboundMessage) error {
	s.mu.Lock()
	e := s.engine
	s.mu.Unlock()
	return e.StoreInbound(ctx, m)
}

// fixedClock is a clock stopped at one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// storeEngine builds an engine (never started: it only inserts) on a new
// pool to the desk's database, with clock.
func storeEngine(t *testing.T, d *apitest.Desk, clock workflow.Clock) (*workflow.Engine, *pgxpool.Pool) {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), d.Pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	e, err := workflow.New(pool, workflow.Options{Org: d.Org, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return e, pool
}

func TestDatabaseDownWhileReceivingIs451ThenNothingLostOrDuplicated(t *testing.T) {
	t.Parallel()
	sw := &swappableStore{}
	s := startInbound(t, inboundOpts{store: sw.store})
	down, downPool := storeEngine(t, s.Desk, s.Clock)
	downPool.Close() // the database is unreachable for the SMTP session
	sw.set(down)

	raw := fixture(t, "plain.eml")
	var se *smtp.SMTPError
	if err := s.send(t, "ann@example.com", privacyAddr, raw); !errors.As(err, &se) || se.Code != 451 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 0}) {
		t.Fatalf("while the database is down: %v", err)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM inbound_emails`); n != 0 {
		t.Fatalf("%d inbound emails stored while down", n)
	}

	// The database is back; the sender retries an hour after receipt. The
	// request's clock starts when we accepted the message.
	accepted := time.Now().Add(-50 * time.Hour).UTC().Truncate(time.Microsecond)
	back, _ := storeEngine(t, s.Desk, fixedClock(accepted))
	sw.set(back)
	s.mustSend(t, "ann@example.com", raw)
	// The sender did not see our 250 and sends again: still one message.
	s.mustSend(t, "ann@example.com", raw)
	in := s.processed(t, 1)[0]
	if !in.ReceivedAt.Equal(accepted) || in.Status != db.InboundRequest {
		t.Fatalf("inbound row %+v", in)
	}
	req := request(t, s.Desk, in.RequestID)
	if !req.ReceivedAt.Equal(accepted) || req.ReceivedOn != dateIn(s.Desk, accepted) {
		t.Fatalf("request received %s on %s, want %s", req.ReceivedAt, req.ReceivedOn, accepted)
	}
	s.WaitJobs(t, nil)
	if n := countRows(t, s.Desk, `SELECT count(*) FROM requests`); n != 1 {
		t.Fatalf("%d requests", n)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM messages WHERE to_email = 'ann@example.com'`); n != 0 {
		t.Fatalf("%d emails to the sender before triage", n)
	}
}

func TestDuplicateMessageIDMakesOneRequest(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	raw := fixture(t, "plain.eml")
	s.mustSend(t, "ann@example.com", raw)
	s.mustSend(t, "ann@example.com", raw)
	s.processed(t, 1)
	s.WaitJobs(t, nil)
	if n := countRows(t, s.Desk, `SELECT count(*) FROM requests`); n != 1 {
		t.Fatalf("%d requests", n)
	}
	if n := len(requestJobs(t, s.Desk, "", "", "parse_inbound_email")); n != 1 {
		t.Fatalf("%d parse jobs", n)
	}
}

func TestParseJobRunsOnce(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	s.mustSend(t, "ann@example.com", fixture(t, "plain.eml"))
	in := s.processed(t, 1)[0]
	before := eventTypes(t, s.Desk, in.RequestID)
	s.WaitJobs(t, nil)
	// A rescued job runs again: it must find the message processed.
	res := work(t, s.Desk, workflow.ParseInboundWorker(s.Engine), workflow.ParseInboundArgs{InboundID: in.ID}, time.Time{})
	wantCompleted(t, res)
	if n := countRows(t, s.Desk, `SELECT count(*) FROM requests`); n != 1 {
		t.Fatalf("%d requests after a re-run", n)
	}
	if after := eventTypes(t, s.Desk, in.RequestID); len(after) != len(before) {
		t.Fatalf("events %v, then %v", before, after)
	}
}

func TestAutomaticRepliesAreIgnored(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	s.mustSend(t, "dee@example.com", fixture(t, "auto_reply.eml"))
	bounce := strings.Replace(string(fixture(t, "plain.eml")), "plain-1@", "bounce-1@", 1)
	s.mustSend(t, "", []byte(bounce)) // null envelope sender: a bounce
	got := s.processed(t, 2)
	for _, in := range got {
		if in.Status != db.InboundIgnored || in.RequestID != "" || in.Note == "" {
			t.Fatalf("inbound row %+v", in)
		}
	}
	if !strings.Contains(got[0].Note, "Auto-Submitted: auto-replied") || !strings.Contains(got[1].Note, "null sender") {
		t.Fatalf("notes %q, %q", got[0].Note, got[1].Note)
	}
	if n := countRows(t, s.Desk, `SELECT count(*) FROM requests`); n != 0 {
		t.Fatalf("%d requests", n)
	}
}

func TestMarkInboundNotARequest(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	ctx := context.Background()
	s.mustSend(t, "ann@example.com", fixture(t, "plain.eml"))
	in := s.processed(t, 1)[0]
	if err := s.Engine.MarkInboundNotARequest(ctx, in.ID, officer, " "); dsr.ErrorCode(err) != dsr.EINVALID {
		t.Fatalf("without reason: %v", err)
	}
	if err := s.Engine.MarkInboundNotARequest(ctx, in.ID, officer, "Spam"); err != nil {
		t.Fatal(err)
	}
	if err := s.Engine.MarkInboundNotARequest(ctx, in.ID, officer, "Spam"); err != nil {
		t.Fatalf("marking twice: %v", err)
	}
	got, err := db.GetInbound(ctx, s.Pool, in.ID, false)
	if err != nil || got.Status != db.InboundNotARequest || got.Note != "Spam" || got.MarkedBy != officer || got.RequestID != in.RequestID {
		t.Fatalf("inbound row %+v %v", got, err)
	}
	req := request(t, s.Desk, in.RequestID)
	if req.Status != dsr.StatusWithdrawn || req.CloseReason != "not_a_request" || eventData(t, s.Desk, req.ID, "not_a_request")["reason"] != "Spam" {
		t.Fatalf("request %s (%s)", req.Status, req.CloseReason)
	}
	s.WaitJobs(t, nil)
	if n := countRows(t, s.Desk, `SELECT count(*) FROM messages WHERE request_id = $1`, req.ID); n != 0 {
		t.Fatalf("%d messages: a spammer gets no mail", n)
	}
	if err := s.Engine.MarkInboundNotARequest(ctx, "00000000-0000-0000-0000-000000000000", officer, "x"); dsr.ErrorCode(err) != dsr.ENOTFOUND {
		t.Fatalf("unknown id: %v", err)
	}

	// A request the sender confirmed is real: withdraw or deny it instead.
	s.mustSend(t, "cy@example.com", fixture(t, "multipart_attachments.eml"))
	second := s.processed(t, 2)[1]
	if err := s.Engine.Triage(ctx, second.RequestID, officer, dsr.KindAccess, "gdpr"); err != nil {
		t.Fatal(err)
	}
	verify(t, s.Desk, "cy@example.com")
	if err := s.Engine.MarkInboundNotARequest(ctx, second.ID, officer, "Spam"); dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("confirmed request: %v", err)
	}
}

// dkimSigned returns a message from alice@example.org signed by
// example.org (selector s1) with key.
func dkimSigned(t *testing.T, key *rsa.PrivateKey, msgID, body string) []byte {
	t.Helper()
	raw := "From: Alice <alice@example.org>\r\nTo: privacy@testorg.example\r\nSubject: Delete my account\r\n" +
		"Date: Mon, 2 Mar 2026 10:00:00 +0100\r\nMessage-ID: <" + msgID + ">\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + body + "\r\n"
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "example.org", Selector: "s1", Signer: key, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestDKIMResultIsRecorded(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	record := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(pub)
	s.Engine.SetDKIMLookup(func(name string) ([]string, error) {
		if name == "s1._domainkey.example.org" {
			return []string{record}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	})

	s.mustSend(t, "alice@example.org", dkimSigned(t, key, "signed-1@example.org", "Please delete my data."))
	tampered := dkimSigned(t, key, "signed-2@example.org", "Please delete my data.")
	tampered = bytes.Replace(tampered, []byte("Please delete"), []byte("Please export"), 1)
	s.mustSend(t, "alice@example.org", tampered)

	got := s.processed(t, 2)
	byID := map[string]*db.InboundEmail{got[0].MessageID: got[0], got[1].MessageID: got[1]}
	pass, fail := byID["signed-1@example.org"], byID["signed-2@example.org"]
	if pass == nil || fail == nil {
		t.Fatalf("inbound rows %+v", got)
	}
	if pass.DKIM != workflow.DKIMPass || pass.DKIMDomain != "example.org" {
		t.Fatalf("signed message: dkim %q %q", pass.DKIM, pass.DKIMDomain)
	}
	if fail.DKIM != workflow.DKIMFail || fail.DKIMDomain != "example.org" {
		t.Fatalf("tampered message: dkim %q %q", fail.DKIM, fail.DKIMDomain)
	}
	// The result is a signal for officers on the request, not a verification.
	if data := eventData(t, s.Desk, pass.RequestID, "email_intake"); data["dkim"] != "pass" || data["dkim_domain"] != "example.org" {
		t.Fatalf("event %v", data)
	}
	if st := request(t, s.Desk, pass.RequestID).Status; st != dsr.StatusPendingTriage {
		t.Fatalf("DKIM pass changed the status to %s", st)
	}
}

func TestAcceptsInboundIgnoresCase(t *testing.T) {
	t.Parallel()
	s := startInbound(t, inboundOpts{})
	for addr, want := range map[string]bool{"privacy@testorg.example": true, "PRIVACY@TESTORG.EXAMPLE": true, "sales@testorg.example": false, "": false} {
		if got := s.Engine.AcceptsInbound(addr); got != want {
			t.Errorf("AcceptsInbound(%q) = %v", addr, got)
		}
	}
	if d := s.Engine.InboundDomain(); d != "testorg.example" {
		t.Errorf("InboundDomain = %q", d)
	}
}
