package dsr

// Status is where a request stands.
type Status string

// The statuses. Completed, denied, withdrawn and expired are closed and
// final. A request by email starts in pending_triage: an officer confirms
// or changes its kind and regime (or dismisses it as not a request) before
// the normal flow continues; the clock runs from receipt all the same.
const (
	StatusPendingTriage       Status = "pending_triage"
	StatusPendingVerification Status = "pending_verification"
	StatusOpen                Status = "open"
	StatusInProgress          Status = "in_progress"
	StatusAwaitingRequester   Status = "awaiting_requester"
	StatusCompleted           Status = "completed"
	StatusDenied              Status = "denied"
	StatusWithdrawn           Status = "withdrawn"
	StatusExpired             Status = "expired"
	// StatusAppealed is a refusal (or a completion in part) under a law
	// with an appeal right that the requester appealed: an open case
	// again, with its own answer date and a reviewer other than the
	// deciding officer, until the appeal is upheld (back to denied, or to
	// completed) or reversed (the work resumes).
	StatusAppealed Status = "appealed"
)

// LedgerTriaged is the deadline-ledger entry written when triage changes a
// request's kind or regime: the dates are then worked out again from the
// original receipt.
const LedgerTriaged = "triaged"

// Statuses lists every status in workflow order.
var Statuses = []Status{
	StatusPendingTriage, StatusPendingVerification, StatusOpen, StatusInProgress, StatusAwaitingRequester,
	StatusCompleted, StatusDenied, StatusWithdrawn, StatusExpired, StatusAppealed,
}

// OpenStatuses are the statuses of requests that still need work; the
// officer queue shows exactly these.
var OpenStatuses = []Status{StatusPendingTriage, StatusPendingVerification, StatusOpen, StatusInProgress, StatusAwaitingRequester}

// transitions is the state machine: from → allowed targets.
var transitions = map[Status][]Status{
	StatusPendingTriage:       {StatusPendingVerification, StatusOpen, StatusWithdrawn, StatusDenied},
	StatusPendingVerification: {StatusOpen, StatusDenied, StatusWithdrawn, StatusExpired},
	StatusOpen:                {StatusInProgress, StatusAwaitingRequester, StatusCompleted, StatusDenied, StatusWithdrawn},
	StatusInProgress:          {StatusAwaitingRequester, StatusCompleted, StatusDenied, StatusWithdrawn},
	StatusAwaitingRequester:   {StatusInProgress, StatusCompleted, StatusDenied, StatusWithdrawn},
	// A refusal may be appealed, and so may a completion in part (whether
	// the outcome was partial and the regime gives the right is
	// PlanAppeal's to check: the table knows no outcome); a decided appeal
	// either upholds the decision (back to denied, or to completed for a
	// partial completion) or reopens the request.
	StatusCompleted: {StatusAppealed},
	StatusDenied:    {StatusAppealed},
	StatusAppealed:  {StatusInProgress, StatusOpen, StatusDenied, StatusCompleted, StatusWithdrawn},
}

// Closed reports whether s is final.
func (s Status) Closed() bool {
	switch s {
	case StatusCompleted, StatusDenied, StatusWithdrawn, StatusExpired:
		return true
	}
	return false
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if v == s {
			return true
		}
	}
	return false
}

// Label is the status in plain English.
func (s Status) Label() string {
	switch s {
	case StatusPendingTriage:
		return "Needs triage"
	case StatusPendingVerification:
		return "Waiting for email confirmation"
	case StatusOpen:
		return "Received"
	case StatusInProgress:
		return "In progress"
	case StatusAwaitingRequester:
		return "Waiting for your answer"
	case StatusCompleted:
		return "Completed"
	case StatusDenied:
		return "Refused"
	case StatusWithdrawn:
		return "Withdrawn"
	case StatusExpired:
		return "Expired (never confirmed)"
	case StatusAppealed:
		return "Appeal under review"
	}
	return string(s)
}

// CanTransition reports whether a request may move from s to to.
func (s Status) CanTransition(to Status) bool {
	for _, t := range transitions[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Transition returns nil if s may move to to, otherwise an ECONFLICT
// error that names the rule.
func (s Status) Transition(to Status) error {
	if s.CanTransition(to) {
		return nil
	}
	if s.Closed() {
		return &Error{Code: ECONFLICT, Message: "The request is " + string(s) + " and can no longer change.", Rule: "closed statuses are final"}
	}
	return &Error{Code: ECONFLICT, Message: "A request that is " + string(s) + " cannot become " + string(to) + ".", Rule: "status transition table"}
}

// officerLabels are the statuses as an officer reads them in the console:
// what the request waits for, said from the organisation's side (Label
// speaks to the requester: "Waiting for your answer").
var officerLabels = map[Status]string{
	StatusPendingTriage:       "Needs triage",
	StatusPendingVerification: "Identity not yet confirmed",
	StatusOpen:                "New, not started",
	StatusInProgress:          "In progress",
	StatusAwaitingRequester:   "Waiting for the requester",
	StatusCompleted:           "Completed",
	StatusDenied:              "Refused",
	StatusWithdrawn:           "Withdrawn by the requester",
	StatusExpired:             "Expired (never confirmed)",
}

// OfficerLabel is the status in plain English for the console. A status
// without an officer label of its own (one added later) reads as Label.
func (s Status) OfficerLabel() string {
	if l, ok := officerLabels[s]; ok {
		return l
	}
	return s.Label()
}
