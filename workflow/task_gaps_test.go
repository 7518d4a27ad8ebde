package workflow_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/db"
	"github.com/dsrdesk/dsrdesk/db/dbtest"
	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
	"github.com/dsrdesk/dsrdesk/workflow"
)

// liveTaskJobs returns the task_run jobs of a task that are not finished.
func liveTaskJobs(t *testing.T, d *apitest.Desk, taskID string) []int64 {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT id FROM river_job WHERE kind = 'task_run' AND args ->> 'task_id' = $1
		AND state IN ('available', 'pending', 'running', 'retryable', 'scheduled') ORDER BY id`, taskID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func TestTaskRetryKeepsOneLiveJob(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	s.crm.set(dsr.Report{}, errors.New("HTTP 503 from crm"))
	rc := submit(t, d, dsr.KindAccess, "retry-once@example.com", "NL", "", nil)
	verify(t, d, "retry-once@example.com")
	d.RunDue(t, 0)
	crm := tasksOf(t, d, rc.ID)["crm"]
	if crm.Status != dsr.TaskRunning || crm.Attempts != 1 {
		t.Fatalf("crm after a failed attempt: %+v", crm)
	}
	before := liveTaskJobs(t, d, crm.ID)
	if len(before) != 1 {
		t.Fatalf("live jobs while retrying: %v", before)
	}
	// The officer retries twice, quickly, while River waits for the
	// next retry: the waiting job is moved to now, none is added.
	s.crm.set(dsr.Report{Status: dsr.TaskDone, Count: 1}, nil)
	if err := d.Engine.RetryTask(ctx, rc.ID, crm.ID, officer); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.RetryTask(ctx, rc.ID, crm.ID, officer); err != nil && dsr.ErrorCode(err) != dsr.ECONFLICT {
		t.Fatalf("second retry: %v", err)
	}
	after := liveTaskJobs(t, d, crm.ID)
	if len(after) > 1 || (len(after) == 1 && after[0] != before[0]) {
		t.Fatalf("live jobs after two retries: %v (before %v)", after, before)
	}
	d.WaitJobs(t, before)
	crm = tasksOf(t, d, rc.ID)["crm"]
	if crm.Status != dsr.TaskDone || crm.Attempts != 2 {
		t.Errorf("crm after the retry: %+v", crm)
	}
	if n := len(s.crm.calls()); n != 2 { // the failed attempt and the retried one
		t.Errorf("crm connector called %d times, want 2", n)
	}
	if jobs := liveTaskJobs(t, d, crm.ID); len(jobs) != 0 {
		t.Errorf("live jobs once done: %v", jobs)
	}
}

// blockingRunner holds each call until released, so a test can act while
// a connector runs.
type blockingRunner struct {
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	calls   int
}

func (b *blockingRunner) Run(ctx context.Context, _ dsr.Work) (dsr.Report, error) {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	b.entered <- struct{}{}
	<-b.release
	return dsr.Report{Status: dsr.TaskDone, Count: 3}, nil
}

func (b *blockingRunner) n() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

// waitState waits (bounded) until River's job id is in state.
func waitState(t *testing.T, d *apitest.Desk, id int64, state rivertype.JobState) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := d.Engine.River().JobGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, never %s", id, j.State, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTaskSecondJobWaitsForTheRunningAttempt(t *testing.T) {
	t.Parallel()
	crm := &blockingRunner{entered: make(chan struct{}, 4), release: make(chan struct{})}
	newsletter := &fakeRunner{}
	newsletter.set(dsr.Report{Status: dsr.TaskWaiting}, nil)
	d := apitest.Start(t, apitest.Options{ConfigJSON: tasksConfig,
		Runners: map[string]dsr.TaskRunner{"crm": crm, "newsletter": newsletter}})
	ctx := context.Background()
	rc := submit(t, d, dsr.KindAccess, "one-at-a-time@example.com", "NL", "", nil)
	verify(t, d, "one-at-a-time@example.com")
	task := tasksOf(t, d, rc.ID)["crm"]
	select {
	case <-crm.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the crm connector was never called")
	}
	// A second job for the same task (as queued before task jobs were
	// unique): written directly, since River's unique insert refuses it.
	var dup int64
	if err := d.Pool.QueryRow(ctx, `INSERT INTO river_job (args, kind, max_attempts, queue, state, priority, scheduled_at)
		VALUES (jsonb_build_object('task_id', $1::text), 'task_run', 25, 'default', 'available', 1, now() - interval '1 minute') RETURNING id`,
		task.ID).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	waitState(t, d, dup, rivertype.JobStateCompleted)
	if n := crm.n(); n != 1 {
		t.Fatalf("crm connector called %d times while its first call ran", n)
	}
	// The officer retries while the connector runs: no job is added; the
	// running one drops its result and runs the task again after.
	running := liveTaskJobs(t, d, task.ID)
	if err := d.Engine.RetryTask(ctx, rc.ID, task.ID, officer); err != nil {
		t.Fatal(err)
	}
	if got := liveTaskJobs(t, d, task.ID); len(got) != 1 || len(running) != 1 || got[0] != running[0] {
		t.Fatalf("live jobs after a retry during the run: %v (before %v)", got, running)
	}
	close(crm.release)
	d.WaitJobs(t, running)
	got := tasksOf(t, d, rc.ID)["crm"]
	if got.Status != dsr.TaskDone || got.Attempts != 2 || got.Count != 3 {
		t.Errorf("crm task: %+v", got)
	}
	if n := crm.n(); n != 2 { // the first call, and one after the retry
		t.Errorf("crm connector called %d times, want 2", n)
	}
	if jobs := liveTaskJobs(t, d, task.ID); len(jobs) != 0 {
		t.Errorf("live jobs once done: %v", jobs)
	}
}

// taskReminders returns the live task_reminder jobs of a task as
// "due/step" strings.
func taskReminders(t *testing.T, d *apitest.Desk, taskID string) []string {
	t.Helper()
	rows, err := d.Pool.Query(context.Background(), `SELECT (args ->> 'due') || '/' || (args ->> 'step') FROM river_job
		WHERE kind = 'task_reminder' AND args ->> 'task_id' = $1 AND state IN ('available', 'running', 'retryable', 'scheduled') ORDER BY 1`, taskID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// taskEventsOf returns the data of a request's events of type typ.
func taskEventsOf(t *testing.T, d *apitest.Desk, id string, typ dsr.EventType) []map[string]string {
	t.Helper()
	evs, err := db.Events(context.Background(), d.Pool, id, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, e := range evs {
		if e.Type == string(typ) {
			out = append(out, e.Data)
		}
	}
	return out
}

func mailedWithSubject(d *apitest.Desk, to, subject string) int {
	n := 0
	for _, m := range d.SMTP.Messages() {
		for _, x := range m.To {
			if x == to && strings.Contains(m.Subject, subject) {
				n++
			}
		}
	}
	return n
}

func TestTaskDueFollowsRequest(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	s.crm.set(dsr.Report{Status: dsr.TaskWaiting}, nil)
	rc := submit(t, d, dsr.KindAccess, "follow@example.com", "GB", "", nil)
	verify(t, d, "follow@example.com")
	d.RunDue(t, 0)
	req := request(t, d, rc.ID)
	crm := tasksOf(t, d, rc.ID)["crm"]
	if crm.Status != dsr.TaskWaiting || crm.DueOn != req.DueOn.AddDays(-dsr.DefaultTaskMarginDays) {
		t.Fatalf("crm %+v, request due %v", crm, req.DueOn)
	}
	first := crm.DueOn

	// An extension moves the task, in the same change.
	extended, err := d.Engine.Extend(ctx, rc.ID, officer, "The request is complex: many accounts.", false)
	if err != nil {
		t.Fatal(err)
	}
	crm = tasksOf(t, d, rc.ID)["crm"]
	if want := extended.AddDays(-dsr.DefaultTaskMarginDays); crm.DueOn != want {
		t.Fatalf("after the extension to %v: crm due %v, want %v", extended, crm.DueOn, want)
	}
	moves := taskEventsOf(t, d, rc.ID, dsr.EventTaskDueMoved)
	if len(moves) != 1 || moves[0]["from"] != first.String() || moves[0]["due"] != crm.DueOn.String() || moves[0]["request_due"] != extended.String() {
		t.Fatalf("moves %v", moves)
	}
	if got := taskReminders(t, d, crm.ID); !containsAll(got, crm.DueOn.String()+"/0", crm.DueOn.String()+"/1") {
		t.Fatalf("reminders after the extension: %v", got)
	}

	// The clock stops for a clarification: the task's reminder day comes
	// while it is stopped, and nothing is sent.
	if res, err := d.Engine.RequestInfo(ctx, rc.ID, officer, "clarification", "Which accounts do you mean?"); err != nil || !res.ClockPaused {
		t.Fatalf("request info: %+v %v", res, err)
	}
	ask := d.MailWithSubject(t, "follow@example.com", "more information")
	advanceTo(t, d, crm.DueOn.AddDays(-1))
	if n := len(taskEventsOf(t, d, rc.ID, dsr.EventTaskReminded)); n != 0 {
		t.Fatalf("%d task reminders while the clock is stopped", n)
	}
	if n := mailedWithSubject(d, "crm-team@example.com", "Due in 1 day: crm task"); n != 0 {
		t.Fatalf("the owner was reminded %d times while the clock is stopped", n)
	}
	paused := crm.DueOn
	var deferred int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'task_reminder' AND args ->> 'task_id' = $1
		AND args ->> 'due' = $2 AND args ->> 'step' = '0' AND state = 'scheduled' AND (metadata ->> 'snoozes')::int >= 1`,
		crm.ID, paused.String()).Scan(&deferred); err != nil || deferred != 1 {
		t.Fatalf("the reminder was not deferred while the clock is stopped: %d %v", deferred, err)
	}

	// The answer restarts the clock: the request's date moves by the days
	// it stood still, and the task's with it.
	answer(t, d, apitest.LinkWith(t, ask, "/status/"), "The shop account.")
	req = request(t, d, rc.ID)
	crm = tasksOf(t, d, rc.ID)["crm"]
	if !req.DueOn.After(extended) || crm.DueOn != req.DueOn.AddDays(-dsr.DefaultTaskMarginDays) {
		t.Fatalf("after the answer: request due %v (was %v), crm due %v", req.DueOn, extended, crm.DueOn)
	}
	if moves := taskEventsOf(t, d, rc.ID, dsr.EventTaskDueMoved); len(moves) != 2 || moves[1]["from"] != paused.String() || moves[1]["due"] != crm.DueOn.String() {
		t.Fatalf("moves %v", moves)
	}
	if got := taskReminders(t, d, crm.ID); !containsAll(got, crm.DueOn.String()+"/0", crm.DueOn.String()+"/1") {
		t.Fatalf("reminders after the answer: %v", got)
	}

	// The reminder comes once, for the new date; the jobs for the old
	// dates do nothing.
	advanceTo(t, d, crm.DueOn.AddDays(-1))
	reminded := taskEventsOf(t, d, rc.ID, dsr.EventTaskReminded)
	if len(reminded) != 1 || reminded[0]["due"] != crm.DueOn.String() {
		t.Fatalf("task reminders: %v", reminded)
	}
	if n := mailedWithSubject(d, "crm-team@example.com", "Due in 1 day: crm task"); n != 1 {
		t.Fatalf("owner reminded %d times, want 1", n)
	}
}

