package dsr

import (
	"fmt"
	"strings"
	"time"
)

// The action planners: each takes the current request (locked by the
// engine), the action's inputs, the organisation and now, and returns the
// Change the action makes or a *Error saying why it may not. None reads or
// writes anything.

// Reasons for asking the requester for information. Whether the clock
// stops for a reason is regime data (Pause.Reasons in regimes.json).
const (
	InfoIdentity      = "identity"      // proof of identity or of the agent's authority
	InfoClarification = "clarification" // what the request is about (its scope)
	InfoFee           = "fee"           // a fee or cost contribution
	InfoOther         = "other"
)

// InfoReasons lists the reasons an officer may give for asking.
var InfoReasons = []string{InfoIdentity, InfoClarification, InfoFee, InfoOther}

func validInfoReason(s string) bool {
	for _, r := range InfoReasons {
		if r == s {
			return true
		}
	}
	return false
}

// InfoRequested tells the officer what asking the requester did to the
// clock.
type InfoRequested struct {
	ClockPaused bool
	Explanation string
}

// PlanRequestInfo asks the requester for more information for a reason
// (one of InfoReasons): the request waits for them (Status.Transition to
// awaiting_requester), and where the regime stops the clock for that
// reason (regimes.json pause.reasons: EU identity and scope, UK
// clarification, Oregon and Utah authentication) it stops, with a ledger
// entry; where it does not (CCPA; a question about anything else) the
// explanation says the clock keeps running. Errors: EINVALID (missing or
// unknown reason, empty note), ECONFLICT (the status does not allow it).
func PlanRequestInfo(org *Config, r *Request, actor, reason, note string, now time.Time) (Change, InfoRequested, error) {
	note = strings.TrimSpace(note)
	reason = strings.TrimSpace(reason)
	fe := FieldErrors{}
	if reason == "" {
		fe.Add("reason", "Choose why you are asking: "+strings.Join(InfoReasons, ", ")+".")
	} else if !validInfoReason(reason) {
		fe.Add("reason", "Choose one of: "+strings.Join(InfoReasons, ", ")+".")
	}
	if note == "" {
		fe.Add("note", "is required")
	}
	if len(fe) > 0 {
		return Change{}, InfoRequested{}, &Error{Code: EINVALID, Message: "Say why you are asking and what information you need.", Fields: fe}
	}
	if err := r.Status.Transition(StatusAwaitingRequester); err != nil {
		return Change{}, InfoRequested{}, err
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, InfoRequested{}, err
	}
	c := Change{To: StatusAwaitingRequester}
	res := InfoRequested{ClockPaused: reg.PausesFor(reason)}
	if res.ClockPaused {
		res.Explanation = fmt.Sprintf("The clock is stopped until the answer arrives (asked for %s): %s.", reason, reg.Pause.Rule)
		c.PauseFrom = &now
		c.Ledger = []LedgerEntry{{What: LedgerPaused, Date: DateIn(now, org.Location()), Rule: res.Explanation}}
	} else {
		res.Explanation = fmt.Sprintf("The clock keeps running: under %s asking for %s does not stop it, so the due date stays %s.", reg.Short, reason, r.DueOn.Human())
		if reg.PauseNote != "" {
			res.Explanation += " " + reg.PauseNote
		}
	}
	clock := "running"
	if res.ClockPaused {
		clock = "paused"
	}
	c.Events = []NewEvent{{Type: EventInfoRequested, Actor: actor, Public: true, Data: map[string]string{"note": note, "reason": reason, "clock": clock}}}
	c.Messages = MailAll(c.ApplyTo(r, now), MailInfoNeeded, now, Message{Note: note, ClockPaused: res.ClockPaused})
	return c, res, nil
}

