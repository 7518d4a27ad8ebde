package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// Issue #12 point 5: withdraw_consent and automated_decision under the
// GDPR, end to end over the API with real SMTP: the fields are stored, the
// mails say what was asked for, the due date is one month from receipt and
// the ledger states the law's rule.
func TestConsentAndDecisionJourneysUnderGDPR(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind, fields, email string
		stored              map[string]string
		subject, verb, rule string
	}{
		{"withdraw_consent", `{"consent_for": "the weekly newsletter"}`, "wc@example.com",
			map[string]string{"consent_for": "the weekly newsletter"},
			"Your consent withdrawal request is being handled",
			"Your request to stop the processing of your personal data that you withdrew your consent for",
			"effective immediately; respond within one month"},
		{"automated_decision", `{"decision": "credit limit refused", "wants": ["human_review", "contest"], "view": "my income is higher"}`, "ad@example.com",
			map[string]string{"decision": "credit limit refused", "wants": "human_review,contest", "view": "my income is higher"},
			"Your automated-decision request is being handled",
			"Your request to reconsider the automated decision about you: have a person review it and let you contest it",
			"Art. 22(3): the right to obtain human intervention"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			d := apitest.Start(t, apitest.Options{})
			_, tok := staff(t, d, "olga@testorg.example", workflow.RoleOfficer)
			resp, b := postJSON(t, d, `{"kind": "`+tc.kind+`", "subject": {"email": "`+tc.email+`", "country": "NL"}, "fields": `+tc.fields+`}`, nil)
			rc := mustReceipt(t, resp, b)
			if rc.Regime != "gdpr" || rc.Kind != tc.kind || rc.Status != "pending_verification" {
				t.Fatalf("receipt %+v", rc)
			}
			walkVerification(t, d, tc.email)
			ack := d.MailWithSubject(t, tc.email, "is being handled")
			if !strings.HasPrefix(ack.Subject, tc.subject) || !strings.Contains(ack.Text, "Hello,") || !strings.Contains(strings.Join(strings.Fields(ack.Text), " "), tc.verb) {
				t.Fatalf("acknowledged mail %q:\n%s", ack.Subject, ack.Text)
			}

			_, detail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+rc.ID, nil)
			fields, _ := detail["fields"].(map[string]any)
			for k, v := range tc.stored {
				if fields[k] != v {
					t.Errorf("field %s = %v, want %q (all: %v)", k, fields[k], v, fields)
				}
			}
			// The regime's normal period (one month, rolled past weekends
			// and holidays as for any GDPR request): the same due date as
			// an access request received at the same moment.
			acc := newRequest(t, d, "access", "acc-"+tc.email, "NL", "")
			_, accDetail := adminCall(t, d, tok, "GET", "/api/v1/admin/requests/"+acc.ID, nil)
			if detail["due_on"] == nil || detail["due_on"] != accDetail["due_on"] {
				t.Errorf("due_on %v, want the GDPR one month %v", detail["due_on"], accDetail["due_on"])
			}
			if !ledgerHasAny(detail, tc.rule) {
				t.Errorf("ledger should state %q: %v", tc.rule, detail["ledger"])
			}

			if code, out := adminCall(t, d, tok, "POST", "/api/v1/admin/requests/"+rc.ID+"/complete", map[string]any{"outcome": "full", "summary": "Done as asked.", "systems": "CRM"}); code != 200 {
				t.Fatalf("complete: %d %v", code, out)
			}
			done := d.MailWithSubject(t, tc.email, "is complete")
			want := strings.Replace(tc.verb, "Your request to", "We have completed the request to", 1)
			if !strings.Contains(strings.Join(strings.Fields(done.Text), " "), want) {
				t.Fatalf("completed mail %q:\n%s", done.Subject, done.Text)
			}
		})
	}
}

// ledgerHasAny reports whether any ledger entry's rule contains part.
func ledgerHasAny(out map[string]any, part string) bool {
	ledger, _ := out["ledger"].([]any)
	for _, e := range ledger {
		m, _ := e.(map[string]any)
		if r, _ := m["rule"].(string); strings.Contains(r, part) {
			return true
		}
	}
	return false
}

// A Californian asking for either kind gets a field error naming the
// kinds the CCPA gives, and nothing is stored.
func TestConsentAndDecisionNotUnderCCPA(t *testing.T) {
	t.Parallel()
	d := apitest.Start(t, apitest.Options{})
	for kind, fields := range map[string]string{
		"withdraw_consent":   `{"consent_for": "newsletter"}`,
		"automated_decision": `{"decision": "price", "wants": ["contest"]}`,
	} {
		resp, b := postJSON(t, d, `{"kind": "`+kind+`", "subject": {"email": "ca@example.com", "country": "US", "state": "CA"}, "fields": `+fields+`}`, nil)
		if resp.StatusCode != 422 || !strings.Contains(string(b), `"kind"`) || !strings.Contains(string(b), "CCPA/CPRA does not give a right of") {
			t.Errorf("%s under CCPA: %d %s", kind, resp.StatusCode, b)
		}
	}
	resp, b := postJSON(t, d, `{"kind": "automated_decision", "subject": {"email": "nl@example.com", "country": "NL"}, "fields": {"decision": "price", "wants": ["refund"]}}`, nil)
	if resp.StatusCode != 422 || !strings.Contains(string(b), "fields.wants") {
		t.Errorf("unknown wants: %d %s", resp.StatusCode, b)
	}
}

// The form lists the two kinds and their fields only where the
// organisation offers them, and a form submission stores the fields
// without JavaScript.
func TestFormOffersConsentAndDecisionOnlyWhenConfigured(t *testing.T) {
	t.Parallel()
	eu := apitest.Start(t, apitest.Options{})
	_, form := get(t, eu, eu.URL+"/")
	for _, want := range []string{`id="kind-withdraw_consent"`, `id="kind-automated_decision"`, `name="f_withdraw_consent_consent_for"`, `name="f_automated_decision_wants" value="express_view"`} {
		if !strings.Contains(form, want) {
			t.Errorf("EU form lacks %s", want)
		}
	}
	resp := post(t, eu, eu.URL+"/requests", url.Values{"kind": {"automated_decision"}, "email": {"f@example.com"}, "country": {"NL"},
		"f_automated_decision_decision": {"account closed"}, "f_automated_decision_wants": {"express_view", "contest"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("form submit: %d", resp.StatusCode)
	}
	resp = post(t, eu, eu.URL+"/requests", url.Values{"kind": {"withdraw_consent"}, "email": {"g@example.com"}, "country": {"NL"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("form without consent_for: %d, want 422", resp.StatusCode)
	}

	cfg := strings.Replace(apitest.ConfigJSON, `"time_zone"`, `"kinds": ["access", "erasure"], "time_zone"`, 1)
	narrow := apitest.Start(t, apitest.Options{ConfigJSON: cfg})
	_, form = get(t, narrow, narrow.URL+"/")
	for _, absent := range []string{"kind-withdraw_consent", "kind-automated_decision", "f_withdraw_consent_consent_for", "f_automated_decision_wants"} {
		if strings.Contains(form, absent) {
			t.Errorf("form of an organisation not offering the kind shows %s", absent)
		}
	}
}
