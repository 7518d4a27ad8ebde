package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/dsr"
)

// Tasks returns a request's tasks, by due date and system. Errors:
// ENOTFOUND for an unknown request.
func (e *Engine) Tasks(ctx context.Context, requestID string) ([]dsr.Task, error) {
	if _, err := db.GetRequest(ctx, e.pool, requestID, false); err != nil {
		return nil, err
	}
	return db.RequestTasks(ctx, e.pool, requestID)
}

// TaskSections returns the data a task stored, by section.
func (e *Engine) TaskSections(ctx context.Context, taskID string) ([]dsr.Section, error) {
	return db.TaskSections(ctx, e.pool, taskID)
}

// checkTasksClosed refuses, in the transaction completing req, a
// completion while tasks are open, unless c overrides with a reason
// (recorded in the ledger and the chain).
func (e *Engine) checkTasksClosed(ctx context.Context, tx pgx.Tx, req *dsr.Request, c *dsr.Change, now time.Time) error {
	tasks, err := db.RequestTasks(ctx, tx, req.ID)
	if err != nil || len(tasks) == 0 {
		return err
	}
	actor := dsr.ActorSystem
	for _, ev := range c.Events {
		if ev.Type == dsr.EventCompleted {
			actor = ev.Actor
		}
	}
	reason := ""
	if c.TasksOverride != nil {
		reason = *c.TasksOverride
	}
	ledger, evs, err := dsr.CheckTasksClosed(tasks, c.TasksOverride != nil, reason, actor, dsr.DateIn(now, e.org.Location()))
	if err != nil {
		return err
	}
	c.Ledger, c.Events = append(c.Ledger, ledger...), append(c.Events, evs...)
	return nil
}

// taskDecision runs an officer's decision on one task of requestID in one
// transaction: lock the request and the task, decide, store the status
// (and files), record the event, and for a retry insert the new job.
// Errors: ENOTFOUND (no such task on that request), ECONFLICT (the
// request is closed, or the decision's own), EINVALID.
func (e *Engine) taskDecision(ctx context.Context, requestID, taskID string, files []dsr.File, decide func(t *dsr.Task) (dsr.TaskDecision, error)) error {
	return e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, head, err := e.lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if t.RequestID != requestID {
			return dsr.Errorf(dsr.ENOTFOUND, "no such task on this request")
		}
		if req.Status.Closed() {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "The request is closed: its tasks can no longer change.", Rule: "tasks change only while the request is open"}
		}
		d, err := decide(t)
		if err != nil {
			return err
		}
		now := e.now()
		by := d.Event.Actor
		if d.To == dsr.TaskPending {
			by = ""
		}
		if err := db.SetTaskStatus(ctx, tx, t.ID, d.To, d.Note, by, now); err != nil {
			return err
		}
		for i := range files {
			if err := db.InsertTaskAttachment(ctx, tx, req.ID, t.ID, &files[i]); err != nil {
				return err
			}
		}
		if d.To == dsr.TaskPending {
			if err := e.runTaskNow(ctx, tx, t.ID); err != nil {
				return err
			}
		}
		evs := []dsr.NewEvent{d.Event}
		// Whatever the decision, a package built before no longer
		// shows this task as it is.
		if ev, err := dropStalePackage(ctx, tx, req.ID, t); err != nil {
			return err
		} else if ev != nil {
			evs = append(evs, *ev)
		}
		if !d.To.Open() { // done or skipped by an officer: maybe the last one
			if err := e.queueExportIfReady(ctx, tx, req.ID); err != nil {
				return err
			}
		}
		return e.taskEvents(ctx, tx, req, head, now, evs...)
	})
}

// runTaskNow gives a task that was put back to pending, in tx, exactly
// one live task_run job that runs at once: a job still waiting for its
// next retry (scheduled, retryable) is made available now instead of a
// second one being added; a running job is left to finish, and its worker
// runs the task again at once when it sees the task pending
// (errRunAgain); with no live job (failed, waiting), a new one is
// inserted. Older duplicates (jobs queued before TaskArgs were unique)
// are cancelled. Errors: EINTERNAL.
func (e *Engine) runTaskNow(ctx context.Context, tx pgx.Tx, taskID string) error {
	jobs, err := db.LiveTaskJobs(ctx, tx, taskID)
	if err != nil {
		return err
	}
	if len(jobs) == 0 {
		if err := e.enqueue(ctx, tx, TaskArgs{TaskID: taskID}, nil); err != nil {
			return dsr.Internalf("insert task job: %w", err)
		}
		return nil
	}
	keep := jobs[0]
	for _, j := range jobs {
		if j.State == string(rivertype.JobStateRunning) {
			keep = j
		}
	}
	for _, j := range jobs {
		switch {
		case j.ID == keep.ID && j.State != string(rivertype.JobStateRunning):
			if _, err := e.river.JobRetryTx(ctx, tx, j.ID); err != nil {
				return dsr.Internalf("retry task job: %w", err)
			}
		case j.ID != keep.ID && j.State != string(rivertype.JobStateRunning):
			if _, err := e.river.JobCancelTx(ctx, tx, j.ID); err != nil {
				return dsr.Internalf("cancel duplicate task job: %w", err)
			}
		}
	}
	return nil
}