// PlanExtend extends the request's deadline as the regime allows
// (CheckExtension, Extend), restarts the reminder chain for the new date
// and tells the requester and agent the reason. An extension needs a
// confirmed identity (or a request that needs none). When the due date is
// the organisation's own promise (Config.PromiseFor, e.g. "erasure within
// 14 days"), extending breaks it: refused unless overridePromise, and
// then the ledger records the broken promise and the mail says plainly
// that the promised date is missed and why (the reason). Errors: EINVALID
// (no reason), ECONFLICT naming the rule that refuses it (identity not
// confirmed, the promise, the law).
func PlanExtend(org *Config, r *Request, actor, reason string, overridePromise bool, now time.Time) (Change, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Change{}, &Error{Code: EINVALID, Message: "Give the reason for the extension; the requester is told it.", Fields: FieldErrors{"reason": "is required"}}
	}
	if r.NeedsVerification && r.VerifiedAt == nil {
		return Change{}, &Error{Code: ECONFLICT, Message: "The requester's identity is not confirmed yet, so the deadline cannot be extended.",
			Rule: "no extension before the identity is confirmed: an extension notice goes only to a confirmed requester"}
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, err
	}
	today := DateIn(now, org.Location())
	promised := promiseDue(org, r)
	var broken *LedgerEntry
	if promised != "" {
		if !overridePromise {
			return Change{}, &Error{Code: ECONFLICT, Message: "The due date " + r.DueOn.Human() + " is the organisation's promise (" + promised + "); extending breaks it.",
				Rule: "a policy promise is kept unless the officer overrides it (override_promise: true) with the reason the requester is told"}
		}
		broken = &LedgerEntry{What: LedgerPromiseBroken, Date: r.PolicyDue, Rule: fmt.Sprintf(
			"promise broken: %s; the promised date %s is missed, overridden by %s: %s", promised, r.PolicyDue.Human(), actor, reason)}
	}
	if err := CheckExtension(reg, r, today); err != nil {
		return Change{}, err
	}
	res := Extend(reg, r, today, reason)
	c := Change{Due: &DueChange{LegalDue: res.Due, Due: res.Due, ExtendedDue: r.ExtendedDue, PausedDays: r.PausedDays, Extensions: r.Extensions + 1},
		Ledger: res.Ledger, Jobs: []Job{{Kind: JobDeadlineReminders}},
		Events: []NewEvent{{Type: EventExtended, Actor: actor, Public: true, Data: map[string]string{"due": res.Due.String(), "reason": reason}}}}
	m := Message{Note: reason}
	if broken != nil {
		c.Ledger = append([]LedgerEntry{*broken}, c.Ledger...)
		c.Events[0].Data["promise_broken"] = promised
		c.Events[0].Data["promised_due"] = r.PolicyDue.String()
		m.PromiseMissed = fmt.Sprintf("We promised to answer by %s (%s). We will not meet that date.", r.PolicyDue.Long(), promised)
	}
	c.Messages = MailAll(c.ApplyTo(r, now), MailExtended, now, m)
	return c, nil
}

// promiseDue names the organisation's promise the request's due date
// comes from ("Privacy policy §4: erasure within 14 days"), or "" when the
// due date is the law's.
func promiseDue(org *Config, r *Request) string {
	if r.PolicyDue.IsZero() || r.DueOn != r.PolicyDue || !r.PolicyDue.Before(r.LegalDue) {
		return ""
	}
	days, src := org.PromiseFor(r.Kind, r.Regime)
	if days == 0 {
		days, src = org.voluntaryDays(r.Kind, r.Regime)
	}
	if days == 0 {
		return ""
	}
	if src == "" {
		src = "organisation policy"
	}
	return fmt.Sprintf("%s: %s within %d days", src, r.Kind.Short(), days)
}

// PlanClose closes the request (Status.Transition to a closed status) with
// its public event of type typ and data, and mail event to the subject and
// agent; the closing email's links end with the others, StatusLinkGrace
// after the close. Errors: ECONFLICT (the status does not allow it).
func PlanClose(r *Request, to Status, actor string, typ EventType, mail string, data map[string]string, m Message, now time.Time) (Change, error) {
	if err := r.Status.Transition(to); err != nil {
		return Change{}, err
	}
	if data == nil {
		data = map[string]string{}
	}
	c := Change{To: to, CloseReason: string(typ), Events: []NewEvent{{Type: typ, Actor: actor, Public: true, Data: data}}}
	// A closed request awaits nothing: closing settles any fee still
	// awaited (cleared even when the caller did not load r.Fee, so that
	// no close leaves a fee row behind); a known fee is named in the
	// event (fee_dropped).
	c.Fee = &FeeUpdate{}
	if f := r.Fee; f != nil {
		data["fee_dropped"] = f.Amount + " " + f.Currency
	}
	c.Messages = MailAll(c.ApplyTo(r, now), mail, now, m)
	return c, nil
}

