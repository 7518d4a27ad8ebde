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
	TaskRunsScheduled  int // pending or running tasks that had no live task_run job
	TaskStepsScheduled int // task reminders and escalations put back for their task's current due date
	PackageBuilds      int // access/portability requests, every task finished, queued for a package build
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
	if len(e.org.Systems) > 0 {
		// Reminders first: a run put back starts at once and holds its
		// request's lock for a moment, which the next repair would skip.
		if res.TaskStepsScheduled, err = e.repairTasks(ctx, db.MissingTaskReminder); err != nil {
			return res, err
		}
		if res.TaskRunsScheduled, err = e.repairTasks(ctx, db.MissingTaskRun); err != nil {
			return res, err
		}
		if res.PackageBuilds, err = e.repairLoop(ctx, db.MissingPackageBuild, e.repairPackageBuilds); err != nil {
			return res, err
		}
	}
	if res != (SweepResult{}) {
		e.log.Warn("sweep repaired deadline jobs", "reminders_scheduled", res.RemindersScheduled,
			"stale_removed", res.StaleRemoved, "expiries_scheduled", res.ExpiriesScheduled,
			"task_runs_scheduled", res.TaskRunsScheduled, "task_steps_scheduled", res.TaskStepsScheduled, "package_builds", res.PackageBuilds)
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

// repairTasks finds, with one anti-join over the open tasks of open
// requests, the requests with a task failing check, then in batches locks
// them (skipping any a running change holds), reads the failing tasks
// again and puts their jobs back in one transaction per batch, with one
// internal event per request naming the tasks. For MissingTaskRun each
// task gets its task_run job (unique per task: never a second live one);
// for MissingTaskReminder each task gets the steps of its current due
// date whose day is still ahead (River's uniqueness by task, due and step
// keeps any that exists). It returns how many jobs it inserted.
func (e *Engine) repairTasks(ctx context.Context, check db.TaskSweepCheck) (int, error) {
	now := e.now()
	today := dsr.DateIn(now, e.org.Location())
	ids, err := db.TaskSweepCandidates(ctx, e.pool, check, today.Time())
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	job := "task_run"
	if check == db.MissingTaskReminder {
		job = "task_reminder"
	}
	total := 0
	for start := 0; start < len(ids); start += sweepBatch {
		batch := ids[start:min(start+sweepBatch, len(ids))]
		n := 0
		err := e.inTx(ctx, func(tx pgx.Tx) error {
			tasks, err := db.LockTaskSweepCandidates(ctx, tx, check, batch, today.Time())
			if err != nil || len(tasks) == 0 {
				return err
			}
			reqs, err := db.GetRequests(ctx, tx, taskRequestIDs(tasks))
			if err != nil {
				return err
			}
			byID := make(map[string]*dsr.Request, len(reqs))
			for _, r := range reqs {
				byID[r.ID] = r
			}
			var params []river.InsertManyParams
			repaired := map[string][]string{}
			for _, t := range tasks {
				nt := dsr.NewTask{ID: t.ID, System: t.System, Kind: t.Kind, Connector: t.Connector, Due: t.DueOn}
				if check == db.MissingTaskRun {
					params = append(params, river.InsertManyParams{Args: TaskArgs{TaskID: t.ID}})
				} else {
					for _, s := range taskSteps(byID[t.RequestID], nt) {
						if s.day.After(today) {
							params = append(params, e.taskStepParams(nt, s, now))
						}
					}
				}
				repaired[t.RequestID] = append(repaired[t.RequestID], t.System)
			}
			if len(params) == 0 {
				return nil
			}
			res, err := e.river.InsertManyTx(ctx, tx, params)
			if err != nil {
				return err
			}
			for _, r := range res {
				if !r.UniqueSkippedAsDuplicate {
					n++
				}
			}
			events := make(map[string]dsr.Event, len(repaired))
			for id, systems := range repaired {
				events[id] = dsr.Event{At: now, Actor: dsr.ActorSystem, Type: string(dsr.EventDeadlineJobsRepaired),
					Data: map[string]string{"job": job, "systems": strings.Join(systems, ", ")}}
			}
			return db.AppendEvents(ctx, tx, events)
		})
		if err != nil {
			return total, fmt.Errorf("sweep: %w", err)
		}
		total += n
	}
	return total, nil
}

// taskRequestIDs are the distinct requests of tasks (sorted by request).
func taskRequestIDs(tasks []dsr.Task) []string {
	var out []string
	for i, t := range tasks {
		if i == 0 || tasks[i-1].RequestID != t.RequestID {
			out = append(out, t.RequestID)
		}
	}
	return out
}

// repairPackageBuilds queues the export package build of requests whose
// tasks are all finished and that have no current package nor a build on
// the way (db.MissingPackageBuild).
func (e *Engine) repairPackageBuilds(ctx context.Context, tx pgx.Tx, reqs []*dsr.Request) error {
	now := e.now()
	params := make([]river.InsertManyParams, len(reqs))
	events := make(map[string]dsr.Event, len(reqs))
	for i, r := range reqs {
		params[i] = river.InsertManyParams{Args: BuildExportArgs{RequestID: r.ID}}
		events[r.ID] = dsr.Event{At: now, Actor: dsr.ActorSystem, Type: string(dsr.EventDeadlineJobsRepaired), Data: map[string]string{"job": "build_export"}}
	}
	if _, err := e.river.InsertManyTx(ctx, tx, params); err != nil {
		return err
	}
	return db.AppendEvents(ctx, tx, events)
}
