package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr/api"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// minimalPDF is the start of a PDF: enough for content sniffing.
var minimalPDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

type receipt struct {
	ID         string `json:"id"`
	Ref        string `json:"ref"`
	Kind       string `json:"kind"`
	Regime     string `json:"regime"`
	Status     string `json:"status"`
	ReceivedAt string `json:"received_at"`
	DueAt      string `json:"due_at"`
	StatusURL  string `json:"status_url"`
}

type errorBody struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
		Rule    string            `json:"rule"`
	} `json:"error"`
}

func postJSON(t *testing.T, d *apitest.Desk, body string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/requests", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, d, req)
}

func do(t *testing.T, d *apitest.Desk, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := d.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func get(t *testing.T, d *apitest.Desk, u string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	resp, b := do(t, d, req)
	return resp, string(b)
}

func post(t *testing.T, d *apitest.Desk, u string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := do(t, d, req)
	return resp
}

func mustReceipt(t *testing.T, resp *http.Response, b []byte) receipt {
	t.Helper()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", resp.StatusCode, b)
	}
	var rc receipt
	if err := json.Unmarshal(b, &rc); err != nil {
		t.Fatal(err)
	}
	return rc
}

// kindCases are valid requests of every kind under the GDPR (NL).
var kindCases = []struct {
	kind   string
	fields string // JSON object
	form   url.Values
}{
	{"access", `{"scope": "copy"}`, url.Values{"f_access_scope": {"copy"}}},
	{"rectification", `{"inaccurate": "my surname", "correction": "de Vries"}`, url.Values{"f_rectification_inaccurate": {"my surname"}, "f_rectification_correction": {"de Vries"}}},
	{"erasure", `{}`, url.Values{}},
	{"portability", `{"format": "csv", "send_to": "Other BV"}`, url.Values{"f_portability_format": {"csv"}}},
	{"opt_out", `{"opt_out_of": ["direct_marketing"]}`, url.Values{"f_opt_out_opt_out_of": {"direct_marketing"}}},
	{"restriction", `{"ground": "accuracy_contested"}`, url.Values{"f_restriction_ground": {"accuracy_contested"}}},
	{"objection", `{"processing": "profiling for ads", "grounds": "my particular situation"}`, url.Values{"f_objection_processing": {"profiling for ads"}, "f_objection_grounds": {"my particular situation"}}},
	{"withdraw_consent", `{"consent_for": "the newsletter"}`, url.Values{"f_withdraw_consent_consent_for": {"the newsletter"}}},
	{"automated_decision", `{"decision": "credit limit refused", "wants": ["human_review", "contest"], "view": "my income is higher"}`, url.Values{"f_automated_decision_decision": {"credit limit refused"}, "f_automated_decision_wants": {"human_review", "contest"}}},
}

// TestEveryKindThroughAPIAndForm walks submit → verification email →
// confirm page → confirm → acknowledged email with the due date → status
// page, for each kind, once through the JSON API and once through the form.
func TestEveryKindThroughAPIAndForm(t *testing.T) {
	t.Parallel()
	for _, kc := range kindCases {
		for _, via := range []string{"api", "form"} {
			t.Run(kc.kind+"/"+via, func(t *testing.T) {
				t.Parallel()
				d := apitest.Start(t, apitest.Options{})
				email := kc.kind + "." + via + "@example.com"
				if via == "api" {
					resp, b := postJSON(t, d, `{"kind": "`+kc.kind+`", "subject": {"email": "`+email+`", "name": "Ana", "country": "NL", "state": null}, "details": "thanks", "fields": `+kc.fields+`}`, nil)
					rc := mustReceipt(t, resp, b)
					if rc.Regime != "gdpr" || rc.Kind != kc.kind || !strings.HasPrefix(rc.Ref, "DSR-") || rc.DueAt == "" || !strings.Contains(rc.StatusURL, "/status/") {
						t.Fatalf("receipt = %+v", rc)
					}
					if kc.kind == "opt_out" {
						if rc.Status != "open" {
							t.Fatalf("GDPR direct-marketing opt-out status = %s, want open (no verification)", rc.Status)
						}
						return
					}
					if rc.Status != "pending_verification" {
						t.Fatalf("status = %s", rc.Status)
					}
				} else {
					f := url.Values{"kind": {kc.kind}, "email": {email}, "name": {"Ana"}, "country": {"NL"}}
					for k, v := range kc.form {
						f[k] = v
					}
					resp := post(t, d, d.URL+"/requests", f)
					if resp.StatusCode != http.StatusCreated {
						t.Fatalf("form status %d", resp.StatusCode)
					}
					if kc.kind == "opt_out" {
						return
					}
				}
				walkVerification(t, d, email)
			})
		}
	}
}

