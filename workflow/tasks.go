package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// TaskArgs runs one system's task: the job loads the task and the
// requester's email from the database (never from its args) and hands
// the work to the system's connector.
type TaskArgs struct {
	TaskID string `json:"task_id"`
}

// Kind is the River job kind.
func (TaskArgs) Kind() string { return "task_run" }

// TaskMaxAttempts is how many times a task's connector is tried before
// the task fails (the officer may retry it).
const TaskMaxAttempts = 25

// InsertOpts: up to TaskMaxAttempts attempts with backoff (NextRetry),
// and one live job per task: unique by task id across the states of a
// job not yet finished, so a task finished once (its job completed) can
// be run again after a retry, but two jobs never wait for one task.
func (TaskArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: TaskMaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: liveJobStates}}
}

// liveJobStates are the states of a River job not yet finished.
var liveJobStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// errRunAgain tells the task worker that an officer retried the task
// while its connector ran: the attempt's result is dropped and the same
// job runs again at once (snoozed, not a second job).
var errRunAgain = errors.New("task retried while its connector ran")

// maxLastError bounds the stored error text of an attempt.
const maxLastError = 500

// withTasks adds to c the tasks of a request that c makes workable
// (dsr.Workable: confirmed, or open at once), with their creation events:
// the decision is dsr.PlanTasks, made here so that every path that opens
// a request (intake, link, officer, triage) creates them.
func (e *Engine) withTasks(before, after *dsr.Request, c *dsr.Change, now time.Time) {
	if len(e.org.Systems) == 0 || !dsr.Workable(before, after) {
		return
	}
	ts := dsr.PlanTasks(e.org, after, now)
	c.Tasks = append(c.Tasks, ts...)
	c.Events = append(c.Events, dsr.TaskEvents(ts)...)
}

// taskParams are the jobs of new tasks: one run each, at once, and the
// owner's reminder and the escalation (taskReminderParams).
func (e *Engine) taskParams(req *dsr.Request, tasks []dsr.NewTask, now time.Time) []river.InsertManyParams {
	var out []river.InsertManyParams
	for _, t := range tasks {
		out = append(out, river.InsertManyParams{Args: TaskArgs{TaskID: t.ID}})
		out = append(out, e.taskReminderParams(req, t, now)...)
	}
	return out
}

type taskWorker struct {
	river.WorkerDefaults[TaskArgs]
	e *Engine
}

// NextRetry waits TaskRetryBase times attempt², capped at an hour: with
// the defaults a system that is down is tried for about 21 hours.
func (w *taskWorker) NextRetry(job *river.Job[TaskArgs]) time.Time {
	d := w.e.taskRetry * time.Duration(job.Attempt*job.Attempt)
	if d > time.Hour || d <= 0 {
		d = time.Hour
	}
	return w.e.now().Add(d)
}

// Work carries out one attempt: mark the task running (one more attempt)
// and read the work order, call the connector outside any transaction,
// then record the result. A manual system's task is mailed to its owner
// and waits. A failed attempt stores its error text and returns it, so
// River retries; the last attempt fails the task. It does nothing for a
// task that is no longer pending or running (finished, skipped, waiting
// for its system) or whose request closed.
func (w *taskWorker) Work(ctx context.Context, job *river.Job[TaskArgs]) error {
	e := w.e
	work, task, err := e.startTask(ctx, job.Args.TaskID, job.ID)
	if err != nil || work == nil {
		return err
	}
	if task.Connector == dsr.ConnectorManual && e.runners[task.System] == nil {
		return e.mailTaskOwner(ctx, task.ID, job.ID)
	}
	runner := e.runners[task.System]
	var rep dsr.Report
	if runner == nil {
		err = fmt.Errorf("no %s connector is set up for system %s", task.Connector, task.System)
	} else {
		rep, err = runner.Run(ctx, *work)
		if err == nil {
			err = checkReport(rep)
		}
	}
	giveUp := job.Attempt >= job.MaxAttempts
	if rerr := e.recordAttempt(ctx, task.ID, job.ID, rep, err, giveUp); rerr != nil {
		if errors.Is(rerr, errRunAgain) {
			return river.JobSnooze(0)
		}
		return rerr
	}
	if err != nil && !giveUp {
		return err // River retries with NextRetry
	}
	return nil
}

