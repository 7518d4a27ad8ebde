package dsr

import (
	"fmt"
	"strings"
	"time"
)

// AppealInput is an appeal as it arrived: by the requester or agent from
// the status page or by email (Actor ActorRequester or ActorAgent), or
// entered by an officer (Actor the officer, ReceivedAt when the
// requester's appeal arrived, zero for now).
type AppealInput struct {
	Channel    string
	Actor      string
	Reason     string
	File       *File
	ReceivedAt time.Time
	// Outcome is the stored outcome of a completed request (Result of
	// its Outcome, "" otherwise): only a completion in part is appealable.
	Outcome string
	// Refuser is the user who refused the request; Reviewer the one
	// ChooseReviewer picked.
	Refuser, Reviewer string
}

// PlanAppeal records an appeal of the refused request r, or of r
// completed in part (in.Outcome partial), the completion counting as the
// refusal (Status.Transition to appealed): the appeal's own answer date from its
// receipt under the regime (AppealDue, with ledger entries; a late appeal
// — after the appeal window from the refusal — is recorded and answered
// all the same, with a ledger entry saying it is late), the reviewer
// assigned (an event records who refused and who reviews), the request's
// due date set to the appeal's so the reminder chain and escalation run
// for it, and the requester and agent told the answer date. Errors:
// EINVALID (no reason, too long, a receipt date in the future or before
// the refusal), ECONFLICT (not refused nor completed in part — a full or
// no-data completion is not appealable —, or the law gives no appeal: the
// rule names where to complain instead).
func PlanAppeal(org *Config, r *Request, in AppealInput, now time.Time) (Change, AppealCase, error) {
	reason := strings.TrimSpace(in.Reason)
	fe := FieldErrors{}
	if reason == "" && in.File == nil {
		fe.Add("reason", "Say why you disagree with the decision.")
	}
	if len(reason) > MaxAppealReason {
		fe.Add("reason", fmt.Sprintf("must be at most %d characters", MaxAppealReason))
	}
	at := in.ReceivedAt
	if at.IsZero() {
		at = now
	}
	if at.After(now) {
		fe.Add("received_at", "cannot be in the future")
	}
	if r.ClosedAt != nil && at.Before(*r.ClosedAt) {
		fe.Add("received_at", "cannot be before the refusal")
	}
	if err := fe.Err(); err != nil {
		return Change{}, AppealCase{}, err
	}
	if err := Appealable(r.Status, in.Outcome); err != nil {
		return Change{}, AppealCase{}, err
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, AppealCase{}, err
	}
	days, ok := reg.AppealWindowDays(org.Appeals.WindowDays)
	if !ok {
		rule := reg.Short + " gives no right to appeal a refusal"
		if len(reg.ComplaintRoutes) > 0 {
			rule += "; the requester may complain to " + routesText(reg.ComplaintRoutes)
		}
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: reg.Short + " gives no right to appeal; the refusal mail named where to complain.", Rule: rule}
	}
	if err := r.Status.Transition(StatusAppealed); err != nil {
		return Change{}, AppealCase{}, err
	}
	cal, err := LookupCalendar(r.Calendar)
	if err != nil {
		return Change{}, AppealCase{}, err
	}
	loc := org.Location()
	received := DateIn(at, loc)
	dates, err := AppealDue(reg, cal, received)
	if err != nil {
		return Change{}, AppealCase{}, err
	}
	refused := received
	if r.ClosedAt != nil {
		refused = DateIn(*r.ClosedAt, loc)
	}
	a := AppealCase{ID: NewID(now), RequestID: r.ID, ReceivedAt: at, ReceivedOn: received, Channel: in.Channel, Reason: reason,
		DueOn: dates.Due, MaxDue: dates.ExtendedDue, RefuserID: in.Refuser, ReviewerID: in.Reviewer,
		RefusedOn: refused, RequestDue: r.DueOn, From: r.Status}
	// The window runs from the day after the refusal (the reading that
	// favours the requester), as AppealNotice tells them.
	windowEnd := refused.AddDays(days)
	ledger := dates.Ledger
	if received.After(windowEnd) {
		a.Late = true
		ledger = append(ledger, LedgerEntry{What: LedgerAppealLate, Date: windowEnd, Rule: fmt.Sprintf(
			"late appeal: the appeal window (%d days from the refusal on %s, %s) ended on %s; the appeal is recorded and answered all the same",
			days, refused.Human(), reg.Appeal.WindowRule, windowEnd.Human())})
	}
	reviewer := in.Reviewer
	// ExtendedDue stays empty: only PlanAppealExtend may extend an appeal,
	// never the request's own extension.
	c := Change{To: StatusAppealed, Assign: &reviewer,
		Due:    &DueChange{LegalDue: dates.Due, Due: dates.Due, PausedDays: r.PausedDays, Extensions: r.Extensions},
		Ledger: ledger, Jobs: []Job{{Kind: JobDeadlineReminders}}}
	data := map[string]string{"appeal": a.ID, "channel": in.Channel, "received_on": received.String(), "due": dates.Due.String(),
		"late": fmt.Sprint(a.Late), "length": fmt.Sprint(len(reason))}
	if in.File != nil {
		att := Attachment{ID: NewID(now), Purpose: "appeal", File: in.File}
		c.Attachments = []Attachment{att}
		a.AttachmentID, data["attachment"] = att.ID, att.ID
	}
	c.Events = []NewEvent{
		{Type: EventAppealReceived, Actor: in.Actor, Public: true, Data: data},
		{Type: EventAppealAssigned, Actor: ActorSystem, Data: map[string]string{"appeal": a.ID, "refused_by": in.Refuser, "reviewer": reviewer,
			"rule": "an appeal is reviewed by someone other than the officer who refused"}},
	}
	c.Messages = MailAll(c.ApplyTo(r, now), MailAppealReceived, now, Message{})
	return c, a, nil
}