// PlanDeny refuses the request with a reason code (label is its text,
// "" for a code the caller does not know) and an explanation, telling the
// requester their right to complain or appeal. Errors: EINVALID (unknown
// reason, no explanation), ECONFLICT.
func PlanDeny(r *Request, actor, reason, label, explanation string, now time.Time) (Change, error) {
	fe := FieldErrors{}
	if label == "" {
		fe.Add("reason", "Choose a reason code.")
	}
	if strings.TrimSpace(explanation) == "" {
		fe.Add("explanation", "is required")
	}
	if err := fe.Err(); err != nil {
		return Change{}, err
	}
	return PlanClose(r, StatusDenied, actor, EventDenied, MailDenied,
		map[string]string{"reason": reason, "reason_label": label, "explanation": explanation},
		Message{Note: explanation, Reason: label}, now)
}

// PlanComplete closes the request as done (outcome full), with what was
// done (summary) told to the data subject (the agent's copy leaves it
// out). Errors: ECONFLICT (closed, or under appeal: CheckNotAppealed).
func PlanComplete(r *Request, actor, summary string, now time.Time) (Change, error) {
	if err := CheckNotAppealed(r); err != nil {
		return Change{}, err // appealed → completed is an upheld appeal, by its reviewer
	}
	c, err := PlanClose(r, StatusCompleted, actor, EventCompleted, MailCompleted, map[string]string{"summary": summary, "outcome": OutcomeFull}, Message{Note: summary, Outcome: OutcomeFull}, now)
	if err == nil {
		c.Outcome = &Outcome{Result: OutcomeFull}
	}
	return c, err
}

// PlanCompleteWith closes the request as done with what the officer
// recorded: the outcome (ParseOutcome: full, partial with what was kept
// and its legal basis, or no data), stored with the request and told to
// the requester and agent; the summary and systems touched; and for
// access and portability the export files, stored with the request and
// offered to the data subject — never the agent — through a download
// link valid for the organisation's download period. The caller has
// validated the inputs for the request's kind. Errors: ECONFLICT (closed,
// or under appeal: CheckNotAppealed).
func PlanCompleteWith(org *Config, r *Request, actor, summary, systems string, exports []File, o Outcome, now time.Time) (Change, error) {
	if err := CheckNotAppealed(r); err != nil {
		return Change{}, err // appealed → completed is an upheld appeal, by its reviewer
	}
	if o.Result == "" {
		o.Result = OutcomeFull
	}
	data := map[string]string{"summary": summary, "systems": systems, "outcome": o.Result}
	for i, k := range o.Kept {
		data[fmt.Sprintf("kept.%d", i)] = k.Data + " — " + k.Basis
	}
	m := Message{Note: strings.TrimSpace(summary), Outcome: o.Result, Kept: o.Kept}
	var atts []Attachment
	if len(exports) > 0 {
		for i := range exports {
			f := exports[i]
			if f.ContentType == "" {
				f.ContentType = "application/octet-stream"
			}
			atts = append(atts, Attachment{ID: NewID(now), Purpose: "export", File: &f})
		}
		expires := now.Add(time.Duration(org.Downloads.ValidDays) * 24 * time.Hour)
		m.Download = &TokenGrant{Purpose: TokenDownload, Holder: HolderSubject, Scope: ScopeFull, Expires: expires}
		m.LinkExpires = expires
		data["exports"] = fmt.Sprint(len(exports))
	}
	c, err := PlanClose(r, StatusCompleted, actor, EventCompleted, MailCompleted, data, m, now)
	c.Attachments = atts
	if err == nil {
		c.Outcome = &o
	}
	return c, err
}

