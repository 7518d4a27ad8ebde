package dsr

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// Link tokens: what a token opens (purpose), whose it is (holder) and, for
// status links, how much it shows (scope).
const (
	TokenVerify   = "verify"
	TokenStatus   = "status"
	TokenDownload = "download"

	HolderSubject = "subject"
	HolderAgent   = "agent"

	// ScopePending: issued before the subject proved the email address (or
	// for an opt-out that needed no proof); shows only that the request
	// exists. ScopeFull: issued after confirmation; may answer and
	// withdraw. Verify and download tokens are always ScopeFull.
	ScopePending = "pending"
	ScopeFull    = "full"
)

// StatusLinkGrace is how long status links keep working after their
// request closes (completed, denied, withdrawn, expired): long enough to
// read the outcome, short enough that an old email stops being a key.
const StatusLinkGrace = 30 * 24 * time.Hour

// StatusLinkBackstop bounds a status link of a request that stays open:
// links normally end at the close plus StatusLinkGrace, and this only
// keeps a link of a request left open by mistake from working for ever.
const StatusLinkBackstop = 400 * 24 * time.Hour

// Change is what one decision does to a request, as a value: built by a
// pure planner (PlanIntake, PlanExtend, PlanDeny, …) from the current
// request and applied by the engine in one transaction. The zero Change
// changes nothing.
type Change struct {
	// To is the new status, "" to keep the current one. Planners set it
	// only through Status.Transition (or, at intake, to a first status).
	To Status
	// CloseReason is stored with a closing status (the closing event type).
	CloseReason string
	// Due, when set, moves the dates (and ends any clock pause).
	Due *DueChange
	// PauseFrom, when set, stops the clock from that instant.
	PauseFrom *time.Time
	// Assign, when set, gives the request to that user id ("" unassigns).
	Assign *string
	// Verified, when set, records that the subject proved the email
	// address (and, for an agent's request, the agent's authority): every
	// verification link dies and every status link issued before is
	// revoked, before this change's own links are issued.
	Verified *Proof
	// Retriage, when set, stores a new kind or regime with every date
	// worked out again (triage of an emailed request).
	Retriage *Retriage
	// AckSent records that this change's email meets the acknowledgment
	// duty (the first time only).
	AckSent bool
	// VerificationSent records that this change sends the first
	// confirmation email (the first time only).
	VerificationSent bool
	// Notes are stored with the request (officers' or the requester's).
	Notes []Note
	// Attachments are documents stored with the request.
	Attachments []Attachment
	// Links are tokens to issue that no message carries (a status page
	// link handed back to the caller); the engine returns their raw
	// values in order.
	Links []TokenGrant
	// Ledger entries are appended to the request's deadline ledger.
	Ledger []LedgerEntry
	// Events are appended to the request's hash chain, in order.
	Events []NewEvent
	// Messages are rendered, recorded and (with a relay) delivered.
	Messages []Message
	// Jobs are scheduled in the same transaction.
	Jobs []Job
	// Outcome, when set, is stored with a completed request: full,
	// partial (with what was kept and why) or no data.
	Outcome *Outcome
	// Tasks are the systems' tasks to create (one job each), see
	// PlanTasks.
	Tasks []NewTask
	// TasksOverride, when set, completes the request although some of its
	// tasks are open: the officer's reason is recorded (CheckTasksClosed).
	TasksOverride *string
	// Fee, when set, stores the fee now awaited (Fee.Awaited) or clears
	// it (Fee.Awaited nil: paid or waived).
	Fee *FeeUpdate
}

// DueChange is the dates of a request after an extension or a pause, as
// whole new values.
type DueChange struct {
	LegalDue, Due, ExtendedDue Date
	PausedDays, Extensions     int
}

// Retriage is a request's new kind and regime at triage, with the dates
// worked out again from the original receipt.
type Retriage struct {
	Kind              Kind
	Regime            string
	Fields            map[string]string
	NeedsVerification bool
	Deadlines         Deadlines
}

// Proof is how the subject proved the address.
type Proof struct {
	Method         string // "email_link", or what the officer did
	AgentConfirmed bool   // the subject confirmed the agent's authority too
}

// Note is free text stored with a request: a requester's answer (author
// "subject" or "agent", shown to them) or an officer's note (author the
// event actor, internal).
type Note struct {
	Author string
	Body   string
}

