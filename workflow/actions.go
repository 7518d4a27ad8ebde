package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Officer actions. The console and the admin API (a later issue) call
// these; each is one transaction with its event, ledger, mail and jobs.

// InfoRequestResult tells the officer whether the clock stopped.
type InfoRequestResult struct {
	ClockPaused bool
	Explanation string
}

// RequestInfo asks the requester for more information: the request waits
// for them, and where the regime stops the clock (UK clarification, EU
// identity doubts, Oregon authentication, Utah fraud) it stops; where it
// does not (CCPA) the officer is told the clock keeps running. Errors:
// EINVALID (empty note), ENOTFOUND, ECONFLICT.
func (e *Engine) RequestInfo(ctx context.Context, requestID, actor, note string) (*InfoRequestResult, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, &dsr.Error{Code: dsr.EINVALID, Message: "Say what information you need.", Fields: map[string]string{"note": "is required"}}
	}
	var res InfoRequestResult
	err := e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		if err := req.Status.Transition(dsr.StatusAwaitingRequester); err != nil {
			return err
		}
		reg, err := dsr.LookupRegime(req.Regime)
		if err != nil {
			return err
		}
		now := e.now()
		res = InfoRequestResult{ClockPaused: reg.PausesClock()}
		if res.ClockPaused {
			res.Explanation = "The clock is stopped until the answer arrives: " + reg.Pause.Rule + "."
			if err := db.SetPause(ctx, tx, req.ID, &now); err != nil {
				return err
			}
			if err := db.InsertLedger(ctx, tx, req.ID, now, []dsr.LedgerEntry{{What: dsr.LedgerPaused,
				Date: dsr.DateIn(now, e.org.Location()), Rule: res.Explanation}}); err != nil {
				return err
			}
		} else {
			res.Explanation = "The clock keeps running: the due date stays " + req.DueOn.Human() + ". " + reg.PauseNote
		}
		if err := db.SetStatus(ctx, tx, req.ID, dsr.StatusAwaitingRequester, now, ""); err != nil {
			return err
		}
		req.Status = dsr.StatusAwaitingRequester
		data := map[string]string{"note": note, "clock": map[bool]string{true: "paused", false: "running"}[res.ClockPaused]}
		if err := event(ctx, tx, req, actor, "info_requested", true, data, now); err != nil {
			return err
		}
		return e.mailAll(ctx, tx, req, MailInfoNeeded, mailExtra{note: note, clockPaused: res.ClockPaused})
	})
	return &res, err
}

// unpause ends a clock pause and moves the dates by the paused days.
func (e *Engine) unpause(ctx context.Context, tx pgx.Tx, req *dsr.Request, now time.Time) error {
	if req.PausedSince == nil {
		return nil
	}
	reg, err := dsr.LookupRegime(req.Regime)
	if err != nil || reg.Pause == nil {
		return db.SetPause(ctx, tx, req.ID, nil)
	}
	cal, err := dsr.LookupCalendar(req.Calendar)
	if err != nil {
		return err
	}
	loc := e.org.Location()
	res := dsr.ResumeClock(reg, cal, req, dsr.DateIn(*req.PausedSince, loc), dsr.DateIn(now, loc))
	if err := db.MoveDue(ctx, tx, req.ID, res.LegalDue, res.Due, res.ExtendedDue, req.PausedDays+res.PausedDays, req.Extensions); err != nil {
		return err
	}
	req.LegalDue, req.DueOn, req.ExtendedDue = res.LegalDue, res.Due, res.ExtendedDue
	if err := db.InsertLedger(ctx, tx, req.ID, now, res.Ledger); err != nil {
		return err
	}
	if res.PausedDays == 0 {
		return nil // same date: the running chain goes on
	}
	return e.scheduleReminders(ctx, tx, req)
}

// Extend extends the request's deadline as the regime allows, with the
// reason emailed to the requester and agent. Errors: EINVALID (no reason),
// ENOTFOUND, ECONFLICT naming the rule that refuses it.
func (e *Engine) Extend(ctx context.Context, requestID, actor, reason string) (dsr.Date, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return dsr.Date{}, &dsr.Error{Code: dsr.EINVALID, Message: "Give the reason for the extension; the requester is told it.", Fields: map[string]string{"reason": "is required"}}
	}
	var due dsr.Date
	err := e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		reg, err := dsr.LookupRegime(req.Regime)
		if err != nil {
			return err
		}
		now := e.now()
		today := dsr.DateIn(now, e.org.Location())
		if err := dsr.CheckExtension(reg, req, today); err != nil {
			return err
		}
		res := dsr.Extend(reg, req, today, reason)
		due = res.Due
		if err := db.MoveDue(ctx, tx, req.ID, res.Due, res.Due, req.ExtendedDue, req.PausedDays, req.Extensions+1); err != nil {
			return err
		}
		if err := db.InsertLedger(ctx, tx, req.ID, now, res.Ledger); err != nil {
			return err
		}
		req.DueOn = res.Due
		if err := e.scheduleReminders(ctx, tx, req); err != nil {
			return err
		}
		if err := event(ctx, tx, req, actor, "extended", true, map[string]string{"due": res.Due.String(), "reason": reason}, now); err != nil {
			return err
		}
		return e.mailAll(ctx, tx, req, MailExtended, mailExtra{note: reason})
	})
	return due, err
}

// DenyReasons are the reason codes an officer chooses from when refusing.
var DenyReasons = map[string]string{
	"unverifiable_identity":   "We could not verify your identity.",
	"manifestly_unfounded":    "The request is manifestly unfounded or excessive.",
	"exemption_applies":       "A legal exemption applies.",
	"duplicate":               "This request duplicates another request.",
	"agent_without_authority": "The agent did not show authority to act for the data subject.",
	"not_covered":             "The law where the requester lives does not give this right.",
	"processor_only":          "We hold this data only as a processor for a client, who decides on requests.",
}

// Deny refuses the request with a reason code and an explanation, and
// tells the requester their right to complain or appeal. Errors: EINVALID,
// ENOTFOUND, ECONFLICT.
func (e *Engine) Deny(ctx context.Context, requestID, actor, reason, explanation string) error {
	label, ok := DenyReasons[reason]
	fe := dsr.FieldErrors{}
	if !ok {
		fe.Add("reason", "Choose a reason code.")
	}
	if strings.TrimSpace(explanation) == "" {
		fe.Add("explanation", "is required")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	return e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		data := map[string]string{"reason": reason, "reason_label": label, "explanation": explanation}
		return e.close(ctx, tx, req, dsr.StatusDenied, actor, "denied", MailDenied, data, mailExtra{note: explanation, reason: label})
	})
}

// Complete closes the request as done, with what was done told to the
// requester. (Export files and download links come with the console.)
// Errors: ENOTFOUND, ECONFLICT.
func (e *Engine) Complete(ctx context.Context, requestID, actor, summary string) error {
	return e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		return e.close(ctx, tx, req, dsr.StatusCompleted, actor, "completed", MailCompleted,
			map[string]string{"summary": summary}, mailExtra{note: summary})
	})
}
