package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Appeals of refusals (issue #13 §2). Each is its own case on the
// request: dsr.PlanAppeal and friends decide, these functions lock the
// request, apply the change and store the appeal row in one transaction.

// Appeal is one appeal of a request, for the console and the API.
type Appeal = dsr.AppealCase

// CanAppeal reports whether this status link may appeal the request now:
// a full link of a refused request, or of one completed in part, under a
// law with an appeal right.
func (v *RequestView) CanAppeal() bool { return v.CheckAppeal() == nil }

// CheckAppeal says why this link may not appeal. Errors: EFORBIDDEN for a
// link from before confirmation; ECONFLICT when the request is not
// refused nor completed in part, or its law gives no appeal.
func (v *RequestView) CheckAppeal() error {
	if err := checkFull(v.Scope, v.Request, "appeal"); err != nil {
		return err
	}
	if err := dsr.Appealable(v.Request.Status, v.Outcome.Result); err != nil {
		return err
	}
	if v.Regime == nil || v.Regime.Appeal == nil {
		return &dsr.Error{Code: dsr.ECONFLICT, Message: "The law that applies to this request gives no appeal; the refusal email names where you may complain.",
			Rule: "no appeal right in the regime"}
	}
	return nil
}

// FileAppeal takes the requester's or agent's appeal from their status
// link (why they disagree, and an optional document). Only a full link
// may appeal. Errors: EINVALID (no reason, a bad document), ENOTFOUND,
// EGONE, EFORBIDDEN (a pending link), ECONFLICT (not refused, no appeal
// right, no reviewer).
func (e *Engine) FileAppeal(ctx context.Context, token, reason string, file *dsr.File) error {
	if file != nil {
		if err := dsr.CheckPermissionFile(file); err != nil {
			return &dsr.Error{Code: dsr.EINVALID, Message: dsr.MsgInvalidFields,
				Fields: dsr.FieldErrors{"attachment": strings.Replace(dsr.ErrorMessage(err), "permission file", "document", 1)}}
		}
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, err := e.statusTokenTx(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := checkFull(t.Scope, req, "appeal"); err != nil {
			return err
		}
		actor := dsr.ActorRequester
		if t.Holder == db.HolderAgent {
			actor = dsr.ActorAgent
		}
		head, err := db.ChainHeadOf(ctx, tx, req.ID)
		if err != nil {
			return err
		}
		return e.appeal(ctx, tx, req, head, dsr.AppealInput{Channel: dsr.AppealByStatusPage, Actor: actor, Reason: reason, File: file})
	})
}

// EnterAppeal records an appeal the requester made another way (a
// letter, a call, an email): actor is the officer, receivedAt when it
// arrived (zero: now). Errors: EINVALID, ENOTFOUND, ECONFLICT as
// FileAppeal.
func (e *Engine) EnterAppeal(ctx context.Context, requestID, actor string, receivedAt time.Time, reason string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, requestID)
		if err != nil {
			return err
		}
		return e.appeal(ctx, tx, req, head, dsr.AppealInput{Channel: dsr.AppealByOfficer, Actor: actor, Reason: reason, ReceivedAt: receivedAt})
	})
}

// appeal applies dsr.PlanAppeal to the locked request req with its
// outcome (a completion in part is appealable), the refuser and the
// reviewer worked out, and stores the appeal.
func (e *Engine) appeal(ctx context.Context, tx pgx.Tx, req *dsr.Request, head db.ChainHead, in dsr.AppealInput) error {
	if req.Status == dsr.StatusCompleted {
		o, err := db.RequestOutcome(ctx, tx, req.ID)
		if err != nil {
			return err
		}
		in.Outcome = o.Result
	}
	refuser, err := db.Refuser(ctx, tx, req.ID)
	if err != nil {
		return err
	}
	users, err := db.ActiveUsers(ctx, tx, db.RoleOfficer, db.RoleAdmin)
	if err != nil {
		return err
	}
	rs := make([]dsr.Reviewer, len(users))
	for i, u := range users {
		rs[i] = dsr.Reviewer{ID: u.ID, Email: u.Email}
	}
	now := e.now()
	// Check the appeal itself before the reviewer, so that a bad form
	// gets its field errors whoever is on staff.
	if _, _, err := dsr.PlanAppeal(e.org, req, in, now); err != nil {
		return err
	}
	if in.Reviewer, err = dsr.ChooseReviewer(e.org, refuser, rs); err != nil {
		return err
	}
	in.Refuser = refuser
	c, a, err := dsr.PlanAppeal(e.org, req, in, now)
	if err != nil {
		return err
	}
	if _, err := e.apply(ctx, tx, req, head, c, now); err != nil {
		return err
	}
	return db.SaveAppeal(ctx, tx, &a)
}