func TestSweepRepairsTaskJobs(t *testing.T) {
	t.Parallel()
	s := setupTasks(t)
	d := s.d
	ctx := context.Background()
	s.crm.set(dsr.Report{}, errors.New("HTTP 503 from crm"))
	rc := submit(t, d, dsr.KindErasure, "sweep-tasks@example.com", "NL", "", nil)
	verify(t, d, "sweep-tasks@example.com")
	d.RunDue(t, 0)
	tasks := tasksOf(t, d, rc.ID)
	if tasks["crm"].Status != dsr.TaskRunning || tasks["newsletter"].Status != dsr.TaskWaiting || tasks["paper-archive"].Status != dsr.TaskWaiting {
		t.Fatalf("tasks %+v", tasks)
	}
	if res, err := d.Engine.Sweep(ctx); err != nil || res.TaskRunsScheduled != 0 || res.TaskStepsScheduled != 0 {
		t.Fatalf("sweep with every job in place: %+v %v", res, err)
	}
	ids := []string{tasks["crm"].ID, tasks["newsletter"].ID, tasks["paper-archive"].ID}
	if _, err := d.Pool.Exec(ctx, `DELETE FROM river_job WHERE kind IN ('task_run', 'task_reminder') AND args ->> 'task_id' = ANY($1::text[])`, ids); err != nil {
		t.Fatal(err)
	}
	res, err := d.Engine.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// One run: the crm's, which was retrying. The newsletter and the
	// archive wait for their system (callback, owner) and get none.
	if res.TaskRunsScheduled != 1 {
		t.Errorf("task runs scheduled %d, want 1", res.TaskRunsScheduled)
	}
	if got := liveTaskJobs(t, d, tasks["crm"].ID); len(got) != 1 {
		t.Errorf("crm live jobs %v", got)
	}
	for _, name := range []string{"newsletter", "paper-archive"} {
		if got := liveTaskJobs(t, d, tasks[name].ID); len(got) != 0 {
			t.Errorf("%s (waiting) got a run job: %v", name, got)
		}
	}
	// Every open task gets its reminder and escalation for its due date
	// back, and the promise escalation of an erasure.
	req := request(t, d, rc.ID)
	steps := 0
	for name, x := range tasks {
		want := []string{x.DueOn.String() + "/0", x.DueOn.String() + "/1"}
		if !req.PolicyDue.IsZero() {
			want = append(want, x.DueOn.String()+"/2")
		}
		got := taskReminders(t, d, x.ID)
		if len(got) != len(want) || !containsAll(got, want...) {
			t.Errorf("%s reminders %v, want %v", name, got, want)
		}
		steps += len(want)
	}
	if res.TaskStepsScheduled != steps {
		t.Errorf("task steps scheduled %d, want %d", res.TaskStepsScheduled, steps)
	}
	repaired := taskEventsOf(t, d, rc.ID, dsr.EventDeadlineJobsRepaired)
	if len(repaired) != 2 || repaired[0]["job"] != "task_reminder" || repaired[1]["job"] != "task_run" || repaired[1]["systems"] != "crm" {
		t.Errorf("repair events %v", repaired)
	}
	// Idempotent.
	if again, err := d.Engine.Sweep(ctx); err != nil || again.TaskRunsScheduled != 0 || again.TaskStepsScheduled != 0 {
		t.Errorf("second sweep: %+v %v", again, err)
	}
	// The put-back job runs the task (it failed again at once, the
	// system still down; its next retry succeeds).
	d.WaitJobs(t, nil)
	s.crm.set(dsr.Report{Status: dsr.TaskDone, Count: 1}, nil)
	d.RunDue(t, time.Hour)
	if x := tasksOf(t, d, rc.ID)["crm"]; x.Status != dsr.TaskDone {
		t.Errorf("crm after the sweep's job: %+v", x)
	}
}

func TestExportPackageRebuiltAfterATaskChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := setupPackage(t)
	d := p.d
	tasks := tasksOf(t, d, p.id)
	legacy, billing := tasks["legacy"].ID, tasks["billing"].ID
	// Every task finished, one of them failed: the package is built.
	for id, st := range map[string]string{p.crm: "done", legacy: "failed"} {
		if err := dbtest.SetTaskStatus(ctx, d.Pool, id, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := workflow.QueueExportIfReady(ctx, d.Engine, p.id); err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0)
	first, err := db.PackageFor(ctx, d.Pool, p.id)
	if err != nil || first == nil || first.Purpose != "package" || first.TasksDigest == nil {
		t.Fatalf("first package %+v %v", first, err)
	}

	// A task changes behind the package's back: it is not current, and
	// complete refuses to hand it over.
	if err := dbtest.SetTaskStatus(ctx, d.Pool, billing, "not_found"); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Engine.ExportPackageState(ctx, p.id); err != nil || st.Ready {
		t.Fatalf("state of a package older than its tasks: %+v %v", st, err)
	}
	var de *dsr.Error
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); !asErr(err, &de) || de.Code != dsr.ECONFLICT || !strings.Contains(de.Message, "still being built") {
		t.Fatalf("complete with a stale package: %v", err)
	}
	if err := dbtest.SetTaskStatus(ctx, d.Pool, billing, "kept"); err != nil {
		t.Fatal(err)
	}

	// The officer retries the failed task: the package is discarded at
	// once, in the same transaction.
	if err := d.Engine.RetryTask(ctx, p.id, legacy, officer); err != nil {
		t.Fatal(err)
	}
	if pkg, err := db.PackageFor(ctx, d.Pool, p.id); err != nil || pkg != nil {
		t.Fatalf("package after the retry: %+v %v", pkg, err)
	}
	var left int
	if err := d.Pool.QueryRow(ctx, `SELECT count(*) FROM attachments WHERE id = $1`, first.AttachmentID).Scan(&left); err != nil || left != 0 {
		t.Fatalf("the stale package's attachment is still stored: %d %v", left, err)
	}
	if evs := taskEventsOf(t, d, p.id, dsr.EventPackageDiscarded); len(evs) != 1 || evs[0]["system"] != "legacy" {
		t.Fatalf("discard events %v", evs)
	}
	d.RunDue(t, 0) // the manual system's owner is mailed; the task waits
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); !asErr(err, &de) || de.Code != dsr.ECONFLICT {
		t.Fatalf("complete while the retried task is open: %v", err)
	}

	// Marked done: every task is finished again and a new package is
	// built (the first build job does not keep it from being queued).
	if err := d.Engine.MarkTaskDone(ctx, p.id, legacy, officer, "Searched the old tickets: nothing.", nil); err != nil {
		t.Fatal(err)
	}
	d.RunDue(t, 0)
	second, err := db.PackageFor(ctx, d.Pool, p.id)
	if err != nil || second == nil || second.Purpose != "package" || second.AttachmentID == first.AttachmentID || bytes.Equal(second.TasksDigest, first.TasksDigest) {
		t.Fatalf("second package %+v (first %+v) %v", second, first, err)
	}
	if st, err := d.Engine.ExportPackageState(ctx, p.id); err != nil || !st.Ready {
		t.Fatalf("state after the rebuild: %+v %v", st, err)
	}
	if err := d.Engine.CompleteWith(ctx, p.id, officer, workflow.Completion{Summary: "Your data."}); err != nil {
		t.Fatal(err)
	}
	handed, err := db.PackageFor(ctx, d.Pool, p.id)
	if err != nil || handed == nil || handed.AttachmentID != second.AttachmentID || handed.Purpose != "export" {
		t.Fatalf("handed over %+v, want the rebuilt %s", handed, second.AttachmentID)
	}
}

func TestSweepQueuesMissingPackageBuild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := setupPackage(t)
	d := p.d
	if res, err := d.Engine.Sweep(ctx); err != nil || res.PackageBuilds != 0 {
		t.Fatalf("sweep with a task open: %+v %v", res, err)
	}
	// The last task finishes without its build being queued (the build
	// job lost): the sweep queues it.
	if err := dbtest.SetTaskStatus(ctx, d.Pool, p.crm, "done"); err != nil {
		t.Fatal(err)
	}
	res, err := d.Engine.Sweep(ctx)
	if err != nil || res.PackageBuilds != 1 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	d.RunDue(t, 0)
	if st, err := d.Engine.ExportPackageState(ctx, p.id); err != nil || !st.Ready {
		t.Fatalf("package state after the sweep's build: %+v %v", st, err)
	}
	if again, err := d.Engine.Sweep(ctx); err != nil || again.PackageBuilds != 0 {
		t.Errorf("second sweep: %+v %v", again, err)
	}
}
