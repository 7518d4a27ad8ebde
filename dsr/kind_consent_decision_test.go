package dsr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// TestValidateConsentAndDecisionFields checks the kind-specific fields of
// withdraw_consent and automated_decision: required, bounded, and the
// wants choices.
func TestValidateConsentAndDecisionFields(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfigString(configJSON(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		kind   dsr.Kind
		fields map[string]string
		bad    string // the field in error, "" when valid
	}{
		{"consent ok", dsr.KindWithdrawConsent, map[string]string{"consent_for": "the newsletter"}, ""},
		{"consent 1000 runes", dsr.KindWithdrawConsent, map[string]string{"consent_for": strings.Repeat("é", 1000)}, ""},
		{"consent missing", dsr.KindWithdrawConsent, nil, "fields.consent_for"},
		{"consent too long", dsr.KindWithdrawConsent, map[string]string{"consent_for": strings.Repeat("a", 1001)}, "fields.consent_for"},
		{"consent foreign field", dsr.KindWithdrawConsent, map[string]string{"consent_for": "x", "decision": "y"}, "fields.decision"},
		{"decision ok", dsr.KindAutomatedDecision, map[string]string{"decision": "loan refused", "wants": "human_review"}, ""},
		{"decision all wants and view", dsr.KindAutomatedDecision, map[string]string{"decision": "loan refused", "wants": "human_review,express_view,contest", "view": "my income is higher"}, ""},
		{"decision missing", dsr.KindAutomatedDecision, map[string]string{"wants": "contest"}, "fields.decision"},
		{"wants missing", dsr.KindAutomatedDecision, map[string]string{"decision": "loan refused"}, "fields.wants"},
		{"wants unknown", dsr.KindAutomatedDecision, map[string]string{"decision": "loan refused", "wants": "contest,refund"}, "fields.wants"},
		{"view too long", dsr.KindAutomatedDecision, map[string]string{"decision": "d", "wants": "contest", "view": strings.Repeat("v", 2001)}, "fields.view"},
	} {
		s := dsr.Submission{Kind: tc.kind, Fields: tc.fields, Channel: dsr.ChannelAPI,
			Subject: dsr.Person{Email: "a@example.com", Country: "NL"}}
		r, err := s.Validate(cfg)
		if tc.bad == "" {
			if err != nil || r == nil || r.ID != "gdpr" {
				t.Errorf("%s: %v (regime %v), want valid under gdpr", tc.name, err, r)
			}
			continue
		}
		var de *dsr.Error
		if !errors.As(err, &de) || de.Code != dsr.EINVALID || de.Fields[tc.bad] == "" {
			t.Errorf("%s: %v, want a field error on %s", tc.name, err, tc.bad)
		}
	}
}

// TestConsentAndDecisionRegimes checks which regimes give the two kinds and
// that their ledger rules say what the law says.
func TestConsentAndDecisionRegimes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		regime   string
		consent  bool
		decision bool
	}{
		{"gdpr", true, true}, {"uk_gdpr", true, true}, {"qc_law25", true, false}, {"lgpd", true, false},
		{"mncdpa", false, true}, {"ch_fadp", false, true}, {"ccpa", false, false}, {"cpa", false, false}, {"ctdpa", false, false},
	} {
		r, err := dsr.LookupRegime(tc.regime)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Covers(dsr.KindWithdrawConsent); got != tc.consent {
			t.Errorf("%s covers withdraw_consent = %v, want %v", tc.regime, got, tc.consent)
		}
		if got := r.Covers(dsr.KindAutomatedDecision); got != tc.decision {
			t.Errorf("%s covers automated_decision = %v, want %v", tc.regime, got, tc.decision)
		}
		if tc.consent {
			p, ext, rule := r.PeriodFor(dsr.KindWithdrawConsent)
			if p != r.Response || ext || !strings.Contains(rule, "effective immediately; respond within") {
				t.Errorf("%s withdraw_consent period %v extendable %v rule %q", tc.regime, p, ext, rule)
			}
		}
		if tc.decision {
			if _, _, rule := r.PeriodFor(dsr.KindAutomatedDecision); !strings.Contains(rule, "respond within") {
				t.Errorf("%s automated_decision rule %q", tc.regime, rule)
			}
		}
	}
	// Colorado's profiling opt-out stays an opt-out.
	cpa, _ := dsr.LookupRegime("cpa")
	if !cpa.Covers(dsr.KindOptOut) || len(dsr.KindFieldValues(dsr.KindOptOut, "opt_out_of")) == 0 {
		t.Error("cpa: profiling opt-out is no longer an opt-out")
	}
	gdpr, _ := dsr.LookupRegime("gdpr")
	if _, _, rule := gdpr.PeriodFor(dsr.KindAutomatedDecision); !strings.Contains(rule, "Art. 22(3)") || !strings.Contains(rule, "human intervention") {
		t.Errorf("gdpr automated_decision rule %q", rule)
	}
}

// TestConsentAndDecisionWording checks the names used in sentences.
func TestConsentAndDecisionWording(t *testing.T) {
	t.Parallel()
	for k, want := range map[dsr.Kind][3]string{
		dsr.KindWithdrawConsent:   {"Withdraw my consent", "consent withdrawal", "stop the processing of your personal data that you withdrew your consent for"},
		dsr.KindAutomatedDecision: {"Review of an automated decision about me", "automated-decision", "have a person review the automated decision about you, hear your view and let you contest it"},
	} {
		if got := [3]string{k.Label(), k.Short(), k.KindVerb()}; got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
		if got, err := dsr.ParseKind(string(k)); err != nil || got != k {
			t.Errorf("ParseKind(%s) = %v, %v", k, got, err)
		}
	}
}
