package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// RequestView is what a requester may see of their request.
type RequestView struct {
	Request *dsr.Request
	Regime  *dsr.Regime
	Holder  string // "subject" or "agent"
	// Scope is the link's: db.ScopePending (issued before the address was
	// proven: no history, questions, answers or withdrawal) or
	// db.ScopeFull.
	Scope   string
	History []PublicEvent
	// InfoRequested is the officer's latest question while the request
	// awaits the requester.
	InfoRequested string
	// ClockStopped is "clock stopped since …, N days remain" while the
	// clock waits for the requester's answer, else "".
	ClockStopped string
	// Outcome is a completed request's outcome (Result "" otherwise).
	Outcome dsr.Outcome
	// Fee is the fee an open request waits for, nil when none (a closed
	// request awaits no fee).
	Fee *dsr.Fee
	// FeeReason is Fee's reason in words.
	FeeReason string
}

// PublicEvent is one line of the requester's history.
type PublicEvent struct {
	At   time.Time
	Text string
}

// Full reports whether the link was issued after the subject proved the
// email address, and so may show the history and act.
func (v *RequestView) Full() bool { return v.Scope == db.ScopeFull }

// AwaitsConfirmation reports whether the request waits for the subject to
// confirm the email address.
func (v *RequestView) AwaitsConfirmation() bool {
	return v.Request.Status == dsr.StatusPendingVerification
}

// CanWithdraw reports whether this link may still withdraw the request.
func (v *RequestView) CanWithdraw() bool { return v.CheckWithdraw() == nil }

// CheckWithdraw says why this link may not withdraw the request. Errors:
// EFORBIDDEN for a link from before confirmation or of an opt-out that
// needed no verification (anyone could have obtained such a link);
// ECONFLICT when the request is closed.
func (v *RequestView) CheckWithdraw() error {
	if err := checkFull(v.Scope, v.Request, "withdraw"); err != nil {
		return err
	}
	if v.Request.Status.Closed() {
		return dsr.Errorf(dsr.ECONFLICT, "This request is already closed.")
	}
	return nil
}

// CanAnswer reports whether the company is waiting for the requester and
// this link may answer.
func (v *RequestView) CanAnswer() bool {
	return v.Full() && v.Request.Status == dsr.StatusAwaitingRequester
}

// UnverifiedOptOut reports whether the request is an opt-out recorded
// without verification (CCPA, GPC): its links never become full.
func (v *RequestView) UnverifiedOptOut() bool { return unverifiedOptOut(v.Request) }

func unverifiedOptOut(req *dsr.Request) bool {
	return req.Kind == dsr.KindOptOut && !req.NeedsVerification && req.VerifiedAt == nil
}

// checkFull refuses an action (withdraw, answer) to a pending link.
// Errors: EFORBIDDEN, with what the holder can do instead.
func checkFull(scope string, req *dsr.Request, action string) error {
	if scope == db.ScopeFull {
		return nil
	}
	if unverifiedOptOut(req) {
		// Its links never become full, so no link can cancel it.
		return dsr.Errorf(dsr.EFORBIDDEN, "This opt-out was recorded without verifying the email address, so it cannot be changed through a link. Write to us and we will check it is you.")
	}
	return dsr.Errorf(dsr.EFORBIDDEN, "This link was sent before the email address was confirmed, so it cannot %s the request. Confirm the address with the link in our email, then use the link in the email that follows.", action)
}

// validToken checks a token's state. Errors: EGONE for used, revoked or
// expired.
func (e *Engine) validToken(t *db.Token, singleUse bool) error {
	if singleUse && t.UsedAt != nil {
		return dsr.Errorf(dsr.EGONE, "This link has already been used.")
	}
	if t.RevokedAt != nil {
		return dsr.Errorf(dsr.EGONE, "This link is no longer valid: it was replaced when the email address was confirmed. Use the link in our latest email.")
	}
	if e.clock.Now().After(t.ExpiresAt) {
		return dsr.Errorf(dsr.EGONE, "This link has expired.")
	}
	return nil
}

// VerificationView returns the request behind a verification link without
// changing anything (GET must never change state: mail scanners follow
// links). Errors: ENOTFOUND, EGONE.
func (e *Engine) VerificationView(ctx context.Context, token string) (*dsr.Request, error) {
	t, err := db.FindToken(ctx, e.pool, HashToken(token), db.TokenVerify, false)
	if err != nil {
		return nil, err
	}
	if err := e.validToken(t, true); err != nil {
		return nil, err
	}
	req, err := db.GetRequest(ctx, e.pool, t.RequestID, false)
	if err != nil {
		return nil, err
	}
	if req.Status != dsr.StatusPendingVerification {
		return nil, dsr.Errorf(dsr.EGONE, "This request no longer needs confirming.")
	}
	return req, nil
}