func walkVerification(t *testing.T, d *apitest.Desk, email string) {
	t.Helper()
	msgs := d.MailTo(t, email, 1)
	if !strings.Contains(msgs[0].Subject, "Please confirm") || msgs[0].HTML == "" {
		t.Fatalf("first email: subject %q, html %d bytes", msgs[0].Subject, len(msgs[0].HTML))
	}
	verify := apitest.LinkWith(t, msgs[0], "/verify/")
	apitest.LinkWith(t, msgs[0], "/status/") // every email carries the status link

	// GET shows a button and changes nothing (mail scanners follow links).
	for i := 0; i < 2; i++ {
		resp, body := get(t, d, verify)
		if resp.StatusCode != 200 || !strings.Contains(body, `<button type="submit">Confirm</button>`) {
			t.Fatalf("verify page %d: %s", resp.StatusCode, body)
		}
	}
	resp := post(t, d, verify, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/status/") {
		t.Fatalf("confirm: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ack := d.MailTo(t, email, 2)[1]
	if !strings.Contains(ack.Subject, "is being handled") || !strings.Contains(ack.Text, "We will respond by ") {
		t.Fatalf("acknowledged email: %q\n%s", ack.Subject, ack.Text)
	}
	resp2, page := get(t, d, d.URL+resp.Header.Get("Location"))
	if resp2.StatusCode != 200 || !strings.Contains(page, `<span class="status" id="status">Received</span>`) || !strings.Contains(page, "your request is confirmed") {
		t.Fatalf("status page %d:\n%s", resp2.StatusCode, page)
	}
	// The link is single-use.
	if resp := post(t, d, verify, nil); resp.StatusCode != http.StatusGone {
		t.Fatalf("second confirm: %d, want 410", resp.StatusCode)
	}
}

func TestAgentRequestWaitsForSubjectConfirmation(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	perm := base64.StdEncoding.EncodeToString(minimalPDF)
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "carla@example.com", "name": "Carla", "country": "US", "state": "CA"},
		"agent": {"name": "Agent Co", "email": "agent@example.org", "permission": {"filename": "../../permission.pdf", "content_base64": "`+perm+`"}}}`, nil)
	rc := mustReceipt(t, resp, b)
	if rc.Regime != "ccpa" || rc.Status != "pending_verification" {
		t.Fatalf("receipt %+v", rc)
	}
	subj := d.MailTo(t, "carla@example.com", 1)[0]
	agent := d.MailTo(t, "agent@example.org", 1)[0]
	if !strings.Contains(subj.Subject, "did you ask an agent") || strings.Contains(subj.Subject, "Agent Co") ||
		!strings.Contains(subj.Text, `The name given was: "Agent Co"`) || !strings.Contains(agent.Text, "confirm directly") {
		t.Fatalf("subject mail %q / agent mail:\n%s", subj.Subject, agent.Text)
	}
	// Nothing proceeds before the subject confirms: with every job due now
	// worked (and none left running), still no acknowledgment.
	d.RunDue(t, 0)
	if n := len(d.SMTP.Messages()); n != 2 {
		t.Fatalf("%d messages before confirmation, want 2", n)
	}
	var status, ctype, fname string
	if err := d.Pool.QueryRow(context.Background(), `SELECT r.status, a.content_type, a.filename FROM requests r JOIN attachments a ON a.request_id = r.id WHERE r.id = $1`, rc.ID).Scan(&status, &ctype, &fname); err != nil {
		t.Fatal(err)
	}
	if status != "pending_verification" || ctype != "application/pdf" || fname != "permission.pdf" {
		t.Fatalf("status %s, permission %s %q", status, ctype, fname)
	}
	// The agent sees the status page of the request they filed.
	_, page := get(t, d, apitest.LinkWith(t, agent, "/status/"))
	if !strings.Contains(page, "You filed this request as authorized agent for Carla") {
		t.Fatalf("agent status page:\n%s", page)
	}
	if resp := post(t, d, apitest.LinkWith(t, subj, "/verify/"), nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirm: %d", resp.StatusCode)
	}
	if ack := d.MailTo(t, "carla@example.com", 2)[1]; !strings.Contains(ack.Subject, "is being handled") {
		t.Fatalf("subject ack %q", ack.Subject)
	}
	if ack := d.MailTo(t, "agent@example.org", 2)[1]; !strings.Contains(ack.Text, "The request you filed to give Carla a copy of their personal data") || strings.Contains(ack.Text, "your personal data") {
		t.Fatalf("agent ack:\n%s", ack.Text)
	}
	var confirmed bool
	_ = d.Pool.QueryRow(context.Background(), `SELECT agent_confirmed_at IS NOT NULL FROM requests WHERE id = $1`, rc.ID).Scan(&confirmed)
	if !confirmed {
		t.Fatal("agent authority not recorded as confirmed")
	}
}

func TestCCPAOptOutNeedsNoVerification(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, d, `{"kind": "opt_out", "subject": {"email": "dan@example.com", "country": "US", "state": "CA"}, "fields": {"opt_out_of": ["sale", "sharing"]}}`, nil)
	rc := mustReceipt(t, resp, b)
	if rc.Status != "open" || rc.Regime != "ccpa" {
		t.Fatalf("receipt %+v", rc)
	}
	var ledger string
	_ = d.Pool.QueryRow(context.Background(), `SELECT rule FROM deadline_ledger WHERE request_id = $1 AND what = 'legal_due'`, rc.ID).Scan(&ledger)
	if !strings.Contains(ledger, "15 business days") {
		t.Fatalf("ledger rule %q", ledger)
	}
	m := d.MailTo(t, "dan@example.com", 1)[0]
	if strings.Contains(m.Text, "/verify/") || !strings.Contains(m.Subject, "is being handled") {
		t.Fatalf("opt-out mail %q:\n%s", m.Subject, m.Text)
	}
}

func TestWithdrawFromStatusPage(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	perm := base64.StdEncoding.EncodeToString(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...))
	resp, b := postJSON(t, d, `{"kind": "erasure", "subject": {"email": "eve@example.com", "country": "DE"},
		"agent": {"name": "Helper Ltd", "email": "help@example.org", "permission": {"filename": "p.png", "content_base64": "`+perm+`"}}}`, nil)
	rc := mustReceipt(t, resp, b)
	// Withdrawing needs a link from after confirmation.
	first := d.MailTo(t, "eve@example.com", 1)[0]
	if r := post(t, d, apitest.LinkWith(t, first, "/status/")+"/withdraw", nil); r.StatusCode != http.StatusForbidden {
		t.Fatalf("withdraw before confirmation: %d, want 403", r.StatusCode)
	}
	post(t, d, apitest.LinkWith(t, first, "/verify/"), nil)
	status := apitest.LinkWith(t, d.MailWithSubject(t, "eve@example.com", "is being handled"), "/status/")
	r, page := get(t, d, status+"/withdraw")
	if r.StatusCode != 200 || !strings.Contains(page, "Yes, withdraw the request") || !strings.Contains(page, "we will not act on the request to delete your personal data.") {
		t.Fatalf("confirm page %d:\n%s", r.StatusCode, page)
	}
	if r := post(t, d, status+"/withdraw", nil); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", r.StatusCode)
	}
	for _, addr := range []string{"eve@example.com", "help@example.org"} {
		d.MailWithSubject(t, addr, "withdrawn")
	}
	var st string
	_ = d.Pool.QueryRow(context.Background(), `SELECT status FROM requests WHERE id = $1`, rc.ID).Scan(&st)
	if st != "withdrawn" {
		t.Fatalf("status %s", st)
	}
	if r := post(t, d, status+"/withdraw", nil); r.StatusCode != http.StatusConflict {
		t.Fatalf("second withdraw: %d, want 409", r.StatusCode)
	}
}

func TestSMTPTemporaryFailuresAreRetriedAndDeliveredOnce(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	d.SMTP.FailNext(2, 451, "try again later")
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "fay@example.com", "country": "FR"}}`, nil)
	rc := mustReceipt(t, resp, b)
	d.MailTo(t, "fay@example.com", 1)
	var status string
	var attempts int
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_ = d.Pool.QueryRow(context.Background(), `SELECT status, attempts FROM messages WHERE request_id = $1`, rc.ID).Scan(&status, &attempts)
		if status == "sent" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if status != "sent" || attempts != 3 {
		t.Fatalf("message status %s after %d attempts, want sent after 3", status, attempts)
	}
	if got := d.SMTP.Attempts(); got != 3 {
		t.Fatalf("SMTP saw %d DATA attempts, want 3", got)
	}
	if n := len(d.SMTP.Messages()); n != 1 {
		t.Fatalf("%d messages arrived, want exactly 1", n)
	}
}

