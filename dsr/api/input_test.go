package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/notify"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// TestUnstorableInputIsRefused sends NUL bytes, broken UTF-8 and non-UUID
// ids through every door that stores or filters text: each answers 4xx
// (422 with the field where there is one), never 500, and nothing of it is
// stored.
func TestUnstorableInputIsRefused(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "nul@testorg.example", workflow.RoleOfficer)

	// JSON intake: NUL (JSON's \u0000) in each kind of field.
	jsonCases := []struct{ name, body, field string }{
		{"name", `{"kind": "access", "subject": {"email": "a@example.com", "name": "A\u0000B", "country": "NL"}}`, "subject.name"},
		{"details", `{"kind": "access", "details": "x\u0000y", "subject": {"email": "a@example.com", "country": "NL"}}`, "details"},
		{"kind field", `{"kind": "rectification", "fields": {"inaccurate": "a\u0000", "correction": "b"}, "subject": {"email": "a@example.com", "country": "NL"}}`, "fields.inaccurate"},
		{"country", `{"kind": "access", "subject": {"email": "a@example.com", "country": "N\u0000"}}`, "subject.country"},
		{"email", `{"kind": "access", "subject": {"email": "a\u0000@example.com", "country": "NL"}}`, "subject.email"},
		{"kind", `{"kind": "acc\u0000ess", "subject": {"email": "a@example.com", "country": "NL"}}`, "kind"},
		{"regime", `{"kind": "access", "regime": "gd\u0000pr", "subject": {"email": "a@example.com", "country": "NL"}}`, "regime"},
	}
	for _, tc := range jsonCases {
		resp, b := postJSON(t, d, tc.body, nil)
		var eb errorBody
		_ = json.Unmarshal(b, &eb)
		if resp.StatusCode != http.StatusUnprocessableEntity || eb.Error.Fields[tc.field] == "" {
			t.Errorf("JSON %s: %d %s, want 422 with %s", tc.name, resp.StatusCode, b, tc.field)
		}
	}

	// The form: NUL and broken UTF-8 (a raw 0xFF byte).
	for name, v := range map[string]string{"nul": "A\x00B", "utf8": "A\xffB"} {
		form := url.Values{"kind": {"access"}, "email": {"a@example.com"}, "country": {"NL"}, "name": {v}, "details": {v}}
		resp := post(t, d, d.URL+"/requests", form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("form %s: %d, want 422", name, resp.StatusCode)
		}
	}
	var n int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d requests stored from unstorable input", n)
	}

	// Admin API filters and actions.
	for _, q := range []string{"q=%00", "status=%00", "kind=%00", "regime=%00", "assignee=%00", "assignee=not-a-uuid", "q=%FF", "cursor=%00"} {
		code, out := adminCall(t, d, tok, "GET", "/api/v1/admin/requests?"+q, nil)
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
			t.Errorf("GET admin queue ?%s: %d %v, want 400/422", q, code, out)
		}
	}
	rc := newRequest(t, d, "access", "nul-subject@example.com", "NL", "")
	walkVerification(t, d, "nul-subject@example.com")
	for _, a := range []struct {
		action string
		body   map[string]string
	}{
		{"note", map[string]string{"note": "a\x00b"}},
		{"assign", map[string]string{"assignee": "not-a-uuid"}},
		{"assign", map[string]string{"assignee": "\x00"}},
		{"request-info", map[string]string{"note": "which\x00account"}},
		{"extend", map[string]string{"reason": "\x00"}},
		{"deny", map[string]string{"reason": "manifestly_unfounded", "explanation": "no\x00"}},
		{"verify", map[string]string{"method": "phone\x00", "note": "x"}},
	} {
		code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/"+a.action, a.body)
		if code != http.StatusBadRequest && code != http.StatusUnprocessableEntity && code != http.StatusConflict {
			t.Errorf("admin %s %q: %d %v, want 4xx", a.action, a.body, code, out)
		}
	}

	// Console: filters and a note.
	br := login(t, d, "nul@testorg.example")
	for _, q := range []string{"q=%00", "assignee=not-a-uuid", "status=%00"} {
		if resp, _ := br.get("/console?" + q); resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("console ?%s: %d, want 400/422", q, resp.StatusCode)
		}
	}
	br.get("/console/requests/" + rc.ID)
	if resp, body := br.post("/console/requests/"+rc.ID+"/note", url.Values{"note": {"a\x00b"}}); resp.StatusCode != http.StatusUnprocessableEntity && resp.StatusCode != http.StatusBadRequest {
		t.Errorf("console note: %d %s", resp.StatusCode, body)
	}

	// The status-page answer.
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/request-info", map[string]string{"reason": "clarification", "note": "Which account?"}); code != 200 {
		t.Fatalf("request-info: %d %v", code, out)
	}
	m := d.MailWithSubject(t, "nul-subject@example.com", "more information")
	status := apitest.LinkWith(t, m, "/status/")
	br2 := &browser{t: t, d: d, c: d.Client}
	br2.get(strings.TrimPrefix(status, d.URL))
	for _, answer := range []string{"my\x00account", "my\xffaccount"} {
		if resp, body := br2.post(strings.TrimPrefix(status, d.URL)+"/answer", url.Values{"answer": {answer}}); resp.StatusCode != http.StatusUnprocessableEntity ||
			!strings.Contains(body, "Your answer must") {
			t.Errorf("status answer %q: %d %s", answer, resp.StatusCode, body)
		}
	}
	var notes int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM notes WHERE request_id = $1`, rc.ID).Scan(&notes)
	if notes != 0 {
		t.Errorf("%d notes stored from unstorable input", notes)
	}
}

// TestNamesWithControlCharactersAreRefused: a subject or agent name with
// CR/LF (which would break every mail header to that person) or over 200
// characters is refused with a field error in the JSON API, the form and
// officer entry; nothing is stored.
func TestNamesWithControlCharactersAreRefused(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "names@testorg.example", workflow.RoleOfficer)
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	for _, tc := range []struct{ name, body, field string }{
		{"subject CRLF", `{"kind": "access", "subject": {"email": "a@example.com", "name": "Ann\r\nBcc: x@example.com", "country": "US", "state": "CA"}}`, "subject.name"},
		{"subject too long", `{"kind": "access", "subject": {"email": "a@example.com", "name": "` + strings.Repeat("a", 201) + `", "country": "NL"}}`, "subject.name"},
		{"agent LF", `{"kind": "access", "subject": {"email": "a@example.com", "country": "US", "state": "CA"},
			"agent": {"name": "Agent\nCo", "email": "agent@example.org", "permission": {"filename": "p.pdf", "content_base64": "` + perm + `"}}}`, "agent.name"},
		{"agent control", `{"kind": "access", "subject": {"email": "a@example.com", "country": "US", "state": "CA"},
			"agent": {"name": "Agent\u001bCo", "email": "agent@example.org", "permission": {"filename": "p.pdf", "content_base64": "` + perm + `"}}}`, "agent.name"},
	} {
		resp, b := postJSON(t, d, tc.body, nil)
		var eb errorBody
		_ = json.Unmarshal(b, &eb)
		if resp.StatusCode != http.StatusUnprocessableEntity || eb.Error.Fields[tc.field] == "" {
			t.Errorf("JSON %s: %d %s, want 422 with %s", tc.name, resp.StatusCode, b, tc.field)
		}
	}
	form := url.Values{"kind": {"access"}, "email": {"a@example.com"}, "country": {"NL"}, "name": {"Ann\r\nB"}}
	if resp := post(t, d, d.URL+"/requests", form); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("form: %d, want 422", resp.StatusCode)
	}
	body := map[string]any{"kind": "access", "received_at": d.Clock.Now().Add(-time.Hour).UTC().Format(time.RFC3339),
		"subject": map[string]any{"email": "letter@example.com", "name": "Lou\r\nX", "country": "US", "state": "CA"}}
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests", body); code != http.StatusUnprocessableEntity || !strings.Contains(mustJSON(out), "subject.name") {
		t.Errorf("officer entry: %d %v, want 422 subject.name", code, out)
	}
	var n int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d requests stored", n)
	}
}

// TestAgentNameStaysOutOfSubjectsAndLinks: the agent's name is text the
// filer chose, mailed to an address the filer chose. It never reaches the
// Subject, a URL in it never becomes a link in the HTML part, and the body
// quotes it visibly, cut to a short length.
func TestAgentNameStaysOutOfSubjectsAndLinks(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	name := "Prize team - claim at https://evil.example/claim now " + strings.Repeat("x", 140)
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "victim@example.com", "country": "US", "state": "CA"},
		"agent": {"name": "`+name+`", "email": "agent@example.org", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
	mustReceipt(t, resp, b)
	m := d.MailTo(t, "victim@example.com", 1)[0]
	if strings.Contains(m.Subject, "evil") || strings.Contains(m.Subject, "Prize") {
		t.Fatalf("agent name in the subject: %q", m.Subject)
	}
	if !strings.Contains(m.Text, `The name given was: "Prize team - claim at https://evil.example/claim now xxx`) ||
		!strings.Contains(m.Text, `x…"`) || strings.Contains(m.Text, strings.Repeat("x", 100)) {
		t.Fatalf("text does not quote the name, cut short:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, `href="https://evil.example`) || !strings.Contains(m.HTML, "https://evil.example/claim") {
		t.Fatalf("HTML links the agent's URL:\n%s", m.HTML)
	}
	if verify := apitest.LinkWith(t, m, "/verify/"); !strings.Contains(m.HTML, `href="`+verify+`"`) {
		t.Fatalf("our own link is no longer a link:\n%s", m.HTML)
	}
}