// Verify confirms the subject's email address (and, for an agent request,
// the agent's authority): the request opens, the link dies, every status
// link handed out before (to either holder) is revoked, and the subject
// and agent are told the due date with fresh full links. It returns a
// fresh full status-page token for the subject. Errors: ENOTFOUND, EGONE.
func (e *Engine) Verify(ctx context.Context, token string) (string, error) {
	var status string
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		t, err := db.FindToken(ctx, tx, HashToken(token), db.TokenVerify, true)
		if err != nil {
			return err
		}
		if err := e.validToken(t, true); err != nil {
			return err
		}
		req, head, err := db.LockRequest(ctx, tx, t.RequestID)
		if err != nil {
			return err
		}
		now := e.now()
		c, err := dsr.PlanVerify(req, dsr.ActorRequester, "email_link", "", now)
		if err != nil {
			return err
		}
		links, err := e.apply(ctx, tx, req, head, c, now)
		if err != nil {
			return err
		}
		status = links[0]
		return nil
	})
	return status, err
}

// Status returns the requester's view behind a status link: for a
// pending link only the request's reference, kind, status and dates.
// Errors: ENOTFOUND, EGONE.
func (e *Engine) Status(ctx context.Context, token string) (*RequestView, error) {
	t, err := db.FindToken(ctx, e.pool, HashToken(token), db.TokenStatus, false)
	if err != nil {
		return nil, err
	}
	if err := e.validToken(t, false); err != nil {
		return nil, err
	}
	return e.view(ctx, e.pool, t)
}

func (e *Engine) view(ctx context.Context, q db.Querier, t *db.Token) (*RequestView, error) {
	req, err := db.GetRequest(ctx, q, t.RequestID, false)
	if err != nil {
		return nil, err
	}
	reg, _ := dsr.LookupRegime(req.Regime)
	v := &RequestView{Request: req, Regime: reg, Holder: t.Holder, Scope: t.Scope, ClockStopped: dsr.ClockStoppedText(req, e.org.Location())}
	if !v.Full() {
		return v, nil // the history holds the officers' questions: not for an unproven holder
	}
	if req.Status == dsr.StatusCompleted {
		if v.Outcome, err = db.RequestOutcome(ctx, q, req.ID); err != nil {
			return nil, err
		}
	}
	if !req.Status.Closed() {
		if v.Fee, err = db.GetFee(ctx, q, req.ID); err != nil {
			return nil, err
		}
		if v.Fee != nil {
			v.FeeReason = dsr.FeeReasonWords(v.Fee.Reason)
		}
	}
	evs, err := db.Events(ctx, q, req.ID, true)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		v.History = append(v.History, PublicEvent{At: ev.At, Text: describe(ev, e.org.Location())})
		if ev.Type == string(dsr.EventInfoRequested) {
			v.InfoRequested = ev.Data["note"]
		}
	}
	return v, nil
}

// describe turns a public event into a sentence for the requester.
func describe(ev dsr.Event, loc *time.Location) string {
	d := ev.Data
	switch dsr.EventType(ev.Type) {
	case dsr.EventReceived:
		return "Request received."
	case dsr.EventVerified:
		if d["agent_authority"] != "" {
			return "The data subject confirmed their email address and the agent's authority."
		}
		return "Email address confirmed."
	case dsr.EventOpened:
		return "Request opened without identity verification (" + d["reason"] + ")."
	case dsr.EventInfoRequested:
		return "We asked for more information: " + d["note"]
	case dsr.EventAnswerReceived:
		return "We received your answer."
	case dsr.EventExtended:
		return "The time limit was extended to " + d["due"] + ". Reason: " + d["reason"]
	case dsr.EventInProgress:
		return "Our privacy team is working on the request."
	case dsr.EventCompleted:
		return "Request completed."
	case dsr.EventDenied:
		return "Request refused: " + d["reason_label"]
	case dsr.EventWithdrawn:
		return "Request withdrawn."
	case dsr.EventFeeRequested:
		return "We asked for a fee of " + d["amount"] + " " + d["currency"] + " (" + dsr.FeeReasonWords(d["reason"]) + ")."
	case dsr.EventFeePaid:
		return "We received the fee of " + d["amount"] + " " + d["currency"] + "."
	case dsr.EventFeeWaived:
		return "The fee of " + d["amount"] + " " + d["currency"] + " was waived."
	case dsr.EventExpired:
		return "Request expired because it was never confirmed."
	}
	if s := describeAppeal(ev); s != "" {
		return s
	}
	return strings.ReplaceAll(ev.Type, "_", " ")
}

