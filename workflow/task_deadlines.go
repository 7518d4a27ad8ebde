package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Task deadline steps.
const (
	taskStepReminder   = 0 // to the system's owner, the day before the task is due
	taskStepEscalation = 1 // to the officers, the day after
	taskStepPromise    = 2 // to the officers, on the promise date of an erasure under the organisation's promise
)

// TaskReminderArgs is a task's reminder to its system's owner or its
// escalation to the officers; it does nothing once the task is finished
// or skipped, or its due date (for the promise step: the request's
// promise date) moved. Promise is empty for the other steps, and in jobs
// queued before it existed (those are not checked against the date).
type TaskReminderArgs struct {
	TaskID  string `json:"task_id" river:"unique"`
	Due     string `json:"due" river:"unique"`
	Step    int    `json:"step" river:"unique"`
	Promise string `json:"promise,omitempty" river:"unique"`
}

// Kind is the River job kind.
func (TaskReminderArgs) Kind() string { return "task_reminder" }

// InsertOpts: unique per task, due date and step.
func (TaskReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// taskStep is one of a task's deadline jobs: its step, the day it runs
// (at reminderHour, local time) and the promise date it checks.
type taskStep struct {
	step    int
	day     dsr.Date
	promise string
}

// taskSteps are a task's reminder (the day before it is due), escalation
// (the day after) and, for an erasure under the organisation's promise
// (UbiOps: 14 days), a second escalation on the promise date: the promise
// breaks then, whatever the task's own date.
func taskSteps(req *dsr.Request, t dsr.NewTask) []taskStep {
	out := []taskStep{{step: taskStepReminder, day: t.Due.AddDays(-1)}, {step: taskStepEscalation, day: t.Due.AddDays(1)}}
	if t.Kind == dsr.KindErasure && !req.PolicyDue.IsZero() {
		out = append(out, taskStep{step: taskStepPromise, day: req.PolicyDue, promise: req.PolicyDue.String()})
	}
	return out
}

// taskReminderParams are the jobs of a task's steps (taskSteps), each at
// 09:00 on its day; a step whose time has passed runs at once.
func (e *Engine) taskReminderParams(req *dsr.Request, t dsr.NewTask, now time.Time) []river.InsertManyParams {
	var out []river.InsertManyParams
	for _, s := range taskSteps(req, t) {
		out = append(out, e.taskStepParams(t, s, now))
	}
	return out
}

func (e *Engine) taskStepParams(t dsr.NewTask, s taskStep, now time.Time) river.InsertManyParams {
	at := s.day.Start(e.org.Location()).Add(reminderHour)
	if at.Before(now) {
		at = now
	}
	return river.InsertManyParams{Args: TaskReminderArgs{TaskID: t.ID, Due: t.Due.String(), Step: s.step, Promise: s.promise},
		InsertOpts: &river.InsertOpts{ScheduledAt: at}}
}

type taskReminderWorker struct {
	river.WorkerDefaults[TaskReminderArgs]
	e *Engine
}

// taskPausedRecheck is how long a task's reminder or escalation waits
// while its request's clock is stopped before it looks again.
const taskPausedRecheck = 24 * time.Hour

// errTaskClockPaused defers a task's reminder while its request's clock
// is stopped.
var errTaskClockPaused = errors.New("the request's clock is paused")

// Work reminds the owner, or escalates to the assignee (every officer
// when unassigned) and the admins, while the task is open. While the
// request's clock is stopped (waiting for the requester, or for a fee)
// nothing is sent: the job is deferred a day at a time (snoozed, not
// failed). When the clock resumes and the due date moves, the tasks get
// new jobs for the new date (retimeTasks) and this one ends; when the
// date does not move, the deferred step runs then.
func (w *taskReminderWorker) Work(ctx context.Context, job *river.Job[TaskReminderArgs]) error {
	e := w.e
	err := e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, head, err := e.lockTask(ctx, tx, job.Args.TaskID)
		if dsr.ErrorCode(err) == dsr.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if req.Status.Closed() || !(t.Status.Open() || t.Status == dsr.TaskFailed) || t.DueOn.String() != job.Args.Due {
			return nil
		}
		if job.Args.Step == taskStepPromise && job.Args.Promise != "" && (req.PolicyDue.IsZero() || req.PolicyDue.String() != job.Args.Promise) {
			return nil // the promise date moved: a new job escalates on the new one
		}
		if req.PausedSince != nil {
			return errTaskClockPaused
		}
		sys, _ := e.org.System(t.System)
		now := e.now()
		if job.Args.Step == taskStepReminder {
			if err := e.mailOwner(ctx, tx, req, t, sys, "task_reminder", "Status: "+t.Status.Label()+"."); err != nil {
				return err
			}
			return e.taskEvents(ctx, tx, req, head, now, dsr.NewEvent{Type: dsr.EventTaskReminded, Actor: dsr.ActorSystem,
				Data: map[string]string{"task": t.ID, "system": t.System, "due": t.DueOn.String(), "to": "system_owner"}})
		}
		users, err := e.reminderRecipients(ctx, tx, req)
		if err != nil {
			return err
		}
		admins, err := db.ActiveUsers(ctx, tx, db.RoleAdmin)
		if err != nil {
			return err
		}
		d := e.officerMailData(req)
		d.DueOn, d.Lines = t.DueOn.Long(), []string{t.System}
		d.Note = "Status: " + t.Status.Label() + "."
		if job.Args.Step == taskStepPromise {
			d.Note = "The organisation promised to erase by " + req.PolicyDue.Long() + ": that is today. " + d.Note
		}
		if t.LastError != "" {
			d.Note += " Last error: " + t.LastError
		}
		if err := e.mailUsers(ctx, tx, req.ID, uniqueUsers(append(users, admins...)), "task_escalation", d); err != nil {
			return err
		}
		if err := e.mailOwner(ctx, tx, req, t, sys, "task_escalation", d.Note); err != nil {
			return err
		}
		return e.taskEvents(ctx, tx, req, head, now, dsr.NewEvent{Type: dsr.EventTaskEscalated, Actor: dsr.ActorSystem,
			Data: map[string]string{"task": t.ID, "system": t.System, "due": t.DueOn.String(), "recipients": fmt.Sprint(len(users) + len(admins)), "step": fmt.Sprint(job.Args.Step)}})
	})
	if errors.Is(err, errTaskClockPaused) {
		return river.JobSnooze(taskPausedRecheck)
	}
	return err
}

