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

// Task deadline steps.
const (
	taskStepReminder   = 0 // to the system's owner, the day before the task is due
	taskStepEscalation = 1 // to the officers, the day after
	taskStepPromise    = 2 // to the officers, on the promise date of an erasure under the organisation's promise
)

// TaskReminderArgs is a task's reminder to its system's owner or its
// escalation to the officers; it does nothing once the task is finished
// or skipped, or its due date moved.
type TaskReminderArgs struct {
	TaskID string `json:"task_id" river:"unique"`
	Due    string `json:"due" river:"unique"`
	Step   int    `json:"step" river:"unique"`
}

// Kind is the River job kind.
func (TaskReminderArgs) Kind() string { return "task_reminder" }

// InsertOpts: unique per task, due date and step.
func (TaskReminderArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// taskReminderParams are a new task's reminder (09:00 the day before it
// is due), escalation (09:00 the day after) and, for an erasure under the
// organisation's promise (UbiOps: 14 days), a second escalation at 09:00
// on the promise date: the promise breaks then, whatever the task's own
// date. A step whose time has passed runs at once.
func (e *Engine) taskReminderParams(req *dsr.Request, t dsr.NewTask, now time.Time) []river.InsertManyParams {
	loc := e.org.Location()
	at := func(d dsr.Date) time.Time {
		x := d.Start(loc).Add(reminderHour)
		if x.Before(now) {
			return now
		}
		return x
	}
	due := t.Due.String()
	out := []river.InsertManyParams{
		{Args: TaskReminderArgs{TaskID: t.ID, Due: due, Step: taskStepReminder}, InsertOpts: &river.InsertOpts{ScheduledAt: at(t.Due.AddDays(-1))}},
		{Args: TaskReminderArgs{TaskID: t.ID, Due: due, Step: taskStepEscalation}, InsertOpts: &river.InsertOpts{ScheduledAt: at(t.Due.AddDays(1))}},
	}
	if t.Kind == dsr.KindErasure && !req.PolicyDue.IsZero() {
		out = append(out, river.InsertManyParams{Args: TaskReminderArgs{TaskID: t.ID, Due: due, Step: taskStepPromise},
			InsertOpts: &river.InsertOpts{ScheduledAt: at(req.PolicyDue)}})
	}
	return out
}

type taskReminderWorker struct {
	river.WorkerDefaults[TaskReminderArgs]
	e *Engine
}

// Work reminds the owner, or escalates to the assignee (every officer
// when unassigned) and the admins, while the task is open.
func (w *taskReminderWorker) Work(ctx context.Context, job *river.Job[TaskReminderArgs]) error {
	e := w.e
	return e.inTx(ctx, func(tx pgx.Tx) error {
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