// PlanWithdraw withdraws the request: by the requester or agent from
// their status link (onBehalf ""), or by an officer who says how the
// requester asked (onBehalf required then, actor a user). Errors:
// EINVALID (an officer without onBehalf), ECONFLICT.
func PlanWithdraw(r *Request, actor, onBehalf string, now time.Time) (Change, error) {
	data := map[string]string{}
	if actor != ActorRequester && actor != ActorAgent {
		if strings.TrimSpace(onBehalf) == "" {
			return Change{}, &Error{Code: EINVALID, Message: "Say how the requester asked to withdraw.", Fields: FieldErrors{"reason": "is required"}}
		}
		data["on_behalf"] = onBehalf
	}
	return PlanClose(r, StatusWithdrawn, actor, EventWithdrawn, MailWithdrawn, data, Message{}, now)
}

// PlanAssign gives the request to assignee ("" unassigns); assigning an
// open request starts work on it (Status.Transition to in_progress).
// Whether assignee may work requests is the caller's to check (it needs
// the user list). Errors: ECONFLICT for a closed request.
func PlanAssign(r *Request, actor, assignee string, now time.Time) (Change, error) {
	if r.Status.Closed() {
		return Change{}, r.Status.Transition(StatusInProgress)
	}
	typ := EventAssigned
	if assignee == "" {
		typ = EventUnassigned
	}
	c := Change{Assign: &assignee,
		Events: []NewEvent{{Type: typ, Actor: actor, Data: map[string]string{"from": r.AssigneeID, "to": assignee}}}}
	if assignee != "" && r.Status == StatusOpen {
		if err := r.Status.Transition(StatusInProgress); err != nil {
			return Change{}, err
		}
		c.To = StatusInProgress
		c.Events = append(c.Events, NewEvent{Type: EventInProgress, Actor: actor, Public: true})
	}
	return c, nil
}

// PlanVerify opens a request waiting for confirmation once the subject
// proved the address: by the link in the email (actor the requester,
// method "email_link", note "") or by another way an officer checked
// (actor the officer, method and note required, the note kept). Every
// earlier link dies (Change.Verified), and the subject and agent are told
// the due date with fresh full links. Errors: EINVALID (an officer's
// method or note missing), EGONE (the link's request no longer needs
// confirming), ECONFLICT (an officer's request not pending).
func PlanVerify(r *Request, actor, method, note string, now time.Time) (Change, error) {
	byLink := actor == ActorRequester
	if !byLink {
		fe := FieldErrors{}
		if strings.TrimSpace(method) == "" {
			fe.Add("method", "Say how the identity was verified.")
		}
		if strings.TrimSpace(note) == "" {
			fe.Add("note", "is required")
		}
		if err := fe.Err(); err != nil {
			return Change{}, err
		}
	}
	if r.Status != StatusPendingVerification {
		if byLink {
			return Change{}, Errorf(EGONE, "This request no longer needs confirming.")
		}
		return Change{}, &Error{Code: ECONFLICT, Message: "The request is not waiting for verification.", Rule: "verification applies to pending requests only"}
	}
	if err := r.Status.Transition(StatusOpen); err != nil {
		return Change{}, err
	}
	c := Change{To: StatusOpen, Verified: &Proof{Method: method, AgentConfirmed: r.Agent != nil}}
	c.Jobs = append(c.Jobs, Job{Kind: JobCancelVerification}) // the reminder and expiry would only do nothing now
	data := map[string]string{"method": method}
	if byLink {
		if r.Agent != nil {
			data["agent_authority"] = "confirmed by the data subject"
		}
	} else {
		c.Notes = []Note{{Author: actor, Body: "Identity verified by " + method + ": " + note}}
	}
	c.Events = []NewEvent{{Type: EventVerified, Actor: actor, Public: true, Data: data}}
	after := c.ApplyTo(r, now)
	c.Messages = MailAll(after, MailAcknowledged, now, Message{})
	if byLink {
		c.Links = []TokenGrant{StatusLink(after, HolderSubject, now)}
	}
	return c, nil
}

