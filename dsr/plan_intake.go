package dsr

import (
	"fmt"
	"time"
)

// Intake is the plan for a new request: the row to insert (its ID, its
// subject's and agent's IDs drawn, its number left to the database), the
// agent's permission document, the first changes, and the status link the
// receipt hands to whoever filed.
type Intake struct {
	Request    *Request
	Regime     *Regime
	Permission *Attachment // the agent's signed permission; nil without an agent
	Change     Change
	Receipt    TokenGrant
}

// Attachment is a document a plan stores with the request.
type Attachment struct {
	ID      string
	Purpose string // "permission", "inbound", "answer", "export", "letter"
	File    *File
}

// Deliverable says whether mail to p can be written at all (nil) or why
// not; the mail layer provides it (notify.CheckRecipient), so that an
// acknowledgment is counted only when its email can go out.
type Deliverable func(p Person) error

// PlanIntake decides everything a new request does at intake, for every
// channel (form, API, officer entry, GPC): validation, dates and their
// ledger, the first status (open for an opt-out its law forbids verifying,
// else pending_verification), the events (received, the agent's
// permission, the acknowledgment where the law requires one, opened), the
// first emails with their links, and the follow-up jobs. now is the
// engine clock; received time is now unless an officer entered an earlier
// one. deliverable may be nil (every address counts as deliverable).
//
// Errors: EINVALID with field errors, EUNAVAILABLE (no rights where the
// requester lives).
func PlanIntake(org *Config, s Submission, now time.Time, deliverable Deliverable) (*Intake, error) {
	if err := checkReceivedAt(s, now); err != nil {
		return nil, err
	}
	reg, err := s.ValidateAt(org, now)
	if err != nil {
		return nil, err
	}
	received := now
	if !s.ReceivedAt.IsZero() {
		received = s.ReceivedAt.UTC().Truncate(time.Microsecond)
	}
	dl, err := org.Deadlines(reg, s.Kind, received)
	if err != nil {
		return nil, err
	}
	needs := s.NeedsVerification(reg)
	r := &Request{ID: NewID(now), Kind: s.Kind, Regime: reg.ID, Status: StatusPendingVerification, Channel: s.Channel,
		SubjectID: NewID(now), Subject: s.Subject, Details: s.Details, Fields: s.Fields, Calendar: dl.Calendar,
		ReceivedAt: received, ReceivedOn: dl.Received, AckDue: dl.AckDue, LegalDue: dl.LegalDue, PolicyDue: dl.PolicyDue,
		DueOn: dl.Due, ExtendedDue: dl.ExtendedDue, ExtensionNoticeBy: dl.ExtensionNoticeBy, NeedsVerification: needs, UpdatedAt: now}
	if r.Fields == nil {
		r.Fields = map[string]string{}
	}
	if !needs {
		r.Status = StatusOpen
	}
	in := &Intake{Request: r, Regime: reg}
	c := &in.Change
	c.To, c.Ledger = r.Status, dl.Ledger

	actor := ActorRequester
	if s.Agent != nil {
		actor = ActorAgent
		r.Agent = &AgentInfo{ID: NewID(now), Name: s.Agent.Name, Email: s.Agent.Email}
	}
	if s.EnteredBy != "" {
		actor = s.EnteredBy
	}
	c.Events = append(c.Events, NewEvent{Type: EventReceived, Actor: actor, Public: true, Data: map[string]string{
		"kind": string(r.Kind), "regime": r.Regime, "channel": string(r.Channel), "due": r.DueOn.String(),
		"agent": fmt.Sprint(r.Agent != nil)}})
	if s.Agent != nil {
		in.Permission = &Attachment{ID: NewID(now), Purpose: "permission", File: s.Agent.Permission}
		c.Events = append(c.Events, NewEvent{Type: EventAgentPermissionAttached, Actor: ActorAgent, Data: map[string]string{
			"attachment": in.Permission.ID, "content_type": s.Agent.Permission.ContentType}})
	}
	if s.Letter != nil {
		// The scanned letter is kept with the request, as evidence of what
		// was asked and when it arrived.
		c.Attachments = append(c.Attachments, Attachment{ID: NewID(now), Purpose: "letter", File: s.Letter})
	}
	if ev, ok := acknowledgeAtIntake(org, reg, r, now, deliverable); ok {
		c.Events = append(c.Events, ev)
	}
	c.Jobs = append(c.Jobs, Job{Kind: JobDeadlineReminders})

	holder := HolderSubject
	if r.Agent != nil {
		holder = HolderAgent
	}
	// The filer has proven nothing yet: the receipt's link is pending (it
	// shows only that the request exists) until the subject confirms.
	in.Receipt = StatusLink(r, holder, now)

	if r.Status == StatusOpen {
		c.Events = append(c.Events, NewEvent{Type: EventOpened, Actor: ActorSystem, Public: true,
			Data: map[string]string{"reason": reg.Short + " does not allow identity verification for opt-out requests"}})
		c.Messages = MailAll(r, MailAcknowledged, now, Message{})
		return in, nil
	}
	if r.Subject.Email == "" {
		// No email address (a letter, a call): no confirmation link can
		// be sent, so nothing reminds or expires; an officer verifies the
		// identity another way (PlanVerify with the method).
		c.Events = append(c.Events, NewEvent{Type: EventVerifyOtherMeans, Actor: ActorSystem,
			Data: map[string]string{"channel": string(r.Channel), "reason": "the requester gave no email address"}})
		return in, nil
	}
	// The confirmation email first: the verification jobs count from it.
	c.Messages = VerificationMail(org, r, MailReceived, now)
	r.VerificationSent = &now
	c.Jobs = append(c.Jobs, Job{Kind: JobVerification})
	return in, nil
}

