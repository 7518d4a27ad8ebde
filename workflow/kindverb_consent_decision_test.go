package workflow_test

import (
	"testing"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// The two new kinds read well to the data subject and to an agent, and the
// automated-decision sentence names only the safeguards asked for.
func TestKindVerbConsentAndDecision(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind    dsr.Kind
		fields  map[string]string
		name    string
		toAgent bool
		want    string
	}{
		{dsr.KindWithdrawConsent, map[string]string{"consent_for": "newsletter"}, "", false,
			"stop the processing of your personal data that you withdrew your consent for"},
		{dsr.KindWithdrawConsent, map[string]string{"consent_for": "newsletter"}, "Jan Jansen", true,
			"stop the processing of Jan Jansen's personal data that they withdrew their consent for"},
		{dsr.KindAutomatedDecision, map[string]string{"wants": "contest"}, "", false,
			"reconsider the automated decision about you: let you contest it"},
		{dsr.KindAutomatedDecision, map[string]string{"wants": "human_review,express_view,contest"}, "", false,
			"reconsider the automated decision about you: have a person review it, hear your view on it and let you contest it"},
		{dsr.KindAutomatedDecision, map[string]string{"wants": "express_view"}, "", true,
			"reconsider the automated decision about the person you act for: hear their view on it"},
		{dsr.KindAutomatedDecision, nil, "", false, // letters and email intake may carry no wants
			"reconsider the automated decision about you: have a person review it, hear your view on it and let you contest it"},
	} {
		req := &dsr.Request{Kind: tc.kind, Regime: "gdpr", Fields: tc.fields, Subject: dsr.Person{Name: tc.name}}
		if got := workflow.KindVerb(req, tc.toAgent); got != tc.want {
			t.Errorf("%s agent=%v: %q, want %q", tc.kind, tc.toAgent, got, tc.want)
		}
	}
}
