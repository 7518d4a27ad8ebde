package dsr

import "testing"

func TestGuessKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subject, body string
		want          Kind
	}{
		{"", "Please delete my data", KindErasure},
		{"", "Erase everything you have about me.", KindErasure},
		{"", "Please remove my data from your systems", KindErasure},
		{"Right to be forgotten", "", KindErasure},
		{"Subject Access Request", "and please delete nothing", KindAccess},
		{"SAR", "", KindAccess},
		{"", "I would like a copy of my personal data", KindAccess},
		{"", "What data do you hold about me?", KindAccess},
		{"", "My address is wrong, please update it", KindRectification},
		{"", "Please rectify my name", KindRectification},
		{"", "Export my data so I can port it elsewhere", KindPortability},
		{"", "Please transfer my data to another provider", KindPortability},
		{"", "Do not sell my personal information", KindOptOut},
		{"", "I want to opt out", KindOptOut},
		{"", "Unsubscribe me and remove me from your mailing list", KindOptOut},
		{"", "Stop selling my data", KindOptOut},
		{"", "Do not share my data", KindOptOut},
		{"", "Please restrict the processing of my data", KindRestriction},
		{"", "I object to your use of my data for profiling", KindObjection},
		{"", "I withdraw my consent to your newsletter", KindWithdrawConsent},
		{"Withdrawal of consent", "", KindWithdrawConsent},
		{"", "Please delete my data: I am withdrawing consent for analytics", KindWithdrawConsent}, // more specific than delete
		{"", "I revoke my consent", KindWithdrawConsent},
		{"", "Your automated decision refused my loan", KindAutomatedDecision},
		{"", "I want a human review of the credit decision", KindAutomatedDecision},
		{"Profiling decision", "please explain", KindAutomatedDecision},
		{"", "Stop profiling me, I object", KindObjection}, // profiling alone is no decision
		{"Hello", "Hi, can you help me?", KindAccess},
		{"Delete my account", "What data will you keep?", KindErasure}, // the subject wins
		{"", "I have no report or support issue", KindAccess},          // no keyword inside other words
	} {
		got, rule := GuessKind(tc.subject, tc.body)
		if got != tc.want || rule == "" {
			t.Errorf("GuessKind(%q, %q) = %s (%s), want %s", tc.subject, tc.body, got, rule, tc.want)
		}
	}
}

func TestGuessOptOutOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ text, want string }{
		{"Please opt me out", "sale,sharing"}, // nothing named: sale and sharing
		{"Do not sell my personal information", "sale"},
		{"Stop sharing my data", "sharing"},
		{"No targeted advertising please", "targeted_advertising"},
		{"Stop PROFILING me", "profiling"},
		{"Unsubscribe me from your newsletter", "direct_marketing"},
		{"Do not sell or share my data, and no more marketing", "sale,sharing,direct_marketing"},
	} {
		if got := GuessOptOutOf(tc.text); got != tc.want {
			t.Errorf("GuessOptOutOf(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