// PlanAnswer takes the requester's answer to a request for information
// (text, and file or nil; holder is whose link or address it came from):
// the request resumes (Status.Transition to in_progress), a stopped clock
// restarts with every open date moved by the paused days (ResumeClock,
// with a new reminder chain when the dates moved), the text is kept as the
// holder's note and the subject and agent are told it arrived. Checking
// the text and the file is the caller's (they come from a form or an
// email). Errors: ECONFLICT (the status does not allow it), and an
// unknown calendar.
func PlanAnswer(org *Config, r *Request, holder, text string, file *File, now time.Time) (Change, error) {
	if err := r.Status.Transition(StatusInProgress); err != nil {
		return Change{}, err
	}
	c := Change{To: StatusInProgress}
	data := map[string]string{"holder": holder, "length": fmt.Sprint(len(text))}
	if file != nil {
		att := Attachment{ID: NewID(now), Purpose: "answer", File: file}
		c.Attachments = []Attachment{att}
		data["attachment"] = att.ID
	}
	actor := ActorRequester
	if r.Agent != nil {
		actor = ActorAgent
	}
	c.Events = []NewEvent{{Type: EventAnswerReceived, Actor: actor, Public: true, Data: data}}
	if r.PausedSince != nil {
		same := &DueChange{LegalDue: r.LegalDue, Due: r.DueOn, ExtendedDue: r.ExtendedDue, PausedDays: r.PausedDays, Extensions: r.Extensions}
		reg, err := LookupRegime(r.Regime)
		if err != nil || reg.Pause == nil {
			c.Due = same // nothing to move: just end the pause
		} else {
			cal, err := LookupCalendar(r.Calendar)
			if err != nil {
				return Change{}, err
			}
			loc := org.Location()
			res := ResumeClock(reg, cal, r, DateIn(*r.PausedSince, loc), DateIn(now, loc))
			c.Due = &DueChange{LegalDue: res.LegalDue, Due: res.Due, ExtendedDue: res.ExtendedDue,
				PausedDays: r.PausedDays + res.PausedDays, Extensions: r.Extensions}
			c.Ledger = res.Ledger
			if res.PausedDays != 0 {
				c.Jobs = []Job{{Kind: JobDeadlineReminders}} // same date otherwise: the running chain goes on
			}
		}
	}
	if text != "" {
		c.Notes = []Note{{Author: holder, Body: text}}
	}
	c.Messages = MailAll(c.ApplyTo(r, now), MailAnswerReceived, now, Message{})
	return c, nil
}

