package workflow

import (
	"context"
	"time"

	"github.com/dsrdesk/dsrdesk/dsr"
)

// Officer actions. The console and the admin API (a later issue) call
// these; each is one transaction with its event, ledger, mail and jobs.

// InfoRequestResult tells the officer whether the clock stopped.
type InfoRequestResult struct {
	ClockPaused bool
	Explanation string
}

// RequestInfo asks the requester for more information for a reason (one
// of dsr.InfoReasons): the request waits for them, and where the regime
// stops the clock for that reason (EU identity and scope, UK
// clarification, Oregon and Utah authentication) it stops; where it does
// not (CCPA, or a question for another reason) the officer is told the
// clock keeps running. Errors: EINVALID (missing or unknown reason, empty
// note), ENOTFOUND, ECONFLICT.
func (e *Engine) RequestInfo(ctx context.Context, requestID, actor, reason, note string) (*InfoRequestResult, error) {
	var res dsr.InfoRequested
	err := e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (c dsr.Change, err error) {
		c, res, err = dsr.PlanRequestInfo(e.org, r, actor, reason, note, now)
		return c, err
	})
	return &InfoRequestResult{ClockPaused: res.ClockPaused, Explanation: res.Explanation}, err
}

// Extend extends the request's deadline as the regime allows, with the
// reason emailed to the requester and agent. A due date that is the
// organisation's own promise is extended only with overridePromise (the
// broken promise is recorded and the requester told). Errors: EINVALID
// (no reason), ENOTFOUND, ECONFLICT naming the rule that refuses it
// (identity not confirmed, the promise, the law).
func (e *Engine) Extend(ctx context.Context, requestID, actor, reason string, overridePromise bool) (dsr.Date, error) {
	var due dsr.Date
	err := e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		c, err := dsr.PlanExtend(e.org, r, actor, reason, overridePromise, now)
		if c.Due != nil {
			due = c.Due.Due
		}
		return c, err
	})
	if err != nil {
		return dsr.Date{}, err
	}
	return due, nil
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
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		if err := dsr.CheckNotAppealed(r); err != nil {
			return dsr.Change{}, err
		}
		c, err := dsr.PlanDeny(r, actor, reason, DenyReasons[reason], explanation, now)
		if err != nil {
			return c, err
		}
		reg, _ := dsr.LookupRegime(r.Regime)
		return dsr.WithAppealNotice(e.org, reg, r, c, now), nil // how to appeal, or where to complain
	})
}

// Complete closes the request as done, with what was done told to the
// requester. (Export files and download links come with the console.)
// Errors: ENOTFOUND, ECONFLICT.
func (e *Engine) Complete(ctx context.Context, requestID, actor, summary string) error {
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanComplete(r, actor, summary, now)
	})
}
