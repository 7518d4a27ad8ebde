package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// VerifyReminderArgs reminds a data subject who has not confirmed their
// request (config verification.reminder_after_days, default 3).
type VerifyReminderArgs struct {
	RequestID string `json:"request_id" river:"unique"`
}

// Kind is the River job kind.
func (VerifyReminderArgs) Kind() string { return "verify_reminder" }

// InsertOpts: unique per request.
func (VerifyReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// VerifyExpiryArgs expires a request never confirmed (config
// verification.expire_after_days, default 14).
type VerifyExpiryArgs struct {
	RequestID string `json:"request_id" river:"unique"`
}

// Kind is the River job kind.
func (VerifyExpiryArgs) Kind() string { return "verify_expiry" }

// InsertOpts: unique per request.
func (VerifyExpiryArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// verifyTimes are the reminder and expiry times of an unconfirmed request,
// counted from the first confirmation email (receipt when none is
// recorded).
func (e *Engine) verifyTimes(req *dsr.Request) (remind, expire time.Time) {
	v := e.org.Verification
	day := 24 * time.Hour
	base := req.ReceivedAt
	if req.VerificationSent != nil && req.VerificationSent.After(base) {
		base = *req.VerificationSent
	}
	return base.Add(time.Duration(v.ReminderAfterDays) * day), base.Add(time.Duration(v.ExpireAfterDays) * day)
}

// scheduleVerificationJobs inserts the reminder and the expiry of an
// unconfirmed request in the intake transaction.
func (e *Engine) scheduleVerificationJobs(ctx context.Context, tx pgx.Tx, req *dsr.Request) error {
	remind, expire := e.verifyTimes(req)
	if err := e.enqueue(ctx, tx, VerifyReminderArgs{RequestID: req.ID}, &river.InsertOpts{ScheduledAt: remind}); err != nil {
		return &dsr.Error{Code: dsr.EINTERNAL, Err: fmt.Errorf("schedule verification jobs: %w", err)}
	}
	if err := e.enqueue(ctx, tx, VerifyExpiryArgs{RequestID: req.ID}, &river.InsertOpts{ScheduledAt: expire}); err != nil {
		return &dsr.Error{Code: dsr.EINTERNAL, Err: fmt.Errorf("schedule verification jobs: %w", err)}
	}
	return nil
}

type verifyReminderWorker struct {
	river.WorkerDefaults[VerifyReminderArgs]
	e *Engine
}

// Work sends the reminder if the request still waits for confirmation;
// otherwise the world moved on and it does nothing.
func (w *verifyReminderWorker) Work(ctx context.Context, job *river.Job[VerifyReminderArgs]) error {
	e := w.e
	return e.whileUnconfirmed(ctx, job.Args.RequestID,
		func(tx pgx.Tx, req *dsr.Request, now time.Time) error {
			if err := event(ctx, tx, req, dsr.ActorSystem, dsr.EventVerificationReminderSent, false, nil, now); err != nil {
				return err
			}
			return e.mailVerification(ctx, tx, req, MailVerifyReminder, now)
		})
}

// whileUnconfirmed locks the request and runs fn if it still waits for
// confirmation; it does nothing when the world moved on (confirmed,
// closed). River runs the job at its time: the times of an unconfirmed
// request never move once its first confirmation email is out (verifyTimes
// counts from that email), so the worker does not re-check the clock.
func (e *Engine) whileUnconfirmed(ctx context.Context, id string, fn func(tx pgx.Tx, req *dsr.Request, now time.Time) error) error {
	return e.withRequest(ctx, id, func(tx pgx.Tx, req *dsr.Request) error {
		if req.Status != dsr.StatusPendingVerification {
			return nil
		}
		return fn(tx, req, e.now())
	})
}

type verifyExpiryWorker struct {
	river.WorkerDefaults[VerifyExpiryArgs]
	e *Engine
}

// Work expires a request still unconfirmed at its expiry time, with a
// final email; the request leaves the queue.
func (w *verifyExpiryWorker) Work(ctx context.Context, job *river.Job[VerifyExpiryArgs]) error {
	e := w.e
	return e.whileUnconfirmed(ctx, job.Args.RequestID,
		func(tx pgx.Tx, req *dsr.Request, now time.Time) error {
			if err := db.UseAllTokens(ctx, tx, req.ID, db.TokenVerify, now); err != nil {
				return err
			}
			days := fmt.Sprint(e.org.Verification.ExpireAfterDays)
			return e.close(ctx, tx, req, dsr.StatusExpired, dsr.ActorSystem, "expired", MailExpired, map[string]string{"after_days": days}, mailExtra{})
		})
}