// VerificationMail is the confirmation email with a fresh link, valid for
// the organisation's verification period, to the subject (event received,
// or verify_reminder; agent_confirm when an agent filed), and for a first
// confirmation of an agent's request, the agent's copy of the news.
func VerificationMail(org *Config, r *Request, subjectEvent string, now time.Time) []Message {
	expires := now.Add(time.Duration(org.Verification.LinkValidDays) * 24 * time.Hour)
	if r.Agent != nil && subjectEvent == MailReceived {
		subjectEvent = MailAgentConfirm
	}
	var out []Message
	if r.Subject.Email != "" {
		out = append(out, Message{Event: subjectEvent, Holder: HolderSubject, Status: StatusLink(r, HolderSubject, now),
			Action:      &TokenGrant{Purpose: TokenVerify, Holder: HolderSubject, Scope: ScopeFull, Expires: expires},
			ActionLabel: "Confirm", LinkExpires: expires})
	}
	if r.Agent != nil && subjectEvent == MailAgentConfirm {
		out = append(out, Message{Event: MailReceivedAgent, Holder: HolderAgent, Status: StatusLink(r, HolderAgent, now)})
	}
	return out
}

// acknowledgeAtIntake decides the acknowledgment duty (CCPA: 10 business
// days) at intake: the receipt email sent in this same change meets it,
// but only when that email can be delivered. When it cannot (no address,
// or a name no mail header can carry), the duty stays open: an internal
// acknowledgment_not_sent event tells officers why, and AckSentAt stays
// empty. ok is false when the regime has no such duty.
func acknowledgeAtIntake(org *Config, reg *Regime, r *Request, now time.Time, deliverable Deliverable) (NewEvent, bool) {
	if r.AckDue.IsZero() {
		return NewEvent{}, false
	}
	data := map[string]string{"ack_due": r.AckDue.String(), "rule": reg.Ack.Rule}
	if why := AckUndeliverable(r.Subject, deliverable); why != "" {
		data["reason"] = why
		return NewEvent{Type: EventAcknowledgmentNotSent, Actor: ActorSystem, Data: data}, true
	}
	r.AckSentAt = &now
	if today := DateIn(now, org.Location()); today.After(r.AckDue) {
		// Entered late (a letter found in the post): acknowledge at once,
		// and say so.
		data["late_by_days"] = fmt.Sprint(r.AckDue.DaysUntil(today))
	}
	return NewEvent{Type: EventAcknowledgmentSent, Actor: ActorSystem, Data: data}, true
}