func TestSMTPPermanentFailureMarksMessageFailed(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	d.SMTP.FailNext(1, 550, "no such user")
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "gil@example.com", "country": "FR"}}`, nil)
	rc := mustReceipt(t, resp, b)
	var status, lastErr string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && status != "failed" {
		_ = d.Pool.QueryRow(context.Background(), `SELECT status, last_error FROM messages WHERE request_id = $1`, rc.ID).Scan(&status, &lastErr)
		time.Sleep(20 * time.Millisecond)
	}
	if status != "failed" || !strings.Contains(lastErr, "550") {
		t.Fatalf("status %s, last error %q", status, lastErr)
	}
}

func TestIdempotencyKeyReturnsFirstAnswer(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	body := `{"kind": "access", "subject": {"email": "hal@example.com", "country": "NL"}}`
	key := map[string]string{"Idempotency-Key": "retry-123"}
	r1, b1 := postJSON(t, d, body, key)
	r2, b2 := postJSON(t, d, body, key)
	if r1.StatusCode != 201 || r2.StatusCode != 201 || !bytes.Equal(b1, b2) {
		t.Fatalf("first %d %s\nretry %d %s", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	var n int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
	r3, b3 := postJSON(t, d, strings.Replace(body, "access", "erasure", 1), key)
	var eb errorBody
	_ = json.Unmarshal(b3, &eb)
	if r3.StatusCode != http.StatusConflict || eb.Error.Code != "conflict" {
		t.Fatalf("reused key with another body: %d %s", r3.StatusCode, b3)
	}
	if d.MailTo(t, "hal@example.com", 1); len(d.SMTP.Messages()) != 1 {
		t.Fatalf("%d emails, want 1", len(d.SMTP.Messages()))
	}
}

func TestBadInputGetsDocumentedErrors(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	png := base64.StdEncoding.EncodeToString([]byte("GIF89a not a permitted type"))
	cases := []struct {
		name, body, ctype string
		status            int
		code, field       string
	}{
		{"malformed JSON", `{"kind": "access",`, "application/json", 400, "invalid", ""},
		{"not an object", `[1,2]`, "application/json", 422, "invalid", ""},
		{"wrong content type", `kind=access`, "application/x-www-form-urlencoded", 415, "unsupported", ""},
		{"unknown kind", `{"kind": "delete_everything", "subject": {"email": "a@example.com", "country": "NL"}}`, "application/json", 422, "invalid", "kind"},
		{"unknown regime", `{"kind": "access", "regime": "mars", "subject": {"email": "a@example.com"}}`, "application/json", 422, "invalid", "regime"},
		{"regime not offered", `{"kind": "access", "regime": "lgpd", "subject": {"email": "a@example.com"}}`, "application/json", 422, "invalid", "regime"},
		{"missing email", `{"kind": "access", "subject": {"country": "NL"}}`, "application/json", 422, "invalid", "subject.email"},
		{"invalid email", `{"kind": "access", "subject": {"email": "not-an-email", "country": "NL"}}`, "application/json", 422, "invalid", "subject.email"},
		{"email wrong type", `{"kind": "access", "subject": {"email": 42, "country": "NL"}}`, "application/json", 422, "invalid", "subject.email"},
		{"unknown field", `{"kind": "access", "subject": {"email": "a@example.com", "country": "NL"}, "priority": "high"}`, "application/json", 422, "invalid", "priority"},
		{"missing kind field", `{"kind": "portability", "subject": {"email": "a@example.com", "country": "NL"}}`, "application/json", 422, "invalid", "fields.format"},
		{"kind not in regime", `{"kind": "restriction", "subject": {"email": "a@example.com", "country": "US", "state": "CA"}}`, "application/json", 422, "invalid", "kind"},
		{"no rights there", `{"kind": "access", "subject": {"email": "a@example.com", "country": "JP"}}`, "application/json", 422, "not_available", ""},
		{"US without state", `{"kind": "access", "subject": {"email": "a@example.com", "country": "US"}}`, "application/json", 422, "invalid", "subject.state"},
		{"permission not PDF/PNG/JPEG", `{"kind": "access", "subject": {"email": "a@example.com", "country": "NL"}, "agent": {"name": "A", "email": "b@example.org", "permission": {"filename": "p.pdf", "content_base64": "` + png + `"}}}`, "application/json", 422, "invalid", "agent.permission"},
		{"permission not base64", `{"kind": "access", "subject": {"email": "a@example.com", "country": "NL"}, "agent": {"name": "A", "email": "b@example.org", "permission": {"filename": "p.pdf", "content_base64": "!!!"}}}`, "application/json", 422, "invalid", "agent.permission.content_base64"},
		{"oversized body", `{"kind": "access", "details": "` + strings.Repeat("x", 16<<20) + `"}`, "application/json", 413, "too_large", ""},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/v1/requests", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		resp, b := do(t, d, req)
		var eb errorBody
		if err := json.Unmarshal(b, &eb); err != nil {
			t.Errorf("%s: body is not the error envelope: %s", tc.name, b)
			continue
		}
		if resp.StatusCode != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, b, tc.status, tc.code)
		}
		if tc.field != "" && eb.Error.Fields[tc.field] == "" {
			t.Errorf("%s: no error for field %s: %s", tc.name, tc.field, b)
		}
	}
	var n int
	_ = d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d requests stored from bad input", n)
	}
}

func TestUsedAndExpiredTokensAre410(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "ian@example.com", "country": "NL"}}`, nil)
	mustReceipt(t, resp, b)
	verify := apitest.LinkWith(t, d.MailTo(t, "ian@example.com", 1)[0], "/verify/")
	if r, _ := get(t, d, verify+"x"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown token: %d, want 404", r.StatusCode)
	}
	d.Clock.Advance(15 * 24 * time.Hour) // links last 14 days
	r, body := get(t, d, verify)
	if r.StatusCode != http.StatusGone || !strings.Contains(body, "This link has expired") || !strings.Contains(body, "privacy@testorg.example") {
		t.Fatalf("expired link: %d\n%s", r.StatusCode, body)
	}
	if r := post(t, d, verify, nil); r.StatusCode != http.StatusGone {
		t.Fatalf("confirm with expired link: %d", r.StatusCode)
	}
}