// RetryTask puts a failed, waiting or retrying task back to pending with
// one live job that runs at once (runTaskNow). Errors: see taskDecision.
func (e *Engine) RetryTask(ctx context.Context, requestID, taskID, actor string) error {
	return e.taskDecision(ctx, requestID, taskID, nil, func(t *dsr.Task) (dsr.TaskDecision, error) {
		return dsr.PlanTaskRetry(t, actor)
	})
}

// MarkTaskDone marks a task done by hand with a note and optional files
// (a manual system's owner did the work). Errors: see taskDecision.
func (e *Engine) MarkTaskDone(ctx context.Context, requestID, taskID, actor, note string, files []dsr.File) error {
	if err := dsr.CheckTexts(map[string]string{"note": note}); err != nil {
		return err
	}
	return e.taskDecision(ctx, requestID, taskID, files, func(t *dsr.Task) (dsr.TaskDecision, error) {
		return dsr.PlanTaskDone(t, actor, note, len(files))
	})
}

// SkipTask skips a task with a reason. Errors: see taskDecision.
func (e *Engine) SkipTask(ctx context.Context, requestID, taskID, actor, reason string) error {
	if err := dsr.CheckTexts(map[string]string{"reason": reason}); err != nil {
		return err
	}
	return e.taskDecision(ctx, requestID, taskID, nil, func(t *dsr.Task) (dsr.TaskDecision, error) {
		return dsr.PlanTaskSkip(t, actor, reason)
	})
}

// TaskReport is a system's report through POST /api/v1/tasks/{id}, with
// the files it uploaded.
type TaskReport struct {
	Report dsr.Report
	Files  []dsr.File
}

// ReportTask stores the report of system on its task: idempotent (the
// same report again answers as the first did, nothing changes). Errors:
// ENOTFOUND (no such task), EFORBIDDEN (the task is another system's),
// ECONFLICT (the task finished with a different report, was skipped, or
// its request is closed), EINVALID.
func (e *Engine) ReportTask(ctx context.Context, system, taskID string, in TaskReport) (*dsr.Task, error) {
	hash, err := reportHash(in)
	if err != nil {
		return nil, err
	}
	var out *dsr.Task
	err = e.inTx(ctx, func(tx pgx.Tx) error {
		t, req, head, err := e.lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		if t.System != system {
			return dsr.Errorf(dsr.EFORBIDDEN, "This token may report on the tasks of its own system only.")
		}
		if !t.Status.Open() && t.Status != dsr.TaskFailed {
			stored, err := db.TaskReportHash(ctx, tx, t.ID)
			if err != nil {
				return err
			}
			if bytes.Equal(stored, hash) {
				out = t
				return nil // the same report again
			}
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "The task is already " + string(t.Status) + " with a different report.",
				Rule: "a system's report on a task is final"}
		}
		if req.Status.Closed() {
			return &dsr.Error{Code: dsr.ECONFLICT, Message: "The request is closed.", Rule: "tasks change only while the request is open"}
		}
		now := e.now()
		if err := e.finishTask(ctx, tx, t, req, head, in.Report, "system", hash, now); err != nil {
			return err
		}
		for i := range in.Files {
			if err := db.InsertTaskAttachment(ctx, tx, req.ID, t.ID, &in.Files[i]); err != nil {
				return err
			}
		}
		out, err = db.GetTask(ctx, tx, t.ID, false)
		return err
	})
	return out, err
}

// reportHash identifies a report's content (and its files').
func reportHash(in TaskReport) ([]byte, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(in.Report); err != nil {
		return nil, dsr.Errorf(dsr.EINVALID, "The report holds values that are not JSON.")
	}
	for _, f := range in.Files {
		sum := sha256.Sum256(f.Content)
		h.Write([]byte(f.Filename))
		h.Write(sum[:])
	}
	return h.Sum(nil), nil
}
