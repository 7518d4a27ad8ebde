package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// waitMessages waits until no message of the request is still queued.
func waitMessages(t *testing.T, d *apitest.Desk, requestID string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var queued int
		if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE request_id = $1 AND status = 'queued'`, requestID).Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still queued after 20s", queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The stored copy of a message is the record of what was said, with every
// link token replaced by [link]; the mail that arrives over SMTP has the
// working links, and the sealed live copy is wiped once it is sent.
func TestStoredMailHoldsNoWorkingLink(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "seal@example.com", "country": "NL"}}`, nil)
	rc := mustReceipt(t, resp, b)
	m := d.MailTo(t, "seal@example.com", 1)[0]
	verify, status := apitest.LinkWith(t, m, "/verify/"), apitest.LinkWith(t, m, "/status/")
	if !strings.Contains(m.HTML, verify) {
		t.Fatalf("the HTML part lacks the live link:\n%s", m.HTML)
	}
	waitMessages(t, d, rc.ID)
	ctx := context.Background()
	var text, html string
	var sealed bool
	if err := d.Pool.QueryRow(ctx, `SELECT text_body, html_body, sealed IS NOT NULL FROM messages WHERE request_id = $1 AND event = 'received'`, rc.ID).
		Scan(&text, &html, &sealed); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{verify[strings.LastIndex(verify, "/")+1:], status[strings.LastIndex(status, "/")+1:]} {
		if strings.Contains(text, raw) || strings.Contains(html, raw) {
			t.Fatalf("stored message holds a live token:\n%s\n%s", text, html)
		}
	}
	if !strings.Contains(text, d.URL+"/verify/[link]") || !strings.Contains(text, d.URL+"/status/[link]") || !strings.Contains(html, "/verify/[link]") {
		t.Fatalf("stored message is not redacted as expected:\n%s\n%s", text, html)
	}
	if sealed {
		t.Fatal("the sealed live copy survived delivery")
	}
	// The delivered link works.
	if r := post(t, d, verify, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delivered verify link: %d", r.StatusCode)
	}
}

// Mail sealed under another key (a restart with a new DSR_SECRET_KEY)
// cannot get its links back: delivery marks it failed with a clear error
// instead of sending dead links or panicking.
func TestMailSealedUnderAnotherKeyFailsClearly(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	var id string
	if err := d.Pool.QueryRow(ctx, `INSERT INTO messages (event, recipient_role, to_email, from_email, subject, text_body, html_body, message_id, status, sealed)
		VALUES ('received', 'subject', 'lost@example.com', 'privacy@testorg.example', 'Please confirm', 'Confirm: /verify/[link]', '', 'lost-1@testorg.example', 'queued', $1)
		RETURNING id`, make([]byte, 80)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Engine.River().Insert(ctx, workflow.DeliverArgs{MessageID: id}, nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	var status, lastError string
	var sealed bool
	for time.Now().Before(deadline) {
		_ = d.Pool.QueryRow(ctx, `SELECT status, last_error, sealed IS NOT NULL FROM messages WHERE id = $1`, id).Scan(&status, &lastError, &sealed)
		if status != "queued" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != "failed" || !strings.Contains(lastError, "DSR_SECRET_KEY") || !sealed {
		t.Fatalf("status %s, last_error %q, sealed kept %v", status, lastError, sealed)
	}
	if n := len(d.SMTP.Messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
}

// A message the relay refused for good keeps its sealed live copy, so an
// officer's retry from the outbox delivers working links, not [link].
func TestRetriedFailedMailStillHasWorkingLinks(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	d.SMTP.FailNext(1, 550, "mailbox unavailable")
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "retry@example.com", "country": "NL"}}`, nil)
	rc := mustReceipt(t, resp, b)
	waitMessages(t, d, rc.ID)
	ctx := context.Background()
	var id, status string
	if err := d.Pool.QueryRow(ctx, `SELECT id, status FROM messages WHERE request_id = $1 AND event = 'received'`, rc.ID).Scan(&id, &status); err != nil {
		t.Fatal(err)
	}
	if status != "failed" {
		t.Fatalf("status %s after a 550, want failed", status)
	}
	// Right after the failure the failed attempt's job may still be
	// finishing: the retry then says so (409) instead of vanishing.
	for {
		err := d.Engine.RetryMessage(ctx, id)
		if err == nil {
			break
		}
		var de *dsr.Error
		if !errors.As(err, &de) || de.Code != dsr.ECONFLICT {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitMessages(t, d, rc.ID)
	m := d.MailTo(t, "retry@example.com", 1)[0]
	verify := apitest.LinkWith(t, m, "/verify/")
	if strings.Contains(verify, "[link]") {
		t.Fatalf("retried mail carries a redacted link: %s", verify)
	}
	if r := post(t, d, verify, nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("retried verify link: %d", r.StatusCode)
	}
}