// AckUndeliverable says why the receipt email to the data subject p cannot
// count as an acknowledgment, or "" when it can. The reason quotes nothing
// of the requester's data.
func AckUndeliverable(p Person, deliverable Deliverable) string {
	if p.Email == "" {
		return "the requester gave no email address, so no acknowledgment could be sent; acknowledge by another way"
	}
	if deliverable != nil && deliverable(p) != nil {
		return "the requester's name or address cannot be written in a mail header, so the acknowledgment cannot be delivered; acknowledge by another way"
	}
	return ""
}

// checkReceivedAt accepts an explicit receipt time only from officers, in
// the past year and not in the future.
func checkReceivedAt(s Submission, now time.Time) error {
	if s.ReceivedAt.IsZero() {
		return nil
	}
	msg := ""
	switch {
	case !s.Channel.OfficerEntered():
		msg = "only officers entering a request may set the receipt time"
	case s.ReceivedAt.After(now.Add(time.Minute)):
		msg = "must not be in the future"
	case s.ReceivedAt.Before(now.AddDate(-1, 0, 0)):
		msg = "must be within the last year"
	}
	if msg != "" {
		return InvalidField("received_at", msg)
	}
	return nil
}

// PlanEmailIntake decides what a request that arrived by email does at
// intake: it waits in pending_triage with the guessed kind s.Kind under
// reg (an officer confirms both), with the dates, ledger and reminder chain
// of a request received at receivedAt, as the law says. Nothing is mailed
// to the sender (no backscatter to spammers) unless the regime has a duty
// to acknowledge receipt (CCPA: 10 business days), which the email planned
// here meets when it can be delivered. The sender's text is not validated
// as a form is: the caller has cleaned and bounded it. Errors: a regime
// or calendar the config cannot date.
func PlanEmailIntake(org *Config, s Submission, reg *Regime, receivedAt, now time.Time, deliverable Deliverable) (*Intake, error) {
	dl, err := org.Deadlines(reg, s.Kind, receivedAt)
	if err != nil {
		return nil, err
	}
	r := &Request{ID: NewID(now), Kind: s.Kind, Regime: reg.ID, Status: StatusPendingTriage, Channel: ChannelEmail,
		SubjectID: NewID(now), Subject: s.Subject, Details: s.Details, Fields: s.Fields, Calendar: dl.Calendar,
		ReceivedAt: receivedAt, ReceivedOn: dl.Received, AckDue: dl.AckDue, LegalDue: dl.LegalDue, PolicyDue: dl.PolicyDue,
		DueOn: dl.Due, ExtendedDue: dl.ExtendedDue, ExtensionNoticeBy: dl.ExtensionNoticeBy,
		NeedsVerification: s.NeedsVerification(reg), UpdatedAt: now}
	if r.Fields == nil {
		r.Fields = map[string]string{}
	}
	in := &Intake{Request: r, Regime: reg}
	c := &in.Change
	c.To, c.Ledger = r.Status, dl.Ledger
	c.Events = []NewEvent{{Type: EventReceived, Actor: ActorRequester, Public: true, Data: map[string]string{
		"kind": string(r.Kind), "regime": r.Regime, "channel": string(r.Channel), "due": r.DueOn.String(), "agent": "false"}}}
	if !r.AckDue.IsZero() {
		c.Messages = MailAll(r, MailEmailReceived, now, Message{})
		if ev, ok := acknowledgeAtIntake(org, reg, r, now, deliverable); ok {
			c.Events = append(c.Events, ev)
		}
	}
	c.Jobs = []Job{{Kind: JobDeadlineReminders}}
	return in, nil
}