// Withdraw withdraws a request on the requester's behalf (from their
// status link); subject and agent are told. Only a full link (issued
// after confirmation) may. Errors: ENOTFOUND, EGONE, EFORBIDDEN for a
// pending link, ECONFLICT when already closed.
func (e *Engine) Withdraw(ctx context.Context, token string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, err := db.FindToken(ctx, tx, HashToken(token), db.TokenStatus, false)
		if err != nil {
			return err
		}
		if err := e.validToken(t, false); err != nil {
			return err
		}
		req, head, err := db.LockRequest(ctx, tx, t.RequestID)
		if err != nil {
			return err
		}
		if err := checkFull(t.Scope, req, "withdraw"); err != nil {
			return err
		}
		actor := dsr.ActorRequester
		if t.Holder == db.HolderAgent {
			actor = dsr.ActorAgent
		}
		now := e.now()
		c, err := dsr.PlanWithdraw(req, actor, "", now)
		if err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}

// statusTokenTx resolves a status token and locks its request.
func (e *Engine) statusTokenTx(ctx context.Context, tx pgx.Tx, token string) (*db.Token, *dsr.Request, error) {
	t, err := db.FindToken(ctx, tx, HashToken(token), db.TokenStatus, false)
	if err != nil {
		return nil, nil, err
	}
	if err := e.validToken(t, false); err != nil {
		return nil, nil, err
	}
	req, err := db.GetRequest(ctx, tx, t.RequestID, true)
	return t, req, err
}

// close moves the locked request req to a closed status with its public
// event and emails (dsr.PlanClose), for the engine's own closings (the
// verification expiry). Errors: ECONFLICT when the status does not allow
// it.
func (e *Engine) close(ctx context.Context, tx pgx.Tx, req *dsr.Request, to dsr.Status, actor string, eventType dsr.EventType, mail string, data map[string]string, x mailExtra) error {
	now := e.now()
	c, err := dsr.PlanClose(req, to, actor, eventType, mail, data, dsr.Message{Note: x.note, Reason: x.reason, LinkExpires: x.linkExpires}, now)
	if err != nil {
		return err
	}
	head, err := db.ChainHeadOf(ctx, tx, req.ID)
	if err != nil {
		return err
	}
	_, err = e.apply(ctx, tx, req, head, c, now)
	return err
}

// Answer records the requester's answer to a request for information
// (text and an optional attachment), resumes the request and moves the due
// date by the paused days where the regime stops the clock. Only a full
// link (issued after confirmation) may answer. Errors: EINVALID,
// ENOTFOUND, EGONE, EFORBIDDEN for a pending link, ECONFLICT when nothing
// was asked.
func (e *Engine) Answer(ctx context.Context, token, text string, file *dsr.File) error {
	text = strings.TrimSpace(text)
	fe := dsr.FieldErrors{}
	if text == "" && file == nil {
		fe.Add("answer", "Write your answer or attach a document.")
	}
	if len(text) > 10000 {
		fe.Add("answer", "must be at most 10000 characters")
	}
	if file != nil {
		if err := dsr.CheckPermissionFile(file); err != nil {
			fe.Add("attachment", strings.Replace(dsr.ErrorMessage(err), "permission file", "attachment", 1))
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, err := e.statusTokenTx(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := checkFull(t.Scope, req, "answer questions on"); err != nil {
			return err
		}
		if req.Status != dsr.StatusAwaitingRequester {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "We are not waiting for information on this request.", Rule: "answers are taken only while the request awaits the requester"}
		}
		return e.resume(ctx, tx, req, t.Holder, text, file)
	})
}

// resume applies dsr.PlanAnswer to the locked request req (the callers
// have checked that the request awaits the requester) and tells the
// assignee, or every officer, that the answer arrived.
func (e *Engine) resume(ctx context.Context, tx pgx.Tx, req *dsr.Request, holder, text string, file *dsr.File) error {
	now := e.now()
	c, err := dsr.PlanAnswer(e.org, req, holder, text, file, now)
	if err != nil {
		return err
	}
	head, err := db.ChainHeadOf(ctx, tx, req.ID)
	if err != nil {
		return err
	}
	if _, err := e.apply(ctx, tx, req, head, c, now); err != nil {
		return err
	}
	return e.notifyAssignee(ctx, tx, req)
}

// notifyAssignee tells the assignee (or, unassigned, every officer) that
// the requester answered.
func (e *Engine) notifyAssignee(ctx context.Context, tx pgx.Tx, req *dsr.Request) error {
	users, err := e.reminderRecipients(ctx, tx, req)
	if err != nil {
		return err
	}
	return e.mailUsers(ctx, tx, req.ID, users, "officer_answer", e.officerMailData(req))
}
