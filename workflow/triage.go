package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

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
	return e.withRequest(ctx, requestID, func(tx pgx.Tx, req *dsr.Request) error {
		if req.Status != dsr.StatusPendingTriage {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "The request is " + string(req.Status) + ", not waiting for triage.",
				Rule: "triage applies to requests in pending_triage only"}
		}
		if strings.TrimSpace(string(kind)) == "" {
			kind = req.Kind
		}
		if strings.TrimSpace(regime) == "" {
			regime = req.Regime
		}
		kind, reg, err := e.triageChoice(kind, regime)
		if err != nil {
			return err
		}
		now := e.now()
		data := map[string]string{"kind_before": string(req.Kind), "kind": string(kind),
			"regime_before": req.Regime, "regime": reg.ID, "due_before": req.DueOn.String()}
		changed := kind != req.Kind || reg.ID != req.Regime
		if changed {
			if err := e.retriage(ctx, tx, req, kind, reg, now); err != nil {
				return err
			}
		}
		data["due"], data["changed"] = req.DueOn.String(), fmt.Sprint(changed)
		next := dsr.StatusOpen
		if reg.RequiresVerification(req.Kind) {
			next = dsr.StatusPendingVerification
		}
		data["status"] = string(next)
		if err := event(ctx, tx, req, actor, dsr.EventTriaged, false, data, now); err != nil {
			return err
		}
		return e.continueAfterTriage(ctx, tx, req, reg, next, now)
	})
}

// triageChoice checks the kind and regime an officer chose. Errors:
// EINVALID with field errors.
func (e *Engine) triageChoice(kind dsr.Kind, regime string) (dsr.Kind, *dsr.Regime, error) {
	fe := dsr.FieldErrors{}
	k, err := dsr.ParseKind(strings.TrimSpace(string(kind)))
	if err != nil {
		fe.Add("kind", dsr.ErrorMessage(err))
	} else if !e.org.OffersKind(k) {
		fe.Add("kind", fmt.Sprintf("The organisation does not take %s requests.", k.Short()))
	}
	reg, err := dsr.LookupRegime(regime)
	switch {
	case err != nil:
		fe.Add("regime", dsr.ErrorMessage(err))
	case !e.org.OffersRegime(reg.ID):
		fe.Add("regime", fmt.Sprintf("The organisation does not apply %s (valid: %s).", reg.Short, strings.Join(e.org.Regimes, ", ")))
	}
	if len(fe) == 0 && !reg.Covers(k) {
		fe.Add("kind", fmt.Sprintf("%s does not give a right of %s (it covers: %s).", reg.Short, k.Short(), kindList(reg.Kinds)))
	}
	if err := fe.Err(); err != nil {
		return "", nil, err
	}
	return k, reg, nil
}

func kindList(ks []dsr.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// retriage stores a new kind or regime with every date worked out again
// from the original receipt, the ledger entries that explain them, and a
// new reminder chain when the due date moved. It updates req.
func (e *Engine) retriage(ctx context.Context, tx pgx.Tx, req *dsr.Request, kind dsr.Kind, reg *dsr.Regime, now time.Time) error {
	dl, err := e.org.Deadlines(reg, kind, req.ReceivedAt)
	if err != nil {
		return err
	}
	fields := req.Fields
	if kind == dsr.KindOptOut && fields["opt_out_of"] == "" {
		fields = make(map[string]string, len(req.Fields)+1)
		for k, v := range req.Fields {
			fields[k] = v
		}
		fields["opt_out_of"] = guessOptOutOf(req.Details)
	}
	needs := reg.RequiresVerification(kind)
	if err := db.Retriage(ctx, tx, req.ID, db.TriageUpdate{Kind: kind, Regime: reg.ID, Fields: fields,
		NeedsVerification: needs, Deadlines: dl}, now); err != nil {
		return err
	}
	oldReg := req.Regime
	if r, err := dsr.LookupRegime(req.Regime); err == nil {
		oldReg = r.Short
	}
	why := dsr.LedgerEntry{What: dsr.LedgerTriaged, Date: dl.Due, Rule: fmt.Sprintf(
		"triage changed the request from %s under %s to %s under %s; every date below is worked out again from the receipt of the email on %s (the clock ran during triage); the due date was %s and is now %s",
		req.Kind.Short(), oldReg, kind.Short(), reg.Short, dl.Received.Human(), req.DueOn.Human(), dl.Due.Human())}
	if err := db.InsertLedger(ctx, tx, req.ID, now, append([]dsr.LedgerEntry{why}, dl.Ledger...)); err != nil {
		return err
	}
	oldDue := req.DueOn
	req.Kind, req.Regime, req.Calendar, req.Fields, req.NeedsVerification = kind, reg.ID, dl.Calendar, fields, needs
	req.AckDue, req.LegalDue, req.PolicyDue, req.DueOn = dl.AckDue, dl.LegalDue, dl.PolicyDue, dl.Due
	req.ExtendedDue, req.ExtensionNoticeBy = dl.ExtendedDue, dl.ExtensionNoticeBy
	if req.DueOn == oldDue {
		return nil // the running chain goes on
	}
	return e.scheduleReminders(ctx, tx, req)
}

// continueAfterTriage moves a triaged request on as intake does for a
// form request: to pending_verification with the confirmation email and
// its reminder and expiry jobs, or open with the acknowledgment.
func (e *Engine) continueAfterTriage(ctx context.Context, tx pgx.Tx, req *dsr.Request, reg *dsr.Regime, next dsr.Status, now time.Time) error {
	if err := req.Status.Transition(next); err != nil {
		return err
	}
	if err := db.SetStatus(ctx, tx, req.ID, next, now, ""); err != nil {
		return err
	}
	req.Status = next
	if req.AckSentAt == nil {
		// The email sent below acknowledges receipt (CCPA: 10 business days).
		if err := e.acknowledgeAtIntake(ctx, tx, req, reg, now); err != nil {
			return err
		}
	}
	if next == dsr.StatusOpen {
		why := reg.Short + " does not allow identity verification for opt-out requests"
		if err := event(ctx, tx, req, dsr.ActorSystem, dsr.EventOpened, true, map[string]string{"reason": why}, now); err != nil {
			return err
		}
		return e.mailAll(ctx, tx, req, MailAcknowledged, mailExtra{})
	}
	if err := e.scheduleTriagedVerificationJobs(ctx, tx, req, now); err != nil {
		return err
	}
	return e.mailVerification(ctx, tx, req, MailReceived, now)
}

// scheduleTriagedVerificationJobs inserts the verification reminder and
// expiry of a request whose confirmation email goes out at triage, counted
// from then (start), not from receipt: the sender cannot confirm before
// they are asked. The workers only refuse to act before the times counted
// from receipt (verifyTimes), which are earlier, so they act at these.
func (e *Engine) scheduleTriagedVerificationJobs(ctx context.Context, tx pgx.Tx, req *dsr.Request, start time.Time) error {
	v, day := e.org.Verification, 24*time.Hour
	remind := start.Add(time.Duration(v.ReminderAfterDays) * day)
	expire := start.Add(time.Duration(v.ExpireAfterDays) * day)
	if err := e.enqueue(ctx, tx, VerifyReminderArgs{RequestID: req.ID}, &river.InsertOpts{ScheduledAt: remind}); err != nil {
		return dsr.Internalf("schedule verification jobs: %w", err)
	}
	if err := e.enqueue(ctx, tx, VerifyExpiryArgs{RequestID: req.ID}, &river.InsertOpts{ScheduledAt: expire}); err != nil {
		return dsr.Internalf("schedule verification jobs: %w", err)
	}
	return nil
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