// PlanAppealExtend extends the answer to the appeal a of r once, as the
// regime's appeal extension allows (Colorado: by 60 days, notice within
// the first 45), with the reason told to the requester and a new
// reminder chain. Errors: EINVALID (no reason), ECONFLICT naming the rule
// (not appealed, no appeal extension in the law, already extended, the
// notice period over).
func PlanAppealExtend(org *Config, r *Request, a *AppealCase, actor, reason string, now time.Time) (Change, AppealCase, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Change{}, AppealCase{}, &Error{Code: EINVALID, Message: "Give the reason for the extension; the requester is told it.", Fields: FieldErrors{"reason": "is required"}}
	}
	if r.Status != StatusAppealed || a == nil || a.Outcome != "" {
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: "The request has no appeal waiting for an answer.", Rule: "only an undecided appeal can be extended"}
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, AppealCase{}, err
	}
	if reg.Appeal == nil || reg.Appeal.Extension == nil || a.MaxDue.IsZero() {
		rule := "no extension of an appeal answer"
		if reg.Appeal != nil {
			rule = reg.Appeal.Rule
		}
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: reg.Short + " allows no extension of the answer to an appeal.", Rule: rule}
	}
	ext := reg.Appeal.Extension
	if a.Extended {
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("%s allows the appeal extension only %d time(s); it was already extended.", reg.Short, ext.MaxTimes), Rule: ext.Rule}
	}
	today := DateIn(now, org.Location())
	if ext.NoticeWithin.Days > 0 {
		// The day the appeal arrived is day 1, as for the answer period.
		if by := a.ReceivedOn.AddDays(ext.NoticeWithin.Days - 1); today.After(by) {
			return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("Notice of an appeal extension had to reach the requester by %s.", by.Human()), Rule: ext.Rule}
		}
	}
	if today.After(a.DueOn) {
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("The appeal answer was due on %s; an extension must be decided before it.", a.DueOn.Human()), Rule: ext.Rule}
	}
	out := *a
	out.DueOn, out.Extended = a.MaxDue, true
	c := Change{Due: &DueChange{LegalDue: a.MaxDue, Due: a.MaxDue, PausedDays: r.PausedDays, Extensions: r.Extensions},
		Ledger: []LedgerEntry{{What: LedgerAppealExtended, Date: a.MaxDue, Rule: fmt.Sprintf("%s: the answer to the appeal received on %s is now due on %s; reason: %s",
			ext.Rule, a.ReceivedOn.Human(), a.MaxDue.Human(), reason)}},
		Jobs:   []Job{{Kind: JobDeadlineReminders}},
		Events: []NewEvent{{Type: EventAppealExtended, Actor: actor, Public: true, Data: map[string]string{"appeal": a.ID, "due": a.MaxDue.String(), "reason": reason}}}}
	c.Messages = MailAll(c.ApplyTo(r, now), MailAppealExtended, now, Message{Note: reason})
	return c, out, nil
}

