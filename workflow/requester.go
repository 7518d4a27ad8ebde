package workflow

import (
	"context"
	"fmt"
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
	History []PublicEvent
	// InfoRequested is the officer's latest question while the request
	// awaits the requester.
	InfoRequested string
}

// PublicEvent is one line of the requester's history.
type PublicEvent struct {
	At   time.Time
	Text string
}

// CanWithdraw reports whether the requester may still withdraw.
func (v *RequestView) CanWithdraw() bool { return !v.Request.Status.Closed() }

// CanAnswer reports whether the company is waiting for the requester.
func (v *RequestView) CanAnswer() bool { return v.Request.Status == dsr.StatusAwaitingRequester }

// validToken checks a token's state. Errors: EGONE for used or expired.
func (e *Engine) validToken(t *db.Token, singleUse bool) error {
	if singleUse && t.UsedAt != nil {
		return dsr.Errorf(dsr.EGONE, "This link has already been used.")
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
// the agent's authority): the request opens, the link dies, and the
// subject and agent are told the due date. It returns a fresh status-page
// token for the subject. Errors: ENOTFOUND, EGONE.
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
		req, err := db.GetRequest(ctx, tx, t.RequestID, true)
		if err != nil {
			return err
		}
		if req.Status != dsr.StatusPendingVerification {
			return dsr.Errorf(dsr.EGONE, "This request no longer needs confirming.")
		}
		now := e.now()
		if err := e.open(ctx, tx, req, now); err != nil {
			return err
		}
		status, err = issueToken(ctx, tx, req.ID, db.TokenStatus, db.HolderSubject, now.Add(statusLinkValidity))
		return err
	})
	return status, err
}

func (e *Engine) open(ctx context.Context, tx pgx.Tx, req *dsr.Request, now time.Time) error {
	if err := req.Status.Transition(dsr.StatusOpen); err != nil {
		return err
	}
	if err := db.UseAllTokens(ctx, tx, req.ID, db.TokenVerify, now); err != nil {
		return err
	}
	if err := db.MarkVerified(ctx, tx, req.ID, now, "email_link", req.Agent != nil); err != nil {
		return err
	}
	if err := db.SetStatus(ctx, tx, req.ID, dsr.StatusOpen, now, ""); err != nil {
		return err
	}
	req.Status = dsr.StatusOpen
	data := map[string]string{"method": "email_link"}
	if req.Agent != nil {
		data["agent_authority"] = "confirmed by the data subject"
	}
	if err := event(ctx, tx, req, dsr.ActorRequester, "verified", true, data, now); err != nil {
		return err
	}
	return e.mailAll(ctx, tx, req, MailAcknowledged, mailExtra{})
}

// Status returns the requester's view behind a status link. Errors:
// ENOTFOUND, EGONE.
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
	evs, err := db.Events(ctx, q, req.ID, true)
	if err != nil {
		return nil, err
	}
	reg, _ := dsr.LookupRegime(req.Regime)
	v := &RequestView{Request: req, Regime: reg, Holder: t.Holder}
	for _, ev := range evs {
		v.History = append(v.History, PublicEvent{At: ev.At, Text: describe(ev, e.org.Location())})
		if ev.Type == "info_requested" {
			v.InfoRequested = ev.Data["note"]
		}
	}
	return v, nil
}

// describe turns a public event into a sentence for the requester.
func describe(ev dsr.Event, loc *time.Location) string {
	d := ev.Data
	switch ev.Type {
	case "received":
		return "Request received."
	case "verified":
		if d["agent_authority"] != "" {
			return "The data subject confirmed their email address and the agent's authority."
		}
		return "Email address confirmed."
	case "opened":
		return "Request opened without identity verification (" + d["reason"] + ")."
	case "info_requested":
		return "We asked for more information: " + d["note"]
	case "answer_received":
		return "We received your answer."
	case "extended":
		return "The time limit was extended to " + d["due"] + ". Reason: " + d["reason"]
	case "in_progress":
		return "Our privacy team is working on the request."
	case "completed":
		return "Request completed."
	case "denied":
		return "Request refused: " + d["reason_label"]
	case "withdrawn":
		return "Request withdrawn."
	case "expired":
		return "Request expired because it was never confirmed."
	}
	return strings.ReplaceAll(ev.Type, "_", " ")
}

// Withdraw withdraws a request on the requester's behalf (from their
// status link); subject and agent are told. Errors: ENOTFOUND, EGONE,
// ECONFLICT when already closed.
func (e *Engine) Withdraw(ctx context.Context, token string) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, err := e.statusTokenTx(ctx, tx, token)
		if err != nil {
			return err
		}
		actor := dsr.ActorRequester
		if t.Holder == db.HolderAgent {
			actor = dsr.ActorAgent
		}
		return e.close(ctx, tx, req, dsr.StatusWithdrawn, actor, "withdrawn", MailWithdrawn, map[string]string{}, mailExtra{})
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

// close moves req to a closed status with its event and emails.
func (e *Engine) close(ctx context.Context, tx pgx.Tx, req *dsr.Request, to dsr.Status, actor, eventType, mail string, data map[string]string, x mailExtra) error {
	if err := req.Status.Transition(to); err != nil {
		return err
	}
	now := e.now()
	if err := db.SetStatus(ctx, tx, req.ID, to, now, eventType); err != nil {
		return err
	}
	req.Status = to
	if err := event(ctx, tx, req, actor, eventType, true, data, now); err != nil {
		return err
	}
	return e.mailAll(ctx, tx, req, mail, x)
}

// Answer records the requester's answer to a request for information
// (text and an optional attachment), resumes the request and moves the due
// date by the paused days where the regime stops the clock. Errors:
// EINVALID, ENOTFOUND, EGONE, ECONFLICT when nothing was asked.
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
		if req.Status != dsr.StatusAwaitingRequester {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "We are not waiting for information on this request.", Rule: "answers are taken only while the request awaits the requester"}
		}
		return e.resume(ctx, tx, req, t.Holder, text, file)
	})
}

func (e *Engine) resume(ctx context.Context, tx pgx.Tx, req *dsr.Request, holder, text string, file *dsr.File) error {
	now := e.now()
	data := map[string]string{"holder": holder, "length": fmt.Sprint(len(text))}
	if file != nil {
		id, err := db.InsertAttachment(ctx, tx, req.ID, "answer", file)
		if err != nil {
			return err
		}
		data["attachment"] = id
	}
	if err := event(ctx, tx, req, actorFor(req), "answer_received", true, data, now); err != nil {
		return err
	}
	if err := e.unpause(ctx, tx, req, now); err != nil {
		return err
	}
	if err := db.SetStatus(ctx, tx, req.ID, dsr.StatusInProgress, now, ""); err != nil {
		return err
	}
	req.Status = dsr.StatusInProgress
	if text != "" {
		if err := db.InsertNote(ctx, tx, req.ID, holder, text, now); err != nil {
			return err
		}
	}
	if err := e.notifyAssignee(ctx, tx, req); err != nil {
		return err
	}
	return e.mailAll(ctx, tx, req, MailAnswerReceived, mailExtra{})
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
