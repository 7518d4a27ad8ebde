package dsr

import (
	"fmt"
	"time"
)

// Request is a data-subject request as stored.
type Request struct {
	ID                string
	Ref               int64
	Kind              Kind
	Regime            string
	Status            Status
	Channel           Channel
	SubjectID         string
	Subject           Person
	Agent             *AgentInfo
	Details           string
	Fields            map[string]string
	Calendar          string
	ReceivedAt        time.Time
	ReceivedOn        Date
	AckDue            Date
	AckSentAt         *time.Time
	LegalDue          Date
	PolicyDue         Date
	DueOn             Date
	ExtendedDue       Date
	ExtensionNoticeBy Date
	Extensions        int
	PausedSince       *time.Time
	PausedDays        int
	// Fee is the fee the request waits for (nil: none awaited).
	Fee               *Fee
	NeedsVerification bool
	VerificationSent  *time.Time // first confirmation email
	VerifiedAt        *time.Time
	VerifiedMethod    string
	AgentConfirmedAt  *time.Time
	AssigneeID        string
	ClosedAt          *time.Time
	CloseReason       string
	UpdatedAt         time.Time
}

// AgentInfo is the authorized agent of a request.
type AgentInfo struct {
	ID    string
	Name  string
	Email string
}

// RefString is the reference people quote: "DSR-000042".
func (r *Request) RefString() string { return FormatRef(r.Ref) }

// FormatRef formats a request number as people quote it.
func FormatRef(ref int64) string { return fmt.Sprintf("DSR-%06d", ref) }

// Event is one entry of a request's audit trail. Data values are strings
// so the hash chain can be recomputed byte for byte.
type Event struct {
	Seq    int
	At     time.Time
	Actor  string
	Type   string
	Public bool
	Data   map[string]string
}

// Actors of events that are not users.
const (
	ActorRequester = "requester"
	ActorAgent     = "agent"
	ActorSystem    = "system"
)

// KindVerb says what a request of kind k asks the organisation to do, for
// sentences such as "your request to … ".
func (k Kind) KindVerb() string {
	switch k {
	case KindAccess:
		return "give you a copy of your personal data"
	case KindRectification:
		return "correct your personal data"
	case KindErasure:
		return "delete your personal data"
	case KindPortability:
		return "give you your personal data in a portable format"
	case KindOptOut:
		return "stop selling, sharing or using your personal data for the purposes you opted out of"
	case KindRestriction:
		return "restrict the processing of your personal data"
	case KindObjection:
		return "stop processing your personal data as you objected to"
	case KindWithdrawConsent:
		return "stop the processing of your personal data that you withdrew your consent for"
	case KindAutomatedDecision:
		return "have a person review the automated decision about you, hear your view and let you contest it"
	}
	return string(k)
}