// TestHeldReplyIsAcceptedFromConsoleAndAPI: a stranger's reply to our
// question shows on the console request page for officers only (not on
// the requester's status page) and leaves the request paused; the
// console's accept resumes it, and the admin API's accept is idempotent
// and answers 404 for ids that do not belong together.
func TestHeldReplyIsAcceptedFromConsoleAndAPI(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	ctx := context.Background()
	_, tok := staff(t, d, "held@testorg.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "held-subject@example.com", "GB", "")
	walkVerification(t, d, "held-subject@example.com")
	if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/request-info", map[string]string{"reason": "clarification", "note": "Which account?"}); code != 200 {
		t.Fatalf("request-info: %d %v", code, out)
	}
	ask := d.MailWithSubject(t, "held-subject@example.com", "more information")
	raw := "From: Mallory <mallory@evil.example>\r\nTo: privacy@testorg.example\r\nSubject: Re: info\r\nMessage-ID: <held-1@evil.example>\r\n" +
		"In-Reply-To: <" + ask.MessageID + ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nPlease send everything to me instead.\r\n"
	if err := d.Engine.StoreInbound(ctx, notify.InboundMessage{From: "mallory@evil.example", To: []string{"privacy@testorg.example"},
		RemoteIP: "127.0.0.1", Helo: "mx.evil.example", Raw: []byte(raw)}); err != nil {
		t.Fatal(err)
	}
	var emailID string
	for deadline := time.Now().Add(20 * time.Second); emailID == ""; {
		all, _ := db.InboundEmails(ctx, d.Pool, db.InboundReply, 10)
		if len(all) == 1 {
			emailID = all[0].ID
		} else if time.Now().After(deadline) {
			t.Fatal("reply not processed after 20s")
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	br := login(t, d, "held@testorg.example")
	_, page := br.get("/console/requests/" + rc.ID)
	if !strings.Contains(page, `id="held-replies"`) || !strings.Contains(page, "mallory@evil.example") ||
		!strings.Contains(page, "Please send everything to me instead.") || !strings.Contains(page, "/inbound/"+emailID+"/accept") {
		t.Fatalf("console page lacks the held reply:\n%s", page)
	}
	if !strings.Contains(page, `data-status="awaiting_requester"`) {
		t.Fatal("a stranger's reply resumed the request")
	}
	_, status := get(t, d, apitest.LinkWith(t, ask, "/status/"))
	if strings.Contains(status, "send everything") || strings.Contains(status, "mallory") {
		t.Fatalf("status page shows the stranger's reply:\n%s", status)
	}
	for _, p := range []string{"/inbound/not-a-uuid/accept", "/inbound/00000000-0000-0000-0000-000000000000/accept"} {
		if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+p, nil); code != http.StatusNotFound {
			t.Errorf("accept %s: %d %v, want 404", p, code, out)
		}
	}
	other := newRequest(t, d, "access", "other@example.com", "GB", "")
	if code, _ := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+other.ID+"/inbound/"+emailID+"/accept", nil); code != http.StatusNotFound {
		t.Errorf("accept on another request: %d, want 404", code)
	}
	if resp, body := br.post("/console/requests/"+rc.ID+"/inbound/"+emailID+"/accept", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("console accept: %d %s", resp.StatusCode, body)
	}
	code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/inbound/"+emailID+"/accept", nil)
	if code != 200 || out["status"] != "in_progress" {
		t.Fatalf("API accept after the console's: %d %v", code, out)
	}
	if _, page = br.get("/console/requests/" + rc.ID); !strings.Contains(page, `data-trust="accepted"`) {
		t.Fatalf("console does not show the reply accepted:\n%s", page)
	}
}
