package workflow_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/dsrdesk/dsrdesk/dsr"
	"github.com/dsrdesk/dsrdesk/dsr/api/apitest"
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
	close(crm.release)
	d.WaitJobs(t, nil)
	got := tasksOf(t, d, rc.ID)["crm"]
	if got.Status != dsr.TaskDone || got.Attempts != 1 || got.Count != 3 {
		t.Errorf("crm task: %+v", got)
	}
	if n := crm.n(); n != 1 {
		t.Errorf("crm connector called %d times, want 1", n)
	}
}