// TouchesRequest reports whether c changes the request row itself.
func (c *Change) TouchesRequest() bool {
	return c.To != "" || c.Due != nil || c.PauseFrom != nil || c.Assign != nil || c.Verified != nil ||
		c.Retriage != nil || c.AckSent || c.VerificationSent || c.Fee != nil
}

// ApplyTo returns r as it is once c is applied at now (r is not changed):
// what the messages of c are rendered from and what follow-up jobs are
// scheduled for. A status change stamps UpdatedAt; a closing one sets
// ClosedAt and the close reason.
func (c *Change) ApplyTo(r *Request, now time.Time) *Request {
	after := *r
	if c.To != "" && c.To != r.Status {
		after.Status, after.UpdatedAt = c.To, now
		if r.Status.Closed() && !c.To.Closed() {
			// An appealed refusal is a live case again.
			after.ClosedAt, after.CloseReason = nil, ""
		}
		if c.To.Closed() {
			after.ClosedAt = &now
			if c.CloseReason != "" {
				after.CloseReason = c.CloseReason
			}
		}
	}
	if d := c.Due; d != nil {
		after.LegalDue, after.DueOn, after.ExtendedDue = d.LegalDue, d.Due, d.ExtendedDue
		after.PausedDays, after.Extensions, after.PausedSince = d.PausedDays, d.Extensions, nil
	}
	if c.PauseFrom != nil {
		after.PausedSince = c.PauseFrom
	}
	if c.Fee != nil {
		after.Fee = c.Fee.Awaited
	}
	if c.Assign != nil {
		after.AssigneeID, after.UpdatedAt = *c.Assign, now
	}
	if t := c.Retriage; t != nil {
		d := t.Deadlines
		after.Kind, after.Regime, after.Calendar, after.Fields, after.NeedsVerification = t.Kind, t.Regime, d.Calendar, t.Fields, t.NeedsVerification
		after.AckDue, after.LegalDue, after.PolicyDue, after.DueOn = d.AckDue, d.LegalDue, d.PolicyDue, d.Due
		after.ExtendedDue, after.ExtensionNoticeBy, after.UpdatedAt = d.ExtendedDue, d.ExtensionNoticeBy, now
	}
	if c.AckSent && after.AckSentAt == nil {
		after.AckSentAt = &now
	}
	if c.VerificationSent && after.VerificationSent == nil {
		after.VerificationSent = &now
	}
	if v := c.Verified; v != nil {
		after.VerifiedAt, after.VerifiedMethod, after.UpdatedAt = &now, v.Method, now
		if v.AgentConfirmed {
			after.AgentConfirmedAt = &now
		}
	}
	return &after
}

// NewEvent is an event to append: the chain position and hash are the
// engine's business.
type NewEvent struct {
	Type   EventType
	Actor  string
	Public bool // shown on the requester's status page
	Data   map[string]string
}

// TokenGrant is a link token to issue: the engine draws the random value
// and stores its hash only.
type TokenGrant struct {
	Purpose string // TokenVerify, TokenStatus or TokenDownload
	Holder  string // HolderSubject or HolderAgent
	Scope   string // ScopePending or ScopeFull
	Expires time.Time
}

// Message is one email to send about a request: a mail event rendered for
// one holder, with the holder's own status link and, for some events, an
// action link (confirm) and extra text.
type Message struct {
	Event  string // the mail template, e.g. MailReceived
	Holder string
	// Status is the holder's status link shown in the message.
	Status TokenGrant
	// Action, when set, is the token of the message's button (ActionLabel).
	Action *TokenGrant
	// Download, when set, is an export's download link: the data
	// subject's only (MailAll drops it from the agent's copy).
	Download    *TokenGrant
	ActionLabel string
	LinkExpires time.Time // shown as the date the action link ends
	Note        string
	Reason      string
	ClockPaused bool
	// Outcome and Kept tell a completion's result and, in part, what was
	// kept with its legal basis.
	Outcome string
	Kept    []Kept
	// PromiseMissed, when set, says that an extension breaks the
	// organisation's own promise, which one, and by which date it was due.
	PromiseMissed string
	// Appeal is what the requester can do next about a refusal (how to
	// appeal, or where to complain), see AppealNotice; AppealLink adds
	// the holder's appeal form link (the status link + "/appeal").
	Appeal     string
	AppealLink bool
	// Letter: the holder has no email address, so the message is a letter
	// to print and post to their postal address. It carries no link (a
	// token cannot be clicked on paper): Status, Action and Download are
	// not issued.
	Letter bool
}

