package api_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// seedDesk starts a desk with one of the seed configs in examples/seeds.
func seedDesk(t *testing.T, name string) *apitest.Desk {
	t.Helper()
	b, err := os.ReadFile("../../examples/seeds/" + name + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return apitest.Start(t, apitest.Options{ConfigJSON: string(b)})
}

// TestDattoDenialNamesTheICO: Datto's policy sends complaints to the UK
// authority, so its denial mail (over real SMTP) and status page name the
// ICO instead of the law's "a supervisory authority".
func TestDattoDenialNamesTheICO(t *testing.T) {
	t.Parallel()
	d := seedDesk(t, "datto")
	_, tok := staff(t, d, "odette@datto.example", workflow.RoleOfficer)
	rc := newRequest(t, d, "access", "ana@example.com", "NL", "")
	verifyAndDeny(t, d, tok, rc.ID)
	m := d.MailWithSubject(t, "ana@example.com", "cannot fulfil")
	for _, want := range []string{"Information Commissioner's Office (ICO)", "https://ico.org.uk/make-a-complaint/", "Wycliffe House", "Our data protection officer: Datto Data Protection representative, privacy@datto.com"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("denial mail lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "a supervisory authority") || strings.Contains(m.HTML, "a supervisory authority") {
		t.Errorf("denial mail still shows the law's default:\n%s", m.Text)
	}
	_, page := get(t, d, apitest.LinkWith(t, m, "/status/"))
	if !strings.Contains(page, "Information Commissioner&#39;s Office (ICO)") || strings.Contains(page, "a supervisory authority") {
		t.Fatalf("status page does not name the ICO:\n%s", page)
	}
}

// verifyAndDeny verifies the request through the admin API and denies it.
func verifyAndDeny(t *testing.T, d *apitest.Desk, tok, id string) {
	t.Helper()
	for _, step := range []struct {
		action string
		body   map[string]string
	}{
		{"verify", map[string]string{"method": "account login", "note": "signed in"}},
		{"deny", map[string]string{"reason": "manifestly_unfounded", "explanation": "The same request was answered last week."}},
	} {
		if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+id+"/"+step.action, step.body); code != 200 {
			t.Fatalf("%s: %d %v", step.action, code, out)
		}
	}
}

// TestOntraComplaintRoutesPerRegime: Ontra's policy names the CPPA for
// California, JAMS (DPF) as independent recourse for EU/UK residents and
// an Art. 27 representative for each of the EU and the UK; each denial
// mail names the routes of its requester's regime only.
func TestOntraComplaintRoutesPerRegime(t *testing.T) {
	t.Parallel()
	d := seedDesk(t, "ontra")
	_, tok := staff(t, d, "odette@ontra.example", workflow.RoleOfficer)
	for _, tc := range []struct {
		email, country, state string
		want, not             []string
	}{
		{"uk@example.com", "GB", "", []string{"Independent recourse: JAMS", "https://www.jamsadr.com/DPF-Dispute-Resolution",
			"Our representative in the UK (Art. 27 UK GDPR): DP Data Protection Services UK Ltd., Attn.: Ontra, 16 Great Queen Street"}, []string{"DP-Dock", "Privacy Protection Agency"}},
		{"de@example.com", "DE", "", []string{"Independent recourse: JAMS", "Our representative in the EU (Art. 27 GDPR): DP-Dock GmbH, Attn.: Ontra, Ballindamm 39"},
			[]string{"DP Data Protection Services UK", "Privacy Protection Agency"}},
		{"ca@example.com", "US", "CA", []string{"You have the right to lodge a complaint with the California Privacy Protection Agency (https://cppa.ca.gov/webapplications/complaint)."},
			[]string{"JAMS", "representative", "DP-Dock"}},
	} {
		rc := newRequest(t, d, "erasure", tc.email, tc.country, tc.state)
		verifyAndDeny(t, d, tok, rc.ID)
		m := d.MailWithSubject(t, tc.email, "cannot fulfil")
		for _, w := range tc.want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s denial mail lacks %q:\n%s", tc.country, w, m.Text)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(m.Text, n) {
				t.Errorf("%s denial mail names %q:\n%s", tc.country, n, m.Text)
			}
		}
	}
}