// PlanAppealDecide answers the appeal a of r. Upheld: the decision stands
// (Status.Transition back to the status it was appealed from: denied, or
// completed for a completion in part), with the written reasons and the
// regime's complaint routes (the Attorney General's name and URL) in the
// mail. Reversed: the request reopens in progress with its reviewer, due
// on the decision date plus the days that were left when it was refused
// (none left, or refused late: due on the decision date), with a ledger
// entry and a new reminder chain. The officer who refused may not decide.
// Errors: EINVALID (unknown outcome, upheld without explanation),
// ECONFLICT (no undecided appeal, the refuser deciding). deciderID is
// the deciding user's id, actor the same user as an event actor.
func PlanAppealDecide(org *Config, r *Request, a *AppealCase, actor, deciderID, outcome, explanation string, now time.Time) (Change, AppealCase, error) {
	explanation = strings.TrimSpace(explanation)
	fe := FieldErrors{}
	switch outcome {
	case AppealReversed, AppealUpheld:
	default:
		fe.Add("outcome", "must be reversed or upheld")
	}
	if outcome == AppealUpheld && explanation == "" {
		fe.Add("explanation", "is required: an upheld refusal needs written reasons")
	}
	if len(explanation) > MaxAppealReason {
		fe.Add("explanation", fmt.Sprintf("must be at most %d characters", MaxAppealReason))
	}
	if err := fe.Err(); err != nil {
		return Change{}, AppealCase{}, err
	}
	if r.Status != StatusAppealed || a == nil || a.Outcome != "" {
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: "The request has no appeal waiting for an answer.", Rule: "only an undecided appeal can be decided"}
	}
	if a.RefuserID != "" && deciderID == a.RefuserID {
		return Change{}, AppealCase{}, &Error{Code: ECONFLICT, Message: "You refused this request; someone else must decide the appeal.",
			Rule: "an appeal is reviewed by someone other than the officer who refused"}
	}
	reg, err := LookupRegime(r.Regime)
	if err != nil {
		return Change{}, AppealCase{}, err
	}
	out := *a
	at := now
	out.Outcome, out.Explanation, out.DecidedAt = outcome, explanation, &at
	data := map[string]string{"appeal": a.ID, "explanation": explanation}
	if outcome == AppealUpheld {
		routes := ""
		if len(reg.ComplaintRoutes) > 0 {
			routes = "If you disagree, you may complain to " + routesText(reg.ComplaintRoutes) + "."
		}
		back := StatusDenied
		if a.From == StatusCompleted {
			back = StatusCompleted
		}
		c, err := PlanClose(r, back, actor, EventAppealUpheld, MailAppealDecidedUpheld, data, Message{Note: explanation, Appeal: routes}, now)
		return c, out, err
	}
	to := StatusInProgress
	if err := r.Status.Transition(to); err != nil {
		return Change{}, AppealCase{}, err
	}
	today := DateIn(now, org.Location())
	left := max(a.RefusedOn.DaysUntil(a.RequestDue), 0)
	due := today.AddDays(left)
	c := Change{To: to,
		Due: &DueChange{LegalDue: due, Due: due, PausedDays: r.PausedDays, Extensions: r.Extensions},
		Ledger: []LedgerEntry{{What: LedgerAppealReopened, Date: due, Rule: fmt.Sprintf(
			"appeal reversed on %s: the request reopens with the %d day(s) that were left when it was refused on %s (it was due on %s); %s",
			today.Human(), left, a.RefusedOn.Human(), a.RequestDue.Human(), reg.Short+" appeal")}},
		Jobs:   []Job{{Kind: JobDeadlineReminders}},
		Events: []NewEvent{{Type: EventAppealReversed, Actor: actor, Public: true, Data: data}}}
	c.Messages = MailAll(c.ApplyTo(r, now), MailAppealDecidedReversed, now, Message{Note: explanation})
	return c, out, nil
}