// checkReport refuses a connector's report with a status it may not give.
func checkReport(r dsr.Report) error {
	switch r.Status {
	case dsr.TaskWaiting, dsr.TaskDone, dsr.TaskNotFound, dsr.TaskKept, dsr.TaskFailed:
		return nil
	}
	return fmt.Errorf("the connector reported status %q (valid: waiting, done, not_found, kept, failed)", r.Status)
}

// startTask marks the task running for job jobID and returns its work
// order, or nil when there is nothing to do: the task is finished,
// skipped or waiting, its request closed, or another job's attempt on it
// is running (db.TaskAttempt: one connector call per task at a time).
func (e *Engine) startTask(ctx context.Context, id string, jobID int64) (*dsr.Work, *dsr.Task, error) {
	var work *dsr.Work
	var task *dsr.Task
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		t, err := db.GetTask(ctx, tx, id, false)
		if err != nil {
			if dsr.ErrorCode(err) == dsr.ENOTFOUND {
				return nil
			}
			return err
		}
		req, err := db.GetRequest(ctx, tx, t.RequestID, true)
		if err != nil {
			return err
		}
		if t, err = db.GetTask(ctx, tx, id, true); err != nil {
			return err
		}
		if req.Status.Closed() || (t.Status != dsr.TaskPending && t.Status != dsr.TaskRunning) {
			return nil
		}
		claimed, err := db.TaskAttempt(ctx, tx, id, jobID, e.now())
		if err != nil || !claimed {
			if err == nil {
				e.log.Warn("task job skipped: another job is running the task", "task", id, "job", jobID)
			}
			return err
		}
		w := dsr.Work{TaskID: t.ID, RequestID: req.ID, System: t.System, Kind: t.Kind, Regime: req.Regime, Due: t.DueOn,
			Email: req.Subject.Email}
		if t.Kind == dsr.KindRectification {
			w.Correction = req.Fields
		}
		work, task = &w, t
		return nil
	})
	return work, task, err
}

// recordAttempt stores the outcome of job jobID's connector attempt: the
// error text (and, on the last attempt, the failure), or the report, and
// releases the task. Errors: errRunAgain when an officer retried the task
// while the connector ran (the result is dropped), database errors.
func (e *Engine) recordAttempt(ctx context.Context, id string, jobID int64, rep dsr.Report, runErr error, giveUp bool) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, head, err := e.lockTask(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := db.ReleaseTaskRun(ctx, tx, id, jobID); err != nil {
			return err
		}
		if t.Status == dsr.TaskPending {
			return errRunAgain
		}
		if t.Status != dsr.TaskRunning {
			return nil // an officer decided while the connector ran
		}
		now := e.now()
		if runErr != nil {
			text := readableError(runErr)
			if err := db.TaskAttemptFailed(ctx, tx, id, text, giveUp, now); err != nil {
				return err
			}
			if !giveUp {
				return nil
			}
			return e.taskEvents(ctx, tx, req, head, now, dsr.NewEvent{Type: dsr.EventTaskFailed, Actor: dsr.ActorSystem,
				Data: map[string]string{"task": t.ID, "system": t.System, "attempts": fmt.Sprint(t.Attempts), "error": text}})
		}
		if rep.Status == dsr.TaskWaiting {
			return db.SetTaskStatus(ctx, tx, id, dsr.TaskWaiting, rep.Note, "", now)
		}
		return e.finishTask(ctx, tx, t, req, head, rep, "connector", nil, now)
	})
}

// lockTask locks a task's request (with its chain head) and then the
// task. Errors: ENOTFOUND.
func (e *Engine) lockTask(ctx context.Context, tx pgx.Tx, id string) (*dsr.Task, *dsr.Request, db.ChainHead, error) {
	t, err := db.GetTask(ctx, tx, id, false)
	if err != nil {
		return nil, nil, db.ChainHead{}, err
	}
	req, _, err := db.LockRequest(ctx, tx, t.RequestID)
	if err != nil {
		return nil, nil, db.ChainHead{}, err
	}
	// The head is read again once the lock is held: the locking
	// statement's snapshot may predate a task event committed while it
	// waited (tasks of one request finish concurrently).
	head, err := db.ChainHeadOf(ctx, tx, req.ID)
	if err != nil {
		return nil, nil, db.ChainHead{}, err
	}
	t, err = db.GetTask(ctx, tx, id, true)
	return t, req, head, err
}