// TestProcessorPathRecordsRedirectAndMailsInstructions: Nemerosa is a
// processor for its clients' data; its form offers, before submission,
// the path that answers with its instructions, records the request as
// redirected (no denied request) and mails the instructions.
func TestProcessorPathRecordsRedirectAndMailsInstructions(t *testing.T) {
	t.Parallel()
	d := seedDesk(t, "nemerosa-ontrack")
	_, form := get(t, d, d.URL+"/")
	if !strings.Contains(form, `id="processor-notice"`) || !strings.Contains(form, "we do not host or store it and have no access to it") ||
		!strings.Contains(form, `action="/requests/processor"`) {
		t.Fatalf("form lacks the processor notice:\n%s", form)
	}
	// Bad input: 422 with the field's message, nothing recorded.
	resp, body := postForm(t, d, "/requests/processor", url.Values{"email": {"not-an-address"}, "client": {"Acme"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="processor-email-error"`) || !strings.Contains(body, `value="Acme"`) {
		t.Fatalf("bad email: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(t, d, "/requests/processor", url.Values{"email": {"piet@example.com"}, "client": {"Acme Bank"}})
	if resp.StatusCode != http.StatusCreated || !strings.Contains(body, "you must contact the relevant client who controls that data") || !strings.Contains(body, "recorded your request as redirected") {
		t.Fatalf("processor path: %d\n%s", resp.StatusCode, body)
	}
	m := d.MailTo(t, "piet@example.com", 1)[0]
	if !strings.Contains(m.Text, "you must contact the relevant client who controls that data") || !strings.Contains(m.Text, `you named "Acme Bank"`) ||
		!strings.Contains(m.Text, "we have not refused it") || strings.Contains(m.Subject, "Acme") {
		t.Fatalf("instructions mail %q:\n%s", m.Subject, m.Text)
	}
	var redirects, requests int
	var client, event string
	ctx := context.Background()
	if err := d.Pool.QueryRow(ctx, `SELECT count(*), max(r.client), max(m.event) FROM redirects r JOIN messages m ON m.id = r.message_id`).Scan(&redirects, &client, &event); err != nil {
		t.Fatal(err)
	}
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM requests`).Scan(&requests); err != nil {
		t.Fatal(err)
	}
	if redirects != 1 || client != "Acme Bank" || event != "redirected" || requests != 0 {
		t.Fatalf("recorded %d redirects (client %q, event %q) and %d requests; want 1 redirect and no request", redirects, client, event, requests)
	}
}

func TestNoProcessorPathWithoutANotice(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	if _, form := get(t, d, d.URL+"/"); strings.Contains(form, "processor-notice") {
		t.Fatal("form shows a processor notice the config does not have")
	}
	if resp, _ := postForm(t, d, "/requests/processor", url.Values{"email": {"piet@example.com"}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("processor path without a notice: %d, want 404", resp.StatusCode)
	}
}

// TestMailsGreetWithoutANameAndSpeakToTheAgent: no name gives "Hello,";
// an agent is told about the person they act for, never "you".
func TestMailsGreetWithoutANameAndSpeakToTheAgent(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	newRequest(t, d, "access", "noname@example.com", "NL", "")
	m := d.MailTo(t, "noname@example.com", 1)[0]
	if first, _, _ := strings.Cut(m.Text, "\n"); strings.TrimSpace(first) != "Hello," || strings.Contains(m.Text, "the data subject") {
		t.Fatalf("greeting without a name:\n%s", m.Text)
	}
	perm := "JVBERi0xLjQKMSAwIG9iaiA8PCAvVHlwZSAvQ2F0YWxvZyA+PiBlbmRvYmoKdHJhaWxlciA8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo="
	resp, b := postJSON(t, d, `{"kind": "access", "subject": {"email": "dora@example.com", "country": "US", "state": "CA"},
		"agent": {"name": "Agent Co", "email": "agent@example.org", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
	mustReceipt(t, resp, b)
	a := d.MailTo(t, "agent@example.org", 1)[0]
	if !strings.Contains(a.Text, "the request you filed to give the person you act for a copy of their personal data") ||
		strings.Contains(a.Text, "give you a copy") || strings.Contains(a.Text, "your personal data") {
		t.Fatalf("agent mail:\n%s", a.Text)
	}
}

// TestOptOutChoicesFollowTheRequestersPlace: an EU-only organisation's
// form never shows CCPA "sale / sharing"; a US requester sees them once
// their place is chosen (server-side, no JavaScript), and the opt-out
// mail under the GDPR speaks of direct marketing, not selling.
func TestOptOutChoicesFollowTheRequestersPlace(t *testing.T) {
	t.Parallel()
	eu := seedDesk(t, "ontrack-digital")
	_, form := get(t, eu, eu.URL+"/")
	if strings.Contains(form, `id="f-oo-sale"`) || strings.Contains(form, `id="f-oo-sharing"`) || !strings.Contains(form, `id="f-oo-direct_marketing"`) ||
		strings.Contains(strings.ToLower(form), "sale") || !strings.Contains(form, "Opt out (profiling, direct marketing)") {
		t.Fatalf("EU-only form opt-out choices:\n%s", form)
	}
	resp, b := postJSON(t, eu, `{"kind": "opt_out", "subject": {"email": "ion@example.com", "country": "RO"}, "fields": {"opt_out_of": ["direct_marketing"]}}`, nil)
	mustReceipt(t, resp, b)
	if m := eu.MailTo(t, "ion@example.com", 1)[0]; !strings.Contains(m.Text, "stop using your personal data for direct marketing") || strings.Contains(m.Text, "selling") {
		t.Fatalf("GDPR opt-out mail:\n%s", m.Text)
	}

	d := apitest.Start(t, apitest.Options{})
	if _, page := get(t, d, d.URL+"/?country=US&state=CA"); !strings.Contains(page, `id="f-oo-sale"`) || !strings.Contains(page, `id="f-oo-targeted_advertising"`) || strings.Contains(page, `id="f-oo-direct_marketing"`) {
		t.Fatalf("US form opt-out choices:\n%s", page)
	}
	if _, page := get(t, d, d.URL+"/?country=NL"); strings.Contains(page, `id="f-oo-sale"`) || !strings.Contains(page, `id="f-oo-direct_marketing"`) {
		t.Fatalf("NL form opt-out choices:\n%s", page)
	}
	// Submitting re-renders the form with the chosen place's choices
	// (no JavaScript needed), the input kept and nothing recorded: a CCPA
	// choice from the Netherlands, and a Californian who chose none.
	resp2, page := postForm(t, d, "/requests", url.Values{"kind": {"opt_out"}, "email": {"nl@example.com"}, "country": {"NL"}, "f_opt_out_opt_out_of": {"sale"}})
	if resp2.StatusCode != http.StatusUnprocessableEntity || strings.Contains(page, `id="f-oo-sale"`) || !strings.Contains(page, `id="f-oo-direct_marketing"`) ||
		!strings.Contains(page, "Where you live you can opt out of: direct marketing") || !strings.Contains(page, `href="#f-oo-direct_marketing"`) || !strings.Contains(page, `value="nl@example.com"`) {
		t.Fatalf("NL opt-out of sale: %d\n%s", resp2.StatusCode, page)
	}
	resp2, page = postForm(t, d, "/requests", url.Values{"kind": {"opt_out"}, "email": {"cal@example.com"}, "country": {"US"}, "state": {"CA"}})
	if resp2.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, `id="f-oo-sale"`) || strings.Contains(page, `id="f-oo-direct_marketing"`) || !strings.Contains(page, `value="cal@example.com"`) {
		t.Fatalf("CA opt-out without a choice: %d\n%s", resp2.StatusCode, page)
	}
	var n int
	if err := d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM requests`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused opt-outs created %d requests (%v)", n, err)
	}
}

func postForm(t *testing.T, d *apitest.Desk, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, b := do(t, d, req)
	return resp, string(b)
}

// TestCompletionSummaryReachesTheAgentOnlyWhenShared: the officer's
// summary goes to the agent only with share_with_agent; the agent's mail
// speaks of the person they act for.
func TestCompletionSummaryReachesTheAgentOnlyWhenShared(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	_, tok := staff(t, d, "orla@testorg.example", workflow.RoleOfficer)
	perm := "JVBERi0xLjQKMSAwIG9iaiA8PCAvVHlwZSAvQ2F0YWxvZyA+PiBlbmRvYmoKdHJhaWxlciA8PCAvUm9vdCAxIDAgUiA+PgolJUVPRgo="
	for i, share := range []bool{false, true} {
		sub, agent := []string{"s0@example.com", "s1@example.com"}[i], []string{"a0@example.org", "a1@example.org"}[i]
		resp, b := postJSON(t, d, `{"kind": "erasure", "subject": {"email": "`+sub+`", "name": "Jan Jansen", "country": "NL"},
			"agent": {"name": "Agency", "email": "`+agent+`", "permission": {"filename": "p.pdf", "content_base64": "`+perm+`"}}}`, nil)
		rc := mustReceipt(t, resp, b)
		post(t, d, apitest.LinkWith(t, d.MailTo(t, sub, 1)[0], "/verify/"), nil)
		summary := "Deleted from the CRM and the mailing list."
		if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/complete",
			map[string]any{"summary": summary, "systems": "CRM, mailing list", "share_with_agent": share}); code != 200 {
			t.Fatalf("complete: %d %v", code, out)
		}
		a := d.MailWithSubject(t, agent, "is complete")
		if !strings.Contains(a.Text, "We have completed the request to delete Jan Jansen's personal data") || strings.Contains(a.Text, "your personal data") {
			t.Fatalf("agent completion mail:\n%s", a.Text)
		}
		if got := strings.Contains(a.Text, summary); got != share {
			t.Fatalf("share_with_agent=%v: summary in the agent's mail = %v:\n%s", share, got, a.Text)
		}
		if s := d.MailWithSubject(t, sub, "is complete"); !strings.Contains(s.Text, summary) {
			t.Fatalf("subject's completion mail lacks the summary:\n%s", s.Text)
		}
	}
}