// ExtendAppeal extends the answer to the request's open appeal once, as
// its law allows (Colorado: by 60 days), with the reason mailed to the
// requester. Errors: EINVALID (no reason), ENOTFOUND, ECONFLICT naming the
// rule that refuses it.
func (e *Engine) ExtendAppeal(ctx context.Context, requestID, actor, reason string) (dsr.Date, error) {
	var due dsr.Date
	err := e.changeAppeal(ctx, requestID, func(r *dsr.Request, a *dsr.AppealCase, now time.Time) (dsr.Change, dsr.AppealCase, error) {
		c, out, err := dsr.PlanAppealExtend(e.org, r, a, actor, reason, now)
		due = out.DueOn
		return c, out, err
	})
	return due, err
}

// DecideAppeal answers the request's open appeal: outcome reversed (the
// request reopens with the remaining work) or upheld (explanation
// required; the mail gives the complaint routes). userID is the deciding
// user, who may not be the one who refused. Errors: EINVALID, ENOTFOUND,
// ECONFLICT.
func (e *Engine) DecideAppeal(ctx context.Context, requestID, userID, outcome, explanation string) error {
	return e.changeAppeal(ctx, requestID, func(r *dsr.Request, a *dsr.AppealCase, now time.Time) (dsr.Change, dsr.AppealCase, error) {
		return dsr.PlanAppealDecide(e.org, r, a, Actor(userID), userID, outcome, explanation, now)
	})
}

// changeAppeal is change for an action on the request's open appeal (nil
// when there is none: the planner refuses): lock, load the appeal,
// decide, apply and store the appeal, in one transaction.
func (e *Engine) changeAppeal(ctx context.Context, id string, decide func(r *dsr.Request, a *dsr.AppealCase, now time.Time) (dsr.Change, dsr.AppealCase, error)) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		a, err := db.OpenAppeal(ctx, tx, req.ID)
		if err != nil {
			return err
		}
		now := e.now()
		c, out, err := decide(req, a, now)
		if err != nil {
			return err
		}
		if _, err := e.apply(ctx, tx, req, head, c, now); err != nil {
			return err
		}
		return db.SaveAppeal(ctx, tx, &out)
	})
}

// Appeals returns the request's appeals, oldest first. Errors: ENOTFOUND
// is not checked (no appeals: an empty list).
func (e *Engine) Appeals(ctx context.Context, requestID string) ([]*Appeal, error) {
	return db.Appeals(ctx, e.pool, requestID)
}

// describeAppeal is the requester's sentence for a public appeal event, ""
// for another event.
func describeAppeal(ev dsr.Event) string {
	d := ev.Data
	switch dsr.EventType(ev.Type) {
	case dsr.EventAppealReceived:
		if d["late"] == "true" {
			return "We received your appeal after the appeal period; we will answer it all the same by " + d["due"] + "."
		}
		return "We received your appeal; we will answer it by " + d["due"] + "."
	case dsr.EventAppealExtended:
		return "The time to answer your appeal was extended to " + d["due"] + ". Reason: " + d["reason"]
	case dsr.EventAppealReversed:
		return "Your appeal was granted: we are working on your request again."
	case dsr.EventAppealUpheld:
		return "Your appeal was decided: our decision stands. " + d["explanation"]
	}
	return ""
}

// appealByReply takes a trusted reply to the refusal mail (or to the
// completion mail of a completion in part) that asks to appeal
// (dsr.MentionsAppeal) as an appeal by email, and reports whether
// it did. A reply the appeal planner refuses (no appeal right, already
// appealed, no other reviewer) is not an error: it stays a note for the
// officers, who can enter the appeal themselves.
func (e *Engine) appealByReply(ctx context.Context, tx pgx.Tx, req *dsr.Request, m *db.Message, text string) (bool, error) {
	refusal := m.Event == dsr.MailDenied && req.Status == dsr.StatusDenied
	// A full or no-data completion is refused by the planner below, and
	// the reply stays a note.
	completion := m.Event == dsr.MailCompleted && req.Status == dsr.StatusCompleted
	if !(refusal || completion) || !dsr.MentionsAppeal(text) {
		return false, nil
	}
	head, err := db.ChainHeadOf(ctx, tx, req.ID)
	if err != nil {
		return false, err
	}
	err = e.appeal(ctx, tx, req, head, dsr.AppealInput{Channel: dsr.AppealByEmail, Actor: actorFor(req), Reason: text})
	if c := dsr.ErrorCode(err); c == dsr.ECONFLICT || c == dsr.EINVALID {
		return false, nil
	}
	return err == nil, err
}