// uniqueUsers drops repeated users (an assignee who is also an admin).
func uniqueUsers(us []db.User) []db.User {
	seen := map[string]bool{}
	out := us[:0:0]
	for _, u := range us {
		if !seen[u.ID] {
			seen[u.ID] = true
			out = append(out, u)
		}
	}
	return out
}

// retimeTasks is the part of apply that keeps tasks' due dates following
// their request: when c moves the request's due date or promise date
// (before → after), the still-open tasks get their new due dates
// (dsr.RetimeTasks), recorded as events in c; apply stores them and
// schedules their reminder and escalation for the new date (the jobs for
// the old date find the due date moved and do nothing). It reads the
// tasks in tx, where the request is locked (every task change takes that
// lock first).
func (e *Engine) retimeTasks(ctx context.Context, tx pgx.Tx, before, after *dsr.Request, c *dsr.Change, now time.Time) ([]dsr.TaskRetime, error) {
	if len(e.org.Systems) == 0 || !dsr.TaskDatesMoved(before, after) {
		return nil, nil
	}
	tasks, err := db.RequestTasks(ctx, tx, before.ID)
	if err != nil || len(tasks) == 0 {
		return nil, err
	}
	rts, evs := dsr.RetimeTasks(e.org, before, after, tasks, now)
	c.Events = append(c.Events, evs...)
	return rts, nil
}

// queueTaskDues stores the moved due dates of retimed tasks.
func queueTaskDues(b *pgx.Batch, rts []dsr.TaskRetime, now time.Time) {
	var ids []string
	var dues []time.Time
	for _, rt := range rts {
		if rt.Moved {
			ids, dues = append(ids, rt.Task.ID), append(dues, rt.Task.Due.Time())
		}
	}
	db.QueueTaskDues(b, ids, dues, now)
}
