package dsr

import "strings"

// Kind is what a data subject asks for.
type Kind string

// The request kinds.
const (
	KindAccess        Kind = "access"
	KindRectification Kind = "rectification"
	KindErasure       Kind = "erasure"
	KindPortability   Kind = "portability"
	KindOptOut        Kind = "opt_out"
	KindRestriction   Kind = "restriction"
	KindObjection     Kind = "objection"
	// KindWithdrawConsent withdraws consent given for some processing
	// (GDPR Art. 7(3), Quebec Law 25, LGPD Art. 18(IX)).
	KindWithdrawConsent Kind = "withdraw_consent"
	// KindAutomatedDecision asks for human review of, a chance to express
	// a view on, or to contest a decision based solely on automated
	// processing (GDPR Art. 22(3); Minnesota: question a profiling
	// decision). Colorado/Connecticut profiling opt-outs stay opt-outs.
	KindAutomatedDecision Kind = "automated_decision"
)

// Kinds lists every kind in display order.
var Kinds = []Kind{KindAccess, KindRectification, KindErasure, KindPortability, KindOptOut, KindRestriction, KindObjection, KindWithdrawConsent, KindAutomatedDecision}

// ParseKind returns the Kind named s, or an EINVALID error naming the
// valid kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", Errorf(EINVALID, "unknown kind %q (valid: %s)", s, joinKinds(Kinds))
}

// Label is the kind in plain English, for pages and emails.
func (k Kind) Label() string {
	switch k {
	case KindAccess:
		return "Access to my data"
	case KindRectification:
		return "Correct my data"
	case KindErasure:
		return "Delete my data"
	case KindPortability:
		return "Get my data in a portable format"
	case KindOptOut:
		return "Opt out (sale, sharing, targeted advertising, profiling, direct marketing)"
	case KindRestriction:
		return "Restrict processing of my data"
	case KindObjection:
		return "Object to processing of my data"
	case KindWithdrawConsent:
		return "Withdraw my consent"
	case KindAutomatedDecision:
		return "Review of an automated decision about me"
	}
	return string(k)
}

// Short is a short lower-case name for the kind, for sentences.
func (k Kind) Short() string {
	switch k {
	case KindOptOut:
		return "opt-out"
	case KindWithdrawConsent:
		return "consent withdrawal"
	case KindAutomatedDecision:
		return "automated-decision"
	default:
		return string(k)
	}
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
