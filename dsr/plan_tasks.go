package dsr

import (
	"fmt"
	"strings"
	"time"
)

// NewTask is a task a plan creates: one system's part of a request.
type NewTask struct {
	ID        string
	System    string
	Kind      Kind
	Connector string
	Due       Date
}

// Task is one system's part of a request, as stored.
type Task struct {
	ID         string
	RequestID  string
	System     string
	Kind       Kind
	Connector  string
	Status     TaskStatus
	DueOn      Date
	Attempts   int
	LastError  string
	Basis      string
	Count      int
	Affected   []Affected
	DryRun     bool
	Note       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
	FinishedBy string
}

// Label is the status in words for the console.
func (s TaskStatus) Label() string {
	switch s {
	case TaskPending:
		return "Pending"
	case TaskRunning:
		return "Running (retrying)"
	case TaskWaiting:
		return "Waiting for the system"
	case TaskDone:
		return "Done"
	case TaskNotFound:
		return "No data found"
	case TaskKept:
		return "Kept (legal basis)"
	case TaskFailed:
		return "Failed"
	case TaskSkipped:
		return "Skipped"
	}
	return string(s)
}

// ParseReportStatus returns the status a system may report: done,
// not_found, failed or kept. Errors: EINVALID naming the valid ones.
func ParseReportStatus(s string) (TaskStatus, error) {
	switch t := TaskStatus(s); t {
	case TaskDone, TaskNotFound, TaskFailed, TaskKept:
		return t, nil
	}
	return "", InvalidField("status", fmt.Sprintf("must be done, not_found, failed or kept, not %q", s))
}

// Workable reports whether a change takes a request from waiting
// (triage, verification, or a new request: before nil) to workable
// (open), the moment its systems get their tasks.
func Workable(before, after *Request) bool {
	if after.Status != StatusOpen {
		return false
	}
	return before == nil || before.Status == StatusPendingTriage || before.Status == StatusPendingVerification
}

// PlanTasks returns one task per configured system taking part in r's
// kind, each due r's effective due date minus the system's margin, and
// never before today in the organisation's time zone. No system takes
// part: no tasks.
func PlanTasks(org *Config, r *Request, now time.Time) []NewTask {
	today := DateIn(now, org.Location())
	var out []NewTask
	for _, s := range org.Systems {
		if !s.Takes(r.Kind) {
			continue
		}
		out = append(out, NewTask{ID: NewID(now), System: s.Name, Kind: r.Kind, Connector: s.Connector.Type, Due: TaskDue(s, r.DueOn, today)})
	}
	return out
}

// TaskDue is the due date of system s's task on a request due on due:
// due minus the system's margin (Margin), never before today.
func TaskDue(s System, due, today Date) Date {
	d := due.AddDays(-s.Margin())
	if d.Before(today) {
		return today
	}
	return d
}

// TaskRetime is one still-open task whose deadline jobs must follow its
// request's new dates: Task carries the new due date; From is the one it
// had. Moved is false when only the request's promise date (PolicyDue)
// changed, so the due date stays and only the promise escalation is
// scheduled again.
type TaskRetime struct {
	Task  NewTask
	From  Date
	Moved bool
}

// TaskDatesMoved reports whether a change (before → after) moved a date
// the request's tasks follow: its due date or its promise date.
func TaskDatesMoved(before, after *Request) bool {
	return before.DueOn != after.DueOn || before.PolicyDue != after.PolicyDue
}