// JobKind names a follow-up job; the engine maps each to its River job.
type JobKind string

// Jobs a change can schedule.
const (
	// JobDeadlineReminders starts the officers' reminder chain for the
	// request's current due date.
	JobDeadlineReminders JobKind = "deadline_reminders"
	// JobVerification schedules the confirmation reminder and the expiry
	// of an unconfirmed request, counted from its first confirmation email.
	JobVerification JobKind = "verification"
	// JobVerificationFromNow is JobVerification counted from the change
	// (a triaged request's confirmation email goes out at triage, and the
	// sender cannot confirm before they are asked).
	JobVerificationFromNow JobKind = "verification_from_now"
	// JobCancelVerification removes the confirmation reminder and expiry
	// still waiting for a request that is now confirmed (by the link or
	// by an officer), in the same transaction.
	JobCancelVerification JobKind = "cancel_verification"
)

// Job is a follow-up job to schedule with the change.
type Job struct{ Kind JobKind }

// Mail events a planner may send: one template each under
// templates/mail/<locale>/.
const (
	MailReceived       = "received"        // to the subject: confirm your email
	MailAgentConfirm   = "agent_confirm"   // to the subject: confirm the agent's authority
	MailReceivedAgent  = "received_agent"  // to the agent: we got what you filed
	MailAcknowledged   = "acknowledged"    // open, with the due date
	MailEmailReceived  = "email_received"  // an emailed request awaits triage (meets an acknowledgment duty)
	MailVerifyReminder = "verify_reminder" // to the subject: still unconfirmed
	MailExpired        = "expired"
	MailInfoNeeded     = "info_needed"
	MailAnswerReceived = "answer_received"
	MailExtended       = "extended"
	MailCompleted      = "completed"
	MailDenied         = "denied"
	MailWithdrawn      = "withdrawn"
	MailFeeRequested   = "fee_requested"
	MailFeePaid        = "fee_paid"
	MailFeeWaived      = "fee_waived"
)

// StatusLink is the status link to hand holder now: full scope once the
// subject has proven the email address (r.VerifiedAt set), pending before
// (it shows only that the request exists); a closed request's links live
// for StatusLinkGrace after the close, an open one's for
// StatusLinkBackstop.
func StatusLink(r *Request, holder string, now time.Time) TokenGrant {
	g := TokenGrant{Purpose: TokenStatus, Holder: holder, Scope: ScopePending, Expires: now.Add(StatusLinkBackstop)}
	if r.VerifiedAt != nil {
		g.Scope = ScopeFull
	}
	if r.Status.Closed() {
		closed := now
		if r.ClosedAt != nil {
			closed = *r.ClosedAt
		}
		g.Expires = closed.Add(StatusLinkGrace)
	}
	return g
}

// MailAll is the messages telling event to the data subject and, where
// there is one, the agent: the same news to both, each with their own
// status link. The agent's copy drops the note of a completion (the
// officer's summary may describe the subject's data). A subject without
// an email address gets a letter when there is a postal address (a
// request entered from a letter or call), else nothing (a GPC signal from
// a browser).
func MailAll(r *Request, event string, now time.Time, m Message) []Message {
	var out []Message
	m.Event = event
	if r.Subject.Email != "" {
		s := m
		s.Holder, s.Status = HolderSubject, StatusLink(r, HolderSubject, now)
		out = append(out, s)
	} else if r.Subject.PostalAddress != "" {
		s := m
		s.Holder, s.Letter, s.Action, s.Download, s.LinkExpires = HolderSubject, true, nil, nil, time.Time{}
		out = append(out, s)
	}
	if r.Agent != nil {
		a := m
		a.Holder, a.Status, a.Download = HolderAgent, StatusLink(r, HolderAgent, now), nil
		if event == MailCompleted {
			a.Note, a.LinkExpires = "", time.Time{}
		}
		out = append(out, a)
	}
	return out
}

// NewID returns a random UUID (version 7: time-ordered, so new rows land
// at the end of their primary-key index) for a row a plan creates. It is
// the only source of non-determinism in the planners.
func NewID(now time.Time) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("dsr: crypto/rand failed: " + err.Error())
	}
	ms := uint64(now.UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
