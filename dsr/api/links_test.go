package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// answerPost posts an answer with a file-less multipart body, as the form
// does, and returns the status code.
func answerPost(t *testing.T, d *apitest.Desk, status, text string) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("answer", text)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, status+"/answer", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, _ := do(t, d, req)
	return resp.StatusCode
}

// A link handed out before the address is proven (the 201 answer, the
// first emails) shows that the request exists and nothing more: whoever
// filed in someone else's name must not read, answer or withdraw.
func TestPendingLinkShowsOnlyThatTheRequestExists(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "vic@example.com", "country": "NL"}}`, nil)
	rc := mustReceipt(t, resp, b)
	for _, link := range []string{rc.StatusURL, apitest.LinkWith(t, d.MailTo(t, "vic@example.com", 1)[0], "/status/")} {
		r, page := get(t, d, link)
		if r.StatusCode != 200 || !strings.Contains(page, "Check your email to confirm") || !strings.Contains(page, rc.Ref) {
			t.Fatalf("pending status page %d:\n%s", r.StatusCode, page)
		}
		for _, hidden := range []string{"History", "Request received.", "/withdraw", "/answer", "<form"} {
			if strings.Contains(page, hidden) {
				t.Errorf("pending status page shows %q:\n%s", hidden, page)
			}
		}
		if r, body := get(t, d, link+"/withdraw"); r.StatusCode != http.StatusForbidden || !strings.Contains(body, "before the email address was confirmed") {
			t.Errorf("withdraw page with a pending link: %d\n%s", r.StatusCode, body)
		}
		if r := post(t, d, link+"/withdraw", nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("withdraw with a pending link: %d, want 403", r.StatusCode)
		}
		if code := answerPost(t, d, link, "my passport"); code != http.StatusForbidden {
			t.Errorf("answer with a pending link: %d, want 403", code)
		}
	}
	var st string
	_ = d.Pool.QueryRow(context.Background(), `SELECT status FROM requests WHERE id = $1`, rc.ID).Scan(&st)
	if st != "pending_verification" {
		t.Fatalf("status %s after refused actions", st)
	}
}

// Confirming revokes every status link handed out before, to both holders,
// and the links sent from then on work: the filer's 201 link stops being a
// key to the request once the real subject confirms.
func TestConfirmationRevokesEarlierLinks(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	resp, b := postJSON(t, d, `{"kind": "erasure", "subject": {"email": "rita@example.com", "name": "Rita", "country": "DE"},
		"agent": {"name": "Helper Ltd", "email": "help@example.org", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
	rc := mustReceipt(t, resp, b)
	subjFirst := d.MailTo(t, "rita@example.com", 1)[0]
	old := []string{rc.StatusURL, apitest.LinkWith(t, subjFirst, "/status/"), apitest.LinkWith(t, d.MailTo(t, "help@example.org", 1)[0], "/status/")}
	for _, l := range old {
		if r, _ := get(t, d, l); r.StatusCode != 200 {
			t.Fatalf("link before confirmation: %d", r.StatusCode)
		}
	}
	r := post(t, d, apitest.LinkWith(t, subjFirst, "/verify/"), nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	for _, l := range old {
		r, body := get(t, d, l)
		if r.StatusCode != http.StatusGone || !strings.Contains(body, "no longer valid") {
			t.Errorf("earlier link after confirmation: %d\n%s", r.StatusCode, body)
		}
		if r := post(t, d, l+"/withdraw", nil); r.StatusCode != http.StatusGone {
			t.Errorf("withdraw with an earlier link: %d, want 410", r.StatusCode)
		}
	}
	subjAck := d.MailWithSubject(t, "rita@example.com", "is being handled")
	agentAck := d.MailWithSubject(t, "help@example.org", "is being handled")
	subjLink, agentLink := apitest.LinkWith(t, subjAck, "/status/"), apitest.LinkWith(t, agentAck, "/status/")
	if subjLink == agentLink {
		t.Fatal("subject and agent got the same status link")
	}
	for _, l := range []string{d.URL + r.Header.Get("Location"), subjLink, agentLink} {
		r, page := get(t, d, l)
		if r.StatusCode != 200 || !strings.Contains(page, "History") || !strings.Contains(page, "Email address confirmed") && !strings.Contains(page, "confirmed their email address") || !strings.Contains(page, "/withdraw") {
			t.Errorf("link after confirmation %d:\n%s", r.StatusCode, page)
		}
	}
	if _, page := get(t, d, agentLink); !strings.Contains(page, "You filed this request as authorized agent for Rita") {
		t.Errorf("agent page:\n%s", page)
	}
}

// An opt-out recorded without verification (CCPA) keeps pending links:
// nobody can cancel it or answer for the subject through a link, though an
// officer still can withdraw it on the requester's behalf.
func TestUnverifiedOptOutCannotBeWithdrawnByLink(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	u, _ := staff(t, d, "ola@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "opt_out", "opt@example.com", "US", "CA")
	if rc.Status != "open" {
		t.Fatalf("opt-out status %s", rc.Status)
	}
	ctx := context.Background()
	if _, err := d.Engine.RequestInfo(ctx, rc.ID, workflow.Actor(u.ID), "clarification", "Which of your accounts?"); err != nil {
		t.Fatal(err)
	}
	ask := d.MailWithSubject(t, "opt@example.com", "more information")
	for _, link := range []string{rc.StatusURL, apitest.LinkWith(t, d.MailTo(t, "opt@example.com", 1)[0], "/status/"), apitest.LinkWith(t, ask, "/status/")} {
		r, page := get(t, d, link)
		if r.StatusCode != 200 || !strings.Contains(page, "Your opt-out is recorded") || strings.Contains(page, "Which of your accounts?") || strings.Contains(page, "/withdraw") {
			t.Fatalf("opt-out status page %d:\n%s", r.StatusCode, page)
		}
		if r, body := get(t, d, link+"/withdraw"); r.StatusCode != http.StatusForbidden || !strings.Contains(body, "without verifying") {
			t.Errorf("withdraw page: %d\n%s", r.StatusCode, body)
		}
		if r := post(t, d, link+"/withdraw", url.Values{}); r.StatusCode != http.StatusForbidden {
			t.Errorf("withdraw an unverified opt-out by link: %d, want 403", r.StatusCode)
		}
		if code := answerPost(t, d, link, "none"); code != http.StatusForbidden {
			t.Errorf("answer by link: %d, want 403", code)
		}
	}
	var st string
	_ = d.Pool.QueryRow(ctx, `SELECT status FROM requests WHERE id = $1`, rc.ID).Scan(&st)
	if st != "awaiting_requester" {
		t.Fatalf("status %s, want awaiting_requester", st)
	}
	if err := d.Engine.WithdrawFor(ctx, rc.ID, workflow.Actor(u.ID), "asked by phone, identity checked"); err != nil {
		t.Fatalf("officer withdraws on the requester's behalf: %v", err)
	}
}

// Status links work while the request is open and for the grace period
// after it closes, then answer 410.
func TestStatusLinksEndAfterCloseAndGrace(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, d, `{"kind": "erasure", "subject": {"email": "gus@example.com", "country": "NL"}}`, nil)
	mustReceipt(t, resp, b)
	confirmed := d.URL + post(t, d, apitest.LinkWith(t, d.MailTo(t, "gus@example.com", 1)[0], "/verify/"), nil).Header.Get("Location")
	status := apitest.LinkWith(t, d.MailWithSubject(t, "gus@example.com", "is being handled"), "/status/")
	d.Clock.Advance(60 * 24 * time.Hour) // open for two months: still valid
	if r, _ := get(t, d, status); r.StatusCode != 200 {
		t.Fatalf("open request, 60 days on: %d", r.StatusCode)
	}
	if r := post(t, d, status+"/withdraw", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	d.Clock.Advance(db.StatusLinkGrace - time.Hour)
	for _, l := range []string{status, confirmed} {
		if r, _ := get(t, d, l); r.StatusCode != 200 {
			t.Fatalf("within the grace period after close: %d", r.StatusCode)
		}
	}
	d.Clock.Advance(2 * time.Hour)
	for _, l := range []string{status, confirmed} {
		if r, body := get(t, d, l); r.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
			t.Errorf("after close + grace: %d\n%s", r.StatusCode, body)
		}
	}
}

// The GPC endpoint answers the same bytes for a new and a repeated email
// (it never tells a stranger whether someone opted out, nor hands out a
// link), and a browser's signal is its own record, never folded into a
// request someone filed with an email address.
func TestGPCAnswerRevealsNothingAndKeepsDevicesApart(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	r1, b1 := gpcPost(t, d, `{"email": "victim@example.com"}`, true)
	r2, b2 := gpcPost(t, d, `{"email": "victim@example.com"}`, true)
	if r1.StatusCode != http.StatusAccepted || r2.StatusCode != r1.StatusCode || !bytes.Equal(b1, b2) {
		t.Fatalf("new %d %s / repeat %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	if bytes.Contains(b1, []byte("/status/")) || bytes.Contains(b1, []byte("DSR-")) || !bytes.Contains(b1, []byte(`"status":"recorded"`)) {
		t.Fatalf("GPC answer: %s", b1)
	}
	// The victim's own browser later sends its signal with the same email:
	// it is a record of its own, not the stranger's email-keyed one.
	r3, b3 := gpcPost(t, d, `{"email": "victim@example.com", "device_id": "browser-of-victim-1"}`, true)
	r4, b4 := gpcPost(t, d, `{"device_id": "browser-of-victim-1"}`, true)
	if r3.StatusCode != http.StatusAccepted || !bytes.Equal(b3, b1) || r4.StatusCode != http.StatusAccepted || !bytes.Equal(b4, b1) {
		t.Fatalf("device signal: %d %s / %d %s", r3.StatusCode, b3, r4.StatusCode, b4)
	}
	var emailKeyed, deviceKeyed int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE fields ->> 'device_id' IS NULL), count(*) FILTER (WHERE fields ->> 'device_id' = 'browser-of-victim-1')
		FROM requests WHERE channel = 'gpc'`).Scan(&emailKeyed, &deviceKeyed); err != nil {
		t.Fatal(err)
	}
	if emailKeyed != 1 || deviceKeyed != 1 {
		t.Fatalf("%d email-keyed and %d device records, want 1 and 1", emailKeyed, deviceKeyed)
	}
	// The victim's acknowledgment carries a link that cannot withdraw.
	for _, m := range d.MailTo(t, "victim@example.com", 2) {
		if r := post(t, d, apitest.LinkWith(t, m, "/status/")+"/withdraw", nil); r.StatusCode != http.StatusForbidden {
			t.Errorf("withdraw a GPC opt-out by its emailed link: %d, want 403", r.StatusCode)
		}
	}
}