func TestFormShowsErrorsNextToFieldsAndKeepsInput(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("kind", "access")
	_ = mw.WriteField("email", "bad@")
	_ = mw.WriteField("name", "Jo <b>")
	_ = mw.WriteField("country", "NL")
	_ = mw.WriteField("by_agent", "1")
	_ = mw.WriteField("agent_name", "Agent")
	_ = mw.WriteField("agent_email", "agent@example.org")
	fw, _ := mw.CreateFormFile("permission", "permission.pdf")
	_, _ = fw.Write([]byte("MZ this is an executable"))
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/requests", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, b := do(t, d, req)
	page := string(b)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, want := range []string{`id="email-error">Enter an email address like name@example.com.`, `id="permission-error">The permission file must be a PDF, PNG or JPEG document.`,
		`value="Jo &lt;b&gt;"`, `role="alert"`} {
		if !strings.Contains(page, want) {
			t.Errorf("form page lacks %q", want)
		}
	}
	// A place without rights is said clearly instead of accepted.
	resp = post(t, d, d.URL+"/requests", url.Values{"kind": {"access"}, "email": {"k@example.com"}, "country": {"JP"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("JP: %d", resp.StatusCode)
	}
}

func TestRateLimitAnswers429(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{PublicRate: 0.001, PublicBurst: 2})
	codes := []int{}
	for i := 0; i < 3; i++ {
		resp, _ := postJSON(t, d, `{"kind": "access", "subject": {"email": "lee@example.com", "country": "NL"}}`, nil)
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 201 || codes[1] != 201 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("codes %v, want [201 201 429]", codes)
	}
}

// TestHeadAndFavicon: monitors probe the site with HEAD /, and browsers
// ask for /favicon.ico on every page whatever the page links.
func TestHeadAndFavicon(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	req, err := http.NewRequest(http.MethodHead, d.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("HEAD /: %d %q, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r, body := get(t, d, d.URL+"/favicon.ico")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/x-icon" || !strings.HasPrefix(body, "\x00\x00\x01\x00") {
		t.Fatalf("GET /favicon.ico: %d %q, %d bytes, want 200 image/x-icon with an ICO header", r.StatusCode, r.Header.Get("Content-Type"), len(body))
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if r, _ := get(t, d, d.URL+p); r.StatusCode != 200 {
			t.Fatalf("%s: %d", p, r.StatusCode)
		}
	}
	// A server whose engine's pool is gone reports it.
	gone, err := pgxpool.New(context.Background(), dbtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	engine, err := workflow.New(gone, workflow.Options{Org: d.Org})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Engine: engine})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the database gone: %d, want 503", rec.Code)
	}
}
