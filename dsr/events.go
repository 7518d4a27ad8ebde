package dsr

// EventType names what an audit event records. Event.Type holds it as a
// string (the stored column, covered by the hash chain); these constants
// are the only values the engine writes.
type EventType string

// Event types, grouped by who causes them.
const (
	// Intake.
	EventReceived                EventType = "received"
	EventAgentPermissionAttached EventType = "agent_permission_attached"
	EventAcknowledgmentSent      EventType = "acknowledgment_sent"
	EventAcknowledgmentNotSent   EventType = "acknowledgment_not_sent"
	EventOpened                  EventType = "opened"
	EventEmailIntake             EventType = "email_intake"

	// Verification.
	EventVerified                 EventType = "verified"
	EventVerificationReminderSent EventType = "verification_reminder_sent"
	EventExpired                  EventType = "expired"
	// EventVerifyOtherMeans: no confirmation link could be sent (no email
	// address); an officer must verify the identity another way.
	EventVerifyOtherMeans EventType = "verification_by_other_means"

	// Triage of emailed requests.
	EventTriaged     EventType = "triaged"
	EventNotARequest EventType = "not_a_request"

	// Officer actions.
	EventAssigned       EventType = "assigned"
	EventUnassigned     EventType = "unassigned"
	EventInProgress     EventType = "in_progress"
	EventInfoRequested  EventType = "info_requested"
	EventExtended       EventType = "extended"
	EventCompleted      EventType = "completed"
	EventDenied         EventType = "denied"
	EventNoteAdded      EventType = "note_added"
	EventOptOutApplied  EventType = "opt_out_applied"
	EventExportDownload EventType = "export_downloaded"
	EventFeeRequested   EventType = "fee_requested"
	EventFeePaid        EventType = "fee_paid"
	EventFeeWaived      EventType = "fee_waived"

	// Requester actions.
	EventAnswerReceived       EventType = "answer_received"
	EventWithdrawn            EventType = "withdrawn"
	EventEmailReplyReceived   EventType = "email_reply_received"
	EventEmailReplyAccepted   EventType = "email_reply_accepted"
	EventEmailReplyUnverified EventType = "email_reply_unverified"

	// Letters (requests without an email address).
	EventLetterPosted EventType = "letter_posted"

	// The clock.
	EventReminderSent     EventType = "reminder_sent"
	EventOverdueEscalated EventType = "overdue_escalated"
	// EventDeadlineJobsRepaired: the reconciliation sweep put back a
	// missing job (data "job" names it).
	EventDeadlineJobsRepaired EventType = "deadline_jobs_repaired"
)

// eventDescriptions say in plain words what each event type records: the
// text an auditor or a requester reads next to it.
var eventDescriptions = map[EventType]string{
	EventDeadlineJobsRepaired:     "A missing reminder or deadline job was put back by the reconciliation sweep.",
	EventReceived:                 "The request was received.",
	EventAgentPermissionAttached:  "The authorized agent's signed permission was attached.",
	EventAcknowledgmentSent:       "The legally required acknowledgment of receipt was sent.",
	EventAcknowledgmentNotSent:    "The acknowledgment of receipt could not be sent by email; officers must acknowledge another way.",
	EventOpened:                   "The request was opened for work.",
	EventEmailIntake:              "The request arrived by email and awaits triage.",
	EventVerified:                 "The requester confirmed the email address (and, for an agent, the agent's authority).",
	EventVerificationReminderSent: "The requester was reminded to confirm the email address.",
	EventExpired:                  "The request expired because the email address was never confirmed.",
	EventVerifyOtherMeans:         "No confirmation link could be sent (no email address); an officer must verify the identity another way.",
	EventLetterPosted:             "An officer posted a letter to the requester.",
	EventTriaged:                  "An officer confirmed or changed the kind and law of an emailed request.",
	EventNotARequest:              "An officer dismissed an email as not a request.",
	EventAssigned:                 "The request was assigned to an officer.",
	EventUnassigned:               "The request was unassigned.",
	EventInProgress:               "Work on the request started.",
	EventInfoRequested:            "The requester was asked for more information.",
	EventExtended:                 "The deadline was extended, with the reason given to the requester.",
	EventCompleted:                "The request was completed.",
	EventDenied:                   "The request was refused, with the reason and the right to complain.",
	EventNoteAdded:                "An officer added an internal note.",
	EventOptOutApplied:            "The opt-out was applied in one of the organisation's systems.",
	EventExportDownload:           "The requester downloaded the export.",
	EventFeeRequested:             "An officer asked the requester for a fee, with the amount, currency and reason.",
	EventFeePaid:                  "The requested fee was received.",
	EventFeeWaived:                "An officer waived the requested fee.",
	EventAnswerReceived:           "The requester answered a request for information.",
	EventWithdrawn:                "The requester withdrew the request.",
	EventEmailReplyReceived:       "A reply by email was received.",
	EventEmailReplyAccepted:       "An officer accepted an unverified email reply as the requester's.",
	EventEmailReplyUnverified:     "A reply by email could not be tied to the requester and is held for an officer.",
	EventReminderSent:             "Officers were reminded of the coming deadline.",
	EventOverdueEscalated:         "The request is overdue and was escalated.",
}

// Description says what events of type t record, in plain words; "" for a
// type the engine does not write.
func (t EventType) Description() string { return eventDescriptions[t] }

// EventTypes lists every event type the engine writes.
func EventTypes() []EventType {
	out := make([]EventType, 0, len(eventDescriptions))
	for t := range eventDescriptions {
		out = append(out, t)
	}
	return out
}

// Appeal events (issue #13 §2): an appeal is its own case on the request.
const (
	EventAppealReceived EventType = "appeal_received"
	EventAppealAssigned EventType = "appeal_assigned"
	EventAppealExtended EventType = "appeal_extended"
	EventAppealReversed EventType = "appeal_reversed"
	EventAppealUpheld   EventType = "appeal_upheld"
)

func init() {
	for t, d := range map[EventType]string{
		EventAppealReceived: "The requester appealed the refusal (on the status page, by email or through an officer); a late appeal is marked so.",
		EventAppealAssigned: "The appeal was given to a reviewer other than the officer who refused.",
		EventAppealExtended: "The answer to the appeal was extended as the law allows, with the reason given to the requester.",
		EventAppealReversed: "The appeal was granted: the refusal is reversed and the request reopens with the remaining work.",
		EventAppealUpheld:   "The appeal was denied: the refusal stands, with written reasons and the complaint route.",
	} {
		eventDescriptions[t] = d
	}
}
