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

// SweepArgs runs the reconciliation sweep: the safety net that finds open
// requests whose scheduled jobs are missing or stale and repairs them.
type SweepArgs struct{}

// Kind is the River job kind.
func (SweepArgs) Kind() string { return "reconcile_deadlines" }

// InsertOpts: one sweep per 15-minute period, whichever client enqueues it.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: SweepInterval}}
}

// SweepInterval is how often the leader runs the sweep (also at start).
const SweepInterval = 15 * time.Minute

// sweepBatch is how many requests one repair transaction handles.
const sweepBatch = 1000

// SweepResult counts what a sweep repaired.
type SweepResult struct {
	RemindersScheduled int // open requests that had no live deadline job for their due date
	StaleRemoved       int // scheduled deadline jobs for a date or request no longer open
	ExpiriesScheduled  int // unconfirmed requests that had no expiry job
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	e *Engine
}

func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return 10 * time.Minute }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.e.Sweep(ctx)
	return err
}

// Sweep repairs the deadline jobs of every open request with set-based
// queries (an anti-join per kind of job, then batched inserts), so its cost
// does not grow with a query per request. It is idempotent; what it
// repaired goes to the log and, per request, into the audit trail.
func (e *Engine) Sweep(ctx context.Context) (SweepResult, error) {
	var res SweepResult
	var err error
	if res.StaleRemoved, err = db.RemoveStaleReminders(ctx, e.pool); err != nil {
		return res, fmt.Errorf("sweep: %w", err)
	}
	if res.RemindersScheduled, err = e.repairLoop(ctx, db.MissingReminder, e.repairReminders); err != nil {
		return res, err
	}
	if res.ExpiriesScheduled, err = e.repairLoop(ctx, db.MissingExpiry, e.repairExpiries); err != nil {
		return res, err
	}
	if res != (SweepResult{}) {
		e.log.Warn("sweep repaired deadline jobs", "reminders_scheduled", res.RemindersScheduled,
			"stale_removed", res.StaleRemoved, "expiries_scheduled", res.ExpiriesScheduled)
	} else {
		e.log.Info("sweep: all deadline jobs consistent")
	}
	return res, nil
}

// repairLoop finds every request failing check with ONE anti-join over
// the open requests, then repairs them in batches: each batch locks its
// requests (skipping any locked by a running change), re-checks them, and
// repairs them in one transaction.
func (e *Engine) repairLoop(ctx context.Context, check db.SweepCheck, repair func(context.Context, pgx.Tx, []*dsr.Request) error) (int, error) {
	ids, err := db.SweepCandidates(ctx, e.pool, check)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	total := 0
	for start := 0; start < len(ids); start += sweepBatch {
		batch := ids[start:min(start+sweepBatch, len(ids))]
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			locked, err := db.LockSweepCandidates(ctx, tx, check, batch)
			if err != nil || len(locked) == 0 {
				return err
			}
			reqs, err := db.GetRequests(ctx, tx, locked)
			if err != nil {
				return err
			}
			total += len(reqs)
			return repair(ctx, tx, reqs)
		})
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
	}
	return total, nil
}

func (e *Engine) repairReminders(ctx context.Context, tx pgx.Tx, reqs []*dsr.Request) error {
	now := e.now()
	params := make([]river.InsertManyParams, len(reqs))
	events := make(map[string]dsr.Event, len(reqs))
	for i, r := range reqs {
		params[i] = e.reminderParams(r, now)
		events[r.ID] = dsr.Event{At: now, Actor: dsr.ActorSystem, Type: string(dsr.EventDeadlineJobsRepaired),
			Data: map[string]string{"job": "deadline_reminder", "due": r.DueOn.String()}}
	}
	if _, err := e.river.InsertManyFastTx(ctx, tx, params); err != nil {
		return err
	}
	return db.AppendEvents(ctx, tx, events)
}

func (e *Engine) repairExpiries(ctx context.Context, tx pgx.Tx, reqs []*dsr.Request) error {
	now := e.now()
	var params []river.InsertManyParams
	events := make(map[string]dsr.Event, len(reqs))
	for _, r := range reqs {
		remind, expire := e.verifyTimes(r)
		if remind.After(now) {
			params = append(params, river.InsertManyParams{Args: VerifyReminderArgs{RequestID: r.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: remind}})
		}
		params = append(params, river.InsertManyParams{Args: VerifyExpiryArgs{RequestID: r.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: expire}})
		events[r.ID] = dsr.Event{At: now, Actor: dsr.ActorSystem, Type: string(dsr.EventDeadlineJobsRepaired), Data: map[string]string{"job": "verify_expiry"}}
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return err
	}
	return db.AppendEvents(ctx, tx, events)
}