// PlanTriage confirms or changes a pending_triage request's kind and
// regime ("" keeps the current one) and continues as intake does. When
// either changes, every date is worked out again from the ORIGINAL receipt
// (the clock ran during triage), with a ledger entry saying what triage
// changed and a new reminder chain if the due date moved; optOutOf is what
// an opt-out opts out of when the request did not say (the caller guesses
// it from the text). Then the request waits for verification with the
// confirmation email and its jobs counted from now, or, for an opt-out
// its law forbids verifying, opens with the acknowledgment; an
// acknowledgment duty not yet met is met by that email. Errors: EINVALID
// with field errors "kind" and "regime", ECONFLICT when the request is not
// waiting for triage.
func PlanTriage(org *Config, r *Request, actor string, kind Kind, regime, optOutOf string, now time.Time, deliverable Deliverable) (Change, error) {
	if r.Status != StatusPendingTriage {
		return Change{}, &Error{Code: ECONFLICT, Message: "The request is " + string(r.Status) + ", not waiting for triage.",
			Rule: "triage applies to requests in pending_triage only"}
	}
	if strings.TrimSpace(string(kind)) == "" {
		kind = r.Kind
	}
	if strings.TrimSpace(regime) == "" {
		regime = r.Regime
	}
	kind, reg, err := triageChoice(org, kind, regime)
	if err != nil {
		return Change{}, err
	}
	var c Change
	data := map[string]string{"kind_before": string(r.Kind), "kind": string(kind),
		"regime_before": r.Regime, "regime": reg.ID, "due_before": r.DueOn.String()}
	changed := kind != r.Kind || reg.ID != r.Regime
	if changed {
		dl, err := org.Deadlines(reg, kind, r.ReceivedAt)
		if err != nil {
			return Change{}, err
		}
		fields := r.Fields
		if kind == KindOptOut && fields["opt_out_of"] == "" {
			fields = make(map[string]string, len(r.Fields)+1)
			for k, v := range r.Fields {
				fields[k] = v
			}
			fields["opt_out_of"] = optOutOf
		}
		c.Retriage = &Retriage{Kind: kind, Regime: reg.ID, Fields: fields, NeedsVerification: reg.RequiresVerification(kind), Deadlines: dl}
		oldReg := r.Regime
		if or, err := LookupRegime(r.Regime); err == nil {
			oldReg = or.Short
		}
		why := LedgerEntry{What: LedgerTriaged, Date: dl.Due, Rule: fmt.Sprintf(
			"triage changed the request from %s under %s to %s under %s; every date below is worked out again from the receipt of the email on %s (the clock ran during triage); the due date was %s and is now %s",
			r.Kind.Short(), oldReg, kind.Short(), reg.Short, dl.Received.Human(), r.DueOn.Human(), dl.Due.Human())}
		c.Ledger = append([]LedgerEntry{why}, dl.Ledger...)
		if dl.Due != r.DueOn {
			c.Jobs = append(c.Jobs, Job{Kind: JobDeadlineReminders}) // else the running chain goes on
		}
	}
	next := StatusOpen
	if reg.RequiresVerification(kind) {
		next = StatusPendingVerification
	}
	if err := r.Status.Transition(next); err != nil {
		return Change{}, err
	}
	c.To = next
	after := c.ApplyTo(r, now)
	data["due"], data["changed"], data["status"] = after.DueOn.String(), fmt.Sprint(changed), string(next)
	c.Events = []NewEvent{{Type: EventTriaged, Actor: actor, Data: data}}
	if r.AckSentAt == nil {
		// The email planned below acknowledges receipt (CCPA: 10 business days).
		probe := *after
		if ev, ok := acknowledgeAtIntake(org, reg, &probe, now, deliverable); ok {
			c.Events = append(c.Events, ev)
			c.AckSent = probe.AckSentAt != nil
		}
	}
	if next == StatusOpen {
		c.Events = append(c.Events, NewEvent{Type: EventOpened, Actor: ActorSystem, Public: true,
			Data: map[string]string{"reason": reg.Short + " does not allow identity verification for opt-out requests"}})
		c.Messages = MailAll(after, MailAcknowledged, now, Message{})
		return c, nil
	}
	c.Jobs = append(c.Jobs, Job{Kind: JobVerificationFromNow})
	c.VerificationSent = true
	c.Messages = VerificationMail(org, after, MailReceived, now)
	return c, nil
}

// triageChoice checks the kind and regime an officer chose. Errors:
// EINVALID with field errors.
func triageChoice(org *Config, kind Kind, regime string) (Kind, *Regime, error) {
	fe := FieldErrors{}
	k, err := ParseKind(strings.TrimSpace(string(kind)))
	if err != nil {
		fe.Add("kind", ErrorMessage(err))
	} else if !org.OffersKind(k) {
		fe.Add("kind", fmt.Sprintf("The organisation does not take %s requests.", k.Short()))
	}
	reg, err := LookupRegime(regime)
	switch {
	case err != nil:
		fe.Add("regime", ErrorMessage(err))
	case !org.OffersRegime(reg.ID):
		fe.Add("regime", fmt.Sprintf("The organisation does not apply %s (valid: %s).", reg.Short, strings.Join(org.Regimes, ", ")))
	}
	if len(fe) == 0 && !reg.Covers(k) && org.VoluntaryFor(k, reg) == nil {
		fe.Add("kind", fmt.Sprintf("%s does not give a right of %s (it covers: %s).", reg.Short, k.Short(), joinKinds(reg.Kinds)))
	}
	if err := fe.Err(); err != nil {
		return "", nil, err
	}
	return k, reg, nil
}

// PlanNote adds an officer's internal note (actor the officer). Errors:
// EINVALID for an empty note.
func PlanNote(r *Request, actor, text string) (Change, error) {
	if strings.TrimSpace(text) == "" {
		return Change{}, &Error{Code: EINVALID, Message: "The note is empty.", Fields: FieldErrors{"note": "is required"}}
	}
	return Change{Notes: []Note{{Author: actor, Body: text}}, Events: []NewEvent{{Type: EventNoteAdded, Actor: actor}}}, nil
}
