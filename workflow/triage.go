package workflow

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Triage of requests by email. A request made from an email waits in
// pending_triage with a guessed kind and the default regime, its clock
// running from receipt of the email. An officer either confirms or changes
// the kind and regime (Triage), after which the request goes on exactly as
// a form request does — the sender confirms their email address, or an
// opt-out the law forbids verifying opens at once — or dismisses the email
// as not a request (NotARequest).

// Triage confirms or changes a pending_triage request's kind and regime
// and continues the normal flow, in one transaction. An empty kind or
// regime keeps the current one. When either changes, every date is worked
// out again with the organisation's config from the ORIGINAL receipt (the
// clock ran during triage): the request row and the deadline ledger (with
// one entry saying what triage changed) are updated and, if the due date
// moved, a new reminder chain starts. Then, if the regime requires the
// subject to confirm a request of that kind, the request waits for
// verification and the sender gets the confirmation email; otherwise it
// opens and the sender is told. An acknowledgment duty not yet met (CCPA)
// is met by that email. Errors: EINVALID with field errors "kind" and
// "regime" (unknown, not offered by the organisation, or a regime that
// does not cover the kind), ENOTFOUND, ECONFLICT when the request is not
// waiting for triage.
func (e *Engine) Triage(ctx context.Context, requestID, actor string, kind dsr.Kind, regime string) error {
	return e.change(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanTriage(e.org, r, actor, kind, regime, guessOptOutOf(r.Details), now, deliverable)
	})
}

// triagedVerificationTimes are the verification reminder and expiry of a
// request whose confirmation email goes out at triage, counted from then
// (start), not from receipt: the sender cannot confirm before they are
// asked. The workers only refuse to act before the times counted from
// receipt (verifyTimes), which are earlier, so they act at these.
func (e *Engine) triagedVerificationTimes(start time.Time) (remind, expire time.Time) {
	v, day := e.org.Verification, 24*time.Hour
	return start.Add(time.Duration(v.ReminderAfterDays) * day), start.Add(time.Duration(v.ExpireAfterDays) * day)
}

// NotARequest closes a request made from an email as not a request (spam,
// a general question) with the officer's reason, without mailing the
// sender; the email it came from is marked the same way. Only a request by
// email waiting for triage, or triaged but not yet confirmed by the
// sender, can be dismissed. Errors: EINVALID (no reason), ENOTFOUND,
// ECONFLICT (any other request: withdraw or deny it instead).
func (e *Engine) NotARequest(ctx context.Context, requestID, actor, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return &dsr.Error{Code: dsr.EINVALID, Message: "Say why this is not a request.", Fields: map[string]string{"reason": "is required"}}
	}
	// The email's row is locked before the request's, as
	// MarkInboundNotARequest does.
	inboundID, err := db.InboundForRequest(ctx, e.pool, requestID)
	if err != nil {
		return err
	}
	if inboundID != "" {
		return e.MarkInboundNotARequest(ctx, inboundID, actor, reason)
	}
	return e.inTx(ctx, func(tx pgx.Tx) error {
		return e.closeNotARequest(ctx, tx, requestID, actor, reason, "", e.now())
	})
}
