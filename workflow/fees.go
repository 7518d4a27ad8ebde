package workflow

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// feeChange is change for the fee actions: it also loads the fee the
// request waits for (kept in its own table, so that the other actions do
// not pay for reading it) before deciding, in the same transaction.
func (e *Engine) feeChange(ctx context.Context, id string, decide func(r *dsr.Request, now time.Time) (dsr.Change, error)) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		req, head, err := db.LockRequest(ctx, tx, id)
		if err != nil {
			return err
		}
		if req.Fee, err = db.GetFee(ctx, tx, id); err != nil {
			return err
		}
		now := e.now()
		c, err := decide(req, now)
		if err != nil {
			return err
		}
		_, err = e.apply(ctx, tx, req, head, c, now)
		return err
	})
}

// howToPay is what the fee mail says about paying: the organisation's
// contact.
func (e *Engine) howToPay() string {
	return "contact " + e.org.Organisation.Name + " at " + e.org.Organisation.ContactEmail + ", quoting the reference."
}

// RequestFee asks the requester for a fee (amount as a decimal string,
// ISO 4217 currency, reason one of dsr.FeeReasons) where the regime
// allows that reason; the request waits for the requester and the clock
// follows the regime (UK: it starts again when the fee is received).
// Errors: EINVALID with field errors, ENOTFOUND, ECONFLICT naming the
// rule (see dsr.PlanRequestFee).
func (e *Engine) RequestFee(ctx context.Context, requestID, actor, amount, currency, reason string) error {
	return e.feeChange(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanRequestFee(e.org, r, actor, amount, currency, reason, e.howToPay(), now)
	})
}

// FeePaid records that the awaited fee arrived and continues the request
// with the dates the regime gives (dsr.PlanFeePaid). Errors: ENOTFOUND,
// ECONFLICT (no fee awaited).
func (e *Engine) FeePaid(ctx context.Context, requestID, actor string) error {
	return e.feeChange(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanFeePaid(e.org, r, actor, now)
	})
}

// FeeWaived records that the officer waived the awaited fee and continues
// the request (dsr.PlanFeeWaived). Errors: ENOTFOUND, ECONFLICT (no fee
// awaited).
func (e *Engine) FeeWaived(ctx context.Context, requestID, actor string) error {
	return e.feeChange(ctx, requestID, func(r *dsr.Request, now time.Time) (dsr.Change, error) {
		return dsr.PlanFeeWaived(e.org, r, actor, now)
	})
}

// FeeOf is the fee request id waits for, nil when none. Errors: the
// database's.
func (e *Engine) FeeOf(ctx context.Context, requestID string) (*dsr.Fee, error) {
	return db.GetFee(ctx, e.pool, requestID)
}

// RepeatOf is the latest request by the same requester email and of the
// same kind received in the 12 months before request id, nil when none.
func (e *Engine) RepeatOf(ctx context.Context, requestID string) (*db.Repeat, error) {
	return db.RepeatOf(ctx, e.pool, requestID)
}