// RetimeTasks decides what a change of a request's dates (before → after:
// an extension, a clock pause ending, a fee wait, triage working the
// dates out again, anything that moves DueOn or PolicyDue) does to its
// tasks: every task still open (pending, running, waiting) or failed gets
// the due date TaskDue gives for after.DueOn, with an internal
// EventTaskDueMoved; an erasure task gets its promise escalation again
// when PolicyDue changed. Finished and skipped tasks keep their dates. A
// system no longer configured keeps the default margin. Nothing changes
// when neither date moved.
func RetimeTasks(org *Config, before, after *Request, tasks []Task, now time.Time) ([]TaskRetime, []NewEvent) {
	if !TaskDatesMoved(before, after) {
		return nil, nil
	}
	promiseMoved := before.PolicyDue != after.PolicyDue
	today := DateIn(now, org.Location())
	var out []TaskRetime
	var evs []NewEvent
	for _, t := range tasks {
		if !t.Status.Open() && t.Status != TaskFailed {
			continue
		}
		sys, _ := org.System(t.System)
		due := TaskDue(sys, after.DueOn, today)
		moved := due != t.DueOn
		if !moved && !(promiseMoved && t.Kind == KindErasure) {
			continue
		}
		out = append(out, TaskRetime{Task: NewTask{ID: t.ID, System: t.System, Kind: t.Kind, Connector: t.Connector, Due: due}, From: t.DueOn, Moved: moved})
		data := map[string]string{"task": t.ID, "system": t.System, "from": t.DueOn.String(), "due": due.String(), "request_due": after.DueOn.String()}
		if promiseMoved && t.Kind == KindErasure {
			data["promise"] = after.PolicyDue.String()
		}
		evs = append(evs, NewEvent{Type: EventTaskDueMoved, Actor: ActorSystem, Data: data})
	}
	return out, evs
}

// TaskEvents are the (internal) events recording that tasks were created.
func TaskEvents(tasks []NewTask) []NewEvent {
	out := make([]NewEvent, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, NewEvent{Type: EventTaskCreated, Actor: ActorSystem, Data: map[string]string{
			"task": t.ID, "system": t.System, "connector": t.Connector, "due": t.Due.String()}})
	}
	return out
}

// MaxTaskText bounds an officer's note or reason on a task, in bytes.
const MaxTaskText = 5000

// TaskDecision is an officer's (or a system's) decision on one task, as
// a value: the new status and what to store and record.
type TaskDecision struct {
	To    TaskStatus
	Note  string
	Basis string
	Event NewEvent
}

// PlanTaskRetry puts a failed, waiting or running task back to pending
// for a new attempt. Errors: ECONFLICT for a task that is pending or
// finished.
func PlanTaskRetry(t *Task, actor string) (TaskDecision, error) {
	if t.Status != TaskFailed && t.Status != TaskWaiting && t.Status != TaskRunning {
		return TaskDecision{}, &Error{Code: ECONFLICT, Message: fmt.Sprintf("The task of %s is %s: only a failed, waiting or retrying task can be retried.", t.System, t.Status.Label()),
			Rule: "retry applies to failed, waiting and running tasks"}
	}
	return TaskDecision{To: TaskPending, Event: NewEvent{Type: EventTaskRetried, Actor: actor,
		Data: map[string]string{"task": t.ID, "system": t.System, "status_before": string(t.Status)}}}, nil
}

// PlanTaskDone marks a task done by hand (a manual system, or work done
// outside DSR Desk) with the officer's note. Errors: EINVALID (no note),
// ECONFLICT (the task is finished or skipped already).
func PlanTaskDone(t *Task, actor, note string, files int) (TaskDecision, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return TaskDecision{}, InvalidField("note", "Say what was done.")
	}
	if len(note) > MaxTaskText {
		return TaskDecision{}, InvalidField("note", fmt.Sprintf("at most %d characters", MaxTaskText))
	}
	if !t.Status.Open() && t.Status != TaskFailed {
		return TaskDecision{}, taskFinished(t)
	}
	return TaskDecision{To: TaskDone, Note: note, Event: NewEvent{Type: EventTaskFinished, Actor: actor,
		Data: map[string]string{"task": t.ID, "system": t.System, "status": string(TaskDone), "by": "officer", "files": fmt.Sprint(files)}}}, nil
}