// finishTask stores a report that ends the task (done, not_found, kept,
// failed) with its data, and records the event, in tx.
func (e *Engine) finishTask(ctx context.Context, tx pgx.Tx, t *dsr.Task, req *dsr.Request, head db.ChainHead, rep dsr.Report, by string, hash []byte, now time.Time) error {
	if err := db.FinishTask(ctx, tx, t.ID, rep, by, hash, now); err != nil {
		return err
	}
	typ := dsr.EventTaskFinished
	if rep.Status == dsr.TaskFailed {
		typ = dsr.EventTaskFailed
	}
	data := map[string]string{"task": t.ID, "system": t.System, "status": string(rep.Status), "by": by, "count": fmt.Sprint(rep.Count)}
	if rep.Basis != "" {
		data["basis"] = rep.Basis
	}
	evs := []dsr.NewEvent{{Type: typ, Actor: dsr.ActorSystem, Data: data}}
	// A package built before (this task failed, and reports again) is
	// stale; the last access/portability task to finish queues the
	// export package's build, in the same transaction.
	if ev, err := dropStalePackage(ctx, tx, req.ID, t); err != nil {
		return err
	} else if ev != nil {
		evs = append(evs, *ev)
	}
	if err := e.queueExportIfReady(ctx, tx, req.ID); err != nil {
		return err
	}
	return e.taskEvents(ctx, tx, req, head, now, evs...)
}

// taskEvents appends task events to the locked request's chain.
func (e *Engine) taskEvents(ctx context.Context, tx pgx.Tx, req *dsr.Request, head db.ChainHead, now time.Time, evs ...dsr.NewEvent) error {
	b := &pgx.Batch{}
	db.QueueEvents(b, req.ID, head, planEvents(evs, now))
	return db.SendBatch(ctx, tx, b)
}

// readableError is an attempt's error as the console shows it: one line,
// bounded.
func readableError(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	var de *dsr.Error
	if errors.As(err, &de) && de.Message != "" {
		s = de.Message
	}
	if len(s) > maxLastError {
		s = strings.ToValidUTF8(s[:maxLastError], "") + "…"
	}
	return s
}

// mailTaskOwner mails a manual system's task to its owner (the reference,
// kind, due date and a console link: no personal data) and leaves the
// task waiting for an officer to mark it done. When an officer retried
// the task meanwhile, the same job runs again at once (snoozed).
func (e *Engine) mailTaskOwner(ctx context.Context, id string, jobID int64) error {
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, head, err := e.lockTask(ctx, tx, id)
		if err == nil && t.Status == dsr.TaskPending {
			return errRunAgain // retried meanwhile: this job mails again
		}
		if err != nil || t.Status != dsr.TaskRunning {
			return err
		}
		if err := db.ReleaseTaskRun(ctx, tx, id, jobID); err != nil {
			return err
		}
		now := e.now()
		sys, _ := e.org.System(t.System)
		if err := e.mailOwner(ctx, tx, req, t, sys, "task_manual", ""); err != nil {
			return err
		}
		if err := db.SetTaskStatus(ctx, tx, id, dsr.TaskWaiting, "", "", now); err != nil {
			return err
		}
		return e.taskEvents(ctx, tx, req, head, now, dsr.NewEvent{Type: dsr.EventTaskMailed, Actor: dsr.ActorSystem,
			Data: map[string]string{"task": t.ID, "system": t.System, "owner": sys.OwnerEmail}})
	})
	if errors.Is(err, errRunAgain) {
		return river.JobSnooze(0)
	}
	return err
}

// mailOwner records one message to a system's owner about task t.
func (e *Engine) mailOwner(ctx context.Context, tx pgx.Tx, req *dsr.Request, t *dsr.Task, sys dsr.System, event, note string) error {
	if sys.OwnerEmail == "" {
		return nil
	}
	d := e.officerMailData(req)
	d.DueOn, d.KindShort = t.DueOn.Long(), t.Kind.Short()
	d.Lines = []string{sys.Name}
	d.Note = note
	d.DaysLeft = dsr.DateIn(e.now(), e.org.Location()).DaysUntil(t.DueOn)
	r, err := e.renderer.Render(e.org.Locale, event, d)
	if err != nil {
		return dsr.Internal(err)
	}
	return e.recordMessage(ctx, tx, &db.Message{RequestID: req.ID, Event: event, Locale: e.org.Locale, RecipientRole: "system_owner",
		ToName: sys.Name + " owner", ToEmail: sys.OwnerEmail, Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML})
}