// PlanTaskSkip skips a task with the officer's reason. Errors: EINVALID
// (no reason), ECONFLICT (finished already).
func PlanTaskSkip(t *Task, actor, reason string) (TaskDecision, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return TaskDecision{}, InvalidField("reason", "Say why the task is skipped.")
	}
	if len(reason) > MaxTaskText {
		return TaskDecision{}, InvalidField("reason", fmt.Sprintf("at most %d characters", MaxTaskText))
	}
	if !t.Status.Open() && t.Status != TaskFailed {
		return TaskDecision{}, taskFinished(t)
	}
	return TaskDecision{To: TaskSkipped, Note: reason, Event: NewEvent{Type: EventTaskSkipped, Actor: actor,
		Data: map[string]string{"task": t.ID, "system": t.System, "reason": reason}}}, nil
}

func taskFinished(t *Task) *Error {
	return &Error{Code: ECONFLICT, Message: fmt.Sprintf("The task of %s is already %s.", t.System, strings.ToLower(t.Status.Label())),
		Rule: "a finished or skipped task is final (retry a failed one)"}
}

// CheckTasksClosed refuses to complete a request while some of its tasks
// are open, naming them, unless the officer overrides with a reason; the
// override is then recorded as a ledger entry and an event. Errors:
// ECONFLICT naming the open tasks; EINVALID (override without a reason).
func CheckTasksClosed(tasks []Task, override bool, reason string, actor string, today Date) ([]LedgerEntry, []NewEvent, error) {
	var open []string
	for _, t := range tasks {
		if t.Status.Open() || t.Status == TaskFailed {
			open = append(open, t.System+" ("+strings.ToLower(t.Status.Label())+")")
		}
	}
	if len(open) == 0 {
		return nil, nil, nil
	}
	if !override {
		return nil, nil, &Error{Code: ECONFLICT, Message: "Tasks are still open: " + strings.Join(open, ", ") + ". Finish or skip them, or override with a reason.",
			Rule: "a request is completed when its systems' tasks are finished (override_tasks with override_reason to complete anyway)"}
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, nil, InvalidField("override_reason", "Say why the request is completed with open tasks.")
	}
	l := []LedgerEntry{{What: LedgerTasksOverridden, Date: today, Rule: "completed with open tasks (" + strings.Join(open, ", ") + ") by officer override: " + reason}}
	ev := []NewEvent{{Type: EventTasksOverridden, Actor: actor, Data: map[string]string{"open": strings.Join(open, ", "), "reason": reason}}}
	return l, ev, nil
}

// LedgerTasksOverridden: a request was completed while tasks were open.
const LedgerTasksOverridden = "tasks_overridden"

// Task events (internal: not shown to the requester).
const (
	EventTaskCreated  EventType = "task_created"
	EventTaskMailed   EventType = "task_mailed"
	EventTaskFinished EventType = "task_finished"
	EventTaskFailed   EventType = "task_failed"
	EventTaskSkipped  EventType = "task_skipped"
	EventTaskRetried  EventType = "task_retried"
	EventTaskDueMoved EventType = "task_due_moved"
	// EventPackageDiscarded: a built export package was deleted, not
	// handed over, because one of its tasks changed afterwards.
	EventPackageDiscarded EventType = "export_package_discarded"
	EventTaskEscalated    EventType = "task_escalated"
	EventTaskReminded     EventType = "task_reminder_sent"
	EventTasksOverridden  EventType = "tasks_overridden"
)

func init() {
	for t, d := range map[EventType]string{
		EventTaskCreated:      "A task was created for one of the organisation's systems.",
		EventTaskMailed:       "A manual system's task was mailed to the system's owner.",
		EventTaskFinished:     "A system's task finished (done, no data found, or kept on a legal basis).",
		EventTaskFailed:       "A system's task failed after its retries, or the system reported a failure.",
		EventTaskSkipped:      "An officer skipped a system's task, with the reason.",
		EventTaskRetried:      "An officer retried a system's task.",
		EventTaskDueMoved:     "A system's task got a new due date because the request's due date moved.",
		EventPackageDiscarded: "A built export package was discarded because one of the systems' tasks changed; it is built again when every task is finished.",
		EventTaskEscalated:    "A system's task is overdue and was escalated.",
		EventTaskReminded:     "The owner of a system was reminded of its task's coming due date.",
		EventTasksOverridden:  "An officer completed the request while tasks were still open, with the reason.",
	} {
		eventDescriptions[t] = d
	}
}
